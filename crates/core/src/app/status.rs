//! Read-only views of a run for the faces.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Run;
use crate::engine::RunState;
use crate::model::{AttemptStatus, SchedulerPhase, TaskStatus};
use crate::store::{LiveJob, Tx, TxError};
use crate::Result;

/// A task's state as the faces show it: the engine's [`TaskStatus`], with
/// a live attempt whose job waits in a scheduler's queue shown as QUEUED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskState {
    /// Waiting for dependencies.
    Pending,
    /// Dependencies done; waiting for resources.
    Ready,
    /// Submitted; its job waits in the scheduler's queue.
    Queued,
    /// An attempt is live (and, on a scheduler, its job holds an allocation).
    Running,
    /// An attempt waits for a person.
    WaitingExternal,
    /// Finished successfully.
    Completed,
    /// Finished unsuccessfully, no retries left.
    Failed,
    /// Cancelled by the user.
    Cancelled,
    /// Will not run because a dependency failed or was cancelled.
    Skipped,
}

impl TaskState {
    /// The state of a task in `status` whose live attempt is `job`.
    pub fn of(status: TaskStatus, job: Option<&LiveJob>) -> TaskState {
        match status {
            TaskStatus::Running if job.is_some_and(|j| j.phase == Some(SchedulerPhase::Queued)) => {
                TaskState::Queued
            }
            TaskStatus::Pending => TaskState::Pending,
            TaskStatus::Ready => TaskState::Ready,
            TaskStatus::Running => TaskState::Running,
            TaskStatus::WaitingExternal => TaskState::WaitingExternal,
            TaskStatus::Completed => TaskState::Completed,
            TaskStatus::Failed => TaskState::Failed,
            TaskStatus::Cancelled => TaskState::Cancelled,
            TaskStatus::Skipped => TaskState::Skipped,
        }
    }

    /// The upper-case name printed (and in `--json`).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Queued => "QUEUED",
            TaskState::Pending => TaskStatus::Pending.as_str(),
            TaskState::Ready => TaskStatus::Ready.as_str(),
            TaskState::Running => TaskStatus::Running.as_str(),
            TaskState::WaitingExternal => TaskStatus::WaitingExternal.as_str(),
            TaskState::Completed => TaskStatus::Completed.as_str(),
            TaskState::Failed => TaskStatus::Failed.as_str(),
            TaskState::Cancelled => TaskStatus::Cancelled.as_str(),
            TaskState::Skipped => TaskStatus::Skipped.as_str(),
        }
    }

    /// True once the task will not change without a user action.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskState::Completed | TaskState::Failed | TaskState::Cancelled | TaskState::Skipped
        )
    }

    /// Every state, in display order.
    pub const ALL: [TaskState; 9] = [
        TaskState::Pending,
        TaskState::Ready,
        TaskState::Queued,
        TaskState::Running,
        TaskState::WaitingExternal,
        TaskState::Completed,
        TaskState::Failed,
        TaskState::Cancelled,
        TaskState::Skipped,
    ];
}

impl std::fmt::Display for TaskState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An attempt's state as the faces show it: QUEUED while its job waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttemptState {
    /// Recorded, not yet started.
    Created,
    /// Submitted; its job waits in the scheduler's queue.
    Queued,
    /// Running.
    Running,
    /// Finished successfully.
    Completed,
    /// Finished unsuccessfully.
    Failed,
    /// Cancelled.
    Cancelled,
}

impl AttemptState {
    /// The state of an attempt in `status` whose job is in `phase`.
    pub fn of(status: AttemptStatus, phase: Option<SchedulerPhase>) -> AttemptState {
        match status {
            AttemptStatus::Created | AttemptStatus::Running
                if phase == Some(SchedulerPhase::Queued) =>
            {
                AttemptState::Queued
            }
            AttemptStatus::Created => AttemptState::Created,
            AttemptStatus::Running => AttemptState::Running,
            AttemptStatus::Completed => AttemptState::Completed,
            AttemptStatus::Failed => AttemptState::Failed,
            AttemptStatus::Cancelled => AttemptState::Cancelled,
        }
    }

    /// The upper-case name printed.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptState::Created => "CREATED",
            AttemptState::Queued => "QUEUED",
            AttemptState::Running => "RUNNING",
            AttemptState::Completed => "COMPLETED",
            AttemptState::Failed => "FAILED",
            AttemptState::Cancelled => "CANCELLED",
        }
    }
}

impl std::fmt::Display for AttemptState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One attempt of a task, for `explain` and the faces.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptView {
    /// Attempt number (1-based).
    pub n: u32,
    /// Its state.
    pub status: AttemptState,
    /// Its scheduler job id (or process id).
    pub external_id: Option<String>,
    /// Why it ended as it did.
    pub reason: Option<String>,
    /// How it came about: `run`, `retry of 1 with partition debug`…
    pub lineage: String,
    /// The resources it asked for, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<serde_json::Value>,
}

