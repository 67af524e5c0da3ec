//! The user's runs: an index in `$XDG_DATA_HOME/matterstack/runs.jsonl`
//! (one JSON line per run, appended at `init` and `sync --into`, dropped at
//! `delete`), read back against the run directories themselves. A run moved
//! or deleted by hand is listed as MISSING; runs under a workspace named on
//! the command line are found by looking, indexed or not.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Run, TaskState, STATE_FILE};
use crate::{Error, Result};

/// The index file's name in the user's data directory.
pub const INDEX_FILE: &str = "runs.jsonl";

/// The index of the user's runs.
pub fn index_path() -> PathBuf {
    crate::lookup::data_dir().join(INDEX_FILE)
}

/// One line of the index.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    dir: PathBuf,
    id: String,
    workspace: PathBuf,
    created: i64,
}

/// Adds a run directory to the user's index (one appended line: concurrent
/// `init`s do not lose each other's runs).
pub fn remember(run_dir: &Path) -> Result<()> {
    let mut run = Run::open(run_dir)?;
    let r = run.store().read(|tx| tx.run())?;
    let entry = Entry {
        dir: run.dir().to_path_buf(),
        id: r.id,
        workspace: PathBuf::from(r.workspace),
        created: r.created_at,
    };
    let path = index_path();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    let mut line = serde_json::to_string(&entry).map_err(|e| Error::Corrupt(e.to_string()))?;
    line.push('\n');
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| Error::io("append to", &path, e))
}

/// Drops a run directory from the user's index.
pub fn forget(run_dir: &Path) -> Result<()> {
    rewrite(|e| e.dir != run_dir).map(|_| ())
}

/// Drops every indexed run whose directory is gone; returns how many.
pub fn forget_missing() -> Result<usize> {
    rewrite(|e| e.dir.join(STATE_FILE).is_file())
}

/// Keeps the index lines `keep` accepts; returns how many went.
fn rewrite(keep: impl Fn(&Entry) -> bool) -> Result<usize> {
    let path = index_path();
    let entries = read_index(&path)?;
    let kept: Vec<&Entry> = entries.iter().filter(|e| keep(e)).collect();
    let gone = entries.len() - kept.len();
    if gone == 0 {
        return Ok(0);
    }
    let mut text = String::new();
    for e in kept {
        text.push_str(&serde_json::to_string(e).map_err(|e| Error::Corrupt(e.to_string()))?);
        text.push('\n');
    }
    crate::atomic::write_private(&path, &text)?;
    Ok(gone)
}

/// Every line of the index that parses (a damaged line is skipped, never
/// fatal: the index is a convenience over the run directories).
fn read_index(path: &Path) -> Result<Vec<Entry>> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

/// A run's state as `runs` lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunListState {
    /// Tasks remain to run.
    Running,
    /// Every task completed (or was allowed to fail, or skipped).
    Completed,
    /// Finished with a failed task.
    Failed,
    /// Paused: nothing new starts until `resume`.
    Paused,
    /// Indexed, but its directory is gone (moved or deleted by hand).
    Missing,
    /// Its directory is there but its store cannot be read.
    Unreadable,
}

impl RunListState {
    /// Every state, for `--status` and its error message.
    pub const ALL: [RunListState; 6] = [
        RunListState::Running,
        RunListState::Completed,
        RunListState::Failed,
        RunListState::Paused,
        RunListState::Missing,
        RunListState::Unreadable,
    ];

    /// The upper-case name printed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunListState::Running => "RUNNING",
            RunListState::Completed => "COMPLETED",
            RunListState::Failed => "FAILED",
            RunListState::Paused => "PAUSED",
            RunListState::Missing => "MISSING",
            RunListState::Unreadable => "UNREADABLE",
        }
    }

    /// Parses a `--status` value (any case).
    ///
    /// Fails with a user error listing the states.
    pub fn parse(s: &str) -> Result<RunListState> {
        RunListState::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let all: Vec<&str> = RunListState::ALL.iter().map(|s| s.as_str()).collect();
                Error::Input(format!(
                    "--status {s:?}: not a run state; use one of {}",
                    all.join(", ")
                ))
            })
    }
}

/// One run in the list.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// Run id.
    pub id: String,
    /// The run directory.
    pub dir: PathBuf,
    /// The workspace it was made from.
    pub workspace: PathBuf,
    /// Created, ms since the epoch.
    pub created: i64,
    /// Its state.
    pub state: RunListState,
    /// Tasks per state (empty when the run cannot be read).
    pub counts: super::Counts,
    /// Its latest event, ms since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_activity: Option<i64>,
    /// Cluster profiles its tasks use.
    pub clusters: Vec<String>,
    /// What went wrong reading it, for MISSING and UNREADABLE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

