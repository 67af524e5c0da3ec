//! Fuzz targets for every parser of scheduler replies (squeue, sacct, scontrol, sbatch,
//! qsub, qstat text and JSON, exit markers, SSH failures): recorded and documented
//! outputs as seeds, mutated for `MATTERSTACK_FUZZ_SECS` each (see `matterstack-fuzz`).
//! A parser may refuse an input (an error value, a warning per skipped line) but never
//! panics or hangs on one; what it accepts still maps to a phase without a panic.

use matterstack_fuzz::{seeds, Target};
use matterstack_schedulers::pbs::{self, PbsFlavor, PbsState};
use matterstack_schedulers::politeness::classify_ssh_failure;
use matterstack_schedulers::slurm::{
    self, array_element, classify_sbatch_error, is_invalid_job_id_error, parse_sacct,
    parse_sacct_lenient, parse_sbatch_parsable, parse_scontrol_show_job, parse_slurm_duration,
    parse_squeue, parse_squeue_lenient, JobState,
};
use matterstack_schedulers::{token_from_job_name, ExitMarker};

fn data(suffix: &str) -> Vec<Vec<u8>> {
    seeds::files(&seeds::repo("crates/schedulers/tests/data"), &[suffix])
}

#[test]
fn fuzz_squeue() {
    Target::new("squeue")
        .seeds(data("squeue_recorded.txt"))
        .seeds(data("squeue_mixed_recorded.txt"))
        .seeds(data("squeue_final_recorded.txt"))
        .seeds(data("squeue_by_names_recorded.txt"))
        .seed("12_[3-5%2]|PENDING|JobArrayTaskLimit|0:00|1:00:00|ms.t.tok\n12_1|RUNNING|None|0:05|UNLIMITED|ms.t.tok\n")
        .run_text(|t| {
            for row in parse_squeue_lenient(t).rows {
                let _ = row.phase();
                let _ = array_element(&row.job_id);
                let _ = token_from_job_name(&row.name);
                let _ = slurm::decide(None, Some(&row), None);
            }
            let _ = parse_squeue(t);
            let _ = is_invalid_job_id_error(t);
        });
}

#[test]
fn fuzz_sacct() {
    Target::new("sacct")
        .seeds(data("sacct_handmade.txt"))
        .run_text(|t| {
            let rows = parse_sacct_lenient(t).rows;
            for row in &rows {
                let _ = row.phase();
                let _ = slurm::decide(Some(ExitMarker::new(0)), None, Some(row));
            }
            let _ = parse_sacct(t);
        });
}

#[test]
fn fuzz_scontrol() {
    Target::new("scontrol")
        .seeds(data("scontrol_recorded.txt"))
        .seeds(data("scontrol_jobs_recorded.txt"))
        .run_text(|t| {
            if let Ok(jobs) = parse_scontrol_show_job(t) {
                for j in jobs {
                    let _ = j.phase();
                }
            }
        });
}

#[test]
fn fuzz_sbatch_reply() {
    Target::new("sbatch")
        .seeds(data("sbatch_invalid_partition_recorded.txt"))
        .seeds(data("sbatch_node_config_recorded.txt"))
        .seed("4242\n")
        .seed("4242;cluster-a\n")
        .seed(
            "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation\n",
        )
        .run_text(|t| {
            let _ = parse_sbatch_parsable(t);
            let e = classify_sbatch_error(t);
            let _ = (e.is_user_error(), e.is_transient(), e.to_string());
        });
}

#[test]
fn fuzz_qsub_reply() {
    Target::new("qsub")
        .seed("1234.pbs-server\n")
        .seed("1234[].server.example.org\n")
        .seed("5678\n")
        .seed("qsub: Unknown queue\n")
        .run_text(|t| {
            let _ = pbs::parse_qsub(t);
        });
}

#[test]
fn fuzz_qstat_text() {
    Target::new("qstat-text")
        .seeds(data("pbspro_qstat_f_handmade.txt"))
        .seeds(data("torque_qstat_f_handmade.txt"))
        .run_text(|t| {
            for job in pbs::parse_qstat_text(t).rows {
                let _ = job.phase(PbsFlavor::Pro);
                let _ = job.phase(PbsFlavor::Torque);
                let _ = pbs::decide(None, Some(&job), PbsFlavor::Torque);
            }
        });
}

#[test]
fn fuzz_qstat_json() {
    Target::new("qstat-json")
        .seeds(data("qstat_f_F_json_handmade.json"))
        .run_text(|t| {
            if let Ok(p) = pbs::parse_qstat_json(t) {
                for job in p.rows {
                    let _ = job.phase(PbsFlavor::Pro);
                    let _ = pbs::decide(Some(ExitMarker::new(1)), Some(&job), PbsFlavor::Pro);
                }
            }
        });
}

#[test]
fn fuzz_exit_markers_states_and_durations() {
    Target::new("markers")
        .seed("0\n")
        .seed(" 137 \n")
        .seed("1700000000\n")
        .seed("1-02:03:04")
        .seed("UNLIMITED")
        .seed("CANCELLED by 1000")
        .seed("R")
        .seed("ms.opt.0123456789abcdef")
        .run_text(|t| {
            let _ = ExitMarker::parse_exit(t);
            let _ = ExitMarker::parse_epoch(t);
            let _ = parse_slurm_duration(t);
            if let Ok(s) = JobState::parse(t) {
                let _ = s.to_phase(Some(t), Some(1));
            }
            if let Some(s) = PbsState::parse(t) {
                let _ = s.letter();
            }
            let _ = pbs::exit_phase(t.trim().parse().ok(), Some(t), PbsFlavor::Pro);
            let _ = token_from_job_name(t);
            let _ = array_element(t);
        });
}

#[test]
fn fuzz_ssh_failure_classifier() {
    Target::new("ssh-stderr")
        .seed("ssh: connect to host 127.0.0.1 port 2222: Connection refused\n")
        .seed("Permission denied (publickey,password).\n")
        .seed("Host key verification failed.\n")
        .seed("kex_exchange_identification: read: Connection reset by peer\n")
        .seed("ssh: Could not resolve hostname nosuch: Name or service not known\n")
        .run_text(|t| {
            for code in [Some(255), Some(1), None] {
                let c = classify_ssh_failure(code, t);
                let _ = (c.is_transient(), c.reason());
            }
        });
}