impl AttemptView {
    /// How it came about, unless it is a task's first plain run: `retry of
    /// 1 with partition debug`, `restart of 2`.
    pub fn lineage_note(&self) -> Option<&str> {
        (self.lineage != super::restart::FIRST_RUN).then_some(self.lineage.as_str())
    }
}

/// A job waiting in a scheduler's queue.
#[derive(Debug, Clone, Serialize)]
pub struct QueueView {
    /// The scheduler's job id.
    pub job: Option<String>,
    /// The scheduler's reason (`Priority`, `Resources`, `PartitionConfig`…).
    pub reason: Option<String>,
    /// Queued since (ms since the epoch).
    pub since: i64,
    /// True when the reason means the job will never start as submitted.
    pub never: bool,
}

impl QueueView {
    /// The queue entry of a live attempt's job, if it is queued.
    pub fn of(job: &LiveJob) -> Option<QueueView> {
        (job.phase == Some(SchedulerPhase::Queued)).then(|| QueueView {
            job: job.external_id.clone(),
            reason: job.reason.clone(),
            since: job.queued_at.unwrap_or(job.created_at),
            never: job
                .reason
                .as_deref()
                .is_some_and(matterstack_schedulers::never_starts),
        })
    }

    /// One line for people: `job 42 queued 3m (Priority)`, with a warning
    /// when it will never start.
    pub fn describe(&self, now_ms: i64) -> String {
        let job = self.job.as_deref().unwrap_or("?");
        let why = self.reason.as_deref().unwrap_or("no reason given");
        let mut s = format!(
            "job {job} queued for {} ({why})",
            crate::model::duration::duration_label(now_ms - self.since)
        );
        if self.never {
            s.push_str(&format!(
                " — it will not start as submitted: {}",
                never_hint(self.reason.as_deref().unwrap_or_default())
            ));
        }
        s
    }
}

/// What to change when the scheduler says a job can never start.
pub fn never_hint(reason: &str) -> &'static str {
    match reason {
        "PartitionConfig" | "PartitionTimeLimit" | "PartitionNodeLimit" => {
            "the request exceeds the partition's limits; cancel it and lower the walltime, cores or nodes, or choose another partition"
        }
        "PartitionDown" | "PartitionInactive" => {
            "the partition is not taking jobs; cancel it and choose another partition"
        }
        "InvalidAccount" | "InvalidQOS" | "BadConstraints" => {
            "the account, QOS or constraint is not valid here; cancel it and fix the task's resources"
        }
        "DependencyNeverSatisfied" => "a job it depends on failed; cancel it",
        _ => "the request exceeds a limit of the cluster; cancel it and change its resources",
    }
}

/// A run as `status` shows it. Serializes to the JSON of `status --json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// Run id.
    pub run: String,
    /// Its state (`RUNNING`, `COMPLETED`, `FAILED`, `PAUSED`, `WAITING_EXTERNAL`).
    pub status: RunState,
    /// Tasks per state (every state present, zeros included).
    pub counts: Counts,
    /// The run directory.
    pub dir: String,
    /// The workspace it came from.
    pub workspace: String,
    /// Core budget of the local operator.
    pub cores: u32,
    /// Why the run is paused (no new attempts start), if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
    /// Every task, in declaration order.
    pub tasks: Vec<TaskView>,
}

/// One task in a [`RunView`].
#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    /// Task id.
    pub id: String,
    /// Its state (QUEUED while its job waits in a scheduler's queue).
    pub status: TaskState,
    /// Attempts made.
    pub attempts: u32,
    /// Exit code of the last finished attempt.
    pub exit_code: Option<i32>,
    /// Why it is in its state.
    pub reason: Option<String>,
    /// Parsed program results (final energy, convergence, timings…), for
    /// tasks with a parser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<serde_json::Value>,
    /// How the latest attempt came about when it is not the first run:
    /// `attempt 2 (restart of 1)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<String>,
    /// The live attempt's scheduler job id (or process id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// Why and since when its job waits, while it is QUEUED.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueView>,
    /// The latest attempt's scheduler job id (or process id), live or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_job: Option<String>,
    /// How long the latest attempt has run (to its end, or to now while it
    /// runs), ms; none while queued or not started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<i64>,
    /// When the latest attempt started running (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<i64>,
}

impl TaskView {
    /// How long the latest attempt has run at `now` (to its end, or to
    /// `now` while it runs); none while queued or not started.
    pub fn elapsed_at(&self, now: i64) -> Option<i64> {
        if self.status == TaskState::Queued {
            return None;
        }
        let s = self.started_at?;
        Some(self.ended_at.unwrap_or(now) - s).filter(|d| *d >= 0)
    }
}

