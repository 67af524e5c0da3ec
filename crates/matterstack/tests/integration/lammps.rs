//! LAMMPS (`lmp` from Debian; scripts/testbed.sh installs it) through the
//! shipped templates: a minimisation feeding NVT MD on the local operator and
//! on the SLURM testbed, an input error that fails the task in LAMMPS' words,
//! and an NVT run cancelled mid-way that continues from its restart file.
//! Every expected number is read from the program's own log.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{ms_in, s, status, task_status, wait_for, Workspace};
use crate::testbed::{slurm_state, testbed, ClusterWs};

fn need_lmp() {
    let found = Command::new("sh")
        .args(["-c", "command -v lmp"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test runs LAMMPS (lmp): install it with `bash scripts/testbed.sh`"
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The thermo rows of a LAMMPS log as (header, rows), read with a plain
/// scan: a `Step …` line and the lines of as many numbers under it.
fn thermo(log: &str) -> Vec<(Vec<String>, Vec<f64>)> {
    let mut out = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in log.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"Step") {
            header = Some(words.iter().map(|w| w.to_string()).collect());
            continue;
        }
        if let Some(h) = &header {
            let row: Option<Vec<f64>> = words.iter().map(|w| w.parse().ok()).collect();
            match row {
                Some(r) if r.len() == h.len() => out.push((h.clone(), r)),
                _ => header = None,
            }
        }
    }
    out
}

/// The value of `column` in the last thermo row of `log`.
fn last_thermo(log: &str, column: &str) -> f64 {
    let rows = thermo(log);
    let (h, r) = rows.last().expect("thermo rows in the log");
    let i = h.iter().position(|c| c == column).unwrap();
    r[i]
}

/// The final energy of the minimisation summary
/// (`Energy initial, next-to-last, final =` and the numbers under it).
fn minimised_energy(log: &str) -> f64 {
    let lines: Vec<&str> = log.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains("Energy initial, next-to-last, final"))
        .expect("a minimisation summary");
    lines[i + 1]
        .split_whitespace()
        .last()
        .unwrap()
        .parse()
        .unwrap()
}

const MIN_PARAMS: &str =
    "params = { cells = 4, displace = 0.05, seed = 7, etol = 1e-10, ftol = 1e-10 }";

#[test]
fn a_lammps_minimisation_feeds_nvt_md_and_both_reach_status_json() {
    need_lmp();
    let ws = Workspace::new(&format!(
        r#"
[[tasks]]
id = "min"
template = "lammps/min"
{MIN_PARAMS}

[[tasks]]
id = "nvt"
template = "lammps/nvt"
params = {{ system = "data", data_file = "min.data", temperature = 1.2, nsteps = 500, thermo_interval = 50, restart_interval = 100 }}
depends_on = ["min"]
files_from = {{ min = ["min.data"] }}
"#
    ));
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED", "{st}");

    // The minimisation: the energy LAMMPS printed as final, in lj units.
    let min_log = read(&run.join("tasks/min/min.log"));
    let min = &task_status(&st, "min")["results"];
    assert_eq!(
        min["final_energy"].as_f64(),
        Some(minimised_energy(&min_log))
    );
    assert_eq!(min["energy_unit"], "epsilon");
    assert_eq!(min["converged"], true, "{min}");
    assert_eq!(min["normal_termination"], true);
    assert_eq!(min["partial"], false);
    let banner = min_log.lines().next().unwrap();
    assert_eq!(
        format!("LAMMPS ({})", min["version"].as_str().unwrap()),
        banner
    );
    let series = &min["series"]["min"];
    assert_eq!(series["columns"][0], "step");
    assert_eq!(series["columns"][1], "potential");
    assert!(series["rows"].as_array().unwrap().len() >= 2, "{series}");
    assert!(run.join("tasks/min/min.data").is_file());

    // NVT MD started from the minimised structure: the last thermo line's
    // potential energy, and the thermo lines as the md series.
    let nvt_log = read(&run.join("tasks/nvt/nvt.log"));
    assert!(nvt_log.contains("read_data       min.data"), "{nvt_log}");
    let nvt = &task_status(&st, "nvt")["results"];
    assert_eq!(
        nvt["final_energy"].as_f64(),
        Some(last_thermo(&nvt_log, "PotEng"))
    );
    assert_eq!(nvt["values"]["final_step"], 500);
    let md = &nvt["series"]["md"];
    assert_eq!(
        md["columns"],
        serde_json::json!([
            "step",
            "temperature",
            "potential",
            "kinetic",
            "total",
            "pressure"
        ])
    );
    let rows = md["rows"].as_array().unwrap();
    let steps: Vec<i64> = rows.iter().map(|r| r[0].as_f64().unwrap() as i64).collect();
    assert_eq!(steps, (0..=500).step_by(50).collect::<Vec<i64>>());
    let logged_t = last_thermo(&nvt_log, "Temp");
    assert_eq!(rows.last().unwrap()[1].as_f64(), Some(logged_t));
    assert!(
        nvt["wall_time_s"].as_f64().is_some(),
        "Total wall time: {nvt}"
    );

    assert_eq!(ws.ms(&["export-evidence", s(&run)]).code, 0);
    let html = read(&run.join("evidence/report.html"));
    assert!(
        html.contains("nvt: md temperature"),
        "report.html plots the MD"
    );
}

