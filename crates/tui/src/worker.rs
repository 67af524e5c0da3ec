//! The IO thread: runs the [`Command`]s the state machine asks for with
//! the application API and sends back [`Update`]s; follows the open run's
//! change feed. The drawing thread never waits on it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use matterstack_core::app::delete::DeleteOptions;
use matterstack_core::app::driver::DriverHandle;
use matterstack_core::app::live::LiveRun;
use matterstack_core::app::overrides::Overrides;
use matterstack_core::app::runs::{self, RunFilter};
use matterstack_core::app::{clusters, templates, LogStream, Run};

use crate::state::{Bulk, Command, Stream, Update};

/// At most this much of a log is kept for the screen (its end).
const LOG_KEEP: usize = 1 << 20;

/// What the worker shows and drives.
pub struct Scope {
    /// Only runs of these workspaces (all indexed runs when empty).
    pub workspaces: Vec<PathBuf>,
    /// Runs named on the command line (shown even when not indexed).
    pub runs: Vec<PathBuf>,
    /// The embedded driver, to drive a run an action set going again.
    pub driver: Option<DriverHandle>,
}

/// Runs commands until the sender goes away.
pub fn work(scope: Scope, commands: Receiver<Command>, updates: Sender<Update>) {
    let mut runs: HashMap<PathBuf, Run> = HashMap::new();
    let mut open: Option<(PathBuf, i64)> = None;
    let mut listed = Instant::now() - Duration::from_secs(60);
    loop {
        match commands.recv_timeout(Duration::from_millis(250)) {
            Ok(c) => {
                if let Command::Open(dir) = &c {
                    open = None;
                    let _ = dir;
                }
                let u = run_command(&scope, &mut runs, &mut open, c);
                for u in u {
                    if updates.send(u).is_err() {
                        return;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        // The open run's new changes (another process's too).
        if let Some((dir, cursor)) = open.as_mut() {
            if let Some(run) = runs.get_mut(dir) {
                match run.events_since(*cursor, 10_000) {
                    Ok(batch) if !batch.changes.is_empty() => {
                        *cursor = batch.cursor;
                        if updates
                            .send(Update::Changes(dir.clone(), batch.changes))
                            .is_err()
                        {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = updates.send(Update::Error(e.to_string()));
                    }
                }
            }
        }
        if listed.elapsed() > Duration::from_secs(3) {
            listed = Instant::now();
            if updates.send(list(&scope)).is_err() {
                return;
            }
        }
    }
}

/// The files of a task's directory (not its attempts' own), with sizes;
/// links are listed, never followed.
fn files(run: &Path, task: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let root = run.join("tasks").join(task);
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            let rel = e
                .path()
                .strip_prefix(&root)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            if meta.is_dir() {
                if rel != ".attempts" && out.len() < 10_000 {
                    stack.push(e.path());
                }
            } else {
                out.push((rel, meta.len()));
            }
        }
    }
    out.sort();
    out
}

/// Files under `root` (two levels, no hidden ones, no `runs/`) the form
/// may pick, with the text of small structure files.
fn pickable(root: &Path) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "runs" {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            let rel = e
                .path()
                .strip_prefix(root)
                .map(|p| p.display().to_string())
                .unwrap_or(name.clone());
            if meta.is_dir() && depth < 1 {
                stack.push((e.path(), depth + 1));
            } else if meta.is_file() && out.len() < 2_000 {
                let structure = [".xyz", ".pdb", ".cif"].iter().any(|x| name.ends_with(x));
                let text = (structure && meta.len() <= 1 << 20)
                    .then(|| std::fs::read_to_string(e.path()).ok())
                    .flatten();
                out.push((rel, text));
            }
        }
    }
    out.sort();
    out
}

fn list(scope: &Scope) -> Update {
    match runs::list(&RunFilter {
        workspaces: scope.workspaces.clone(),
        state: None,
    }) {
        Ok(mut l) => {
            if !scope.runs.is_empty() {
                let wanted: Vec<PathBuf> = scope
                    .runs
                    .iter()
                    .filter_map(|r| r.canonicalize().ok())
                    .collect();
                l.retain(|r| wanted.contains(&r.dir) || scope.workspaces.contains(&r.workspace));
            }
            Update::Runs(l)
        }
        Err(e) => Update::Error(e.to_string()),
    }
}

fn handle<'a>(
    runs: &'a mut HashMap<PathBuf, Run>,
    dir: &Path,
) -> matterstack_core::Result<&'a mut Run> {
    if !runs.contains_key(dir) {
        let r = Run::open(dir)?;
        runs.insert(dir.to_path_buf(), r);
    }
    Ok(runs.get_mut(dir).expect("inserted above"))
}

