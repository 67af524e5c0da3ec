//! Batch submission: many workflows at once, driven fairly under one
//! global limit on jobs in flight.
//!
//! `submit` makes a run from every workspace (all or none: if one is
//! invalid, the runs already made are removed), then steps them in order of
//! workflow priority (`[run] priority` or `--priority`): a higher priority
//! takes the free slots first; runs of the same priority share them fairly
//! (the run that has started the fewest attempts goes first, each limited to
//! its share), so one large workflow cannot starve its peers. A cluster's `max_jobs` holds across the runs (the
//! other runs' jobs on it count). Without `wait` it makes one pass; with it, it steps
//! until every run has stopped (finished, paused or waiting for a person).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use serde::Serialize;

use super::{init, InitOptions, Run};
use crate::engine::RunState;
use crate::model::spec::EXTERNAL_OPERATORS;
use crate::model::WorkspaceSpec;
use crate::{Error, Result};

/// Options of [`submit`].
#[derive(Debug, Clone, Default)]
pub struct SubmitOptions {
    /// Overrides every workflow's `[run] priority`.
    pub priority: Option<i32>,
    /// The most attempts in flight across all the runs (None: no limit
    /// beyond each run's own core budget and cluster `max_jobs`).
    pub max_jobs: Option<usize>,
    /// Step until every run has stopped, not just once.
    pub wait: bool,
    /// Pause between passes when waiting.
    pub poll: Duration,
}

/// One submitted workflow, as the summary shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Submitted {
    /// The run id.
    pub run: String,
    /// The run directory.
    pub dir: PathBuf,
    /// The workspace it came from.
    pub workspace: PathBuf,
    /// Its priority.
    pub priority: i32,
    /// Tasks in the run.
    pub tasks: u64,
    /// Attempts started by this submission.
    pub launched: usize,
    /// The run's state at the end.
    pub state: String,
}

struct Entry {
    run: Run,
    summary: Submitted,
    stopped: bool,
}

/// Makes a run from each workspace and drives them (see the module docs).
///
/// Fails with a user error, leaving no run behind, when any workspace is
/// invalid; fails on store errors while driving (the runs stay, and
/// `matterstack run` carries each on).
pub fn submit(workspaces: &[PathBuf], opts: &SubmitOptions) -> Result<Vec<Submitted>> {
    if workspaces.is_empty() {
        return Err(Error::Input(
            "no workspaces given; name one or more directories holding a matterstack.toml".into(),
        ));
    }
    if opts.max_jobs == Some(0) {
        return Err(Error::Input(
            "--max-jobs 0: at least one job must be allowed in flight".into(),
        ));
    }
    let mut made: Vec<PathBuf> = Vec::new();
    let mut entries = Vec::new();
    for ws in workspaces {
        match make(ws, opts) {
            Ok(e) => {
                made.push(e.summary.dir.clone());
                entries.push(e);
            }
            Err(e) => {
                for dir in &made {
                    let _ = std::fs::remove_dir_all(dir);
                }
                return Err(match e {
                    Error::Input(m) => Error::Input(format!("{}: {m}", ws.display())),
                    other => other,
                });
            }
        }
    }
    drive(&mut entries, opts)?;
    Ok(entries.into_iter().map(|e| e.summary).collect())
}

fn make(ws: &Path, opts: &SubmitOptions) -> Result<Entry> {
    let dir = init(ws, &InitOptions::default())?;
    let mut run = Run::open(&dir)?;
    let (priority, tasks) = run.store().read(|tx| {
        let spec: Option<WorkspaceSpec> = toml::from_str(&tx.spec_toml()?).ok();
        let p = spec.and_then(|s| s.run.priority).unwrap_or(0);
        Ok((p, tx.counts()?.values().sum::<u64>()))
    })?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Entry {
        run,
        summary: Submitted {
            run: name,
            dir,
            workspace: ws.to_path_buf(),
            priority: opts.priority.unwrap_or(priority),
            tasks,
            launched: 0,
            state: "RUNNING".into(),
        },
        stopped: false,
    })
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

fn drive(entries: &mut [Entry], opts: &SubmitOptions) -> Result<()> {
    let mut children: Vec<Child> = Vec::new();
    loop {
        let mut order: Vec<usize> = (0..entries.len())
            .filter(|i| !entries[*i].stopped)
            .collect();
        order.sort_by_key(|i| {
            let s = &entries[*i].summary;
            (-(s.priority as i64), s.launched, *i)
        });
        if order.is_empty() {
            break;
        }
        let mut flights = Vec::with_capacity(entries.len());
        for e in entries.iter_mut() {
            flights.push(in_flight(&mut e.run)?);
        }
        let used: usize = flights
            .iter()
            .flat_map(|f| f.values())
            .map(|n| *n as usize)
            .sum();
        let mut free = opts.max_jobs.map(|max| max.saturating_sub(used));
        for (pos, &i) in order.iter().enumerate() {
            // Higher priority first; among runs of the same priority, a fair
            // share of what is free (rounded up) for each in turn.
            let priority = entries[i].summary.priority;
            let peers_left = order[pos..]
                .iter()
                .filter(|j| entries[**j].summary.priority == priority)
                .count();
            let cap = free.map(|f| f.div_ceil(peers_left.max(1)));
            // A cluster's max_jobs holds across the runs: the others' jobs
            // on it count too.
            let mut elsewhere: BTreeMap<String, u32> = BTreeMap::new();
            for (_, f) in flights.iter().enumerate().filter(|(j, _)| *j != i) {
                for (k, n) in f {
                    *elsewhere.entry(k.clone()).or_insert(0) += n;
                }
            }
            let e = &mut entries[i];
            let mut report = e.run.step_limited(&crate::engine::Limits {
                max_new: cap,
                elsewhere,
            })?;
            flights[i] = in_flight(&mut e.run)?;
            e.summary.launched += report.launched;
            if let Some(f) = free.as_mut() {
                *f = f.saturating_sub(report.launched);
            }
            children.append(&mut report.children);
            let state = report.run_state();
            e.summary.state = state.as_str().to_string();
            if state != RunState::Running {
                e.stopped = true;
            }
        }
        // Reap what has exited, so finished commands leave no zombies.
        children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
        if !opts.wait {
            break;
        }
        std::thread::sleep(opts.poll);
    }
    Ok(())
}
