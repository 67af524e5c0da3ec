//! How an attempt is carried out. Every operator implements [`Operator`];
//! the engine talks to nothing else. Polling is batched: the engine hands
//! over all live attempts of an operator at once, so a scheduler-backed
//! operator can answer with one status query per tick.

pub mod local;

use std::path::{Path, PathBuf};

use crate::model::TaskSpec;
use crate::Result;

/// One attempt as an operator sees it.
#[derive(Debug, Clone)]
pub struct AttemptRef<'a> {
    /// The run directory.
    pub run_dir: &'a Path,
    /// Task id.
    pub task_id: &'a str,
    /// Attempt number (1-based).
    pub n: u32,
    /// Idempotency token recorded in the store before launch.
    pub token: &'a str,
    /// Pid or scheduler id, when the store knows it.
    pub external_id: Option<&'a str>,
}

/// What an operator observed of an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// No sign that the attempt was ever started: it is safe to launch it.
    NotStarted,
    /// Started and still going.
    Running {
        /// Pid or scheduler id, if known.
        external_id: Option<String>,
        /// When it started (ms since the epoch), if known.
        started_at: Option<i64>,
    },
    /// Finished with an exit code.
    Exited {
        /// The exit code written by the wrapper.
        code: i32,
        /// Start time, ms since the epoch.
        started_at: Option<i64>,
        /// End time, ms since the epoch.
        ended_at: Option<i64>,
    },
    /// Started, then vanished without an exit code (killed, machine reboot).
    Lost {
        /// What was seen.
        reason: String,
    },
}

/// The result of a launch.
#[derive(Debug)]
pub struct Launched {
    /// Pid or scheduler id.
    pub external_id: String,
    /// The child process, when this process spawned it (lets `run` wake on exit).
    pub child: Option<std::process::Child>,
}

/// How tasks are carried out.
pub trait Operator {
    /// The name used in `matterstack.toml` (`operator = "…"`).
    fn name(&self) -> &'static str;

    /// Starts an attempt. Must be idempotent per token: launching an attempt
    /// that already started has no effect beyond returning its id.
    ///
    /// Fails when the attempt cannot be started at all (cannot create its
    /// directory, cannot spawn); the engine then fails the attempt.
    fn launch(&self, attempt: &AttemptRef<'_>, task: &TaskSpec) -> Result<Launched>;

    /// Observes many attempts at once; returns one observation per attempt,
    /// in order. Never fails as a whole: an attempt that cannot be read is
    /// reported as [`Observation::Lost`] or [`Observation::Running`].
    fn poll(&self, attempts: &[AttemptRef<'_>]) -> Vec<Observation>;

    /// Stops an attempt (its whole process group or job). Stopping an
    /// attempt that already ended is not an error.
    fn cancel(&self, attempt: &AttemptRef<'_>) -> Result<()>;
}

/// The operator registered under `name`, if this build has it.
pub fn by_name(name: &str) -> Option<Box<dyn Operator>> {
    match name {
        "local" => Some(Box::new(local::LocalOperator)),
        _ => None,
    }
}

/// Files of one attempt of the local operator, under
/// `tasks/<task>/.attempts/<n>/`.
#[derive(Debug, Clone)]
pub struct AttemptFiles {
    /// The task directory (the attempt's working directory).
    pub task_dir: PathBuf,
    /// The attempt's own directory.
    pub dir: PathBuf,
}

impl AttemptFiles {
    /// Paths for attempt `n` of `task_id` in `run_dir`.
    pub fn new(run_dir: &Path, task_id: &str, n: u32) -> AttemptFiles {
        let task_dir = run_dir.join("tasks").join(task_id);
        let dir = task_dir.join(".attempts").join(n.to_string());
        AttemptFiles { task_dir, dir }
    }

    /// `pid token`, written once (O_EXCL) by the wrapper when it starts.
    pub fn claim(&self) -> PathBuf {
        self.dir.join("claim")
    }

    /// The exit code, written by the wrapper when the command ends.
    pub fn exit(&self) -> PathBuf {
        self.dir.join("exit")
    }

    /// The command's standard output.
    pub fn stdout(&self) -> PathBuf {
        self.dir.join("stdout")
    }

    /// The command's standard error.
    pub fn stderr(&self) -> PathBuf {
        self.dir.join("stderr")
    }
}
