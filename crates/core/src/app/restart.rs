//! `restart`: a new attempt of a failed or cancelled task that continues from
//! the checkpoint its previous attempt left (GROMACS `.cpt`, NAMD restart
//! files, CRYSTAL `fort.9`/`OPTINFO.DAT`), with lineage to that attempt.
//!
//! The restart is recorded, not run: the task's effective spec gets the
//! restart command (and any new walltime or cores), its next attempt is of
//! kind `restart`, and the task goes back through the state machine like a
//! retry (FAILED/CANCELLED → PENDING → READY once its dependencies are done).
//! The next `step` launches it. A RUNNING task is refused: cancel it first.

use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::control::{known_task, reset};
use super::overrides::Overrides;
use super::Run;
use crate::engine::{self, RunLock};
use crate::model::{Command, TaskSpec, TaskStatus};
use crate::operators::AttemptRef;
use crate::store::{AttemptRow, Tx, TxError};
use crate::{Error, Result};

/// What a restart may change besides the command: resources and where it
/// runs ([`Overrides`]).
pub type RestartOptions = Overrides;

/// What `restart` recorded.
#[derive(Debug, Clone, Serialize)]
pub struct RestartOutcome {
    /// Task id.
    pub task: String,
    /// The attempt whose checkpoint is continued.
    pub from_attempt: u32,
    /// The number the restart attempt will get.
    pub attempt: u32,
    /// The checkpoint files found in the task directory.
    pub checkpoint: Vec<String>,
    /// The command the restart attempt runs.
    pub command: String,
    /// Its walltime, if any.
    pub walltime: Option<String>,
    /// Its cores.
    pub cores: u32,
    /// The task's status now: `READY`, or `PENDING` while a dependency is not done.
    pub status: String,
    /// Dependants that had been skipped because of the task and now wait for it again.
    pub dependants: Vec<String>,
}

/// How long a restart waits for the processes of a cancelled local attempt
/// to exit (a program stopping on SIGTERM writes its last checkpoint first).
const EXIT_WAIT: Duration = Duration::from_secs(5);

/// How often, and how far apart, a restart fetches a cancelled cluster
/// job's checkpoint while its TERM trap may still be copying it.
const FETCH_TRIES: u32 = 5;
const FETCH_PAUSE: Duration = Duration::from_secs(2);

impl Run {
    /// Makes a FAILED or CANCELLED task continue from the checkpoint its
    /// last attempt left: the next attempt (kind `restart`, parent = the
    /// last attempt) runs the task's `restart_command` (or its command when
    /// it has none) with `options` applied. Skipped dependants come back.
    ///
    /// Fails with a user error, changing nothing, when the task is unknown,
    /// is not FAILED or CANCELLED (a RUNNING task must be cancelled first),
    /// never had an attempt, declares no `checkpoint` files, misses one of
    /// them in its task directory (a cluster task's files arrive only when
    /// its job's outputs are fetched back), depends on a task that is not
    /// done, or when `--walltime`/`--cores` is invalid.
    pub fn restart(&mut self, task: &str, options: &RestartOptions) -> Result<RestartOutcome> {
        options.check()?;
        self.fetch_checkpoint(task)?;
        let _lock = RunLock::acquire(&self.dir)?;
        let run_dir = self.dir.clone();
        // Read-only checks first; a local attempt whose processes are still
        // stopping is waited for outside any transaction.
        let last = self.store().read(|tx| {
            let t = known_task(tx, task)?;
            restartable(tx, &run_dir, &t, options)
        })?;
        if last.operator == "local" {
            wait_for_exit(&last)?;
        }
        self.store().write(|tx| {
            // Checked again under the write transaction (nothing can have
            // changed while we hold the run lock, but the store decides).
            let t = known_task(tx, task)?;
            let last = restartable(tx, &run_dir, &t, options)?;
            // Back through the state machine first (this clears any effective
            // spec), then the restart's own: the spec its last attempt ran
            // with (upstream values already resolved) plus the overrides.
            reset(tx, task, t.status)?;
            let declared = tx.declared_spec(task)?.unwrap_or_else(|| t.spec.clone());
            let workspace = std::path::PathBuf::from(tx.run()?.workspace);
            let task_dir = run_dir.join("tasks").join(task);
            let spec =
                restart_spec_in(&t.spec, &declared, options, Some((&workspace, &task_dir)))?;
            tx.set_resolved(task, Some(&spec))?;
            tx.set_next_kind(task, Some("restart"))?;
            let attempt = t.attempts + 1;
            tx.event(
                Some(task),
                &format!(
                    "restart requested: attempt {attempt} continues from the checkpoint of attempt {} ({}){}",
                    last.n,
                    spec.checkpoint.join(", "),
                    if options.is_empty() { String::new() } else { format!(" with {}", options.describe()) }
                ),
            )?;
            let dependants = bring_back_dependants(tx, task)?;
            engine::update_run_state(tx)?;
            let status = known_task(tx, task)?.status.to_string();
            Ok(RestartOutcome {
                task: task.to_string(),
                from_attempt: last.n,
                attempt,
                checkpoint: spec.checkpoint.clone(),
                command: display(spec.command.as_ref()),
                walltime: spec.walltime.clone(),
                cores: spec.cores,
                status,
                dependants,
            })
        })
    }
}

