//! Scheduling: which ready (or chainable) tasks get an attempt this tick,
//! within the core budget, each cluster's `max_jobs`, limits from outside
//! the run and submission back-off; and what happens to a task that cannot
//! start (its `when` is false, a value it needs is missing).

use std::path::Path;

use super::{chain, finish, resolve, Limits, Outcome, ToLaunch};
use crate::model::{Event, TaskStatus};
use crate::operators::{Capacity, Launched, Operators};
use crate::store::{now_ms, Tx, TxError};
use crate::Result;

/// Records CREATED attempts for READY tasks that fit: local tasks within the
/// core budget, cluster tasks within each cluster's `max_jobs`.
pub(super) fn schedule(
    tx: &Tx<'_>,
    run_dir: &Path,
    ops: &Operators,
    limits: &Limits,
    held: &std::collections::BTreeMap<String, (u32, i64, String)>,
) -> Result<Vec<ToLaunch>, TxError> {
    let max_new = limits.max_new;
    let budget = tx.run()?.core_budget;
    let mut free_cores = budget.saturating_sub(tx.cores_in_use("local")?);
    let mut free_jobs: std::collections::HashMap<String, u32> = Default::default();
    let mut out = Vec::new();
    // Look further than the free cores: cluster tasks do not use them.
    // What does not fit is skipped on (id, cores, operator) alone; only the
    // tasks that start are read in full.
    for (id, cores, key) in tx.ready_tasks(free_cores as usize * 4 + 256)? {
        if max_new.is_some_and(|m| out.len() >= m) {
            break;
        }
        if held.contains_key(&key) {
            continue;
        }
        let capacity = match ops.get(&key) {
            Ok(op) => op.capacity(),
            Err(e) => {
                // An operator this run cannot use: fail the task now.
                fail_unstarted(tx, &id, &key, e.to_string())?;
                continue;
            }
        };
        match capacity {
            Capacity::Cores => {
                if cores > free_cores {
                    continue;
                }
                free_cores -= cores;
            }
            Capacity::Jobs(max) => {
                let free = match free_jobs.get_mut(&key) {
                    Some(f) => f,
                    None => {
                        let used = tx.active_count(&key)?
                            + limits.elsewhere.get(&key).copied().unwrap_or(0);
                        free_jobs
                            .entry(key.clone())
                            .or_insert(max.saturating_sub(used))
                    }
                };
                if *free == 0 {
                    continue;
                }
                *free -= 1;
            }
        }
        let Some(task) = tx.task(&id)? else { continue };
        let spec = match resolve::resolve(tx, run_dir, &id, task.spec.clone())? {
            resolve::Resolution::Run(spec) => *spec,
            other => {
                // Give the reserved capacity back.
                match capacity {
                    Capacity::Cores => free_cores += cores,
                    Capacity::Jobs(_) => {
                        if let Some(f) = free_jobs.get_mut(&key) {
                            *f += 1;
                        }
                    }
                }
                match other {
                    resolve::Resolution::Skip(reason) => {
                        skip_by_condition(tx, &id, task.status, &reason)?
                    }
                    resolve::Resolution::Fail(reason) => fail_unstarted(tx, &id, &key, reason)?,
                    resolve::Resolution::Run(_) => {}
                }
                continue;
            }
        };
        let n = task.attempts + 1;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let attempt_id = tx.insert_attempt(&id, n, &token, &key, None)?;
        tx.set_task(&id, task.status.on(Event::Launched)?, None, None)?;
        out.push(ToLaunch {
            attempt_id,
            task_id: id,
            n,
            token,
            spec,
        });
    }
    // Chains on one SLURM cluster: submit pending tasks behind their live
    // upstream jobs (`afterok`), within the cluster's max_jobs.
    for (id, key) in tx.chain_candidates(256)? {
        if max_new.is_some_and(|m| out.len() >= m) {
            break;
        }
        if held.contains_key(&key) {
            continue;
        }
        let Some(task) = tx.task(&id)? else { continue };
        let Some(after) = chain::upstream_jobs(tx, &task.spec, &key)? else {
            continue;
        };
        let Ok(Capacity::Jobs(max)) = ops.get(&key).map(|op| op.capacity()) else {
            continue;
        };
        let free = match free_jobs.get_mut(&key) {
            Some(f) => f,
            None => {
                let used =
                    tx.active_count(&key)? + limits.elsewhere.get(&key).copied().unwrap_or(0);
                free_jobs
                    .entry(key.clone())
                    .or_insert(max.saturating_sub(used))
            }
        };
        if *free == 0 {
            continue;
        }
        *free -= 1;
        let n = task.attempts + 1;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let attempt_id = tx.insert_attempt(&id, n, &token, &key, None)?;
        tx.set_task(&id, task.status.on(Event::ChainLaunched)?, None, None)?;
        tx.event(
            Some(&id),
            &format!(
                "submitted ahead of {}: held by the scheduler until they succeed",
                after
                    .iter()
                    .map(|a| format!("{} (job {})", a.task, a.job_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )?;
        let mut spec = task.spec;
        spec.after = after;
        out.push(ToLaunch {
            attempt_id,
            task_id: id,
            n,
            token,
            spec,
        });
    }
    Ok(out)
}

/// `HH:MM:SS` (UTC) of a time in ms since the epoch.
pub fn clock(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%H:%M:%S UTC").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// How submissions back off after transient failures: 5 s, doubling, at
/// most 10 minutes, full jitter — growing across steps, because the delay
/// is kept in the store.
pub const SUBMIT_BACKOFF: matterstack_schedulers::politeness::Backoff =
    matterstack_schedulers::politeness::Backoff {
        base: std::time::Duration::from_secs(5),
        max: std::time::Duration::from_secs(600),
        factor: 2.0,
    };

/// Per operator: a transient launch failure extends its back-off (once per
/// tick); a launch that went through clears it.
pub(super) fn note_submissions(
    tx: &Tx<'_>,
    to_launch: &[ToLaunch],
    results: &[Result<Launched>],
) -> Result<(), TxError> {
    let mut seen: std::collections::BTreeMap<String, Option<String>> = Default::default();
    for (l, r) in to_launch.iter().zip(results) {
        let key = Operators::key_for(&l.spec);
        match r {
            Ok(_) => {
                seen.insert(key, None);
            }
            Err(e) if e.is_transient() => {
                seen.entry(key).or_insert_with(|| Some(e.to_string()));
            }
            Err(_) => {}
        }
    }
    for (key, failure) in seen {
        match failure {
            None => tx.clear_backoff(&key)?,
            Some(error) => {
                let failures = tx.backoff_failures(&key)?;
                let random01 = (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1e6;
                // Full jitter, but never less than half the ceiling: the
                // delay must visibly grow.
                let ceiling = SUBMIT_BACKOFF.ceiling(failures);
                let delay = ceiling.mul_f64(0.5 + 0.5 * random01);
                let until = now_ms() + delay.as_millis() as i64;
                tx.note_backoff(&key, until, &error)?;
                tx.event(
                    None,
                    &format!(
                        "{key}: submission failed ({} in a row), next try in {:.0} s: {error}",
                        failures + 1,
                        delay.as_secs_f64()
                    ),
                )?;
            }
        }
    }
    Ok(())
}

/// Marks a task whose attempt was handed to a person WAITING_EXTERNAL.
pub(super) fn await_external(tx: &Tx<'_>, id: &str) -> Result<(), TxError> {
    if let Some(t) = tx.task(id)? {
        if t.status.is_live() {
            tx.set_task(id, t.status.on(Event::AwaitExternal)?, None, None)?;
            tx.event(
                Some(id),
                &format!("waiting for a person (operator {})", t.spec.operator),
            )?;
        }
    }
    Ok(())
}

/// Fails a ready task that cannot be started (unusable operator, missing
/// upstream value), recording an attempt that carries the reason.
fn fail_unstarted(tx: &Tx<'_>, id: &str, key: &str, reason: String) -> Result<(), TxError> {
    let Some(task) = tx.task(id)? else {
        return Ok(());
    };
    tx.set_task(id, task.status.on(Event::Launched)?, None, None)?;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let attempt_id = tx.insert_attempt(id, task.attempts + 1, &token, key, None)?;
    finish(
        tx,
        attempt_id,
        id,
        Outcome::Failed(None, reason),
        None,
        None,
    )
}

/// Skips a ready task whose `when` is false (not a failure), and its
/// dependants: those with `allow_skipped` count it as satisfied, the others
/// are skipped the same way.
fn skip_by_condition(
    tx: &Tx<'_>,
    id: &str,
    status: TaskStatus,
    reason: &str,
) -> Result<(), TxError> {
    tx.set_task(id, status.on(Event::ConditionFalse)?, None, Some(reason))?;
    tx.set_skip_ok(id, true)?;
    tx.event(Some(id), &format!("skipped: {reason}"))?;
    let mut stack = vec![id.to_string()];
    while let Some(up) = stack.pop() {
        for (dep, st) in tx.dependants(&up)? {
            if st != TaskStatus::Pending {
                continue;
            }
            let allow = tx.task(&dep)?.is_some_and(|t| t.spec.allow_skipped);
            if allow {
                if tx.satisfy_one(&dep)? == 0 {
                    tx.set_task(&dep, st.on(Event::DepsMet)?, None, None)?;
                }
            } else {
                let why = format!("dependency \"{up}\" was skipped ({reason})");
                tx.set_task(&dep, st.on(Event::DepBlocked)?, None, Some(&why))?;
                tx.set_skip_ok(&dep, true)?;
                stack.push(dep);
            }
        }
    }
    Ok(())
}
