//! Combining the exit marker, `squeue` and `sacct` into one [`Phase`].

use super::sacct::SacctRow;
use super::squeue::SqueueRow;
use crate::marker::ExitMarker;
use crate::phase::{combine, Phase};

/// Decide a SLURM job's phase from everything known about it this tick.
///
/// Order (GUIDE §4 invariant 3):
/// 1. The job's own exit marker wins: exit 0 → `Finished`, otherwise `Failed` (keeping the
///    scheduler's failure kind, e.g. `OutOfMemory`, when a scheduler view reports one).
/// 2. Otherwise `squeue` (live) is used; when squeue shows a terminal state and `sacct` has
///    the exit code, the exit code is taken from sacct.
/// 3. Otherwise `sacct`.
/// 4. With none of the three, [`Phase::Vanished`]: the caller decides after a grace period.
///
/// A `COMPLETED` job without a marker is `Finished { exit_code: None }` (SLURM only says
/// COMPLETED for exit 0); callers that require the marker can check for it themselves.
pub fn decide(
    marker: Option<ExitMarker>,
    squeue: Option<&SqueueRow>,
    sacct: Option<&SacctRow>,
) -> Phase {
    let scheduler = match (squeue, sacct) {
        (Some(q), Some(a)) if q.state.is_terminal() => {
            let p = a.phase();
            if p.is_terminal() {
                Some(p)
            } else {
                Some(q.phase())
            }
        }
        (Some(q), _) => Some(q.phase()),
        (None, Some(a)) => Some(a.phase()),
        (None, None) => None,
    };
    combine(marker.map(|m| m.exit_code), scheduler)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::FailureKind;
    use crate::slurm::{parse_sacct, parse_squeue};

    fn q(line: &str) -> SqueueRow {
        parse_squeue(line).unwrap().remove(0)
    }
    fn a(line: &str) -> SacctRow {
        parse_sacct(line).unwrap().remove(0)
    }

    #[test]
    fn marker_wins_over_everything() {
        let running = q("1|RUNNING|None|0:10|UNLIMITED|n");
        let cancelled = a("1|n|CANCELLED by 0|0:15|00:00:10|x|y");
        assert_eq!(
            decide(Some(ExitMarker::new(0)), Some(&running), Some(&cancelled)),
            Phase::Finished { exit_code: Some(0) }
        );
        assert_eq!(
            decide(Some(ExitMarker::new(3)), None, None),
            Phase::from_exit_code(3)
        );
        let oom = a("1|n|OUT_OF_MEMORY|0:125|00:00:10|x|y");
        assert!(matches!(
            decide(Some(ExitMarker::new(137)), None, Some(&oom)),
            Phase::Failed {
                kind: FailureKind::OutOfMemory,
                exit_code: Some(137),
                ..
            }
        ));
    }

    #[test]
    fn scheduler_views() {
        let cg = q("1|COMPLETING|None|0:10|UNLIMITED|n");
        assert_eq!(decide(None, Some(&cg), None), Phase::Running);
        let pending = a("1|n|PENDING|0:0|00:00:00|Unknown|Unknown");
        // live squeue wins over a lagging sacct
        assert_eq!(decide(None, Some(&cg), Some(&pending)), Phase::Running);
        let failed_q = q("1|FAILED|NonZeroExitCode|0:10|UNLIMITED|n");
        let failed_a = a("1|n|FAILED|2:0|00:00:10|x|y");
        assert!(matches!(
            decide(None, Some(&failed_q), Some(&failed_a)),
            Phase::Failed {
                kind: FailureKind::Failed,
                exit_code: Some(2),
                ..
            }
        ));
        assert!(matches!(
            decide(None, None, Some(&failed_a)),
            Phase::Failed {
                exit_code: Some(2),
                ..
            }
        ));
        let nf = q("1|NODE_FAIL|None|0:10|UNLIMITED|n");
        assert!(decide(None, Some(&nf), None).is_transient());
        assert_eq!(decide(None, None, None), Phase::Vanished);
    }
}
