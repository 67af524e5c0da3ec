//! Templates in workspaces, end to end with the real programs (psi4, xtb and
//! GROMACS from Debian; scripts/testbed.sh installs them), and the
//! `template` commands.

use std::path::Path;

use crate::support::{s, status, task_status, Workspace};

fn need(program: &str) {
    let found = std::process::Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test runs {program}: install it with `bash scripts/testbed.sh`"
    );
}

/// The last number on the last line of `text` containing `needle`.
fn last_number_on(text: &str, needle: &str) -> f64 {
    let line = text
        .lines()
        .rfind(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} line"));
    line.split_whitespace()
        .filter_map(|w| w.parse::<f64>().ok())
        .next_back()
        .unwrap()
}

#[test]
fn psi4_and_xtb_energies_from_templates_reach_status_json() {
    need("psi4");
    need("xtb");
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "dimer"
template = "psi4/energy"
params = { basis = "sto-3g", method = "scf" }

[[tasks]]
id = "water"
template = "xtb/sp"
"#,
    );
    let run = ws.init("r");
    // The template was rendered into the task directory at init.
    let deck = std::fs::read_to_string(run.join("tasks/dimer/input.dat")).unwrap();
    assert!(deck.contains("sto-3g"), "{deck}");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = status(&run);
    let psi4_out = std::fs::read_to_string(run.join("tasks/dimer/output.dat")).unwrap();
    let expected = last_number_on(&psi4_out, "Total Energy =");
    let got = task_status(&st, "dimer")["results"]["final_energy"]
        .as_f64()
        .unwrap();
    assert_eq!(got, expected, "psi4 energy in status --json");
    assert!(
        (-150.0..-140.0).contains(&got),
        "a water dimer in sto-3g: {got}"
    );
    // The SCF series: one row per iteration, ending at the final energy.
    let scf = &task_status(&st, "dimer")["results"]["series"]["scf"];
    let rows = scf["rows"].as_array().unwrap();
    assert!(rows.len() >= 3, "{scf}");
    assert_eq!(scf["columns"][1], "energy");
    let last = rows.last().unwrap()[1].as_f64().unwrap();
    assert!(
        (last - got).abs() < 1e-6,
        "the SCF ends at {last}, the energy is {got}"
    );
    assert_eq!(ws.ms(&["export-evidence", s(&run)]).code, 0);
    let html = std::fs::read_to_string(run.join("evidence/report.html")).unwrap();
    assert!(
        html.contains("<h2>Series</h2>") && html.contains("dimer: scf energy (hartree)"),
        "report.html plots the SCF"
    );
    let xtb_out = std::fs::read_to_string(run.join("tasks/water/output.out")).unwrap();
    let expected = last_number_on(&xtb_out, "TOTAL ENERGY");
    let got = task_status(&st, "water")["results"]["final_energy"]
        .as_f64()
        .unwrap();
    assert_eq!(got, expected, "xtb energy in status --json");
    assert_eq!(
        task_status(&st, "water")["results"]["normal_termination"],
        true
    );
}

#[test]
fn a_program_that_reports_an_error_fails_the_task_even_on_exit_0() {
    need("psi4");
    // psi4 1.3 exits 0 on some failures; the parser catches them.
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "noconv"
command = "cp fail.out output.dat"
parser = "psi4"
output = "output.dat"
inputs = ["fail.out"]
"#,
    );
    let recorded = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../templates/tests/data/psi4/scf_maxiter2_fail.out");
    ws.file("fail.out", &std::fs::read_to_string(recorded).unwrap());
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    let st = status(&run);
    let t = task_status(&st, "noconv");
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["exit_code"], 0);
    assert!(
        t["reason"]
            .as_str()
            .unwrap()
            .starts_with("psi4 reported an error"),
        "{t}"
    );
    // Nothing on stdout: `logs` shows the program's output file instead.
    let logs = ws.ms(&["logs", s(&run), "noconv"]);
    assert_eq!(logs.code, 0, "{logs:?}");
    assert!(
        logs.stdout.contains("Psi4") && logs.stderr.contains("showing output.dat"),
        "{logs:?}"
    );
}

