//! One tick of the engine: poll → reconcile → schedule → launch → record.
//!
//! A tick holds nothing in memory afterwards: everything it decides is in
//! the store before it acts (GUIDE §4 invariants 1 and 2):
//!
//! 1. In one IMMEDIATE transaction it polls every live attempt, applies what
//!    it saw (exits, losses, walltime overruns), picks READY tasks that fit
//!    the core budget and records a CREATED attempt with a fresh token for
//!    each. Commit.
//! 2. It launches those attempts, plus any CREATED attempt that an earlier,
//!    interrupted tick recorded but never started (the wrapper's O_EXCL claim
//!    makes a double launch harmless).
//! 3. In a second transaction it records the pids.
//!
//! Killed between 1 and 2, the next tick finds CREATED attempts with no
//! claim and launches them; killed between 2 and 3, it finds their claims
//! and adopts them. Either way each attempt's command runs at most once.

mod chain;
mod lock;
mod resolve;
mod schedule;

use schedule::{await_external, note_submissions, schedule};
pub use schedule::{clock, SUBMIT_BACKOFF};

pub use lock::RunLock;

use std::path::Path;

use crate::model::{resources, AttemptStatus, Event, SchedulerPhase, TaskSpec, TaskStatus};
use crate::operators::{AttemptRef, Launched, Observation, Operators};
use crate::store::{now_ms, AttemptRow, Store, Tx, TxError};
use crate::{Error, Result};

/// The overall state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Some task is pending, ready or running.
    Running,
    /// Every task completed or was allowed to fail.
    Completed,
    /// Every task is finished and at least one failed, was cancelled or skipped.
    Failed,
    /// Nothing can go on until a person answers (human/manual tasks).
    Waiting,
    /// Paused by the user or by a failing planner: no new attempts start;
    /// live ones are still recorded when they end.
    Paused,
}

impl RunState {
    /// The upper-case name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "RUNNING",
            RunState::Completed => "COMPLETED",
            RunState::Failed => "FAILED",
            RunState::Waiting => "WAITING_EXTERNAL",
            RunState::Paused => "PAUSED",
        }
    }

    /// The state named by [`RunState::as_str`].
    ///
    /// `None` for any other text.
    pub fn parse(s: &str) -> Option<RunState> {
        [
            RunState::Running,
            RunState::Completed,
            RunState::Failed,
            RunState::Waiting,
            RunState::Paused,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }

    /// True while the run can go on by itself (not finished, paused or
    /// waiting for a person).
    pub fn is_moving(self) -> bool {
        self == RunState::Running
    }
}

impl serde::Serialize for RunState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What one tick did.
#[derive(Debug, Default)]
pub struct TickReport {
    /// Attempts that finished (any outcome) in this tick.
    pub finished: usize,
    /// Attempts launched (new or recovered).
    pub launched: usize,
    /// Attempts adopted (found started by an earlier, interrupted process).
    pub adopted: usize,
    /// Launches put off to the next tick (cluster unreachable).
    pub postponed: usize,
    /// Problems reaching operators this tick (one line per operator).
    pub warnings: Vec<String>,
    /// Children spawned by this process (so `run` can wake on their exit).
    pub children: Vec<std::process::Child>,
    /// The run's state after the tick.
    pub state: Option<RunState>,
    /// Tasks a campaign's planner added in this step.
    pub planned: Vec<String>,
}

impl TickReport {
    /// The run's state after the tick.
    pub fn run_state(&self) -> RunState {
        self.state.unwrap_or(RunState::Running)
    }
}

struct ToLaunch {
    attempt_id: i64,
    task_id: String,
    n: u32,
    token: String,
    spec: TaskSpec,
}

/// Runs one tick on the run in `run_dir`. The caller must hold the run's
/// [`RunLock`].
///
/// Fails only on store or filesystem errors; a task whose process cannot be
/// started is recorded as a failed attempt, not returned as an error.
pub fn tick(store: &mut Store, run_dir: &Path, ops: &Operators) -> Result<TickReport> {
    tick_limited(store, run_dir, ops, &Limits::default())
}

/// Limits a tick gets from outside its run (runs driven together by
/// `app::submit`).
#[derive(Debug, Clone, Default)]
pub struct Limits {
    /// Start at most this many new attempts (a share of a global limit on
    /// jobs in flight).
    pub max_new: Option<usize>,
    /// Jobs other runs have in flight, per operator key: they count
    /// against each cluster's `max_jobs` too.
    pub elsewhere: std::collections::BTreeMap<String, u32>,
}

