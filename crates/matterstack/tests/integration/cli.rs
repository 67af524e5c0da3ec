//! The CLI contract: init, step, run, status, cancel, retry, logs.

use std::time::Duration;

use crate::support::{ms_in, s, status, task_status, wait_for, Workspace};

const DIAMOND: &str = r#"
[run]
cores = 2
[[tasks]]
id = "a"
command = "echo from-a > a.txt"
[[tasks]]
id = "b"
command = "cat ../a/a.txt"
depends_on = ["a"]
[[tasks]]
id = "c"
command = ["sh", "-c", "echo c-err >&2"]
depends_on = ["a"]
[[tasks]]
id = "d"
command = "echo d"
depends_on = ["b", "c"]
"#;

#[test]
fn init_prints_the_run_directory_last_and_run_completes_a_dag() {
    let ws = Workspace::new(DIAMOND);
    let out = ws.ms(&["init", ".", "--run-id", "r1"]);
    assert_eq!(out.code, 0, "{out:?}");
    let run = std::path::PathBuf::from(out.last_line());
    assert_eq!(run, ws.path().canonicalize().unwrap().join("runs/r1"));
    assert!(run.join("state.sqlite").is_file());

    let st = status(&run);
    assert_eq!(st["run"], "r1");
    assert_eq!(st["status"], "RUNNING");
    assert_eq!(task_status(&st, "a")["status"], "READY");
    assert_eq!(task_status(&st, "d")["status"], "PENDING");

    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    // Not a terminal: a line per change of a task's state, then the counts.
    for id in ["a", "b", "c", "d"] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.contains(&format!(" {id} attempt 1 (job ")) && l.ends_with(" COMPLETED")),
            "{}",
            out.stdout
        );
    }
    assert!(
        out.last_line().starts_with("run r1 COMPLETED"),
        "{}",
        out.stdout
    );
    // --wide: the job (pid), how long it ran, the main result.
    let wide = ws.ms(&["status", s(&run), "--wide"]);
    let header = wide.stdout.lines().find(|l| l.starts_with("TASK")).unwrap();
    assert!(
        header.contains("JOB") && header.contains("ELAPSED") && header.contains("RESULT"),
        "{}",
        wide.stdout
    );
    let st = status(&run);
    assert!(
        task_status(&st, "d")["elapsed_ms"].as_i64().is_some(),
        "{st}"
    );
    assert!(task_status(&st, "d")["last_job"].is_string(), "{st}");
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED");
    assert_eq!(st["counts"]["COMPLETED"], 4);
    for id in ["a", "b", "c", "d"] {
        let t = task_status(&st, id);
        assert_eq!(t["status"], "COMPLETED", "{t}");
        assert_eq!(t["attempts"], 1);
        assert_eq!(t["exit_code"], 0);
    }
    // Data flowed through the task directories in dependency order.
    let out = ws.ms(&["logs", s(&run), "b"]);
    assert_eq!(out.stdout, "from-a\n");
    let out = ws.ms(&["logs", s(&run), "c", "--stderr"]);
    assert_eq!(out.stdout, "c-err\n");
}

