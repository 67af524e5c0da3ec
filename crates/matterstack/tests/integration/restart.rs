//! `restart`: a new attempt that continues from the checkpoint of the last
//! one. A real GROMACS production run killed mid-way and continued to its
//! full step count; a NAMD production (a stand-in `namd3`, NAMD is licensed)
//! continued for the steps it had left; a multi-stage GROMACS equilibration
//! on the SLURM testbed passing files stage to stage; a cluster task that
//! failed after checkpointing, restarted on SLURM; and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{ms_in, s, status, task_status, wait_for, Workspace};
use crate::testbed::{slurm_state, testbed, ClusterWs};

fn need(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "this test runs {program}: install it with `bash scripts/testbed.sh`"
    );
}

/// The 216-water SPC box and its topology shipped as GROMACS test data.
fn water(ws: &Workspace) {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../templates/tests/data/gromacs");
    for f in ["conf.gro", "topol.top"] {
        ws.file(f, &std::fs::read_to_string(data.join(f)).unwrap());
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn explain(run: &Path, task: &str) -> serde_json::Value {
    let out = ms_in(run, &["explain", s(run), task, "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    out.json()
}

/// The steps mdrun logged (`Step Time` blocks), in order.
fn logged_steps(log: &str) -> Vec<i64> {
    let lines: Vec<&str> = log.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[0].split_whitespace().collect::<Vec<_>>() == ["Step", "Time"])
        .filter_map(|w| w[1].split_whitespace().next()?.parse().ok())
        .collect()
}

const MD_STEPS: i64 = 25_000;

#[test]
fn a_gromacs_production_killed_mid_way_restarts_from_its_checkpoint_to_the_full_step_count() {
    need("gmx");
    let ws = Workspace::new(&format!(
        r#"
[[tasks]]
id = "nvt"
template = "gromacs/nvt"
params = {{ structure = "conf.gro", nsteps = 100, position_restraints = false, rcoulomb = 0.8, rvdw = 0.8, seed = 7 }}
inputs = ["conf.gro", "topol.top"]

[[tasks]]
id = "md"
template = "gromacs/md"
params = {{ structure = "nvt.gro", checkpoint = "nvt.cpt", ensemble = "nvt", nsteps = {MD_STEPS}, output_interval = 1000, checkpoint_minutes = 0.005, rcoulomb = 0.8, rvdw = 0.8 }}
depends_on = ["nvt"]
files_from = {{ nvt = ["nvt.gro", "nvt.cpt", "topol.top"] }}
"#
    ));
    water(&ws);
    let run = ws.init("prod");
    let md = run.join("tasks/md");
    let mut runner = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait for mdrun's first checkpoint of the production, then kill it.
    let checkpointed = wait_for(Duration::from_secs(90), || {
        md.join("md.cpt").is_file()
            && std::fs::read_to_string(md.join("md.log"))
                .is_ok_and(|l| l.contains("Writing checkpoint, step"))
    });
    assert!(checkpointed, "no checkpoint: {}", status(&run));
    let out = ms_in(&run, &["cancel", s(&run), "md"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        runner.wait().unwrap().code(),
        Some(1),
        "the run ended unfinished"
    );
    let first = read(&md.join("md.log"));
    let cut = *logged_steps(&first).last().unwrap();
    assert!(cut < MD_STEPS, "the production was cut short at step {cut}");
    let st = status(&run);
    assert_eq!(task_status(&st, "md")["status"], "CANCELLED");

    let out = ms_in(&run, &["restart", s(&run), "md"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .contains("md: attempt 2 (restart of 1) continues from md.cpt, md.tpr"),
        "{}",
        out.stdout
    );
    let out = ms_in(&run, &["run", s(&run), "--poll", "0.2"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));

    // The whole run reached the step count of the .tpr, continuing from the
    // checkpoint (not from step 0) and appending to the same log and energies.
    let st = status(&run);
    let t = task_status(&st, "md");
    assert_eq!(t["status"], "COMPLETED", "{st}");
    assert_eq!(t["results"]["values"]["final_step"], MD_STEPS, "{t}");
    assert_eq!(t["lineage"], "attempt 2 (restart of 1)");
    let log = read(&md.join("md.log"));
    assert_eq!(
        log.matches("Restarting from checkpoint, appending to previous log file.")
            .count(),
        1
    );
    let from: i64 = log
        .split("Reading checkpoint file md.cpt")
        .nth(1)
        .and_then(|rest| rest.lines().find_map(|l| l.trim().strip_prefix("step:")))
        .and_then(|v| v.trim().parse().ok())
        .expect("the restart read the checkpoint's step");
    assert!(from > 0 && from < MD_STEPS, "continued from step {from}");
    let steps = logged_steps(&log);
    assert_eq!(steps.first(), Some(&0));
    assert_eq!(steps.last(), Some(&MD_STEPS));
    assert!(
        steps.windows(2).all(|w| w[0] <= w[1]),
        "the continuation did not start over: {steps:?}"
    );
    // The step count is the .tpr's, and the energy file ends there too.
    let gmx = |args: &[&str]| {
        let o = Command::new("gmx")
            .args(args)
            .current_dir(&md)
            .output()
            .unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let tpr = gmx(&["dump", "-s", "md.tpr"]);
    let nsteps = tpr
        .lines()
        .find_map(|l| l.trim().strip_prefix("nsteps"))
        .and_then(|v| v.trim().trim_start_matches('=').trim().parse::<i64>().ok());
    assert_eq!(nsteps, Some(MD_STEPS));
    let edr = gmx(&["check", "-e", "md.edr"]);
    let last_time = edr
        .split("Last energy frame read")
        .nth(1)
        .and_then(|r| r.split("time").nth(1))
        .and_then(|t| t.split_whitespace().next()?.parse::<f64>().ok());
    assert_eq!(last_time, Some(MD_STEPS as f64 * 0.002), "{edr}");
    let mdrun = read(&md.join(".attempts/2/stderr"));
    assert!(
        mdrun.contains("-cpi md.cpt"),
        "attempt 2 ran the restart command"
    );
    // Lineage: attempt 2 is a restart whose parent is attempt 1.
    let e = explain(&run, "md");
    assert_eq!(e["lineage"], serde_json::json!(["run", "restart of 1"]));
    assert_eq!(e["attempts"][0]["status"], "CANCELLED");
    assert_eq!(e["attempts"][1]["status"], "COMPLETED");
    assert_eq!(e["attempts"][1]["lineage"], "restart of 1");
    let text = ms_in(&run, &["explain", s(&run), "md"]).stdout;
    assert!(
        text.contains("attempt 2 (restart of 1): COMPLETED"),
        "{text}"
    );
}

/// A stand-in for `namd3`: reads the config's firsttimestep, run, restartfreq
/// and outputName, "integrates" in restartfreq blocks writing NAMD-style
/// restart files, logs and energies, and dies once past the step in
/// `crash-at` (removing it) — like a node failure.
const FAKE_NAMD: &str = r#"#!/bin/sh
config=$(eval echo \${$#})
get() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' "$config"; }
first=$(get firsttimestep); steps=$(get run); every=$(get restartfreq); out=$(get outputName)
echo "Info: NAMD 3.0 stand-in"
echo "stand-in: firsttimestep $first run $steps"
echo "ETITLE:      TS      POTENTIAL"
step=$first
last=$((first + steps))
while [ "$step" -lt "$last" ]; do
  step=$((step + every)); [ "$step" -gt "$last" ] && step=$last
  if [ -f crash-at ] && [ "$step" -gt "$(cat crash-at)" ]; then
    rm -f crash-at; echo "FATAL ERROR: stand-in node failure at step $step"; exit 1
  fi
  echo "ENERGY:  $step  -1000.0"
  for f in coor vel; do echo "$f at $step" > "$out.restart.$f"; done
  printf '# NAMD extended system configuration restart file\n#$LABELS step a_x\n%s 48.0\n' "$step" > "$out.restart.xsc"
  echo "WRITING VELOCITIES TO RESTART FILE AT STEP $step"
done
for f in coor vel xsc; do echo "final $step" > "$out.$f"; done
echo "WallClock: 1.0  CPUTime: 1.0  Memory: 10.0 MB"
echo "End of program"
"#;

#[test]
fn a_namd_production_continues_from_its_restart_files_for_the_steps_left() {
    let ws = Workspace::new("");
    ws.file("bin/namd3", FAKE_NAMD);
    std::fs::set_permissions(
        ws.path().join("bin/namd3"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    ws.file("crash-at", "4500\n");
    ws.file(
        "matterstack.toml",
        &format!(
            r#"
[[tasks]]
id = "prod"
template = "namd/production"
params = {{ steps = 10000, output_freq = 100 }}
inputs = ["crash-at"]
env = {{ PATH = "{}/bin:/usr/local/bin:/usr/bin:/bin" }}

[[tasks]]
id = "analysis"
command = "cat ../prod/prod.coor > seen.txt"
depends_on = ["prod"]
"#,
            ws.path().display()
        ),
    );
    let run = ws.init("namd");
    let prod = run.join("tasks/prod");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 1, "{out:?}");
    let st = status(&run);
    assert_eq!(task_status(&st, "prod")["status"], "FAILED", "{st}");
    assert_eq!(task_status(&st, "analysis")["status"], "SKIPPED");
    assert_eq!(
        read(&prod.join("prod.restart.xsc")).lines().last(),
        Some("4000 48.0")
    );

    let out = ws.ms(&["restart", s(&run), "prod", "--walltime", "2h", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let r = out.json();
    assert_eq!(r["from_attempt"], 1);
    assert_eq!(r["attempt"], 2);
    assert_eq!(r["walltime"], "2h");
    assert_eq!(r["status"], "READY");
    assert_eq!(r["dependants"], serde_json::json!(["analysis"]));
    assert_eq!(
        r["command"],
        "sh restart.sh && 'namd3' +p1 +setcpuaffinity restart.namd > output.log"
    );
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));

    // The continuation started at the restart files' step and ran only the
    // 6000 steps left, so the run ends at step 10000 in all.
    let log = read(&prod.join("output.log"));
    assert!(
        log.contains("stand-in: firsttimestep 4000 run 6000"),
        "{log}"
    );
    let st = status(&run);
    let t = task_status(&st, "prod");
    assert_eq!(t["status"], "COMPLETED");
    assert_eq!(t["results"]["values"]["final_step"], 10000, "{t}");
    assert_eq!(t["results"]["values"]["last_restart_step"], 10000);
    assert_eq!(t["lineage"], "attempt 2 (restart of 1 with walltime 2h)");
    assert!(read(&prod.join("output.before-restart.log"))
        .contains("FATAL ERROR: stand-in node failure at step 5000"));
    let config = read(&prod.join("restart.namd"));
    assert!(
        config.contains("\nbincoordinates     prod.restart.coor\n"),
        "{config}"
    );
    assert_eq!(task_status(&st, "analysis")["status"], "COMPLETED");
    assert_eq!(read(&run.join("tasks/analysis/seen.txt")), "final 10000\n");
}

fn counter_script() -> &'static str {
    // Counts to 10 in state.chk; the first run stops with an error at 5.
    "n=0; [ \"$1\" = --resume ] && n=$(cat state.chk)\necho \"started at $n\" >> progress.log\nwhile [ \"$n\" -lt 10 ]; do\n  n=$((n + 1)); echo \"$n\" > state.chk\n  if [ \"$n\" -eq 5 ] && [ \"$1\" != --resume ]; then exit 7; fi\ndone\necho \"counted to $n\" > result.txt\n"
}

#[test]
fn bad_restarts_are_refused_with_exit_2_and_change_nothing() {
    let ws = Workspace::new(
        r#"
[run]
cores = 2

[[tasks]]
id = "count"
command = "sh count.sh"
restart_command = "sh count.sh --resume"
checkpoint = ["state.chk"]
inputs = ["count.sh"]

[[tasks]]
id = "nockpt"
command = "exit 3"

[[tasks]]
id = "lost"
command = "exit 3"
checkpoint = ["never.chk"]

[[tasks]]
id = "done"
command = "true"
checkpoint = ["x.chk"]

[[tasks]]
id = "after"
command = "true"
checkpoint = ["x.chk"]
depends_on = ["nockpt"]
"#,
    );
    ws.file("count.sh", counter_script());
    let run = ws.init("bad");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    let snapshot = |run: &Path| {
        let ids = ["count", "nockpt", "lost", "done", "after"];
        (status(run), ids.map(|id| explain(run, id)).to_vec())
    };
    let before = snapshot(&run);
    let missing = run.join("tasks/lost").display().to_string();
    let cases: Vec<(Vec<&str>, Vec<String>)> = vec![
        (
            vec!["cuont"],
            vec!["no task \"cuont\"".into(), "did you mean \"count\"".into()],
        ),
        (
            vec!["nockpt"],
            vec![
                "declares no checkpoint files".into(),
                "matterstack retry".into(),
            ],
        ),
        (
            vec!["lost"],
            vec![
                format!("checkpoint file(s) never.chk not found in {missing}"),
                "matterstack retry".into(),
            ],
        ),
        (vec!["done"], vec!["is COMPLETED".into()]),
        (
            vec!["after"],
            vec!["is SKIPPED".into(), "only FAILED or CANCELLED".into()],
        ),
        (
            vec!["count", "--walltime", "soon"],
            vec![
                "--walltime \"soon\"".into(),
                "e.g. --walltime 04:00:00".into(),
            ],
        ),
        (vec!["count", "--cores", "0"], vec!["--cores 0".into()]),
        (vec!["count", "--cores", "many"], vec!["--cores".into()]),
        (
            vec!["count", "--cores", "64"],
            vec!["exceeds the run's core budget of 2".into()],
        ),
    ];
    for (args, needles) in cases {
        let mut argv = vec!["restart", s(&run)];
        argv.extend(&args);
        let out = ws.ms(&argv);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        for n in &needles {
            assert!(
                out.stderr.contains(n.as_str()),
                "{args:?}: expected {n:?} in {}",
                out.stderr
            );
        }
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
    let out = ws.ms(&["restart", ws.path().to_str().unwrap(), "count"]);
    assert_eq!(out.code, 2, "not a run directory: {out:?}");
    assert_eq!(snapshot(&run), before, "a refused restart changed the run");

    // A good restart is accepted once; a second one finds the task READY.
    let out = ws.ms(&["restart", s(&run), "count"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = ws.ms(&["restart", s(&run), "count"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("task \"count\" is READY"),
        "{}",
        out.stderr
    );
    assert_eq!(
        ws.ms(&["run", s(&run)]).code,
        1,
        "nockpt and lost still failed"
    );
    assert_eq!(
        read(&run.join("tasks/count/progress.log")),
        "started at 0\nstarted at 5\n"
    );
    assert_eq!(read(&run.join("tasks/count/result.txt")), "counted to 10\n");
}

#[test]
fn a_running_task_is_not_restarted_under_itself() {
    let ws = Workspace::new(
        "[[tasks]]\nid = \"slow\"\ncommand = \"echo 1 > state.chk; sleep 60\"\ncheckpoint = [\"state.chk\"]\n",
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["step", s(&run)]).code, 0);
    assert!(wait_for(Duration::from_secs(10), || run
        .join("tasks/slow/state.chk")
        .is_file()));
    let out = ws.ms(&["restart", s(&run), "slow"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("is RUNNING; cancel it first (`matterstack cancel"),
        "{}",
        out.stderr
    );
    assert_eq!(task_status(&status(&run), "slow")["status"], "RUNNING");
    // Cancelled, it continues from the checkpoint as attempt 2.
    assert_eq!(ws.ms(&["cancel", s(&run), "slow"]).code, 0);
    let out = ws.ms(&["restart", s(&run), "slow"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(ws.ms(&["cancel", s(&run), "slow"]).code, 0);
}

fn slurm_task(id: &str, body: &str) -> String {
    format!("[[tasks]]\nid = \"{id}\"\noperator = \"slurm\"\ncluster = \"testbed\"\n{body}\n")
}

/// Every job of this workspace on the cluster, as (task, attempt, job id,
/// status in job_info.json), sorted.
fn jobs(c: &ClusterWs) -> Vec<(String, u64, String, String)> {
    let mut v: Vec<_> = c
        .job_infos()
        .iter()
        .map(|i| {
            (
                i["task"].as_str().unwrap_or("").to_string(),
                i["attempt"].as_u64().unwrap_or(0),
                i["scheduler_id"].as_str().unwrap_or("").to_string(),
                i["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_gromacs_equilibration_runs_stage_by_stage_on_slurm_passing_files() {
    need("gmx");
    let tb = testbed();
    let common = "rcoulomb = 0.8, rvdw = 0.8, output_interval = 50";
    let tasks = [
        slurm_task(
            "em",
            "template = \"gromacs/em\"\nparams = { nsteps = 50, rcoulomb = 0.8, rvdw = 0.8 }\ninputs = [\"conf.gro\", \"topol.top\"]\noutputs = [\"em.gro\", \"em.log\"]",
        ),
        slurm_task(
            "nvt",
            &format!("template = \"gromacs/nvt\"\nparams = {{ nsteps = 100, position_restraints = false, seed = 3, {common} }}\ndepends_on = [\"em\"]\nfiles_from = {{ em = [\"em.gro\", \"topol.top\"] }}\noutputs = [\"nvt.gro\"]"),
        ),
        slurm_task(
            "npt",
            &format!("template = \"gromacs/npt\"\nparams = {{ nsteps = 100, position_restraints = false, {common} }}\ndepends_on = [\"nvt\"]\nfiles_from = {{ nvt = [\"nvt.gro\", \"nvt.cpt\", \"topol.top\"] }}\noutputs = [\"npt.gro\"]"),
        ),
        slurm_task(
            "md",
            &format!("template = \"gromacs/md\"\nparams = {{ nsteps = 200, {common} }}\ndepends_on = [\"npt\"]\nfiles_from = {{ npt = [\"npt.gro\", \"npt.cpt\", \"topol.top\"] }}\noutputs = [\"md.gro\"]"),
        ),
    ]
    .concat();
    let c = ClusterWs::plain(&tb, &tasks);
    water(&c.ws);
    let run = c.ws.init("equil");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED", "{st}");
    // Every stage ran as its own SLURM job, which SLURM reports COMPLETED.
    let jobs = jobs(&c);
    assert_eq!(
        jobs.iter().map(|j| j.0.as_str()).collect::<Vec<_>>(),
        ["em", "md", "npt", "nvt"],
        "{jobs:?}"
    );
    for (task, _, id, info) in &jobs {
        assert_eq!(info, "COMPLETED", "{task}");
        assert_eq!(slurm_state(id), "COMPLETED", "{task}: job {id}");
    }
    // The step counts are the ones asked for, stage by stage.
    let em = &task_status(&st, "em")["results"];
    assert!(em["final_energy"].as_f64().unwrap() < 0.0, "{em}");
    for (stage, n) in [("nvt", 100), ("npt", 100), ("md", 200)] {
        assert_eq!(
            task_status(&st, stage)["results"]["values"]["final_step"],
            n,
            "{stage}"
        );
    }
    // Each stage started from the previous stage's files...
    let grompp = |stage: &str| read(&run.join(format!("tasks/{stage}/.attempts/1/stderr")));
    assert!(
        grompp("npt").contains("-t nvt.cpt"),
        "npt continued from nvt's checkpoint"
    );
    assert!(grompp("md").contains("-t npt.cpt"));
    // ...and what came back is the declared outputs plus the checkpoint
    // files (for a restart), not everything the job left in scratch.
    let md = run.join("tasks/md");
    let gro = read(&md.join("md.gro"));
    assert_eq!(gro.lines().count(), 648 + 3, "216 waters and a box line");
    for f in ["md.cpt", "md.tpr", "md.log", "md.edr", "md.xtc"] {
        assert!(md.join(f).is_file(), "{f} came back");
    }
    assert!(
        !md.join("mdout.mdp").exists(),
        "undeclared files stay on the cluster"
    );
}

#[test]
fn a_cluster_task_that_failed_after_checkpointing_restarts_on_slurm() {
    let tb = testbed();
    let c = ClusterWs::plain(&tb, &slurm_task(
            "count",
            "command = \"sh count.sh\"\nrestart_command = \"sh count.sh --resume\"\ncheckpoint = [\"state.chk\"]\ninputs = [\"count.sh\"]\noutputs = [\"result.txt\", \"progress.log\"]",
        ));
    c.ws.file("count.sh", counter_script());
    let run = c.ws.init("r");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(task_status(&status(&run), "count")["exit_code"], 7);
    // The checkpoint came back with the outputs, so the task can continue.
    let task: PathBuf = run.join("tasks/count");
    assert_eq!(read(&task.join("state.chk")), "5\n");
    let out = c.ws.ms(&["restart", s(&run), "count", "--cores", "2"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(read(&task.join("result.txt")), "counted to 10\n");
    assert_eq!(
        read(&task.join("progress.log")),
        "started at 0\nstarted at 5\n"
    );
    let jobs = jobs(&c);
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert_eq!((jobs[0].1, jobs[0].3.as_str()), (1, "FAILED"));
    assert_eq!((jobs[1].1, jobs[1].3.as_str()), (2, "COMPLETED"));
    assert_eq!(slurm_state(&jobs[1].2), "COMPLETED");
    // The restart's job asked SLURM for the new core count.
    let info = c
        .job_infos()
        .into_iter()
        .find(|i| i["attempt"] == 2)
        .unwrap();
    assert_eq!(info["resources"]["cores"], 2);
    assert_eq!(info["spec"]["command"], "sh count.sh --resume");
    let e = explain(&run, "count");
    assert_eq!(
        e["lineage"],
        serde_json::json!(["run", "restart of 1 with cores 2"])
    );
}

#[test]
fn a_gromacs_md_cancelled_on_slurm_restarts_with_a_new_walltime_to_the_full_step_count() {
    need("gmx");
    let tb = testbed();
    let common = "rcoulomb = 0.8, rvdw = 0.8";
    let tasks = [
        slurm_task(
            "nvt",
            &format!("template = \"gromacs/nvt\"\nparams = {{ structure = \"conf.gro\", nsteps = 100, position_restraints = false, seed = 7, {common} }}\ninputs = [\"conf.gro\", \"topol.top\"]\noutputs = [\"nvt.gro\", \"nvt.cpt\"]"),
        ),
        slurm_task(
            "md",
            &format!("template = \"gromacs/md\"\nparams = {{ structure = \"nvt.gro\", checkpoint = \"nvt.cpt\", ensemble = \"nvt\", nsteps = {MD_STEPS}, output_interval = 1000, checkpoint_minutes = 0.005, {common} }}\ndepends_on = [\"nvt\"]\nfiles_from = {{ nvt = [\"nvt.gro\", \"nvt.cpt\", \"topol.top\"] }}\nwalltime = \"30m\""),
        ),
    ]
    .concat();
    let c = ClusterWs::plain(&tb, &tasks);
    water(&c.ws);
    let run = c.ws.init("prod");
    // Step until mdrun on the cluster has written a checkpoint: its log is
    // read on the cluster while the job runs.
    let checkpointed = wait_for(Duration::from_secs(180), || {
        c.ws.ms(&["step", s(&run)]);
        task_status(&status(&run), "md")["status"] == "RUNNING"
            && c.ws
                .ms(&["logs", s(&run), "md", "--file", "md.log"])
                .stdout
                .contains("Writing checkpoint, step")
    });
    assert!(checkpointed, "no checkpoint: {}", status(&run));
    let job = task_status(&status(&run), "md")["job"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(c.ws.ms(&["cancel", s(&run), "md"]).code, 0);
    assert!(wait_for(Duration::from_secs(30), || slurm_state(&job)
        .starts_with("CANCELLED")));
    // The checkpoint the job's TERM trap kept on the cluster is fetched by
    // the restart.
    let out = c.ws.ms(&["restart", s(&run), "md", "--walltime", "1h"]);
    assert_eq!(out.code, 0, "{out:?}");
    let md = run.join("tasks/md");
    assert!(md.join("md.cpt").is_file() && md.join("md.tpr").is_file());
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", status(&run));
    let st = status(&run);
    let t = task_status(&st, "md");
    assert_eq!(t["status"], "COMPLETED", "{st}");
    assert_eq!(t["results"]["values"]["final_step"], MD_STEPS, "{t}");
    assert_eq!(t["lineage"], "attempt 2 (restart of 1 with walltime 1h)");
    let log = read(&md.join("md.log"));
    let steps = logged_steps(&log);
    assert_eq!(steps.last(), Some(&MD_STEPS), "the full step count");
    assert!(
        steps.windows(2).all(|w| w[0] <= w[1]),
        "continued, not started over: {steps:?}"
    );
    let info = c
        .job_infos()
        .into_iter()
        .find(|i| i["task"] == "md" && i["attempt"] == 2)
        .unwrap();
    assert_eq!(info["resources"]["walltime"], "1h", "{info}");
}

#[test]
fn a_task_cancelled_over_ssh_restarts_from_the_checkpoint_its_trap_kept() {
    let tb = testbed();
    let task = "[[tasks]]\nid = \"count\"\noperator = \"ssh\"\ncluster = \"testbed\"\ncommand = \"if [ -f state.chk ]; then echo resumed from $(cat state.chk) > result.txt; else echo 5 > state.chk; sleep 300; fi\"\ncheckpoint = [\"state.chk\"]\noutputs = [\"result.txt\"]\n";
    let c = ClusterWs::plain(&tb, task);
    let run = c.ws.init("r");
    // Running on the host, with its checkpoint written (read there).
    assert!(wait_for(Duration::from_secs(60), || {
        c.ws.ms(&["step", s(&run)]);
        c.ws.ms(&["logs", s(&run), "count", "--file", "state.chk"])
            .stdout
            == "5\n"
    }));
    assert_eq!(c.ws.ms(&["cancel", s(&run), "count"]).code, 0);
    let out = c.ws.ms(&["restart", s(&run), "count"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        read(&run.join("tasks/count/result.txt")),
        "resumed from 5\n"
    );
    assert_eq!(
        task_status(&status(&run), "count")["lineage"],
        "attempt 2 (restart of 1)"
    );
}
