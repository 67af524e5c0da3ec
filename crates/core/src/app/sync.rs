//! `sync`: rebuild the local record of jobs from the `job_info.json` files a
//! cluster keeps beside every job, for a user whose local state was lost.
//! Those files are data from outside: `records` checks each before anything
//! is stored, and the rebuilt tasks run on the cluster they were read from.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::{clusters, Run, STATE_FILE};
use crate::model::cluster::ClusterProfile;
use crate::model::{ids, layout, AttemptStatus, TaskSpec, TaskStatus, WorkspaceSpec};
use crate::operators::slurm::{JobInfo, JobRecord, SlurmOperator};
use crate::store::{now_ms, RunRow, Store};
use crate::{Error, Result};

mod records;

/// One job found on the cluster.
#[derive(Debug, Clone, Serialize)]
pub struct FoundJob {
    /// Run id.
    pub run: String,
    /// The run's identity (none for a run made before identities): two runs
    /// with one id, from two workspaces, differ here.
    pub uid: Option<String>,
    /// Task id.
    pub task: String,
    /// Attempt number.
    pub attempt: u32,
    /// Status recorded on the cluster.
    pub status: String,
    /// SLURM job id.
    pub scheduler_id: Option<String>,
}

/// What [`rebuild`] did.
#[derive(Debug, Clone, Default)]
pub struct Rebuilt {
    /// Attempts imported.
    pub attempts: usize,
    /// The identity of the rebuilt run (its jobs' directories).
    pub uid: Option<String>,
    /// Records not imported, one line each: where, which field, which
    /// value, why.
    pub skipped: Vec<String>,
}

/// Lists every job record matterstack left on `cluster` (unreadable ones
/// as their parse error).
///
/// Fails when the cluster cannot be reached.
pub fn discover(name: &str, profile: &ClusterProfile) -> Result<Vec<JobRecord>> {
    SlurmOperator::new("", name, profile.clone(), None).discover()
}

/// Summaries of the readable records, ordered by run, identity, task and
/// attempt.
pub fn summarize(records: &[JobRecord]) -> Vec<FoundJob> {
    let mut v: Vec<FoundJob> = records
        .iter()
        .filter_map(|r| r.info.as_ref().ok())
        .map(|j| FoundJob {
            run: j.run.clone(),
            uid: j.run_uid.clone(),
            task: j.task.clone(),
            attempt: j.attempt,
            status: j.status.clone(),
            scheduler_id: j.scheduler_id.clone(),
        })
        .collect();
    v.sort_by(|a, b| {
        (&a.run, &a.uid, &a.task, a.attempt).cmp(&(&b.run, &b.uid, &b.task, b.attempt))
    });
    v
}