/// [`tick`], within `limits`.
pub fn tick_limited(
    store: &mut Store,
    run_dir: &Path,
    ops: &Operators,
    limits: &Limits,
) -> Result<TickReport> {
    let mut report = TickReport::default();
    crate::transport::log::record("engine", "tick");
    let (to_launch, state) = store.write(|tx| {
        let held = tx.backoffs(now_ms())?;
        let mut to_launch = reconcile(tx, run_dir, ops, &mut report)?;
        if tx.paused()?.is_none() {
            to_launch.extend(schedule(tx, run_dir, ops, limits, &held)?);
        }
        // Submissions to an operator that keeps failing wait out its delay
        // (their attempts stay CREATED, reconciled by token first later).
        let before = to_launch.len();
        to_launch.retain(|l| !held.contains_key(&Operators::key_for(&l.spec)));
        report.postponed += before - to_launch.len();
        for (key, (failures, until, error)) in &held {
            report.warnings.push(format!(
                "{key}: submissions back off until {} after {failures} failure(s): {error}",
                clock(*until)
            ));
        }
        let state = if to_launch.is_empty() {
            Some(update_run_state(tx)?)
        } else {
            None
        };
        Ok((to_launch, state))
    })?;
    report.state = state;
    if to_launch.is_empty() {
        log_tick(run_dir, &report);
        return Ok(report);
    }
    // One launch_many per operator (SLURM sends a sweep's points as one job
    // array); the results keep to_launch's order.
    let mut slots: Vec<Option<Result<Launched>>> = to_launch.iter().map(|_| None).collect();
    let mut by_op: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
    for (i, l) in to_launch.iter().enumerate() {
        match stage_upstream_files(run_dir, &l.task_id, &l.spec) {
            Ok(()) => by_op
                .entry(Operators::key_for(&l.spec))
                .or_default()
                .push(i),
            Err(e) => slots[i] = Some(Err(e)),
        }
    }
    for (key, idx) in by_op {
        let batch: Vec<(AttemptRef<'_>, &TaskSpec)> = idx
            .iter()
            .map(|&i| {
                let l = &to_launch[i];
                let a = AttemptRef {
                    run_dir,
                    task_id: &l.task_id,
                    n: l.n,
                    token: &l.token,
                    external_id: None,
                    outputs: &l.spec.outputs,
                };
                (a, &l.spec)
            })
            .collect();
        let launched = match ops.get(&key) {
            Ok(op) => op.launch_many(&batch),
            Err(e) => {
                let reason = e.to_string();
                batch
                    .iter()
                    .map(|_| Err(Error::Input(reason.clone())))
                    .collect()
            }
        };
        for (i, r) in idx.into_iter().zip(launched) {
            slots[i] = Some(r);
        }
    }
    let mut results: Vec<Result<Launched>> = slots
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(Error::Scheduler(
                    "the operator gave no launch result".into(),
                ))
            })
        })
        .collect();
    report.launched = to_launch.len();
    if std::env::var_os(crate::env_vars::MATTERSTACK_TEST_CRASH_AFTER_LAUNCH).is_some() {
        // Fault injection for the crash tests: die after the external
        // effect, before recording it.
        std::process::abort();
    }
    let state = store.write(|tx| {
        note_submissions(tx, &to_launch, &results)?;
        for (l, r) in to_launch.iter().zip(results.iter_mut()) {
            match r {
                Ok(Launched { external_id, child }) => {
                    // A batch job waits in the queue until it is seen running
                    // (recorded first, so the change feed says QUEUED, not
                    // RUNNING then QUEUED).
                    if ops
                        .get(&Operators::key_for(&l.spec))
                        .is_ok_and(|op| op.has_queue())
                    {
                        tx.set_sched_phase(l.attempt_id, SchedulerPhase::Queued, None, now_ms())?;
                    }
                    tx.update_attempt(
                        l.attempt_id,
                        AttemptStatus::Created.on(Event::Started)?,
                        Some(external_id),
                        Some(now_ms()),
                        None,
                        None,
                        None,
                    )?;
                    if crate::model::spec::EXTERNAL_OPERATORS.contains(&l.spec.operator.as_str()) {
                        await_external(tx, &l.task_id)?;
                    }
                    report.children.extend(child.take());
                }
                Err(e) if e.is_transient() => {
                    // Left CREATED: the next tick reconciles by token first.
                    tx.event(Some(&l.task_id), &format!("launch postponed: {e}"))?;
                    report.postponed += 1;
                }
                Err(e) => {
                    let reason = format!("could not start: {e}");
                    finish(
                        tx,
                        l.attempt_id,
                        &l.task_id,
                        Outcome::Failed(None, reason),
                        None,
                        None,
                    )?;
                    report.finished += 1;
                }
            }
        }
        update_run_state(tx)
    })?;
    report.state = Some(state);
    log_tick(run_dir, &report);
    Ok(report)
}

