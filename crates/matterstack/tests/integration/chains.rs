//! Chains on one SLURM cluster: dependants are submitted behind their live
//! upstream jobs with `--dependency=afterok`, so SLURM runs the whole chain
//! without waiting for matterstack to step (testbed: real slurmctld/slurmd
//! behind a real sshd).

use std::time::Duration;

use crate::support::{s, status, task_status, wait_for};
use crate::testbed::{slurm_state, slurm_task, testbed, ClusterWs};

/// The scheduler id of a task's latest attempt, from `explain --json`.
fn job_id(c: &ClusterWs, run: &std::path::Path, task: &str) -> String {
    let out = c.ws.ms(&["explain", s(run), task, "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    out.json()["attempts"]
        .as_array()
        .unwrap()
        .last()
        .and_then(|a| a["external_id"].as_str())
        .unwrap_or_else(|| panic!("{task} has no job: {}", out.stdout))
        .to_string()
}

fn job_of<'a>(infos: &'a [serde_json::Value], task: &str) -> &'a serde_json::Value {
    infos
        .iter()
        .find(|i| i["task"] == task)
        .unwrap_or_else(|| panic!("no job for {task}: {infos:?}"))
}

#[test]
fn a_chain_on_one_cluster_advances_in_slurm_without_steps() {
    let tb = testbed();
    let tasks = [
        slurm_task("a", "sleep 3; echo from-a > a.txt", "outputs = [\"a.txt\"]"),
        slurm_task(
            "b",
            "sleep 1; cat a.txt > b.txt; echo from-b >> b.txt",
            "depends_on = [\"a\"]\nfiles_from = { a = [\"a.txt\"] }\noutputs = [\"b.txt\"]",
        ),
        slurm_task(
            "c",
            "cat b.txt > c.txt; echo from-c >> c.txt",
            "depends_on = [\"b\"]\nfiles_from = { b = [\"b.txt\"] }\noutputs = [\"c.txt\"]",
        ),
    ]
    .concat();
    let c = ClusterWs::plain(&tb, &tasks);
    let run = c.ws.init("chain");
    // Three steps submit the chain: a, then b behind a, then c behind b.
    for _ in 0..3 {
        let out = c.ws.ms(&["step", s(&run)]);
        assert_eq!(out.code, 0, "{out:?}");
    }
    let infos = c.job_infos();
    assert_eq!(infos.len(), 3, "{infos:?}");
    let (ja, jb) = (job_id(&c, &run, "a"), job_id(&c, &run, "b"));
    let held = c.ws.ms(&["explain", s(&run), "c"]);
    assert!(held.stdout.contains("held by the scheduler"), "{held:?}");
    // (Job directories are named by the run's identity: found by record.)
    let job_sh = |task: &str| {
        let dir = job_of(&infos, task)["project_dir"]
            .as_str()
            .unwrap()
            .to_string();
        std::fs::read_to_string(std::path::Path::new(&dir).join("job.sh")).unwrap()
    };
    let script_b = job_sh("b");
    assert!(
        script_b.contains(&format!("#SBATCH --dependency=afterok:{ja}")),
        "{script_b}"
    );
    let script_c = job_sh("c");
    assert!(script_c.contains(&format!("afterok:{jb}")), "{script_c}");
    // No more steps: SLURM alone runs b after a and c after b.
    assert!(
        wait_for(Duration::from_secs(90), || {
            let infos = c.job_infos();
            infos.len() == 3 && infos.iter().all(|i| i["status"] == "COMPLETED")
        }),
        "chain did not finish on its own: {:?}",
        c.job_infos()
    );
    let infos = c.job_infos();
    let t = |task: &str, k: &str| job_of(&infos, task)[k].as_i64().unwrap();
    assert!(
        t("b", "started_at") >= t("a", "ended_at") - 1000,
        "{infos:?}"
    );
    assert!(
        t("c", "started_at") >= t("b", "ended_at") - 1000,
        "{infos:?}"
    );
    // The store learns it all at the next step; the outputs arrive.
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/c/c.txt")).unwrap(),
        "from-a\nfrom-b\nfrom-c\n"
    );
    let ev = c.ws.ms(&["explain", s(&run), "c"]);
    assert_eq!(ev.code, 0);
}

#[test]
fn a_held_job_whose_upstream_fails_is_cancelled_and_skipped() {
    let tb = testbed();
    let tasks = [
        slurm_task("up", "sleep 2; exit 4", ""),
        slurm_task("down", "echo never > n.txt", "depends_on = [\"up\"]"),
    ]
    .concat();
    let c = ClusterWs::plain(&tb, &tasks);
    let run = c.ws.init("fail");
    for _ in 0..2 {
        assert_eq!(c.ws.ms(&["step", s(&run)]).code, 0);
    }
    let infos = c.job_infos();
    assert_eq!(infos.len(), 2, "held job submitted: {infos:?}");
    let held = job_id(&c, &run, "down");
    // Held behind its upstream, it waits in SLURM's queue.
    assert_eq!(task_status(&status(&run), "down")["status"], "QUEUED");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 1, "{out:?}");
    let st = status(&run);
    assert_eq!(task_status(&st, "up")["status"], "FAILED");
    assert_eq!(task_status(&st, "down")["status"], "SKIPPED", "{st}");
    // SLURM never ran it: it was cancelled while held.
    assert!(
        wait_for(Duration::from_secs(20), || slurm_state(&held)
            .starts_with("CANCELLED")),
        "{}",
        slurm_state(&held)
    );
    let scratch = job_of(&infos, "down")["scratch_dir"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(scratch.starts_with(c.remote.path().join("scratch").to_str().unwrap()));
    assert!(!std::path::Path::new(&scratch).join("n.txt").exists());
}

#[test]
fn a_clusters_max_jobs_holds_across_runs_submitted_together() {
    let tb = testbed();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("jobs.log");
    let make = |name: &str| {
        let tasks: String = (0..3)
            .map(|i| {
                slurm_task(
                    &format!("t{i}"),
                    &format!(
                        "echo start {name} $(date +%s%N) >> '{l}'; sleep 2; echo end {name} $(date +%s%N) >> '{l}'",
                        l = log.display()
                    ),
                    "",
                )
            })
            .collect();
        let c = ClusterWs::plain(&tb, &tasks);
        let profile = std::fs::read_to_string(c.ws.path().join("clusters.toml")).unwrap();
        c.ws.file(
            "clusters.toml",
            &profile.replace("max_jobs = 300", "max_jobs = 2"),
        );
        c
    };
    let (a, b) = (make("a"), make("b"));
    let out = crate::support::ms_in(
        dir.path(),
        &[
            "submit",
            s(a.ws.path()),
            s(b.ws.path()),
            "--wait",
            "--poll",
            "0.3",
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    for r in out.json().as_array().unwrap() {
        assert_eq!(r["state"], "COMPLETED", "{r}");
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let mut events: Vec<(u128, i32)> = text
        .lines()
        .map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            (p[2].parse().unwrap(), if p[0] == "start" { 1 } else { -1 })
        })
        .collect();
    events.sort();
    assert_eq!(events.len(), 12, "{text}");
    let mut live = 0;
    let peak = events
        .iter()
        .map(|(_, d)| {
            live += d;
            live
        })
        .max()
        .unwrap();
    assert!(
        peak <= 2,
        "peak {peak} jobs at once on a max_jobs = 2 cluster:\n{text}"
    );
}