#[test]
fn a_psi4_scf_that_does_not_converge_fails_with_psi4s_words_not_an_exit_code() {
    need("psi4");
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "noconv"
command = "psi4 input.dat output.dat"
parser = "psi4"
output = "output.dat"
inputs = ["input.dat"]

[[tasks]]
id = "ok"
command = "true"
"#,
    );
    ws.file(
        "input.dat",
        "molecule {\nO\nH 1 0.96\nH 1 0.96 2 104.5\n}\nset basis sto-3g\nset maxiter 2\nenergy('scf')\n",
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    let st = status(&run);
    let t = task_status(&st, "noconv");
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["exit_code"], 1);
    let reason = t["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("psi4 reported an error")
            && reason.to_lowercase().contains("converge")
            && reason.ends_with("(exit code 1)"),
        "{t}"
    );
    // The program's output file is one `logs --file` away.
    let logs = ws.ms(&["logs", s(&run), "noconv", "--file", "output.dat"]);
    assert_eq!(logs.code, 0, "{logs:?}");
    assert!(
        logs.stdout.contains("Could not converge SCF iterations"),
        "{logs:?}"
    );
    let bad = ws.ms(&["logs", s(&run), "noconv", "--file", "../state.sqlite"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    // The table keeps its columns: every line starts with a task id or
    // continues under the reason column.
    let table = ws.ms(&["status", s(&run)]).stdout;
    let col = table
        .lines()
        .find(|l| l.starts_with("TASK"))
        .and_then(|l| l.find("REASON"))
        .unwrap();
    for line in table.lines().skip_while(|l| !l.starts_with("TASK")).skip(1) {
        assert!(
            line.starts_with("noconv ")
                || line.starts_with("ok ")
                || (line[..col].trim().is_empty() && !line[col..].starts_with(' ')),
            "{table}"
        );
    }
}

#[test]
fn a_gromacs_em_then_nvt_chain_runs_from_templates() {
    need("gmx");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/tests/data/gromacs");
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "em"
template = "gromacs/em"
params = { nsteps = 50, rcoulomb = 0.8, rvdw = 0.8 }
inputs = ["conf.gro", "topol.top"]

[[tasks]]
id = "nvt"
template = "gromacs/nvt"
params = { nsteps = 20, position_restraints = false, rcoulomb = 0.8, rvdw = 0.8 }
depends_on = ["em"]
files_from = { em = ["em.gro", "topol.top"] }
"#,
    );
    for f in ["conf.gro", "topol.top"] {
        ws.file(f, &std::fs::read_to_string(data.join(f)).unwrap());
    }
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(
        out.code,
        0,
        "{out:?}\n{}",
        ws.ms(&["logs", s(&run), "nvt", "--stderr"]).stdout
    );
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED");
    assert!(
        run.join("tasks/nvt/nvt.gro").is_file(),
        "nvt ran on em's output"
    );
    let em = &task_status(&st, "em")["results"];
    assert!(em["final_energy"].as_f64().unwrap() < 0.0, "{em}");
    // The MD series: energy frames with temperature; the EM's potential.
    let md = &task_status(&st, "nvt")["results"]["series"]["md"];
    let rows = md["rows"].as_array().unwrap();
    assert!(rows.len() >= 2, "{md}");
    assert_eq!(md["columns"][4], "temperature");
    assert!(
        em["series"]["em"]["rows"]
            .as_array()
            .is_some_and(|r| !r.is_empty()),
        "{em}"
    );
    assert_eq!(ws.ms(&["export-evidence", s(&run)]).code, 0);
    let html = std::fs::read_to_string(run.join("evidence/report.html")).unwrap();
    assert!(
        html.contains("nvt: md temperature (K)"),
        "report.html plots the MD"
    );
}

