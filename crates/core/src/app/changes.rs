//! The change feed: every task and attempt transition of a run, in order,
//! read by cursor (`events_since`), so a face (the TUI, the web UI, a
//! script) follows a run — changed by any process — without re-reading it.

use serde::Serialize;

use super::status::AttemptState;
use super::{Run, TaskState};
use crate::model::{AttemptStatus, TaskStatus};
use crate::store::ChangeRow;
use crate::Result;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeKind {
    /// A task's state.
    Task {
        /// Its new state.
        status: TaskState,
        /// Why (failure reason, skip cause), when recorded.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An attempt's state.
    Attempt {
        /// Attempt number.
        n: u32,
        /// Its new state.
        status: AttemptState,
        /// Its scheduler job id (or process id), once known.
        #[serde(skip_serializing_if = "Option::is_none")]
        job: Option<String>,
        /// Its reason, or the scheduler's reason while queued.
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Its id: pass the last one seen as the next cursor.
    pub id: i64,
    /// When, ms since the epoch.
    pub at: i64,
    /// The task.
    pub task: String,
    /// What changed.
    #[serde(flatten)]
    pub change: ChangeKind,
}

/// Changes after a cursor.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeBatch {
    /// In order.
    pub changes: Vec<Change>,
    /// The cursor for the next call (the last id, or the one given).
    pub cursor: i64,
    /// True when more are waiting (the limit was reached).
    pub more: bool,
}

impl Run {
    /// Changes after `cursor` (0: from the start), at most `limit`.
    ///
    /// Fails only on store errors; a change of a status this build does
    /// not know is skipped.
    pub fn events_since(&mut self, cursor: i64, limit: usize) -> Result<ChangeBatch> {
        let rows = self
            .store()
            .read(|tx| tx.changes_since(cursor, limit.max(1)))?;
        let more = rows.len() >= limit.max(1);
        let next = rows.last().map_or(cursor, |r| r.id);
        Ok(ChangeBatch {
            changes: rows.into_iter().filter_map(typed).collect(),
            cursor: next,
            more,
        })
    }

    /// The cursor of the latest change: follow from now on.
    pub fn events_cursor(&mut self) -> Result<i64> {
        self.store().read(|tx| tx.last_change())
    }
}

fn typed(r: ChangeRow) -> Option<Change> {
    let change = match r.attempt {
        None => ChangeKind::Task {
            status: TaskState::of(r.status.parse::<TaskStatus>().ok()?, None),
            reason: r.detail,
        },
        Some(n) => ChangeKind::Attempt {
            n,
            status: match r.status.as_str() {
                "QUEUED" => AttemptState::Queued,
                s => AttemptState::of(s.parse::<AttemptStatus>().ok()?, None),
            },
            job: r.job,
            detail: r.detail,
        },
    };
    Some(Change {
        id: r.id,
        at: r.at,
        task: r.task_id,
        change,
    })
}
