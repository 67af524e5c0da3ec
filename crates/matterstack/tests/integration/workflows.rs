//! Workflows that think: data passing between tasks, `when` conditions,
//! human and manual steps, pause/resume and planner-driven campaigns.

use std::path::{Path, PathBuf};

use crate::support::{s, status, task_status, Workspace};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn crystal_workspace(extra: &str) -> Workspace {
    let toml = format!(
        r#"
[run]
cores = 2

[[tasks]]
id = "opt"
command = "python3 fake_crystal.py opt input.d12 > output.out"
inputs = ["fake_crystal.py", "input.d12"]
parser = "crystal"
output = "output.out"

[[tasks]]
id = "scf"
command = "python3 fake_crystal.py scf {{{{ tasks.opt.files['fort.34'] }}}} {{{{ tasks.opt.results.final_energy }}}} > output.out"
inputs = ["fake_crystal.py"]
parser = "crystal"
output = "output.out"

[[tasks]]
id = "bands"
when = "tasks.scf.results.converged and tasks.scf.results.final_energy < 0"
command = "python3 fake_crystal.py bands {{{{ tasks.scf.files['fort.9'] }}}} > output.out"
inputs = ["fake_crystal.py"]
parser = "crystal"
output = "output.out"
{extra}
"#
    );
    let ws = Workspace::new(&toml);
    ws.file(
        "fake_crystal.py",
        &std::fs::read_to_string(fixture("crystal_standin/fake_crystal.py")).unwrap(),
    );
    ws.file("input.d12", "MgO\nCRYSTAL\nLATTICE 4.05\nEND\n");
    ws
}

#[test]
fn crystal_chain_passes_a_parsed_value_and_files_and_conditions_skip_branches() {
    let ws = crystal_workspace(
        r#"
[[tasks]]
id = "phonons"
when = "tasks.scf.results.final_energy > 0"
command = "echo never"

[[tasks]]
id = "phonon-report"
depends_on = ["phonons"]
command = "echo never either"

[[tasks]]
id = "summary"
depends_on = ["phonons", "bands"]
allow_skipped = true
command = "echo gap={{ tasks.bands.results.values.band_gap_ev }} > summary.txt"
"#,
    );
    let run = ws.init("chain");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED", "{st}");
    for id in ["opt", "scf", "bands", "summary"] {
        assert_eq!(task_status(&st, id)["status"], "COMPLETED", "{id}: {st}");
    }
    // A false condition skips the task and its plain dependants, without
    // failing the run; `allow_skipped` lets `summary` run anyway.
    for id in ["phonons", "phonon-report"] {
        assert_eq!(task_status(&st, id)["status"], "SKIPPED", "{id}: {st}");
    }
    assert!(task_status(&st, "phonons")["reason"]
        .as_str()
        .unwrap()
        .contains("is false"));

    // The optimised geometry file travelled opt -> scf, the wavefunction
    // scf -> bands, byte for byte.
    let t = run.join("tasks");
    assert_eq!(
        std::fs::read(t.join("opt/fort.34")).unwrap(),
        std::fs::read(t.join("scf/fort.34")).unwrap()
    );
    assert_eq!(
        std::fs::read(t.join("scf/fort.9")).unwrap(),
        std::fs::read(t.join("bands/fort.9")).unwrap()
    );
    // The parsed opt energy reached scf's command, as recorded in the store.
    let opt_e = task_status(&st, "opt")["results"]["final_energy"]
        .as_f64()
        .unwrap();
    assert!((opt_e - -275.0).abs() < 1e-6, "{opt_e}");
    let scf_out = std::fs::read_to_string(t.join("scf/output.out")).unwrap();
    let echoed: f64 = scf_out
        .lines()
        .find_map(|l| l.trim().strip_prefix("REFERENCE ENERGY FROM OPT "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!((echoed - opt_e).abs() < 1e-9, "{echoed} vs {opt_e}");
    let explain = ws.ms(&["explain", s(&run), "scf", "--json"]);
    assert_eq!(explain.code, 0, "{explain:?}");
    // bands' gap follows from the optimised lattice constant (4.21).
    let gap = task_status(&st, "bands")["results"]["values"]["band_gap_ev"]
        .as_f64()
        .unwrap();
    assert!((gap - (7.8 - 0.5 * 0.21)).abs() < 1e-3, "{gap}");
    let summary = std::fs::read_to_string(t.join("summary/summary.txt")).unwrap();
    assert_eq!(summary.trim(), format!("gap={gap}"));
}

#[test]
fn references_to_unknown_tasks_or_fields_fail_at_init() {
    let ws = crystal_workspace(
        r#"
[[tasks]]
id = "typo"
when = "tasks.bnads.results.converged"
command = "true"

[[tasks]]
id = "field"
command = "echo {{ tasks.scf.results.energy }}"
"#,
    );
    let out = ws.ms(&["init", ".", "--run-id", "bad"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("unknown task \"bnads\"")
            && out.stderr.contains("did you mean \"bands\""),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("\"energy\" is not a field of parsed results"),
        "{}",
        out.stderr
    );
    assert!(!ws.runs_dir_exists());
}
