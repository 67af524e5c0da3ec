//! The small, scheduler-independent view of a job that matterstack acts on.

use serde::{Deserialize, Serialize};

/// Why a job ended unsuccessfully.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FailureKind {
    /// The job hit its walltime (SLURM `TIMEOUT`, PBS walltime exceeded).
    Timeout,
    /// The job was killed for exceeding its memory (SLURM `OUT_OF_MEMORY`, PBS mem exceeded).
    OutOfMemory,
    /// A node the job ran on failed (SLURM `NODE_FAIL`, PBS MoM init/sister failures).
    NodeFail,
    /// The job was preempted by a higher-priority job (SLURM `PREEMPTED`).
    Preempted,
    /// The nodes could not boot (SLURM `BOOT_FAIL`).
    BootFail,
    /// The job missed its deadline (SLURM `DEADLINE`).
    Deadline,
    /// Someone cancelled/deleted the job (`scancel`, `qdel`, an administrator).
    Cancelled,
    /// The job ran and failed (non-zero exit code or generic scheduler failure).
    Failed,
}

impl FailureKind {
    /// True for failures caused by the infrastructure rather than the job: `NodeFail`,
    /// `Preempted` and `BootFail`. Retry policies may resubmit these without user action.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            FailureKind::NodeFail | FailureKind::Preempted | FailureKind::BootFail
        )
    }
}

/// What matterstack needs to know about a job, whatever the scheduler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Waiting to start (pending, held, requeued). `reason` is the scheduler's words, if any.
    Queued {
        /// The scheduler's pending/hold reason (`Priority`, `Resources`, a PBS comment …).
        reason: Option<String>,
    },
    /// Holding an allocation: running, completing, suspended, staging out …
    Running,
    /// Ended successfully. `exit_code` is `Some(0)` when known, `None` when the scheduler only
    /// said "completed".
    Finished {
        /// The exit code when known (always 0 when present).
        exit_code: Option<i32>,
    },
    /// Ended unsuccessfully.
    Failed {
        /// Why.
        kind: FailureKind,
        /// The job's exit code, when known.
        exit_code: Option<i32>,
        /// The scheduler's words (state name, reason, comment), when any.
        reason: Option<String>,
    },
    /// No marker and no scheduler knows the job. The caller decides what that means after a
    /// grace period (the job may not be visible yet, or may have aged out of the controller).
    Vanished,
}

impl Phase {
    /// True for a failure that retry policies may resubmit automatically
    /// (see [`FailureKind::is_transient`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, Phase::Failed { kind, .. } if kind.is_transient())
    }

    /// True for `Finished` and `Failed` (the job will not change any more).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Phase::Finished { .. } | Phase::Failed { .. })
    }

    /// A phase for a job that ended with `exit_code`: `Finished` for 0, `Failed` otherwise.
    pub fn from_exit_code(exit_code: i32) -> Phase {
        if exit_code == 0 {
            Phase::Finished { exit_code: Some(0) }
        } else {
            Phase::Failed {
                kind: FailureKind::Failed,
                exit_code: Some(exit_code),
                reason: None,
            }
        }
    }
}