fn log_tick(run_dir: &Path, report: &TickReport) {
    tracing::debug!(
        target: "matterstack::engine",
        run = %run_dir.display(),
        launched = report.launched,
        finished = report.finished,
        adopted = report.adopted,
        postponed = report.postponed,
        state = report.run_state().as_str(),
        "tick"
    );
    for w in &report.warnings {
        tracing::warn!(target: "matterstack::engine", run = %run_dir.display(), "{w}");
    }
}

/// Polls live attempts and applies what was seen; returns CREATED attempts
/// that were never started and must be launched.
fn reconcile(
    tx: &Tx<'_>,
    run_dir: &Path,
    ops: &Operators,
    report: &mut TickReport,
) -> Result<Vec<ToLaunch>, TxError> {
    let active = tx.active_attempts()?;
    let mut relaunch = Vec::new();
    // Group by operator so each operator polls its attempts in one batch.
    let mut by_op: std::collections::BTreeMap<String, Vec<&AttemptRow>> = Default::default();
    for a in &active {
        by_op.entry(a.operator.clone()).or_default().push(a);
    }
    for (name, rows) in by_op {
        let op = match ops.get(&name) {
            Ok(op) => op,
            Err(e) if e.is_transient() => {
                report.warnings.push(format!("{name}: {e}"));
                continue;
            }
            Err(e) => {
                for a in rows {
                    let reason = format!("{e}");
                    fail(tx, a.id, &a.task_id, reason)?;
                }
                continue;
            }
        };
        let outputs = rows
            .iter()
            .map(|a| {
                Ok(tx
                    .task(&a.task_id)?
                    .map(|t| t.spec.outputs)
                    .unwrap_or_default())
            })
            .collect::<Result<Vec<_>, TxError>>()?;
        let refs: Vec<AttemptRef<'_>> = rows
            .iter()
            .zip(&outputs)
            .map(|(a, outputs)| AttemptRef {
                outputs,
                run_dir,
                task_id: &a.task_id,
                n: a.n,
                token: &a.token,
                external_id: a.external_id.as_deref(),
            })
            .collect();
        let seen = op.poll(&refs);
        for ((a, r), obs) in rows.iter().zip(&refs).zip(seen) {
            match obs {
                Observation::NotStarted => {
                    // Recorded (perhaps even spawned) but no wrapper claimed
                    // it: the command has not run, so launching is safe.
                    let task = tx.task(&a.task_id)?.ok_or_else(|| {
                        Error::Corrupt(format!("attempt of unknown task {}", a.task_id))
                    })?;
                    let mut spec = task.spec;
                    if tx.remaining_deps(&a.task_id)? > 0 {
                        // Submitted ahead of its dependencies: wait for their
                        // jobs as they are now, or not yet at all.
                        match chain::upstream_jobs(tx, &spec, &name)? {
                            Some(after) => spec.after = after,
                            None => continue,
                        }
                    }
                    relaunch.push(ToLaunch {
                        attempt_id: a.id,
                        task_id: a.task_id.clone(),
                        n: a.n,
                        token: a.token.clone(),
                        spec,
                    });
                }
                Observation::Queued {
                    external_id,
                    reason,
                } => {
                    adopt(tx, a, external_id.as_deref(), None, &mut report.adopted)?;
                    if a.sched_phase != Some(SchedulerPhase::Queued) || a.queue_reason != reason {
                        tx.set_sched_phase(
                            a.id,
                            SchedulerPhase::Queued,
                            reason.as_deref(),
                            now_ms(),
                        )?;
                        let id = external_id
                            .as_deref()
                            .or(a.external_id.as_deref())
                            .unwrap_or("?");
                        let why = reason.as_deref().unwrap_or("no reason given");
                        let never = if reason
                            .as_deref()
                            .is_some_and(matterstack_schedulers::never_starts)
                        {
                            " — it will not start as submitted"
                        } else {
                            ""
                        };
                        tx.event(
                            Some(&a.task_id),
                            &format!("attempt {}: job {id} queued ({why}){never}", a.n),
                        )?;
                    }
                }
                Observation::Running {
                    external_id,
                    started_at,
                } => {
                    if op.has_queue() && a.sched_phase != Some(SchedulerPhase::Running) {
                        // A batch scheduler's job seen holding its allocation.
                        tx.set_sched_phase(
                            a.id,
                            SchedulerPhase::Running,
                            None,
                            started_at.unwrap_or_else(now_ms),
                        )?;
                        let id = external_id
                            .as_deref()
                            .or(a.external_id.as_deref())
                            .unwrap_or("?");
                        tx.event(
                            Some(&a.task_id),
                            &format!("attempt {}: job {id} running", a.n),
                        )?;
                    }
                    adopt(
                        tx,
                        a,
                        external_id.as_deref(),
                        started_at,
                        &mut report.adopted,
                    )?;
                    let start = started_at.or(a.started_at);
                    let overrun = if op.enforces_walltime() {
                        None
                    } else {
                        walltime_exceeded(tx, &a.task_id, start)?
                    };
                    if let Some(limit) = overrun {
                        op.cancel(r)?;
                        let reason = format!(
                            "TIMEOUT: ran longer than its walltime {}",
                            resources::format_walltime(limit)
                        );
                        fail(tx, a.id, &a.task_id, reason)?;
                        report.finished += 1;
                    }
                }
                Observation::Exited {
                    code,
                    started_at,
                    ended_at,
                } => {
                    let parser_error = harvest(tx, run_dir, &a.task_id, code)?;
                    let outcome = match (code, parser_error) {
                        (0, None) => Outcome::Succeeded,
                        (0, Some(e)) => Outcome::Failed(Some(0), e),
                        // What the program said beats its exit code.
                        (_, Some(e)) => {
                            Outcome::Failed(Some(code), format!("{e} (exit code {code})"))
                        }
                        _ => Outcome::Failed(Some(code), format!("exit code {code}")),
                    };
                    finish(tx, a.id, &a.task_id, outcome, started_at, ended_at)?;
                    report.finished += 1;
                }
                Observation::Unknown { reason } => {
                    if !report
                        .warnings
                        .iter()
                        .any(|w| w.starts_with(&format!("{name}:")))
                    {
                        report.warnings.push(format!("{name}: {reason}"));
                    }
                }
                Observation::Ended {
                    code,
                    reason,
                    ended_at,
                } => {
                    let outcome = if is_infrastructure_failure(&reason) {
                        Outcome::Transient(code, reason)
                    } else {
                        Outcome::Failed(code, reason)
                    };
                    finish(tx, a.id, &a.task_id, outcome, None, ended_at)?;
                    report.finished += 1;
                }
                Observation::Lost { reason } => {
                    // A job a scheduler lost is an infrastructure failure;
                    // a local process that vanished is not retried by policy.
                    let outcome = if name.contains('@') {
                        Outcome::Transient(None, reason)
                    } else {
                        Outcome::Failed(None, reason)
                    };
                    finish(tx, a.id, &a.task_id, outcome, None, None)?;
                    report.finished += 1;
                }
            }
        }
    }
    chain::cancel_doomed(tx, run_dir, ops, &mut report.warnings)?;
    Ok(relaunch)
}

