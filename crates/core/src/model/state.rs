//! The task and attempt state machine: [`transition`] is the one function that
//! decides every state change; the engine and the application API call it and
//! never assign a status by hand.
//!
//! Task lifecycle:
//!
//! ```text
//! PENDING ──deps met──▶ READY ──launched──▶ RUNNING ──succeeded──▶ COMPLETED
//!    │                  │ ▲                    │ failed, retries left ─▶ READY
//!    │ dependency       │ └────────────────────┘ failed, none left ───▶ FAILED
//!    │ failed     `when`│ false                │ awaits a person (human/manual)
//!    ▼                  ▼                      ▼
//! SKIPPED ◀─────────────┘              WAITING_EXTERNAL (ends like RUNNING)
//! PENDING ──submitted ahead, held by the scheduler (afterok)──▶ RUNNING
//! RUNNING (held) ──dependency failed──▶ SKIPPED (its job is cancelled)
//! PENDING/READY/RUNNING/WAITING_EXTERNAL ──cancel──▶ CANCELLED
//! FAILED/CANCELLED/SKIPPED ──retry──▶ PENDING
//! ```
//!
//! Attempt lifecycle: `CREATED` (recorded, not yet known to be started) →
//! `RUNNING` → `COMPLETED` | `FAILED`; `CREATED`/`RUNNING` → `CANCELLED`.

use std::fmt;
use std::str::FromStr;

/// The status of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskStatus {
    /// Waiting for dependencies.
    Pending,
    /// Dependencies done; waiting for resources.
    Ready,
    /// An attempt is live.
    Running,
    /// An attempt waits for a person (operators `human` and `manual`);
    /// other work goes on.
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

/// The status of one attempt of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttemptStatus {
    /// Written to the store before its process is started.
    Created,
    /// Its process is known to have started.
    Running,
    /// Exited with code 0.
    Completed,
    /// Exited non-zero, timed out, or vanished.
    Failed,
    /// Killed on the user's request.
    Cancelled,
}

/// Either kind of status, so that one function can decide both machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A task's status.
    Task(TaskStatus),
    /// An attempt's status.
    Attempt(AttemptStatus),
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// All dependencies of a pending task are satisfied.
    DepsMet,
    /// A dependency failed or was cancelled/skipped, so this task cannot run.
    DepBlocked,
    /// An attempt was recorded for a ready task.
    Launched,
    /// The attempt's process was seen running.
    Started,
    /// The attempt finished successfully.
    Succeeded,
    /// The attempt failed; `retry` says whether the task has retries left.
    Failed {
        /// Whether the task goes back to READY for another attempt.
        retry: bool,
    },
    /// The user cancelled.
    Cancel,
    /// The user asked for a failed, cancelled or skipped task to run again.
    Retry,
    /// The task's `when` condition is false: it will not run (not a failure).
    ConditionFalse,
    /// The attempt was handed to a person; the task waits for them.
    AwaitExternal,
    /// A pending task's job was submitted to a scheduler ahead of its
    /// dependencies, held there until they succeed (SLURM `afterok`).
    ChainLaunched,
}

/// A transition the model forbids.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("illegal transition: {from} on {event:?}")]
pub struct IllegalTransition {
    /// The state it was in.
    pub from: String,
    /// What was asked.
    pub event: Event,
}

/// Decides the next state, or refuses. This is the only place state
/// transitions are defined.
pub fn transition(from: Status, event: Event) -> Result<Status, IllegalTransition> {
    use AttemptStatus as A;
    use Event as E;
    use TaskStatus as T;
    let next = match (from, event) {
        (Status::Task(t), e) => Status::Task(match (t, e) {
            (T::Pending, E::DepsMet) => T::Ready,
            (T::Pending, E::DepBlocked) => T::Skipped,
            (T::Ready, E::Launched) => T::Running,
            (T::Ready, E::ConditionFalse) => T::Skipped,
            (T::Pending, E::ChainLaunched) => T::Running,
            (T::Running, E::DepBlocked) => T::Skipped,
            (T::Running, E::Started) => T::Running,
            (T::Running | T::WaitingExternal, E::AwaitExternal) => T::WaitingExternal,
            (T::WaitingExternal, E::Started) => T::WaitingExternal,
            (T::Running | T::WaitingExternal, E::Succeeded) => T::Completed,
            (T::Running | T::WaitingExternal, E::Failed { retry: true }) => T::Ready,
            (T::Running | T::WaitingExternal, E::Failed { retry: false }) => T::Failed,
            (T::Pending | T::Ready | T::Running | T::WaitingExternal, E::Cancel) => T::Cancelled,
            (T::Failed | T::Cancelled | T::Skipped, E::Retry) => T::Pending,
            _ => return Err(illegal(from, event)),
        }),
        (Status::Attempt(a), e) => Status::Attempt(match (a, e) {
            (A::Created | A::Running, E::Started) => A::Running,
            (A::Created | A::Running, E::Succeeded) => A::Completed,
            (A::Created | A::Running, E::Failed { .. }) => A::Failed,
            (A::Created | A::Running, E::Cancel) => A::Cancelled,
            _ => return Err(illegal(from, event)),
        }),
    };
    Ok(next)
}