impl Run {
    /// A cluster task's checkpoint, when its files are not here yet: a job
    /// cancelled by the user is not polled again, so what its TERM trap kept
    /// (in the job's project directory) is fetched now. The trap runs when
    /// the program has stopped, so this waits a little for it.
    fn fetch_checkpoint(&mut self, task: &str) -> Result<()> {
        let run_dir = self.dir.clone();
        let Some((last, spec)) = self.store().read(|tx| {
            let t = known_task(tx, task)?;
            let last = tx.last_attempt(task)?;
            Ok(last.map(|l| (l, t.spec)))
        })?
        else {
            return Ok(());
        };
        let dir = run_dir.join("tasks").join(task);
        let missing = |spec: &TaskSpec| spec.checkpoint.iter().any(|f| !dir.join(f).is_file());
        if !last.operator.contains('@')
            || last.status.is_active()
            || spec.checkpoint.is_empty()
            || !missing(&spec)
        {
            return Ok(());
        }
        let mut outputs = spec.outputs.clone();
        if !outputs.is_empty() {
            outputs.extend(spec.checkpoint.iter().cloned());
        }
        let op = self.ops.get(&last.operator)?;
        let aref = AttemptRef {
            run_dir: &run_dir,
            task_id: task,
            n: last.n,
            token: &last.token,
            external_id: last.external_id.as_deref(),
            outputs: &outputs,
        };
        for _ in 0..FETCH_TRIES {
            op.fetch(std::slice::from_ref(&aref))?;
            if !missing(&spec) {
                break;
            }
            std::thread::sleep(FETCH_PAUSE);
        }
        Ok(())
    }
}

