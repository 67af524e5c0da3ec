//! Sweeps: one task declared with `sweep = {…}` runs once per point, locally
//! and on the SLURM testbed, where the points go as one job array.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{s, status, step_with_fault, task_status, Workspace};
use crate::testbed::{testbed, ClusterWs};

#[test]
fn a_local_sweep_of_five_points_is_gathered_by_one_task() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "scan"
command = "echo $(( {{ i }} * {{i}} )) > sq.txt; echo \"$MS_SWEEP_I\" > env.txt"
sweep = { i = [1, 2, 3, 4, 5] }

[[tasks]]
id = "sum"
depends_on = ["scan"]
command = "cat ../scan.i-*/sq.txt | awk '{ s += $1 } END { print s }' > total.txt"
"#,
    );
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED", "{st}");
    assert_eq!(st["counts"]["COMPLETED"], 6, "{st}");
    for i in 1..=5 {
        let id = format!("scan.i-{i}");
        assert_eq!(task_status(&st, &id)["status"], "COMPLETED");
        let dir = run.join("tasks").join(&id);
        assert_eq!(
            std::fs::read_to_string(dir.join("sq.txt")).unwrap(),
            format!("{}\n", i * i)
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("env.txt")).unwrap(),
            format!("{i}\n")
        );
    }
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/sum/total.txt")).unwrap(),
        "55\n",
        "1 + 4 + 9 + 16 + 25: the gather ran after every point"
    );
}

#[test]
fn bad_sweeps_exit_2_with_the_problem_and_create_no_run() {
    for (sweep, needle) in [
        (
            "{ x = [] }",
            "task \"scan\": sweep.x is an empty list; give at least one value",
        ),
        (
            "{ x = [1, { y = 2 }] }",
            "task \"scan\": sweep.x[1] = {\"y\":2} is not a scalar; sweep values must be strings, numbers or booleans",
        ),
        (
            "{ x = 3 }",
            "task \"scan\": sweep.x = 3 is not a list; give the values as a list, e.g. x = [1, 2, 3]",
        ),
        (
            "{ \"two words\" = [1] }",
            "task \"scan\": sweep key \"two words\" is not an identifier",
        ),
    ] {
        let ws = Workspace::new(&format!(
            "[[tasks]]\nid = \"scan\"\ncommand = \"echo {{{{ x }}}}\"\nsweep = {sweep}\n"
        ));
        let out = ws.ms(&["init", "."]);
        assert_eq!(out.code, 2, "{sweep}: {out:?}");
        assert!(out.stderr.contains(needle), "{sweep}: {}", out.stderr);
        assert!(!ws.runs_dir_exists(), "{sweep}: nothing written");
    }
}

fn sweep_ws(points: usize, command: &str, extra_limits: &str) -> ClusterWs {
    let tb = testbed();
    let xs: Vec<String> = (0..points).map(|i| i.to_string()).collect();
    let tasks = format!(
        r#"
[[tasks]]
id = "scan"
operator = "slurm"
cluster = "testbed"
command = {command:?}
outputs = ["out.txt"]
sweep = {{ x = [{}] }}

[[tasks]]
id = "gather"
depends_on = ["scan"]
command = "cat ../scan.x-*/out.txt | sort -n > all.txt"
"#,
        xs.join(", ")
    );
    let c = ClusterWs::plain(&tb, &tasks);
    if !extra_limits.is_empty() {
        let profile = std::fs::read_to_string(c.ws.path().join("clusters.toml")).unwrap();
        let profile = profile.replace(
            "[clusters.testbed.limits]\n",
            &format!("[clusters.testbed.limits]\n{extra_limits}\n"),
        );
        c.ws.file("clusters.toml", &profile);
    }
    c
}

/// The array elements SLURM holds under job name `name`, as job ids `A_i`.
fn array_elements(name: &str) -> Vec<String> {
    let out = Command::new("squeue")
        .args([
            "--noheader",
            "--array",
            "--states=all",
            &format!("--name={name}"),
            "--format=%i",
        ])
        .output()
        .expect("squeue runs");
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    ids.sort();
    ids
}

/// `scontrol show job ID` (every element of an array): the ArrayJobId and
/// ArrayTaskId of each record.
fn scontrol_array(job_id: &str) -> Vec<(String, String)> {
    let out = Command::new("scontrol")
        .args(["show", "job", "-o", job_id])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let field = |k: &str| {
                l.split_whitespace()
                    .find_map(|kv| kv.strip_prefix(k))
                    .map(str::to_string)
            };
            Some((field("ArrayJobId=")?, field("ArrayTaskId=")?))
        })
        .collect()
}

