//! Access to the testbed (scripts/testbed.sh): a real SLURM and real sshds
//! on 127.0.0.1. Tests that need it fail with a clear message when it is not
//! up; CI starts it before the tests, so they never silently skip.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::Workspace;

pub struct Testbed {
    pub port: u16,
    pub fault_port: u16,
    pub key: String,
    pub conn_key: String,
    pub wrong_key: String,
    pub user: String,
    pub dir: PathBuf,
}

/// Tests that stop and start the fault sshd hold this, so they never
/// restart it under each other.
pub static FAULT_SSHD: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held by tests that count the connections made with `conn_key`, which
/// is theirs alone only one at a time.
pub static CONN_KEY: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn testbed() -> Testbed {
    let dir = std::env::var("MS_TESTBED").unwrap_or_else(|_| "/var/tmp/matterstack-testbed".into());
    let env_file = Path::new(&dir).join("env");
    let text = std::fs::read_to_string(&env_file).unwrap_or_else(|_| {
        panic!("this test needs the testbed (SLURM + sshd): run `bash scripts/testbed.sh` first ({} missing)", env_file.display())
    });
    let env: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let get = |k: &str| {
        env.get(k)
            .unwrap_or_else(|| panic!("{k} missing in {}", env_file.display()))
            .to_string()
    };
    Testbed {
        port: get("MS_TESTBED_SSH_PORT").parse().unwrap(),
        fault_port: get("MS_TESTBED_FAULT_PORT").parse().unwrap(),
        key: get("MS_TESTBED_SSH_KEY"),
        conn_key: get("MS_TESTBED_CONN_KEY"),
        wrong_key: get("MS_TESTBED_SSH_WRONG_KEY"),
        user: get("MS_TESTBED_SSH_USER"),
        dir: PathBuf::from(dir),
    }
}

/// Options for one cluster profile in a test workspace.
pub struct Profile<'a> {
    pub name: &'a str,
    pub port: u16,
    pub key: &'a str,
    pub extra: &'a str,
}

impl Testbed {
    /// A `[clusters.NAME]` table reaching the testbed through sshd, with
    /// roots under `remote` and a control socket directory of its own.
    pub fn cluster_toml(&self, p: &Profile<'_>, remote: &Path, control: &Path) -> String {
        format!(
            r#"
[clusters.{name}]
host = "127.0.0.1"
port = {port}
user = "{user}"
identity_file = "{key}"
partition = "debug"
project_root = "{remote}/project"
scratch_root = "{remote}/scratch"
ssh_options = ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null", "ControlPath={control}/%C"]
{extra}
[clusters.{name}.limits]
commands_per_second = 100.0
burst = 50
max_jobs = 300
"#,
            name = p.name,
            port = p.port,
            user = self.user,
            key = p.key,
            remote = remote.display(),
            control = control.display(),
            extra = p.extra,
        )
    }

    pub fn stop_fault_sshd(&self) {
        let ok = Command::new("bash")
            .args([
                script().to_str().unwrap(),
                "stop-sshd",
                &self.fault_port.to_string(),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "could not stop the fault sshd");
    }

    pub fn start_fault_sshd(&self) {
        let ok = Command::new("bash")
            .args([
                script().to_str().unwrap(),
                "start-sshd",
                &self.fault_port.to_string(),
            ])
            .status()
            .unwrap()
            .success();
        assert!(ok, "could not start the fault sshd");
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/testbed.sh")
}

/// A workspace whose `clusters.toml` holds one testbed profile, plus the
/// directories it uses. Control sockets live in a short private directory.
pub struct ClusterWs {
    pub ws: Workspace,
    pub remote: tempfile::TempDir,
    pub control: tempfile::TempDir,
}

impl ClusterWs {
    /// The common case: the testbed's main sshd and key, no extra profile lines.
    pub fn plain(tb: &Testbed, tasks: &str) -> ClusterWs {
        ClusterWs::new(tb, tb.port, &tb.key, "", tasks)
    }

    pub fn new(tb: &Testbed, port: u16, key: &str, extra: &str, tasks: &str) -> ClusterWs {
        ClusterWs::build(tb, port, key, extra, tasks, None)
    }

    /// A second workspace whose cluster profile uses this one's project and
    /// scratch roots (two users' runs on one cluster).
    pub fn sharing(&self, tb: &Testbed, tasks: &str) -> ClusterWs {
        ClusterWs::build(tb, tb.port, &tb.key, "", tasks, Some(self.remote.path()))
    }

    /// A workspace with a testbed profile whose roots are under `roots`
    /// (default: its own `remote` directory).
    fn build(
        tb: &Testbed,
        port: u16,
        key: &str,
        extra: &str,
        tasks: &str,
        roots: Option<&Path>,
    ) -> ClusterWs {
        let ws = Workspace::new(tasks);
        let remote = tempfile::tempdir().unwrap();
        let control = tempfile::Builder::new()
            .prefix("msc")
            .tempdir_in("/tmp")
            .unwrap();
        let profile = tb.cluster_toml(
            &Profile {
                name: "testbed",
                port,
                key,
                extra,
            },
            roots.unwrap_or(remote.path()),
            control.path(),
        );
        ws.file("clusters.toml", &profile);
        ClusterWs {
            ws,
            remote,
            control,
        }
    }

    /// Every job_info.json the cluster holds for this workspace's runs.
    pub fn job_infos(&self) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let root = self.remote.path().join("project");
        for run in read_dirs(&root) {
            for task in read_dirs(&run) {
                for attempt in read_dirs(&task) {
                    // (A record being written is skipped until it is whole.)
                    if let Some(v) = std::fs::read_to_string(attempt.join("job_info.json"))
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok())
                    {
                        out.push(v);
                    }
                }
            }
        }
        out
    }
}