impl TaskView {
    /// The one note a table shows for the task: where its job waits, else
    /// why it is in its state, else how its latest attempt came about.
    pub fn note(&self, now_ms: i64) -> Option<String> {
        self.queue
            .as_ref()
            .map(|q| q.describe(now_ms))
            .or_else(|| self.reason.clone())
            .or_else(|| self.lineage.clone())
    }

    /// The main parsed result for a table: the final energy with its unit.
    pub fn main_result(&self) -> Option<String> {
        let r = self.results.as_ref()?;
        let e = r.get("final_energy")?.as_f64()?;
        let unit = r.get("energy_unit").and_then(|u| u.as_str()).unwrap_or("");
        Some(format!("{e:.8} {unit}").trim_end().to_string())
    }
}

/// Tasks per state as the faces show them (only states present): jobs
/// waiting in a scheduler's queue count as QUEUED, not RUNNING.
pub(super) fn shown_counts(tx: &Tx<'_>) -> Result<Counts, TxError> {
    let mut counts: Counts = tx
        .counts()?
        .into_iter()
        .filter_map(|(s, n)| Some((TaskState::of(s.parse::<TaskStatus>().ok()?, None), n)))
        .collect();
    let queued = tx.queued_count()?;
    if queued > 0 {
        if let Some(running) = counts.get_mut(&TaskState::Running) {
            *running = running.saturating_sub(queued);
        }
        counts.insert(TaskState::Queued, queued);
    }
    Ok(counts)
}

/// Tasks per state.
pub type Counts = BTreeMap<TaskState, u64>;

impl Run {
    /// Tasks per status (cheap: no task list), for progress displays.
    /// Jobs waiting in a scheduler's queue count as QUEUED, not RUNNING.
    pub fn counts(&mut self) -> Result<Counts> {
        self.store().read(shown_counts)
    }

    /// The run's status with every task.
    pub fn view(&mut self) -> Result<RunView> {
        self.view_page(0, None)
    }

    /// One task's view (reading that task only).
    ///
    /// Fails with a user error if the task does not exist.
    pub fn task_view(&mut self, task: &str) -> Result<TaskView> {
        let pos = self.store().read(|tx| tx.task_position(task))?;
        let found = match pos {
            Some(p) => self.view_page(p, Some(1))?.tasks.pop(),
            None => None,
        };
        found.filter(|t| t.id == task).ok_or_else(|| {
            crate::Error::Input(format!(
                "task \"{task}\" is not in this run; `matterstack status RUN` lists its tasks"
            ))
        })
    }

    /// The run's status (its counts over every task) with the tasks from
    /// the `offset`-th, at most `limit` of them: a page of a large run.
    pub fn view_page(&mut self, offset: usize, limit: Option<usize>) -> Result<RunView> {
        let dir = self.dir.display().to_string();
        let mut counts: Counts = TaskState::ALL.iter().map(|s| (*s, 0)).collect();
        counts.extend(self.counts()?);
        let now = crate::store::now_ms();
        self.store().read(|tx| {
            let run = tx.run()?;
            let mut tasks = Vec::new();
            for t in tx.task_summaries_page(offset, limit)? {
                // Only tasks tried more than once have a lineage to show.
                let lineage = if t.attempts > 1 {
                    let rows = tx.attempts_of(&t.id)?;
                    super::restart::lineage(&rows)
                        .pop()
                        .zip(rows.last())
                        .map(|(how, a)| format!("attempt {} ({how})", a.n))
                } else {
                    None
                };
                let state = TaskState::of(t.status, t.job.as_ref());
                let elapsed_ms = match (state, t.started_at) {
                    (TaskState::Queued, _) | (_, None) => None,
                    (_, Some(s)) => Some(t.ended_at.unwrap_or(now) - s).filter(|d| *d >= 0),
                };
                tasks.push(TaskView {
                    id: t.id,
                    status: state,
                    job: t.job.as_ref().and_then(|j| j.external_id.clone()),
                    queue: t.job.as_ref().and_then(QueueView::of),
                    attempts: t.attempts,
                    exit_code: t.exit_code,
                    reason: t.reason,
                    results: t.results.and_then(|r| serde_json::from_str(&r).ok()),
                    lineage,
                    last_job: t.last_external_id,
                    elapsed_ms,
                    started_at: t.started_at,
                    ended_at: t.ended_at,
                });
            }
            Ok(RunView {
                run: run.id,
                status: RunState::parse(&run.status).unwrap_or(RunState::Running),
                counts,
                dir,
                workspace: run.workspace,
                cores: run.core_budget,
                paused: tx.paused()?,
                tasks,
            })
        })
    }
}
