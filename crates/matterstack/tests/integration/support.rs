//! A tiny builder: a temporary workspace, and the binary run against it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_matterstack");

/// A temporary workspace directory.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

/// The result of one command.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

impl From<Output> for Out {
    fn from(o: Output) -> Out {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Workspace {
    /// A workspace whose matterstack.toml is `toml`.
    pub fn new(toml: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("matterstack.toml"), toml).expect("write toml");
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file (creating parent directories) relative to the workspace.
    pub fn file(&self, rel: &str, contents: &str) -> &Self {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, contents).unwrap();
        self
    }

    /// Runs `matterstack ARGS` with the workspace as working directory.
    pub fn ms(&self, args: &[&str]) -> Out {
        ms_in(self.path(), args)
    }

    /// `init` that must succeed; returns the run directory.
    pub fn init(&self, run_id: &str) -> PathBuf {
        let out = self.ms(&["init", ".", "--run-id", run_id]);
        assert_eq!(out.code, 0, "init failed: {out:?}");
        PathBuf::from(out.last_line())
    }

    pub fn runs_dir_exists(&self) -> bool {
        self.path().join("runs").exists()
    }
}

/// The home every command of this test process runs with: its own HOME
/// and XDG directories under the target directory, so no test reads or
/// writes the user's configuration, run index or caches.
pub fn test_home() -> &'static Path {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let home =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("home-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).expect("create the test home");
        home
    })
}

/// `matterstack` as a command with the hermetic test home and no colour.
pub fn ms_command() -> Command {
    let home = test_home();
    let mut cmd = Command::new(BIN);
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_STATE_HOME", home.join(".local/state"))
        .env("NO_COLOR", "1");
    cmd
}

/// `matterstack ARGS` in `cwd` with extra environment variables (which
/// override the test home's, e.g. a data directory of its own).
pub fn ms_env(cwd: &Path, args: &[&str], env: &[(&str, &Path)]) -> Out {
    let mut cmd = ms_command();
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args)
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run matterstack")
        .into()
}

pub fn ms_in(cwd: &Path, args: &[&str]) -> Out {
    ms_command()
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run matterstack")
        .into()
}

/// `status --json` of a run.
pub fn status(run: &Path) -> serde_json::Value {
    let out = ms_in(run, &["status", run.to_str().unwrap(), "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    out.json()
}

/// The status of one task in a `status --json` document.
pub fn task_status<'a>(status: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no task {id} in {status}"))
}

/// The ids of the tasks in a `status --json` (or evidence) document, in order.
pub fn task_ids(doc: &serde_json::Value) -> Vec<&str> {
    doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect()
}

/// Every path under `root`, at any depth (a symlinked directory is listed,
/// not entered).
pub fn paths_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// Every path under `root` whose name starts with `prefix`.
pub fn named_under(root: &Path, prefix: &str) -> Vec<PathBuf> {
    paths_under(root)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(prefix))
        })
        .collect()
}

/// Polls `cond` until true or `timeout` passes.
pub fn wait_for(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `matterstack step RUN` with a fault-injection variable set (the step
/// aborts at that point); returns whether it exited successfully.
pub fn step_with_fault(cwd: &Path, run: &Path, fault: &str) -> bool {
    ms_command()
        .args(["step", s(run)])
        .current_dir(cwd)
        .env(fault, "1")
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run matterstack")
        .success()
}

/// True when `seen` (states in the order a face showed them) holds `path`
/// in that order, other states allowed between.
pub fn went_through(seen: &[String], path: &[&str]) -> bool {
    let mut from = 0;
    for st in path {
        match seen.iter().skip(from).position(|x| x == st) {
            Some(p) => from += p + 1,
            None => return false,
        }
    }
    true
}
