//! The SLURM operator on the testbed: a real slurmctld/slurmd reached
//! through a real sshd on 127.0.0.1 (scripts/testbed.sh).

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{ms_in, s, status, step_with_fault, task_status, wait_for, BIN};
use crate::testbed::{slurm_jobs_with_token, slurm_state, slurm_task, testbed, ClusterWs};

#[test]
fn a_chain_of_three_runs_on_slurm_and_its_outputs_arrive_locally() {
    let tb = testbed();
    let tasks = [
        slurm_task("prep", "echo 1.5 > x.dat; cat seed.txt >> x.dat", "inputs = [\"seed.txt\"]\noutputs = [\"x.dat\"]\ncores = 1\nmemory = \"64MB\"\nwalltime = \"5m\""),
        slurm_task("calc", "echo \"calc on $SLURM_JOB_ID with $OMP_NUM_THREADS\" > y.dat; echo to-stdout", "depends_on = [\"prep\"]\nenv = { OMP_NUM_THREADS = \"1\" }"),
        slurm_task("report", "echo done > report.txt", "depends_on = [\"calc\"]\noutputs = [\"report.txt\"]"),
    ]
    .concat();
    let c = ClusterWs::plain(&tb, &tasks);
    c.ws.file("seed.txt", "seed 42\n");
    let run = c.ws.init("chain");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED", "{st}");
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/prep/x.dat")).unwrap(),
        "1.5\nseed 42\n"
    );
    let y = std::fs::read_to_string(run.join("tasks/calc/y.dat")).unwrap();
    assert!(y.starts_with("calc on ") && y.ends_with(" with 1\n"), "{y}");
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/report/report.txt")).unwrap(),
        "done\n"
    );
    assert_eq!(c.ws.ms(&["logs", s(&run), "calc"]).stdout, "to-stdout\n");
    // The cluster keeps a record of every job, updated to its final state.
    let infos = c.job_infos();
    assert_eq!(infos.len(), 3);
    for info in &infos {
        assert_eq!(info["status"], "COMPLETED", "{info}");
        assert_eq!(info["exit_code"], 0);
        assert!(info["scheduler_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()));
    }
}

#[test]
fn a_job_that_exits_3_is_failed_with_exit_code_3() {
    let tb = testbed();
    let c = ClusterWs::plain(&tb, &slurm_task("bad", "echo oops >&2; exit 3", ""));
    let run = c.ws.init("r");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 1, "{out:?}");
    let st = status(&run);
    let t = task_status(&st, "bad");
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["exit_code"], 3);
    assert_eq!(
        c.ws.ms(&["logs", s(&run), "bad", "--stderr"]).stdout,
        "oops\n"
    );
    assert_eq!(c.job_infos()[0]["status"], "FAILED");
}

