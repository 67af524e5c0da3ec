//! PBS parsers against hand-made samples in the documented PBS Pro and Torque formats.
//!
//! No PBS server runs on the testbed (GUIDE §6 has none): these samples are written by hand
//! after the PBS Pro / OpenPBS qstat(1B) man page and the Torque administrator guide; see
//! tests/data/README.md for the sources.

use matterstack_schedulers::pbs::{
    decide, parse_qstat_json, parse_qstat_text, PbsFlavor, PbsJob, PbsState,
};
use matterstack_schedulers::{ExitMarker, FailureKind, Phase};

const PRO_JSON: &str = include_str!("data/pbspro_qstat_f_F_json_handmade.json");
const PRO_TEXT: &str = include_str!("data/pbspro_qstat_f_handmade.txt");
const TORQUE_TEXT: &str = include_str!("data/torque_qstat_f_handmade.txt");

fn find<'a>(jobs: &'a [PbsJob], id: &str) -> &'a PbsJob {
    jobs.iter().find(|j| j.job_id == id).unwrap()
}

fn kind(p: Phase) -> Option<FailureKind> {
    match p {
        Phase::Failed { kind, .. } => Some(kind),
        _ => None,
    }
}

#[test]
fn pbspro_json() {
    let parsed = parse_qstat_json(PRO_JSON).unwrap();
    assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    let jobs = parsed.rows;
    assert_eq!(jobs.len(), 11);
    let pro = PbsFlavor::Pro;

    let r = find(&jobs, "4101.pbs01");
    assert_eq!(r.name.as_deref(), Some("ms.opt.a1b2"));
    assert_eq!(r.state, PbsState::Running);
    assert_eq!(r.attrs["Resource_List.walltime"], "02:00:00");
    assert_eq!(r.attrs["resources_used.ncpus"], "4");
    assert_eq!(r.phase(pro), Phase::Running);

    assert_eq!(
        find(&jobs, "4102.pbs01").phase(pro),
        Phase::Queued {
            reason: Some(
                "Not Running: Insufficient amount of resource: ncpus (R: 128 A: 64 T: 64)".into()
            )
        }
    );
    assert!(
        matches!(find(&jobs, "4103.pbs01").phase(pro), Phase::Queued { reason: Some(r) } if r.starts_with("held: "))
    );
    assert_eq!(
        find(&jobs, "4104.pbs01").phase(pro),
        Phase::Finished { exit_code: Some(0) }
    );
    assert_eq!(
        kind(find(&jobs, "4105.pbs01").phase(pro)),
        Some(FailureKind::Timeout)
    );
    assert_eq!(
        kind(find(&jobs, "4106.pbs01").phase(pro)),
        Some(FailureKind::OutOfMemory)
    );
    let killed = find(&jobs, "4107.pbs01").phase(pro);
    assert!(matches!(
        killed,
        Phase::Failed {
            kind: FailureKind::Failed,
            exit_code: Some(143),
            ..
        }
    ));
    assert_eq!(
        find(&jobs, "4108.pbs01").phase(pro),
        Phase::Failed {
            kind: FailureKind::Failed,
            exit_code: Some(2),
            reason: Some("Exit_status 2".into())
        }
    );
    assert_eq!(find(&jobs, "4109[].pbs01").phase(pro), Phase::Running);
    let deleted = find(&jobs, "4110.pbs01");
    assert_eq!(deleted.name.as_deref(), Some("20260110"));
    assert_eq!(kind(deleted.phase(pro)), Some(FailureKind::Cancelled));
    assert!(find(&jobs, "4111.pbs01").phase(pro).is_transient());

    // marker first
    assert_eq!(
        decide(
            Some(ExitMarker::new(0)),
            Some(find(&jobs, "4107.pbs01")),
            pro
        ),
        Phase::Finished { exit_code: Some(0) }
    );
    assert_eq!(decide(None, None, pro), Phase::Vanished);
}

#[test]
fn pbspro_text_fallback() {
    let p = parse_qstat_text(PRO_TEXT);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.rows.len(), 2);
    let j = &p.rows[0];
    assert_eq!(j.exit_status, Some(271));
    assert!(j
        .comment
        .as_deref()
        .unwrap()
        .ends_with("job killed: walltime 601 exceeded limit 600"));
    assert_eq!(
        j.attrs["Variable_List"],
        "PBS_O_HOME=/home/alice,PBS_O_LANG=en_US.UTF-8,PBS_O_LOGNAME=alice,PBS_O_PATH=/usr/bin:/bin,PBS_O_WORKDIR=/scratch/alice/relax"
    );
    assert!(matches!(
        j.phase(PbsFlavor::Pro),
        Phase::Failed {
            kind: FailureKind::Timeout,
            exit_code: Some(143),
            ..
        }
    ));
    assert!(matches!(
        p.rows[1].phase(PbsFlavor::Pro),
        Phase::Queued { reason: Some(_) }
    ));
}

#[test]
fn torque_text() {
    let p = parse_qstat_text(TORQUE_TEXT);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let jobs = p.rows;
    assert_eq!(jobs.len(), 6);
    let tq = PbsFlavor::Torque;

    let doc = find(&jobs, "179.host");
    assert_eq!(doc.state, PbsState::Completed);
    assert_eq!(doc.exit_status, Some(-1));
    assert_eq!(
        doc.attrs["sched_hint"],
        "Post job file processing error; job 179.host on host node1/0Bad UID for job execution REJHOST=node1 MSG=cannot find user 'user' in password file"
    );
    assert!(doc.attrs["Variable_List"]
        .contains("PBS_O_SHELL=/bin/bash,PBS_O_HOST=host,PBS_O_WORKDIR=/opt/moab"));
    assert_eq!(
        doc.phase(tq),
        Phase::Failed {
            kind: FailureKind::Failed,
            exit_code: Some(-1),
            reason: Some("JOB_EXEC_FAIL1 (-1)".into())
        }
    );
    let wt = find(&jobs, "2301.torque01.example.org");
    assert_eq!(wt.attrs["resources_used.walltime"], "24:00:09");
    assert_eq!(kind(wt.phase(tq)), Some(FailureKind::Timeout));
    // the same code means "rerun" on PBS Pro: flavour matters
    assert_eq!(kind(wt.phase(PbsFlavor::Pro)), Some(FailureKind::NodeFail));
    assert_eq!(
        find(&jobs, "2302.torque01.example.org").phase(tq),
        Phase::Running
    );
    assert_eq!(
        find(&jobs, "2303.torque01.example.org").phase(tq),
        Phase::Queued { reason: None }
    );
    assert_eq!(
        kind(find(&jobs, "2304.torque01.example.org").phase(tq)),
        Some(FailureKind::Failed)
    );
    assert_eq!(
        kind(find(&jobs, "2305.torque01.example.org").phase(tq)),
        Some(FailureKind::OutOfMemory)
    );
}