#[test]
fn fifty_points_on_slurm_go_as_one_job_array() {
    let c = sweep_ws(50, "echo {{ x }} > out.txt", "");
    let run = c.ws.init("r");
    let log = c.ws.path().join("transport.log");
    let started = std::time::Instant::now();
    let out = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.3"])
        .current_dir(c.ws.path())
        .env("MATTERSTACK_TRANSPORT_LOG", &log)
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("50-point sweep on SLURM: {took:?}");
    let st = status(&run);
    assert_eq!(st["counts"]["COMPLETED"], 51, "{st}");
    // Every point's output came back, and the gather saw them all.
    for i in 0..50 {
        let f = run.join(format!("tasks/scan.x-{i}/out.txt"));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), format!("{i}\n"));
    }
    let all: Vec<String> = (0..50).map(|i| format!("{i}\n")).collect();
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/gather/all.txt")).unwrap(),
        all.concat()
    );
    // Exactly one sbatch, and it was the array of all 50 points.
    let lines = std::fs::read_to_string(&log).unwrap();
    let sbatch: Vec<&str> = lines
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("sbatch"))
        .collect();
    assert_eq!(sbatch.len(), 1, "{sbatch:?}");
    assert!(sbatch[0].ends_with("sbatch --array=0-49"), "{sbatch:?}");
    // Still one scheduler query per tick.
    let mut per_tick = Vec::new();
    for l in lines.lines() {
        match l.split_whitespace().nth(2) {
            Some("tick") => per_tick.push(0),
            Some("squeue") => *per_tick.last_mut().unwrap() += 1,
            _ => {}
        }
    }
    assert!(per_tick.iter().all(|n| *n <= 1), "{per_tick:?}");
    // Each element kept its own job record, all under one array job id.
    let infos = c.job_infos();
    assert_eq!(infos.len(), 50);
    let mut arrays = BTreeSet::new();
    let mut indices = BTreeSet::new();
    for info in &infos {
        assert_eq!(info["status"], "COMPLETED", "{info}");
        let id = info["scheduler_id"].as_str().unwrap();
        let (array, index) = id.split_once('_').unwrap_or_else(|| panic!("{id}"));
        arrays.insert(array.to_string());
        indices.insert(index.parse::<u32>().unwrap());
    }
    assert_eq!(arrays.len(), 1, "{arrays:?}");
    assert_eq!(indices, (0..50).collect());
    let array = arrays.into_iter().next().unwrap();
    let records = scontrol_array(&array);
    assert_eq!(records.len(), 50, "{records:?}");
    assert!(records.iter().all(|(a, _)| *a == array), "{records:?}");
    // `logs` reads a point's own output, as for any task.
    let logs = c.ws.ms(&["logs", s(&run), "scan.x-7"]);
    assert_eq!(logs.code, 0, "{logs:?}");
}

#[test]
fn arrays_are_split_at_the_profile_limit() {
    let c = sweep_ws(
        5,
        "echo {{ x }} > out.txt",
        "max_array_size = 2\narray_parallel = 1",
    );
    let run = c.ws.init("r");
    let log = c.ws.path().join("transport.log");
    let out = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.3"])
        .current_dir(c.ws.path())
        .env("MATTERSTACK_TRANSPORT_LOG", &log)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = std::fs::read_to_string(&log).unwrap();
    let mut sbatch: Vec<&str> = lines
        .lines()
        .filter(|l| l.split_whitespace().nth(2) == Some("sbatch"))
        .map(|l| l.split_whitespace().nth(3).unwrap_or(""))
        .collect();
    sbatch.sort();
    assert_eq!(
        sbatch,
        ["--array=0-0%1", "--array=0-1%1", "--array=0-1%1"],
        "{lines}"
    );
    assert_eq!(status(&run)["counts"]["COMPLETED"], 6);
}

