//! The driver: one long-lived loop that steps many runs, for `watch`,
//! `submit` and the faces that embed it (TUI, web).
//!
//! - **Fair under limits.** Each pass offers the free share of a global
//!   limit on jobs in flight (`max_jobs`) to the runs in order of priority,
//!   then of attempts started (the run that started fewest goes first); a
//!   cluster's `max_jobs` holds across runs (the others' jobs on it count).
//! - **Wakes** on the exit of a child it launched (that run is stepped at
//!   once) and every `poll` (every run is stepped: one pass). Polls in one
//!   pass share one queue listing per cluster (`operators::link`).
//! - **Never blocked by one cluster.** Each step runs on its own thread;
//!   two runs that use a common cluster are not stepped at the same time
//!   (so its limits hold exactly), every other run goes on. What each link
//!   knows of its cluster's reachability is reported as it changes.
//! - **Polite to other processes.** A run's lock is taken with a deadline;
//!   a run another process is stepping is skipped and shown as such.
//! - **Reaps** every child it launched, as it exits.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Run;
use crate::engine::{Limits, RunState, TickReport};
use crate::model::spec::EXTERNAL_OPERATORS;
use crate::operators::link::{self, LinkView};
use crate::{Error, Result};

/// How a [`Driver`] drives.
#[derive(Debug, Clone)]
pub struct DriverOptions {
    /// Time between passes (a run with no child of ours to wake it is
    /// stepped this often).
    pub poll: Duration,
    /// The most attempts in flight across all the runs (None: each run's
    /// own core budget and cluster `max_jobs` only).
    pub max_jobs: Option<usize>,
    /// How long to wait for a run's lock before skipping it this pass.
    pub lock_wait: Duration,
    /// One pass, then return (`submit` without `--wait`).
    pub once: bool,
    /// Never return: runs that stopped (finished, paused, waiting for a
    /// person) are looked at again every pass, since another process or a
    /// person may set them going (the TUI and the web server).
    pub forever: bool,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            poll: Duration::from_secs(2),
            max_jobs: None,
            lock_wait: Duration::from_millis(50),
            once: false,
            forever: false,
        }
    }
}

/// A run as the driver sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DrivenRun {
    /// The run id (its directory's name).
    pub run: String,
    /// The run directory.
    pub dir: PathBuf,
    /// Its priority (higher goes first).
    pub priority: i32,
    /// Attempts this driver started in it.
    pub launched: usize,
    /// Its state after the last look.
    pub state: RunState,
    /// True when the last pass found another process stepping it.
    pub elsewhere: bool,
    /// The last step's error, if it failed.
    pub error: Option<String>,
}

/// What the driver tells its face.
pub enum DriverEvent<'a> {
    /// A run was stepped.
    Stepped {
        /// The run.
        run: &'a DrivenRun,
        /// Its handle (to read what changed).
        handle: &'a mut Run,
        /// What the step did.
        report: &'a TickReport,
    },
    /// Another process is stepping the run; it was skipped this pass.
    Elsewhere {
        /// The run.
        run: &'a DrivenRun,
        /// Its handle.
        handle: &'a mut Run,
    },
    /// A step failed (the run is tried again next pass, unless the error
    /// is the user's to fix: then it stops).
    Failed {
        /// The run.
        run: &'a DrivenRun,
        /// Why.
        error: &'a Error,
    },
    /// A run stopped moving: finished, paused or waiting for a person.
    Stopped {
        /// The run.
        run: &'a DrivenRun,
    },
    /// What is known of a cluster's reachability changed.
    Cluster {
        /// The cluster's link.
        link: &'a LinkView,
    },
}

/// Adds runs to, or stops, a driver from another thread.
#[derive(Clone)]
pub struct DriverHandle {
    tx: mpsc::Sender<Msg>,
}

impl DriverHandle {
    /// Starts driving the run in `dir` too.
    pub fn add(&self, dir: PathBuf) {
        let _ = self.tx.send(Msg::Add(dir));
    }

