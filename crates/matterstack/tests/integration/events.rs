//! The change feed: a face polling `events --since` while several processes
//! step one run sees every task and attempt transition once, in order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{ms_in, s, status, Workspace};

fn poll(run: &std::path::Path, cursor: i64) -> Vec<serde_json::Value> {
    let out = ms_in(
        run,
        &["events", s(run), "--since", &cursor.to_string(), "--json"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    out.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_face_polling_events_sees_every_transition_of_a_run_stepped_by_four_processes() {
    // Twelve tasks: three chains of four, each appending its id once.
    let mut toml = String::from("[run]\ncores = 4\n");
    for c in 0..3 {
        for i in 0..4 {
            let dep = if i > 0 {
                format!("depends_on = [\"c{c}t{}\"]\n", i - 1)
            } else {
                String::new()
            };
            toml.push_str(&format!(
                "[[tasks]]\nid = \"c{c}t{i}\"\ncommand = \"sleep 0.2; echo c{c}t{i} >> ../../ran.txt\"\n{dep}"
            ));
        }
    }
    let ws = Workspace::new(&toml);
    let run = ws.init("r");
    let seen = Arc::new(Mutex::new(Vec::<serde_json::Value>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let face = {
        let (run, seen, stop) = (run.clone(), seen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut cursor = 0;
            loop {
                let last = stop.load(Ordering::SeqCst);
                let batch = poll(&run, cursor);
                if let Some(c) = batch.last() {
                    cursor = c["id"].as_i64().unwrap();
                }
                seen.lock().unwrap().extend(batch);
                if last {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    // Three processes stepping in a loop and one `watch`, all on one run.
    let mut steppers: Vec<std::process::Child> = (0..3)
        .map(|_| {
            std::process::Command::new("sh")
                .args([
                    "-c",
                    &format!(
                        "for i in $(seq 60); do {} step {} >/dev/null 2>&1; sleep 0.1; done",
                        crate::support::BIN,
                        s(&run)
                    ),
                ])
                .spawn()
                .unwrap()
        })
        .collect();
    let out = ms_in(&run, &["watch", s(&run), "--poll", "0.2"]);
    assert_eq!(out.code, 0, "{out:?}");
    for p in &mut steppers {
        let _ = p.kill();
        let _ = p.wait();
    }
    stop.store(true, Ordering::SeqCst);
    face.join().unwrap();

    let seen = seen.lock().unwrap().clone();
    // Everything the feed holds, once, in order: the face missed nothing.
    let all = poll(&run, 0);
    assert_eq!(seen, all, "the polled feed equals the whole feed");
    let ids: Vec<i64> = seen.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // Per task: its states in a valid order, one attempt, run once.
    let mut per_task: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &seen {
        let what = match c["kind"].as_str().unwrap() {
            "task" => format!("task {}", c["status"].as_str().unwrap()),
            _ => format!("attempt {} {}", c["n"], c["status"].as_str().unwrap()),
        };
        per_task
            .entry(c["task"].as_str().unwrap().to_string())
            .or_default()
            .push(what);
    }
    assert_eq!(per_task.len(), 12);
    for (task, changes) in &per_task {
        assert!(
            matches!(changes[0].as_str(), "task PENDING" | "task READY"),
            "{task}: {changes:?}"
        );
        assert_eq!(
            changes.last().map(String::as_str),
            Some("task COMPLETED"),
            "{task}: {changes:?}"
        );
        let attempts: Vec<&String> = changes
            .iter()
            .filter(|c| c.starts_with("attempt"))
            .collect();
        assert_eq!(
            attempts,
            [
                "attempt 1 CREATED",
                "attempt 1 RUNNING",
                "attempt 1 COMPLETED"
            ],
            "{task}: {changes:?}"
        );
        let at = |s: &str| changes.iter().position(|c| c == s).unwrap();
        assert!(
            at("task RUNNING") < at("task COMPLETED"),
            "{task}: {changes:?}"
        );
        assert!(
            at("attempt 1 COMPLETED") < at("task COMPLETED"),
            "{task}: {changes:?}"
        );
    }
    let ran = std::fs::read_to_string(run.join("ran.txt")).unwrap();
    let mut lines: Vec<&str> = ran.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines.len(), 12, "each task ran exactly once: {ran}");
    lines.dedup();
    assert_eq!(lines.len(), 12, "{ran}");
    assert_eq!(status(&run)["status"], "COMPLETED");
}
