//! `export-evidence`: a self-contained record of what a run did, written to
//! `<run>/evidence/`:
//!
//! - `evidence.json`: the run, every task (spec, effective command,
//!   resources, results), every attempt with lineage and timings, input and
//!   output files with size and SHA-256, software versions, the event log;
//! - `report.md`: a readable summary;
//! - `report.html`: one self-contained page (inline CSS and SVG, no scripts,
//!   no external URLs) with a timeline of attempts and plots of results.
//!
//! The export only reads: the store in one read transaction (a consistent
//! snapshot; the run lock is not taken, so a running `run` is not held up),
//! then the task directories. The bundle is built in a hidden directory
//! inside the run and renamed into place, replacing an older export.

mod files;
mod html;
mod markdown;
mod svg;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::{clusters, Run};
use crate::model::{spec, Command, TaskSpec, TaskStatus};
use crate::store::evidence::{EventRow, EvidenceTask};
use crate::store::{now_ms, AttemptRow, RunRow};
use crate::{Error, Result};

pub use files::{hash_tree, sha256_file, FileEntry, HostInfo, ProgramVersion};

/// The directory of the bundle inside a run.
pub const EVIDENCE_DIR: &str = "evidence";
/// The `schema` value of `evidence.json`.
pub const SCHEMA: &str = "matterstack.evidence/1";
/// Programs whose `--version` is recorded when they are on PATH.
pub const PROBED_PROGRAMS: &[&str] = &["psi4", "xtb", "gmx"];
/// How long each `--version` probe may take.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The whole bundle; serializes to `evidence.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The run.
    pub run: RunInfo,
    /// Tasks per status (every status, zeros included).
    pub counts: BTreeMap<String, u64>,
    /// Software versions.
    pub software: Software,
    /// Every task in declaration order.
    pub tasks: Vec<TaskEvidence>,
    /// The run's event log, oldest first.
    pub events: Vec<EventEvidence>,
}

/// The run itself.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    /// Run id.
    pub id: String,
    /// The run directory when exported.
    pub dir: String,
    /// The workspace it was made from.
    pub workspace: String,
    /// `[run] description`, if any.
    pub description: Option<String>,
    /// Creation time (RFC 3339, UTC).
    pub created_at: String,
    /// `RUNNING`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// Why the run is paused, if it is.
    pub paused: Option<String>,
    /// Core budget of the local operator.
    pub core_budget: u32,
    /// When this bundle was made (RFC 3339, UTC).
    pub exported_at: String,
    /// The matterstack version that made the bundle.
    pub matterstack_version: String,
    /// The machine that made the bundle.
    pub host: files::HostInfo,
    /// SHA-256 of the run's `matterstack.toml` text (as stored).
    pub workspace_sha256: String,
    /// The run's `matterstack.toml` text (as stored).
    pub workspace_toml: String,
    #[serde(skip)]
    exported_ms: i64,
}

/// Versions of the software involved.
#[derive(Debug, Clone, Serialize)]
pub struct Software {
    /// matterstack's own version.
    pub matterstack: String,
    /// `psi4`/`xtb`/`gmx --version` (first line with a version number),
    /// for those on PATH when exporting.
    pub programs: Vec<files::ProgramVersion>,
    /// Program versions reported in parsed outputs, one per task.
    pub parsed: Vec<ParsedVersion>,
}

/// A program version found by an output parser.
#[derive(Debug, Clone, Serialize)]
pub struct ParsedVersion {
    /// The task.
    pub task: String,
    /// The program (`xtb`, `psi4`, …).
    pub program: String,
    /// The version as printed.
    pub version: String,
}

/// One task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskEvidence {
    /// Task id.
    pub id: String,
    /// Status.
    pub status: String,
    /// Template, if the task was made from one.
    pub template: Option<String>,
    /// Template parameters.
    pub params: serde_json::Map<String, Value>,
    /// The effective command, as one shell line.
    pub command: Option<String>,
    /// Operator key (`local`, `slurm@hpc`).
    pub operator: String,
    /// Cluster profile, if any.
    pub cluster: Option<String>,
    /// Resources asked for.
    pub resources: Resources,
    /// Dependencies.
    pub depends_on: Vec<String>,
    /// Automatic retries allowed.
    pub retries: u32,
    /// Automatic retries used since the last manual retry.
    pub retries_used: u32,
    /// A failure does not fail the run.
    pub allow_failure: bool,
    /// Parsed results (JSON), if any.
    pub results: Option<Value>,
    /// Why it is in its state.
    pub reason: Option<String>,
    /// Exit code of the last finished attempt.
    pub exit_code: Option<i32>,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptEvidence>,
    /// Files copied in before it ran (workspace inputs, rendered template
    /// files, upstream files).
    pub inputs: Vec<FileEntry>,
    /// Every other regular file in the task directory (not matterstack's
    /// own logs and markers, which are listed per attempt).
    pub outputs: Vec<FileEntry>,
    /// Declared outputs (`outputs`, `output`) that are not there.
    pub missing_outputs: Vec<String>,
    /// The spec as declared.
    pub spec: TaskSpec,
    /// The effective spec, when it differs from the declared one.
    pub effective_spec: Option<TaskSpec>,
}

