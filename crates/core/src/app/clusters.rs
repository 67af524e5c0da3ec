//! Cluster profiles on disk, and `cluster test`.
//!
//! Profiles live in `$XDG_CONFIG_HOME/matterstack/clusters.toml` (default
//! `~/.config/matterstack/clusters.toml`); a workspace may add or override
//! profiles in its own `clusters.toml`. A run keeps a snapshot of the
//! profiles its tasks use (`runs/<id>/clusters.toml`), so it behaves the same
//! for its whole life.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::model::cluster::{ClusterProfile, ClustersFile, Scheduler};
use crate::transport::quote_path;
use crate::{Error, Result};

/// The file name of cluster profiles.
pub const CLUSTERS_FILE: &str = "clusters.toml";

/// The user's cluster profile file.
pub fn user_config_path() -> PathBuf {
    crate::lookup::config_dir().join(CLUSTERS_FILE)
}

/// Reads one `clusters.toml` (missing file = no profiles).
///
/// Fails with [`Error::Spec`] listing every problem in the file.
pub fn read_file(path: &Path) -> Result<BTreeMap<String, ClusterProfile>> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    ClustersFile::parse(&text)
        .map(|f| f.clusters)
        .map_err(|problems| Error::Spec {
            file: path.to_path_buf(),
            problems,
        })
}

/// A cluster as the faces show it: its profile's essentials and what this
/// process knows of its reachability (through the link every run on it
/// shares).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterView {
    /// The profile's name.
    pub name: String,
    /// `user@host:port` (or the ssh_config alias).
    pub destination: String,
    /// Its batch scheduler.
    pub scheduler: Scheduler,
    /// The default partition or queue.
    pub partition: Option<String>,
    /// `limits.max_jobs`: jobs in flight at most.
    pub max_jobs: u32,
    /// `limits.commands_per_second`: the scheduler command budget.
    pub commands_per_second: f64,
    /// Reachable, unreachable, or not tried by this process.
    pub reachability: crate::operators::link::Reachability,
    /// Commands this process sent to it.
    pub commands: u64,
    /// Whether `cluster probe` has recorded its partitions.
    pub probed: bool,
    /// What `cluster probe` recorded, when it was run.
    pub probe: Option<crate::model::cluster::Probe>,
}

/// Views of `profiles`, with what this process's links know.
pub fn views(profiles: &BTreeMap<String, ClusterProfile>) -> Vec<ClusterView> {
    let links = crate::operators::link::views();
    profiles
        .iter()
        .map(|(name, p)| {
            let link = links.iter().find(|l| &l.cluster == name);
            ClusterView {
                name: name.clone(),
                destination: match p.port {
                    Some(port) => format!("{}:{port}", p.destination()),
                    None => p.destination(),
                },
                scheduler: p.scheduler,
                partition: p.partition.clone(),
                max_jobs: p.limits.max_jobs,
                commands_per_second: p.limits.commands_per_second,
                reachability: link.map_or(crate::operators::link::Reachability::Unknown, |l| {
                    l.reachability.clone()
                }),
                commands: link.map_or(0, |l| l.commands),
                probed: p.probe.is_some(),
                probe: p.probe.clone(),
            }
        })
        .collect()
}

/// One of the user's jobs on a cluster, as `squeue` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueJob {
    /// The job id.
    pub job: String,
    /// Its state (`PENDING`, `RUNNING`…).
    pub state: String,
    /// SLURM's reason while it waits.
    pub reason: Option<String>,
    /// Time it has run, seconds.
    pub elapsed_secs: Option<u64>,
    /// Its time limit, seconds.
    pub time_limit_secs: Option<u64>,
    /// The job name (matterstack's carry the attempt's token).
    pub name: String,
    /// True for a job matterstack submitted.
    pub ours: bool,
    /// True when the reason means it can never start as submitted.
    pub never: bool,
}

