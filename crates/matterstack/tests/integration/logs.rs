//! `logs` of cluster jobs: read on the cluster while the job runs (and
//! followed), then from the local copy — with the cluster unreachable.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{s, status, task_status, wait_for};
use crate::testbed::{slurm_task, testbed, ClusterWs};

#[test]
fn logs_follow_shows_a_running_slurm_jobs_lines_then_reads_the_local_copy_offline() {
    let tb = testbed();
    let c = ClusterWs::plain(
        &tb,
        &slurm_task(
            "talk",
            "for i in 1 2 3 4 5 6; do echo line $i; echo err $i >&2; sleep 1; done",
            "",
        ),
    );
    let run = c.ws.init("r");
    assert!(wait_for(Duration::from_secs(60), || {
        c.ws.ms(&["step", s(&run)]);
        task_status(&status(&run), "talk")["status"] == "RUNNING"
    }));
    // While it runs, `logs` reads what it printed so far on the cluster.
    assert!(
        wait_for(Duration::from_secs(10), || c
            .ws
            .ms(&["logs", s(&run), "talk"])
            .stdout
            .contains("line 1")),
        "no live output"
    );
    assert_eq!(task_status(&status(&run), "talk")["status"], "RUNNING");

    // --follow prints lines as they come, until the attempt ends (a `run`
    // drives it meanwhile).
    let mut driver = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.3"])
        .current_dir(c.ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut follow = crate::support::ms_command()
        .args(["logs", s(&run), "talk", "--follow"])
        .current_dir(c.ws.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut seen: Vec<(String, Duration)> = Vec::new();
    for line in BufReader::new(follow.stdout.take().unwrap()).lines() {
        seen.push((line.unwrap(), start.elapsed()));
    }
    assert!(follow.wait().unwrap().success());
    assert_eq!(driver.wait().unwrap().code(), Some(0));
    let lines: Vec<&str> = seen.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(
        lines,
        (1..=6).map(|i| format!("line {i}")).collect::<Vec<_>>(),
        "each line once, in order"
    );
    let (first, last) = (seen[0].1, seen.last().unwrap().1);
    assert!(
        last > first + Duration::from_secs(1),
        "lines arrived while the job ran, not all at the end: {seen:?}"
    );

    // The cluster goes away: the finished job's logs are read from the
    // local copy.
    let profile = run.join("clusters.toml");
    let text = std::fs::read_to_string(&profile).unwrap();
    std::fs::write(
        &profile,
        text.replace(&format!("port = {}", tb.port), "port = 9"),
    )
    .unwrap();
    let out = c.ws.ms(&["logs", s(&run), "talk"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.starts_with("line 1\n") && out.stdout.ends_with("line 6\n"),
        "{out:?}"
    );
    let err = c.ws.ms(&["logs", s(&run), "talk", "--stderr"]);
    assert!(err.stdout.contains("err 6"), "{err:?}");
}

#[test]
fn a_cancelled_slurm_jobs_logs_are_fetched_once_then_kept() {
    let tb = testbed();
    let c = ClusterWs::plain(&tb, &slurm_task("long", "echo started; sleep 300", ""));
    let run = c.ws.init("r");
    assert!(wait_for(Duration::from_secs(60), || {
        c.ws.ms(&["step", s(&run)]);
        c.ws.ms(&["logs", s(&run), "long"])
            .stdout
            .contains("started")
    }));
    assert_eq!(c.ws.ms(&["cancel", s(&run), "long"]).code, 0);
    // Not "no log yet" forever: the cancelled job's log is brought back.
    let out = c.ws.ms(&["logs", s(&run), "long"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "started\n");
    assert!(run.join("tasks/long/.attempts/1/stdout").is_file());
}
