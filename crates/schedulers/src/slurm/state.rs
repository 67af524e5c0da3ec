//! Every SLURM job state, parsed from long names and short codes, mapped onto [`Phase`].

use serde::{Deserialize, Serialize};

use crate::error::ParseError;
use crate::phase::{FailureKind, Phase};

/// A SLURM job state as printed by `squeue` (`%T` long form, `%t` short code), `sacct` and
/// `scontrol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobState {
    /// `PENDING` / `PD`
    Pending,
    /// `RUNNING` / `R`
    Running,
    /// `COMPLETING` / `CG`
    Completing,
    /// `COMPLETED` / `CD`
    Completed,
    /// `FAILED` / `F`
    Failed,
    /// `CANCELLED` / `CA` (also `CANCELLED by <uid>`)
    Cancelled,
    /// `TIMEOUT` / `TO`
    Timeout,
    /// `OUT_OF_MEMORY` / `OOM`
    OutOfMemory,
    /// `NODE_FAIL` / `NF`
    NodeFail,
    /// `PREEMPTED` / `PR`
    Preempted,
    /// `BOOT_FAIL` / `BF`
    BootFail,
    /// `DEADLINE` / `DL`
    Deadline,
    /// `SUSPENDED` / `S`
    Suspended,
    /// `REQUEUED` / `RQ`
    Requeued,
    /// `REQUEUE_HOLD` / `RH`
    RequeueHold,
    /// `REQUEUE_FED` / `RF`
    RequeueFed,
    /// `RESV_DEL_HOLD` / `RD`
    ResvDelHold,
    /// `RESIZING` / `RS`
    Resizing,
    /// `REVOKED` / `RV`
    Revoked,
    /// `SPECIAL_EXIT` / `SE`
    SpecialExit,
    /// `STOPPED` / `ST`
    Stopped,
    /// `CONFIGURING` / `CF`
    Configuring,
    /// `SIGNALING` / `SI`
    Signaling,
    /// `STAGE_OUT` / `SO`
    StageOut,
}

/// (long name, short code, state) for every state.
const TABLE: &[(&str, &str, JobState)] = &[
    ("PENDING", "PD", JobState::Pending),
    ("RUNNING", "R", JobState::Running),
    ("COMPLETING", "CG", JobState::Completing),
    ("COMPLETED", "CD", JobState::Completed),
    ("FAILED", "F", JobState::Failed),
    ("CANCELLED", "CA", JobState::Cancelled),
    ("TIMEOUT", "TO", JobState::Timeout),
    ("OUT_OF_MEMORY", "OOM", JobState::OutOfMemory),
    ("NODE_FAIL", "NF", JobState::NodeFail),
    ("PREEMPTED", "PR", JobState::Preempted),
    ("BOOT_FAIL", "BF", JobState::BootFail),
    ("DEADLINE", "DL", JobState::Deadline),
    ("SUSPENDED", "S", JobState::Suspended),
    ("REQUEUED", "RQ", JobState::Requeued),
    ("REQUEUE_HOLD", "RH", JobState::RequeueHold),
    ("REQUEUE_FED", "RF", JobState::RequeueFed),
    ("RESV_DEL_HOLD", "RD", JobState::ResvDelHold),
    ("RESIZING", "RS", JobState::Resizing),
    ("REVOKED", "RV", JobState::Revoked),
    ("SPECIAL_EXIT", "SE", JobState::SpecialExit),
    ("STOPPED", "ST", JobState::Stopped),
    ("CONFIGURING", "CF", JobState::Configuring),
    ("SIGNALING", "SI", JobState::Signaling),
    ("STAGE_OUT", "SO", JobState::StageOut),
];

impl JobState {
    /// Every state, in table order.
    pub fn all() -> impl Iterator<Item = JobState> {
        TABLE.iter().map(|(_, _, s)| *s)
    }