/// True when a queued job's reason means it will never start as submitted:
/// the request exceeds what its partition, QOS or account allows, names
/// something that does not exist, or depends on a job that failed. Reasons
/// that only mean "wait" (`Priority`, `Resources`, `Dependency`,
/// `QOSMaxJobsPerUserLimit` while other jobs run…) are not.
///
/// SLURM reasons are matched by name (squeue `%r`); a `ReqNodeNotAvail`
/// counts only when it names no unavailable node (no node could ever run
/// it). PBS comments count when they say the job can never run.
pub fn never_starts(reason: &str) -> bool {
    const NEVER: [&str; 16] = [
        "PartitionConfig",
        "PartitionTimeLimit",
        "PartitionNodeLimit",
        "PartitionDown",
        "PartitionInactive",
        "BadConstraints",
        "InvalidAccount",
        "InvalidQOS",
        "QOSJobLimit",
        "AssocMaxJobsLimit",
        "AssocMaxWallDurationPerJobLimit",
        "QOSMaxWallDurationPerJobLimit",
        "AssocMaxNodesPerJobLimit",
        "QOSMaxNodePerJobLimit",
        "QOSMaxCpuPerJobLimit",
        "DependencyNeverSatisfied",
    ];
    let reason = reason.trim();
    let head = reason
        .split(|c: char| c == ',' || c == ':' || c.is_whitespace())
        .next()
        .unwrap_or("");
    if NEVER.contains(&head) {
        return true;
    }
    if head == "ReqNodeNotAvail" {
        // `ReqNodeNotAvail, UnavailableNodes:node[1-2]` waits for those
        // nodes; with none named, no node can run the job.
        return reason
            .split_once("UnavailableNodes:")
            .is_none_or(|(_, nodes)| nodes.trim().is_empty());
    }
    let lower = reason.to_ascii_lowercase();
    lower.contains("can never run") || lower.contains("would never run")
}

/// Combine the job's own exit marker with the scheduler's phase (GUIDE §4 invariant 3).
///
/// * A marker always wins: exit 0 is `Finished` even if the scheduler says otherwise; a
///   non-zero exit is `Failed`, and keeps the scheduler's failure kind and reason when the
///   scheduler also reports a failure (e.g. `OUT_OF_MEMORY` explains exit 137).
/// * Without a marker, the scheduler's phase is used.
/// * Without either, [`Phase::Vanished`].
pub fn combine(marker_exit: Option<i32>, scheduler: Option<Phase>) -> Phase {
    match (marker_exit, scheduler) {
        (Some(0), _) => Phase::Finished { exit_code: Some(0) },
        (Some(code), Some(Phase::Failed { kind, reason, .. })) => Phase::Failed {
            kind,
            exit_code: Some(code),
            reason,
        },
        (Some(code), _) => Phase::from_exit_code(code),
        (None, Some(p)) => p,
        (None, None) => Phase::Vanished,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_that_never_start() {
        for r in [
            "PartitionConfig",
            "PartitionTimeLimit",
            "ReqNodeNotAvail",
            "ReqNodeNotAvail, UnavailableNodes:",
            "AssocMaxJobsLimit",
            "DependencyNeverSatisfied",
            "Not Running: Job would never run",
            "Can Never Run: Insufficient amount of resource: ncpus",
        ] {
            assert!(never_starts(r), "{r}");
        }
        for r in [
            "Priority",
            "Resources",
            "Dependency",
            "QOSMaxJobsPerUserLimit",
            "ReqNodeNotAvail, UnavailableNodes:node[01-02]",
            "BeginTime",
            "",
            "JobHeldUser",
        ] {
            assert!(!never_starts(r), "{r}");
        }
    }

    #[test]
    fn transient_kinds() {
        use FailureKind::*;
        for k in [NodeFail, Preempted, BootFail] {
            assert!(k.is_transient(), "{k:?}");
        }
        for k in [Timeout, OutOfMemory, Deadline, Cancelled, Failed] {
            assert!(!k.is_transient(), "{k:?}");
        }
        assert!(!Phase::Running.is_transient());
    }

    #[test]
    fn combine_marker_wins() {
        let oom = Phase::Failed {
            kind: FailureKind::OutOfMemory,
            exit_code: None,
            reason: Some("OUT_OF_MEMORY".into()),
        };
        assert_eq!(
            combine(Some(0), Some(oom.clone())),
            Phase::Finished { exit_code: Some(0) }
        );
        assert_eq!(
            combine(Some(137), Some(oom)),
            Phase::Failed {
                kind: FailureKind::OutOfMemory,
                exit_code: Some(137),
                reason: Some("OUT_OF_MEMORY".into())
            }
        );
        assert_eq!(
            combine(Some(2), Some(Phase::Running)),
            Phase::from_exit_code(2)
        );
        assert_eq!(combine(None, Some(Phase::Running)), Phase::Running);
        assert_eq!(combine(None, None), Phase::Vanished);
    }
}