/// Checks that `t` can continue from a checkpoint; returns its last attempt.
fn restartable(
    tx: &Tx<'_>,
    run_dir: &Path,
    t: &crate::store::TaskRow,
    options: &RestartOptions,
) -> Result<AttemptRow, TxError> {
    let id = &t.id;
    let run = run_dir.display();
    let refuse = |m: String| -> Result<AttemptRow, TxError> { Err(Error::Input(m).into()) };
    match t.status {
        TaskStatus::Failed | TaskStatus::Cancelled => {}
        TaskStatus::Running => {
            return refuse(format!(
                "task \"{id}\" is RUNNING; cancel it first (`matterstack cancel {run} {id}`), then restart it from its last checkpoint"
            ))
        }
        TaskStatus::Completed => {
            return refuse(format!(
                "task \"{id}\" is COMPLETED: there is nothing left to continue; only FAILED or CANCELLED tasks can be restarted"
            ))
        }
        TaskStatus::Pending | TaskStatus::Ready => {
            return refuse(format!(
                "task \"{id}\" is {}: it is waiting to start, so there is nothing to continue yet; only FAILED or CANCELLED tasks can be restarted",
                t.status
            ))
        }
        TaskStatus::Skipped => {
            return refuse(format!(
                "task \"{id}\" is SKIPPED: it never ran, so it has no checkpoint; only FAILED or CANCELLED tasks can be restarted (`matterstack retry {run} {id}` runs it)"
            ))
        }
        other => {
            return refuse(format!(
                "task \"{id}\" is {other}; only FAILED or CANCELLED tasks can be restarted"
            ))
        }
    }
    let Some(last) = tx.last_attempt(id)? else {
        return refuse(format!(
            "task \"{id}\" was cancelled before it ever started, so it has no checkpoint; run it from the start with `matterstack retry {run} {id}`"
        ));
    };
    if t.spec.checkpoint.is_empty() {
        return refuse(format!(
            "task \"{id}\" declares no checkpoint files, so there is nothing to continue from; start it over with `matterstack retry {run} {id}` (for future runs, list them in matterstack.toml: checkpoint = [\"md.cpt\"], or use a template that declares them)"
        ));
    }
    let dir = run_dir.join("tasks").join(id);
    let missing: Vec<&str> = t
        .spec
        .checkpoint
        .iter()
        .filter(|f| !dir.join(f).is_file())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let remote = if t.spec.operator == "local" {
            String::new()
        } else {
            " (a cluster task's files come back when its job ends and its outputs are fetched; a job cancelled or killed at its time limit does not copy its scratch directory back)".to_string()
        };
        return refuse(format!(
            "task \"{id}\" cannot continue: checkpoint file(s) {} not found in {}{remote}; its attempt {} left no checkpoint to continue from — start it over with `matterstack retry {run} {id}`",
            missing.join(", "),
            dir.display(),
            last.n
        ));
    }
    for dep in &t.spec.depends_on {
        let d = known_task(tx, dep)?;
        let done = d.status == TaskStatus::Completed
            || (d.status == TaskStatus::Failed && d.spec.allow_failure);
        if !done {
            return refuse(format!(
                "task \"{id}\" depends on \"{dep}\", which is {}; finish or retry \"{dep}\" first",
                d.status
            ));
        }
    }
    if let Some(cores) = options.cores {
        let budget = tx.run()?.core_budget;
        if t.spec.operator == "local" && cores > budget {
            return refuse(format!(
                "--cores {cores} exceeds the run's core budget of {budget}; give at most --cores {budget}"
            ));
        }
    }
    Ok(last)
}

/// The effective spec of the restart attempt: the restart command in place
/// of the command, new resources, and the checkpoint fetched back with the
/// declared outputs (so a cluster restart can be restarted again).
/// With `dirs` (the workspace and the task directory), `--set` renders the
/// template again.
fn restart_spec_in(
    spec: &TaskSpec,
    declared: &TaskSpec,
    options: &RestartOptions,
    dirs: Option<(&Path, &Path)>,
) -> Result<TaskSpec> {
    let mut s = options.apply(spec, declared)?;
    if let Some((workspace, task_dir)) = dirs {
        options.render_params(&mut s, workspace, task_dir)?;
    }
    if let Some(c) = &s.restart_command {
        s.command = Some(c.clone());
    }
    for c in &spec.checkpoint {
        if !s.outputs.is_empty() && !s.outputs.contains(c) {
            s.outputs.push(c.clone());
        }
    }
    Ok(s)
}

