//! `watch`: one process driving many runs — one queue listing per cluster
//! per pass and one SSH connection for all of them, local runs unhindered by
//! a cluster that does not answer, and nothing lost, run twice or left as a
//! zombie when it is killed and started again.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::support::{ms_command, s, status, wait_for, Workspace};
use crate::testbed::{accepted_connections, slurm_task, testbed, ClusterWs};

/// Children of `pid` that are zombies (exited, not yet waited for).
fn zombie_children(pid: u32) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may hold spaces, so split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 1 && f[0] == "Z" && f[1] == pid.to_string() {
            out.push(stat);
        }
    }
    out
}

#[test]
fn five_runs_under_one_watch_share_one_squeue_per_pass_and_one_ssh_connection() {
    let _conn = crate::testbed::CONN_KEY
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let c = ClusterWs::new(
        &tb,
        tb.port,
        &tb.conn_key,
        "",
        &slurm_task("job", "sleep 4; echo done", ""),
    );
    let runs: Vec<_> = (0..5).map(|i| c.ws.init(&format!("r{i}"))).collect();
    let log = c.ws.path().join("transport.log");
    let sshd_log = tb.dir.join(format!("ssh/sshd_{}.log", tb.port));
    let before = std::fs::read_to_string(&sshd_log).unwrap_or_default().len();
    let mut args = vec!["watch".to_string()];
    args.extend(runs.iter().map(|r| s(r).to_string()));
    args.extend(["--poll".into(), "0.5".into()]);
    let out = ms_command()
        .args(&args)
        .current_dir(c.ws.path())
        .env("MATTERSTACK_TRANSPORT_LOG", &log)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for r in &runs {
        assert_eq!(status(r)["counts"]["COMPLETED"], 1, "{}", r.display());
    }
    // Every run's changes were printed, named by run.
    for i in 0..5 {
        assert!(stdout.contains(&format!("r{i} COMPLETED")), "{stdout}");
    }
    let lines = std::fs::read_to_string(&log).unwrap();
    let label = |l: &str| l.split_whitespace().nth(2).map(str::to_string);
    let squeues = lines
        .lines()
        .filter(|l| label(l).as_deref() == Some("squeue"))
        .count();
    let mut per_pass: BTreeMap<String, usize> = BTreeMap::new();
    for l in lines
        .lines()
        .filter(|l| label(l).as_deref() == Some("squeue-pass"))
    {
        *per_pass
            .entry(l.split_whitespace().nth(3).unwrap().to_string())
            .or_default() += 1;
    }
    let passes = lines
        .lines()
        .filter(|l| l.ends_with(" driver pass"))
        .count();
    assert!(passes >= 3, "{lines}");
    assert!(
        per_pass.values().all(|n| *n == 1),
        "more than one squeue in a pass: {per_pass:?}"
    );
    assert_eq!(
        squeues,
        per_pass.len(),
        "every squeue belongs to one pass: {lines}"
    );
    // The other runs read only their markers from the pass's listing.
    let shared = lines
        .lines()
        .filter(|l| label(l).as_deref() == Some("markers"))
        .count();
    assert!(shared >= 4, "{lines}");
    assert_eq!(
        accepted_connections(&tb, &tb.conn_key, before),
        1,
        "SSH connections opened"
    );
}

