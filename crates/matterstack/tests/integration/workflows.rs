//! Workflows that think: data passing between tasks, `when` conditions,
//! human and manual steps, pause/resume and planner-driven campaigns.

use std::path::{Path, PathBuf};

use crate::support::{s, status, task_ids, task_status, Workspace};

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

fn run_status(run: &Path) -> String {
    status(run)["status"].as_str().unwrap().to_string()
}

fn example(name: &str) -> Workspace {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    let ws = Workspace::new(&std::fs::read_to_string(src.join("matterstack.toml")).unwrap());
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name != "matterstack.toml" && e.path().is_file() {
            ws.file(&name, &std::fs::read_to_string(e.path()).unwrap());
        }
    }
    ws
}

#[test]
fn active_learning_campaign_reaches_its_target_across_process_restarts() {
    let ws = example("active-learning");
    let run = ws.init("al");
    // A `run` killed mid-campaign, then nothing but separate `step`
    // processes: every round's state lives in the store.
    let mut child = crate::support::ms_command()
        .args(["run", s(&run), "--poll", "0.05"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    assert!(crate::support::wait_for(
        std::time::Duration::from_secs(30),
        || { status(&run)["tasks"].as_array().unwrap().len() >= 4 }
    ));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut steps = 0;
    while run_status(&run) != "COMPLETED" {
        let out = ws.ms(&["step", s(&run)]);
        assert_eq!(out.code, 0, "{out:?}");
        steps += 1;
        assert!(steps < 400, "campaign did not finish: {}", status(&run));
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let st = status(&run);
    let evals: Vec<(f64, f64)> = st["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            assert_eq!(t["status"], "COMPLETED", "{t}");
            (
                t["results"]["x"].as_f64().unwrap(),
                t["results"]["gap_ev"].as_f64().unwrap(),
            )
        })
        .collect();
    // Several planner rounds, no composition evaluated twice, and the last
    // evaluation meets the target the planner was given.
    assert!(evals.len() >= 5, "{evals:?}");
    let mut xs: Vec<i64> = evals
        .iter()
        .map(|(x, _)| (x * 1e4).round() as i64)
        .collect();
    xs.sort();
    xs.dedup();
    assert_eq!(xs.len(), evals.len(), "{evals:?}");
    let (_, last_gap) = evals.last().unwrap();
    assert!((last_gap - 2.0).abs() < 0.002, "{evals:?}");
    assert!(evals[..evals.len() - 1]
        .iter()
        .all(|(_, g)| (g - 2.0).abs() >= 0.002));
    // Once done, further steps change nothing.
    let out = ws.ms(&["step", s(&run)]);
    assert_eq!(out.code, 0);
    assert_eq!(status(&run)["tasks"].as_array().unwrap().len(), evals.len());
}

#[test]
fn a_failing_planner_pauses_the_run_with_its_stderr_and_resume_asks_again() {
    let ws = Workspace::new(
        r#"
[run]
planner = "sh plan.sh"

[[tasks]]
id = "first"
command = "echo '{\"value\": 1}' > results.json"
"#,
    );
    ws.file(
        "plan.sh",
        "echo 'model file surrogate.pkl is missing' >&2\nexit 4\n",
    );
    let run = ws.init("p");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 3, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "PAUSED");
    let why = st["paused"].as_str().unwrap();
    assert!(
        why.contains("exited with code 4") && why.contains("surrogate.pkl is missing"),
        "{why}"
    );
    assert_eq!(task_status(&st, "first")["status"], "COMPLETED");
    // Invalid JSON: still paused, the output quoted.
    ws.file("plan.sh", "echo 'not json'\n");
    assert_eq!(ws.ms(&["resume", s(&run)]).code, 0);
    ws.ms(&["step", s(&run)]);
    let st = status(&run);
    assert_eq!(st["status"], "PAUSED");
    assert!(
        st["paused"].as_str().unwrap().contains("invalid JSON"),
        "{st}"
    );
    // Fixed planner: adds a task that uses the first one's result, then done.
    ws.file(
        "plan.sh",
        r#"if grep -q '"id":"second"' ; then echo '{"done": true}'; else
echo '{"tasks": [{"id": "second", "command": "echo {{ tasks.first.results.value }} > out.txt"}]}'; fi
"#,
    );
    assert_eq!(ws.ms(&["resume", s(&run)]).code, 0);
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED", "{st}");
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/second/out.txt")).unwrap(),
        "1\n"
    );
}

#[test]
fn a_human_gate_blocks_only_its_own_branch_and_checks_the_response() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "screen"
command = "echo screened"

[[tasks]]
id = "approve"
operator = "human"
depends_on = ["screen"]
instructions = "Look at the screening and choose a temperature."
schema = { type = "object", required = ["approved", "temperature"], properties = { approved = { type = "boolean" }, temperature = { type = "number", minimum = 0 } } }

