//! `export-evidence`: the bundle of a real run (a retried task, real xtb
//! results, a dependent task fed by files_from), checked against what the
//! run left on disk and against hashes computed by `sha256sum`; a run that
//! is still running (with its lock held); and paths that are not runs.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{ms_in, s, status, task_ids, task_status, Workspace};

fn need(program: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test runs {program}: install it with `bash scripts/testbed.sh`"
    );
}

/// SHA-256 of a file as `sha256sum` computes it (independent of matterstack).
fn sha256sum(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn task<'a>(ev: &'a Value, id: &str) -> &'a Value {
    ev["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no task {id} in evidence.json"))
}

fn file<'a>(list: &'a Value, path: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no file {path} in {list}"))
}

const WORKFLOW: &str = r#"
[run]
cores = 2

[[tasks]]
id = "flaky"
command = "test -e tried || { touch tried; echo first try fails >&2; exit 3; }; echo ok > out.txt"
retries = 1

[[tasks]]
id = "water"
template = "xtb/sp"

[[tasks]]
id = "water-gfn1"
template = "xtb/sp"
params = { gfn = "1" }

[[tasks]]
id = "summary"
depends_on = ["water", "flaky"]
files_from = { water = ["output.out"] }
command = "grep 'TOTAL ENERGY' output.out > energy.txt"
"#;

