//! How an attempt is carried out. Every operator implements [`Operator`];
//! the engine talks to nothing else. Polling is batched: the engine hands
//! over all live attempts of an operator at once, so a scheduler-backed
//! operator can answer with one status query per tick.

pub mod external;
pub mod link;
pub mod local;
pub mod slurm;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::model::cluster::ClusterProfile;
use crate::model::TaskSpec;
use crate::{Error, Result};

/// The file in a task directory where a task without a parser may put its
/// results (a JSON object); the `human` operator writes a response's data
/// there.
pub const RESULTS_FILE: &str = "results.json";

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
    /// Declared outputs of the task (fetched back by remote operators).
    pub outputs: &'a [String],
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
    /// Submitted and waiting in a scheduler's queue.
    Queued {
        /// The scheduler id, if known.
        external_id: Option<String>,
        /// The scheduler's reason (`Priority`, `Resources`, `PartitionConfig`…).
        reason: Option<String>,
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
    /// Ended unsuccessfully for a reason the scheduler gave (TIMEOUT,
    /// OUT_OF_MEMORY, NODE_FAIL…), with the exit code if known.
    Ended {
        /// Exit code, if known.
        code: Option<i32>,
        /// The scheduler's reason.
        reason: String,
        /// End time, if known.
        ended_at: Option<i64>,
    },
    /// Could not be observed this time (cluster unreachable): leave it as it is.
    Unknown {
        /// Why.
        reason: String,
    },
}

/// How many attempts an operator takes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// Bounded by the run's core budget (the local machine).
    Cores,
    /// At most this many live jobs (a cluster's `limits.max_jobs`).
    Jobs(u32),
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
pub trait Operator: Send + Sync {
    /// The name used in `matterstack.toml` (`operator = "…"`).
    fn name(&self) -> &'static str;

    /// How many attempts it takes at once.
    fn capacity(&self) -> Capacity {
        Capacity::Cores
    }

    /// True when something else (a batch scheduler) enforces walltimes;
    /// otherwise the engine kills attempts that overrun theirs.
    fn enforces_walltime(&self) -> bool {
        false
    }

    /// True for batch schedulers: a submitted job waits in a queue until
    /// the scheduler starts it (shown as QUEUED until it is seen running).
    fn has_queue(&self) -> bool {
        self.enforces_walltime()
    }