    /// Parse a state as any SLURM tool prints it.
    ///
    /// Accepts the long name or short code in any case, with surrounding whitespace, with
    /// `sacct`'s trailing `+` (truncated field) and with trailing words such as
    /// `CANCELLED by 1000`. Unknown words are an error (never guessed).
    pub fn parse(s: &str) -> Result<JobState, ParseError> {
        let word = s
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('+')
            .to_ascii_uppercase();
        TABLE
            .iter()
            .find(|(long, short, _)| *long == word || *short == word)
            .map(|(_, _, st)| *st)
            .ok_or_else(|| ParseError::new("unknown SLURM job state", None, s))
    }

    /// The long name (`%T` form), e.g. `OUT_OF_MEMORY`.
    pub fn long_name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, _, st)| *st == self)
            .map(|(l, _, _)| *l)
            .unwrap_or("UNKNOWN")
    }

    /// The short code (`%t` form), e.g. `OOM`.
    pub fn short_code(self) -> &'static str {
        TABLE
            .iter()
            .find(|(_, _, st)| *st == self)
            .map(|(_, s, _)| *s)
            .unwrap_or("?")
    }

    /// True for `NODE_FAIL`, `PREEMPTED` and `BOOT_FAIL`: infrastructure failures that retry
    /// policies may resubmit (see [`crate::FailureKind::is_transient`]).
    pub fn is_transient(self) -> bool {
        self.to_phase(None, None).is_transient()
    }

    /// True once SLURM will not change the state on its own any more.
    pub fn is_terminal(self) -> bool {
        self.to_phase(None, None).is_terminal()
    }

    /// Map onto [`Phase`]. `reason` is the scheduler's reason text (`None`/`"None"` are
    /// dropped), `exit_code` the job's exit code when known.
    ///
    /// The rules (GUIDE §5):
    /// * Queued: `PENDING`, `REQUEUED`, `REQUEUE_HOLD`, `REQUEUE_FED`, `RESV_DEL_HOLD`,
    ///   `SPECIAL_EXIT` (requeued and held), `REVOKED` (a federation sibling started
    ///   elsewhere; the job lives on another cluster).
    /// * Running: `RUNNING`, `COMPLETING` (CG → running), `CONFIGURING` (allocated, nodes
    ///   booting), `SUSPENDED` and `STOPPED` (allocation kept), `SIGNALING`, `STAGE_OUT`,
    ///   `RESIZING`.
    /// * Finished: `COMPLETED` (SLURM only says COMPLETED for exit 0; a non-zero
    ///   `exit_code` makes it `Failed`).
    /// * Failed: `FAILED`, `CANCELLED`, `TIMEOUT`, `OUT_OF_MEMORY`, `NODE_FAIL`, `PREEMPTED`,
    ///   `BOOT_FAIL`, `DEADLINE`, each with its [`FailureKind`] and the state name as
    ///   reason when the scheduler gave none.
    pub fn to_phase(self, reason: Option<&str>, exit_code: Option<i32>) -> Phase {
        use JobState::*;
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty() && *r != "None" && *r != "(null)")
            .map(str::to_string);
        let failed = |kind| Phase::Failed {
            kind,
            exit_code,
            reason: reason
                .clone()
                .or_else(|| Some(self.long_name().to_string())),
        };
        match self {
            Pending | Requeued | RequeueHold | RequeueFed | ResvDelHold | SpecialExit | Revoked => {
                Phase::Queued {
                    reason: match (self, reason.clone()) {
                        (Pending, r) => r,
                        (_, Some(r)) => Some(format!("{}: {r}", self.long_name())),
                        (_, None) => Some(self.long_name().to_string()),
                    },
                }
            }
            Running | Completing | Configuring | Suspended | Stopped | Signaling | StageOut
            | Resizing => Phase::Running,
            Completed => match exit_code {
                Some(c) if c != 0 => failed(FailureKind::Failed),
                c => Phase::Finished { exit_code: c },
            },
            Failed => failed(FailureKind::Failed),
            Cancelled => failed(FailureKind::Cancelled),
            Timeout => failed(FailureKind::Timeout),
            OutOfMemory => failed(FailureKind::OutOfMemory),
            NodeFail => failed(FailureKind::NodeFail),
            Preempted => failed(FailureKind::Preempted),
            BootFail => failed(FailureKind::BootFail),
            Deadline => failed(FailureKind::Deadline),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_long_and_short_name_parses_and_round_trips() {
        assert_eq!(JobState::all().count(), 24);
        for st in JobState::all() {
            assert_eq!(JobState::parse(st.long_name()).unwrap(), st);
            assert_eq!(JobState::parse(st.short_code()).unwrap(), st);
            assert_eq!(JobState::parse(&st.long_name().to_lowercase()).unwrap(), st);
            assert_eq!(
                JobState::parse(&format!(" {}+ ", st.long_name())).unwrap(),
                st
            );
        }
    }

    #[test]
    fn cancelled_by_uid() {
        assert_eq!(
            JobState::parse("CANCELLED by 0").unwrap(),
            JobState::Cancelled
        );
        assert_eq!(
            JobState::parse("CANCELLED by 1000").unwrap(),
            JobState::Cancelled
        );
    }

    #[test]
    fn unknown_states_are_errors() {
        for s in ["", "   ", "DONE", "RUNNING_X", "C", "+"] {
            assert!(JobState::parse(s).is_err(), "{s:?}");
        }
    }

    #[test]
    fn mapping_of_every_state() {
        use JobState::*;
        let kind = |st: JobState| match st.to_phase(None, None) {
            Phase::Failed { kind, .. } => Some(kind),
            _ => None,
        };
        for st in JobState::all() {
            let p = st.to_phase(None, None);
            match st {
                Pending | Requeued | RequeueHold | RequeueFed | ResvDelHold | SpecialExit
                | Revoked => assert!(matches!(p, Phase::Queued { .. }), "{st:?}"),
                Running | Completing | Configuring | Suspended | Stopped | Signaling | StageOut
                | Resizing => assert_eq!(p, Phase::Running, "{st:?}"),
                Completed => assert_eq!(p, Phase::Finished { exit_code: None }),
                _ => assert!(p.is_terminal() && kind(st).is_some(), "{st:?}"),
            }
        }
        assert_eq!(kind(Timeout), Some(FailureKind::Timeout));
        assert_eq!(kind(OutOfMemory), Some(FailureKind::OutOfMemory));
        assert_eq!(kind(NodeFail), Some(FailureKind::NodeFail));
        assert_eq!(kind(Preempted), Some(FailureKind::Preempted));
        assert_eq!(kind(BootFail), Some(FailureKind::BootFail));
        assert_eq!(kind(Deadline), Some(FailureKind::Deadline));
        assert_eq!(kind(Cancelled), Some(FailureKind::Cancelled));
        assert_eq!(kind(Failed), Some(FailureKind::Failed));
        let transient: Vec<_> = JobState::all()
            .filter(|s| s.to_phase(None, None).is_transient())
            .collect();
        assert_eq!(transient, vec![NodeFail, Preempted, BootFail]);
        let by_state: Vec<_> = JobState::all().filter(|s| s.is_transient()).collect();
        assert_eq!(by_state, transient);
    }

    #[test]
    fn reasons_and_exit_codes() {
        assert_eq!(
            JobState::Pending.to_phase(Some("Priority"), None),
            Phase::Queued {
                reason: Some("Priority".into())
            }
        );
        assert_eq!(
            JobState::Pending.to_phase(Some("None"), None),
            Phase::Queued { reason: None }
        );
        assert_eq!(
            JobState::RequeueHold.to_phase(Some("JobHeldAdmin"), None),
            Phase::Queued {
                reason: Some("REQUEUE_HOLD: JobHeldAdmin".into())
            }
        );
        assert_eq!(
            JobState::Completed.to_phase(None, Some(0)),
            Phase::Finished { exit_code: Some(0) }
        );
        assert_eq!(
            JobState::Timeout.to_phase(None, Some(0)),
            Phase::Failed {
                kind: FailureKind::Timeout,
                exit_code: Some(0),
                reason: Some("TIMEOUT".into())
            }
        );
        assert!(matches!(
            JobState::Completed.to_phase(None, Some(3)),
            Phase::Failed {
                kind: FailureKind::Failed,
                exit_code: Some(3),
                ..
            }
        ));
        assert!(JobState::Completing.to_phase(None, None) == Phase::Running);
        assert!(!JobState::Completing.is_terminal());
        assert!(JobState::Cancelled.is_terminal());
    }
}