#[test]
fn a_second_init_with_the_same_id_is_refused() {
    let ws = Workspace::new(DIAMOND);
    ws.init("same");
    let out = ws.ms(&["init", ".", "--run-id", "same"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("run \"same\" already exists"),
        "{}",
        out.stderr
    );
}

#[test]
fn step_advances_one_tick_and_exits_while_tasks_run() {
    let ws = Workspace::new(
        "[[tasks]]\nid = \"slow\"\ncommand = \"sleep 1; echo done\"\n[[tasks]]\nid = \"after\"\ncommand = \"true\"\ndepends_on = [\"slow\"]\n",
    );
    let run = ws.init("r");
    let started = std::time::Instant::now();
    let out = ws.ms(&["step", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("launched 1"), "{}", out.stdout);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "step must not wait for the task"
    );
    let st = status(&run);
    assert_eq!(task_status(&st, "slow")["status"], "RUNNING");
    assert_eq!(task_status(&st, "after")["status"], "PENDING");
    // The detached task finishes without anyone watching; later steps see it.
    assert!(wait_for(Duration::from_secs(10), || {
        ws.ms(&["step", s(&run)]);
        status(&run)["status"] == "COMPLETED"
    }));
    assert_eq!(ws.ms(&["logs", s(&run), "slow"]).stdout, "done\n");
}

#[test]
fn failure_skips_dependants_fails_the_run_and_retry_recovers() {
    let ws = Workspace::new(
        r#"
        [[tasks]]
        id = "flaky"
        command = "test -f ../../../../fixed || exit 3"
        [[tasks]]
        id = "next"
        command = "true"
        depends_on = ["flaky"]
        [[tasks]]
        id = "independent"
        command = "true"
        "#,
    );
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 1, "a failed run exits 1: {out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "FAILED");
    let flaky = task_status(&st, "flaky");
    assert_eq!(flaky["status"], "FAILED");
    assert_eq!(flaky["exit_code"], 3);
    assert_eq!(task_status(&st, "next")["status"], "SKIPPED");
    assert_eq!(
        task_status(&st, "independent")["status"],
        "COMPLETED",
        "{st}"
    );

    // Retrying the skipped dependant alone is refused: it names the cause.
    let out = ws.ms(&["retry", s(&run), "next"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("retry \"flaky\" instead"),
        "{}",
        out.stderr
    );

    std::fs::write(ws.path().join("fixed"), "").unwrap();
    let out = ws.ms(&["retry", s(&run), "flaky"]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    let st = status(&run);
    assert_eq!(st["status"], "COMPLETED");
    assert_eq!(task_status(&st, "flaky")["attempts"], 2);
    assert_eq!(task_status(&st, "next")["status"], "COMPLETED");
    // Both attempts keep their own logs.
    assert!(run.join("tasks/flaky/.attempts/1/exit").is_file());
    assert!(run.join("tasks/flaky/.attempts/2/exit").is_file());
}

#[test]
fn automatic_retries_and_allow_failure() {
    let ws = Workspace::new(
        r#"
        [[tasks]]
        id = "third_time_lucky"
        command = "echo x >> ../../../../tries; test $(wc -l < ../../../../tries) -ge 3"
        retries = 2
        [[tasks]]
        id = "optional"
        command = "exit 7"
        allow_failure = true
        [[tasks]]
        id = "after_optional"
        command = "true"
        depends_on = ["optional"]
        "#,
    );
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run)]);
    assert_eq!(out.code, 0, "allowed failures do not fail the run: {out:?}");
    let st = status(&run);
    assert_eq!(task_status(&st, "third_time_lucky")["status"], "COMPLETED");
    assert_eq!(task_status(&st, "third_time_lucky")["attempts"], 3);
    assert_eq!(task_status(&st, "optional")["status"], "FAILED");
    assert_eq!(task_status(&st, "optional")["exit_code"], 7);
    assert_eq!(task_status(&st, "after_optional")["status"], "COMPLETED");
}

#[test]
fn cancel_kills_the_running_process_group_and_skips_dependants() {
    let ws = Workspace::new(
        "[[tasks]]\nid = \"long\"\ncommand = \"sleep 60 & echo $! > bgpid; sleep 60\"\n[[tasks]]\nid = \"after\"\ncommand = \"true\"\ndepends_on = [\"long\"]\n",
    );
    let run = ws.init("r");
    ws.ms(&["step", s(&run)]);
    let bgpid = run.join("tasks/long/bgpid");
    assert!(wait_for(Duration::from_secs(5), || {
        std::fs::read_to_string(&bgpid).is_ok_and(|t| t.ends_with('\n'))
    }));
    let pid: i32 = std::fs::read_to_string(&bgpid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let out = ws.ms(&["cancel", s(&run), "long"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("cancelled long (was RUNNING)"),
        "{}",
        out.stdout
    );
    // The background grandchild died with its group.
    assert!(wait_for(Duration::from_secs(5), || !std::path::Path::new(
        &format!("/proc/{pid}")
    )
    .exists()
        || std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.contains(") Z"))));
    let st = status(&run);
    assert_eq!(task_status(&st, "long")["status"], "CANCELLED");
    assert_eq!(task_status(&st, "after")["status"], "SKIPPED");
    assert_eq!(st["status"], "FAILED");
    // A later step does not resurrect it.
    ws.ms(&["step", s(&run)]);
    assert_eq!(task_status(&status(&run), "long")["attempts"], 1);
    let out = ws.ms(&["cancel", s(&run), "lnog"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean \"long\""),
        "{}",
        out.stderr
    );
}

#[test]
fn walltime_is_enforced() {
    let ws = Workspace::new("[[tasks]]\nid = \"t\"\ncommand = \"sleep 30\"\nwalltime = \"1s\"\n");
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run), "--poll", "0.2"]);
    assert_eq!(out.code, 1, "{out:?}");
    let st = status(&run);
    let t = task_status(&st, "t");
    assert_eq!(t["status"], "FAILED");
    assert!(t["reason"].as_str().unwrap().starts_with("TIMEOUT"), "{t}");
}