[[tasks]]
id = "production"
depends_on = ["approve"]
when = "tasks.approve.results.approved"
command = "echo T={{ tasks.approve.results.temperature }} > t.txt"

[[tasks]]
id = "other-branch"
depends_on = ["screen"]
command = "echo independent > o.txt"
"#,
    );
    let run = ws.init("h");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 3, "waiting for a person: {out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "WAITING_EXTERNAL");
    assert_eq!(task_status(&st, "approve")["status"], "WAITING_EXTERNAL");
    assert_eq!(task_status(&st, "other-branch")["status"], "COMPLETED");
    assert_eq!(task_status(&st, "production")["status"], "PENDING");
    let dir = run.join("operators/human/approve");
    assert!(std::fs::read_to_string(dir.join("instructions.md"))
        .unwrap()
        .contains("choose a temperature"));
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("schema.json")).unwrap()).unwrap();
    assert_eq!(schema["required"][1], "temperature");

    // A response that breaks the schema is refused and the task waits on.
    ws.file(
        "bad.json",
        r#"{"status": "COMPLETED", "data": {"approved": "yes", "temperature": -5}, "error": null}"#,
    );
    let out = ws.ms(&["respond", s(&run), "approve", "--file", "bad.json"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("data/approved") && out.stderr.contains("data/temperature"),
        "{}",
        out.stderr
    );
    assert!(!dir.join("response.json").exists());
    ws.ms(&["step", s(&run)]);
    assert_eq!(
        task_status(&status(&run), "approve")["status"],
        "WAITING_EXTERNAL"
    );

    ws.file(
        "good.json",
        r#"{"status": "COMPLETED", "data": {"approved": true, "temperature": 310.5}, "error": null}"#,
    );
    let out = ws.ms(&["respond", s(&run), "approve", "--file", "good.json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = status(&run);
    assert_eq!(task_status(&st, "approve")["results"]["temperature"], 310.5);
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/production/t.txt")).unwrap(),
        "T=310.5\n"
    );
}

#[test]
fn a_manual_task_writes_a_kit_and_completes_from_a_directory() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "prep"
command = "echo 'LATTICE 4.2' > geometry.txt"

[[tasks]]
id = "big-run"
operator = "manual"
depends_on = ["prep"]
files_from = { prep = ["geometry.txt"] }
command = "wc -c geometry.txt > energy.txt"
outputs = ["energy.txt"]
instructions = "Run this on the vendor's machine."

[[tasks]]
id = "analyse"
depends_on = ["big-run"]
files_from = { "big-run" = ["energy.txt"] }
command = "cat energy.txt > copied.txt"
"#,
    );
    let run = ws.init("m");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 3);
    let kit = run.join("operators/manual/big-run");
    let readme = std::fs::read_to_string(kit.join("README.md")).unwrap();
    assert!(readme.contains("vendor's machine") && readme.contains("matterstack complete"));
    assert!(kit.join("geometry.txt").is_file());
    // Run the kit the way its README says, elsewhere.
    let elsewhere = tempfile::tempdir().unwrap();
    for f in ["job.sh", "geometry.txt"] {
        std::fs::copy(kit.join(f), elsewhere.path().join(f)).unwrap();
    }
    let ok = std::process::Command::new("sh")
        .arg(elsewhere.path().join("job.sh"))
        .status()
        .unwrap();
    assert!(ok.success());
    // Completing from a directory without the declared output is refused.
    let empty = tempfile::tempdir().unwrap();
    let out = ws.ms(&["complete", s(&run), "big-run", "--from", s(empty.path())]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("\"energy.txt\" are missing"),
        "{}",
        out.stderr
    );
    let out = ws.ms(&[
        "complete",
        s(&run),
        "big-run",
        "--from",
        s(elsewhere.path()),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/analyse/copied.txt")).unwrap(),
        std::fs::read_to_string(elsewhere.path().join("energy.txt")).unwrap()
    );
}