/// A CREATED attempt that its operator reports as started (queued or
/// running) after a crash between launch and record: adopted, not launched
/// again. Counts it in `adopted`.
fn adopt(
    tx: &Tx<'_>,
    a: &AttemptRow,
    external_id: Option<&str>,
    started_at: Option<i64>,
    adopted: &mut usize,
) -> Result<(), TxError> {
    if a.status != AttemptStatus::Created || external_id.is_none() {
        return Ok(());
    }
    tx.update_attempt(
        a.id,
        a.status.on(Event::Started)?,
        external_id,
        started_at,
        None,
        None,
        None,
    )?;
    tx.event(
        Some(&a.task_id),
        &format!("adopted attempt {} after a restart", a.n),
    )?;
    *adopted += 1;
    Ok(())
}

/// Copies the files a task takes from upstream tasks (`files_from`) into
/// its directory, before it is launched (remote operators then upload the
/// whole task directory). Fails when an upstream file is missing.
fn stage_upstream_files(run_dir: &Path, task_id: &str, spec: &TaskSpec) -> Result<()> {
    if spec.files_from.is_empty() {
        return Ok(());
    }
    let dir = run_dir.join("tasks").join(task_id);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    for (up, files) in &spec.files_from {
        if spec.after.iter().any(|a| &a.task == up) {
            // Still running on the cluster: the job copies them there.
            continue;
        }
        for f in files {
            let up_dir = run_dir.join("tasks").join(up);
            let name = std::path::Path::new(f).file_name().unwrap_or_default();
            let src = crate::files::regular_file_in(&up_dir, f).map_err(|m| {
                Error::Input(format!(
                    "files_from: task \"{up}\" did not produce {f} as a regular file inside its directory: {m}"
                ))
            })?;
            crate::files::copy_file(&src, &dir.join(name))?;
        }
    }
    Ok(())
}

