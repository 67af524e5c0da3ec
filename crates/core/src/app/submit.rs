//! Batch submission: many workflows at once, driven fairly under one
//! global limit on jobs in flight.
//!
//! `submit` makes a run from every workspace (all or none: if one is
//! invalid, the runs already made are removed), then steps them in order of
//! workflow priority (`[run] priority` or `--priority`): a higher priority
//! takes the free slots first; runs of the same priority share them fairly
//! (the run that has started the fewest attempts goes first, each limited to
//! its share), so one large workflow cannot starve its peers. A cluster's
//! `max_jobs` holds across the runs (the other runs' jobs on it count). The
//! driving is the [`super::driver`]'s: without `wait` one pass; with it,
//! until every run has stopped (finished, paused or waiting for a person).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::driver::{Driver, DriverOptions};
use super::{init, InitOptions, Run};
use crate::engine::RunState;
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
    pub state: RunState,
    /// Why its last step failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Entry {
    run: Option<Run>,
    summary: Submitted,
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
    let priority = run.priority()?;
    let tasks = run
        .store()
        .read(|tx| Ok(tx.counts()?.values().sum::<u64>()))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Entry {
        summary: Submitted {
            run: name,
            dir,
            workspace: ws.to_path_buf(),
            priority: opts.priority.unwrap_or(priority),
            tasks,
            launched: 0,
            state: RunState::Running,
            error: None,
        },
        run: Some(run),
    })
}

fn drive(entries: &mut [Entry], opts: &SubmitOptions) -> Result<()> {
    let mut driver = Driver::new(DriverOptions {
        poll: opts.poll,
        max_jobs: opts.max_jobs,
        once: !opts.wait,
        ..DriverOptions::default()
    });
    for e in entries.iter_mut() {
        if let Some(run) = e.run.take() {
            driver.add(run, e.summary.priority)?;
        }
    }
    driver.drive(|_| {});
    for (e, d) in entries.iter_mut().zip(driver.runs()) {
        e.summary.launched = d.launched;
        e.summary.state = d.state;
        e.summary.error = d.error;
    }
    Ok(())
}