/// The user's jobs on SLURM cluster `name` (every run's, and others'),
/// through the process's link to it (one connection, its rate limit).
///
/// Fails with a user error for a cluster without SLURM; with a transport
/// error when it cannot be reached.
pub fn queue(name: &str, profile: &ClusterProfile) -> Result<Vec<QueueJob>> {
    use crate::transport::Transport;
    if profile.scheduler != Scheduler::Slurm {
        return Err(Error::Input(format!(
            "cluster \"{name}\" has no SLURM queue to list (scheduler {:?})",
            profile.scheduler
        )));
    }
    let link = crate::operators::link::shared(name, profile);
    link.take_token();
    let out = link.exec("squeue", &crate::operators::slurm::all_jobs_squeue(), None)?;
    if !out.ok() {
        return Err(Error::Scheduler(format!(
            "squeue on {name} failed: {}",
            out.stderr.trim()
        )));
    }
    Ok(
        matterstack_schedulers::slurm::parse_squeue_lenient(&out.stdout)
            .rows
            .into_iter()
            .map(|r| QueueJob {
                ours: matterstack_schedulers::token_from_job_name(&r.name).is_some(),
                never: r
                    .reason
                    .as_deref()
                    .is_some_and(matterstack_schedulers::never_starts),
                job: r.job_id,
                state: r.state.long_name().to_string(),
                reason: r.reason,
                elapsed_secs: r.elapsed_secs,
                time_limit_secs: r.time_limit_secs,
                name: r.name,
            })
            .collect(),
    )
}

/// The user's profiles, overridden by the workspace's (if given).
pub fn load(workspace: Option<&Path>) -> Result<BTreeMap<String, ClusterProfile>> {
    let mut all = read_file(&user_config_path())?;
    if let Some(ws) = workspace {
        all.extend(read_file(&ws.join(CLUSTERS_FILE))?);
    }
    Ok(all)
}

/// Writes profiles to `path` atomically (temp file + rename), mode 0600.
pub fn write_file(path: &Path, clusters: &BTreeMap<String, ClusterProfile>) -> Result<()> {
    let file = ClustersFile {
        clusters: clusters.clone(),
    };
    let text = toml::to_string_pretty(&file).map_err(|e| Error::Corrupt(e.to_string()))?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    }
    crate::atomic::write_private(path, &text)
}

/// Adds (or replaces, with `replace`) a profile in the user's file.
///
/// Fails with a user error if the profile is invalid or the name is taken.
pub fn add(name: &str, profile: ClusterProfile, replace: bool) -> Result<PathBuf> {
    let problems = profile.problems(name);
    if !problems.is_empty() {
        return Err(Error::Spec {
            file: PathBuf::from(format!("cluster \"{name}\"")),
            problems,
        });
    }
    let path = user_config_path();
    let mut all = read_file(&path)?;
    if all.contains_key(name) && !replace {
        return Err(Error::Input(format!(
            "cluster \"{name}\" already exists in {}; pass --replace to overwrite it",
            path.display()
        )));
    }
    all.insert(name.to_string(), profile);
    write_file(&path, &all)?;
    Ok(path)
}

/// Removes a profile from the user's file; returns the file.
///
/// Fails with a user error (with a "did you mean") if there is no such
/// profile there. Runs keep their own copy of the profiles they use, so
/// existing runs are not affected.
pub fn remove(name: &str) -> Result<PathBuf> {
    let path = user_config_path();
    let mut all = read_file(&path)?;
    if all.remove(name).is_none() {
        let known: Vec<&str> = all.keys().map(String::as_str).collect();
        return Err(Error::Input(format!(
            "no cluster \"{name}\" in {}{}",
            path.display(),
            if known.is_empty() {
                "; it has no clusters".to_string()
            } else {
                crate::model::dag::suggestion(name, &known)
            }
        )));
    }
    write_file(&path, &all)?;
    Ok(path)
}

