//! Values that reach a shell (findings 3 and 4): a template parameter, a
//! sweep value, a person's answer and an upstream result reach the program
//! as exactly one unchanged argument in a string command (run by `sh -c`),
//! and nothing in them runs. The program is `rec.sh`, which writes `$#` to
//! `argc` and each argument to `arg<i>` with `printf %s`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use matterstack_core::model::refs::{self, Context, Upstream};
use matterstack_core::model::{Command as TaskCommand, WorkspaceSpec};
use proptest::prelude::*;

use crate::support::{named_under, s, status, task_status, Workspace};
use crate::testbed::{slurm_task, testbed, ClusterWs};

/// Records its arguments in the current directory (a call with first
/// argument `mdrun` is ignored, so a fake `gmx` records only `grompp`).
const REC: &str = r#"[ "$1" = mdrun ] && exit 0
printf %s "$#" > argc
i=0
for a in "$@"; do i=$((i+1)); printf %s "$a" > "arg$i"; done
"#;

/// A value a shell would act on in every way it can.
const NASTY: &str =
    "s1 $(touch pwned) `touch pwned2`; touch pwned3 && 'q' \"dq\" \\ $HOME *\nline2 ü";

/// The arguments `rec.sh` recorded in `dir`.
fn recorded(dir: &Path) -> Vec<String> {
    let argc: usize = std::fs::read_to_string(dir.join("argc"))
        .unwrap_or_else(|e| panic!("no argc in {}: {e}", dir.display()))
        .parse()
        .unwrap();
    (1..=argc)
        .map(|i| std::fs::read_to_string(dir.join(format!("arg{i}"))).unwrap())
        .collect()
}

fn toml_str(v: &str) -> String {
    toml::Value::String(v.to_string()).to_string()
}

fn respond(ws: &Workspace, run: &Path, task: &str, data: serde_json::Value) {
    let body = serde_json::json!({"status": "COMPLETED", "data": data, "error": null});
    ws.file("answer.json", &body.to_string());
    let out = ws.ms(&["respond", s(run), task, "--file", "answer.json"]);
    assert_eq!(out.code, 0, "{out:?}");
}

fn run_to_end(ws: &Workspace, run: &Path) {
    let out = ws.ms(&["run", s(run)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(status(run)["status"], "COMPLETED", "{}", status(run));
}

#[test]
fn f3_a_human_answer_with_shell_syntax_reaches_the_program_as_one_argument() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "ask"
operator = "human"
instructions = "Name the sample."
schema = { type = "object", required = ["s"], properties = { s = { type = "string" } } }

[[tasks]]
id = "use"
command = "sh ../../../../rec.sh {{ tasks.ask.results.s }} end"

[[tasks]]
id = "argv"
command = ["sh", "../../../../rec.sh", "{{ tasks.ask.results.s }}"]
"#,
    );
    ws.file("rec.sh", REC);
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 3);
    respond(&ws, &run, "ask", serde_json::json!({ "s": NASTY }));
    run_to_end(&ws, &run);
    assert_eq!(recorded(&run.join("tasks/use")), [NASTY, "end"]);
    // In an argv command the element is one argument already: no added quotes.
    assert_eq!(recorded(&run.join("tasks/argv")), [NASTY]);
    assert_eq!(named_under(ws.path(), "pwned"), Vec::<PathBuf>::new());
}

#[test]
fn f3_a_results_json_value_with_shell_syntax_reaches_the_program_as_one_argument() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "up"
command = "cp given.json results.json"
inputs = ["given.json"]

[[tasks]]
id = "use"
command = "sh ../../../../rec.sh {{ tasks.up.results.s }} {{ tasks.up.results.n }}"

[[tasks]]
id = "raw"
command = "sh ../../../../rec.sh {{ tasks.up.results.flags | unquoted }}"
"#,
    );
    ws.file("rec.sh", REC);
    ws.file(
        "given.json",
        &serde_json::json!({"s": NASTY, "n": -2.5, "flags": "-n 2"}).to_string(),
    );
    let run = ws.init("r");
    run_to_end(&ws, &run);
    assert_eq!(recorded(&run.join("tasks/use")), [NASTY, "-2.5"]);
    // The documented opt-out: the author asked for shell text, and got it.
    assert_eq!(recorded(&run.join("tasks/raw")), ["-n", "2"]);
    assert_eq!(named_under(ws.path(), "pwned"), Vec::<PathBuf>::new());
}