#[test]
fn bad_template_values_are_refused_at_init_and_nothing_is_written() {
    for (params, needle) in [
        ("{ basis = \"cc-pvqz\" }", "basis"),
        ("{ maxiter = 0 }", "maxiter"),
        ("{ charge = \"abc\" }", "not an integer"),
        ("{ bassis = \"sto-3g\" }", "did you mean"),
    ] {
        let ws = Workspace::new(&format!(
            "[[tasks]]\nid = \"a\"\ntemplate = \"psi4/energy\"\nparams = {params}\n"
        ));
        let out = ws.ms(&["init", "."]);
        assert_eq!(out.code, 2, "{params}: {out:?}");
        assert!(
            out.stderr.contains("task \"a\"") && out.stderr.contains(needle),
            "{params}: {}",
            out.stderr
        );
        assert!(!ws.runs_dir_exists());
    }
    let ws = Workspace::new("[[tasks]]\nid = \"a\"\ntemplate = \"psi4/energi\"\n");
    let out = ws.ms(&["init", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("psi4/energy"),
        "suggests the right name: {}",
        out.stderr
    );
}

#[test]
fn template_commands_list_show_and_render() {
    let ws = Workspace::new("[[tasks]]\nid = \"a\"\ncommand = \"true\"\n");
    let out = ws.ms(&["template", "list"]);
    assert_eq!(out.code, 0);
    for name in [
        "psi4/energy",
        "xtb/sp",
        "gromacs/em",
        "crystal/scf",
        "namd/production",
        "slurm/job",
    ] {
        assert!(out.stdout.contains(name), "{name} missing from list");
    }
    let out = ws.ms(&["template", "show", "psi4/energy"]);
    assert!(
        out.stdout.contains("basis") && out.stdout.contains("cc-pvdz"),
        "{}",
        out.stdout
    );
    let schema = ws
        .ms(&["template", "show", "psi4/energy", "--json-schema"])
        .json();
    assert_eq!(schema["properties"]["maxiter"]["type"], "integer");
    let out = ws.ms(&[
        "template",
        "render",
        "psi4/energy",
        "--set",
        "basis=cc-pvdz",
        "-o",
        "calc",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(std::fs::read_to_string(ws.path().join("calc/input.dat"))
        .unwrap()
        .contains("cc-pvdz"));
    // Out of range: a clear error and no directory.
    let out = ws.ms(&[
        "template",
        "render",
        "psi4/energy",
        "--set",
        "maxiter=0",
        "-o",
        "bad",
    ]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("maxiter"), "{}", out.stderr);
    assert!(!ws.path().join("bad").exists());
}

#[test]
fn an_xtb_optimisation_feeds_psi4_through_a_structure_parameter() {
    need("xtb");
    need("psi4");
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "opt"
template = "xtb/opt"
params = { molecule = "water.xyz" }
inputs = ["water.xyz"]

[[tasks]]
id = "sp"
template = "psi4/energy"
params = { molecule = "{{ tasks.opt.files['xtbopt.xyz'] }}", basis = "sto-3g", method = "scf" }
"#,
    );
    // A structure parameter given as a file name reads that file.
    ws.file(
        "water.xyz",
        "3\nwater\nO 0.0 0.0 0.0\nH 0.0 0.0 1.1\nH 1.0 0.0 -0.2\n",
    );
    let run = ws.init("chain");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);
    let opt = std::fs::read_to_string(run.join("tasks/opt/xtbopt.xyz")).unwrap();
    // psi4 ran on xtb's optimised geometry, not on the input or a default.
    let input = std::fs::read_to_string(run.join("tasks/sp/input.dat")).unwrap();
    let atom = opt
        .lines()
        .nth(2)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>();
    assert!(
        input.contains(atom[1]) && input.contains(atom[3]),
        "{input}\n{opt}"
    );
    assert!(!input.contains("water dimer"));
    let e = task_status(&st, "sp")["results"]["final_energy"]
        .as_f64()
        .unwrap();
    assert!((-76.0..-74.0).contains(&e), "STO-3G water SCF energy: {e}");

    // A reference to a file the upstream does not make is caught at start,
    // naming it; a structure file that is not a structure, at init.
    let bad = Workspace::new(
        "[[tasks]]\nid = \"sp\"\ntemplate = \"psi4/energy\"\nparams = { molecule = \"notes.txt\" }\ninputs = [\"notes.txt\"]\n",
    );
    bad.file("notes.txt", "not a molecule\n");
    let out = bad.ms(&["init", "."]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("molecule") && out.stderr.contains("not a valid structure"),
        "{}",
        out.stderr
    );
}

#[test]
fn retry_with_set_renders_the_template_again_and_the_lineage_says_so() {
    need("psi4");
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "sp"
template = "psi4/energy"
params = { basis = "sto-3g", method = "scf", maxiter = 2 }
"#,
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    assert_eq!(task_status(&status(&run), "sp")["status"], "FAILED");
    // A parameter the template does not have, and a bad value: exit 2.
    let out = ws.ms(&["retry", s(&run), "sp", "--set", "maxitre=100"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("did you mean \"maxiter\""),
        "{}",
        out.stderr
    );
    let out = ws.ms(&["retry", s(&run), "sp", "--set", "maxiter=0"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("maxiter"), "{}", out.stderr);
    assert_eq!(task_status(&status(&run), "sp")["status"], "FAILED");

    let out = ws.ms(&["retry", s(&run), "sp", "--set", "maxiter=100"]);
    assert_eq!(out.code, 0, "{out:?}");
    let input = std::fs::read_to_string(run.join("tasks/sp/input.dat")).unwrap();
    assert!(input.contains("100"), "rendered again: {input}");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 0);
    let st = status(&run);
    let t = task_status(&st, "sp");
    assert_eq!(t["status"], "COMPLETED", "{st}");
    assert!(t["results"]["final_energy"].as_f64().unwrap() < -74.0);
    assert_eq!(t["lineage"], "attempt 2 (retry of 1 with maxiter 100)");
}
