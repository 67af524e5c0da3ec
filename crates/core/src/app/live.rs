//! A run's view kept current from its change feed: what a long-lived face
//! (the TUI, the web UI) holds. Loaded once, then each refresh reads only
//! the changes since its cursor and applies them to the tasks they name —
//! O(changes), not O(tasks).

use std::collections::HashMap;

use super::changes::{Change, ChangeKind};
use super::status::{AttemptState, QueueView};
use super::{Run, RunView, TaskState};
use crate::Result;

/// A [`RunView`] and the feed cursor it is current to.
#[derive(Debug, Clone)]
pub struct LiveRun {
    /// The view.
    pub view: RunView,
    /// The last change applied.
    pub cursor: i64,
    index: HashMap<String, usize>,
}

impl LiveRun {
    /// Reads `run` whole, once.
    ///
    /// Fails on store errors.
    pub fn load(run: &mut Run) -> Result<LiveRun> {
        // The cursor first: a change landing between the two reads is
        // applied again, which is harmless (changes carry states, not deltas).
        let cursor = run.events_cursor()?;
        let view = run.view()?;
        Ok(LiveRun::from_view(view, cursor))
    }

    /// A live view of `view`, current to `cursor`.
    pub fn from_view(view: RunView, cursor: i64) -> LiveRun {
        let index = view
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        LiveRun {
            view,
            cursor,
            index,
        }
    }

    /// Applies what changed since the cursor; returns how many changes.
    /// The run's own state is read again when anything changed (one row).
    ///
    /// Fails on store errors (the view stays as it was).
    pub fn refresh(&mut self, run: &mut Run) -> Result<usize> {
        let mut n = 0;
        loop {
            let batch = run.events_since(self.cursor, 10_000)?;
            for c in &batch.changes {
                self.apply(c);
            }
            n += batch.changes.len();
            self.cursor = batch.cursor;
            if !batch.more {
                break;
            }
        }
        if n > 0 {
            self.view.status = run.state()?;
            self.view.paused = run.paused()?;
        }
        Ok(n)
    }

    /// Applies one change to the task it names (a task this view does not
    /// know, added by a planner, is ignored until the next [`LiveRun::load`]).
    pub fn apply(&mut self, c: &Change) {
        let Some(&i) = self.index.get(&c.task) else {
            return;
        };
        let t = &mut self.view.tasks[i];
        let before = t.status;
        match &c.change {
            ChangeKind::Task { status, reason } => {
                // QUEUED is the attempt's to say; a task change says RUNNING.
                if !(before == TaskState::Queued && *status == TaskState::Running) {
                    t.status = *status;
                }
                t.reason = reason.clone();
                if status.is_terminal() {
                    t.job = None;
                    t.queue = None;
                }
            }
            ChangeKind::Attempt {
                n,
                status,
                job,
                detail,
            } => {
                t.attempts = t.attempts.max(*n);
                if job.is_some() {
                    t.last_job = job.clone();
                }
                match status {
                    AttemptState::Queued => {
                        t.job = job.clone().or(t.job.take());
                        t.queue = Some(QueueView {
                            job: t.job.clone(),
                            reason: detail.clone(),
                            since: t.queue.as_ref().map_or(c.at, |q| q.since),
                            never: detail
                                .as_deref()
                                .is_some_and(matterstack_schedulers::never_starts),
                        });
                        if matches!(t.status, TaskState::Running | TaskState::Ready) {
                            t.status = TaskState::Queued;
                        }
                    }
                    AttemptState::Running | AttemptState::Created => {
                        t.job = job.clone().or(t.job.take());
                        if *status == AttemptState::Created {
                            t.started_at = None;
                            t.ended_at = None;
                        }
                        if *status == AttemptState::Running {
                            t.started_at = Some(c.at);
                            t.ended_at = None;
                            t.queue = None;
                            if t.status == TaskState::Queued {
                                t.status = TaskState::Running;
                            }
                        }
                    }
                    _ => {
                        t.job = None;
                        t.queue = None;
                        t.ended_at = Some(c.at);
                        if let Some(d) = detail {
                            t.reason = Some(d.clone());
                        }
                    }
                }
            }
        }
        let after = t.status;
        if before != after {
            if let Some(n) = self.view.counts.get_mut(&before) {
                *n = n.saturating_sub(1);
            }
            *self.view.counts.entry(after).or_insert(0) += 1;
        }
    }
}