#[test]
fn f4_a_shipped_template_param_with_spaces_semicolon_and_dollar_paren_is_one_argument() {
    let structure = "my conf; $(touch pwned) `touch pwned2` && touch pwned3.gro";
    let ws = Workspace::new(&format!(
        r#"
[[tasks]]
id = "em"
template = "gromacs/em"
params = {{ structure = {}, topology = "top ology.top" }}
inputs = [{}, "top ology.top"]
"#,
        toml_str(structure),
        toml_str(structure)
    ));
    ws.file(structure, "coordinates\n");
    ws.file("top ology.top", "topology\n");
    // A fake gmx on PATH records the arguments it is given.
    ws.file("bin/gmx", REC);
    let gmx = ws.path().join("bin/gmx");
    Command::new("chmod").arg("+x").arg(&gmx).status().unwrap();
    let path = format!(
        "{}:{}",
        ws.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let ms = |args: &[&str]| {
        crate::support::ms_command()
            .args(args)
            .current_dir(ws.path())
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let out = ms(&["init", ".", "--run-id", "r"]);
    assert!(out.status.success(), "{out:?}");
    let run = ws.path().join("runs/r");
    ms(&["run", s(&run)]);
    // (The task fails afterwards: the fake gmx writes no em.log to parse.)
    assert_eq!(
        recorded(&run.join("tasks/em")),
        [
            "grompp",
            "-f",
            "em.mdp",
            "-c",
            structure,
            "-p",
            "top ology.top",
            "-o",
            "em.tpr",
            "-maxwarn",
            "0"
        ]
    );
    assert_eq!(named_under(ws.path(), "pwned"), Vec::<PathBuf>::new());
}

#[test]
fn f3_a_nasty_upstream_value_reaches_a_real_slurm_job_as_one_argument() {
    let tb = testbed();
    let tasks = format!(
        "[[tasks]]\nid = \"up\"\ncommand = \"cp given.json results.json\"\ninputs = [\"given.json\"]\n\n{}",
        slurm_task(
            "job",
            "sh rec.sh {{ tasks.up.results.s }} end",
            "inputs = [\"rec.sh\"]\noutputs = [\"argc\", \"arg1\", \"arg2\"]\ncores = 1\nmemory = \"64MB\"\nwalltime = \"5m\""
        )
    );
    let c = ClusterWs::plain(&tb, &tasks);
    c.ws.file("rec.sh", REC);
    c.ws.file("given.json", &serde_json::json!({ "s": NASTY }).to_string());
    let run = c.ws.init("r");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(task_status(&status(&run), "job")["status"], "COMPLETED");
    assert_eq!(recorded(&run.join("tasks/job")), [NASTY, "end"]);
    assert_eq!(named_under(c.remote.path(), "pwned"), Vec::<PathBuf>::new());
    assert_eq!(named_under(c.ws.path(), "pwned"), Vec::<PathBuf>::new());
}

// ---------------------------------------------------------------- property

/// Strings built from the pieces a shell reacts to, plus arbitrary
/// characters. NUL is the only character left out: no argv can carry it.
fn nasty_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("$(touch pwned)".to_string()),
        Just("`touch pwned`".to_string()),
        Just(";".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("\\".to_string()),
        Just("\n".to_string()),
        Just(" ".to_string()),
        Just("\t".to_string()),
        Just("$HOME".to_string()),
        Just("*".to_string()),
        Just("~".to_string()),
        Just("&&".to_string()),
        Just("|".to_string()),
        Just("#".to_string()),
        Just("{{".to_string()),
        Just("}}".to_string()),
        Just("{% raw %}".to_string()),
        Just("tasks.a.status".to_string()),
        Just("-n".to_string()),
        Just("ü€😀".to_string()),
        any::<char>()
            .prop_filter("no NUL", |c| *c != '\0')
            .prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..6).prop_map(|v| v.concat())
}

/// Values a task's `params` can carry literally: a template parameter
/// refuses control characters other than tab and line breaks (an error at
/// init, so they never reach a command), and `{{`/`{%` in a param is the
/// documented way to write a reference to an upstream value (the author's
/// own template text; values from outside arrive through those references,
/// as data).
fn param_ok(v: &str) -> bool {
    !v.contains("{{")
        && !v.contains("{%")
        && !v
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
}

/// One workspace feeding `vals` to the program through all four sources:
/// `tp-<i>` (a workspace template's string parameter), the sweep `sw`
/// (one point per value), `hu` (a person's answer, one argument per value)
/// and `rs` (an upstream `results.json`, one argument per value).
fn property_workspace(vals: &[String]) -> String {
    let mut t = String::new();
    for (i, v) in vals.iter().enumerate().filter(|(_, v)| param_ok(v)) {
        t.push_str(&format!(
            "[[tasks]]\nid = \"tp-{i}\"\ntemplate = \"probe\"\nparams = {{ value = {} }}\n\n",
            toml_str(v)
        ));
    }
    let sweep: Vec<String> = distinct(vals).iter().map(|v| toml_str(v)).collect();
    t.push_str(&format!(
        "[[tasks]]\nid = \"sw\"\ncommand = \"sh ../../../../rec.sh {{{{ v }}}}\"\nsweep = {{ v = [{}] }}\n\n",
        sweep.join(", ")
    ));
    let props: Vec<String> = (0..vals.len())
        .map(|i| format!("v{i} = {{ type = \"string\" }}"))
        .collect();
    t.push_str(&format!(
        "[[tasks]]\nid = \"ask\"\noperator = \"human\"\ninstructions = \"values\"\nschema = {{ type = \"object\", properties = {{ {} }} }}\n\n",
        props.join(", ")
    ));
    let refs = |task: &str| -> String {
        (0..vals.len())
            .map(|i| format!("{{{{ tasks.{task}.results.v{i} }}}}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    t.push_str(&format!(
        "[[tasks]]\nid = \"hu\"\ncommand = \"sh ../../../../rec.sh {}\"\n\n",
        refs("ask")
    ));
    t.push_str(
        "[[tasks]]\nid = \"up\"\ncommand = \"cp given.json results.json\"\ninputs = [\"given.json\"]\n\n",
    );
    t.push_str(&format!(
        "[[tasks]]\nid = \"rs\"\ncommand = \"sh ../../../../rec.sh {}\"\n",
        refs("up")
    ));
    t
}

const PROBE: &str = r#"name = "probe"
description = "Runs rec.sh with one value."
program = "sh"
files = ["value.txt"]
command = "sh ../../../../rec.sh {{ value }}"

[[parameters]]
name = "value"
type = "string"
multiline = true
required = true
help = "The value."
"#;

fn distinct(vals: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    vals.iter()
        .filter(|v| seen.insert(v.to_string()))
        .cloned()
        .collect()
}

fn as_object(vals: &[String]) -> serde_json::Value {
    let m: serde_json::Map<String, serde_json::Value> = vals
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("v{i}"), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(m)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2, failure_persistence: None, ..ProptestConfig::default() })]

    /// 2 cases × 32 values per source, run by the real binary on this machine.
    #[test]
    fn prop_every_source_reaches_a_local_program_as_one_unchanged_argument(
        vals in prop::collection::vec(nasty_string(), 32)
    ) {
        let ws = Workspace::new(&property_workspace(&vals));
        ws.file("rec.sh", REC);
        ws.file("templates/probe/template.toml", PROBE);
        ws.file("templates/probe/value.txt", "{{ value }}");
        ws.file("given.json", &as_object(&vals).to_string());
        let run = ws.init("p");
        assert_eq!(ws.ms(&["run", s(&run)]).code, 3);
        respond(&ws, &run, "ask", as_object(&vals));
        run_to_end(&ws, &run);
        for (i, v) in vals.iter().enumerate().filter(|(_, v)| param_ok(v)) {
            prop_assert_eq!(recorded(&run.join(format!("tasks/tp-{i}"))), [v.clone()]);
        }
        let mut swept = Vec::new();
        for e in std::fs::read_dir(run.join("tasks")).unwrap().flatten() {
            if e.file_name().to_string_lossy().starts_with("sw.") {
                let got = recorded(&e.path());
                prop_assert_eq!(got.len(), 1);
                swept.extend(got);
            }
        }
        prop_assert_eq!(sorted(swept), sorted(distinct(&vals)));
        prop_assert_eq!(&recorded(&run.join("tasks/hu")), &vals);
        prop_assert_eq!(&recorded(&run.join("tasks/rs")), &vals);
        prop_assert_eq!(named_under(ws.path(), "pwned"), Vec::<PathBuf>::new());
    }

    /// The same sources resolved by the engine's code (template lookup,
    /// sweep expansion, reference resolution), put in a SLURM job script by
    /// the real renderer the way the SLURM operator does (`sh -c <quoted
    /// command>`), and the script run with `sh` here: 2 cases × 32 values.
    #[test]
    fn prop_every_source_reaches_a_program_in_a_slurm_job_script_as_one_unchanged_argument(
        vals in prop::collection::vec(nasty_string(), 32)
    ) {
        let ws = Workspace::new("");
        ws.file("templates/probe/template.toml", PROBE);
        ws.file("templates/probe/value.txt", "{{ value }}");
        let spec = WorkspaceSpec::parse(&property_workspace(&vals), &ws.path().join("matterstack.toml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut up = BTreeMap::new();
        for id in ["ask", "up"] {
            up.insert(id.to_string(), Upstream {
                status: "COMPLETED".into(),
                exit_code: Some(0),
                results: as_object(&vals),
                points: None,
            });
        }
        let mut swept = Vec::new();
        for mut t in spec.tasks {
            if t.operator == "human" || t.id == "up" {
                continue;
            }
            if t.template.is_some() {
                matterstack_core::lookup::resolve_task(&mut t, ws.path(), ws.path()).unwrap();
            }
            if refs::needs_resolution(&t) {
                t = Context::new(&up, &BTreeMap::new(), &t.sweep_point).resolve(&t).unwrap();
            }
            let Some(TaskCommand::Shell(cmd)) = &t.command else { panic!("{t:?}") };
            let got = run_in_slurm_script(ws.path(), cmd);
            if let Some(i) = t.id.strip_prefix("tp-") {
                prop_assert_eq!(got, [vals[i.parse::<usize>().unwrap()].clone()]);
            } else if t.id.starts_with("sw.") {
                prop_assert_eq!(got.len(), 1);
                swept.extend(got);
            } else {
                prop_assert_eq!(&got, &vals);
            }
        }
        prop_assert_eq!(sorted(swept), sorted(distinct(&vals)));
        prop_assert_eq!(named_under(ws.path(), "pwned"), Vec::<PathBuf>::new());
    }
}

/// Renders the job script for `cmd` and runs it with `sh` in a directory
/// four levels below `root` (so `../../../../rec.sh` is `root/rec.sh`).
fn run_in_slurm_script(root: &Path, cmd: &str) -> Vec<String> {
    std::fs::write(root.join("rec.sh"), REC).unwrap();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = root.join(format!("jobs-{n}")).join("a/b/c");
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap().to_string();
    let spec = matterstack_schedulers::script::JobSpec {
        job_name: "quoting-probe".into(),
        workdir: d.clone(),
        stdout: format!("{d}/stdout"),
        stderr: format!("{d}/stderr"),
        cores: 1,
        command: format!("sh -c {}", matterstack_schedulers::sh_quote(cmd)),
        marker_dir: d.clone(),
        ..Default::default()
    };
    let script = matterstack_schedulers::script::render_slurm_script(&spec).unwrap();
    std::fs::write(dir.join("job.sh"), &script).unwrap();
    let out = Command::new("sh")
        .arg("job.sh")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}\n{script}");
    assert_eq!(
        std::fs::read_to_string(dir.join("exit")).unwrap().trim(),
        "0"
    );
    recorded(&dir)
}
