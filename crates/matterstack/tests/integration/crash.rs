//! Crash safety (GUIDE §4 invariants 1, 2, 6): `run` is SIGKILLed at random
//! moments and restarted until done; every task's command still runs
//! exactly once.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{s, status, Workspace};

/// A 50-task DAG: task i depends on i-1 and i/2 (when distinct), so there
/// is parallel work and long chains. Every task appends its id to one file.
fn dag_toml(shared: &str) -> String {
    let mut t = String::from("[run]\ncores = 4\n");
    for i in 0..50 {
        let mut deps = Vec::new();
        if i > 0 {
            deps.push(format!("\"t{}\"", i - 1));
        }
        if i > 2 && i / 2 != i - 1 {
            deps.push(format!("\"t{}\"", i / 2));
        }
        t.push_str(&format!(
            "[[tasks]]\nid = \"t{i}\"\ncommand = \"sleep 0.0{d}; echo t{i} >> '{shared}'\"\ndepends_on = [{}]\n",
            deps.join(", "),
            d = i % 7 + 1
        ));
    }
    t
}

/// A small deterministic generator, seeded from the clock (the seed is
/// printed so a failure can be replayed with MS_CRASH_SEED).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_runs_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = tmp.path().join("shared.txt");
    let ws = Workspace::new(&dag_toml(s(&shared)));
    let run = ws.init("crash");
    let seed = std::env::var("MS_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("crash test seed: {seed}");
    let mut rng = Lcg(seed);
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            Instant::now() < deadline,
            "the run did not finish (seed {seed})"
        );
        let mut child = crate::support::ms_command()
            .args(["run", s(&run), "--poll", "0.05"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if kills < 8 {
            std::thread::sleep(Duration::from_millis(rng.next(250) + 5));
            // SIGKILL: no destructors, no cleanup, lock released by the kernel.
            let _ = child.kill();
            child.wait().unwrap();
            kills += 1;
            continue;
        }
        let st = child.wait().unwrap();
        assert!(st.success(), "final run failed (seed {seed})");
        break;
    }
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED", "{st}");
    for t in st["tasks"].as_array().unwrap() {
        assert_eq!(t["status"], "COMPLETED", "{t}");
        assert_eq!(t["attempts"], 1, "no task needed a second attempt: {t}");
    }
    let text = std::fs::read_to_string(&shared).unwrap();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for line in text.lines() {
        *seen.entry(line).or_default() += 1;
    }
    assert_eq!(seen.len(), 50, "every task ran (seed {seed}): {seen:?}");
    assert!(
        seen.values().all(|n| *n == 1),
        "a task ran twice (seed {seed}): {seen:?}"
    );
}