/// The profile `name`, or a user error listing the known ones.
pub fn get(all: &BTreeMap<String, ClusterProfile>, name: &str) -> Result<ClusterProfile> {
    all.get(name).cloned().ok_or_else(|| {
        let known: Vec<&str> = all.keys().map(String::as_str).collect();
        Error::Input(format!(
            "unknown cluster \"{name}\"; known: {}; add one with `matterstack cluster add`",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    })
}

/// A transport for a profile.
pub use crate::transport::for_profile as transport_for;

/// What `cluster test` found.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    /// Cluster name.
    pub cluster: String,
    /// Where it connected.
    pub destination: String,
    /// Median round trip of a no-op command, in milliseconds.
    pub latency_ms: f64,
    /// The scheduler's status command and its first line of output.
    pub scheduler: String,
    /// Partitions the scheduler lists.
    pub partitions: Vec<String>,
    /// The project root, resolved, and writable.
    pub project_root: String,
    /// The scratch root, resolved, and writable.
    pub scratch_root: String,
}

/// Connects, runs the scheduler's status command, checks both roots are
/// writable and measures the round-trip latency.
///
/// Fails with a specific error: unreachable host or refused key
/// ([`Error::Transport`], saying transient or permanent), a scheduler that
/// does not answer, or a root that cannot be written.
pub fn test(name: &str, profile: &ClusterProfile) -> Result<TestReport> {
    let t = transport_for(profile);
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let out = t.exec("ping", "true", None)?;
        if !out.ok() {
            return Err(Error::Scheduler(format!(
                "`true` failed on {}: {}",
                t.describe(),
                out.stderr.trim()
            )));
        }
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    let (status_cmd, parts_cmd) = match profile.scheduler {
        Scheduler::Slurm => ("squeue --version", "sinfo -h -o %P"),
        Scheduler::Pbs => ("qstat --version", "qstat -Q"),
        Scheduler::None => ("uname -a", "true"),
    };
    let out = t.exec("scheduler", status_cmd, None)?;
    if !out.ok() {
        return Err(Error::Scheduler(format!(
            "cluster \"{name}\": `{status_cmd}` failed ({}): {}; check the scheduler or the profile's setup lines",
            out.status,
            out.stderr.trim()
        )));
    }
    let scheduler = format!(
        "{status_cmd}: {}",
        out.stdout.lines().next().unwrap_or("").trim()
    );
    let parts = t.exec("scheduler", parts_cmd, None)?;
    let partitions: Vec<String> = parts
        .stdout
        .split_whitespace()
        .map(|p| p.trim_end_matches('*').to_string())
        .collect();
    let mut problems = Vec::new();
    // The profile's QOS against what `cluster probe` found (when it found any).
    if let (Some(q), Some(probe)) = (&profile.qos, &profile.probe) {
        if !probe.qos.is_empty() && !probe.qos.contains(q) {
            problems.push(format!(
                "qos \"{q}\" is not one of this cluster's (probed {}){}",
                probe.at,
                crate::model::dag::suggestion(
                    q,
                    &probe.qos.iter().map(String::as_str).collect::<Vec<_>>()
                )
            ));
        }
    }
    if profile.scheduler == Scheduler::Slurm && !partitions.is_empty() {
        let known: Vec<&str> = partitions.iter().map(String::as_str).collect();
        let wanted = profile.partition.iter().chain(&profile.partitions);
        let bad: Vec<String> = wanted
            .filter(|p| !partitions.contains(p))
            .map(|p| {
                format!(
                    "partition \"{p}\" is not on this cluster{}",
                    crate::model::dag::suggestion(p, &known)
                )
            })
            .collect();
        problems.extend(bad);
    }
    if !problems.is_empty() {
        return Err(Error::Spec {
            file: PathBuf::from(format!("cluster \"{name}\"")),
            problems,
        });
    }
    let mut roots = Vec::new();
    for (field, root) in [
        ("project_root", &profile.project_root),
        ("scratch_root", &profile.scratch_root),
    ] {
        let probe = format!(
            "mkdir -p {r} && cd {r} && f=.matterstack-write-test.$$ && : > \"$f\" && rm -f \"$f\" && pwd",
            r = quote_path(root)
        );
        let out = t.exec("check-root", &probe, None)?;
        if !out.ok() {
            return Err(Error::Scheduler(format!(
                "cluster \"{name}\": {field} {root} is not writable: {}; fix the path or its permissions",
                out.stderr.trim()
            )));
        }
        roots.push(out.stdout.trim().to_string());
    }
    Ok(TestReport {
        cluster: name.to_string(),
        destination: t.describe(),
        latency_ms: times[1],
        scheduler,
        partitions,
        scratch_root: roots.pop().unwrap_or_default(),
        project_root: roots.pop().unwrap_or_default(),
    })
}

/// Asks the cluster what it offers — partitions with their limits, QOS,
/// accounts, `module avail` — and records it in the profile
/// ([`ClusterProfile::probe`]) in the file that defines it: the
/// workspace's `clusters.toml` when it is there, else the user's.
/// Returns the probe and that file.
///
/// Fails when the cluster cannot be reached or `sinfo` does not answer.
/// QOS, accounts and modules are optional: a cluster without accounting
/// or environment modules just has none.
pub fn probe(
    name: &str,
    profile: &ClusterProfile,
    workspace: Option<&Path>,
) -> Result<(crate::model::cluster::Probe, PathBuf)> {
    use matterstack_schedulers::slurm::{parse_sinfo_partitions, SINFO_PARTITIONS};
    if profile.scheduler != Scheduler::Slurm {
        return Err(Error::Input(format!(
            "cluster \"{name}\": probe knows SLURM clusters; this one's scheduler is {:?}",
            profile.scheduler
        )));
    }
    let t = transport_for(profile);
    let out = t.exec("probe", SINFO_PARTITIONS, None)?;
    let partitions = parse_sinfo_partitions(&out.stdout);
    if !out.ok() || partitions.is_empty() {
        return Err(Error::Scheduler(format!(
            "cluster \"{name}\": `{SINFO_PARTITIONS}` gave no partitions ({}): {}",
            out.status,
            out.stderr.trim()
        )));
    }
    // Optional parts: each a list of names, one per line.
    let lines = |label: &str, cmd: &str| -> Result<Vec<String>> {
        let out = t.exec(label, cmd, None)?;
        Ok(if out.ok() {
            let mut v: Vec<String> = out
                .stdout
                .lines()
                .map(|l| l.trim().trim_end_matches('|').to_string())
                .filter(|l| !l.is_empty() && !l.ends_with(':') && !l.contains(' '))
                .collect();
            v.sort();
            v.dedup();
            v
        } else {
            Vec::new()
        })
    };
    let qos = lines(
        "probe-qos",
        "sacctmgr -n -P show qos format=Name 2>/dev/null",
    )?;
    let accounts = lines(
        "probe-accounts",
        "sacctmgr -n -P show assoc where user=\"$(id -un)\" format=Account 2>/dev/null",
    )?;
    // `module` is a shell function set up by login scripts; `-t` lists one per line.
    let modules = lines(
        "probe-modules",
        "bash -lc 'type module >/dev/null 2>&1 && module -t avail 2>&1'",
    )?;
    let at = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let probe = crate::model::cluster::Probe {
        at,
        partitions,
        qos,
        accounts,
        modules,
    };
    let ws_file = workspace.map(|w| w.join(CLUSTERS_FILE));
    let path = match &ws_file {
        Some(f) if read_file(f)?.contains_key(name) => f.clone(),
        _ => user_config_path(),
    };
    let mut all = read_file(&path)?;
    let Some(p) = all.get_mut(name) else {
        return Err(Error::Input(format!(
            "cluster \"{name}\" is not in {}; add it with `matterstack cluster add`",
            path.display()
        )));
    };
    p.probe = Some(probe.clone());
    write_file(&path, &all)?;
    Ok((probe, path))
}
