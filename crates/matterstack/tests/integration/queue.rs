//! Queue state: a submitted job that waits in SLURM's queue is QUEUED (with
//! SLURM's reason and since when), not RUNNING; one that can never start as
//! submitted says so (testbed: real slurmctld behind a real sshd; its
//! `short` partition has a 10-minute limit).

use std::time::Duration;

use crate::support::{s, status, task_status, wait_for};
use crate::testbed::{slurm_state, slurm_task, testbed, ClusterWs};

#[test]
fn a_job_over_its_partition_limit_is_queued_and_said_never_to_start() {
    let tb = testbed();
    let c = ClusterWs::plain(
        &tb,
        &slurm_task("big", "true", "partition = \"short\"\nwalltime = \"1h\""),
    );
    let run = c.ws.init("q");
    // SLURM accepts the job and keeps it pending with PartitionTimeLimit or
    // PartitionConfig (its reason depends on the version).
    let never = || {
        c.ws.ms(&["step", s(&run)]);
        let st = status(&run);
        task_status(&st, "big")["queue"]["never"] == true
    };
    assert!(wait_for(Duration::from_secs(60), never), "{}", status(&run));
    let st = status(&run);
    let t = task_status(&st, "big");
    assert_eq!(t["status"], "QUEUED", "{t}");
    let reason = t["queue"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("Partition"), "{t}");
    let job = t["job"].as_str().unwrap().to_string();
    assert_eq!(t["queue"]["job"], job.as_str());
    assert_eq!(st["counts"]["QUEUED"], 1, "{st}");
    assert_eq!(st["counts"]["RUNNING"], 0, "{st}");
    assert!(slurm_state(&job).starts_with("PENDING"));

    // The table shows the reason and the warning; explain gives the fix.
    let table = c.ws.ms(&["status", s(&run)]);
    assert!(table.stdout.contains("QUEUED"), "{table:?}");
    assert!(
        table.stdout.contains(reason) && table.stdout.contains("will not start"),
        "{table:?}"
    );
    let ex = c.ws.ms(&["explain", s(&run), "big"]);
    assert_eq!(ex.code, 0, "{ex:?}");
    assert!(
        ex.stdout.contains(&format!("as job {job}")) && ex.stdout.contains("lower the walltime"),
        "{ex:?}"
    );
    let ex = c.ws.ms(&["explain", s(&run), "big", "--json"]).json();
    assert_eq!(ex["status"], "QUEUED");
    assert_eq!(ex["queue"]["never"], true);

    // Cancelling it clears the queue state.
    assert_eq!(c.ws.ms(&["cancel", s(&run), "big"]).code, 0);
    let st = status(&run);
    let t = task_status(&st, "big");
    assert_eq!(t["status"], "CANCELLED", "{t}");
    assert!(t.get("queue").is_none(), "{t}");
    assert_eq!(st["counts"]["QUEUED"], 0, "{st}");
}

#[test]
fn a_dependant_is_queued_behind_its_upstream_then_runs() {
    let tb = testbed();
    let tasks = [
        slurm_task("up", "sleep 4; echo up > up.txt", "outputs = [\"up.txt\"]"),
        slurm_task(
            "down",
            "cat up.txt > down.txt",
            "depends_on = [\"up\"]\nfiles_from = { up = [\"up.txt\"] }\noutputs = [\"down.txt\"]",
        ),
    ]
    .concat();
    let c = ClusterWs::plain(&tb, &tasks);
    let run = c.ws.init("dep");
    // Steps submit up, then down behind it; down waits in SLURM's queue.
    let mut seen = Vec::new();
    assert!(
        wait_for(Duration::from_secs(30), || {
            c.ws.ms(&["step", s(&run)]);
            let st = status(&run);
            let t = task_status(&st, "down").clone();
            seen.push(t["status"].as_str().unwrap_or("").to_string());
            t["status"] == "QUEUED"
        }),
        "{seen:?}"
    );
    let st = status(&run);
    let down = task_status(&st, "down");
    assert!(down["job"].is_string(), "{down}");
    let ex = c.ws.ms(&["explain", s(&run), "down"]);
    assert!(ex.stdout.contains("queued on"), "{ex:?}");
    // It then runs and completes, and the outputs arrive.
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = status(&run);
    assert_eq!(task_status(&st, "down")["status"], "COMPLETED", "{st}");
    assert!(task_status(&st, "down").get("queue").is_none());
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/down/down.txt")).unwrap(),
        "up\n"
    );
}

#[test]
fn cluster_queue_lists_the_users_jobs_with_reasons_and_marks_ours() {
    let tb = testbed();
    let c = ClusterWs::plain(
        &tb,
        &slurm_task("stuck", "true", "partition = \"short\"\nwalltime = \"1h\""),
    );
    let run = c.ws.init("q");
    c.ws.ms(&["step", s(&run)]);
    let job = task_status(&status(&run), "stuck")["job"]
        .as_str()
        .unwrap()
        .to_string();
    let listed = || {
        let out = c.ws.ms(&["cluster", "queue", "testbed", "--json"]);
        assert_eq!(out.code, 0, "{out:?}");
        out.json()
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["job"] == job.as_str())
            .cloned()
    };
    assert!(
        wait_for(Duration::from_secs(30), || listed()
            .is_some_and(|j| j["never"] == true)),
        "{:?}",
        listed()
    );
    let j = listed().unwrap();
    assert_eq!(j["state"], "PENDING", "{j}");
    assert_eq!(j["ours"], true, "{j}");
    assert!(
        j["reason"].as_str().unwrap().starts_with("Partition"),
        "{j}"
    );
    let table = c.ws.ms(&["cluster", "queue", "testbed"]);
    assert!(
        table.stdout.lines().any(|l| l.starts_with(&job)
            && l.contains("(never starts)")
            && l.contains("matterstack")),
        "{table:?}"
    );
    assert_eq!(c.ws.ms(&["cancel", s(&run), "stuck"]).code, 0);
    // Bad input: a name that is no profile.
    let out = c.ws.ms(&["cluster", "queue", "nosuch"]);
    assert_eq!(out.code, 2, "{out:?}");
}