fn run_command(
    scope: &Scope,
    runs: &mut HashMap<PathBuf, Run>,
    open: &mut Option<(PathBuf, i64)>,
    c: Command,
) -> Vec<Update> {
    let err = |e: matterstack_core::Error| vec![Update::Error(e.to_string())];
    match c {
        Command::ListRuns => vec![list(scope)],
        Command::Open(dir) => match handle(runs, &dir).and_then(LiveRun::load) {
            Ok(live) => {
                *open = Some((dir.clone(), live.cursor));
                vec![Update::Opened(dir, Box::new(live))]
            }
            Err(e) => err(e),
        },
        Command::Explain(dir, task) => {
            let r = match handle(runs, &dir) {
                Ok(r) => r,
                Err(e) => return err(e),
            };
            match (r.explain(&task), r.task_spec(&task)) {
                (Ok(e), Ok(spec)) => vec![
                    Update::Explained(task.clone(), Box::new(e)),
                    Update::Spec(task, Box::new(spec)),
                ],
                (Err(e), _) | (_, Err(e)) => err(e),
            }
        }
        Command::Log { run, task, stream } => {
            let read = |r: &mut Run| -> matterstack_core::Result<String> {
                let s = match stream {
                    Stream::Stdout => LogStream::Stdout,
                    Stream::Stderr => LogStream::Stderr,
                };
                let mut target = r.log(&task, s, None, None)?;
                if stream == Stream::Stdout {
                    target = r.log_or_program_output(target)?;
                }
                let mut bytes = Vec::new();
                loop {
                    let chunk = r.read_log(&target, bytes.len() as u64)?;
                    bytes.extend_from_slice(&chunk.bytes);
                    if !chunk.more || chunk.bytes.is_empty() {
                        break;
                    }
                }
                let from = bytes.len().saturating_sub(LOG_KEEP);
                Ok(String::from_utf8_lossy(&bytes[from..]).into_owned())
            };
            match handle(runs, &run).and_then(read) {
                Ok(text) => vec![Update::Log { task, stream, text }],
                Err(e) => err(e),
            }
        }
        Command::Graph(dir) => match handle(runs, &dir).and_then(|r| r.graph()) {
            Ok(g) => vec![Update::Graph(dir, g)],
            Err(e) => err(e),
        },
        Command::Clusters => match clusters::load(Some(Path::new("."))) {
            Ok(all) => vec![Update::Clusters(clusters::views(&all))],
            Err(e) => err(e),
        },
        Command::Connect(_) => Vec::new(),
        Command::Queue(name) => {
            let jobs = clusters::load(Some(Path::new(".")))
                .and_then(|all| clusters::get(&all, &name))
                .and_then(|p| clusters::queue(&name, &p));
            match jobs {
                Ok(j) => vec![Update::Queue(name, j)],
                Err(e) => err(e),
            }
        }
        Command::Files(run, task) => vec![Update::Files(task.clone(), files(&run, &task))],
        Command::PlanDelete(dir) => {
            let plan = Run::open(&dir).and_then(|r| {
                r.delete(DeleteOptions {
                    remote: true,
                    dry_run: true,
                })
            });
            match plan {
                Ok(p) => {
                    let remote: usize = p.remote.values().map(|r| r.removed.len()).sum();
                    let mut parts = vec![format!("its directory {}", p.dir.display())];
                    if !p.cancelled.is_empty() {
                        parts.push(format!(
                            "{} live task(s) cancelled (scancel for cluster jobs)",
                            p.cancelled.len()
                        ));
                    }
                    if remote > 0 {
                        parts.push(format!(
                            "{remote} remote director(ies) on {}",
                            p.remote.keys().cloned().collect::<Vec<_>>().join(", ")
                        ));
                    }
                    vec![Update::DeletePlan(dir, parts.join("; "))]
                }
                Err(e) => err(e),
            }
        }
        Command::Templates => vec![Update::Templates(templates::list(Some(Path::new("."))))],
        Command::Template(name) => match templates::find(&name, Some(Path::new("."))) {
            Ok(t) => vec![Update::Template(Box::new(t), pickable(Path::new(".")))],
            Err(e) => err(e),
        },
        Command::Create(draft, Some(ws)) => match templates::add_to_workspace(&draft, &ws) {
            Ok(file) => vec![Update::Added(draft.id.clone(), file)],
            Err(e) => err(e),
        },
        Command::Create(draft, None) => {
            let cwd = PathBuf::from(".");
            match templates::new_run(&draft, &cwd, Some(&cwd.join(clusters::CLUSTERS_FILE))) {
                Ok(run) => {
                    if let Some(d) = &scope.driver {
                        d.add(run.clone());
                    }
                    vec![Update::Created(run)]
                }
                Err(e) => err(e),
            }
        }
        Command::Act {
            run,
            bulk: Bulk::DeleteRun { .. },
            ..
        } => {
            runs.remove(&run);
            if let Some(d) = &scope.driver {
                d.remove(run.clone());
            }
            if open.as_ref().is_some_and(|(d, _)| *d == run) {
                *open = None;
            }
            let done = Run::open(&run).and_then(|r| {
                r.delete(DeleteOptions {
                    remote: true,
                    dry_run: false,
                })
            });
            match done {
                Ok(rep) => vec![
                    Update::Info(format!("deleted run {}", rep.run)),
                    list(scope),
                ],
                Err(e) => err(e),
            }
        }
        Command::Act { run, bulk, tasks } => {
            let r = match handle(runs, &run) {
                Ok(r) => r,
                Err(e) => return err(e),
            };
            let result = match &bulk {
                Bulk::Cancel => r
                    .cancel(&tasks)
                    .map(|o| format!("cancelled {} task(s)", o.len())),
                Bulk::Retry => tasks
                    .iter()
                    .try_for_each(|t| r.retry(t, &Overrides::default()).map(|_| ()))
                    .map(|()| format!("{} task(s) will run again", tasks.len())),
                Bulk::DeleteRun { .. } => Ok(String::new()),
                Bulk::Restart { walltime, cores } => {
                    let o = Overrides {
                        walltime: walltime.clone(),
                        cores: *cores,
                        ..Overrides::default()
                    };
                    tasks
                        .iter()
                        .try_for_each(|t| r.restart(t, &o).map(|_| ()))
                        .map(|()| format!("{} task(s) restart from their checkpoints", tasks.len()))
                }
            };
            if !matches!(bulk, Bulk::Cancel) {
                if let Some(d) = &scope.driver {
                    d.add(run.clone());
                }
            }
            match result {
                Ok(m) => vec![Update::Info(m)],
                Err(e) => err(e),
            }
        }
    }
}
