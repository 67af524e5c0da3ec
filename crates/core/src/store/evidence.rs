//! Reads for `export-evidence`: the whole record of a run in three queries
//! (tasks, attempts, events), meant to run inside one read transaction so
//! the export is a consistent snapshot.

use rusqlite::params;

use super::{parse_status, AttemptRow, Tx, R};
use crate::model::{TaskSpec, TaskStatus};
use crate::Error;

/// Everything the evidence bundle says about one task.
#[derive(Debug, Clone)]
pub struct EvidenceTask {
    /// Task id.
    pub id: String,
    /// The spec as declared in the workspace.
    pub declared: TaskSpec,
    /// The effective spec (upstream values resolved, restart overrides);
    /// `None` when it is the declared one.
    pub resolved: Option<TaskSpec>,
    /// Current status.
    pub status: TaskStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// Automatic retries used since the last manual retry.
    pub retries_used: u32,
    /// Exit code of the last finished attempt.
    pub exit_code: Option<i32>,
    /// Why it is in its state.
    pub reason: Option<String>,
    /// Parsed program results (JSON text).
    pub results: Option<String>,
    /// SKIPPED by a `when` condition (not a failure).
    pub skip_ok: bool,
    /// Scheduling priority.
    pub priority: i32,
}

impl EvidenceTask {
    /// The spec in effect: resolved if recorded, declared otherwise.
    pub fn effective(&self) -> &TaskSpec {
        self.resolved.as_ref().unwrap_or(&self.declared)
    }
}

/// One entry of the run's event log.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// When, ms since the epoch.
    pub at: i64,
    /// The task it concerns, if any.
    pub task_id: Option<String>,
    /// What happened.
    pub message: String,
}

fn spec_json(s: &str) -> R<TaskSpec> {
    serde_json::from_str(s).map_err(|e| Error::Corrupt(format!("task spec: {e}")).into())
}

impl Tx<'_> {
    /// Every task in declaration order, with its declared and effective
    /// specs, status and results (one query).
    ///
    /// Fails with [`Error::Corrupt`] when a stored spec or status cannot be read.
    pub fn evidence_tasks(&self) -> R<Vec<EvidenceTask>> {
        type Raw = (
            String,
            String,
            Option<String>,
            String,
            u32,
            u32,
            Option<i32>,
            Option<String>,
            Option<String>,
            bool,
            i32,
        );
        let mut st = self.prepare(
            "SELECT id, spec, resolved, status, attempts, retries_used, exit_code, reason,
                    results, skip_ok, priority
             FROM tasks ORDER BY seq",
        )?;
        let raw: Vec<Raw> = st
            .query_map(params![], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })?
            .collect::<Result<_, _>>()?;
        raw.into_iter()
            .map(
                |(
                    id,
                    spec,
                    resolved,
                    status,
                    attempts,
                    retries_used,
                    exit_code,
                    reason,
                    results,
                    skip_ok,
                    priority,
                )| {
                    Ok(EvidenceTask {
                        id,
                        declared: spec_json(&spec)?,
                        resolved: resolved.as_deref().map(spec_json).transpose()?,
                        status: parse_status(status)?,
                        attempts,
                        retries_used,
                        exit_code,
                        reason,
                        results,
                        skip_ok,
                        priority,
                    })
                },
            )
            .collect()
    }

    /// Every attempt of every task, in the order they were recorded (one
    /// query).
    ///
    /// Fails with [`Error::Corrupt`] when a stored status cannot be read.
    pub fn all_attempts(&self) -> R<Vec<AttemptRow>> {
        self.attempts_where("1 ORDER BY id", params![])
    }

    /// The whole event log, oldest first (one query).
    pub fn all_events(&self) -> R<Vec<EventRow>> {
        let mut st = self.prepare("SELECT at, task_id, message FROM events ORDER BY id")?;
        let rows = st
            .query_map(params![], |r| {
                Ok(EventRow {
                    at: r.get(0)?,
                    task_id: r.get(1)?,
                    message: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}