/// Resources a task asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Resources {
    /// Cores.
    pub cores: u32,
    /// Memory, with units.
    pub memory: Option<String>,
    /// Walltime.
    pub walltime: Option<String>,
    /// Partition.
    pub partition: Option<String>,
    /// QOS.
    pub qos: Option<String>,
    /// Account.
    pub account: Option<String>,
    /// Generic resources.
    pub gres: Option<String>,
    /// Node features.
    pub constraint: Option<String>,
}

/// One attempt.
#[derive(Debug, Clone, Serialize)]
pub struct AttemptEvidence {
    /// Attempt number within the task (1-based).
    pub n: u32,
    /// `run`, `retry` or `restart`.
    pub kind: String,
    /// The number of the attempt this one continues from.
    pub parent: Option<u32>,
    /// Status.
    pub status: String,
    /// Operator key.
    pub operator: String,
    /// Where it ran: this machine for `local`, the cluster's host otherwise.
    pub host: Option<String>,
    /// Pid or scheduler job id.
    pub external_id: Option<String>,
    /// Idempotency token.
    pub token: String,
    /// Recorded (queued), RFC 3339.
    pub queued_at: String,
    /// Started, RFC 3339.
    pub started_at: Option<String>,
    /// Ended, RFC 3339.
    pub ended_at: Option<String>,
    /// Seconds from recorded to started.
    pub wait_s: Option<f64>,
    /// Seconds from started to ended.
    pub run_s: Option<f64>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Failure reason.
    pub reason: Option<String>,
    /// The resources it asked for (cores, memory, walltime, partition,
    /// qos, account, gres, constraint), when recorded (attempts made since
    /// schema V11).
    pub resources: Option<Value>,
    /// How it came about: `run`, `retry of 1 with partition debug`….
    pub lineage: String,
    /// The attempt's logs and markers (`.attempts/<n>/`).
    pub logs: Vec<FileEntry>,
    #[serde(skip)]
    ms: (i64, Option<i64>, Option<i64>),
}

