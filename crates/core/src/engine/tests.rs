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

/// A run with one task `t` (its extra TOML lines given) and an attempt
/// recorded and started, as a tick would leave it.
fn started(dir: &Path, extra: &str) -> (PathBuf, Store, i64) {
    std::fs::write(
        dir.join("matterstack.toml"),
        format!("[[tasks]]\nid = \"t\"\ncommand = \"true\"\noperator = \"slurm\"\ncluster = \"hpc\"\n{extra}\n[[tasks]]\nid = \"after\"\ncommand = \"true\"\ndepends_on = [\"t\"]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("clusters.toml"),
        "[clusters.hpc]\nhost = \"h\"\nproject_root = \"/p\"\nscratch_root = \"/s\"\n",
    )
    .unwrap();
    let run = app::init(
        dir,
        &InitOptions {
            run_id: Some("r".into()),
        },
    )
    .unwrap();
    let mut store = Store::open(&run.join("state.sqlite")).unwrap();
    let id = start_attempt(&mut store);
    (run, store, id)
}

fn start_attempt(store: &mut Store) -> i64 {
    store
        .write(|tx| {
            let task = tx.task("t")?.unwrap();
            let n = task.attempts + 1;
            let id = tx.insert_attempt("t", n, &format!("tok-{n}"), "slurm@hpc", None)?;
            tx.set_task("t", task.status.on(Event::Launched)?, None, None)?;
            Ok(id)
        })
        .unwrap()
}

fn end_with(store: &mut Store, attempt: i64, outcome: Outcome) -> TaskStatus {
    store
        .write(|tx| {
            finish(tx, attempt, "t", outcome, None, None)?;
            Ok(tx.task("t")?.unwrap().status)
        })
        .unwrap()
}

#[test]
fn infrastructure_failures_are_resubmitted_within_their_own_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (_run, mut store, a1) = started(dir.path(), "transient_retries = 2");
    let node_fail = || Outcome::Transient(None, "NODE_FAIL: reported by slurm for job 7".into());
    assert_eq!(end_with(&mut store, a1, node_fail()), TaskStatus::Ready);
    let a2 = start_attempt(&mut store);
    let preempted = Outcome::Transient(None, "PREEMPTED: reported by slurm for job 8".into());
    assert_eq!(end_with(&mut store, a2, preempted), TaskStatus::Ready);
    // The third infrastructure failure exceeds the limit; `retries` is 0.
    let a3 = start_attempt(&mut store);
    assert_eq!(end_with(&mut store, a3, node_fail()), TaskStatus::Failed);
    let (reason, after, attempts) = store
        .read(|tx| {
            let t = tx.task("t")?.unwrap();
            Ok((
                t.reason,
                tx.task("after")?.unwrap().status,
                tx.attempts_of("t")?,
            ))
        })
        .unwrap();
    assert!(reason.unwrap().starts_with("NODE_FAIL"));
    assert_eq!(after, TaskStatus::Skipped);
    // Lineage: each resubmission continues from the previous attempt.
    assert_eq!(attempts[1].parent, Some(attempts[0].id));
    assert_eq!(attempts[1].kind, "retry");
}

#[test]
fn an_ordinary_failure_does_not_use_the_infrastructure_retries() {
    let dir = tempfile::tempdir().unwrap();
    let (_run, mut store, a1) = started(dir.path(), "");
    let exit3 = Outcome::Failed(Some(3), "exit code 3".into());
    assert_eq!(end_with(&mut store, a1, exit3), TaskStatus::Failed);
    assert!(is_infrastructure_failure("BOOT_FAIL: node n1"));
    assert!(!is_infrastructure_failure("TIMEOUT: reported by slurm"));
    assert!(!is_infrastructure_failure("OUT_OF_MEMORY"));
}

#[test]
fn failed_submissions_back_off_with_growing_delays_across_ticks() {
    let dir = tempfile::tempdir().unwrap();
    // A cluster nobody listens on: every submission fails transiently
    // (connection refused), after the transport's own quick retries.
    std::fs::write(
        dir.path().join("matterstack.toml"),
        "[[tasks]]\nid = \"t\"\ncommand = \"true\"\noperator = \"slurm\"\ncluster = \"down\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("clusters.toml"),
        "[clusters.down]\nhost = \"127.0.0.1\"\nport = 9\nproject_root = \"/tmp/p\"\nscratch_root = \"/tmp/s\"\nssh_options = [\"ConnectTimeout=2\"]\n",
    )
    .unwrap();
    let run = app::init(
        dir.path(),
        &InitOptions {
            run_id: Some("r".into()),
        },
    )
    .unwrap();
    let open = || {
        let store = Store::open(&run.join("state.sqlite")).unwrap();
        let clusters = app::clusters::read_file(&run.join(app::clusters::CLUSTERS_FILE)).unwrap();
        (store, Operators::new("r", clusters, Default::default()))
    };
    let backoff = |store: &mut Store| {
        store
            .read(|tx| Ok(tx.backoffs(0)?.remove("slurm@down")))
            .unwrap()
            .expect("a back-off is recorded")
    };
    let (mut store, ops) = open();
    let r = tick(&mut store, &run, &ops).unwrap();
    assert_eq!(r.postponed, 1, "{r:?}");
    let (f1, until1, err) = backoff(&mut store);
    assert_eq!(f1, 1);
    assert!(err.contains("refused"), "{err}");
    let d1 = until1 - now_ms();
    assert!((2_000..=5_500).contains(&d1), "first delay {d1} ms");
    // A step during the delay does not try again.
    let (mut store, ops) = open();
    let r = tick(&mut store, &run, &ops).unwrap();
    assert!(r.warnings.iter().any(|w| w.contains("back off")), "{r:?}");
    assert_eq!(backoff(&mut store).0, 1);
    // Past it, the next failed submission doubles the delay (while the
    // cluster stays unreachable the attempt is only polled, never
    // resubmitted, so the failure is handed over directly here).
    let spec = store.read(|tx| Ok(tx.task("t")?.unwrap().spec)).unwrap();
    let l = ToLaunch {
        attempt_id: 1,
        task_id: "t".into(),
        n: 1,
        token: "tok".into(),
        spec,
    };
    let failed: Result<Launched> = Err(crate::transport::TransportError::Transient {
        host: "127.0.0.1".into(),
        label: "sbatch".into(),
        detail: "Socket timed out on send/recv operation".into(),
    }
    .into());
    store
        .write(|tx| note_submissions(tx, std::slice::from_ref(&l), std::slice::from_ref(&failed)))
        .unwrap();
    let (f2, until2, err2) = backoff(&mut store);
    assert_eq!(f2, 2);
    assert!(err2.contains("Socket timed out"), "{err2}");
    let d2 = until2 - now_ms();
    assert!((4_500..=10_500).contains(&d2), "second delay {d2} ms");
    // A submission that goes through forgets the failures.
    let ok: Result<Launched> = Ok(Launched {
        external_id: "42".into(),
        child: None,
    });
    store
        .write(|tx| note_submissions(tx, std::slice::from_ref(&l), std::slice::from_ref(&ok)))
        .unwrap();
    assert!(store.read(|tx| Ok(tx.backoffs(0)?.is_empty())).unwrap());
    // Nothing was submitted, nothing was lost: the attempt waits CREATED.
    let attempts = store.read(|tx| tx.attempts_of("t")).unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].status, AttemptStatus::Created);
}
