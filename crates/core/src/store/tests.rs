use std::os::unix::fs::PermissionsExt;

use super::*;
use crate::model::{Command, WorkspaceSpec};

fn spec() -> (String, WorkspaceSpec) {
    let text = r#"
        [[tasks]]
        id = "a"
        command = "true"
        [[tasks]]
        id = "b"
        command = ["echo", "b"]
        depends_on = ["a", "a"]
        cores = 2
        [[tasks]]
        id = "c"
        command = "true"
        depends_on = ["a", "b"]
        allow_failure = true
    "#;
    (
        text.to_string(),
        WorkspaceSpec::parse(text, Path::new("matterstack.toml")).unwrap(),
    )
}

fn run_row() -> RunRow {
    RunRow {
        id: "r1".into(),
        workspace: "/ws".into(),
        created_at: 1,
        status: "RUNNING".into(),
        core_budget: 4,
    }
}

fn create(dir: &Path) -> Store {
    let (text, spec) = spec();
    Store::create(&dir.join("state.sqlite"), &run_row(), &text, &spec.tasks).unwrap()
}

#[test]
fn write_close_reopen_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    {
        let mut s = create(dir.path());
        s.write(|tx| {
            let id = tx.insert_attempt("a", 1, "tok-1", "local", None)?;
            tx.update_attempt(
                id,
                AttemptStatus::Running,
                Some("4242"),
                Some(10),
                None,
                None,
                None,
            )?;
            tx.set_task("a", TaskStatus::Running, None, None)?;
            tx.event(Some("a"), "launched")?;
            Ok(())
        })
        .unwrap();
    }
    let mut s = Store::open(&path).unwrap();
    s.read(|tx| {
        let run = tx.run()?;
        assert_eq!((run.id.as_str(), run.core_budget), ("r1", 4));
        assert!(tx.spec_toml()?.contains("id = \"c\""));
        let a = tx.task("a")?.unwrap();
        assert_eq!(a.status, TaskStatus::Running);
        assert_eq!(a.attempts, 1);
        let b = tx.task("b")?.unwrap();
        assert_eq!(b.status, TaskStatus::Pending);
        assert_eq!(
            b.spec.command,
            Some(Command::Argv(vec!["echo".into(), "b".into()]))
        );
        assert_eq!(b.spec.cores, 2);
        let active = tx.active_attempts()?;
        assert_eq!(active.len(), 1);
        assert_eq!(active[0].token, "tok-1");
        assert_eq!(active[0].external_id.as_deref(), Some("4242"));
        assert_eq!(active[0].status, AttemptStatus::Running);
        assert_eq!(tx.cores_in_use("local")?, 1);
        assert_eq!(tx.events(10)?.len(), 1);
        assert!(tx.has_unfinished()?);
        Ok(())
    })
    .unwrap();
}

#[test]
fn dependency_counting() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = create(dir.path());
    s.write(|tx| {
        // "b" lists "a" twice but waits for it once.
        assert_eq!(
            tx.ready_tasks(10)?,
            vec![("a".to_string(), 1, "local".to_string())]
        );
        tx.set_task("a", TaskStatus::Completed, Some(0), None)?;
        assert_eq!(tx.satisfy_dependants("a")?, vec!["b".to_string()]);
        assert_eq!(tx.recount_deps("c")?, 1);
        tx.set_task("b", TaskStatus::Failed, Some(1), Some("exit 1"))?;
        assert_eq!(tx.recount_deps("c")?, 1, "b failed without allow_failure");
        assert!(tx.has_unsuccessful()?);
        Ok(())
    })
    .unwrap();
}

#[test]
fn state_file_is_private_and_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    drop(create(dir.path()));
    let mode = std::fs::metadata(dir.path().join("state.sqlite"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let (text, spec) = spec();
    let again = Store::create(
        &dir.path().join("state.sqlite"),
        &run_row(),
        &text,
        &spec.tasks,
    );
    assert!(again.is_err(), "an existing store must never be recreated");
}

#[test]
fn a_failed_transaction_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = create(dir.path());
    let r: Result<()> = s.write(|tx| {
        tx.set_task("a", TaskStatus::Completed, Some(0), None)?;
        Err(TxError::Other(Error::Input("boom".into())))
    });
    assert!(r.is_err());
    let st = s.read(|tx| Ok(tx.task("a")?.unwrap().status)).unwrap();
    assert_eq!(st, TaskStatus::Ready);
}

#[test]
fn opening_a_missing_store_is_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(&dir.path().join("nope/state.sqlite"))
        .err()
        .unwrap();
    assert!(err.is_user_error());
    assert!(err.to_string().contains("not a run directory"));
}