    /// Stops driving the run in `dir` (it is about to be deleted).
    pub fn remove(&self, dir: PathBuf) {
        let _ = self.tx.send(Msg::Remove(dir));
    }

    /// Makes [`Driver::drive`] return once the steps in progress end.
    pub fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
    }
}

enum Msg {
    Stepped(usize, Box<Run>, Result<Option<TickReport>>),
    Exited(usize),
    Add(PathBuf),
    Remove(PathBuf),
    Stop,
}

struct Slot {
    view: DrivenRun,
    run: Option<Box<Run>>,
    clusters: Vec<String>,
    flights: BTreeMap<String, u32>,
    reserved: usize,
    due: bool,
    again: bool,
    stopped: bool,
    /// Removed: never stepped again.
    gone: bool,
}

impl Slot {
    fn stepping(&self) -> bool {
        self.run.is_none()
    }
}

/// Steps many runs (see the module docs).
pub struct Driver {
    opts: DriverOptions,
    slots: Vec<Slot>,
    tx: mpsc::Sender<Msg>,
    rx: mpsc::Receiver<Msg>,
}

impl Driver {
    /// A driver with no runs yet.
    pub fn new(opts: DriverOptions) -> Driver {
        let (tx, rx) = mpsc::channel();
        Driver {
            opts,
            slots: Vec::new(),
            tx,
            rx,
        }
    }

    /// A handle to add runs or stop the driver from elsewhere.
    pub fn handle(&self) -> DriverHandle {
        DriverHandle {
            tx: self.tx.clone(),
        }
    }

    /// Drives the run in `dir` (its `[run] priority` unless `priority`).
    ///
    /// Fails with a user error when `dir` is not a run directory.
    pub fn add_dir(&mut self, dir: &Path, priority: Option<i32>) -> Result<()> {
        let mut run = Run::open(dir)?;
        let priority = match priority {
            Some(p) => p,
            None => run.priority()?,
        };
        self.add(run, priority)
    }

    /// Drives `run` with `priority`. A run already driven is not added twice.
    ///
    /// Fails on store errors.
    pub fn add(&mut self, mut run: Run, priority: i32) -> Result<()> {
        if self.slots.iter().any(|s| s.view.dir == run.dir()) {
            return Ok(());
        }
        let state = run.state()?;
        let flights = in_flight(&mut run)?;
        self.slots.push(Slot {
            view: DrivenRun {
                run: run
                    .dir()
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                dir: run.dir().to_path_buf(),
                priority,
                launched: 0,
                state,
                elsewhere: false,
                error: None,
            },
            clusters: run.cluster_names(),
            run: Some(Box::new(run)),
            flights,
            reserved: 0,
            due: true,
            again: false,
            stopped: false,
            gone: false,
        });
        Ok(())
    }

    /// The runs, as last seen.
    pub fn runs(&self) -> Vec<DrivenRun> {
        self.slots.iter().map(|s| s.view.clone()).collect()
    }

