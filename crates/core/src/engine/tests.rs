//! The crash windows of a tick, made deterministic: each test leaves the
//! store exactly as a `step` killed at that point would, then ticks again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::app::{self, InitOptions};
use crate::operators::local::LocalOperator;
use crate::operators::Operator;

fn ops() -> Operators {
    Operators::new("r", Default::default(), Default::default())
}

fn workspace(dir: &Path, count_file: &Path) -> PathBuf {
    std::fs::write(
        dir.join("matterstack.toml"),
        format!(
            "[[tasks]]\nid = \"t\"\ncommand = \"echo ran >> '{}'\"\n",
            count_file.display()
        ),
    )
    .unwrap();
    app::init(
        dir,
        &InitOptions {
            run_id: Some("r".into()),
        },
    )
    .unwrap()
}

/// Phase 1 only: the attempt is recorded, nothing launched.
fn record_attempt(store: &mut Store) -> (i64, String) {
    store
        .write(|tx| {
            let task = tx.task("t")?.unwrap();
            tx.insert_attempt("t", 1, "tok-crash", "local", None)?;
            tx.set_task("t", task.status.on(Event::Launched)?, None, None)?;
            Ok((tx.last_insert_rowid(), "tok-crash".to_string()))
        })
        .unwrap()
}

fn tick_until_done(run: &Path) -> TickReport {
    for _ in 0..300 {
        let mut store = Store::open(&run.join("state.sqlite")).unwrap();
        let mut last = tick(&mut store, run, &ops()).unwrap();
        for mut c in last.children.drain(..) {
            c.wait().unwrap();
        }
        if last.run_state() != RunState::Running {
            return last;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("run did not finish");
}

fn attempts_of_t(run: &Path) -> Vec<crate::store::AttemptRow> {
    let mut store = Store::open(&run.join("state.sqlite")).unwrap();
    store.read(|tx| tx.attempts_of("t")).unwrap()
}

#[test]
fn killed_after_recording_before_launch_the_next_tick_launches_once() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    let run = workspace(dir.path(), &count);
    record_attempt(&mut Store::open(&run.join("state.sqlite")).unwrap());
    let report = tick_until_done(&run);
    assert_eq!(report.run_state(), RunState::Completed);
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "ran\n");
    let attempts = attempts_of_t(&run);
    assert_eq!(
        attempts.len(),
        1,
        "the recorded attempt was reused, not duplicated"
    );
    assert_eq!(attempts[0].token, "tok-crash");
    assert_eq!(attempts[0].status, AttemptStatus::Completed);
}

#[test]
fn killed_after_launch_before_recording_the_pid_the_next_tick_adopts() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    let run = workspace(dir.path(), &count);
    let mut store = Store::open(&run.join("state.sqlite")).unwrap();
    let (_, token) = record_attempt(&mut store);
    let spec = store.read(|tx| Ok(tx.task("t")?.unwrap().spec)).unwrap();
    drop(store);
    // The launch happened, then the process died before phase 3.
    let a = AttemptRef {
        run_dir: &run,
        task_id: "t",
        n: 1,
        token: &token,
        external_id: None,
        outputs: &[],
    };
    LocalOperator
        .launch(&a, &spec)
        .unwrap()
        .child
        .unwrap()
        .wait()
        .unwrap();
    let report = tick_until_done(&run);
    assert_eq!(report.run_state(), RunState::Completed);
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "ran\n");
    assert_eq!(attempts_of_t(&run).len(), 1);
}

#[test]
fn a_live_adopted_attempt_is_not_launched_again() {
    let dir = tempfile::tempdir().unwrap();
    let count = dir.path().join("count");
    std::fs::write(
        dir.path().join("matterstack.toml"),
        format!(
            "[[tasks]]\nid = \"t\"\ncommand = \"sleep 0.5; echo ran >> '{}'\"\n",
            count.display()
        ),
    )
    .unwrap();
    let run = app::init(
        dir.path(),
        &InitOptions {
            run_id: Some("r".into()),
        },
    )
    .unwrap();
    let mut store = Store::open(&run.join("state.sqlite")).unwrap();
    let (_, token) = record_attempt(&mut store);
    let spec = store.read(|tx| Ok(tx.task("t")?.unwrap().spec)).unwrap();
    let a = AttemptRef {
        run_dir: &run,
        task_id: "t",
        n: 1,
        token: &token,
        external_id: None,
        outputs: &[],
    };
    let mut child = LocalOperator.launch(&a, &spec).unwrap().child.unwrap();
    // Give the wrapper time to claim, then tick while the command sleeps.
    std::thread::sleep(Duration::from_millis(150));
    let report = tick(&mut store, &run, &ops()).unwrap();
    assert_eq!(report.adopted, 1);
    assert_eq!(report.launched, 0);
    child.wait().unwrap();
    tick_until_done(&run);
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "ran\n");
}
