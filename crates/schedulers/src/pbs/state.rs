//! PBS job states.

use serde::{Deserialize, Serialize};

use super::exit::exit_phase;
use super::PbsFlavor;
use crate::phase::Phase;

/// A PBS job state letter (`qstat` `S` column / `job_state` attribute).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PbsState {
    /// `Q` queued.
    Queued,
    /// `R` running.
    Running,
    /// `E` exiting after having run.
    Exiting,
    /// `H` held.
    Held,
    /// `W` waiting for its requested start time.
    Waiting,
    /// `T` being moved to a new location.
    Transit,
    /// `S` suspended.
    Suspended,
    /// `F` finished (PBS Pro, `qstat -x`).
    Finished,
    /// `X` subjob completed or deleted (PBS Pro arrays).
    SubjobDone,
    /// `B` array job with at least one subjob running (PBS Pro).
    Begun,
    /// `M` moved to another server (PBS Pro peer scheduling).
    Moved,
    /// `U` cycle-harvesting job suspended for keyboard activity (PBS Pro).
    UserBusy,
    /// `C` completed (Torque, kept for `keep_completed` seconds).
    Completed,
}

impl PbsState {
    /// Parse one state letter (surrounding whitespace allowed). `None` otherwise.
    pub fn parse(s: &str) -> Option<PbsState> {
        use PbsState::*;
        Some(match s.trim() {
            "Q" => Queued,
            "R" => Running,
            "E" => Exiting,
            "H" => Held,
            "W" => Waiting,
            "T" => Transit,
            "S" => Suspended,
            "F" => Finished,
            "X" => SubjobDone,
            "B" => Begun,
            "M" => Moved,
            "U" => UserBusy,
            "C" => Completed,
            _ => return None,
        })
    }

    /// The state letter.
    pub fn letter(self) -> char {
        use PbsState::*;
        match self {
            Queued => 'Q',
            Running => 'R',
            Exiting => 'E',
            Held => 'H',
            Waiting => 'W',
            Transit => 'T',
            Suspended => 'S',
            Finished => 'F',
            SubjobDone => 'X',
            Begun => 'B',
            Moved => 'M',
            UserBusy => 'U',
            Completed => 'C',
        }
    }

    /// Every state.
    pub fn all() -> [PbsState; 13] {
        use PbsState::*;
        [
            Queued, Running, Exiting, Held, Waiting, Transit, Suspended, Finished, SubjobDone,
            Begun, Moved, UserBusy, Completed,
        ]
    }

    /// Map onto [`Phase`]:
    /// * `Q` → Queued (reason = comment); `H`, `W`, `T`, `M` → Queued with the state named
    ///   in the reason (a moved job lives on another server now);
    /// * `R`, `E`, `S`, `U`, `B` → Running (allocation held);
    /// * `F`, `X`, `C` → [`exit_phase`] of the exit status and comment.
    pub fn to_phase(
        self,
        exit_status: Option<i32>,
        comment: Option<&str>,
        flavor: PbsFlavor,
    ) -> Phase {
        use PbsState::*;
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        let with = |what: &str| {
            Some(match comment {
                Some(c) => format!("{what}: {c}"),
                None => what.to_string(),
            })
        };
        match self {
            Queued => Phase::Queued {
                reason: comment.map(str::to_string),
            },
            Held => Phase::Queued {
                reason: with("held"),
            },
            Waiting => Phase::Queued {
                reason: with("waiting for its start time"),
            },
            Transit => Phase::Queued {
                reason: with("in transit"),
            },
            Moved => Phase::Queued {
                reason: with("moved to another server"),
            },
            Running | Exiting | Suspended | UserBusy | Begun => Phase::Running,
            Finished | SubjobDone | Completed => exit_phase(exit_status, comment, flavor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::FailureKind;

    #[test]
    fn every_letter() {
        for s in PbsState::all() {
            assert_eq!(PbsState::parse(&s.letter().to_string()), Some(s));
        }
        for bad in ["", "q", "RR", "Z", "running"] {
            assert_eq!(PbsState::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn mapping() {
        use PbsState::*;
        for s in PbsState::all() {
            let p = s.to_phase(Some(0), None, PbsFlavor::Pro);
            match s {
                Queued | Held | Waiting | Transit | Moved => {
                    assert!(matches!(p, Phase::Queued { .. }), "{s:?}")
                }
                Running | Exiting | Suspended | UserBusy | Begun => assert_eq!(p, Phase::Running),
                Finished | SubjobDone | Completed => {
                    assert_eq!(p, Phase::Finished { exit_code: Some(0) })
                }
            }
        }
        assert_eq!(
            Held.to_phase(None, Some("Not Running: User hold"), PbsFlavor::Pro),
            Phase::Queued {
                reason: Some("held: Not Running: User hold".into())
            }
        );
        assert!(matches!(
            Completed.to_phase(Some(-11), None, PbsFlavor::Torque),
            Phase::Failed {
                kind: FailureKind::Timeout,
                ..
            }
        ));
    }
}