#[test]
fn a_lammps_input_error_fails_the_task_with_lammps_words() {
    need_lmp();
    let ws = Workspace::new(
        "[[tasks]]\nid = \"bad\"\ntemplate = \"lammps/min\"\nparams = { pair_style = \"lj/cutt 2.5\" }\n",
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    let st = status(&run);
    let t = task_status(&st, "bad");
    assert_eq!(t["status"], "FAILED", "{t}");
    let log = read(&run.join("tasks/bad/min.log"));
    let words = log
        .lines()
        .find_map(|l| l.strip_prefix("ERROR: "))
        .expect("LAMMPS printed an ERROR line");
    assert!(words.contains("lj/cutt"), "{words}");
    let reason = t["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("lammps reported an error: LAMMPS error: {words}")),
        "{reason}"
    );
    assert_eq!(t["results"]["partial"], false);
    assert_eq!(t["results"]["normal_termination"], false);
}

const NVT_STEPS: i64 = 40_000;

#[test]
fn a_lammps_nvt_cancelled_mid_run_restarts_from_its_restart_file_to_the_full_step_count() {
    need_lmp();
    let ws = Workspace::new(&format!(
        r#"
[[tasks]]
id = "nvt"
template = "lammps/nvt"
params = {{ cells = 6, nsteps = {NVT_STEPS}, thermo_interval = 500, restart_interval = 1000 }}
"#
    ));
    let run = ws.init("r");
    let dir = run.join("tasks/nvt");
    let mut runner = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until LAMMPS has replaced its restart file twice, then cancel.
    let written = wait_for(Duration::from_secs(120), || {
        dir.join("nvt.restart").is_file()
            && std::fs::read_to_string(dir.join("nvt.log"))
                .is_ok_and(|l| l.matches("shell mv nvt.restart.tmp nvt.restart").count() >= 2)
    });
    assert!(written, "no restart file: {}", status(&run));
    let out = ms_in(&run, &["cancel", s(&run), "nvt"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        runner.wait().unwrap().code(),
        Some(1),
        "the run ended unfinished"
    );
    let first = read(&dir.join("nvt.log"));
    let cut = thermo(&first).last().unwrap().1[0] as i64;
    assert!(cut < NVT_STEPS, "the run was cut short at step {cut}");
    let st = status(&run);
    let t = task_status(&st, "nvt");
    assert_eq!(t["status"], "CANCELLED");

    let out = ms_in(&run, &["restart", s(&run), "nvt"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("nvt: attempt 2 (restart of 1) continues from nvt.restart")
            && out.stdout.contains("command: lmp -in restart.in -log none"),
        "{}",
        out.stdout
    );
    let out = ms_in(&run, &["run", s(&run), "--poll", "0.2"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);
    let t = task_status(&st, "nvt");
    assert_eq!(t["status"], "COMPLETED", "{st}");
    assert_eq!(t["lineage"], "attempt 2 (restart of 1)");
    let r = &t["results"];
    assert_eq!(r["values"]["final_step"], NVT_STEPS, "{r}");
    assert_eq!(r["normal_termination"], true);

    // The restart read the restart file and appended to the same log.
    let log = read(&dir.join("nvt.log"));
    assert!(log.starts_with(&first), "the interrupted part is kept");
    let rest = &log[first.len()..];
    assert!(rest.contains("read_restart    nvt.restart"), "{rest}");
    assert!(rest.contains("Reading restart file ..."), "{rest}");
    // It continued from a step the first attempt reached (not from 0), and
    // its first thermo line there is the first attempt's line at that step,
    // number for number: the state came from the restart file.
    let resumed = thermo(rest);
    let (_, start) = resumed.first().unwrap();
    let from = start[0] as i64;
    assert!(
        from > 0 && from <= cut && from % 1000 == 0,
        "continued from {from}"
    );
    let before = thermo(&first);
    let same = before.iter().find(|(_, r)| r[0] as i64 == from).unwrap();
    assert_eq!(&same.1, start, "step {from} before and after the restart");
    assert_eq!(resumed.last().unwrap().1[0] as i64, NVT_STEPS);
    // The parsed energy is the last thermo line's, and the md series runs
    // from 0 to the full step count with every step once.
    assert_eq!(
        r["final_energy"].as_f64(),
        Some(last_thermo(&log, "PotEng"))
    );
    let steps: Vec<i64> = r["series"]["md"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[0].as_f64().unwrap() as i64)
        .collect();
    assert_eq!(steps, (0..=NVT_STEPS).step_by(500).collect::<Vec<i64>>());
}

#[test]
fn lammps_min_and_nvt_run_on_slurm_with_the_energies_lammps_printed() {
    need_lmp();
    let tb = testbed();
    let tasks = format!(
        r#"
[[tasks]]
id = "min"
operator = "slurm"
cluster = "testbed"
template = "lammps/min"
{MIN_PARAMS}
outputs = ["min.log", "min.data"]

[[tasks]]
id = "nvt"
operator = "slurm"
cluster = "testbed"
template = "lammps/nvt"
params = {{ system = "data", data_file = "min.data", nsteps = 300, thermo_interval = 100, restart_interval = 100 }}
depends_on = ["min"]
files_from = {{ min = ["min.data"] }}
outputs = ["nvt.log", "nvt.data"]
"#
    );
    let c = ClusterWs::plain(&tb, &tasks);
    let run = c.ws.init("r");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED", "{st}");
    for info in c.job_infos() {
        let id = info["scheduler_id"].as_str().unwrap();
        assert_eq!(slurm_state(id), "COMPLETED", "{info}");
    }
    let min_log = read(&run.join("tasks/min/min.log"));
    assert_eq!(
        task_status(&st, "min")["results"]["final_energy"].as_f64(),
        Some(minimised_energy(&min_log))
    );
    let nvt_log = read(&run.join("tasks/nvt/nvt.log"));
    let nvt = &task_status(&st, "nvt")["results"];
    assert_eq!(
        nvt["final_energy"].as_f64(),
        Some(last_thermo(&nvt_log, "PotEng"))
    );
    assert_eq!(nvt["values"]["final_step"], 300);
    assert_eq!(nvt["series"]["md"]["rows"].as_array().unwrap().len(), 4);
    // The restart file came back with the outputs, ready for a restart.
    assert!(run.join("tasks/nvt/nvt.restart").is_file());
}

#[test]
fn bad_lammps_template_values_are_refused_at_init_naming_the_parameter() {
    for (params, needle) in [
        (
            "{ system = \"data\" }",
            "'data_file': missing required file value",
        ),
        ("{ units = \"si\" }", "'units': value \"si\" is not one of"),
        ("{ nsteps = 0 }", "'nsteps'"),
        (
            "{ pair_style = \"lj/cut 2.5; shell rm x\" }",
            "'pair_style'",
        ),
    ] {
        let ws = Workspace::new(&format!(
            "[[tasks]]\nid = \"md\"\ntemplate = \"lammps/nvt\"\nparams = {params}\n"
        ));
        let out = ws.ms(&["init", "."]);
        assert_eq!(out.code, 2, "{params}: {out:?}");
        assert!(
            out.stderr.contains("task \"md\"") && out.stderr.contains(needle),
            "{params}: {}",
            out.stderr
        );
        assert!(!ws.runs_dir_exists());
    }
}
