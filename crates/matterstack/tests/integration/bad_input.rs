//! Bad input: a clear error naming the problem, exit code 2, and no run
//! directory left behind. The messages of the main cases are snapshots
//! (`snapshots/`): a change to what the user reads shows up in review.

use crate::support::Workspace;

/// `text` with this workspace's paths written `[WS]`, so a snapshot holds
/// what the user reads and nothing of this machine.
pub fn filtered(ws: &Workspace, text: &str) -> String {
    let real = ws.path().canonicalize().unwrap();
    text.replace(&real.display().to_string(), "[WS]")
        .replace(&ws.path().display().to_string(), "[WS]")
}

fn refused(name: &str, toml: &str, setup: impl FnOnce(&Workspace)) {
    let ws = Workspace::new(toml);
    setup(&ws);
    let out = ws.ms(&["init", "."]);
    assert_eq!(out.code, 2, "expected exit 2: {out:?}");
    insta::assert_snapshot!(name, filtered(&ws, &out.stderr));
    assert!(!ws.runs_dir_exists(), "a run directory was left behind");
    assert!(
        out.stdout.is_empty(),
        "nothing printed on stdout: {}",
        out.stdout
    );
}

#[test]
fn malformed_toml_names_line_and_column() {
    refused(
        "malformed_toml",
        "[[tasks]]\nid = \"a\"\ncommand = \"echo\ncores = 1\n",
        |_| {},
    );
}

#[test]
fn a_cycle_is_named() {
    refused(
        "cycle",
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\ndepends_on=[\"b\"]\n[[tasks]]\nid=\"b\"\ncommand=\"x\"\ndepends_on=[\"a\"]\n",
        |_| {},
    );
}

#[test]
fn an_unknown_dependency_is_named() {
    refused(
        "unknown_dependency",
        "[[tasks]]\nid=\"relax\"\ncommand=\"x\"\n[[tasks]]\nid=\"scf\"\ncommand=\"x\"\ndepends_on=[\"relx\"]\n",
        |_| {},
    );
}

#[test]
fn a_missing_input_file_is_named() {
    refused(
        "missing_input",
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\ninputs=[\"data/geom.xyz\"]\n",
        |_| {},
    );
}

#[test]
fn an_input_escaping_the_workspace_is_refused() {
    refused(
        "input_escaping",
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\ninputs=[\"link/passwd\"]\n",
        |ws| std::os::unix::fs::symlink("/etc", ws.path().join("link")).unwrap(),
    );
}

#[test]
fn task_ids_with_slash_or_dotdot_are_refused() {
    refused(
        "id_dotdot_evil",
        "[[tasks]]\nid=\"../evil\"\ncommand=\"x\"\n",
        |_| {},
    );
    refused("id_slash", "[[tasks]]\nid=\"a/b\"\ncommand=\"x\"\n", |_| {});
    refused("id_dotdot", "[[tasks]]\nid=\"..\"\ncommand=\"x\"\n", |_| {});
}

#[test]
fn an_unknown_operator_is_named() {
    refused(
        "unknown_operator",
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\noperator=\"kubernetes\"\n",
        |_| {},
    );
}

#[test]
fn duplicate_ids_and_every_problem_are_listed_together() {
    refused(
        "duplicates_and_more",
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\nmemory=\"much\"\n[[tasks]]\nid=\"a\"\ncommand=\"y\"\n",
        |_| {},
    );
}

#[test]
fn a_missing_workspace_file_and_a_bad_run_id() {
    let ws = Workspace::new("[[tasks]]\nid=\"a\"\ncommand=\"x\"\n");
    let out = ws.ms(&["init", "no-such-dir"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no matterstack.toml in no-such-dir"),
        "{}",
        out.stderr
    );
    let out = ws.ms(&["init", ".", "--run-id", "../x"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("--run-id: run id \"../x\""),
        "{}",
        out.stderr
    );
    assert!(!ws.runs_dir_exists());
}

#[test]
fn ten_problems_of_five_kinds_are_all_reported_by_one_init() {
    let toml = r#"
[[tasks]]
id = "prep"
command = "true"
operater = "local"
inputs = ["nothere.xyz"]

[[tasks]]
id = "opt"
command = "true"
memory = "lots"
walltime = "soon"
depends_on = ["prepp"]
inputs = ["missing.dat"]
coers = 2

[[tasks]]
id = "sp"
template = "psi4/energy"
params = { basis = "sto-3g", maxiter = 0 }
memory = "a little"

[[tasks]]
id = "far"
command = "true"
operator = "slurm"
cluster = "nosuch"
"#;
    let ws = Workspace::new(toml);
    let out = ws.ms(&["init", "."]);
    assert_eq!(out.code, 2, "{out:?}");
    // Every problem, each naming its field, value and fix.
    insta::assert_snapshot!("ten_problems", filtered(&ws, &out.stderr));
    assert!(!ws.runs_dir_exists());
}
