//! `sync`: rebuild the local record of jobs from the `job_info.json` files a
//! cluster keeps beside every job, for a user whose local state was lost.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::{clusters, Run, STATE_FILE};
use crate::model::cluster::ClusterProfile;
use crate::model::{ids, AttemptStatus, TaskStatus, WorkspaceSpec};
use crate::operators::slurm::{JobInfo, SlurmOperator};
use crate::store::{now_ms, RunRow, Store};
use crate::{Error, Result};

/// One job found on the cluster.
#[derive(Debug, Clone, Serialize)]
pub struct FoundJob {
    /// Run id.
    pub run: String,
    /// Task id.
    pub task: String,
    /// Attempt number.
    pub attempt: u32,
    /// Status recorded on the cluster.
    pub status: String,
    /// SLURM job id.
    pub scheduler_id: Option<String>,
}

/// Lists every job matterstack left on `cluster`.
///
/// Fails when the cluster cannot be reached.
pub fn discover(name: &str, profile: &ClusterProfile) -> Result<Vec<JobInfo>> {
    SlurmOperator::new("", name, profile.clone(), None).discover()
}

/// Summaries of discovered jobs, ordered by run, task and attempt.
pub fn summarize(jobs: &[JobInfo]) -> Vec<FoundJob> {
    let mut v: Vec<FoundJob> = jobs
        .iter()
        .map(|j| FoundJob {
            run: j.run.clone(),
            task: j.task.clone(),
            attempt: j.attempt,
            status: j.status.clone(),
            scheduler_id: j.scheduler_id.clone(),
        })
        .collect();
    v.sort_by(|a, b| (&a.run, &a.task, a.attempt).cmp(&(&b.run, &b.task, b.attempt)));
    v
}

/// Rebuilds run `run_dir` (named after its run id, which must not exist
/// yet) from the jobs of that run found on `cluster`. Returns the number of
/// attempts imported. Live jobs are adopted: the next `step` polls them.
///
/// Fails with a user error if the directory exists or the cluster holds no
/// job of that run.
pub fn rebuild(cluster: &str, profile: &ClusterProfile, run_dir: &Path) -> Result<usize> {
    let run_id = run_dir
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            Error::Input(format!(
                "--into {}: give a run directory path",
                run_dir.display()
            ))
        })?
        .to_string();
    ids::check_id("run", &run_id).map_err(|m| Error::Input(format!("--into: {m}")))?;
    if run_dir.exists() {
        return Err(Error::Input(format!(
            "--into {}: the directory exists; sync rebuilds a lost run into a new directory",
            run_dir.display()
        )));
    }
    let mut jobs: Vec<JobInfo> = discover(cluster, profile)?
        .into_iter()
        .filter(|j| j.run == run_id)
        .collect();
    if jobs.is_empty() {
        return Err(Error::Input(format!(
            "no job of run \"{run_id}\" on cluster \"{cluster}\"; `matterstack sync {cluster}` lists the runs it holds"
        )));
    }
    jobs.sort_by(|a, b| (&a.task, a.attempt).cmp(&(&b.task, b.attempt)));
    // The latest spec of each task; dependencies on tasks never submitted are dropped.
    let mut specs = BTreeMap::new();
    for j in &jobs {
        specs.insert(j.task.clone(), j.spec.clone());
    }
    let known: Vec<String> = specs.keys().cloned().collect();
    let mut tasks: Vec<_> = specs.into_values().collect();
    for t in &mut tasks {
        t.depends_on.retain(|d| known.contains(d));
    }
    let spec = WorkspaceSpec {
        run: Default::default(),
        tasks,
    };
    let text = toml::to_string_pretty(&spec).map_err(|e| Error::Corrupt(e.to_string()))?;
    let parent = run_dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    let staging = parent.join(format!(".sync-{run_id}-{}", std::process::id()));
    let result = (|| -> Result<usize> {
        std::fs::create_dir_all(staging.join("tasks"))
            .map_err(|e| Error::io("create", &staging, e))?;
        std::fs::write(staging.join(super::init::WORKSPACE_FILE), &text)
            .map_err(|e| Error::io("write", &staging, e))?;
        let mut snapshot = BTreeMap::new();
        snapshot.insert(cluster.to_string(), profile.clone());
        clusters::write_file(&staging.join(clusters::CLUSTERS_FILE), &snapshot)?;
        let row = RunRow {
            id: run_id.clone(),
            workspace: parent.display().to_string(),
            created_at: now_ms(),
            status: "RUNNING".into(),
            core_budget: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
        };
        let mut store = Store::create(&staging.join(STATE_FILE), &row, &text, &spec.tasks)?;
        let key = format!("slurm@{cluster}");
        let n = jobs.len();
        store.write(|tx| {
            for j in &jobs {
                let id = tx.insert_attempt(&j.task, j.attempt, &j.token, &key, None)?;
                let (attempt, task) = match j.status.as_str() {
                    "PENDING" | "RUNNING" => (AttemptStatus::Running, TaskStatus::Running),
                    "COMPLETED" => (AttemptStatus::Completed, TaskStatus::Completed),
                    "CANCELLED" => (AttemptStatus::Cancelled, TaskStatus::Cancelled),
                    _ => (AttemptStatus::Failed, TaskStatus::Failed),
                };
                let reason = (!matches!(task, TaskStatus::Running | TaskStatus::Completed))
                    .then(|| format!("{} (rebuilt from the cluster)", j.status));
                // Reconstruction of recorded history, not a state transition.
                tx.update_attempt(
                    id,
                    attempt,
                    j.scheduler_id.as_deref(),
                    j.started_at,
                    j.ended_at,
                    j.exit_code,
                    reason.as_deref(),
                )?;
                tx.set_task(&j.task, task, j.exit_code, reason.as_deref())?;
            }
            for t in &known {
                if tx.task(t)?.is_some_and(|r| {
                    r.status == TaskStatus::Pending || r.status == TaskStatus::Ready
                }) {
                    let status = if tx.recount_deps(t)? == 0 {
                        TaskStatus::Ready
                    } else {
                        TaskStatus::Pending
                    };
                    tx.set_task(t, status, None, None)?;
                }
            }
            tx.event(
                None,
                &format!("rebuilt from {n} job records on cluster {cluster}"),
            )?;
            crate::engine::update_run_state(tx)?;
            Ok(())
        })?;
        drop(store);
        std::fs::rename(&staging, run_dir).map_err(|e| Error::io("rename into", run_dir, e))?;
        Ok(n)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

impl Run {
    /// The cluster profiles this run knows.
    pub fn clusters(&self) -> Result<BTreeMap<String, ClusterProfile>> {
        clusters::read_file(&self.dir.join(clusters::CLUSTERS_FILE))
    }
}
