//! Cancel and retry.

use serde::Serialize;

use super::overrides::Overrides;
use super::Run;
use crate::engine::{self, RunLock};
use crate::model::{dag::edit_distance, Event, TaskStatus};
use crate::operators::AttemptRef;
use crate::store::{now_ms, Tx, TxError};
use crate::{Error, Result};

/// What `cancel` did to one task.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CancelOutcome {
    /// Task id.
    pub id: String,
    /// Its status before.
    pub was: String,
    /// True if it was cancelled; false if it had already finished.
    pub cancelled: bool,
}

impl Run {
    /// Cancels the named tasks, or every unfinished task when `tasks` is
    /// empty. Running attempts have their process groups killed; dependants
    /// of cancelled tasks become SKIPPED.
    ///
    /// The cancellation is committed before any process is killed, so a
    /// crash in between never turns into a retry. Fails with a user error
    /// (nothing changed) if a named task does not exist.
    pub fn cancel(&mut self, tasks: &[String]) -> Result<Vec<CancelOutcome>> {
        let _lock = RunLock::acquire(&self.dir)?;
        let dir = self.dir.clone();
        let (outcomes, to_kill) = self.store().write(|tx| {
            let ids = if tasks.is_empty() {
                tx.task_ids_with_status(&[
                    TaskStatus::Pending,
                    TaskStatus::Ready,
                    TaskStatus::Running,
                    TaskStatus::WaitingExternal,
                ])?
            } else {
                for id in tasks {
                    known_task(tx, id)?;
                }
                tasks.to_vec()
            };
            let mut outcomes = Vec::new();
            let mut to_kill = Vec::new();
            for id in ids {
                let task = known_task(tx, &id)?;
                if task.status.is_terminal() {
                    outcomes.push(CancelOutcome {
                        id,
                        was: task.status.to_string(),
                        cancelled: false,
                    });
                    continue;
                }
                for a in tx
                    .attempts_of(&id)?
                    .into_iter()
                    .filter(|a| a.status.is_active())
                {
                    tx.update_attempt(
                        a.id,
                        a.status.on(Event::Cancel)?,
                        None,
                        None,
                        Some(now_ms()),
                        None,
                        Some("cancelled by the user"),
                    )?;
                    to_kill.push(a);
                }
                tx.set_task(
                    &id,
                    task.status.on(Event::Cancel)?,
                    None,
                    Some("cancelled by the user"),
                )?;
                tx.event(Some(&id), "cancelled by the user")?;
                engine::block_dependants(tx, &id, &format!("dependency \"{id}\" was cancelled"))?;
                outcomes.push(CancelOutcome {
                    id,
                    was: task.status.to_string(),
                    cancelled: true,
                });
            }
            engine::update_run_state(tx)?;
            Ok((outcomes, to_kill))
        })?;
        for a in &to_kill {
            let op = self.ops.get(&a.operator)?;
            op.cancel(&AttemptRef {
                run_dir: &dir,
                task_id: &a.task_id,
                n: a.n,
                token: &a.token,
                external_id: a.external_id.as_deref(),
                outputs: &[],
            })?;
        }
        Ok(outcomes)
    }

    /// Makes a FAILED, CANCELLED or SKIPPED task run again (a new attempt),
    /// with `changes` applied, together with the tasks downstream that were
    /// skipped because of it. A sweep's name retries every one of its
    /// points that is FAILED, CANCELLED or SKIPPED. Returns the tasks that
    /// will run again.
    ///
    /// Fails with a user error (nothing changed) if the task does not exist,
    /// is not in one of those states, depends on a task that itself failed
    /// (retry that one instead), or a change is invalid.
    pub fn retry(&mut self, task: &str, changes: &Overrides) -> Result<Vec<String>> {
        changes.check()?;
        let _lock = RunLock::acquire(&self.dir)?;
        let run_dir = self.dir.clone();
        self.store().write(|tx| {
            let ids = if tx.task(task)?.is_none() && !tx.sweep_points(task)?.is_empty() {
                let mut failed = Vec::new();
                for p in tx.sweep_points(task)? {
                    if known_task(tx, &p)?.status.is_terminal()
                        && known_task(tx, &p)?.status != TaskStatus::Completed
                    {
                        failed.push(p);
                    }
                }
                if failed.is_empty() {
                    return Err(Error::Input(format!(
                        "sweep \"{task}\" has no FAILED, CANCELLED or SKIPPED point to retry"
                    ))
                    .into());
                }
                failed
            } else {
                vec![task.to_string()]
            };
            let mut again = Vec::new();
            for id in &ids {
                retry_one(tx, &run_dir, id, changes)?;
                again.push(id.clone());
                again.extend(super::restart::bring_back_dependants(tx, id)?);
            }
            engine::update_run_state(tx)?;
            Ok(again)
        })
    }
}