#[test]
fn the_bundle_records_every_attempt_with_lineage_hashes_results_and_a_timeline() {
    need("xtb");
    let ws = Workspace::new(WORKFLOW);
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");

    let out = ws.ms(&["export-evidence", s(&run), "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let summary = out.json();
    let dir = run.join("evidence");
    assert_eq!(summary["dir"], s(&dir));
    assert_eq!(summary["tasks"], 4);
    assert_eq!(summary["attempts"], 5);
    assert_eq!(summary["counts"]["COMPLETED"], 4);

    let ev = read_json(&dir.join("evidence.json"));
    assert_eq!(ev["schema"], "matterstack.evidence/1");
    assert_eq!(ev["run"]["id"], "r");
    assert_eq!(ev["run"]["status"], "COMPLETED");
    assert_eq!(ev["run"]["matterstack_version"], env!("CARGO_PKG_VERSION"));
    let ids = task_ids(&ev);
    assert_eq!(ids, ["flaky", "water", "water-gfn1", "summary"]);

    // Lineage: attempt 2 of the flaky task is a retry of attempt 1.
    let flaky = task(&ev, "flaky");
    let a = flaky["attempts"].as_array().unwrap();
    assert_eq!(a.len(), 2, "{flaky}");
    assert_eq!(
        (&a[0]["n"], &a[0]["kind"], &a[0]["parent"], &a[0]["status"]),
        (&1.into(), &"run".into(), &Value::Null, &"FAILED".into())
    );
    assert_eq!(a[0]["exit_code"], 3);
    assert_eq!(
        (&a[1]["n"], &a[1]["kind"], &a[1]["parent"], &a[1]["status"]),
        (&2.into(), &"retry".into(), &1.into(), &"COMPLETED".into())
    );
    // Every attempt of every task is there, with its timings and host.
    let st = status(&run);
    for id in ids.iter().copied() {
        let t = task(&ev, id);
        let attempts = t["attempts"].as_array().unwrap();
        assert_eq!(
            attempts.len() as u64,
            task_status(&st, id)["attempts"].as_u64().unwrap()
        );
        for at in attempts {
            assert!(at["queued_at"].is_string() && at["started_at"].is_string());
            assert!(at["ended_at"].is_string() && at["run_s"].as_f64().unwrap() >= 0.0);
            assert_eq!(at["operator"], "local");
            assert!(at["external_id"].is_string(), "{at}");
            assert!(at["host"].is_string(), "{at}");
            // The attempt's own logs are listed with their hashes.
            assert!(at["logs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["path"] == "stdout"));
        }
        if id != "flaky" {
            assert_eq!(attempts[0]["kind"], "run");
        }
    }
    let stderr1 = run.join("tasks/flaky/.attempts/1/stderr");
    assert_eq!(
        file(&a[0]["logs"], "stderr")["sha256"],
        sha256sum(&stderr1).as_str()
    );

    // Output hashes match an independent computation; inputs are told apart.
    let water = task(&ev, "water");
    let output = run.join("tasks/water/output.out");
    let entry = file(&water["outputs"], "output.out");
    assert_eq!(entry["sha256"], sha256sum(&output).as_str());
    assert_eq!(entry["size"], std::fs::metadata(&output).unwrap().len());
    file(&water["inputs"], "structure.xyz");
    let staged = file(&task(&ev, "summary")["inputs"], "output.out");
    assert_eq!(staged["sha256"], sha256sum(&output).as_str());
    file(&task(&ev, "summary")["outputs"], "energy.txt");
    assert!(water["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| !f["path"].as_str().unwrap().starts_with(".attempts")));

    // Results and program versions.
    assert_eq!(
        water["results"]["final_energy"],
        task_status(&st, "water")["results"]["final_energy"]
    );
    assert!(water["command"].as_str().unwrap().starts_with("xtb "));
    let parsed = ev["software"]["parsed"].as_array().unwrap();
    assert!(parsed
        .iter()
        .any(|p| p["task"] == "water" && p["program"] == "xtb" && p["version"].is_string()));
    let programs = ev["software"]["programs"].as_array().unwrap();
    let xtb = programs
        .iter()
        .find(|p| p["name"] == "xtb")
        .expect("xtb probed");
    assert!(xtb["version"].as_str().unwrap().contains("6."), "{xtb}");
    assert!(ev["events"].is_array());

    // The page: one timeline bar per attempt, the retry arrow, a plot of
    // the energies, nothing loaded from elsewhere.
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg class=\"timeline\""));
    assert_eq!(html.matches("<rect class=\"bar ").count(), 5);
    assert!(html.contains(r#"class="bar COMPLETED" data-task="flaky" data-attempt="2""#));
    assert_eq!(html.matches("class=\"lineage\"").count(), 1);
    assert!(html.contains("aria-label=\"final_energy across tasks\""));
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "<script",
        "<link",
    ] {
        assert!(!html.contains(bad), "report.html has {bad}");
    }
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for id in ids {
        assert!(md.contains(&format!("| `{id}` |")), "report.md lacks {id}");
    }
    assert!(md.contains("| 2 | retry | #1 | COMPLETED |"), "{md}");

    // A second export replaces the first and leaves nothing else behind.
    std::fs::write(dir.join("stale"), "x").unwrap();
    let out = ws.ms(&["export-evidence", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("run r COMPLETED: 4 task(s)"), "{out:?}");
    assert_eq!(out.last_line(), s(&dir));
    assert!(!dir.join("stale").exists());
    let hidden: Vec<_> = std::fs::read_dir(&run)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".evidence"))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn a_running_run_is_exported_without_waiting_for_its_lock() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "long"
command = "echo started; sleep 60"
"#,
    );
    let run = ws.init("r");
    let out = ws.ms(&["step", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    // Another process holds the run (as a step does while it ticks).
    let lock = matterstack_core::engine::RunLock::acquire(&run).unwrap();
    let mut child = crate::support::ms_command()
        .args(["export-evidence", s(&run)])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if t.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(lock);
    let cancel = ws.ms(&["cancel", s(&run)]);
    assert_eq!(
        code,
        Some(0),
        "export did not finish in 20 s while the lock was held"
    );
    assert_eq!(cancel.code, 0, "{cancel:?}");
    let ev = read_json(&run.join("evidence/evidence.json"));
    assert_eq!(ev["run"]["status"], "RUNNING");
    let t = task(&ev, "long");
    assert_eq!(t["status"], "RUNNING");
    let a = &t["attempts"][0];
    assert!(a["status"] == "RUNNING" || a["status"] == "CREATED", "{a}");
    assert_eq!(a["ended_at"], Value::Null);
    let html = std::fs::read_to_string(run.join("evidence/report.html")).unwrap();
    assert_eq!(html.matches("<rect class=\"bar ").count(), 1);
}

#[test]
fn a_path_that_is_not_a_run_exits_2_and_writes_nothing() {
    let ws = Workspace::new("[[tasks]]\nid = \"a\"\ncommand = \"true\"\n");
    let missing = ws.path().join("runs/nope");
    let out = ws.ms(&["export-evidence", s(&missing)]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("not a run directory"), "{out:?}");
    assert!(!ws.runs_dir_exists());

    // The workspace itself is not a run either.
    let out = ms_in(ws.path(), &["export-evidence", "."]);
    assert_eq!(out.code, 2, "{out:?}");
    let names: Vec<String> = std::fs::read_dir(ws.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["matterstack.toml"]);
}
