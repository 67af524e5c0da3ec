//! SLURM parsers against recorded testbed output and hand-made sacct samples
//! (see tests/data/README.md).

use matterstack_schedulers::slurm::{
    classify_sbatch_error, decide, parse_sacct, parse_scontrol_show_job, parse_squeue, JobState,
    SubmitErrorKind,
};
use matterstack_schedulers::{token_from_job_name, ExitMarker, FailureKind, Phase};

const SQUEUE_ONE: &str = include_str!("data/slurm_squeue_recorded.txt");
const SQUEUE_MIXED: &str = include_str!("data/slurm_squeue_mixed_recorded.txt");
const SQUEUE_FINAL: &str = include_str!("data/slurm_squeue_final_recorded.txt");
const SCONTROL_ONE: &str = include_str!("data/slurm_scontrol_recorded.txt");
const SCONTROL_JOBS: &str = include_str!("data/slurm_scontrol_jobs_recorded.txt");
const SBATCH_PARTITION: &str = include_str!("data/slurm_sbatch_invalid_partition_recorded.txt");
const SBATCH_NODES: &str = include_str!("data/slurm_sbatch_node_config_recorded.txt");
const SACCT: &str = include_str!("data/slurm_sacct_handmade.txt");

#[test]
fn recorded_squeue_single() {
    let rows = parse_squeue(SQUEUE_ONE).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].job_id, "1");
    assert_eq!(rows[0].state, JobState::Completed);
    assert_eq!(rows[0].elapsed_secs, Some(2));
    assert_eq!(rows[0].time_limit_secs, None);
    assert_eq!(rows[0].phase(), Phase::Finished { exit_code: None });
}

#[test]
fn recorded_squeue_mixed_and_final() {
    let mixed = parse_squeue(SQUEUE_MIXED).unwrap();
    assert_eq!(mixed.len(), 4);
    let by_token = |rows: &[matterstack_schedulers::slurm::SqueueRow], tok: &str| {
        rows.iter()
            .find(|r| token_from_job_name(&r.name) == Some(tok))
            .cloned()
            .unwrap()
    };
    assert_eq!(
        by_token(&mixed, "tokH").phase(),
        Phase::Queued {
            reason: Some("JobHeldUser".into())
        }
    );
    assert_eq!(by_token(&mixed, "tokR").phase(), Phase::Running);
    assert_eq!(by_token(&mixed, "tokR").elapsed_secs, Some(4));

    let fin = parse_squeue(SQUEUE_FINAL).unwrap();
    assert_eq!(fin.len(), 4);
    assert!(matches!(
        by_token(&fin, "tokR").phase(),
        Phase::Failed {
            kind: FailureKind::Cancelled,
            ..
        }
    ));
    assert_eq!(
        by_token(&fin, "tokC").phase(),
        Phase::Finished { exit_code: None }
    );
    assert_eq!(
        by_token(&fin, "tokF").phase(),
        Phase::Failed {
            kind: FailureKind::Failed,
            exit_code: None,
            reason: Some("NonZeroExitCode".into())
        }
    );
    // the marker written by the job script wins over the scheduler's view
    let failed = by_token(&fin, "tokF");
    assert_eq!(
        decide(Some(ExitMarker::new(3)), Some(&failed), None),
        Phase::Failed {
            kind: FailureKind::Failed,
            exit_code: Some(3),
            reason: Some("NonZeroExitCode".into())
        }
    );
}

#[test]
fn recorded_scontrol() {
    let one = parse_scontrol_show_job(SCONTROL_ONE).unwrap();
    assert_eq!(one.len(), 1);
    let j = &one[0];
    assert_eq!(j.job_name.as_deref(), Some("wrap"));
    assert_eq!(j.state, JobState::Completed);
    assert_eq!(j.std_out.as_deref(), Some("/tmp/slurm-1.out"));
    assert_eq!(j.std_err.as_deref(), Some("/tmp/slurm-1.out"));
    assert_eq!(j.run_time_secs, Some(2));
    assert_eq!(j.time_limit_secs, None);
    assert_eq!(j.fields["TRES"], "cpu=1,mem=23593M,node=1,billing=1");
    assert_eq!(j.fields["AllocNode:Sid"], "localhost:3017");
    assert_eq!(j.phase(), Phase::Finished { exit_code: Some(0) });

    let jobs = parse_scontrol_show_job(SCONTROL_JOBS).unwrap();
    let states: Vec<JobState> = jobs.iter().map(|j| j.state).collect();
    assert_eq!(
        states,
        [
            JobState::Running,
            JobState::Cancelled,
            JobState::Failed,
            JobState::Pending
        ]
    );
    assert_eq!(jobs[1].exit_code.map(|e| e.signal), Some(15));
    assert_eq!(
        jobs[2].phase(),
        Phase::Failed {
            kind: FailureKind::Failed,
            exit_code: Some(3),
            reason: Some("NonZeroExitCode".into())
        }
    );
    assert_eq!(
        jobs[3].phase(),
        Phase::Queued {
            reason: Some("JobHeldUser".into())
        }
    );
}