/// Rebuilds run `run_dir` (named after its run id, which must not exist
/// yet) from the jobs of that run found on `cluster`; `uid` chooses among
/// several runs with that id there (from different workspaces). Every
/// record is checked like a workspace task and bound to `cluster`; bad ones
/// are skipped (their whole task) and listed in [`Rebuilt::skipped`]. The
/// rebuilt run keeps the identity of its jobs, so its remote directories
/// are theirs: live jobs are adopted, the next `step` polls them.
///
/// Fails with a user error if the directory exists, the cluster holds no
/// valid job of that run, the run id names several runs and no `uid` is
/// given, or the records together do not make a valid workspace.
pub fn rebuild(
    cluster: &str,
    profile: &ClusterProfile,
    run_dir: &Path,
    uid: Option<&str>,
) -> Result<Rebuilt> {
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
    if let Some(u) = uid {
        layout::check_run_uid(u).map_err(|m| Error::Input(format!("--uid: {m}")))?;
    }
    if run_dir.exists() {
        return Err(Error::Input(format!(
            "--into {}: the directory exists; sync rebuilds a lost run into a new directory",
            run_dir.display()
        )));
    }
    let found = discover(cluster, profile)?;
    let mut skipped = Vec::new();
    let mut mine: Vec<&JobRecord> = Vec::new();
    for r in &found {
        let in_run_dir = r
            .path
            .split('/')
            .next()
            .is_some_and(|d| records::dir_of_run(d, &run_id));
        match &r.info {
            Ok(j) if j.run == run_id && (uid.is_none() || j.run_uid.as_deref() == uid) => {
                mine.push(r)
            }
            Ok(_) => {}
            Err(e) if in_run_dir => {
                skipped.push(format!("{}/job_info.json: not a job record ({e})", r.path))
            }
            Err(_) => {}
        }
    }
    let uids: BTreeSet<Option<&str>> = mine
        .iter()
        .filter_map(|r| r.info.as_ref().ok())
        .map(|j| j.run_uid.as_deref())
        .collect();
    if uids.len() > 1 {
        let listed: Vec<String> = uids
            .iter()
            .map(|u| {
                u.map_or("(none: made before run identities)".into(), |u| {
                    u.to_string()
                })
            })
            .collect();
        let some = uids.iter().flatten().next().copied().unwrap_or_default();
        return Err(Error::Input(format!(
            "cluster \"{cluster}\" holds {} runs with id \"{run_id}\" (uids: {}); choose one with --uid, e.g. --uid {some}",
            uids.len(),
            listed.join(", ")
        )));
    }
    let run_uid = uids.into_iter().next().flatten().map(str::to_string);
    let checked = records::check(&mine, cluster, profile);
    skipped.extend(checked.skipped);
    if checked.accepted.is_empty() {
        let why = if skipped.is_empty() {
            String::new()
        } else {
            format!("; skipped:\n  {}", skipped.join("\n  "))
        };
        return Err(Error::Input(format!(
            "no valid job of run \"{run_id}\" on cluster \"{cluster}\"; `matterstack sync {cluster}` lists the runs it holds{why}"
        )));
    }
    // The latest spec of each task; dependencies on tasks not rebuilt are dropped.
    let known: Vec<String> = checked.accepted.keys().cloned().collect();
    let mut tasks: Vec<TaskSpec> = Vec::new();
    let mut jobs: Vec<JobInfo> = Vec::new();
    for attempts in checked.accepted.into_values() {
        if let Some((_, spec)) = attempts.last() {
            let mut spec = spec.clone();
            spec.depends_on.retain(|d| known.contains(d));
            spec.files_from.retain(|up, _| known.contains(up));
            tasks.push(spec);
        }
        jobs.extend(attempts.into_iter().map(|(j, _)| j));
    }
    let assembled = WorkspaceSpec {
        run: Default::default(),
        tasks,
    };
    let text = toml::to_string_pretty(&assembled).map_err(|e| Error::Corrupt(e.to_string()))?;
    // The records together are checked as the workspace they now are.
    let spec = WorkspaceSpec::parse(
        &text,
        Path::new(&format!("job records of run {run_id} on cluster {cluster}")),
    )?;
    let operator_of: BTreeMap<String, String> = spec
        .tasks
        .iter()
        .map(|t| (t.id.clone(), t.operator_key()))
        .collect();
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
        let n = jobs.len();
        store.write(|tx| {
            // The jobs' identity, so the rebuilt run finds their directories.
            tx.set_run_uid(run_uid.as_deref())?;
            for j in &jobs {
                let key = operator_of
                    .get(&j.task)
                    .cloned()
                    .unwrap_or_else(|| format!("slurm@{cluster}"));
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
            for line in &skipped {
                tx.event(None, &format!("sync skipped a record: {line}"))?;
            }
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
    Ok(Rebuilt {
        attempts: result?,
        uid: run_uid,
        skipped,
    })
}

impl Run {
    /// The cluster profiles this run knows.
    pub fn clusters(&self) -> Result<BTreeMap<String, ClusterProfile>> {
        clusters::read_file(&self.dir.join(clusters::CLUSTERS_FILE))
    }
}