    /// Drives until every run has stopped (finished, paused, waiting for a
    /// person, or failed with an error the user must fix), after one pass
    /// with `once`, or until [`DriverHandle::stop`]; `on_event` sees what
    /// happens as it happens.
    ///
    /// Never fails because of one run: its error is reported and it is
    /// tried again (or stopped, for the user's errors).
    pub fn drive(&mut self, mut on_event: impl FnMut(DriverEvent<'_>)) {
        let mut next_pass = Instant::now();
        let mut passes = 0u64;
        let mut links = link::views();
        let mut stopping = false;
        loop {
            let stepping = self.slots.iter().any(Slot::stepping);
            let finished = if self.opts.once {
                passes > 0
            } else {
                !self.opts.forever && self.slots.iter().all(|s| s.stopped)
            };
            if !stepping && (stopping || finished) {
                return;
            }
            let now = Instant::now();
            if now >= next_pass && !stopping && !(self.opts.once && passes > 0) {
                let pass = link::begin_pass();
                tracing::debug!(target: "matterstack::driver", pass, runs = self.slots.len(), "pass");
                passes += 1;
                for s in &mut self.slots {
                    if !s.gone && (self.opts.forever || !s.stopped) {
                        s.due = true;
                    }
                }
                next_pass = now + self.opts.poll;
            }
            if !stopping {
                self.dispatch();
            }
            let wait = next_pass.saturating_duration_since(Instant::now());
            let msg = match self.rx.recv_timeout(wait) {
                Ok(m) => m,
                Err(_) => continue,
            };
            match msg {
                Msg::Stepped(i, run, result) => self.stepped(i, run, result, &mut on_event),
                Msg::Exited(i) => {
                    if !self.opts.once {
                        let s = &mut self.slots[i];
                        if s.stepping() {
                            s.again = true;
                        } else if !s.stopped {
                            s.due = true;
                        }
                    }
                }
                Msg::Add(dir) => {
                    if let Err(e) = self.add_dir(&dir, None) {
                        on_event(DriverEvent::Failed {
                            run: &DrivenRun {
                                run: dir.display().to_string(),
                                dir: dir.clone(),
                                priority: 0,
                                launched: 0,
                                state: RunState::Running,
                                elsewhere: false,
                                error: Some(e.to_string()),
                            },
                            error: &e,
                        });
                    }
                }
                Msg::Remove(dir) => {
                    let dir = dir.canonicalize().unwrap_or(dir);
                    for s in self.slots.iter_mut().filter(|s| s.view.dir == dir) {
                        s.gone = true;
                        s.stopped = true;
                        s.due = false;
                    }
                }
                Msg::Stop => stopping = true,
            }
            let now_links = link::views();
            for l in &now_links {
                let before = links
                    .iter()
                    .find(|b| b.cluster == l.cluster && b.destination == l.destination);
                if before.map(|b| same_kind(&b.reachability, &l.reachability)) != Some(true) {
                    on_event(DriverEvent::Cluster { link: l });
                }
            }
            links = now_links;
        }
    }

    /// Starts a step of every due run that may go now (see the module docs).
    fn dispatch(&mut self) {
        let mut busy: BTreeSet<String> = self
            .slots
            .iter()
            .filter(|s| s.stepping())
            .flat_map(|s| s.clusters.iter().cloned())
            .collect();
        let mut order: Vec<usize> = (0..self.slots.len())
            .filter(|i| {
                let s = &self.slots[*i];
                s.due && !s.stepping() && !s.gone
            })
            .collect();
        order.sort_by_key(|i| {
            let v = &self.slots[*i].view;
            (-(v.priority as i64), v.launched, *i)
        });
        let used: usize = self
            .slots
            .iter()
            .map(|s| s.reserved + s.flights.values().map(|n| *n as usize).sum::<usize>())
            .sum();
        let mut free = self.opts.max_jobs.map(|m| m.saturating_sub(used));
        for (pos, &i) in order.iter().enumerate() {
            if self.slots[i].clusters.iter().any(|c| busy.contains(c)) {
                continue;
            }
            let priority = self.slots[i].view.priority;
            let peers_left = order[pos..]
                .iter()
                .filter(|j| self.slots[**j].view.priority == priority)
                .count();
            let cap = free.map(|f| f.div_ceil(peers_left.max(1)));
            let mut elsewhere: BTreeMap<String, u32> = BTreeMap::new();
            for (j, s) in self.slots.iter().enumerate() {
                if j != i {
                    for (k, n) in &s.flights {
                        *elsewhere.entry(k.clone()).or_insert(0) += n;
                    }
                }
            }
            let slot = &mut self.slots[i];
            let Some(mut run) = slot.run.take() else {
                continue;
            };
            slot.due = false;
            slot.reserved = cap.unwrap_or(0);
            if let (Some(f), Some(c)) = (free.as_mut(), cap) {
                *f = f.saturating_sub(c);
            }
            busy.extend(slot.clusters.iter().cloned());
            let limits = Limits {
                max_new: cap,
                elsewhere,
            };
            let wait = self.opts.lock_wait;
            let tx = self.tx.clone();
            std::thread::spawn(move || {
                let result = run.try_step(&limits, wait);
                let _ = tx.send(Msg::Stepped(i, run, result));
            });
        }
    }

    fn stepped(
        &mut self,
        i: usize,
        mut run: Box<Run>,
        result: Result<Option<TickReport>>,
        on_event: &mut impl FnMut(DriverEvent<'_>),
    ) {
        let slot = &mut self.slots[i];
        slot.reserved = 0;
        let was_stopped = slot.stopped;
        let mut user_error = false;
        let mut result = result.and_then(|r| match r {
            Some(report) => Ok((Some(report), in_flight(&mut run)?)),
            None => Ok((None, slot.flights.clone())),
        });
        if let Ok((None, _)) = &result {
            match run.state() {
                Ok(state) => slot.view.state = state,
                Err(e) => result = Err(e),
            }
        }
        match result {
            Ok((Some(mut report), flights)) => {
                for child in report.children.drain(..) {
                    let tx = self.tx.clone();
                    crate::process::reap(child, move || {
                        let _ = tx.send(Msg::Exited(i));
                    });
                }
                slot.flights = flights;
                slot.view.launched += report.launched;
                slot.view.state = report.run_state();
                slot.view.elsewhere = false;
                slot.view.error = None;
                on_event(DriverEvent::Stepped {
                    run: &slot.view,
                    handle: &mut run,
                    report: &report,
                });
            }
            Ok((None, _)) => {
                slot.view.elsewhere = true;
                on_event(DriverEvent::Elsewhere {
                    run: &slot.view,
                    handle: &mut run,
                });
            }
            Err(e) => {
                tracing::warn!(target: "matterstack::driver", run = %slot.view.run, "step failed: {e}");
                slot.view.error = Some(e.to_string());
                on_event(DriverEvent::Failed {
                    run: &slot.view,
                    error: &e,
                });
                user_error = matches!(e, Error::Input(_) | Error::Spec { .. });
            }
        }
        slot.run = Some(run);
        // A failed step is tried again next pass, unless the user must fix
        // something first.
        slot.stopped = match slot.view.error {
            Some(_) => user_error,
            None => !slot.view.state.is_moving(),
        };
        if slot.stopped && !was_stopped {
            on_event(DriverEvent::Stopped { run: &slot.view });
        }
        if slot.gone {
            slot.stopped = true;
        }
        if slot.again && !slot.stopped {
            slot.due = true;
        }
        slot.again = false;
    }
}

/// True when two reachabilities say the same thing (not counting times).
fn same_kind(a: &link::Reachability, b: &link::Reachability) -> bool {
    std::mem::discriminant(a) == std::mem::discriminant(b)
}

/// Attempts of a run that hold a slot (people do not), per operator key.
fn in_flight(run: &mut Run) -> Result<BTreeMap<String, u32>> {
    run.store().read(|tx| {
        let mut by_key = BTreeMap::new();
        for a in tx.active_attempts()? {
            if !EXTERNAL_OPERATORS.contains(&a.operator.as_str()) {
                *by_key.entry(a.operator).or_insert(0) += 1;
            }
        }
        Ok(by_key)
    })
}

// The handles faces move across threads: a run goes to a step's thread and
// back; the driver's handle is shared by a face's threads.
const _: () = {
    const fn send<T: Send>() {}
    const fn send_sync<T: Send + Sync>() {}
    send::<Run>();
    send::<Driver>();
    send_sync::<DriverHandle>();
    send_sync::<crate::operators::Operators>();
    send_sync::<crate::operators::link::ClusterLink>();
};