/// Runs the task's output parser (if any) on its output file and records
/// the parsed results. Returns the error the program reported (a task whose
/// program reports an error fails even when it exits 0), or that the output
/// file is missing after a successful exit.
fn harvest(
    tx: &Tx<'_>,
    run_dir: &Path,
    task_id: &str,
    code: i32,
) -> Result<Option<String>, TxError> {
    let Some(task) = tx.task(task_id)? else {
        return Ok(None);
    };
    let (Some(parser), Some(output)) = (task.spec.parser.as_deref(), task.spec.output.as_deref())
    else {
        return harvest_results_file(tx, run_dir, task_id, code);
    };
    let path = run_dir.join("tasks").join(task_id).join(output);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(
            (code == 0).then(|| format!("{parser}: the output file {output} was not produced"))
        );
    };
    let Some(parsed) = matterstack_templates::parse_output(parser, &text) else {
        return Ok(None);
    };
    let json = serde_json::to_string(&parsed).map_err(|e| Error::Corrupt(e.to_string()))?;
    tx.set_results(task_id, &json)?;
    Ok(parsed
        .error
        .map(|e| format!("{parser} reported an error: {e}")))
}

/// A task without a parser may report results itself: a JSON object in
/// `results.json` in its directory (a human's response data lands there
/// too). A file that is not a JSON object fails a successful attempt.
fn harvest_results_file(
    tx: &Tx<'_>,
    run_dir: &Path,
    task_id: &str,
    code: i32,
) -> Result<Option<String>, TxError> {
    let path = run_dir.join("tasks").join(task_id).join(RESULTS_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v @ serde_json::Value::Object(_)) => {
            tx.set_results(task_id, &v.to_string())?;
            Ok(None)
        }
        Ok(_) | Err(_) if code != 0 => Ok(None),
        Ok(_) => Ok(Some(format!("{RESULTS_FILE} is not a JSON object"))),
        Err(e) => Ok(Some(format!("{RESULTS_FILE} is not valid JSON: {e}"))),
    }
}

pub use crate::operators::RESULTS_FILE;

fn walltime_exceeded(
    tx: &Tx<'_>,
    task_id: &str,
    started_at: Option<i64>,
) -> Result<Option<u64>, TxError> {
    let Some(start) = started_at else {
        return Ok(None);
    };
    let Some(task) = tx.task(task_id)? else {
        return Ok(None);
    };
    Ok(task
        .spec
        .walltime_secs()
        .filter(|limit| now_ms() - start > (*limit as i64) * 1000))
}

/// How an attempt ended.
pub(crate) enum Outcome {
    Succeeded,
    /// Exit code (if any) and reason.
    Failed(Option<i32>, String),
    /// An infrastructure failure (node failure, preemption, a job lost by
    /// the scheduler): retried under the task's `transient_retries` before
    /// its ordinary `retries` are touched.
    Transient(Option<i32>, String),
}

/// The default number of automatic retries after infrastructure failures.
pub const DEFAULT_TRANSIENT_RETRIES: u32 = 3;

/// True for a scheduler's reason that names an infrastructure failure
/// (the labels of `schedulers::FailureKind` that are transient).
pub fn is_infrastructure_failure(reason: &str) -> bool {
    ["NODE_FAIL", "PREEMPTED", "BOOT_FAIL"]
        .iter()
        .any(|l| reason.starts_with(l))
}