impl AttemptEvidence {
    /// Its resources on one line, set values only:
    /// `cores 4, walltime 1h, partition debug`.
    pub fn resources_label(&self) -> String {
        let Some(Value::Object(m)) = &self.resources else {
            return String::new();
        };
        // Resources only; template parameters are in the task's spec.
        m.iter()
            .filter(|(k, v)| !v.is_null() && k.as_str() != "params")
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k} {s}"),
                other => format!("{k} {other}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One event.
#[derive(Debug, Clone, Serialize)]
pub struct EventEvidence {
    /// When, RFC 3339.
    pub at: String,
    /// The task, if any.
    pub task: Option<String>,
    /// What happened.
    pub message: String,
}

/// What an export wrote; serializes to `export-evidence --json`.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceSummary {
    /// The bundle directory (`<run>/evidence`).
    pub dir: PathBuf,
    /// Run id.
    pub run: String,
    /// Run status.
    pub status: String,
    /// Number of tasks.
    pub tasks: usize,
    /// Number of attempts.
    pub attempts: usize,
    /// Input and output files hashed.
    pub files: usize,
    /// The result keys plotted in `report.html`.
    pub plots: Vec<String>,
    /// Tasks per status (only statuses present).
    pub counts: BTreeMap<String, u64>,
    /// The files written, relative to `dir`.
    pub written: Vec<String>,
}

struct Snapshot {
    run: RunRow,
    spec_toml: String,
    paused: Option<String>,
    tasks: Vec<EvidenceTask>,
    attempts: Vec<AttemptRow>,
    events: Vec<EventRow>,
}

impl Run {
    /// Writes the evidence bundle into `<run>/evidence/` (replacing an older
    /// one) and returns what it wrote.
    ///
    /// Reads the store in one snapshot without taking the run lock, so it
    /// works while the run is running. Files that vanish while being hashed
    /// are left out; program probes that fail or time out are recorded as
    /// such. Fails (leaving any older bundle in place) when the store cannot
    /// be read or the bundle cannot be written.
    pub fn export_evidence(&mut self) -> Result<EvidenceSummary> {
        let snap = self.store().read(|tx| {
            Ok(Snapshot {
                run: tx.run()?,
                spec_toml: tx.spec_toml()?,
                paused: tx.paused()?,
                tasks: tx.evidence_tasks()?,
                attempts: tx.all_attempts()?,
                events: tx.all_events()?,
            })
        })?;
        let dir = self.dir.clone();
        let evidence = collect(&dir, snap);
        let json = serde_json::to_string_pretty(&evidence)
            .map_err(|e| Error::Corrupt(format!("evidence.json: {e}")))?;
        let plots = svg::result_plots(&evidence);
        let bundle = [
            ("evidence.json", json + "\n"),
            ("report.md", markdown::render(&evidence)),
            ("report.html", html::render(&evidence, &plots)),
        ];
        let out = files::write_bundle(&dir, EVIDENCE_DIR, &bundle)?;
        let mut counts = evidence.counts.clone();
        counts.retain(|_, n| *n > 0);
        Ok(EvidenceSummary {
            dir: out,
            run: evidence.run.id.clone(),
            status: evidence.run.status.clone(),
            tasks: evidence.tasks.len(),
            attempts: evidence.tasks.iter().map(|t| t.attempts.len()).sum(),
            files: evidence
                .tasks
                .iter()
                .map(|t| t.inputs.len() + t.outputs.len())
                .sum(),
            plots: plots.iter().map(|p| p.key.clone()).collect(),
            counts,
            written: bundle.iter().map(|(n, _)| n.to_string()).collect(),
        })
    }
}

/// RFC 3339 (UTC) of a time in ms since the epoch.
fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

fn secs(from: i64, to: i64) -> f64 {
    (to - from).max(0) as f64 / 1000.0
}

/// A command as one shell line.
fn command_line(c: &Command) -> String {
    match c {
        Command::Shell(s) => s.clone(),
        Command::Argv(v) => crate::transport::quote_all(v),
    }
}

fn collect(dir: &Path, snap: Snapshot) -> Evidence {
    let exported_ms = now_ms();
    let workspace = PathBuf::from(&snap.run.workspace);
    let host = files::host_info();
    let profiles = clusters::read_file(&dir.join(clusters::CLUSTERS_FILE)).unwrap_or_default();
    let attempt_n: HashMap<i64, u32> = snap.attempts.iter().map(|a| (a.id, a.n)).collect();
    let mut by_task: HashMap<&str, Vec<&AttemptRow>> = HashMap::new();
    for a in &snap.attempts {
        by_task.entry(a.task_id.as_str()).or_default().push(a);
    }
    let host_of = |operator: &str| -> Option<String> {
        match operator.split_once('@') {
            None if operator == "local" => Some(host.hostname.clone()),
            None => None,
            Some((_, cluster)) => Some(
                profiles
                    .get(cluster)
                    .map_or_else(|| cluster.to_string(), |p| p.host.clone()),
            ),
        }
    };
    let mut tasks = Vec::with_capacity(snap.tasks.len());
    let mut parsed = Vec::new();
    for t in &snap.tasks {
        let results: Option<Value> = t
            .results
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok());
        if let Some(Value::Object(r)) = &results {
            if let (Some(p), Some(v)) = (r.get("program"), r.get("version")) {
                if let (Some(p), Some(v)) = (p.as_str(), v.as_str()) {
                    parsed.push(ParsedVersion {
                        task: t.id.clone(),
                        program: p.to_string(),
                        version: v.to_string(),
                    });
                }
            }
        }
        let task_dir = dir.join("tasks").join(&t.id);
        let mut rows: Vec<&AttemptRow> = by_task.remove(t.id.as_str()).unwrap_or_default();
        rows.sort_by_key(|a| a.n);
        let lineage = super::restart::lineage(&rows);
        let attempts = rows
            .into_iter()
            .zip(lineage)
            .map(|(a, how)| attempt(a, &attempt_n, host_of(&a.operator), &task_dir, how))
            .collect();
        tasks.push(task(t, &workspace, &task_dir, attempts, results));
    }
    let mut counts: BTreeMap<String, u64> = TaskStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    for t in &snap.tasks {
        *counts.entry(t.status.as_str().to_string()).or_default() += 1;
    }
    let description = toml::from_str::<toml::Table>(&snap.spec_toml)
        .ok()
        .and_then(|t| {
            t.get("run")?
                .get("description")?
                .as_str()
                .map(str::to_string)
        });
    Evidence {
        schema: SCHEMA,
        run: RunInfo {
            id: snap.run.id,
            dir: dir.display().to_string(),
            workspace: snap.run.workspace,
            description,
            created_at: iso(snap.run.created_at),
            status: snap.run.status,
            paused: snap.paused,
            core_budget: snap.run.core_budget,
            exported_at: iso(exported_ms),
            matterstack_version: env!("CARGO_PKG_VERSION").to_string(),
            host,
            workspace_sha256: files::sha256_hex(snap.spec_toml.as_bytes()),
            workspace_toml: snap.spec_toml,
            exported_ms,
        },
        counts,
        software: Software {
            matterstack: env!("CARGO_PKG_VERSION").to_string(),
            programs: files::probe_programs(PROBED_PROGRAMS, PROBE_TIMEOUT),
            parsed,
        },
        tasks,
        events: snap
            .events
            .into_iter()
            .map(|e| EventEvidence {
                at: iso(e.at),
                task: e.task_id,
                message: e.message,
            })
            .collect(),
    }
}