#[test]
fn logs_follow_streams_until_the_task_ends() {
    let ws = Workspace::new(
        "[[tasks]]\nid = \"t\"\ncommand = \"for i in 1 2 3; do echo line$i; sleep 0.3; done\"\n",
    );
    let run = ws.init("r");
    ws.ms(&["step", s(&run)]);
    // --follow returns only once the attempt has ended, with every line;
    // steps in the background notice the end.
    let run2 = run.clone();
    let stepper = std::thread::spawn(move || {
        wait_for(Duration::from_secs(10), || {
            ms_in(&run2, &["step", s(&run2)]);
            status(&run2)["status"] == "COMPLETED"
        })
    });
    let out = ws.ms(&["logs", s(&run), "t", "--follow"]);
    assert!(stepper.join().unwrap());
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "line1\nline2\nline3\n");
}

#[test]
fn concurrent_steps_never_both_act() {
    let ws = Workspace::new(
        "[run]\ncores = 4\n[[tasks]]\nid = \"once\"\ncommand = \"echo x >> ../../../../count\"\n",
    );
    let run = ws.init("r");
    let handles: Vec<_> = (0..12)
        .map(|_| {
            let run = run.clone();
            std::thread::spawn(move || ms_in(&run, &["step", s(&run)]))
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap().code, 0);
    }
    assert!(wait_for(Duration::from_secs(10), || {
        ms_in(&run, &["step", s(&run)]);
        status(&run)["status"] == "COMPLETED"
    }));
    assert_eq!(
        std::fs::read_to_string(ws.path().join("count")).unwrap(),
        "x\n"
    );
    assert_eq!(task_status(&status(&run), "once")["attempts"], 1);
}

#[test]
fn env_and_inputs_reach_the_task() {
    let ws = Workspace::new(
        r#"
        [[tasks]]
        id = "t"
        command = "cat geom.xyz; echo \"$GREETING\"; ls params"
        inputs = ["data/geom.xyz", "params"]
        env = { GREETING = "it's $(not expanded)" }
        "#,
    );
    ws.file("data/geom.xyz", "1\nH atom\nH 0 0 0\n")
        .file("params/a.json", "{}");
    let run = ws.init("r");
    // The run holds its own copy: later edits to the workspace do not leak in.
    ws.file("data/geom.xyz", "changed\n");
    assert_eq!(ws.ms(&["run", s(&run)]).code, 0);
    assert_eq!(
        ws.ms(&["logs", s(&run), "t"]).stdout,
        "1\nH atom\nH 0 0 0\nit's $(not expanded)\na.json\n"
    );
}

#[test]
fn state_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new(DIAMOND);
    let run = ws.init("r");
    ws.ms(&["run", s(&run)]);
    for f in ["state.sqlite", "lock"] {
        let mode = std::fs::metadata(run.join(f)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{f}");
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        "init", "step", "run", "status", "cancel", "retry", "logs", "explain", "sync",
    ] {
        let out = ms_in(std::path::Path::new("."), &[cmd, "--help"]);
        assert_eq!(out.code, 0, "{cmd}");
        assert!(
            out.stdout.contains("Example"),
            "{cmd} --help has no example:\n{}",
            out.stdout
        );
    }
}