#[test]
fn a_step_killed_after_the_array_sbatch_never_submits_it_again() {
    let c = sweep_ws(3, "sleep 2; echo {{ x }} > out.txt", "");
    let run = c.ws.init("r");
    assert!(
        !step_with_fault(c.ws.path(), &run, "MATTERSTACK_TEST_CRASH_AFTER_LAUNCH"),
        "the fault injection aborts the step"
    );
    let infos = c.job_infos();
    assert_eq!(infos.len(), 3);
    let name = infos[0]["job_name"].as_str().unwrap().to_string();
    assert!(infos.iter().all(|i| i["job_name"] == name.as_str()));
    let before = array_elements(&name);
    assert_eq!(before.len(), 3, "sbatch happened: {before:?}");
    // The store never heard of the array; the next steps find its elements.
    let out = c.ws.ms(&["run", s(&run), "--poll", "0.3"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(array_elements(&name), before, "not submitted again");
    let st = status(&run);
    for i in 0..3 {
        let t = task_status(&st, &format!("scan.x-{i}"));
        assert_eq!(t["status"], "COMPLETED", "{t}");
        assert_eq!(t["attempts"], 1, "{t}");
    }
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/gather/all.txt")).unwrap(),
        "0\n1\n2\n"
    );
    assert_eq!(c.job_infos().len(), 3, "no second set of job directories");
}

#[test]
fn cancel_of_one_point_stops_only_its_array_element() {
    let c = sweep_ws(2, "sleep 300 # {{ x }}", "");
    let run = c.ws.init("r");
    assert!(crate::support::wait_for(
        std::time::Duration::from_secs(60),
        || {
            c.ws.ms(&["step", s(&run)]);
            let infos = c.job_infos();
            infos.len() == 2 && infos.iter().all(|i| i["status"] == "RUNNING")
        }
    ));
    let id_of = |task: &str| {
        c.job_infos()
            .into_iter()
            .find(|i| i["task"] == task)
            .and_then(|i| i["scheduler_id"].as_str().map(str::to_string))
            .unwrap()
    };
    let (first, second) = (id_of("scan.x-0"), id_of("scan.x-1"));
    assert_eq!(
        first.split_once('_').map(|p| p.0),
        second.split_once('_').map(|p| p.0),
        "one array"
    );
    let out = c.ws.ms(&["cancel", s(&run), "scan.x-0"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(crate::support::wait_for(
        std::time::Duration::from_secs(30),
        || crate::testbed::slurm_state(&first) == "CANCELLED"
    ));
    assert_eq!(crate::testbed::slurm_state(&second), "RUNNING");
    let st = status(&run);
    assert_eq!(task_status(&st, "scan.x-0")["status"], "CANCELLED");
    assert_eq!(task_status(&st, "scan.x-1")["status"], "RUNNING");
    assert_eq!(c.ws.ms(&["cancel", s(&run)]).code, 0);
    assert!(crate::support::wait_for(
        std::time::Duration::from_secs(30),
        || crate::testbed::slurm_state(&second) == "CANCELLED"
    ));
}

#[test]
fn a_gather_that_reads_a_missing_result_names_the_points_and_what_they_have() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "scan"
command = "if [ {{ x }} -eq 2 ]; then echo '{\"energie\": 2}'; else echo '{\"energy\": {{ x }}}'; fi > results.json"
sweep = { x = [1, 2, 3] }

[[tasks]]
id = "sum"
command = "echo {% for p in tasks.scan.points %}{{ p.results.energy }} {% endfor %}"
"#,
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    let st = status(&run);
    let reason = task_status(&st, "sum")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        reason.contains("results.energy is missing in 1 of 3 points of \"scan\" (scan.x-2)")
            && reason.contains("energie"),
        "{reason}"
    );
}

#[test]
fn the_evidence_plots_a_sweeps_results_against_the_swept_value() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "scan"
command = "echo '{\"energy\": {{ r }}}' > results.json"
sweep = { r = [3.0, 1.0, 2.0, 10.0] }
"#,
    );
    let run = ws.init("r");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 0);
    assert_eq!(ws.ms(&["export-evidence", s(&run)]).code, 0);
    let html = std::fs::read_to_string(run.join("evidence/report.html")).unwrap();
    let at = html
        .find("energy vs r (scan)")
        .unwrap_or_else(|| panic!("no sweep plot: {html}"));
    let plot = &html[at..at + html[at..].find("</svg>").unwrap()];
    // Labelled by the value, in its order.
    let order: Vec<usize> = ["r=1.0", "r=2.0", "r=3.0", "r=10.0"]
        .iter()
        .map(|l| {
            plot.find(&format!(">{l}<"))
                .unwrap_or_else(|| panic!("{l}: {plot}"))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}
