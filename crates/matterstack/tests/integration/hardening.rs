//! The smaller findings of issue 10 (finding 12): a garbled claim, an empty
//! planner, a planner's children on timeout, huge answers, a file that is
//! not a store.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{s, status, task_status, wait_for, Workspace};

#[test]
fn f12_a_garbled_claim_with_a_dead_wrapper_is_lost_and_the_run_ends() {
    let ws = Workspace::new(
        "[[tasks]]\nid = \"t\"\ncommand = \"test -f ../../../../once && exit 0; touch ../../../../once; sleep 60\"\n",
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["step", s(&run)]).code, 0);
    let claim = run.join("tasks/t/.attempts/1/claim");
    assert!(
        wait_for(Duration::from_secs(10), || std::fs::read_to_string(&claim)
            .is_ok_and(|c| c.split_whitespace().count() == 2)),
        "the wrapper never claimed the attempt"
    );
    let pid: i32 = std::fs::read_to_string(&claim)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // SAFETY: kill(2) on the process group of the wrapper this test started.
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    std::fs::write(&claim, "\u{0}garbage").unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let mut child = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let ended = loop {
        if child.try_wait().unwrap().is_some() {
            break true;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(ended, "`run` never ended: {}", status(&run));
    let st = status(&run);
    assert_ne!(task_status(&st, "t")["status"], "RUNNING", "{st}");
}

#[test]
fn f12_an_empty_planner_is_refused_at_init() {
    for planner in ["[]", "[\"\"]", "\"  \""] {
        let ws = Workspace::new(&format!(
            "[run]\nplanner = {planner}\n[[tasks]]\nid = \"t\"\ncommand = \"true\"\n"
        ));
        let out = ws.ms(&["init", "."]);
        assert_eq!(out.code, 2, "{planner}: {out:?}");
        assert!(
            out.stderr.contains("[run] planner") && out.stderr.contains("e.g. planner"),
            "{planner}: {}",
            out.stderr
        );
        assert!(!ws.runs_dir_exists());
    }
}

#[test]
fn f12_a_planner_timeout_kills_the_children_it_started() {
    let ws = Workspace::new(
        "[run]\nplanner = \"sh plan.sh\"\nplanner_timeout_s = 1\n[[tasks]]\nid = \"t\"\ncommand = \"true\"\n",
    );
    ws.file("plan.sh", "sleep 300 &\necho $! > child.pid\nwait\n");
    let run = ws.init("r");
    let _ = ws.ms(&["run", s(&run)]);
    let st = status(&run);
    assert_eq!(st["status"], "PAUSED", "{st}");
    let pid: i32 = std::fs::read_to_string(ws.path().join("child.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let gone = wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    assert!(gone, "the planner's child {pid} outlived the timeout");
}

#[test]
fn f12_a_response_over_one_mib_is_refused_and_the_store_does_not_grow() {
    let ws = Workspace::new(
        "[[tasks]]\nid = \"ask\"\noperator = \"human\"\ninstructions = \"x\"\nschema = { type = \"object\" }\n",
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 3);
    let before = std::fs::metadata(run.join("state.sqlite")).unwrap().len();
    let big = "x".repeat(2 << 20);
    let body = serde_json::json!({"status": "COMPLETED", "data": {"s": big}, "error": null});
    ws.file("answer.json", &body.to_string());
    let out = ws.ms(&["respond", s(&run), "ask", "--file", "answer.json"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("1024 KiB"), "{}", out.stderr);
    let _ = ws.ms(&["step", s(&run)]);
    assert_eq!(
        task_status(&status(&run), "ask")["status"],
        "WAITING_EXTERNAL"
    );
    let after = std::fs::metadata(run.join("state.sqlite")).unwrap().len();
    assert!(after < before + (1 << 20), "{before} -> {after}");
}

#[test]
fn f12_an_empty_or_foreign_state_sqlite_is_refused_and_left_unchanged() {
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("state.sqlite");
    std::fs::write(&file, "").unwrap();
    let out = crate::support::ms_in(d.path(), &["status", s(d.path())]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("not a matterstack store"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        0,
        "a schema was written"
    );
    std::fs::write(&file, "just text, not a database at all").unwrap();
    let out = crate::support::ms_in(d.path(), &["step", s(d.path())]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "just text, not a database at all"
    );
}
