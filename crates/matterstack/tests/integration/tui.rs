//! `matterstack tui` in a real terminal (tmux): the screen follows a run on
//! the SLURM testbed through QUEUED → RUNNING → COMPLETED, shows a log,
//! cancels three selected tasks (the store agrees), and keeps answering
//! keys while a cluster's sshd is stopped.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{s, status, task_status, test_home, BIN};
use crate::testbed::{slurm_task, testbed, ClusterWs};

/// A tmux server of the test's own, with one 160×48 window running `tui`.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(name: &str, cwd: &Path, args: &[&str]) -> Tmux {
        let socket = format!("ms-{name}-{}", std::process::id());
        let home = test_home();
        let mut cmd = format!(
            "env HOME={h} XDG_CONFIG_HOME={h}/.config XDG_DATA_HOME={h}/.local/share XDG_CACHE_HOME={h}/.cache NO_COLOR=1 TERM=xterm-256color {BIN} tui",
            h = home.display()
        );
        for a in args {
            cmd.push(' ');
            cmd.push_str(a);
        }
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                "160",
                "-y",
                "48",
                "-c",
            ])
            .arg(cwd)
            .arg(&cmd)
            .status()
            .unwrap()
            .success();
        assert!(ok, "tmux could not start");
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            Command::new("tmux")
                .args(["-L", &self.socket, "send-keys", k])
                .status()
                .unwrap();
        }
    }

    /// Waits until the screen shows `text`; the screen when it did.
    fn until(&self, what: &str, timeout: Duration, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "waited for {what}; the screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The row of task `id` on the tasks screen.
    fn row(&self, id: &str) -> String {
        let s = self.screen();
        // `│  then  RUNNING …` (or `│● then …` when selected).
        s.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(id))
            .unwrap_or("")
            .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn the_tui_follows_a_slurm_chain_shows_a_log_and_cancels_three_selected_tasks() {
    let tb = testbed();
    let c = crate::testbed::chain_and_naps(&tb, "sleep 3; echo hello-from-slurm", "");
    let run = c.ws.init("r");
    let tui = Tmux::start("chain", c.ws.path(), &[s(&run), "--poll", "0.5"]);
    tui.until("the tasks screen", Duration::from_secs(20), |s| {
        s.contains("Tasks") && s.contains("nap3")
    });
    // The dependant waits in SLURM's queue, then runs, then completes; the
    // screen shows each state as it happens.
    let mut seen: Vec<String> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(90) {
        let row = tui.row("then");
        let state = ["PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED"]
            .into_iter()
            .find(|st| row.contains(st));
        if let Some(st) = state {
            if seen.last().map(String::as_str) != Some(st) {
                seen.push(st.to_string());
            }
            if st == "COMPLETED" || st == "FAILED" {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // QUEUED, then RUNNING after it, then COMPLETED (a task shows RUNNING
    // for the moment between its attempt's creation and its sbatch, as
    // `status` does).
    assert!(
        crate::support::went_through(&seen, &["QUEUED", "RUNNING", "COMPLETED"]),
        "states seen on the screen: {seen:?}"
    );
    assert_eq!(task_status(&status(&run), "then")["status"], "COMPLETED");
    // Its log: move to it (second row), open the logs tab.
    tui.keys(&["g", "j", "l"]);
    tui.until("the log of `then`", Duration::from_secs(20), |s| {
        s.contains("hello-from-slurm")
    });
    tui.keys(&["Escape"]);
    // Select the three sleeping tasks (space on the first, v on the last)
    // and cancel them.
    tui.keys(&["g", "j", "j", "Space", "j", "j", "v", "c"]);
    let asked = tui.until("the confirmation", Duration::from_secs(10), |s| {
        s.contains("y/n")
    });
    assert!(
        asked.contains("cancel 3 task(s): nap1, nap2, nap3"),
        "{asked}"
    );
    tui.keys(&["y"]);
    tui.until("three CANCELLED rows", Duration::from_secs(30), |s| {
        s.lines().filter(|l| l.contains("CANCELLED")).count() == 3
    });
    // The store agrees with the screen.
    let st = status(&run);
    for i in 1..=3 {
        assert_eq!(
            task_status(&st, &format!("nap{i}"))["status"],
            "CANCELLED",
            "{st}"
        );
    }
    assert_eq!(task_status(&st, "first")["status"], "COMPLETED");
    tui.keys(&["q"]);
}

#[test]
fn with_a_clusters_sshd_stopped_the_tui_answers_keys_and_marks_it_unreachable() {
    let _serial = crate::testbed::FAULT_SSHD
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let c = ClusterWs::new(
        &tb,
        tb.fault_port,
        &tb.key,
        "",
        &slurm_task("far", "echo far", ""),
    );
    let run = c.ws.init("r");
    tb.stop_fault_sshd();
    let tui = Tmux::start("unreach", c.ws.path(), &[s(&run), "--poll", "0.5"]);
    tui.until("the tasks screen", Duration::from_secs(20), |s| {
        s.contains("far")
    });
    // Once the driver has tried the cluster, the screen says so.
    tui.until("the unreachable message", Duration::from_secs(60), |s| {
        s.contains("UNREACHABLE")
    });
    // Keys are answered while the driver keeps failing to reach it: the
    // help overlay opens and closes, ten times; the slowest is printed.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let t = Instant::now();
        tui.keys(&["?"]);
        tui.until("the help", Duration::from_secs(5), |s| {
            s.contains("Keys on Tasks")
        });
        slowest = slowest.max(t.elapsed());
        tui.keys(&["Escape"]);
        tui.until("the help closed", Duration::from_secs(5), |s| {
            !s.contains("Keys on Tasks")
        });
    }
    eprintln!(
        "slowest key → screen with the sshd stopped: {} ms",
        slowest.as_millis()
    );
    // The clusters screen marks it.
    tui.keys(&["C"]);
    let screen = tui.until("the clusters screen", Duration::from_secs(10), |s| {
        s.contains("Clusters (o: connect)") && s.contains("testbed")
    });
    assert!(
        screen
            .lines()
            .any(|l| l.contains("testbed") && l.contains("UNREACHABLE")),
        "{screen}"
    );
    tui.keys(&["q"]);
    drop(tui);
    tb.start_fault_sshd();
}

#[test]
fn a_psi4_energy_made_in_the_form_runs_on_slurm_and_its_log_is_shown() {
    let tb = testbed();
    let c = ClusterWs::plain(&tb, "");
    let tui = Tmux::start("form", c.ws.path(), &["--poll", "0.5"]);
    tui.until("the runs screen", Duration::from_secs(20), |s| {
        s.contains("Runs")
    });
    tui.keys(&["n"]);
    tui.until("the template picker", Duration::from_secs(10), |s| {
        s.contains("choose a template")
    });
    tui.keys(&["/", "psi4/energy", "Enter", "Enter"]);
    tui.until("the form", Duration::from_secs(10), |s| {
        s.contains("New psi4/energy task")
    });
    let focused = |s: &str, label: &str| {
        s.lines()
            .any(|l| l.contains(&format!(" {label} ")) && l.contains('▏'))
    };
    let go_to = |label: &str| {
        for _ in 0..30 {
            if focused(&tui.screen(), label) {
                return;
            }
            tui.keys(&["Down"]);
            std::thread::sleep(Duration::from_millis(60));
        }
        panic!("no field {label}:\n{}", tui.screen());
    };
    // One invalid value first: the form says what `init` would say.
    go_to("maxiter");
    tui.keys(&["BSpace", "BSpace", "BSpace", "0"]);
    let init_says = crate::support::ms_in(
        c.ws.path(),
        &[
            "template",
            "render",
            "psi4/energy",
            "--set",
            "maxiter=0",
            "-o",
            "never",
        ],
    );
    assert_eq!(init_says.code, 2);
    assert!(init_says
        .stderr
        .contains("value 0 is out of range (min 1, max 1000)"));
    tui.until("the inline error", Duration::from_secs(10), |s| {
        s.contains("✗ value 0 is out of range (min 1, max 1000)")
    });
    tui.keys(&["BSpace", "5", "0"]);
    tui.until("a valid form", Duration::from_secs(10), |s| {
        s.contains("valid: Ctrl-S")
    });
    // On the testbed's SLURM.
    go_to("operator");
    tui.keys(&["Right"]);
    tui.until("the cluster field", Duration::from_secs(10), |s| {
        s.contains(" cluster ")
    });
    for _ in 0..10 {
        if tui.screen().contains("‹ testbed ›") {
            break;
        }
        go_to("cluster");
        tui.keys(&["Right"]);
        std::thread::sleep(Duration::from_millis(100));
    }
    tui.keys(&["C-s"]);
    tui.until("the new run's tasks", Duration::from_secs(30), |s| {
        s.contains("Tasks")
            && s.lines()
                .any(|l| l.split_whitespace().nth(1) == Some("energy"))
    });
    let mut seen: Vec<String> = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(240) {
        let row = tui.row("energy");
        if let Some(st) = ["READY", "QUEUED", "RUNNING", "COMPLETED", "FAILED"]
            .into_iter()
            .find(|st| row.contains(st))
        {
            if seen.last().map(String::as_str) != Some(st) {
                seen.push(st.to_string());
            }
            if st == "COMPLETED" || st == "FAILED" {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("states of the psi4 task on the screen: {seen:?}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("COMPLETED"),
        "{seen:?}\n{}",
        tui.screen()
    );
    assert!(
        seen.iter().any(|s| s == "RUNNING" || s == "QUEUED"),
        "{seen:?}"
    );
    // Its log: psi4's own output file.
    tui.keys(&["l"]);
    tui.until("psi4's output", Duration::from_secs(30), |s| {
        s.contains("Total Energy")
    });
    tui.keys(&["q"]);
    // The store agrees: one run in the new workspace, its task completed
    // with the energy psi4 printed.
    let runs: Vec<_> = std::fs::read_dir(c.ws.path().join("energy-1/runs"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].path();
    let st = status(&run);
    let t = task_status(&st, "energy");
    assert_eq!(t["status"], "COMPLETED", "{st}");
    let out = std::fs::read_to_string(run.join("tasks/energy/output.dat")).unwrap();
    let printed: f64 = out
        .lines()
        .rfind(|l| l.trim_start().starts_with("Total Energy ="))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap();
    let parsed = t["results"]["final_energy"].as_f64().unwrap();
    assert!((parsed - printed).abs() < 1e-9, "{parsed} vs {printed}");
    let toml = std::fs::read_to_string(c.ws.path().join("energy-1/matterstack.toml")).unwrap();
    assert!(
        toml.contains("maxiter = 50") || toml.contains("maxiter = \"50\""),
        "{toml}"
    );
}
