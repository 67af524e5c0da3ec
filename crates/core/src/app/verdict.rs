//! What a command's outcome means for the process that ran it: the exit
//! codes every face reports (the CLI exits with them; the web API returns
//! them beside its answers).
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success |
//! | 1 | a run finished unsuccessfully, a runtime error (IO, store), or the user said no |
//! | 2 | bad input (invalid workspace, unknown task, bad flag) |
//! | 3 | a run paused or waiting on people |
//! | 4 | `parse`: the output reports a failure |

use serde::Serialize;

use crate::engine::RunState;
use crate::Error;

/// A command's outcome, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// It did what was asked (0).
    Success,
    /// A run finished unsuccessfully, or a runtime error (1).
    Failed,
    /// Bad input: the user must change something (2).
    BadInput,
    /// A run is paused or waits on people (3).
    Waiting,
    /// `parse`: the program's output reports a failure (4).
    OutputReportsFailure,
}

impl Verdict {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Verdict::Success => 0,
            Verdict::Failed => 1,
            Verdict::BadInput => 2,
            Verdict::Waiting => 3,
            Verdict::OutputReportsFailure => 4,
        }
    }

    /// A run that stopped in `state`.
    pub fn of_run(state: RunState) -> Verdict {
        match state {
            RunState::Completed => Verdict::Success,
            RunState::Waiting | RunState::Paused => Verdict::Waiting,
            RunState::Failed | RunState::Running => Verdict::Failed,
        }
    }

    /// Several runs driven together: success only if every one completed;
    /// failed if any failed (or never got to the end); otherwise waiting.
    pub fn of_runs(states: impl IntoIterator<Item = RunState>) -> Verdict {
        Verdict::of_driven(states.into_iter().map(|s| (s, false)))
    }

    /// [`Verdict::of_runs`] for runs a driver drove: `(state, errored)`,
    /// where a run whose last step failed counts as failed.
    pub fn of_driven(runs: impl IntoIterator<Item = (RunState, bool)>) -> Verdict {
        runs.into_iter()
            .map(|(s, errored)| {
                if errored {
                    Verdict::Failed
                } else {
                    Verdict::of_run(s)
                }
            })
            .fold(Verdict::Success, |acc, v| match (acc, v) {
                (Verdict::Failed, _) | (_, Verdict::Failed) => Verdict::Failed,
                (Verdict::Waiting, _) | (_, Verdict::Waiting) => Verdict::Waiting,
                _ => Verdict::Success,
            })
    }

    /// An error that ended a command.
    pub fn of_error(e: &Error) -> Verdict {
        if e.is_user_error() {
            Verdict::BadInput
        } else {
            Verdict::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_failure_wins_then_waiting() {
        use RunState::*;
        assert_eq!(Verdict::of_runs([Completed, Completed]), Verdict::Success);
        assert_eq!(Verdict::of_runs([Completed, Waiting]), Verdict::Waiting);
        assert_eq!(
            Verdict::of_runs([Paused, Failed, Completed]),
            Verdict::Failed
        );
        assert_eq!(Verdict::of_runs([]), Verdict::Success);
        assert_eq!(Verdict::of_run(Running).code(), 1);
    }
}