/// Applies the end of an attempt to the attempt, its task and the task's
/// dependants.
fn finish(
    tx: &Tx<'_>,
    attempt_id: i64,
    task_id: &str,
    outcome: Outcome,
    started_at: Option<i64>,
    ended_at: Option<i64>,
) -> Result<(), TxError> {
    let task = tx
        .task(task_id)?
        .ok_or_else(|| Error::Corrupt(format!("attempt of unknown task {task_id}")))?;
    let ended_at = ended_at.or(Some(now_ms()));
    let (attempt_event, code, reason) = match &outcome {
        Outcome::Succeeded => (Event::Succeeded, Some(0), None),
        Outcome::Failed(code, reason) | Outcome::Transient(code, reason) => {
            (Event::Failed { retry: false }, *code, Some(reason.as_str()))
        }
    };
    tx.update_attempt(
        attempt_id,
        AttemptStatus::Running.on(attempt_event)?,
        None,
        started_at,
        ended_at,
        code,
        reason,
    )?;
    if !task.status.is_live() {
        // The task was cancelled meanwhile; the attempt's end changes nothing.
        return Ok(());
    }
    let outcome = match outcome {
        Outcome::Transient(code, reason) => {
            let limit = task
                .spec
                .transient_retries
                .unwrap_or(DEFAULT_TRANSIENT_RETRIES);
            if tx.transient_used(task_id)? < limit {
                let used = tx.bump_transient_used(task_id)?;
                let why = format!(
                    "resubmitting after an infrastructure failure ({used} of {limit}): {reason}"
                );
                tx.set_task(
                    task_id,
                    task.status.on(Event::Failed { retry: true })?,
                    code,
                    Some(&why),
                )?;
                tx.event(Some(task_id), &why)?;
                return Ok(());
            }
            Outcome::Failed(code, reason)
        }
        other => other,
    };
    match outcome {
        Outcome::Succeeded => {
            tx.set_task(task_id, task.status.on(Event::Succeeded)?, Some(0), None)?;
            release_dependants(tx, task_id)?;
        }
        Outcome::Failed(code, reason) => {
            let retry = task.retries_used < task.spec.retries;
            let next = task.status.on(Event::Failed { retry })?;
            if retry {
                tx.bump_retries_used(task_id)?;
                let why = format!("retrying after: {reason}");
                tx.set_task(task_id, next, code, Some(&why))?;
                tx.event(Some(task_id), &why)?;
            } else {
                tx.set_task(task_id, next, code, Some(&reason))?;
                tx.event(Some(task_id), &format!("failed: {reason}"))?;
                if task.spec.allow_failure {
                    release_dependants(tx, task_id)?;
                } else {
                    block_dependants(tx, task_id, &format!("dependency \"{task_id}\" failed"))?;
                }
            }
        }
        Outcome::Transient(..) => {}
    }
    Ok(())
}

fn release_dependants(tx: &Tx<'_>, task_id: &str) -> Result<(), TxError> {
    for id in tx.satisfy_dependants(task_id)? {
        tx.set_task(&id, TaskStatus::Pending.on(Event::DepsMet)?, None, None)?;
    }
    Ok(())
}

/// Fails an attempt that produced no exit code, with `reason`.
fn fail(tx: &Tx<'_>, attempt_id: i64, task_id: &str, reason: String) -> Result<(), TxError> {
    finish(
        tx,
        attempt_id,
        task_id,
        Outcome::Failed(None, reason),
        None,
        None,
    )
}

/// Marks every PENDING task downstream of `task_id` SKIPPED, with `reason`.
pub(crate) fn block_dependants(tx: &Tx<'_>, task_id: &str, reason: &str) -> Result<(), TxError> {
    let mut stack = vec![task_id.to_string()];
    while let Some(id) = stack.pop() {
        for (dep, status) in tx.dependants(&id)? {
            if status == TaskStatus::Pending {
                tx.set_task(&dep, status.on(Event::DepBlocked)?, None, Some(reason))?;
                stack.push(dep);
            }
        }
    }
    Ok(())
}

/// Derives the run's state from its tasks and stores it.
pub(crate) fn update_run_state(tx: &Tx<'_>) -> Result<RunState, TxError> {
    let state = if tx.has_unfinished()? {
        // Paused once nothing runs any more (live attempts are still
        // followed to their end).
        if tx.paused()?.is_some() && !tx.has_running()? {
            RunState::Paused
        } else if tx.only_waiting_external()? {
            RunState::Waiting
        } else {
            RunState::Running
        }
    } else if tx.paused()?.is_some() {
        RunState::Paused
    } else if tx.planner_pending()? {
        // Every task is finished but the campaign's planner has not said
        // done: the next step asks it.
        RunState::Running
    } else if tx.has_unsuccessful()? {
        RunState::Failed
    } else {
        RunState::Completed
    };
    tx.set_run_status(state.as_str())?;
    Ok(state)
}

#[cfg(test)]
mod tests;