#[test]
fn pause_stops_new_starts_and_resume_goes_on() {
    let ws = Workspace::new(
        r#"
[run]
cores = 1

[[tasks]]
id = "a"
command = "sleep 0.3"

[[tasks]]
id = "b"
command = "true"
"#,
    );
    let run = ws.init("pz");
    ws.ms(&["step", s(&run)]);
    let out = ws.ms(&["pause", s(&run), "--reason", "cluster maintenance"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 3, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "PAUSED");
    assert_eq!(st["paused"], "cluster maintenance");
    assert_eq!(task_status(&st, "a")["status"], "COMPLETED");
    assert_eq!(task_status(&st, "b")["status"], "READY");
    let out = ws.ms(&["explain", s(&run), "b"]);
    assert!(out.stdout.contains("paused"), "{out:?}");
    assert_eq!(ws.ms(&["resume", s(&run)]).code, 0);
    assert_eq!(ws.ms(&["run", s(&run)]).code, 0);
    assert_eq!(run_status(&run), "COMPLETED");
}

/// A workspace of `n` tasks that log their start and end (ns) to `log`.
fn logging_workspace(root: &Path, name: &str, priority: i32, n: usize, log: &Path) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut toml = format!("[run]\npriority = {priority}\ncores = 4\n");
    for i in 0..n {
        toml.push_str(&format!(
            "[[tasks]]\nid = \"t{i}\"\ncommand = \"echo start {name} $(date +%s%N) >> '{log}'; sleep 0.3; echo end {name} $(date +%s%N) >> '{log}'\"\n",
            log = log.display()
        ));
    }
    std::fs::write(dir.join("matterstack.toml"), toml).unwrap();
    dir
}

#[test]
fn submit_drives_many_workflows_by_priority_under_one_global_limit() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("events.log");
    let low = logging_workspace(root.path(), "low", 0, 3, &log);
    let high = logging_workspace(root.path(), "high", 5, 3, &log);
    let out = crate::support::ms_in(
        root.path(),
        &[
            "submit",
            s(&low),
            s(&high),
            "--max-jobs",
            "2",
            "--wait",
            "--poll",
            "0.05",
            "--json",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let summary = out.json();
    let runs = summary.as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        assert_eq!(r["state"], "COMPLETED", "{r}");
        assert_eq!(r["launched"], 3, "{r}");
    }
    // Never more than 2 in flight across both runs, and the high-priority
    // workflow started first.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut events: Vec<(u128, bool, String)> = text
        .lines()
        .map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            (p[2].parse().unwrap(), p[0] == "start", p[1].to_string())
        })
        .collect();
    events.sort();
    let (mut live, mut peak) = (0i32, 0i32);
    for (_, start, _) in &events {
        live += if *start { 1 } else { -1 };
        peak = peak.max(live);
    }
    assert!(peak <= 2, "peak {peak}: {text}");
    assert_eq!(events.iter().filter(|e| e.1).count(), 6);
    // The high-priority workflow took both slots first: low started only
    // once a high task had ended.
    let starts: Vec<&str> = events
        .iter()
        .filter(|e| e.1)
        .map(|e| e.2.as_str())
        .collect();
    assert_eq!(&starts[..2], ["high", "high"], "{text}");
    let first_low = events.iter().position(|e| e.1 && e.2 == "low").unwrap();
    assert!(
        events[..first_low].iter().any(|e| !e.1 && e.2 == "high"),
        "{text}"
    );
}

#[test]
fn submit_with_one_invalid_workspace_makes_no_run_at_all() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("events.log");
    let good = logging_workspace(root.path(), "good", 0, 1, &log);
    let bad = root.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("matterstack.toml"),
        "[[tasks]]\nid = \"a\"\ncommand = \"true\"\ndepends_on = [\"nope\"]\n",
    )
    .unwrap();
    let out = crate::support::ms_in(root.path(), &["submit", s(&good), s(&bad)]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
    assert!(std::fs::read_dir(good.join("runs")).map_or(true, |mut d| d.next().is_none()));
    assert!(!bad.join("runs").exists());
    assert!(!log.exists());
}