fn attempt(
    a: &AttemptRow,
    numbers: &HashMap<i64, u32>,
    host: Option<String>,
    task_dir: &Path,
    lineage: String,
) -> AttemptEvidence {
    let logs_dir = task_dir.join(".attempts").join(a.n.to_string());
    AttemptEvidence {
        n: a.n,
        kind: a.kind.clone(),
        parent: a.parent.and_then(|p| numbers.get(&p).copied()),
        status: a.status.as_str().to_string(),
        operator: a.operator.clone(),
        host,
        external_id: a.external_id.clone(),
        token: a.token.clone(),
        queued_at: iso(a.created_at),
        started_at: a.started_at.map(iso),
        ended_at: a.ended_at.map(iso),
        wait_s: a.started_at.map(|s| secs(a.created_at, s)),
        run_s: match (a.started_at, a.ended_at) {
            (Some(s), Some(e)) => Some(secs(s, e)),
            _ => None,
        },
        exit_code: a.exit_code,
        reason: a.reason.clone(),
        resources: a
            .resources
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok()),
        lineage,
        logs: files::hash_tree(&logs_dir, &[]),
        ms: (a.created_at, a.started_at, a.ended_at),
    }
}

/// Names (first path component in the task directory) of the files copied
/// in before the task ran: workspace inputs, template files, upstream files.
fn input_names(spec: &TaskSpec, workspace: &Path) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = spec
        .inputs
        .iter()
        .filter_map(|i| spec::input_name(i).ok())
        .collect();
    for files in spec.files_from.values() {
        names.extend(files.iter().filter_map(|f| {
            Path::new(f)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        }));
    }
    if let Some(name) = &spec.template {
        if let Ok(t) = super::templates::find(name, Some(workspace)) {
            names.extend(t.manifest.files.iter().cloned());
        }
    }
    names
}

fn task(
    t: &EvidenceTask,
    workspace: &Path,
    task_dir: &Path,
    attempts: Vec<AttemptEvidence>,
    results: Option<Value>,
) -> TaskEvidence {
    let eff = t.effective();
    let inputs_named = input_names(eff, workspace);
    let (inputs, outputs) = files::hash_tree(task_dir, &[".attempts"])
        .into_iter()
        .partition::<Vec<_>, _>(|f| {
            let first = f.path.split('/').next().unwrap_or_default();
            inputs_named.contains(first)
        });
    let declared_outputs = eff.outputs.iter().chain(eff.output.iter());
    let missing_outputs = declared_outputs
        .filter(|o| !outputs.iter().any(|f: &FileEntry| f.path == **o))
        .cloned()
        .collect();
    TaskEvidence {
        id: t.id.clone(),
        status: t.status.as_str().to_string(),
        template: eff.template.clone(),
        params: eff.params.clone(),
        command: eff.command.as_ref().map(command_line),
        operator: eff.operator_key(),
        cluster: eff.cluster.clone(),
        resources: Resources {
            cores: eff.cores,
            memory: eff.memory.clone(),
            walltime: eff.walltime.clone(),
            partition: eff.partition.clone(),
            qos: eff.qos.clone(),
            account: eff.account.clone(),
            gres: eff.gres.clone(),
            constraint: eff.constraint.clone(),
        },
        depends_on: eff.depends_on.clone(),
        retries: eff.retries,
        retries_used: t.retries_used,
        allow_failure: eff.allow_failure,
        results,
        reason: t.reason.clone(),
        exit_code: t.exit_code,
        attempts,
        inputs,
        outputs,
        missing_outputs,
        spec: t.declared.clone(),
        effective_spec: t.resolved.clone().filter(|r| *r != t.declared),
    }
}

#[cfg(test)]
mod tests;