#[test]
fn a_stopped_sshd_does_not_hold_up_local_runs_and_is_shown_unreachable() {
    let _serial = crate::testbed::FAULT_SSHD
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let tb = testbed();
    let far = ClusterWs::new(
        &tb,
        tb.fault_port,
        &tb.key,
        "",
        &slurm_task("far", "echo far", ""),
    );
    let far_run = far.ws.init("far");
    let mut chain = String::from("[run]\ncores = 2\n");
    for i in 0..6 {
        let dep = if i > 0 {
            format!("depends_on = [\"t{}\"]\n", i - 1)
        } else {
            String::new()
        };
        chain.push_str(&format!(
            "[[tasks]]\nid = \"t{i}\"\ncommand = \"sleep 0.3\"\n{dep}"
        ));
    }
    let local = Workspace::new(&chain);
    let (l1, l2) = (local.init("l1"), local.init("l2"));
    tb.stop_fault_sshd();
    let out_file = local.path().join("watch.out");
    let mut watch = ms_command()
        .args(["watch", s(&far_run), s(&l1), s(&l2), "--poll", "0.5"])
        .current_dir(local.path())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = wait_for(Duration::from_secs(60), || {
        [&l1, &l2]
            .iter()
            .all(|r| status(r)["counts"]["COMPLETED"] == 6)
    });
    let still_watching = watch.try_wait().unwrap().is_none();
    let far_state = status(&far_run);
    let _ = watch.kill();
    let _ = watch.wait();
    tb.start_fault_sshd();
    let printed = std::fs::read_to_string(&out_file).unwrap();
    assert!(
        done,
        "the local runs finished while the cluster was away:\n{printed}"
    );
    assert!(still_watching, "watch keeps the cluster's run:\n{printed}");
    assert_eq!(far_state["counts"]["COMPLETED"], 0, "{far_state}");
    assert!(
        printed
            .lines()
            .any(|l| l.starts_with("cluster testbed ") && l.contains("UNREACHABLE")),
        "{printed}"
    );
    assert!(
        printed.contains("l1 COMPLETED") && printed.contains("l2 COMPLETED"),
        "{printed}"
    );
    // Back: the same run finishes under a new watch, its task submitted once.
    let out = ms_command()
        .args(["watch", s(&far_run), "--poll", "0.5"])
        .current_dir(far.ws.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let st = status(&far_run);
    assert_eq!(st["counts"]["COMPLETED"], 1, "{st}");
    assert_eq!(far.job_infos().len(), 1);
}

#[test]
fn watch_killed_and_started_again_runs_each_task_once_and_reaps_every_child() {
    let ws = Workspace::new("");
    let ran = ws.path().join("ran.txt");
    let mut toml = String::from("[run]\ncores = 2\n");
    for i in 0..30 {
        toml.push_str(&format!(
            "[[tasks]]\nid = \"q{i}\"\ncommand = \"echo q{i} >> {}; sleep 0.2\"\n",
            ran.display()
        ));
    }
    toml.push_str("[[tasks]]\nid = \"long\"\ncommand = \"sleep 6\"\ncores = 1\n");
    std::fs::write(ws.path().join("matterstack.toml"), toml).unwrap();
    let run = ws.init("r");
    let completed = |run: &Path| status(run)["counts"]["COMPLETED"].as_u64().unwrap_or(0);
    let spawn = || {
        ms_command()
            .args(["watch", s(&run), "--poll", "0.5"])
            .current_dir(ws.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = spawn();
    assert!(wait_for(Duration::from_secs(60), || completed(&run) >= 6));
    first.kill().unwrap();
    first.wait().unwrap();
    let mut second = spawn();
    assert!(wait_for(Duration::from_secs(120), || completed(&run) >= 30));
    // Every quick task has ended; the long one still runs under this watch.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        second.try_wait().unwrap().is_none(),
        "watch waits for the long task"
    );
    let zombies = zombie_children(second.id());
    assert!(zombies.is_empty(), "zombies under watch: {zombies:?}");
    let code = second.wait().unwrap();
    let mut printed = String::new();
    second
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    assert!(code.success(), "{printed}");
    let st = status(&run);
    assert_eq!(st["counts"]["COMPLETED"], 31, "{st}");
    for t in st["tasks"].as_array().unwrap() {
        assert_eq!(t["attempts"], 1, "{t}");
    }
    let text = std::fs::read_to_string(&ran).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    let mut want: Vec<String> = (0..30).map(|i| format!("q{i}")).collect();
    want.sort_unstable();
    assert_eq!(lines, want, "each task ran exactly once");
}