#[test]
fn a_gather_task_reads_every_point_of_a_sweep() {
    let ws = Workspace::new(
        r#"
[[tasks]]
id = "eos"
sweep = { a = [3.9, 4.0, 4.1, 4.2, 4.3] }
command = "python3 -c 'import json; a={{ a }}; json.dump({\"energy\": round(-275 + 0.8*(a-4.21)**2, 6)}, open(\"results.json\", \"w\"))'"

[[tasks]]
id = "fit"
command = "printf '%s\n' {% for p in tasks.eos.points %}'{{ p.values.a }} {{ p.results.energy }}' {% endfor %}> table.txt"
"#,
    );
    let run = ws.init("g");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    let table = std::fs::read_to_string(run.join("tasks/fit/table.txt")).unwrap();
    let rows: Vec<(f64, f64)> = table
        .lines()
        .map(|l| {
            let (a, e) = l.split_once(' ').unwrap();
            (a.parse().unwrap(), e.parse().unwrap())
        })
        .collect();
    assert_eq!(rows.len(), 5, "{table}");
    for (i, (a, e)) in rows.iter().enumerate() {
        let want_a = 3.9 + 0.1 * i as f64;
        assert!((a - want_a).abs() < 1e-9, "{table}");
        assert!(
            (e - (-275.0 + 0.8 * (want_a - 4.21f64).powi(2))).abs() < 1e-5,
            "{table}"
        );
    }
    // The gather waited for every point (a reference is a dependency).
    let st = status(&run);
    assert_eq!(task_status(&st, "fit")["status"], "COMPLETED");

    // A sweep's own results are not a thing: the error says what to use.
    let bad = Workspace::new(
        r#"
[[tasks]]
id = "eos"
sweep = { a = [1, 2] }
command = "true"

[[tasks]]
id = "fit"
command = "echo {{ tasks.eos.results.energy }}"
"#,
    );
    let out = bad.ms(&["init", ".", "--run-id", "x"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("is a sweep of 2 points") && out.stderr.contains("tasks.eos.points"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_planner_naming_an_undefined_cluster_pauses_the_run() {
    let ws = Workspace::new(
        r#"
[run]
planner = "echo '{\"tasks\": [{\"id\": \"remote\", \"command\": \"true\", \"operator\": \"slurm\", \"cluster\": \"nope\"}]}'"

[[tasks]]
id = "first"
command = "true"
"#,
    );
    let run = ws.init("c");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 3, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "PAUSED");
    assert!(
        st["paused"]
            .as_str()
            .unwrap()
            .contains("cluster \"nope\" is not defined"),
        "{st}"
    );
    assert_eq!(
        st["tasks"].as_array().unwrap().len(),
        1,
        "nothing added: {st}"
    );
}

#[test]
fn planned_tasks_behind_a_failed_task_are_skipped_not_left_pending() {
    let ws = Workspace::new(
        r#"
[run]
planner = "sh plan.sh"

[[tasks]]
id = "bad"
command = "exit 1"
"#,
    );
    ws.file(
        "plan.sh",
        r#"if grep -q '"id":"next"'; then echo '{"done": true}'; else
echo '{"tasks": [{"id": "next", "command": "true", "depends_on": ["bad"]}]}'; fi
"#,
    );
    let run = ws.init("b");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 1, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "FAILED", "{st}");
    let next = task_status(&st, "next");
    assert_eq!(next["status"], "SKIPPED", "{st}");
    assert!(
        next["reason"].as_str().unwrap().contains("\"bad\""),
        "{next}"
    );
}

#[test]
fn a_step_killed_between_the_planners_answer_and_the_commit_adds_nothing_twice() {
    let ws = Workspace::new(
        r#"
[run]
planner = "sh plan.sh"

[[tasks]]
id = "seed"
command = "echo 1 > n.txt"
"#,
    );
    // Counts its calls; adds one task per round, done after two rounds.
    ws.file(
        "plan.sh",
        r#"echo call >> calls.log
input=$(cat)
if echo "$input" | grep -q '"id":"round-2"'; then echo '{"done": true}'
elif echo "$input" | grep -q '"id":"round-1"'; then echo '{"tasks": [{"id": "round-2", "command": "true", "inputs": ["plan.sh"]}]}'
else echo '{"tasks": [{"id": "round-1", "command": "true", "inputs": ["plan.sh"]}]}'; fi
"#,
    );
    let run = ws.init("k");
    // Finish the seed (the first step launches it; wait for its end).
    ws.ms(&["step", s(&run)]);
    assert!(crate::support::wait_for(
        std::time::Duration::from_secs(10),
        || run.join("tasks/seed/n.txt").exists()
    ));
    std::thread::sleep(std::time::Duration::from_millis(200));
    // This step records the seed, asks the planner, and dies before the commit.
    assert!(
        !crate::support::step_with_fault(ws.path(), &run, "MATTERSTACK_TEST_CRASH_AFTER_PLANNER"),
        "the fault injection must kill it"
    );
    let st = status(&run);
    assert_eq!(
        st["tasks"].as_array().unwrap().len(),
        1,
        "nothing committed: {st}"
    );
    // Plain steps carry on: the planner is asked again with the same input,
    // and each round's task exists once.
    let mut steps = 0;
    while status(&run)["status"] != "COMPLETED" {
        assert_eq!(ws.ms(&["step", s(&run)]).code, 0);
        steps += 1;
        assert!(steps < 100, "{}", status(&run));
        std::thread::sleep(std::time::Duration::from_millis(30));
    }
    let st = status(&run);
    let ids = task_ids(&st);
    assert_eq!(ids, ["seed", "round-1", "round-2"]);
    for t in st["tasks"].as_array().unwrap() {
        assert_eq!(t["attempts"], 1, "{t}");
    }
    // Asked four times: round 1 twice (the killed step, then again), round 2, done.
    let calls = std::fs::read_to_string(ws.path().join("calls.log")).unwrap();
    assert_eq!(calls.lines().count(), 4, "{calls}");
}