#[test]
fn recorded_sbatch_errors() {
    let e = classify_sbatch_error(SBATCH_PARTITION);
    assert_eq!(e.kind, SubmitErrorKind::InvalidPartition);
    assert_eq!(e.field.as_deref(), Some("partition"));
    assert_eq!(e.value.as_deref(), Some("nosuch"));
    let e = classify_sbatch_error(SBATCH_NODES);
    assert_eq!(e.kind, SubmitErrorKind::NodeConfiguration);
    assert_eq!(e.field.as_deref(), Some("resources"));
}

#[test]
fn handmade_sacct() {
    let rows = parse_sacct(SACCT).unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.job_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "5001", "5002", "5003", "5004", "5005", "5006", "5007", "5008", "5009_1", "5009_2",
            "5010", "5011", "5012"
        ]
    );
    let kind = |i: usize| match rows[i].phase() {
        Phase::Failed { kind, .. } => Some(kind),
        _ => None,
    };
    assert_eq!(rows[0].phase(), Phase::Finished { exit_code: Some(0) });
    assert_eq!(rows[0].elapsed_secs, Some(723));
    assert_eq!(kind(1), Some(FailureKind::Failed));
    assert_eq!(rows[2].elapsed_secs, Some(86_412));
    assert_eq!(kind(2), Some(FailureKind::Timeout));
    assert_eq!(kind(3), Some(FailureKind::OutOfMemory));
    // allocation line without ExitCode: taken from the .batch step
    assert_eq!(rows[4].exit_code.map(|e| (e.code, e.signal)), Some((0, 15)));
    assert_eq!(kind(4), Some(FailureKind::Cancelled));
    assert!(rows[5].phase().is_transient());
    assert!(rows[6].phase().is_transient());
    assert!(matches!(rows[7].phase(), Phase::Queued { .. }));
    assert_eq!(rows[7].start, None);
    assert_eq!(rows[9].phase(), Phase::Running);
    assert!(rows[10].phase().is_transient());
    assert_eq!(kind(11), Some(FailureKind::Deadline));
    assert!(matches!(rows[12].phase(), Phase::Queued { .. }));

    // decide: sacct alone, marker over sacct
    assert!(decide(None, None, Some(&rows[3])).is_terminal());
    assert_eq!(
        decide(Some(ExitMarker::new(0)), None, Some(&rows[2])),
        Phase::Finished { exit_code: Some(0) }
    );
}

const SQUEUE_BY_NAMES: &str = include_str!("data/slurm_squeue_by_names_recorded.txt");

#[test]
fn recorded_squeue_by_names_finds_every_attempt_with_a_token() {
    use matterstack_schedulers::slurm::{rows_with_name_prefix, squeue_by_names_command};
    let argv = squeue_by_names_command(
        "root",
        &[
            "ms.render_check_1.tokOK".to_string(),
            "ms.render_check_1.tokBAD".to_string(),
        ],
    )
    .unwrap();
    assert_eq!(
        argv.join(" "),
        "squeue --noheader --array --states=all --format=%i|%T|%r|%M|%l|%j --user=root --name=ms.render_check_1.tokOK,ms.render_check_1.tokBAD"
    );
    let rows = parse_squeue(SQUEUE_BY_NAMES).unwrap();
    assert_eq!(rows.len(), 3);
    // two jobs carry the same token: reconciliation must see both (at most one live job
    // per attempt is the engine's rule; this query is how it finds duplicates)
    let bad: Vec<_> = rows
        .iter()
        .filter(|r| token_from_job_name(&r.name) == Some("tokBAD"))
        .collect();
    assert_eq!(bad.len(), 2);
    assert_eq!(
        rows_with_name_prefix(&rows, "ms.render_check_1.").count(),
        3
    );
    assert_eq!(rows[0].time_limit_secs, Some(120));
}
