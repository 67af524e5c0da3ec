//! Fixing a failed task: `retry` with other resources (recorded per
//! attempt, in the lineage and the evidence), `retry <sweep>` for its failed
//! points, and a run whose workspace copy was edited refuses to step.

use crate::support::{s, status, task_status, Workspace};
use crate::testbed::{slurm_task, testbed, ClusterWs};

fn attempts_of(ev: &serde_json::Value, task: &str) -> Vec<serde_json::Value> {
    ev["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == task)
        .unwrap_or_else(|| panic!("no task {task}"))["attempts"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn retry_with_another_partition_after_slurm_refused_one_succeeds_and_both_are_evidence() {
    let tb = testbed();
    let c = ClusterWs::plain(
        &tb,
        &slurm_task(
            "p",
            "echo ok > o.txt",
            "partition = \"nosuchpart\"\noutputs = [\"o.txt\"]",
        ),
    );
    let run = c.ws.init("r");
    assert_eq!(c.ws.ms(&["run", s(&run), "--poll", "0.3"]).code, 1);
    let st = status(&run);
    assert_eq!(task_status(&st, "p")["status"], "FAILED", "{st}");

    // Bad changes: exit 2 naming the flag, nothing changed.
    for (args, needle) in [
        (vec!["--walltime", "soon"], "--walltime \"soon\""),
        (vec!["--memory", "lots"], "--memory \"lots\""),
        (vec!["--partition", "x;rm -rf ~"], "partition"),
    ] {
        let mut all = vec!["retry", s(&run), "p"];
        all.extend(args);
        let out = c.ws.ms(&all);
        assert_eq!(out.code, 2, "{out:?}");
        assert!(out.stderr.contains(needle), "{needle}: {}", out.stderr);
    }
    assert_eq!(task_status(&status(&run), "p")["status"], "FAILED");

    let out = c.ws.ms(&["retry", s(&run), "p", "--partition", "debug"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/p/o.txt")).unwrap(),
        "ok\n"
    );
    let ex = c.ws.ms(&["explain", s(&run), "p", "--json"]).json();
    assert_eq!(
        ex["lineage"],
        serde_json::json!(["run", "retry of 1 with partition debug"]),
        "{ex}"
    );
    // The evidence shows both attempts with their partitions.
    assert_eq!(c.ws.ms(&["export-evidence", s(&run)]).code, 0);
    let ev: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("evidence/evidence.json")).unwrap())
            .unwrap();
    let a = attempts_of(&ev, "p");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0]["status"], "FAILED");
    assert_eq!(a[0]["resources"]["partition"], "nosuchpart");
    assert_eq!(a[1]["status"], "COMPLETED");
    assert_eq!(a[1]["resources"]["partition"], "debug");
    assert_eq!(a[1]["lineage"], "retry of 1 with partition debug");
    let md = std::fs::read_to_string(run.join("evidence/report.md")).unwrap();
    assert!(
        md.contains("partition nosuchpart") && md.contains("partition debug"),
        "{md}"
    );
}

#[test]
fn retry_of_a_sweep_reruns_its_failed_points_only() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "scan"
command = "test -e ../../ok || [ {{ i }} -ne 2 ] && echo {{ i }} > v.txt"
sweep = { i = [1, 2, 3] }
"#,
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    let st = status(&run);
    assert_eq!(task_status(&st, "scan.i-2")["status"], "FAILED", "{st}");
    assert_eq!(task_status(&st, "scan.i-1")["status"], "COMPLETED");
    // The point's problem is fixed; the sweep's failed points go again.
    std::fs::write(run.join("ok"), "").unwrap();
    let out = ws.ms(&["retry", s(&run), "scan"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.trim(),
        "scan.i-2 will run again at the next step"
    );
    assert_eq!(ws.ms(&["run", s(&run)]).code, 0);
    let st = status(&run);
    for i in 1..=3 {
        let t = task_status(&st, &format!("scan.i-{i}"));
        assert_eq!(t["status"], "COMPLETED", "{t}");
        assert_eq!(t["attempts"], if i == 2 { 2 } else { 1 }, "{t}");
    }
    // Nothing left to retry: said so, exit 2.
    let out = ws.ms(&["retry", s(&run), "scan"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no FAILED"), "{}", out.stderr);
}

#[test]
fn an_edit_of_the_runs_workspace_copy_is_refused_loudly_not_ignored() {
    let ws = Workspace::new("[[tasks]]\nid = \"a\"\ncommand = \"echo one > o.txt\"\n");
    let run = ws.init("r");
    let copy = run.join("matterstack.toml");
    let original = std::fs::read_to_string(&copy).unwrap();
    std::fs::write(&copy, original.replace("one", "two")).unwrap();
    let out = ws.ms(&["step", s(&run)]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("edited after `init`") && out.stderr.contains("retry"),
        "{}",
        out.stderr
    );
    assert_eq!(
        task_status(&status(&run), "a")["attempts"],
        0,
        "nothing ran"
    );
    // Put back, the run goes on with what was recorded.
    std::fs::write(&copy, &original).unwrap();
    assert_eq!(ws.ms(&["run", s(&run)]).code, 0);
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/a/o.txt")).unwrap(),
        "one\n"
    );
}