#[test]
fn status_of_a_non_run_is_a_clear_user_error() {
    let ws = Workspace::new(DIAMOND);
    let out = ws.ms(&["status", "."]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("is not a run directory"),
        "{}",
        out.stderr
    );
    let out = ws.ms(&["run", ".", "--poll", "-1"]);
    assert_eq!(out.code, 2);
}

#[test]
fn a_step_waits_while_another_process_holds_the_run() {
    let ws = Workspace::new("[[tasks]]\nid = \"t\"\ncommand = \"true\"\n");
    let run = ws.init("r");
    let lock = matterstack_core::engine::RunLock::acquire(&run).unwrap();
    let mut step = crate::support::ms_command()
        .args(["step", s(&run)])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    assert!(
        step.try_wait().unwrap().is_none(),
        "step must wait for the lock"
    );
    assert_eq!(
        task_status(&status(&run), "t")["attempts"],
        0,
        "and must not act"
    );
    drop(lock);
    assert!(step.wait().unwrap().success());
    assert_eq!(task_status(&status(&run), "t")["attempts"], 1);
}

#[test]
fn cluster_profiles_are_added_listed_shown_and_validated() {
    let cfg = tempfile::tempdir().unwrap();
    let ws = Workspace::new("[[tasks]]\nid = \"a\"\ncommand = \"true\"\n");
    let ms = |args: &[&str]| -> crate::support::Out {
        crate::support::ms_command()
            .args(args)
            .current_dir(ws.path())
            .env("XDG_CONFIG_HOME", cfg.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
            .into()
    };
    let add = [
        "cluster",
        "add",
        "hpc",
        "--host",
        "login.example.org",
        "--user",
        "alice",
        "--project-root",
        "~/ms",
        "--scratch-root",
        "/scratch/alice",
        "--partition",
        "compute",
        "--setup",
        "module load psi4",
    ];
    let out = ms(&add);
    assert_eq!(out.code, 0, "{out:?}");
    let file = cfg.path().join("matterstack/clusters.toml");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let list = ms(&["cluster", "list"]);
    assert!(
        list.stdout.contains("hpc") && list.stdout.contains("alice@login.example.org"),
        "{}",
        list.stdout
    );
    let show = ms(&["cluster", "show", "hpc"]);
    assert!(show.stdout.contains("module load psi4"), "{}", show.stdout);
    assert!(
        show.stdout.contains("ssh -M -N -f"),
        "the 2FA master command: {}",
        show.stdout
    );
    // Adding the same name again needs --replace.
    let again = ms(&add);
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("--replace"), "{}", again.stderr);
    let mut replace = add.to_vec();
    replace.push("--replace");
    assert_eq!(ms(&replace).code, 0);
    // Bad values are refused naming the field; the file is unchanged.
    let before = std::fs::read_to_string(&file).unwrap();
    let bad = ms(&[
        "cluster",
        "add",
        "x",
        "--host=-oProxyCommand=evil",
        "--project-root",
        "rel",
        "--scratch-root",
        "/s",
    ]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("host") && bad.stderr.contains("project_root"),
        "{}",
        bad.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let unknown = ms(&["cluster", "show", "nope"]);
    assert_eq!(unknown.code, 2);
    assert!(
        unknown
            .stderr
            .contains("unknown cluster \"nope\"; known: hpc"),
        "{}",
        unknown.stderr
    );
    // Removing: a typo gets a suggestion and changes nothing; then it goes.
    let typo = ms(&["cluster", "remove", "hcp"]);
    assert_eq!(typo.code, 2, "{typo:?}");
    assert!(
        typo.stderr.contains("did you mean \"hpc\""),
        "{}",
        typo.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);
    let out = ms(&["cluster", "remove", "hpc"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!ms(&["cluster", "list"]).stdout.contains("hpc"));
    assert_eq!(ms(&["cluster", "show", "hpc"]).code, 2);
}

#[test]
fn explain_says_what_a_task_waits_on_and_what_went_wrong() {
    let ws = Workspace::new(
        "[run]\ncores = 1\n[[tasks]]\nid = \"first\"\ncommand = \"exit 4\"\n[[tasks]]\nid = \"second\"\ncommand = \"true\"\ndepends_on = [\"first\"]\n[[tasks]]\nid = \"other\"\ncommand = \"true\"\ncores = 1\n",
    );
    let run = ws.init("r");
    let out = ws.ms(&["explain", s(&run), "second"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("waiting on \"first\", which is READY"),
        "{}",
        out.stdout
    );
    let out = ws.ms(&["explain", s(&run), "other"]);
    assert!(out.stdout.contains("needs 1 core(s)"), "{}", out.stdout);
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);
    let e = ws.ms(&["explain", s(&run), "first", "--json"]).json();
    assert_eq!(e["status"], "FAILED");
    assert!(
        e["reasons"][0].as_str().unwrap().contains("exit code 4"),
        "{e}"
    );
    assert_eq!(e["attempts"].as_array().unwrap().len(), 1);
    let out = ws.ms(&["explain", s(&run), "secnd"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("did you mean \"second\""),
        "{}",
        out.stderr
    );
}

#[test]
fn parse_reads_a_real_output_and_exits_4_when_it_reports_a_failure_2_on_bad_input() {
    let corpus =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realdata/parsers");
    let cwd = tempfile::tempdir().unwrap();
    let ok = corpus.join("psi4/psi4-1.2.1_dvb_sp_rhf.out");
    let out = ms_in(cwd.path(), &["parse", "psi4", ok.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("psi4 1.2.1") && out.stdout.contains("-379.7701115144373 hartree"),
        "{}",
        out.stdout
    );
    let out = ms_in(
        cwd.path(),
        &["parse", "psi4", ok.to_str().unwrap(), "--json"],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["values"]["scf_iterations"], 8);
    assert_eq!(v["converged"], true);
    let failed = corpus.join("psi4/psi4-beta5_dvb_gopt_unconverged.out");
    let out = ms_in(cwd.path(), &["parse", "psi4", failed.to_str().unwrap()]);
    assert_eq!(out.code, 4, "{out:?}");
    assert!(out.stdout.contains("did not converge"), "{}", out.stdout);
    let out = ms_in(cwd.path(), &["parse", "vasp", ok.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("cp2k, crystal, gromacs, lammps, namd, psi4, qe, xtb"),
        "{}",
        out.stderr
    );
    let out = ms_in(cwd.path(), &["parse", "psi4", "missing.out"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("missing.out"), "{}", out.stderr);
}

#[test]
fn shell_completions_complete_subcommands_in_a_real_bash_and_the_man_page_lists_them() {
    let ws = Workspace::new("[[tasks]]\nid = \"a\"\ncommand = \"true\"\n");
    let out = ws.ms(&["completions", "bash"]);
    assert_eq!(out.code, 0, "{out:?}");
    let script = ws.path().join("matterstack.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    let bash = std::process::Command::new("bash")
        .args([
            "-c",
            &format!(
                "source {}; COMP_WORDS=(matterstack sta); COMP_CWORD=1; COMP_LINE='matterstack sta'; COMP_POINT=15; _matterstack matterstack sta matterstack; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
                script.display()
            ),
        ])
        .output()
        .unwrap();
    let got = String::from_utf8_lossy(&bash.stdout);
    assert!(got.lines().any(|l| l == "status"), "{got} {bash:?}");
    for shell in ["zsh", "fish"] {
        let out = ws.ms(&["completions", shell]);
        assert!(
            out.code == 0 && out.stdout.contains("archive"),
            "{shell}: {out:?}"
        );
    }
    let bad = ws.ms(&["completions", "tcsh"]);
    assert_eq!(bad.code, 2, "{bad:?}");
    let man = ws.ms(&["man"]);
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH matterstack 1"),
        "{}",
        man.stdout
    );
    for verb in ["runs", "delete", "archive", "events", "cluster"] {
        assert!(man.stdout.contains(verb), "{verb} not in the man page");
    }
}