/// Resets one task for a retry (see [`Run::retry`]).
fn retry_one(
    tx: &Tx<'_>,
    run_dir: &std::path::Path,
    task: &str,
    changes: &Overrides,
) -> Result<(), TxError> {
    let t = known_task(tx, task)?;
    if !matches!(
        t.status,
        TaskStatus::Failed | TaskStatus::Cancelled | TaskStatus::Skipped
    ) {
        return Err(Error::Input(format!(
            "task \"{task}\" is {}; only FAILED, CANCELLED or SKIPPED tasks can be retried",
            t.status
        ))
        .into());
    }
    for dep in &t.spec.depends_on {
        let d = known_task(tx, dep)?;
        let blocking = crate::model::state::dependency_blocks(
            d.status,
            d.spec.allow_failure,
            d.status == TaskStatus::Skipped && tx.skip_ok(dep)?,
            t.spec.allow_skipped,
        );
        if blocking {
            return Err(Error::Input(format!(
                "task \"{task}\" depends on \"{dep}\", which is {}; retry \"{dep}\" instead (its dependants follow)",
                d.status
            ))
            .into());
        }
    }
    // Changes apply to the declared spec (upstream values are resolved
    // again when it starts).
    let changed = if changes.is_empty() {
        None
    } else {
        let declared = tx.declared_spec(task)?.unwrap_or_else(|| t.spec.clone());
        let mut spec = changes.apply(&declared, &declared)?;
        let workspace = std::path::PathBuf::from(tx.run()?.workspace);
        changes.render_params(&mut spec, &workspace, &run_dir.join("tasks").join(task))?;
        Some(spec)
    };
    reset(tx, task, t.status)?;
    match &changed {
        Some(spec) => {
            tx.set_resolved(task, Some(spec))?;
            tx.event(
                Some(task),
                &format!("retry requested by the user with {}", changes.describe()),
            )?;
        }
        None => tx.event(Some(task), "retry requested by the user")?,
    }
    Ok(())
}

impl Run {
    /// Pauses the run: no new attempt starts until `resume`; live attempts
    /// go on and are recorded when they end. Returns false if it was
    /// already paused (the first reason is kept).
    pub fn pause(&mut self, reason: Option<&str>) -> Result<bool> {
        let _lock = RunLock::acquire(&self.dir)?;
        self.store().write(|tx| {
            if tx.paused()?.is_some() {
                return Ok(false);
            }
            let why = reason.unwrap_or("paused by the user");
            tx.set_paused(Some(why))?;
            tx.event(None, &format!("paused: {why}"))?;
            crate::engine::update_run_state(tx)?;
            Ok(true)
        })
    }

    /// Resumes a paused run (a run paused by a failing planner asks the
    /// planner again at the next step). Returns the reason it was paused
    /// for, or `None` if it was not paused.
    pub fn resume(&mut self) -> Result<Option<String>> {
        let _lock = RunLock::acquire(&self.dir)?;
        self.store().write(|tx| {
            let was = tx.paused()?;
            if was.is_some() {
                tx.set_paused(None)?;
                tx.event(None, "resumed")?;
                crate::engine::update_run_state(tx)?;
            }
            Ok(was)
        })
    }

    /// Why the run is paused, if it is.
    pub fn paused(&mut self) -> Result<Option<String>> {
        self.store().read(|tx| tx.paused())
    }
}

pub(super) fn reset(tx: &Tx<'_>, id: &str, status: TaskStatus) -> Result<(), TxError> {
    let pending = status.on(Event::Retry)?;
    tx.reset_retries_used(id)?;
    // Upstream values and conditions are resolved afresh.
    tx.set_resolved(id, None)?;
    tx.set_skip_ok(id, false)?;
    let next = if tx.recount_deps(id)? == 0 {
        pending.on(Event::DepsMet)?
    } else {
        pending
    };
    tx.set_task(id, next, None, None)?;
    Ok(())
}

/// The task `id`, or a user error with a "did you mean".
pub(crate) fn known_task(tx: &Tx<'_>, id: &str) -> Result<crate::store::TaskRow, TxError> {
    if let Some(t) = tx.task(id)? {
        return Ok(t);
    }
    let all = tx.task_summaries()?;
    let best = all
        .iter()
        .map(|t| (edit_distance(&t.id, id), &t.id))
        .filter(|(d, _)| *d <= 2)
        .min();
    let hint = match best {
        Some((_, k)) => format!("; did you mean \"{k}\"?"),
        None => "; `matterstack status` lists the tasks".to_string(),
    };
    Err(Error::Input(format!("no task \"{id}\" in this run{hint}")).into())
}
