//! The application API: what every face (CLI now; TUI and web later) calls.
//! Faces parse and present; decisions are made here and below.

pub mod archive;
mod campaign;
pub mod changes;
pub mod clusters;
mod control;
pub mod delete;
pub mod driver;
pub mod evidence;
mod explain;
mod external;
pub mod graph;
mod init;
pub mod live;
mod logs;
pub mod mbe;
pub mod overrides;
pub mod parse;
pub mod restart;
pub mod runs;
mod status;
pub mod submit;
pub mod sync;
pub mod templates;
pub mod verdict;

pub use campaign::Round;
pub use control::CancelOutcome;
pub use explain::Explanation;
pub use init::{init, InitOptions};
pub use logs::{LogStream, LogTarget};
pub use status::{AttemptState, AttemptView, Counts, QueueView, RunView, TaskState, TaskView};
pub use verdict::Verdict;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use crate::engine::{self, RunLock, RunState, TickReport};
use crate::operators::Operators;
use crate::store::Store;
use crate::{Error, Result};

/// The file name of a run's store.
pub const STATE_FILE: &str = "state.sqlite";

/// An open run: its directory and its store.
pub struct Run {
    dir: PathBuf,
    store: Store,
    ops: Operators,
    /// (modified, length) of the run's `matterstack.toml` when it was last
    /// found to be the text recorded at `init`.
    copy_checked: Option<(Option<std::time::SystemTime>, u64)>,
}

impl Run {
    /// Opens the run in `dir` (a directory holding `state.sqlite`).
    ///
    /// Fails with a user error if `dir` is not a run directory.
    pub fn open(dir: &Path) -> Result<Run> {
        let state = dir.join(STATE_FILE);
        if !state.is_file() {
            return Err(Error::Input(format!(
                "{} is not a run directory (no {STATE_FILE}); pass the directory `matterstack init` printed",
                dir.display()
            )));
        }
        let dir = dir
            .canonicalize()
            .map_err(|e| Error::io("resolve", dir, e))?;
        let mut store = Store::open(&dir.join(STATE_FILE))?;
        let (run_id, run_uid, workspace) = store.read(|tx| {
            let r = tx.run()?;
            Ok((r.id, tx.run_uid()?, PathBuf::from(r.workspace)))
        })?;
        let clusters = clusters::read_file(&dir.join(clusters::CLUSTERS_FILE))?;
        let mut job_templates = std::collections::BTreeMap::new();
        for (name, profile) in &clusters {
            if let Some(t) = &profile.job_template {
                job_templates.insert(name.clone(), templates::find(t, Some(&workspace))?);
            }
        }
        let ops = Operators::new(&run_id, clusters, job_templates).with_run_uid(run_uid);
        Ok(Run {
            dir,
            store,
            ops,
            copy_checked: None,
        })
    }

    /// The run directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// One step: takes the run lock (waiting for another step to finish),
    /// runs one tick and returns what it did. Child processes are detached;
    /// the step can exit while they run.
    pub fn step(&mut self) -> Result<TickReport> {
        self.step_limited(&engine::Limits::default())
    }

    /// [`Run::step`], within limits set from outside the run.
    pub fn step_limited(&mut self, limits: &engine::Limits) -> Result<TickReport> {
        let _lock = RunLock::acquire(&self.dir)?;
        self.step_locked(limits)
    }

    /// [`Run::step_limited`], waiting at most `wait` for the run lock;
    /// `None` when another process is stepping the run.
    pub fn try_step(
        &mut self,
        limits: &engine::Limits,
        wait: Duration,
    ) -> Result<Option<TickReport>> {
        let Some(_lock) = RunLock::acquire_within(&self.dir, wait)? else {
            return Ok(None);
        };
        self.step_locked(limits).map(Some)
    }

    /// The run's state as last recorded (by whichever process stepped it).
    pub fn state(&mut self) -> Result<RunState> {
        let status = self.store.read(|tx| Ok(tx.run()?.status))?;
        RunState::parse(&status)
            .ok_or_else(|| Error::Corrupt(format!("run status \"{status}\" is not known")))
    }

    /// The run's priority among others driven with it (`[run] priority`
    /// in its workspace, 0 when unset).
    pub fn priority(&mut self) -> Result<i32> {
        self.store.read(|tx| {
            let spec: Option<crate::model::WorkspaceSpec> = toml::from_str(&tx.spec_toml()?).ok();
            Ok(spec.and_then(|s| s.run.priority).unwrap_or(0))
        })
    }