impl RunSummary {
    /// Tasks in every state, and those finished.
    pub fn progress(&self) -> (u64, u64) {
        let total = self.counts.values().sum();
        let done = TaskState::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .filter_map(|s| self.counts.get(s))
            .sum();
        (done, total)
    }
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs of these workspaces (and every run found under their
    /// `runs/`); all indexed runs when empty.
    pub workspaces: Vec<PathBuf>,
    /// Only runs in this state.
    pub state: Option<RunListState>,
}

/// Lists the user's runs, newest first.
///
/// Fails with a user error if a named workspace does not exist.
pub fn list(filter: &RunFilter) -> Result<Vec<RunSummary>> {
    let mut wanted = Vec::new();
    for w in &filter.workspaces {
        wanted.push(w.canonicalize().map_err(|e| {
            Error::Input(format!(
                "workspace {}: {e}; name a workspace directory (one holding matterstack.toml)",
                w.display()
            ))
        })?);
    }
    let mut entries: BTreeMap<PathBuf, Entry> = BTreeMap::new();
    for e in read_index(&index_path())? {
        if wanted.is_empty() || wanted.contains(&e.workspace) {
            entries.insert(e.dir.clone(), e);
        }
    }
    // Runs under the named workspaces, indexed or not.
    for w in &wanted {
        let Ok(dirs) = fs::read_dir(w.join("runs")) else {
            continue;
        };
        for d in dirs.flatten() {
            let dir = d.path();
            let hidden = d.file_name().to_string_lossy().starts_with('.');
            if hidden || entries.contains_key(&dir) || !dir.join(STATE_FILE).is_file() {
                continue;
            }
            entries.insert(
                dir.clone(),
                Entry {
                    id: d.file_name().to_string_lossy().into_owned(),
                    dir,
                    workspace: w.clone(),
                    created: 0,
                },
            );
        }
    }
    let mut out: Vec<RunSummary> = entries.into_values().map(summarize).collect();
    if let Some(st) = filter.state {
        out.retain(|r| r.state == st);
    }
    out.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    Ok(out)
}

/// Reads one run's summary from its directory; never fails.
fn summarize(e: Entry) -> RunSummary {
    let mut s = RunSummary {
        id: e.id,
        dir: e.dir,
        workspace: e.workspace,
        created: e.created,
        state: RunListState::Missing,
        counts: BTreeMap::new(),
        last_activity: None,
        clusters: Vec::new(),
        problem: None,
    };
    if !s.dir.join(STATE_FILE).is_file() {
        s.problem = Some(format!(
            "{} is gone (moved or deleted by hand); `matterstack runs --forget-missing` drops it from the list",
            s.dir.display()
        ));
        return s;
    }
    // The store and the profiles only: a listing needs no operators or
    // templates (a run whose job template is gone is still listed).
    let read = (|| -> Result<()> {
        let mut store = crate::store::Store::open(&s.dir.join(STATE_FILE))?;
        let (counts, row, paused, last) = store.read(|tx| {
            Ok((
                super::status::shown_counts(tx)?,
                tx.run()?,
                tx.paused()?,
                tx.last_activity()?,
            ))
        })?;
        s.counts = counts;
        s.id = row.id;
        s.created = row.created_at;
        s.last_activity = last;
        s.state = match (paused, row.status.as_str()) {
            (Some(_), "RUNNING") => RunListState::Paused,
            (_, "COMPLETED") => RunListState::Completed,
            (_, "FAILED") => RunListState::Failed,
            _ => RunListState::Running,
        };
        s.clusters = super::clusters::read_file(&s.dir.join(super::clusters::CLUSTERS_FILE))?
            .into_keys()
            .collect();
        Ok(())
    })();
    if let Err(e) = read {
        s.state = RunListState::Unreadable;
        s.problem = Some(e.to_string());
    }
    s
}

/// The runs that `watch` (and the faces' default view) drive: each path a
/// run directory, or a workspace (its runs still going); with no paths,
/// the indexed runs still going.
///
/// Fails with a user error naming a path that is neither.
pub fn targets(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let going = |workspaces: Vec<PathBuf>| -> Result<Vec<PathBuf>> {
        Ok(list(&RunFilter {
            workspaces,
            state: Some(RunListState::Running),
        })?
        .into_iter()
        .map(|r| r.dir)
        .collect())
    };
    if paths.is_empty() {
        return going(Vec::new());
    }
    let mut dirs = Vec::new();
    for p in paths {
        if p.join(super::STATE_FILE).is_file() {
            dirs.push(p.clone());
        } else if p.join(super::init::WORKSPACE_FILE).is_file() {
            dirs.extend(going(vec![p.clone()])?);
        } else {
            return Err(Error::Input(format!(
                "{}: neither a run directory (no {}) nor a workspace (no {}); name a run `matterstack init` made, or its workspace",
                p.display(),
                super::STATE_FILE,
                super::init::WORKSPACE_FILE
            )));
        }
    }
    dirs.dedup();
    Ok(dirs)
}
