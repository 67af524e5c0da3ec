//! Secrets (issue 10, finding 11): `secret_env = ["NAME"]` gives a task the
//! value of `NAME` from matterstack's own environment at launch; the value
//! reaches the program and nothing else — not the store, events, logs,
//! evidence, or any file on the cluster. Remote files are 0600.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::support::{paths_under, s, status, task_status, Out, Workspace};
use crate::testbed::{slurm_task, testbed, ClusterWs};

const SECRET: &str = "tok-3f9a'\"$(touch pwned) ;x";

/// `matterstack ARGS` in `cwd` with `MS_TEST_TOKEN` set to [`SECRET`].
fn ms_with_secret(cwd: &Path, args: &[&str]) -> Out {
    crate::support::ms_command()
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env("MS_TEST_TOKEN", SECRET)
        .output()
        .unwrap()
        .into()
}

/// The program proves it got the value by writing its length and a
/// checksum, never the value itself.
const PROVE: &str = "printf %s \"$MS_TEST_TOKEN\" | cksum > got";

fn expected_cksum() -> String {
    let mut child = Command::new("cksum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(SECRET.as_bytes())
        .unwrap();
    String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap()
}

/// No file under `root` holds the secret (raw, and as SQLite or JSON would
/// keep it).
fn assert_nowhere(root: &Path) {
    let needle = "tok-3f9a";
    for p in paths_under(root) {
        if let Ok(bytes) = std::fs::read(&p) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(needle),
                "{} holds the secret",
                p.display()
            );
        }
    }
}

#[test]
fn f11_a_secret_reaches_a_local_program_and_nothing_else() {
    let ws = Workspace::new(&format!(
        "[[tasks]]\nid = \"t\"\ncommand = {PROVE:?}\nsecret_env = [\"MS_TEST_TOKEN\"]\nenv = {{ PLAIN = \"visible\" }}\n"
    ));
    let run = ws.init("r");
    let out = ms_with_secret(ws.path(), &["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/t/got")).unwrap(),
        expected_cksum()
    );
    let ev = ms_with_secret(ws.path(), &["export-evidence", s(&run)]);
    assert_eq!(ev.code, 0, "{ev:?}");
    let dir = run.join("evidence");
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let json = dir.join("evidence.json");
    assert_eq!(
        std::fs::metadata(&json).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let text = std::fs::read_to_string(&json).unwrap();
    assert!(text.contains("MS_TEST_TOKEN"), "the name is recorded");
    assert!(!out.stdout.contains("tok-3f9a") && !out.stderr.contains("tok-3f9a"));
    assert_nowhere(ws.path());
}

#[test]
fn f11_a_missing_secret_fails_the_task_naming_the_variable() {
    let ws = Workspace::new(&format!(
        "[[tasks]]\nid = \"t\"\ncommand = {PROVE:?}\nsecret_env = [\"MS_TEST_ABSENT\"]\n"
    ));
    let run = ws.init("r");
    let _ = ws.ms(&["run", s(&run)]);
    let st = status(&run);
    assert_eq!(task_status(&st, "t")["status"], "FAILED", "{st}");
    let why = ws.ms(&["explain", s(&run), "t"]);
    assert!(
        why.stdout.contains("MS_TEST_ABSENT") && why.stdout.contains("export"),
        "{why:?}"
    );
}

#[test]
fn f11_a_secret_in_env_too_or_a_bad_name_is_refused_at_init() {
    for extra in [
        "secret_env = [\"T\"]\nenv = { T = \"x\" }",
        "secret_env = [\"A;B\"]",
    ] {
        let ws = Workspace::new(&format!(
            "[[tasks]]\nid = \"t\"\ncommand = \"true\"\n{extra}\n"
        ));
        let out = ws.ms(&["init", "."]);
        assert_eq!(out.code, 2, "{extra}: {out:?}");
        assert!(out.stderr.contains("secret_env"), "{}", out.stderr);
    }
}

#[test]
fn f11_a_secret_reaches_a_slurm_job_and_no_file_on_the_cluster_and_remote_files_are_0600() {
    let tb = testbed();
    let c = ClusterWs::plain(
        &tb,
        &slurm_task(
            "t",
            PROVE,
            "secret_env = [\"MS_TEST_TOKEN\"]\noutputs = [\"got\"]",
        ),
    );
    let run = c.ws.init("r");
    let out = ms_with_secret(c.ws.path(), &["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/t/got")).unwrap(),
        expected_cksum()
    );
    assert_eq!(
        named_secrets(c.remote.path()),
        0,
        "the secrets file was deleted"
    );
    let mut checked = 0;
    for p in paths_under(c.remote.path()) {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name == "job.sh" || name == "job_info.json" {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} is {mode:o}", p.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "one job.sh and one job_info.json");
    assert_nowhere(c.remote.path());
    assert_nowhere(c.ws.path());
}

fn named_secrets(root: &Path) -> usize {
    paths_under(root)
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "secrets"))
        .count()
}
