//! Read-only views of a run for the faces.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Run;
use crate::model::TaskStatus;
use crate::Result;

/// A run as `status` shows it. Serializes to the JSON of `status --json`.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// Run id.
    pub run: String,
    /// `RUNNING`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// Tasks per status (every status present, zeros included).
    pub counts: BTreeMap<String, u64>,
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
    /// Status name.
    pub status: String,
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
}

impl Run {
    /// Tasks per status (cheap: no task list), for progress displays.
    pub fn counts(&mut self) -> Result<BTreeMap<String, u64>> {
        self.store().read(|tx| tx.counts())
    }

    /// The run's status with every task.
    pub fn view(&mut self) -> Result<RunView> {
        let dir = self.dir.display().to_string();
        self.store().read(|tx| {
            let run = tx.run()?;
            let mut counts: BTreeMap<String, u64> = TaskStatus::ALL
                .iter()
                .map(|s| (s.as_str().to_string(), 0))
                .collect();
            counts.extend(tx.counts()?);
            let mut tasks = Vec::new();
            for t in tx.task_summaries()? {
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
                tasks.push(TaskView {
                    id: t.id,
                    status: t.status.as_str().to_string(),
                    attempts: t.attempts,
                    exit_code: t.exit_code,
                    reason: t.reason,
                    results: t.results.and_then(|r| serde_json::from_str(&r).ok()),
                    lineage,
                });
            }
            Ok(RunView {
                run: run.id,
                status: run.status,
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
