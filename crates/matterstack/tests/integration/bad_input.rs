//! Bad input: a clear error naming the problem, exit code 2, and no run
//! directory left behind.

use crate::support::Workspace;

fn refused(toml: &str, setup: impl FnOnce(&Workspace), needles: &[&str]) {
    let ws = Workspace::new(toml);
    setup(&ws);
    let out = ws.ms(&["init", "."]);
    assert_eq!(out.code, 2, "expected exit 2: {out:?}");
    for n in needles {
        assert!(
            out.stderr.contains(n),
            "stderr lacks {n:?}:\n{}",
            out.stderr
        );
    }
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
        "[[tasks]]\nid = \"a\"\ncommand = \"echo\ncores = 1\n",
        |_| {},
        &["matterstack.toml", "malformed TOML at line 3, column"],
    );
}

#[test]
fn a_cycle_is_named() {
    refused(
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\ndepends_on=[\"b\"]\n[[tasks]]\nid=\"b\"\ncommand=\"x\"\ndepends_on=[\"a\"]\n",
        |_| {},
        &["dependency cycle: a -> b -> a"],
    );
}

#[test]
fn an_unknown_dependency_is_named() {
    refused(
        "[[tasks]]\nid=\"relax\"\ncommand=\"x\"\n[[tasks]]\nid=\"scf\"\ncommand=\"x\"\ndepends_on=[\"relx\"]\n",
        |_| {},
        &["task \"scf\": depends_on \"relx\" is not a task", "did you mean \"relax\""],
    );
}

#[test]
fn a_missing_input_file_is_named() {
    refused(
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\ninputs=[\"data/geom.xyz\"]\n",
        |_| {},
        &["task \"a\": inputs: \"data/geom.xyz\" does not exist"],
    );
}

#[test]
fn an_input_escaping_the_workspace_is_refused() {
    refused(
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\ninputs=[\"link/passwd\"]\n",
        |ws| std::os::unix::fs::symlink("/etc", ws.path().join("link")).unwrap(),
        &[
            "inputs: \"link/passwd\"",
            "resolves to /etc/passwd, outside",
        ],
    );
}

#[test]
fn task_ids_with_slash_or_dotdot_are_refused() {
    refused(
        "[[tasks]]\nid=\"../evil\"\ncommand=\"x\"\n",
        |_| {},
        &["task id \"../evil\""],
    );
    refused(
        "[[tasks]]\nid=\"a/b\"\ncommand=\"x\"\n",
        |_| {},
        &["task id \"a/b\" contains a path separator"],
    );
    refused(
        "[[tasks]]\nid=\"..\"\ncommand=\"x\"\n",
        |_| {},
        &["task id \"..\" contains \"..\""],
    );
}

#[test]
fn an_unknown_operator_is_named() {
    refused(
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\noperator=\"kubernetes\"\n",
        |_| {},
        &["task \"a\": unknown operator \"kubernetes\"; use one of: local, slurm, pbs, ssh"],
    );
}

#[test]
fn duplicate_ids_and_every_problem_are_listed_together() {
    refused(
        "[[tasks]]\nid=\"a\"\ncommand=\"x\"\nmemory=\"much\"\n[[tasks]]\nid=\"a\"\ncommand=\"y\"\n",
        |_| {},
        &[
            "2 problems found",
            "\"a\" is declared more than once",
            "memory \"much\"",
        ],
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
    let needles = [
        // unknown keys, with a suggestion
        "unknown key \"operater\" at line 5; did you mean \"operator\"?",
        "unknown key \"coers\" at line 15; did you mean \"cores\"?",
        // resource values
        "memory \"lots\"",
        "memory \"a little\"",
        "\"soon\"",
        // the DAG
        "depends_on \"prepp\"",
        // inputs
        "nothere.xyz",
        "missing.dat",
        // template values
        "maxiter",
        // clusters
        "cluster \"nosuch\" is not defined",
    ];
    for n in needles {
        assert!(
            out.stderr.contains(n),
            "stderr lacks {n:?}:\n{}",
            out.stderr
        );
    }
    assert!(!ws.runs_dir_exists());
}