    /// Starts an attempt. Must be idempotent per token: launching an attempt
    /// that already started has no effect beyond returning its id.
    ///
    /// Fails when the attempt cannot be started. A transient failure
    /// ([`Error::is_transient`]) leaves the attempt CREATED for the next
    /// tick (which reconciles by token before launching again); any other
    /// failure fails the attempt.
    fn launch(&self, attempt: &AttemptRef<'_>, task: &TaskSpec) -> Result<Launched>;

    /// Starts several attempts at once; returns one result per attempt, in
    /// order, each meaning what [`Operator::launch`]'s result means. An
    /// operator may submit them together (the SLURM operator sends the
    /// points of one sweep as one job array); the default launches them one
    /// by one.
    fn launch_many(&self, batch: &[(AttemptRef<'_>, &TaskSpec)]) -> Vec<Result<Launched>> {
        batch.iter().map(|(a, t)| self.launch(a, t)).collect()
    }

    /// Observes many attempts at once; returns one observation per attempt,
    /// in order. Never fails as a whole: an attempt that cannot be read is
    /// reported as [`Observation::Lost`] or [`Observation::Running`].
    fn poll(&self, attempts: &[AttemptRef<'_>]) -> Vec<Observation>;

    /// Stops an attempt (its whole process group or job). Stopping an
    /// attempt that already ended is not an error.
    fn cancel(&self, attempt: &AttemptRef<'_>) -> Result<()>;

    /// Reads a live attempt's `file` on the remote machine from byte
    /// `offset` (at most `max` bytes); `None` when this operator keeps its
    /// files locally (they are read where they are).
    ///
    /// Fails when the remote machine cannot be reached.
    fn read_remote(
        &self,
        attempt: &AttemptRef<'_>,
        file: &LogFile,
        offset: u64,
        max: u64,
    ) -> Result<Option<Vec<u8>>> {
        let _ = (attempt, file, offset, max);
        Ok(None)
    }

    /// Brings back what finished `attempts` left on a remote machine (logs,
    /// markers, declared outputs) into their task directories, as a poll
    /// does when it sees them end: for attempts that ended without being
    /// polled again (a user's cancel). Local operators have nothing to do.
    ///
    /// Fails when the transfer fails.
    fn fetch(&self, attempts: &[AttemptRef<'_>]) -> Result<()> {
        let _ = attempts;
        Ok(())
    }

    /// Removes (or, with `dry_run`, only lists) the remote directories of a
    /// run's `attempts`: those that are theirs (a remote operator checks the
    /// token in each `job_info.json`), then the run's directories once
    /// empty. Operators with nothing remote have nothing to remove.
    ///
    /// Fails when the cluster cannot be reached (nothing is then removed
    /// locally either).
    fn remove_remote(&self, attempts: &[AttemptRef<'_>], dry_run: bool) -> Result<RemoteRemoval> {
        let _ = (attempts, dry_run);
        Ok(RemoteRemoval::default())
    }
}

/// A file of an attempt that `logs` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogFile {
    /// Its standard output.
    Stdout,
    /// Its standard error.
    Stderr,
    /// A file (a plain name, checked) in its working directory.
    Work(String),
}

/// What [`Operator::remove_remote`] removed (or would remove) and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RemoteRemoval {
    /// Directories removed (or to be removed).
    pub removed: Vec<String>,
    /// Directories left because they are not this run's (or not empty).
    pub kept: Vec<String>,
}

/// The operators of one run, by key: `local`, or `<operator>@<cluster>`.
/// Remote operators (and their SSH connections) are made on first use and
/// kept for the life of the registry (one `step`, or a whole `run`).
pub struct Operators {
    run_id: String,
    run_uid: Option<String>,
    clusters: BTreeMap<String, ClusterProfile>,
    job_templates: BTreeMap<String, matterstack_templates::Template>,
    cache: Mutex<HashMap<String, Arc<dyn Operator>>>,
}

impl Operators {
    /// A registry for run `run_id` knowing `clusters`, and the site job
    /// script templates of those that have one (by cluster name).
    pub fn new(
        run_id: &str,
        clusters: BTreeMap<String, ClusterProfile>,
        job_templates: BTreeMap<String, matterstack_templates::Template>,
    ) -> Operators {
        Operators {
            run_id: run_id.to_string(),
            run_uid: None,
            clusters,
            job_templates,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The run's identity, which names its remote directories
    /// (`model::layout`); none for a run made before identities.
    pub fn with_run_uid(mut self, uid: Option<String>) -> Operators {
        self.run_uid = uid;
        self
    }

    /// The names of the clusters this registry knows.
    pub fn cluster_names(&self) -> Vec<String> {
        self.clusters.keys().cloned().collect()
    }

    /// The key of the operator that runs `task`.
    pub fn key_for(task: &TaskSpec) -> String {
        task.operator_key()
    }

    /// The operator under `key`.
    ///
    /// Fails with a user error when the key names an operator this build
    /// lacks or a cluster the run does not know.
    pub fn get(&self, key: &str) -> Result<Arc<dyn Operator>> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(op) = cache.get(key) {
            return Ok(op.clone());
        }
        let op: Arc<dyn Operator> = match key.split_once('@') {
            None if key == "local" => Arc::new(local::LocalOperator),
            None if key == "human" => Arc::new(external::HumanOperator),
            None if key == "manual" => Arc::new(external::ManualOperator),
            Some((kind @ ("slurm" | "ssh" | "pbs"), cluster)) => {
                let profile = self.clusters.get(cluster).ok_or_else(|| {
                    Error::Input(format!(
                        "cluster \"{cluster}\" is not known to this run; add it with `matterstack cluster add`"
                    ))
                })?;
                let op = slurm::SlurmOperator::new(
                    &self.run_id,
                    cluster,
                    profile.clone(),
                    self.job_templates.get(cluster).cloned(),
                )
                .with_run_uid(self.run_uid.as_deref());
                Arc::new(match kind {
                    "ssh" => op.direct(),
                    "pbs" => op.pbs(match profile.pbs_flavor.as_deref() {
                        Some("torque") => matterstack_schedulers::pbs::PbsFlavor::Torque,
                        _ => matterstack_schedulers::pbs::PbsFlavor::Pro,
                    }),
                    _ => op,
                })
            }
            _ => {
                return Err(Error::Input(format!(
                    "operator \"{key}\" is not available in this build"
                )))
            }
        };
        cache.insert(key.to_string(), op.clone());
        Ok(op)
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

/// The values of a task's `secret_env`, read from matterstack's own
/// environment at launch. The values go to the program only (a child's
/// environment, or a 0600 file a job reads and deletes); a missing one
/// fails the launch, naming the variable (never a value).
pub(crate) fn secret_values(task: &TaskSpec) -> Result<Vec<(String, String)>> {
    let missing: Vec<&str> = task
        .secret_env
        .iter()
        .filter(|n| std::env::var_os(n).is_none())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(Error::Input(format!(
            "secret_env: {} not set in matterstack's environment; export {} where `matterstack step` runs and `matterstack retry` the task",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        )));
    }
    task.secret_env
        .iter()
        .map(|n| {
            std::env::var(n).map(|v| (n.clone(), v)).map_err(|_| {
                Error::Input(format!(
                    "secret_env: {n} is not UTF-8 text in matterstack's environment"
                ))
            })
        })
        .collect()
}