impl Drop for ClusterWs {
    fn drop(&mut self) {
        // Close the master connection this test opened.
        for entry in std::fs::read_dir(self.control.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = Command::new("ssh")
                .args([
                    "-o",
                    &format!("ControlPath={}", entry.path().display()),
                    "-O",
                    "exit",
                    "x",
                ])
                .output();
        }
    }
}

fn read_dirs(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    v.sort();
    v
}

/// Jobs SLURM knows (any state) whose name carries `token`, as (id, state).
pub fn slurm_jobs_with_token(token: &str) -> Vec<(String, String)> {
    let out = Command::new("squeue")
        .args(["--noheader", "--states=all", "--format=%i|%T|%j"])
        .output()
        .expect("squeue runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, '|');
            let (id, state, name) = (f.next()?, f.next()?, f.next()?);
            name.ends_with(&format!(".{token}"))
                .then(|| (id.to_string(), state.to_string()))
        })
        .collect()
}

/// `scontrol show job ID`'s JobState.
pub fn slurm_state(job_id: &str) -> String {
    let out = Command::new("scontrol")
        .args(["show", "job", "-o", job_id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix("JobState="))
        .unwrap_or("UNKNOWN")
        .to_string()
}

/// One `[[tasks]]` table running `command` on the testbed cluster through
/// SLURM, with `extra` TOML lines.
pub fn slurm_task(id: &str, command: &str, extra: &str) -> String {
    format!(
        "[[tasks]]\nid = \"{id}\"\noperator = \"slurm\"\ncluster = \"testbed\"\ncommand = {command:?}\n{extra}\n"
    )
}

/// "Accepted publickey" lines for `key` that the main sshd's log gained
/// after byte `log_from`: SSH connections opened with that key.
pub fn accepted_connections(tb: &Testbed, key: &str, log_from: usize) -> usize {
    let fp = Command::new("ssh-keygen")
        .args(["-lf", &format!("{key}.pub")])
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&fp.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let sshd = std::fs::read_to_string(tb.dir.join(format!("ssh/sshd_{}.log", tb.port))).unwrap();
    sshd[log_from..]
        .lines()
        .filter(|l| l.contains("Accepted publickey") && l.contains(&fp))
        .count()
}

/// A workspace on the testbed with a SLURM chain — `first` (4 s), then
/// `then` running `then_command` (with `then_extra` TOML lines), which waits
/// in SLURM's queue on its dependency — and three local tasks sleeping two
/// minutes (`nap1`…`nap3`) to select and cancel.
pub fn chain_and_naps(tb: &Testbed, then_command: &str, then_extra: &str) -> ClusterWs {
    let mut tasks = slurm_task("first", "sleep 4; echo first-done", "");
    tasks.push_str(&slurm_task(
        "then",
        then_command,
        &format!("depends_on = [\"first\"]\n{then_extra}"),
    ));
    for i in 1..=3 {
        tasks.push_str(&format!(
            "[[tasks]]\nid = \"nap{i}\"\ncommand = \"sleep 120\"\n"
        ));
    }
    ClusterWs::plain(tb, &format!("[run]\ncores = 4\n{tasks}"))
}