    /// The names of the clusters the run's tasks use.
    pub fn cluster_names(&self) -> Vec<String> {
        self.ops.cluster_names()
    }

    fn step_locked(&mut self, limits: &engine::Limits) -> Result<TickReport> {
        self.check_workspace_copy()?;
        let mut report = engine::tick_limited(&mut self.store, &self.dir, &self.ops, limits)?;
        if report.run_state() == RunState::Running {
            // When the current workflow is finished, a campaign's planner
            // (if any, and not done) adds the next one, which starts in this
            // same step. Cheap when there is nothing to do.
            match self.plan_next()? {
                Round::Added(ids) => {
                    let left = engine::Limits {
                        max_new: limits.max_new.map(|m| m.saturating_sub(report.launched)),
                        elsewhere: limits.elsewhere.clone(),
                    };
                    let mut next =
                        engine::tick_limited(&mut self.store, &self.dir, &self.ops, &left)?;
                    next.launched += report.launched;
                    next.finished += report.finished;
                    next.planned = ids;
                    next.children.append(&mut report.children);
                    report = next;
                }
                Round::Paused(reason) => {
                    report.state = Some(RunState::Paused);
                    report.warnings.push(reason);
                }
                Round::Done => {
                    report.state = Some(self.store.write(engine::update_run_state)?);
                }
                Round::Idle => {}
            }
        }
        Ok(report)
    }

    /// Refuses to go on when the run's copy of `matterstack.toml` is not
    /// the text recorded at `init`: a run keeps the workspace it was made
    /// from, so an edit there would otherwise be silently ignored. Cheap
    /// per step (a `stat`; the text is compared only when it changed).
    fn check_workspace_copy(&mut self) -> Result<()> {
        let path = self.dir.join(init::WORKSPACE_FILE);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Ok(());
        };
        let stamp = (meta.modified().ok(), meta.len());
        if self.copy_checked == Some(stamp) {
            return Ok(());
        }
        let text = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        let recorded = self.store.read(|tx| tx.spec_toml())?;
        if text != recorded.as_bytes() {
            return Err(Error::Input(format!(
                "{} was edited after `init`, and a run keeps the workspace it was made from: the edit would not be applied. Put the file back as it was (its recorded text is `run.workspace_toml` in `matterstack export-evidence {dir}`), change a task with `matterstack retry {dir} TASK --partition P --walltime W …` (or `restart`), or make a new run from the edited workspace with `matterstack init`",
                path.display(),
                dir = self.dir.display()
            )));
        }
        self.copy_checked = Some(stamp);
        Ok(())
    }

    /// Steps until every task is finished and returns the final state.
    ///
    /// Between ticks it releases the run lock and waits: on the exit of any
    /// child it launched (so short tasks flow at process-spawn speed), or at
    /// most `poll` for attempts it did not launch itself (adopted after a
    /// restart). `on_tick` sees each tick's report.
    pub fn run_until_done(
        &mut self,
        poll: Duration,
        mut on_tick: impl FnMut(&TickReport),
    ) -> Result<RunState> {
        self.run_until_done_with(poll, |_, report| on_tick(report))
    }

    /// [`Run::run_until_done`], with the run itself handed to the callback
    /// (for progress displays that read counts).
    pub fn run_until_done_with(
        &mut self,
        poll: Duration,
        mut on_tick: impl FnMut(&mut Run, &TickReport),
    ) -> Result<RunState> {
        let (tx, rx) = mpsc::channel::<()>();
        let mut live_children = 0usize;
        loop {
            let mut report = self.step()?;
            for child in report.children.drain(..) {
                let tx = tx.clone();
                live_children += 1;
                crate::process::reap(child, move || {
                    let _ = tx.send(());
                });
            }
            on_tick(self, &report);
            let state = report.run_state();
            if state != RunState::Running {
                return Ok(state);
            }
            if live_children > 0 {
                if rx.recv_timeout(poll).is_ok() {
                    live_children -= 1;
                    while rx.try_recv().is_ok() {
                        live_children -= 1;
                    }
                }
            } else {
                std::thread::sleep(poll);
            }
        }
    }

    pub(crate) fn store(&mut self) -> &mut Store {
        &mut self.store
    }
}