fn illegal(from: Status, event: Event) -> IllegalTransition {
    let from = match from {
        Status::Task(t) => format!("task {t}"),
        Status::Attempt(a) => format!("attempt {a}"),
    };
    IllegalTransition { from, event }
}

impl TaskStatus {
    /// Applies `event` through [`transition`].
    pub fn on(self, event: Event) -> Result<TaskStatus, IllegalTransition> {
        match transition(Status::Task(self), event)? {
            Status::Task(t) => Ok(t),
            Status::Attempt(_) => unreachable!("task transitions yield task states"),
        }
    }

    /// True while an attempt of the task is live (RUNNING or WAITING_EXTERNAL).
    pub fn is_live(self) -> bool {
        matches!(self, TaskStatus::Running | TaskStatus::WaitingExternal)
    }

    /// True once the task will not change without a user action.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed
                | TaskStatus::Failed
                | TaskStatus::Cancelled
                | TaskStatus::Skipped
        )
    }

    /// Every status, in display order.
    pub const ALL: [TaskStatus; 8] = [
        TaskStatus::Pending,
        TaskStatus::Ready,
        TaskStatus::Running,
        TaskStatus::WaitingExternal,
        TaskStatus::Completed,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
        TaskStatus::Skipped,
    ];

    /// The upper-case name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "PENDING",
            TaskStatus::Ready => "READY",
            TaskStatus::Running => "RUNNING",
            TaskStatus::WaitingExternal => "WAITING_EXTERNAL",
            TaskStatus::Completed => "COMPLETED",
            TaskStatus::Failed => "FAILED",
            TaskStatus::Cancelled => "CANCELLED",
            TaskStatus::Skipped => "SKIPPED",
        }
    }
}

/// True when a dependency in `status` can no longer be satisfied for its
/// dependant: it failed (without `allow_failure`), was cancelled, or was
/// skipped — unless it was skipped by a condition and the dependant has
/// `allow_skipped`.
pub fn dependency_blocks(
    status: TaskStatus,
    allow_failure: bool,
    skipped_by_condition: bool,
    allow_skipped: bool,
) -> bool {
    match status {
        TaskStatus::Cancelled => true,
        TaskStatus::Failed => !allow_failure,
        TaskStatus::Skipped => !(skipped_by_condition && allow_skipped),
        _ => false,
    }
}

impl AttemptStatus {
    /// Applies `event` through [`transition`].
    pub fn on(self, event: Event) -> Result<AttemptStatus, IllegalTransition> {
        match transition(Status::Attempt(self), event)? {
            Status::Attempt(a) => Ok(a),
            Status::Task(_) => unreachable!("attempt transitions yield attempt states"),
        }
    }

    /// True while the attempt may still have a live process.
    pub fn is_active(self) -> bool {
        matches!(self, AttemptStatus::Created | AttemptStatus::Running)
    }

    /// The upper-case name stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Created => "CREATED",
            AttemptStatus::Running => "RUNNING",
            AttemptStatus::Completed => "COMPLETED",
            AttemptStatus::Failed => "FAILED",
            AttemptStatus::Cancelled => "CANCELLED",
        }
    }
}

/// What a batch scheduler last said of a live attempt's job. Not a state
/// of the machine above: a live attempt is RUNNING to the engine (it holds
/// its slot, it can be cancelled) whether its job waits in the queue or runs;
/// this records which, so the views can say QUEUED and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedulerPhase {
    /// Waiting in the scheduler's queue.
    Queued,
    /// Holding an allocation.
    Running,
}

impl SchedulerPhase {
    /// The upper-case name stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SchedulerPhase::Queued => "QUEUED",
            SchedulerPhase::Running => "RUNNING",
        }
    }

    /// The phase named `s`, if it is one.
    pub fn parse(s: &str) -> Option<SchedulerPhase> {
        match s {
            "QUEUED" => Some(SchedulerPhase::Queued),
            "RUNNING" => Some(SchedulerPhase::Running),
            _ => None,
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for AttemptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TaskStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown task status {s:?}"))
    }
}

