//! CP2K (Debian's `cp2k` with `cp2k-data`; scripts/testbed.sh installs
//! them) through the shipped templates: a water energy and geometry
//! optimisation on the local operator, an energy on the SLURM testbed, an
//! input CP2K refuses (its `[ABORT]` box becomes the reason), and an
//! optimisation cancelled mid-way that continues from CP2K's restart file.
//! Every expected number is read from CP2K's own output.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{ms_in, s, status, task_status, wait_for, Workspace};
use crate::testbed::{slurm_state, testbed, ClusterWs};

fn need_cp2k() {
    let found = Command::new("sh")
        .args([
            "-c",
            "command -v cp2k && test -f /usr/share/cp2k/GTH_POTENTIALS",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test runs CP2K (cp2k, cp2k-data): install them with `bash scripts/testbed.sh`"
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The number after the last `:` of the last `ENERGY| Total FORCE_EVAL` line.
fn printed_energy(text: &str) -> f64 {
    let line = text
        .lines()
        .rfind(|l| l.trim_start().starts_with("ENERGY| Total FORCE_EVAL"))
        .expect("an ENERGY| line");
    line.rsplit(':').next().unwrap().trim().parse().unwrap()
}

/// The `Max. gradient` values of the optimisation steps, in order.
fn max_gradients(text: &str) -> Vec<f64> {
    text.lines()
        .filter(|l| l.trim_start().starts_with("Max. gradient"))
        .map(|l| l.split('=').nth(1).unwrap().trim().parse().unwrap())
        .collect()
}

/// Water with the oxygen moved off its minimum, so there is something to optimise.
const MOVED: &str =
    "molecule = \"3\\nwater\\nO 0.0 0.0 0.3\\nH 0.0 0.7572 -0.4692\\nH 0.0 -0.7572 -0.4692\\n\"";

#[test]
fn a_cp2k_energy_and_geometry_optimisation_of_water_reach_status_json() {
    need_cp2k();
    let ws = Workspace::new(&format!(
        r#"
[[tasks]]
id = "energy"
template = "cp2k/energy"

[[tasks]]
id = "opt"
template = "cp2k/geo_opt"
params = {{ {MOVED}, max_force = 1e-3 }}
"#
    ));
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);

    let text = read(&run.join("tasks/energy/energy.out"));
    let e = &task_status(&st, "energy")["results"];
    assert_eq!(
        e["final_energy"].as_f64(),
        Some(printed_energy(&text)),
        "{e}"
    );
    assert_eq!(e["energy_unit"], "hartree");
    assert!((-17.3..-17.1).contains(&e["final_energy"].as_f64().unwrap()));
    assert_eq!(e["converged"], true);
    assert_eq!(e["normal_termination"], true);
    assert!(text.contains(&format!("CP2K version {}", e["version"].as_str().unwrap())));
    let scf = &e["series"]["scf"];
    assert_eq!(scf["columns"][1], "energy");
    let steps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("*** SCF run converged in"))
        .and_then(|r| r.split_whitespace().next()?.parse::<usize>().ok())
        .unwrap();
    assert_eq!(scf["rows"].as_array().unwrap().len(), steps);

    let text = read(&run.join("tasks/opt/geo_opt.out"));
    let o = &task_status(&st, "opt")["results"];
    assert!(text.contains("GEOMETRY OPTIMIZATION COMPLETED"));
    assert_eq!(o["final_energy"].as_f64(), Some(printed_energy(&text)));
    assert_eq!(o["converged"], true);
    let geo = &o["series"]["geo_opt"];
    assert_eq!(
        geo["columns"],
        serde_json::json!(["step", "energy", "max_gradient"])
    );
    let grads: Vec<f64> = geo["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[2].as_f64().unwrap())
        .collect();
    assert_eq!(grads, max_gradients(&text));
    assert!(
        grads.len() >= 2 && grads.last() < grads.first(),
        "{grads:?}"
    );
    assert!(run.join("tasks/opt/cp2k-pos-1.xyz").is_file());

    assert_eq!(ws.ms(&["export-evidence", s(&run)]).code, 0);
    let html = read(&run.join("evidence/report.html"));
    assert!(
        html.contains("opt: geo_opt energy (hartree)"),
        "report.html plots the optimisation"
    );
}

#[test]
fn an_input_cp2k_refuses_fails_the_task_with_its_abort_text() {
    need_cp2k();
    // One electron short with multiplicity 1: CP2K stops with an [ABORT].
    let ws = Workspace::new(
        "[[tasks]]\nid = \"cation\"\ntemplate = \"cp2k/energy\"\nparams = { charge = 1 }\n",
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    let st = status(&run);
    let t = task_status(&st, "cation");
    assert_eq!(t["status"], "FAILED", "{t}");
    let text = read(&run.join("tasks/cation/energy.out"));
    // The box line after [ABORT], without the box and the drawing.
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.contains("[ABORT]")).unwrap();
    let words = lines[at + 1]
        .trim()
        .trim_matches('*')
        .trim()
        .trim_start_matches("\\___/")
        .trim();
    assert!(!words.is_empty());
    let reason = t["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("cp2k reported an error: CP2K: {words}")),
        "{reason}"
    );
}

#[test]
fn a_cp2k_optimisation_cancelled_mid_way_continues_from_its_restart_file() {
    need_cp2k();
    let ws = Workspace::new(&format!(
        "[[tasks]]\nid = \"opt\"\ntemplate = \"cp2k/geo_opt\"\nparams = {{ {MOVED} }}\n"
    ));
    let run = ws.init("r");
    let dir = run.join("tasks/opt");
    let mut runner = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Step 1 is done (its restart file written) once step 2 begins.
    let stepped = wait_for(Duration::from_secs(180), || {
        dir.join("cp2k-1.restart").is_file()
            && std::fs::read_to_string(dir.join("geo_opt.out"))
                .is_ok_and(|t| t.contains("OPTIMIZATION STEP:      2"))
    });
    assert!(stepped, "no optimisation step: {}", status(&run));
    assert_eq!(ms_in(&run, &["cancel", s(&run), "opt"]).code, 0);
    assert_eq!(runner.wait().unwrap().code(), Some(1));
    assert_eq!(task_status(&status(&run), "opt")["status"], "CANCELLED");
    let first = read(&dir.join("geo_opt.out"));
    assert!(
        !first.contains("GEOMETRY OPTIMIZATION COMPLETED"),
        "cut short"
    );

    let out = ms_in(&run, &["restart", s(&run), "opt"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("opt: attempt 2 (restart of 1) continues from cp2k-1.restart")
            && out.stdout.contains("cp2k -i restart.inp -o geo_opt.out"),
        "{}",
        out.stdout
    );
    let out = ms_in(&run, &["run", s(&run), "--poll", "0.2"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);
    let t = task_status(&st, "opt");
    assert_eq!(t["status"], "COMPLETED", "{st}");
    assert_eq!(t["lineage"], "attempt 2 (restart of 1)");
    // CP2K appended to the same output, read the restart file and went on
    // from a step the first attempt reached, not from step 0.
    let all = read(&dir.join("geo_opt.out"));
    assert!(all.starts_with(&first));
    let rest = &all[first.len()..];
    assert!(rest.contains("RESTART FILE NAME: cp2k-1.restart"), "{rest}");
    let resumed: i64 = rest
        .lines()
        .find_map(|l| l.trim().strip_prefix("--------  Informations at step ="))
        .and_then(|r| r.trim_matches(['-', ' ']).parse().ok())
        .unwrap();
    assert!(resumed >= 1, "continued from step {resumed}");
    assert!(rest.contains("GEOMETRY OPTIMIZATION COMPLETED"));
    let r = &t["results"];
    assert_eq!(r["final_energy"].as_f64(), Some(printed_energy(rest)));
    assert_eq!(r["converged"], true);
    // One geo_opt row per step, in order, across both attempts.
    let steps: Vec<i64> = r["series"]["geo_opt"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_f64().unwrap() as i64)
        .collect();
    assert_eq!(steps.first(), Some(&1));
    assert!(steps.windows(2).all(|w| w[1] == w[0] + 1), "{steps:?}");
}

#[test]
fn a_cp2k_energy_runs_on_slurm_with_the_energy_cp2k_printed() {
    need_cp2k();
    let tb = testbed();
    let c = ClusterWs::plain(
        &tb,
        "[[tasks]]\nid = \"energy\"\noperator = \"slurm\"\ncluster = \"testbed\"\ntemplate = \"cp2k/energy\"\noutputs = [\"energy.out\"]\n",
    );
    let run = c.ws.init("r");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);
    let t = task_status(&st, "energy");
    assert_eq!(t["status"], "COMPLETED", "{st}");
    let jobs = c.job_infos();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(
        slurm_state(jobs[0]["scheduler_id"].as_str().unwrap()),
        "COMPLETED"
    );
    let text = read(&run.join("tasks/energy/energy.out"));
    assert_eq!(
        t["results"]["final_energy"].as_f64(),
        Some(printed_energy(&text))
    );
    assert!(!t["results"]["series"]["scf"]["rows"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn bad_cp2k_template_values_are_refused_at_init_naming_the_parameter() {
    for (params, needle) in [
        ("{ functional = \"B3LYP\" }", "did you mean `BLYP`?"),
        ("{ cell = \"6 6\" }", "'cell'"),
        ("{ multiplicity = 0 }", "'multiplicity'"),
        ("{ molecule = \"not a molecule\" }", "params.molecule"),
    ] {
        let ws = Workspace::new(&format!(
            "[[tasks]]\nid = \"e\"\ntemplate = \"cp2k/energy\"\nparams = {params}\n"
        ));
        let out = ws.ms(&["init", "."]);
        assert_eq!(out.code, 2, "{params}: {out:?}");
        assert!(
            out.stderr.contains("task \"e\"") && out.stderr.contains(needle),
            "{params}: {}",
            out.stderr
        );
        assert!(!ws.runs_dir_exists());
    }
}
