//! Chains on one SLURM cluster: a pending task whose dependencies are
//! live jobs on the same cluster is submitted at once with
//! `--dependency=afterok:<their ids>`, so SLURM starts it the moment they
//! succeed — the chain advances without waiting for a `step`. Files it takes
//! from them (`files_from`) are copied on the cluster, from their project
//! directories, when it starts.
//!
//! A held job whose dependency fails (or is cancelled, or skipped) is
//! cancelled with the scheduler and its task SKIPPED at the next tick.
//!
//! Only tasks that need nothing resolved locally are chained (no `when`, no
//! `{{ tasks… }}` references), and only behind upstreams without an output
//! parser, whose success is their exit code — the one thing SLURM's
//! `afterok` sees.

use std::path::Path;

use crate::model::spec::AfterJob;
use crate::model::{refs, AttemptStatus, Event, TaskSpec, TaskStatus};
use crate::operators::{AttemptRef, Operators};
use crate::store::{Tx, TxError};

/// The live upstream jobs `spec` (bound for `key`) can wait for, or `None`
/// when it cannot be chained now.
pub(super) fn upstream_jobs(
    tx: &Tx<'_>,
    spec: &TaskSpec,
    key: &str,
) -> Result<Option<Vec<AfterJob>>, TxError> {
    if !key.starts_with("slurm@") || refs::needs_resolution(spec) {
        return Ok(None);
    }
    let mut after = Vec::new();
    for dep in &spec.depends_on {
        let Some(up) = tx.task(dep)? else {
            return Ok(None);
        };
        match up.status {
            TaskStatus::Completed => {}
            TaskStatus::Failed if up.spec.allow_failure => {}
            TaskStatus::Running
                if up.spec.operator_key() == key
                    && up.spec.parser.is_none()
                    && !up.spec.allow_failure =>
            {
                let Some(a) = tx.last_attempt(dep)? else {
                    return Ok(None);
                };
                let Some(job_id) = a.external_id.filter(|_| a.status == AttemptStatus::Running)
                else {
                    return Ok(None);
                };
                after.push(AfterJob {
                    job_id,
                    task: dep.clone(),
                    attempt: a.n,
                    files: spec.files_from.get(dep).cloned().unwrap_or_default(),
                });
            }
            _ => return Ok(None),
        }
    }
    Ok((!after.is_empty()).then_some(after))
}

/// Cancels held jobs whose dependency can no longer succeed and skips
/// their tasks (and what depends on them). A cancellation that fails
/// transiently is tried again next tick.
pub(super) fn cancel_doomed(
    tx: &Tx<'_>,
    run_dir: &Path,
    ops: &Operators,
    warnings: &mut Vec<String>,
) -> Result<(), TxError> {
    for (id, dep) in tx.held_with_failed_dependency()? {
        let Some(task) = tx.task(&id)? else { continue };
        let Some(a) = tx.last_attempt(&id)? else {
            continue;
        };
        if a.status.is_active() {
            let key = task.spec.operator_key();
            let r = AttemptRef {
                run_dir,
                task_id: &id,
                n: a.n,
                token: &a.token,
                external_id: a.external_id.as_deref(),
                outputs: &task.spec.outputs,
            };
            if let Err(e) = ops.get(&key).and_then(|op| op.cancel(&r)) {
                warnings.push(format!("{key}: cannot cancel the held job of {id}: {e}"));
                continue;
            }
            let reason =
                format!("dependency \"{dep}\" did not succeed; its held job was cancelled");
            tx.update_attempt(
                a.id,
                a.status.on(Event::Cancel)?,
                None,
                None,
                Some(crate::store::now_ms()),
                None,
                Some(&reason),
            )?;
        }
        let reason = format!("dependency \"{dep}\" did not succeed");
        tx.set_task(&id, task.status.on(Event::DepBlocked)?, None, Some(&reason))?;
        tx.event(
            Some(&id),
            &format!("skipped: {reason}; its held job was cancelled"),
        )?;
        super::block_dependants(tx, &id, &format!("dependency \"{id}\" was skipped"))?;
    }
    Ok(())
}