#[test]
fn cancel_of_a_running_job_reaches_slurm() {
    let tb = testbed();
    let c = ClusterWs::plain(&tb, &slurm_task("long", "sleep 300", ""));
    let run = c.ws.init("r");
    assert!(wait_for(Duration::from_secs(60), || {
        c.ws.ms(&["step", s(&run)]);
        c.job_infos()
            .first()
            .is_some_and(|i| i["status"] == "RUNNING")
    }));
    let token = c.job_infos()[0]["token"].as_str().unwrap().to_string();
    let jobs = slurm_jobs_with_token(&token);
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let out = c.ws.ms(&["cancel", s(&run), "long"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(wait_for(Duration::from_secs(30), || slurm_state(
        &jobs[0].0
    ) == "CANCELLED"));
    assert_eq!(task_status(&status(&run), "long")["status"], "CANCELLED");
    assert_eq!(c.job_infos()[0]["status"], "CANCELLED");
}

#[test]
fn a_job_over_its_walltime_is_timeout() {
    let tb = testbed();
    // SLURM enforces limits in whole minutes, so this test takes about one.
    let c = ClusterWs::plain(
        &tb,
        &slurm_task(
            "slow",
            "echo step 1000 > state.cpt; sleep 600",
            "walltime = \"1m\"",
        ),
    );
    let run = c.ws.init("r");
    let out = c.ws.ms(&["run", s(&run), "--poll", "2"]);
    assert_eq!(out.code, 1, "{out:?}");
    let st = status(&run);
    let t = task_status(&st, "slow");
    assert_eq!(t["status"], "FAILED");
    assert!(t["reason"].as_str().unwrap().starts_with("TIMEOUT"), "{t}");
    assert_eq!(c.job_infos()[0]["status"], "TIMEOUT");
    // What the job wrote before SLURM killed it (a checkpoint) is kept and
    // fetched back, so it can be restarted from.
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/slow/state.cpt")).unwrap(),
        "step 1000\n"
    );
}

#[test]
fn two_hundred_tasks_one_squeue_per_tick_one_ssh_connection() {
    let _conn = crate::testbed::CONN_KEY
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let tasks: String = (0..200)
        .map(|i| slurm_task(&format!("t{i}"), "true", ""))
        .collect();
    let c = ClusterWs::new(&tb, tb.port, &tb.conn_key, "", &tasks);
    let run = c.ws.init("r");
    let log = c.ws.path().join("transport.log");
    let sshd_log = tb.dir.join(format!("ssh/sshd_{}.log", tb.port));
    let before = std::fs::read_to_string(&sshd_log).unwrap_or_default().len();
    let out = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.5"])
        .current_dir(c.ws.path())
        .env("MATTERSTACK_TRANSPORT_LOG", &log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(status(&run)["counts"]["COMPLETED"], 200);
    let lines = std::fs::read_to_string(&log).unwrap();
    let mut per_tick = Vec::new();
    for l in lines.lines() {
        match l.split_whitespace().nth(2) {
            Some("tick") => per_tick.push(0),
            Some("squeue") => *per_tick.last_mut().expect("squeue inside a tick") += 1,
            _ => {}
        }
    }
    assert!(
        per_tick.iter().all(|n| *n <= 1),
        "more than one squeue in a tick: {per_tick:?}"
    );
    assert!(per_tick.iter().sum::<i32>() >= 1);
    // sshd accepted exactly one connection with this test's own key: the master.
    assert_eq!(
        crate::testbed::accepted_connections(&tb, &tb.conn_key, before),
        1,
        "SSH connections opened"
    );
}

#[test]
fn sync_rebuilds_twenty_jobs_into_an_empty_store() {
    let tb = testbed();
    let mut tasks: String = (0..19)
        .map(|i| slurm_task(&format!("j{i}"), "echo ok", ""))
        .collect();
    tasks.push_str(&slurm_task("j19", "exit 4", ""));
    let c = ClusterWs::plain(&tb, &tasks);
    let run = c.ws.init("lost");
    assert_eq!(c.ws.ms(&["run", s(&run), "--poll", "0.3"]).code, 1);
    let before = status(&run);
    std::fs::remove_dir_all(&run).unwrap();
    let listed = c.ws.ms(&["sync", "testbed", "--json"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    assert_eq!(listed.json().as_array().unwrap().len(), 20);
    let out = c.ws.ms(&["sync", "testbed", "--into", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    let after = status(&run);
    assert_eq!(after["counts"]["COMPLETED"], 19);
    assert_eq!(after["counts"]["FAILED"], 1);
    assert_eq!(task_status(&after, "j19")["exit_code"], 4);
    for i in 0..20 {
        let id = format!("j{i}");
        assert_eq!(
            task_status(&after, &id)["status"],
            task_status(&before, &id)["status"]
        );
        assert_eq!(task_status(&after, &id)["attempts"], 1);
    }
    // Syncing into an existing directory is refused.
    let again = c.ws.ms(&["sync", "testbed", "--into", s(&run)]);
    assert_eq!(again.code, 2);
}

/// Asserts every attempt the cluster recorded has exactly one SLURM job.
fn one_job_per_token(c: &ClusterWs) {
    for info in c.job_infos() {
        let token = info["token"].as_str().unwrap();
        let jobs = slurm_jobs_with_token(token);
        assert_eq!(jobs.len(), 1, "token {token}: {jobs:?}");
    }
}

#[test]
fn sshd_stopped_during_polling_then_back_loses_and_duplicates_nothing() {
    let _serial = crate::testbed::FAULT_SSHD
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let tasks: String = (0..4)
        .map(|i| slurm_task(&format!("p{i}"), "sleep 6; echo fine", ""))
        .collect();
    let c = ClusterWs::new(&tb, tb.fault_port, &tb.key, "", &tasks);
    let run = c.ws.init("r");
    let mut child = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.5"])
        .current_dir(c.ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_for(Duration::from_secs(60), || c.job_infos().len()
        == 4
        && c.job_infos().iter().all(|i| i["status"] == "RUNNING")));
    tb.stop_fault_sshd();
    std::thread::sleep(Duration::from_secs(8));
    assert!(
        child.try_wait().unwrap().is_none(),
        "run must keep trying while the cluster is away"
    );
    tb.start_fault_sshd();
    assert!(child.wait().unwrap().success());
    let st = status(&run);
    assert_eq!(st["counts"]["COMPLETED"], 4, "{st}");
    for t in st["tasks"].as_array().unwrap() {
        assert_eq!(t["attempts"], 1, "{t}");
    }
    one_job_per_token(&c);
}

#[test]
fn sshd_stopped_during_upload_then_back_loses_and_duplicates_nothing() {
    let _serial = crate::testbed::FAULT_SSHD
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let tasks: String = (0..2)
        .map(|i| {
            slurm_task(
                &format!("u{i}"),
                "cat big.dat | wc -c",
                "inputs = [\"big.dat\"]",
            )
        })
        .collect();
    let c = ClusterWs::new(&tb, tb.fault_port, &tb.key, "", &tasks);
    c.ws.file("big.dat", &"0123456789".repeat(100_000));
    let run = c.ws.init("r");
    tb.stop_fault_sshd();
    let mut child = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.5"])
        .current_dir(c.ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(status(&run)["counts"]["COMPLETED"], 0);
    tb.start_fault_sshd();
    assert!(child.wait().unwrap().success());
    let st = status(&run);
    assert_eq!(st["counts"]["COMPLETED"], 2, "{st}");
    for t in st["tasks"].as_array().unwrap() {
        assert_eq!(t["attempts"], 1, "{t}");
    }
    assert_eq!(c.ws.ms(&["logs", s(&run), "u0"]).stdout.trim(), "1000000");
    one_job_per_token(&c);
}

#[test]
fn a_step_killed_after_sbatch_before_commit_never_submits_twice() {
    let tb = testbed();
    let c = ClusterWs::plain(&tb, &slurm_task("once", "sleep 2; echo once", ""));
    let run = c.ws.init("r");
    assert!(
        !step_with_fault(c.ws.path(), &run, "MATTERSTACK_TEST_CRASH_AFTER_LAUNCH"),
        "the fault injection aborts the step"
    );
    let infos = c.job_infos();
    assert_eq!(infos.len(), 1);
    let token = infos[0]["token"].as_str().unwrap().to_string();
    assert_eq!(slurm_jobs_with_token(&token).len(), 1, "sbatch happened");
    // The store never heard of the job id; the next steps find it by token.
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        slurm_jobs_with_token(&token).len(),
        1,
        "not submitted again"
    );
    let st = status(&run);
    assert_eq!(task_status(&st, "once")["attempts"], 1);
    assert_eq!(c.ws.ms(&["logs", s(&run), "once"]).stdout, "once\n");
}

#[test]
fn bad_cluster_input_gets_specific_errors_and_submits_nothing() {
    let tb = testbed();
    // Unknown cluster: refused at init, nothing written.
    let c = ClusterWs::plain(
        &tb,
        &slurm_task("a", "true", "").replace("\"testbed\"", "\"nope\""),
    );
    let out = c.ws.ms(&["init", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("cluster \"nope\" is not defined (known: testbed)"),
        "{}",
        out.stderr
    );
    assert!(!c.ws.runs_dir_exists());
    // A task id with shell metacharacters never becomes a job name.
    let c = ClusterWs::plain(&tb, &slurm_task("a;rm -rf x", "true", ""));
    let out = c.ws.ms(&["init", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("task id \"a;rm -rf x\" contains the character ';'"),
        "{}",
        out.stderr
    );
    // Unreachable host: a transient error that says so.
    let c = ClusterWs::new(&tb, 1, &tb.key, "", "");
    let out = c.ws.ms(&["cluster", "test", "testbed"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("transient"), "{}", out.stderr);
    assert!(out.stderr.contains("refused"), "{}", out.stderr);
    // Refused key: a permanent error that says so.
    let c = ClusterWs::new(&tb, tb.port, &tb.wrong_key, "", "");
    let out = c.ws.ms(&["cluster", "test", "testbed"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("permanent"), "{}", out.stderr);
    assert!(out.stderr.to_lowercase().contains("auth"), "{}", out.stderr);
    // The right key works, and reports the partitions.
    let c = ClusterWs::plain(&tb, "");
    let out = c.ws.ms(&["cluster", "test", "testbed", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.json()["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "debug"));
    // A partition SLURM rejects: the task fails naming it; nothing stays queued or staged.
    let c = ClusterWs::plain(&tb, &slurm_task("p", "true", "partition = \"nosuchpart\""));
    let run = c.ws.init("r");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 1);
    let st = status(&run);
    let reason = task_status(&st, "p")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("SLURM refused") && reason.to_lowercase().contains("partition"),
        "{reason}"
    );
    assert!(
        c.job_infos().is_empty(),
        "the staged job directory was removed"
    );
    let _ = ms_in(c.ws.path(), &["status", s(&run)]);
}

#[test]
fn a_cluster_can_replace_the_job_script_with_its_own_template() {
    let tb = testbed();
    let c = ClusterWs::new(
        &tb,
        tb.port,
        &tb.key,
        "job_template = \"slurm/site\"",
        &slurm_task("t", "echo site-ok", ""),
    );
    c.ws.file(
        "templates/slurm/site/template.toml",
        r#"name = "slurm/site"
description = "This site's job script"
program = "slurm"
files = ["job.sh"]
command = "sbatch job.sh"

[[parameters]]
name = "job_name"
type = "string"
required = true

[[parameters]]
name = "command"
type = "string"
multiline = true
required = true

[[parameters]]
name = "output"
type = "string"
required = true

[[parameters]]
name = "error"
type = "string"
required = true
"#,
    );
    c.ws.file(
        "templates/slurm/site/job.sh",
        "#!/bin/bash\n#SBATCH --job-name={{ job_name }}\n#SBATCH --output={{ output }}\n#SBATCH --error={{ error }}\n# SITE POLICY HEADER\n{{ command }}\n",
    );
    let run = c.ws.init("r");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    let script = std::fs::read_to_string(run.join("tasks/t/.attempts/1/job.sh")).unwrap();
    assert!(script.contains("# SITE POLICY HEADER"), "{script}");
    assert_eq!(c.ws.ms(&["logs", s(&run), "t"]).stdout, "site-ok\n");
    assert_eq!(c.job_infos()[0]["status"], "COMPLETED");
    // A profile naming a template that does not exist is refused at init.
    let c = ClusterWs::new(
        &tb,
        tb.port,
        &tb.key,
        "job_template = \"slurm/nope\"",
        &slurm_task("t", "true", ""),
    );
    let out = c.ws.ms(&["init", "."]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("job_template"), "{}", out.stderr);
}

fn ssh_task(id: &str, command: &str, extra: &str) -> String {
    slurm_task(id, command, extra).replace("operator = \"slurm\"", "operator = \"ssh\"")
}

#[test]
fn the_ssh_operator_runs_tasks_directly_on_the_host() {
    let tb = testbed();
    let tasks = [
        ssh_task("a", "echo from-a > a.out", "outputs = [\"a.out\"]"),
        ssh_task(
            "b",
            "echo b-err >&2; exit 5",
            "depends_on = [\"a\"]\nallow_failure = true",
        ),
        ssh_task("long", "sleep 300", ""),
    ]
    .concat();
    let c = ClusterWs::new(&tb, tb.port, &tb.key, "scheduler = \"none\"", &tasks);
    let run = c.ws.init("r");
    // a and b finish; long is cancelled once it runs.
    assert!(wait_for(Duration::from_secs(60), || {
        c.ws.ms(&["step", s(&run)]);
        let st = status(&run);
        task_status(&st, "b")["status"] == "FAILED"
            && task_status(&st, "long")["status"] == "RUNNING"
    }));
    let st = status(&run);
    assert_eq!(task_status(&st, "a")["status"], "COMPLETED");
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/a/a.out")).unwrap(),
        "from-a\n"
    );
    assert_eq!(task_status(&st, "b")["exit_code"], 5);
    assert_eq!(
        c.ws.ms(&["logs", s(&run), "b", "--stderr"]).stdout,
        "b-err\n"
    );
    let info = c
        .job_infos()
        .into_iter()
        .find(|i| i["task"] == "long")
        .unwrap();
    let claim = std::path::Path::new(info["project_dir"].as_str().unwrap()).join("claim");
    let pid: i32 = std::fs::read_to_string(&claim)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(c.ws.ms(&["cancel", s(&run), "long"]).code, 0);
    assert!(wait_for(Duration::from_secs(10), || !std::path::Path::new(
        &format!("/proc/{pid}")
    )
    .exists()
        || std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.contains(") Z"))));
    assert_eq!(task_status(&status(&run), "long")["status"], "CANCELLED");
}

#[test]
fn uploads_show_a_progress_line_on_a_terminal_only() {
    let tb = testbed();
    let c = ClusterWs::plain(
        &tb,
        &slurm_task("t", "wc -c < big.bin > size.txt", "inputs = [\"big.bin\"]"),
    );
    c.ws.file("big.bin", &"x".repeat(3_000_000));
    // On a terminal (a pty from `script`): rsync's totals, redrawn in place.
    let run = c.ws.init("tty");
    let out = Command::new("script")
        .args(["-qec", &format!("{BIN} step {}", s(&run)), "/dev/null"])
        .current_dir(c.ws.path())
        .output()
        .expect("script (util-linux) runs the step on a pty");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("upload ") && text.contains("100%"),
        "no progress line on a terminal: {text}"
    );
    // Not a terminal: nothing but the step's own line.
    let run2 = c.ws.init("pipe");
    let out = c.ws.ms(&["step", s(&run2)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stderr.contains("100%"), "{}", out.stderr);
    assert!(wait_for(Duration::from_secs(60), || {
        c.ws.ms(&["step", s(&run)]);
        status(&run)["status"] == "COMPLETED"
    }));
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/t/size.txt"))
            .unwrap()
            .trim(),
        "3000000"
    );
}