impl FromStr for AttemptStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        use AttemptStatus::*;
        [Created, Running, Completed, Failed, Cancelled]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown attempt status {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AttemptStatus as A;
    use Event as E;
    use TaskStatus as T;

    const EVENTS: [Event; 12] = [
        E::ChainLaunched,
        E::ConditionFalse,
        E::AwaitExternal,
        E::DepsMet,
        E::DepBlocked,
        E::Launched,
        E::Started,
        E::Succeeded,
        E::Failed { retry: true },
        E::Failed { retry: false },
        E::Cancel,
        E::Retry,
    ];

    #[test]
    fn happy_path() {
        let t = T::Pending.on(E::DepsMet).unwrap();
        let t = t.on(E::Launched).unwrap();
        let t = t.on(E::Started).unwrap();
        assert_eq!(t.on(E::Succeeded), Ok(T::Completed));
    }

    #[test]
    fn failure_with_and_without_retries() {
        assert_eq!(T::Running.on(E::Failed { retry: true }), Ok(T::Ready));
        assert_eq!(T::Running.on(E::Failed { retry: false }), Ok(T::Failed));
        assert_eq!(T::Failed.on(E::Retry), Ok(T::Pending));
        assert_eq!(T::Skipped.on(E::Retry), Ok(T::Pending));
        assert_eq!(T::Pending.on(E::DepBlocked), Ok(T::Skipped));
    }

    #[test]
    fn terminal_states_only_leave_by_retry() {
        for t in [T::Completed, T::Failed, T::Cancelled, T::Skipped] {
            for e in EVENTS {
                let r = t.on(e);
                if e == E::Retry && t != T::Completed {
                    assert_eq!(r, Ok(T::Pending));
                } else {
                    assert!(r.is_err(), "{t} on {e:?} must be illegal, got {r:?}");
                }
            }
        }
    }

    #[test]
    fn cannot_launch_what_is_not_ready() {
        for t in [T::Pending, T::Running, T::Completed, T::Failed] {
            assert!(t.on(E::Launched).is_err(), "{t}");
        }
        assert!(T::Ready.on(E::Succeeded).is_err());
        assert!(T::Completed.on(E::Cancel).is_err());
    }

    #[test]
    fn the_full_task_table() {
        // Count the legal (state, event) pairs: any edit to the table must
        // be deliberate and update this number.
        let legal = T::ALL
            .iter()
            .flat_map(|t| EVENTS.iter().map(move |e| (t, e)))
            .filter(|(t, e)| t.on(**e).is_ok())
            .count();
        assert_eq!(legal, 23);
    }

    #[test]
    fn attempts() {
        assert_eq!(A::Created.on(E::Started), Ok(A::Running));
        assert_eq!(A::Running.on(E::Succeeded), Ok(A::Completed));
        assert_eq!(A::Created.on(E::Failed { retry: false }), Ok(A::Failed));
        assert_eq!(A::Running.on(E::Cancel), Ok(A::Cancelled));
        for done in [A::Completed, A::Failed, A::Cancelled] {
            for e in EVENTS {
                assert!(done.on(e).is_err(), "{done} on {e:?}");
            }
            assert!(!done.is_active());
        }
        assert!(A::Created.on(E::DepsMet).is_err());
        assert!(A::Created.on(E::Retry).is_err());
    }

    #[test]
    fn which_dependencies_block() {
        assert!(dependency_blocks(T::Cancelled, true, false, true));
        assert!(dependency_blocks(T::Failed, false, false, false));
        assert!(!dependency_blocks(T::Failed, true, false, false));
        assert!(dependency_blocks(T::Skipped, false, false, true));
        assert!(dependency_blocks(T::Skipped, false, true, false));
        assert!(!dependency_blocks(T::Skipped, false, true, true));
        assert!(!dependency_blocks(T::Running, false, false, false));
    }

    #[test]
    fn names_round_trip() {
        for t in T::ALL {
            assert_eq!(t.as_str().parse::<T>(), Ok(t));
        }
        for a in [
            A::Created,
            A::Running,
            A::Completed,
            A::Failed,
            A::Cancelled,
        ] {
            assert_eq!(a.as_str().parse::<A>(), Ok(a));
        }
        assert!("DONE".parse::<T>().is_err());
    }
}