/// Waits (briefly) until no process of a local attempt's process group is
/// left; fails with a user error when some still runs.
fn wait_for_exit(last: &AttemptRow) -> Result<()> {
    let Some(pgid) = last
        .external_id
        .as_deref()
        .and_then(|p| p.parse::<i32>().ok())
        .filter(|p| *p > 1)
    else {
        return Ok(());
    };
    // SAFETY: signal 0 only checks whether the process group exists.
    let alive = || unsafe { libc::kill(-pgid, 0) } == 0;
    let deadline = Instant::now() + EXIT_WAIT;
    while alive() {
        if Instant::now() >= deadline {
            return Err(Error::Input(format!(
                "the processes of attempt {} of task \"{}\" (process group {pgid}) are still running; wait until they exit (or kill them), then restart",
                last.n, last.task_id
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Brings back (to PENDING) every task downstream of `task` that was
/// skipped because of it; returns their ids.
pub(crate) fn bring_back_dependants(tx: &Tx<'_>, task: &str) -> Result<Vec<String>, TxError> {
    let mut back = Vec::new();
    let mut stack = vec![task.to_string()];
    while let Some(id) = stack.pop() {
        for (dep, status) in tx.dependants(&id)? {
            if status == TaskStatus::Skipped {
                reset(tx, &dep, status)?;
                back.push(dep.clone());
                stack.push(dep);
            }
        }
    }
    Ok(back)
}

/// The lineage of an attempt that is a task's plain first run.
pub(crate) const FIRST_RUN: &str = "run";

/// How each attempt came about, in the order given: `run` (the first),
/// `retry of N` or `restart of N` (N = the attempt it follows).
pub(crate) fn lineage<A: std::borrow::Borrow<AttemptRow>>(attempts: &[A]) -> Vec<String> {
    attempts
        .iter()
        .map(|a| {
            let a = a.borrow();
            let parent = a
                .parent
                .and_then(|p| attempts.iter().map(|b| b.borrow()).find(|b| b.id == p));
            match parent {
                Some(b) if a.kind != FIRST_RUN => {
                    let changed = changed_resources(b.resources.as_deref(), a.resources.as_deref());
                    if changed.is_empty() {
                        format!("{} of {}", a.kind, b.n)
                    } else {
                        format!("{} of {} with {changed}", a.kind, b.n)
                    }
                }
                _ => a.kind.clone(),
            }
        })
        .collect()
}

/// `partition debug, walltime 2h`: what attempt resources `after` asked
/// for differently from `before` (JSON objects as stored; empty when either
/// is unknown).
fn changed_resources(before: Option<&str>, after: Option<&str>) -> String {
    let parse = |s: Option<&str>| {
        s.and_then(|t| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t).ok())
    };
    let (Some(b), Some(a)) = (parse(before), parse(after)) else {
        return String::new();
    };
    let shown = |v: Option<&serde_json::Value>| match v {
        None | Some(serde_json::Value::Null) => "none".to_string(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    let mut changed: Vec<String> = [
        "partition",
        "qos",
        "account",
        "cores",
        "memory",
        "walltime",
        "gres",
        "constraint",
    ]
    .iter()
    .filter(|k| b.get(**k) != a.get(**k))
    .map(|k| format!("{k} {}", shown(a.get(*k))))
    .collect();
    // Template parameters, one by one (`--set basis=def2-svp`).
    let params = |m: &serde_json::Map<String, serde_json::Value>| {
        m.get("params")
            .and_then(|p| p.as_object())
            .cloned()
            .unwrap_or_default()
    };
    let (pb, pa) = (params(&b), params(&a));
    for (k, v) in &pa {
        if pb.get(k) != Some(v) {
            changed.push(format!("{k} {}", shown(Some(v))));
        }
    }
    changed.join(", ")
}

fn display(c: Option<&Command>) -> String {
    match c {
        Some(Command::Shell(s)) => s.clone(),
        Some(Command::Argv(v)) => v.join(" "),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TaskSpec {
        serde_json::from_value(serde_json::json!({
            "id": "md",
            "command": "gmx mdrun -deffnm md",
            "restart_command": "gmx mdrun -deffnm md -cpi md.cpt",
            "checkpoint": ["md.cpt", "md.tpr"],
            "outputs": ["md.gro", "md.cpt"],
            "walltime": "1h",
        }))
        .unwrap()
    }

    #[test]
    fn the_restart_spec_runs_the_restart_command_with_new_resources() {
        let s = restart_spec_in(
            &spec(),
            &spec(),
            &RestartOptions {
                walltime: Some("12h".into()),
                cores: Some(8),
                ..RestartOptions::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(
            s.command,
            Some(Command::Shell("gmx mdrun -deffnm md -cpi md.cpt".into()))
        );
        assert_eq!(s.walltime.as_deref(), Some("12h"));
        assert_eq!(s.cores, 8);
        assert_eq!(s.outputs, ["md.gro", "md.cpt", "md.tpr"]);
        // Without a restart command the task's own command continues (a
        // program that picks up its checkpoint by itself).
        let mut plain = spec();
        plain.restart_command = None;
        plain.outputs.clear();
        let s = restart_spec_in(&plain, &plain, &RestartOptions::default(), None).unwrap();
        assert_eq!(s.command, plain.command);
        assert_eq!(s.walltime.as_deref(), Some("1h"));
        assert!(
            s.outputs.is_empty(),
            "no outputs declared: everything comes back"
        );
    }
}
