//! PBS `Exit_status` conventions.
//!
//! * `0`: success. `1..=255`: the job script's own exit code (a shell reports a child killed
//!   by signal n as 128+n).
//! * `> 256`: the job's top process was killed by signal `status - 256` (PBS Pro and Torque,
//!   e.g. 271 = SIGTERM from `qdel` or a walltime kill, 265 = SIGKILL).
//! * negative: a JOB_EXEC code set by the MoM; the table differs between PBS Pro
//!   (`src/include/job.h` of OpenPBS) and Torque (Torque admin guide, "Job exit status").
//! * The server comment / MoM message naming an exceeded `walltime` or `mem` limit
//!   (`job killed: walltime 152 exceeded limit 120`) overrides the kind.

use super::PbsFlavor;
use crate::phase::{FailureKind, Phase};

/// The JOB_EXEC name and failure kind for a negative exit status on `flavor`.
pub fn job_exec_name(code: i32, flavor: PbsFlavor) -> Option<(&'static str, FailureKind)> {
    use FailureKind::*;
    let common = match code {
        -1 => Some(("JOB_EXEC_FAIL1", Failed)),
        -2 => Some(("JOB_EXEC_FAIL2", Failed)),
        -3 => Some(("JOB_EXEC_RETRY", NodeFail)),
        -4 => Some(("JOB_EXEC_INITABT", NodeFail)),
        -5 => Some(("JOB_EXEC_INITRST", NodeFail)),
        -6 => Some(("JOB_EXEC_INITRMG", NodeFail)),
        -7 => Some(("JOB_EXEC_BADRESRT", Failed)),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match flavor {
        PbsFlavor::Pro => Some(match code {
            -10 => ("JOB_EXEC_FAILUID", Failed),
            -11 => ("JOB_EXEC_RERUN", NodeFail),
            -12 => ("JOB_EXEC_CHKP", Failed),
            -13 => ("JOB_EXEC_FAIL_PASSWORD", Failed),
            -14 => ("JOB_EXEC_RERUN_SIS_FAIL", NodeFail),
            -15 => ("JOB_EXEC_QUERST", NodeFail),
            -16 => ("JOB_EXEC_FAILHOOK_RERUN", NodeFail),
            -17 => ("JOB_EXEC_FAILHOOK_DELETE", Failed),
            -18 => ("JOB_EXEC_HOOK_RERUN", NodeFail),
            -19 => ("JOB_EXEC_HOOK_DELETE", Cancelled),
            -20 => ("JOB_EXEC_RERUN_MS_FAIL", NodeFail),
            -21 => ("JOB_EXEC_FAIL_SECURITY", Failed),
            -22 => ("JOB_EXEC_HOOKERROR", Failed),
            -23 => ("JOB_EXEC_FAIL_KRB5", Failed),
            -24 => ("JOB_EXEC_KILL_NCPUS_BURST", Failed),
            -25 => ("JOB_EXEC_KILL_NCPUS_SUM", Failed),
            -26 => ("JOB_EXEC_KILL_VMEM", OutOfMemory),
            -27 => ("JOB_EXEC_KILL_MEM", OutOfMemory),
            -28 => ("JOB_EXEC_KILL_CPUT", Timeout),
            -29 => ("JOB_EXEC_KILL_WALLTIME", Timeout),
            -30 => ("JOB_EXEC_JOINJOB", NodeFail),
            _ => return None,
        }),
        PbsFlavor::Torque => Some(match code {
            -8 => ("JOB_EXEC_CMDFAIL", Failed),
            -9 => ("JOB_EXEC_STDOUTFAIL", Failed),
            -10 => ("JOB_EXEC_OVERLIMIT_MEM", OutOfMemory),
            -11 => ("JOB_EXEC_OVERLIMIT_WT", Timeout),
            -12 => ("JOB_EXEC_OVERLIMIT_CPUT", Timeout),
            -13 => ("JOB_EXEC_RETRY_CGROUP", NodeFail),
            -14 => ("JOB_EXEC_RETRY_PROLOGUE", NodeFail),
            _ => return None,
        }),
    }
}

/// A kind named by the comment, if any (`walltime … exceed…` → Timeout, `mem … exceed…` →
/// OutOfMemory).
fn kind_from_comment(comment: Option<&str>) -> Option<FailureKind> {
    let c = comment?.to_ascii_lowercase();
    if !c.contains("exceed") {
        return None;
    }
    if c.contains("walltime") {
        Some(FailureKind::Timeout)
    } else if c.contains("mem") {
        Some(FailureKind::OutOfMemory)
    } else {
        None
    }
}

/// The phase of a finished PBS job (state `F`, `X` or `C`) from its exit status and comment
/// (rules in the module docs). A finished job with no exit status never ran (deleted while
/// queued): `Failed { kind: Cancelled }`. Never panics on any value.
pub fn exit_phase(exit_status: Option<i32>, comment: Option<&str>, flavor: PbsFlavor) -> Phase {
    let by_comment = kind_from_comment(comment);
    let reason = |what: String| {
        Some(match comment {
            Some(c) => format!("{what}; {c}"),
            None => what,
        })
    };
    match exit_status {
        None => Phase::Failed {
            kind: by_comment.unwrap_or(FailureKind::Cancelled),
            exit_code: None,
            reason: reason("finished without an exit status (deleted before it ran?)".into()),
        },
        Some(0) if by_comment.is_none() => Phase::Finished { exit_code: Some(0) },
        Some(code) if code < 0 => {
            let (name, kind) =
                job_exec_name(code, flavor).unwrap_or(("JOB_EXEC_UNKNOWN", FailureKind::Failed));
            Phase::Failed {
                kind: by_comment.unwrap_or(kind),
                exit_code: Some(code),
                reason: reason(format!("{name} ({code})")),
            }
        }
        Some(code) if code > 256 => {
            let sig = code - 256;
            Phase::Failed {
                kind: by_comment.unwrap_or(FailureKind::Failed),
                exit_code: Some(sig.saturating_add(128)),
                reason: reason(format!("killed by signal {sig} (Exit_status {code})")),
            }
        }
        Some(code) => Phase::Failed {
            kind: by_comment.unwrap_or(FailureKind::Failed),
            exit_code: Some(code),
            reason: reason(format!("Exit_status {code}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(p: &Phase) -> Option<FailureKind> {
        match p {
            Phase::Failed { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    #[test]
    fn conventions() {
        use FailureKind::*;
        let pro = PbsFlavor::Pro;
        let tq = PbsFlavor::Torque;
        assert_eq!(
            exit_phase(Some(0), None, pro),
            Phase::Finished { exit_code: Some(0) }
        );
        assert_eq!(kind(&exit_phase(Some(2), None, pro)), Some(Failed));
        assert_eq!(kind(&exit_phase(Some(-29), None, pro)), Some(Timeout));
        assert_eq!(kind(&exit_phase(Some(-27), None, pro)), Some(OutOfMemory));
        assert_eq!(kind(&exit_phase(Some(-11), None, pro)), Some(NodeFail));
        assert_eq!(kind(&exit_phase(Some(-11), None, tq)), Some(Timeout));
        assert_eq!(kind(&exit_phase(Some(-10), None, tq)), Some(OutOfMemory));
        assert_eq!(kind(&exit_phase(Some(-4), None, tq)), Some(NodeFail));
        assert!(exit_phase(Some(-3), None, pro).is_transient());
        assert_eq!(kind(&exit_phase(Some(-99), None, pro)), Some(Failed));
        assert_eq!(kind(&exit_phase(None, None, pro)), Some(Cancelled));
        let p = exit_phase(
            Some(271),
            Some("job killed: walltime 152 exceeded limit 120"),
            tq,
        );
        assert_eq!(
            p,
            Phase::Failed {
                kind: Timeout,
                exit_code: Some(143),
                reason: Some(
                    "killed by signal 15 (Exit_status 271); job killed: walltime 152 exceeded limit 120"
                        .into()
                )
            }
        );
        assert_eq!(kind(&exit_phase(Some(271), None, pro)), Some(Failed));
        assert_eq!(
            kind(&exit_phase(
                Some(265),
                Some("job killed: mem 2048kb exceeded limit 1024kb"),
                pro
            )),
            Some(OutOfMemory)
        );
        assert_eq!(kind(&exit_phase(Some(i32::MIN), None, pro)), Some(Failed));
        assert!(exit_phase(Some(i32::MAX), None, pro).is_terminal());
    }

    #[test]
    fn tables_cover_documented_codes() {
        for c in -30..=-1 {
            if c == -8 || c == -9 {
                assert!(job_exec_name(c, PbsFlavor::Pro).is_none());
            } else {
                assert!(job_exec_name(c, PbsFlavor::Pro).is_some(), "{c}");
            }
        }
        for c in -14..=-1 {
            assert!(job_exec_name(c, PbsFlavor::Torque).is_some(), "{c}");
        }
        assert!(job_exec_name(-15, PbsFlavor::Torque).is_none());
    }
}
