//! `explain`: why a task is in its state — what it waits on, which limit
//! holds it, what went wrong last.

use serde::Serialize;

use super::status::{AttemptState, AttemptView, QueueView, TaskState};
use super::{control::known_task, Run};
use crate::model::TaskStatus;
use crate::Result;

/// The answer to "why is this task not running (or done)?".
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Task id.
    pub task: String,
    /// Its state (QUEUED while its job waits in a scheduler's queue).
    pub status: TaskState,
    /// Why and since when its job waits, while it is QUEUED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueView>,
    /// One line per reason, most important first.
    pub reasons: Vec<String>,
    /// Attempts so far, oldest first.
    pub attempts: Vec<AttemptView>,
    /// How each attempt came about, aligned with `attempts`: `run`,
    /// `retry of N`, `restart of N` (continued from attempt N's checkpoint).
    pub lineage: Vec<String>,
}

impl Run {
    /// Explains the state of `task`.
    ///
    /// Fails with a user error if the task does not exist.
    pub fn explain(&mut self, task: &str) -> Result<Explanation> {
        self.store().read(|tx| {
            let t = known_task(tx, task)?;
            let rows = tx.attempts_of(task)?;
            let job = rows
                .last()
                .filter(|a| a.n == t.attempts)
                .and_then(|a| a.live_job());
            let state = TaskState::of(t.status, job.as_ref());
            let queue = job.as_ref().and_then(QueueView::of);
            let mut reasons = Vec::new();
            if let Some(q) = &queue {
                reasons.push(format!(
                    "queued on {} as job {} since {}: {}",
                    t.spec.operator_key(),
                    q.job.as_deref().unwrap_or("?"),
                    crate::engine::clock(q.since),
                    q.reason.as_deref().unwrap_or("no reason given")
                ));
                if q.never {
                    reasons.push(format!(
                        "it will not start as submitted: {}",
                        super::status::never_hint(q.reason.as_deref().unwrap_or_default())
                    ));
                }
            }
            match t.status {
                TaskStatus::Pending => {
                    for dep in &t.spec.depends_on {
                        if let Some(d) = tx.task(dep)? {
                            let satisfied = d.status == TaskStatus::Completed
                                || (d.status == TaskStatus::Failed && d.spec.allow_failure);
                            if !satisfied {
                                reasons.push(format!("waiting on \"{dep}\", which is {}", d.status));
                            }
                        }
                    }
                }
                TaskStatus::Ready => {
                    let key = t.spec.operator_key();
                    if let Some((failures, until, error)) =
                        tx.backoffs(crate::store::now_ms())?.get(&key)
                    {
                        reasons.push(format!(
                            "submissions to {key} back off until {} after {failures} failed submission(s) in a row: {error}",
                            crate::engine::clock(*until)
                        ));
                    }
                    if key == "local" {
                        let budget = tx.run()?.core_budget;
                        let used = tx.cores_in_use("local")?;
                        reasons.push(format!(
                            "ready; needs {} core(s), {used} of the run's {budget} are in use — it starts when cores free up",
                            t.spec.cores
                        ));
                    } else {
                        reasons.push(format!(
                            "ready; {} job(s) of {key} are live — it is submitted at the next step unless the cluster's max_jobs is reached",
                            tx.active_count(&key)?
                        ));
                    }
                }
                TaskStatus::Running if queue.is_some() && tx.remaining_deps(task)? == 0 => {}
                TaskStatus::Running if tx.remaining_deps(task)? > 0 => reasons.push(format!(
                    "submitted to {} ahead of its dependencies ({}): held by the scheduler until they succeed",
                    t.spec.operator_key(),
                    t.spec.depends_on.join(", ")
                )),
                TaskStatus::Running => reasons.push(format!("running on {}", t.spec.operator_key())),
                TaskStatus::WaitingExternal => reasons.push(match t.spec.operator.as_str() {
                    "human" => format!(
                        "waiting for a person: see operators/human/{task}/instructions.md, answer with `matterstack respond <run> {task} --file response.json`"
                    ),
                    _ => format!(
                        "waiting for a manual run: see operators/manual/{task}/README.md, finish with `matterstack complete <run> {task} --from DIR`"
                    ),
                }),
                _ => {}
            }
            if let Some(p) = tx.paused()? {
                if !t.status.is_terminal() {
                    reasons.push(format!(
                        "the run is paused ({p}): nothing new starts until `matterstack resume`"
                    ));
                }
            }
            if let Some(r) = &t.reason {
                reasons.push(format!("last recorded reason: {r}"));
            }
            let lineage = super::restart::lineage(&rows);
            let attempts = rows
                .into_iter()
                .zip(&lineage)
                .map(|(a, how)| AttemptView {
                    n: a.n,
                    status: AttemptState::of(a.status, a.sched_phase),
                    external_id: a.external_id,
                    reason: a.reason,
                    lineage: how.clone(),
                    resources: a.resources.as_deref().and_then(|r| serde_json::from_str(r).ok()),
                })
                .collect();
            Ok(Explanation {
                task: t.id,
                status: state,
                queue,
                reasons,
                attempts,
                lineage,
            })
        })
    }
}

impl Run {
    /// The task as it runs: its spec, with its template rendered (and its
    /// upstream values filled in once known).
    ///
    /// Fails with a user error if the task does not exist.
    pub fn task_spec(&mut self, task: &str) -> Result<crate::model::TaskSpec> {
        self.store().read(|tx| Ok(known_task(tx, task)?.spec))
    }
}
