//! The SLURM operator: each attempt is one batch job on a cluster, reached
//! through a [`Transport`] (SSH with one master connection, or local).
//!
//! Remote layout per attempt (roots from the cluster profile, `~` resolved):
//!
//! ```text
//! <project_root>/<run>/<task>/<n>/   job.sh, job_info.json, stdout, stderr,
//!                                    started, finished, exit (markers), work/ (scratch copy)
//! <scratch_root>/<run>/<task>/<n>/   where the job runs; inputs uploaded here
//! ```
//!
//! `<run>` is `<run-id>-<uid>`, the run's identity included
//! (`model::layout`), or the bare run id for a run made before identities.
//! A directory whose `job_info.json` carries another attempt's token is
//! never written into or removed (`ownership`).
//!
//! `job_info.json` is written at submission and updated on every status
//! change — by the job itself (RUNNING, COMPLETED/FAILED) and by matterstack
//! (CANCELLED, TIMEOUT…) — so `matterstack sync` can rebuild a lost store.
//! The job name carries the attempt token, so a job submitted by a `step`
//! that died before recording it is found by name, never submitted twice.
//! Status is one batched `squeue` per tick plus the jobs' own exit markers,
//! read in the same remote command; a marker wins over the scheduler.

mod array;
mod ownership;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use matterstack_schedulers::pbs::{
    decide as pbs_decide, parse_qsub, qstat_jobs, qstat_json_command, qstat_text_command, PbsFlavor,
};
use matterstack_schedulers::phase::combine;
use matterstack_schedulers::script::render_pbs_script;
use matterstack_schedulers::script::{directive_value, render_slurm_script, JobSpec};
use matterstack_schedulers::slurm::{
    array_element, classify_sbatch_error, is_invalid_job_id_error, parse_sbatch_parsable,
    parse_squeue_lenient, squeue_command, SqueueRow,
};
use matterstack_schedulers::{job_name, token_from_job_name, ExitMarker, FailureKind, Phase};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::link::{self, ClusterLink};
use super::{
    AttemptFiles, AttemptRef, Capacity, Launched, LogFile, Observation, Operator, RemoteRemoval,
};
use crate::model::cluster::ClusterProfile;
use crate::model::{resources, Command, TaskSpec};
use crate::store::now_ms;
use crate::transport::{quote, quote_all, quote_path, Transport, TransportError};
use crate::{Error, Result};

/// The record kept beside every job on the cluster. Field order matters:
/// the job script updates the first lines in place with `sed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    /// PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, …
    pub status: String,
    /// The SLURM job id, once known.
    pub scheduler_id: Option<String>,
    /// Start, ms since the epoch.
    pub started_at: Option<i64>,
    /// End, ms since the epoch.
    pub ended_at: Option<i64>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Schema tag.
    pub schema: String,
    /// Run id.
    pub run: String,
    /// Task id.
    pub task: String,
    /// Attempt number.
    pub attempt: u32,
    /// Idempotency token.
    pub token: String,
    /// Cluster profile name.
    pub cluster: String,
    /// SLURM job name (carries the token).
    pub job_name: String,
    /// Submission time, ms since the epoch.
    pub created_at: i64,
    /// Project directory (kept).
    pub project_dir: String,
    /// Scratch directory (where the job runs).
    pub scratch_dir: String,
    /// Resources asked for.
    pub resources: serde_json::Value,
    /// Input files uploaded.
    pub inputs: Vec<String>,
    /// Declared outputs.
    pub outputs: Vec<String>,
    /// The full task spec (for `sync`).
    pub spec: TaskSpec,
    /// The run's identity (`model::layout`); absent in records of runs made
    /// before identities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_uid: Option<String>,
}

/// The file (in a job's project directory, 0600) that carries its
/// `secret_env` values until the job script reads and deletes it.
const SECRETS_FILE: &str = "secrets";

/// Runs attempts as SLURM jobs on one cluster.
pub struct SlurmOperator {
    run_id: String,
    run_uid: Option<String>,
    /// The run's directory under the roots (`model::layout::remote_run_dir`).
    remote_run: String,
    cluster: String,
    profile: ClusterProfile,
    /// The process's link to the cluster (transport, limits, roots, queue
    /// listing), shared with every other run on it.
    transport: Arc<ClusterLink>,
    job_template: Option<matterstack_templates::Template>,
    /// The `ssh` operator: the same remote layout and job script, run
    /// directly (detached, in its own session) instead of through SLURM.
    direct: bool,
    /// The `pbs` operator: the same layout through qsub/qstat/qdel.
    pbs: Option<PbsFlavor>,
}

const SEP: &str = "@@MS-SECTION@@";

/// The file in an array element's job directory naming its array job and
/// index (`<array job name> <index>`), written before the array's sbatch.
const ARRAY_FILE: &str = "array";

/// One job ready to submit (see [`SlurmOperator::prepare`]).
struct Prepared {
    /// Project (job) directory.
    p: String,
    /// Scratch directory.
    s: String,
    /// Shell lines creating the directories and writing job.sh and job_info.json.
    write: String,
    /// The attempt's token (whose directories these are).
    token: String,
}

impl SlurmOperator {
    /// An operator for `cluster` in run `run_id`. Connects lazily.
    pub fn new(
        run_id: &str,
        cluster: &str,
        profile: ClusterProfile,
        job_template: Option<matterstack_templates::Template>,
    ) -> SlurmOperator {
        SlurmOperator {
            run_id: run_id.to_string(),
            run_uid: None,
            remote_run: run_id.to_string(),
            cluster: cluster.to_string(),
            transport: link::shared(cluster, &profile),
            profile,
            job_template,
            direct: false,
            pbs: None,
        }
    }

    /// The run's identity, which names its remote directories (none: a run
    /// made before identities keeps `<root>/<run-id>/`).
    pub fn with_run_uid(mut self, uid: Option<&str>) -> SlurmOperator {
        self.run_uid = uid.map(str::to_string);
        self.remote_run = crate::model::layout::remote_run_dir(&self.run_id, uid);
        self
    }

    /// Removes an attempt's project and scratch directories after a refused
    /// submission (best effort), unless they are another attempt's.
    fn remove_dirs(&self, p: &str, s: &str, token: &str) {
        let _ = self
            .transport
            .exec("cleanup", &ownership::remove(p, s, token), None);
    }

    /// The `pbs` operator: PBS Pro (or Torque) instead of SLURM.
    pub fn pbs(mut self, flavor: PbsFlavor) -> SlurmOperator {
        self.pbs = Some(flavor);
        self
    }

    /// Uses another transport (tests script one).
    pub fn with_transport(mut self, transport: Box<dyn Transport>) -> SlurmOperator {
        self.transport = Arc::new(ClusterLink::new(
            &self.cluster,
            transport,
            &self.profile.limits,
        ));
        self
    }

    /// The `ssh` operator: jobs run directly on the host, no scheduler.
    pub fn direct(mut self) -> SlurmOperator {
        self.direct = true;
        self
    }

    /// Runs a scheduler command through the rate limiter.
    fn scheduler(&self, label: &str, script: &str) -> Result<crate::transport::CmdOutput> {
        self.scheduler_with(label, script, None)
    }

    /// [`Self::scheduler`] with data for the script's stdin.
    fn scheduler_with(
        &self,
        label: &str,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<crate::transport::CmdOutput> {
        self.transport.take_token();
        Ok(self.transport.exec(label, script, stdin)?)
    }

    /// The project and scratch roots, `~` resolved on the cluster.
    fn roots(&self) -> Result<&(String, String)> {
        if let Some(r) = self.transport.roots.get() {
            return Ok(r);
        }
        let out = self.transport.exec(
            "resolve-roots",
            &format!(
                "printf '%s\\n%s\\n' {} {}",
                quote_path(&self.profile.project_root),
                quote_path(&self.profile.scratch_root)
            ),
            None,
        )?;
        let mut lines = out.stdout.lines();
        let (Some(p), Some(s)) = (lines.next(), lines.next()) else {
            return Err(Error::Scheduler(format!(
                "cluster \"{}\": could not resolve project_root/scratch_root: {}",
                self.cluster,
                out.stderr.trim()
            )));
        };
        Ok(self
            .transport
            .roots
            .get_or_init(|| (p.to_string(), s.to_string())))
    }

    /// Project and scratch directories of an attempt.
    pub fn dirs(&self, task_id: &str, n: u32) -> Result<(String, String)> {
        let (p, s) = self.roots()?;
        Ok((
            format!("{p}/{}/{task_id}/{n}", self.remote_run),
            format!("{s}/{}/{task_id}/{n}", self.remote_run),
        ))
    }

    fn job_info(
        &self,
        a: &AttemptRef<'_>,
        task: &TaskSpec,
        p: &str,
        s: &str,
        name: &str,
        inputs: Vec<String>,
    ) -> JobInfo {
        JobInfo {
            status: "PENDING".into(),
            scheduler_id: None,
            started_at: None,
            ended_at: None,
            exit_code: None,
            schema: "matterstack.job_info/1".into(),
            run: self.run_id.clone(),
            task: a.task_id.to_string(),
            attempt: a.n,
            token: a.token.to_string(),
            cluster: self.cluster.clone(),
            job_name: name.to_string(),
            created_at: now_ms(),
            project_dir: p.to_string(),
            scratch_dir: s.to_string(),
            resources: serde_json::json!({
                "cores": task.cores,
                "memory": task.memory,
                "walltime": task.walltime,
                "partition": task.partition.as_ref().or(self.profile.partition.as_ref()),
                "qos": task.qos.as_ref().or(self.profile.qos.as_ref()),
                "account": task.account.as_ref().or(self.profile.account.as_ref()),
                "gres": task.gres,
                "constraint": task.constraint,
            }),
            inputs,
            outputs: task.outputs.clone(),
            spec: task.clone(),
            run_uid: self.run_uid.clone(),
        }
    }

    /// A job spec holding only the resources `task` asks for (profile
    /// defaults filled in); two tasks with equal ones can share a job array.
    fn resources(&self, task: &TaskSpec) -> JobSpec {
        JobSpec {
            cores: task.cores,
            memory_mb: task
                .memory
                .as_deref()
                .and_then(|m| resources::parse_memory_mb(m).ok()),
            walltime_secs: task.walltime_secs(),
            partition: task.partition.clone().or(self.profile.partition.clone()),
            qos: task.qos.clone().or(self.profile.qos.clone()),
            account: task.account.clone().or(self.profile.account.clone()),
            gres: task.gres.clone(),
            constraint: task.constraint.clone(),
            // Chained behind live upstream jobs: an array of such points
            // must wait for the same jobs.
            dependency: (!task.after.is_empty()).then(|| {
                let ids: Vec<&str> = task.after.iter().map(|a| a.job_id.as_str()).collect();
                format!("afterok:{}", ids.join(":"))
            }),
            ..JobSpec::default()
        }
    }

    /// The job script for an attempt.
    fn script(
        &self,
        a: &AttemptRef<'_>,
        task: &TaskSpec,
        p: &str,
        s: &str,
        name: &str,
    ) -> Result<String> {
        let info = quote(&format!("{p}/job_info.json"));
        // An array element's id is <array job id>_<index> (what squeue and
        // scancel use), not its own SLURM_JOB_ID.
        let running = format!(
            "ms_sid=${{SLURM_ARRAY_JOB_ID:+${{SLURM_ARRAY_JOB_ID}}_$SLURM_ARRAY_TASK_ID}}; ms_sid=${{ms_sid:-$SLURM_JOB_ID}}\nsed -i -e 's/^  \"status\": .*/  \"status\": \"RUNNING\",/' -e \"s/^  \\\"scheduler_id\\\": .*/  \\\"scheduler_id\\\": \\\"$ms_sid\\\",/\" -e \"s/^  \\\"started_at\\\": .*/  \\\"started_at\\\": $(date +%s)000,/\" {info}"
        );
        let cmd = match &task.command {
            Some(Command::Shell(c)) => format!("sh -c {}", quote(c)),
            Some(Command::Argv(v)) => quote_all(v),
            None => {
                return Err(Error::Input(format!(
                    "task \"{}\" has no command",
                    a.task_id
                )))
            }
        };
        // Killed by the scheduler (scancel, walltime): SIGTERM reaches the
        // command and this shell; the trap runs once the command has ended,
        // keeps what it wrote (checkpoints) and leaves no exit marker, so
        // the scheduler's TIMEOUT/CANCELLED stands. The paths are quoted
        // once, in `ms_keep`; the trap's action is a constant.
        let command = format!(
            "ms_keep() {{ mkdir -p {work} && cp -a {scratch} {work}/; }}\ntrap 'ms_keep; exit 143' TERM\n{cmd}\nms_rc=$?\nms_keep\nif [ \"$ms_rc\" -eq 0 ]; then ms_st=COMPLETED; else ms_st=FAILED; fi\nsed -i -e \"s/^  \\\"status\\\": .*/  \\\"status\\\": \\\"$ms_st\\\",/\" -e \"s/^  \\\"ended_at\\\": .*/  \\\"ended_at\\\": $(date +%s)000,/\" -e \"s/^  \\\"exit_code\\\": .*/  \\\"exit_code\\\": $ms_rc,/\" {info}\n(exit \"$ms_rc\")",
            work = quote(&format!("{p}/work")),
            scratch = quote(&format!("{s}/.")),
        );
        let mut env: Vec<(String, String)> = task
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        env.push((
            crate::env_vars::MATTERSTACK_TASK_ID.into(),
            a.task_id.to_string(),
        ));
        env.push((crate::env_vars::MATTERSTACK_ATTEMPT.into(), a.n.to_string()));
        env.push((
            crate::env_vars::MATTERSTACK_TOKEN.into(),
            a.token.to_string(),
        ));
        let mut setup = Vec::new();
        if self.direct {
            // Run directly: an O_EXCL claim makes a second launch a no-op.
            setup.push(format!(
                "set -C; {{ echo \"$$ \"{} > {}; }} 2>/dev/null || exit 0; set +C",
                quote(a.token),
                quote(&format!("{p}/claim"))
            ));
        }
        setup.push(running);
        if !task.secret_env.is_empty() {
            // The secrets arrive as a 0600 file beside the script (written
            // from ssh's stdin at submission, see `launch`); read, then gone.
            setup.push(format!(
                "if [ -f {f} ]; then . {f}; rm -f {f}; fi",
                f = quote(&format!("{p}/{SECRETS_FILE}"))
            ));
        }
        // A job chained behind live upstream jobs (afterok) takes their
        // files from their project directories, where their job scripts
        // copied their scratch when they ended.
        for up in &task.after {
            let (up_p, _) = self.dirs(&up.task, up.attempt)?;
            for f in &up.files {
                setup.push(format!(
                    "cp -a {} . || {{ echo {} >&2; exit 1; }}",
                    quote(&format!("{up_p}/work/{f}")),
                    quote(&format!("matterstack: upstream {} left no {f}", up.task)),
                ));
            }
        }
        setup.extend(self.profile.setup.iter().cloned());
        let dependency = (!task.after.is_empty()).then(|| {
            let ids: Vec<&str> = task.after.iter().map(|a| a.job_id.as_str()).collect();
            format!("afterok:{}", ids.join(":"))
        });
        // Directive lines cannot be quoted: roots a directive cannot carry
        // (spaces, quotes, `$`…) are named relative to the directory the job
        // is submitted from (its project directory), and the job changes to
        // its scratch directory itself, with the path quoted once.
        let (workdir, stdout, stderr) = if self.job_template.is_none()
            && [p, s].iter().any(|d| directive_value("root", d).is_err())
        {
            setup.insert(0, format!("cd {} || exit 1", quote(s)));
            (".".to_string(), "stdout".to_string(), "stderr".to_string())
        } else {
            (s.to_string(), format!("{p}/stdout"), format!("{p}/stderr"))
        };
        let spec = JobSpec {
            job_name: name.to_string(),
            workdir,
            stdout,
            stderr,
            setup_lines: setup,
            env,
            command,
            marker_dir: p.to_string(),
            dependency,
            ..self.resources(task)
        };
        match &self.job_template {
            None if self.pbs.is_some() => {
                render_pbs_script(&spec, self.pbs.unwrap_or(PbsFlavor::Pro))
                    .map_err(|e| Error::Input(format!("task \"{}\": {e}", a.task_id)))
            }
            None => render_slurm_script(&spec)
                .map_err(|e| Error::Input(format!("task \"{}\": {e}", a.task_id))),
            Some(t) => self.render_site_script(t, task, &spec, a),
        }
    }

    /// Prepares one job: renders its script (named `name`), uploads and
    /// verifies its inputs, and returns the shell lines (for `set -e`) that
    /// create its directories and write `job.sh` and `job_info.json`.
    ///
    /// Fails when the script cannot be rendered (a user error) or the upload
    /// fails (transient or permanent, as the transport says).
    fn prepare(&self, a: &AttemptRef<'_>, task: &TaskSpec, name: &str) -> Result<Prepared> {
        let (p, s) = self.dirs(a.task_id, a.n)?;
        let script = self.script(a, task, &p, &s, name)?;
        let local = a.run_dir.join("tasks").join(a.task_id);
        let mut files = Vec::new();
        collect_files(&local, &local, &mut files)?;
        let inputs = self.stage_inputs(a, &s, files)?;
        let info = self.job_info(a, task, &p, &s, name, inputs);
        let json =
            serde_json::to_string_pretty(&info).map_err(|e| Error::Corrupt(e.to_string()))?;
        let eof = format!("MS_EOF_{}", a.token);
        let write = format!(
            "{guard}\nmkdir -p {pq} {sq}\ncat > {job} <<'{eof}'\n{script}\n{eof}\ncat > {info}.tmp <<'{eof}'\n{json}\n{eof}\nmv -f {info}.tmp {info}",
            pq = quote(&p),
            sq = quote(&s),
            job = quote(&format!("{p}/job.sh")),
            info = quote(&format!("{p}/job_info.json")),
            script = script.trim_end_matches('\n'),
            guard = ownership::guard(&p, a.token),
        );
        Ok(Prepared {
            p,
            s,
            write,
            token: a.token.to_string(),
        })
    }

    /// Renders the cluster's own job-script template. The task's command is
    /// handed over wrapped in the marker protocol (start marker, environment,
    /// setup, job_info updates, exit marker), so any template that runs
    /// `{{ command }}` keeps matterstack's guarantees.
    fn render_site_script(
        &self,
        t: &matterstack_templates::Template,
        task: &TaskSpec,
        spec: &JobSpec,
        a: &AttemptRef<'_>,
    ) -> Result<String> {
        let p = &spec.marker_dir;
        let mut body = vec![format!("cd {}", quote(&spec.workdir))];
        body.extend(
            spec.env
                .iter()
                .map(|(k, v)| format!("export {k}={}", quote(v))),
        );
        body.push(format!("date +%s > {}", quote(&format!("{p}/started"))));
        body.extend(spec.setup_lines.iter().cloned());
        body.push(spec.command.clone());
        body.push("ms_rc=$?".into());
        body.push(format!(
            "echo \"$ms_rc\" > {tmp} && mv -f {tmp} {exit}",
            tmp = quote(&format!("{p}/exit.tmp")),
            exit = quote(&format!("{p}/exit"))
        ));
        body.push("exit \"$ms_rc\"".into());
        let mut values = serde_json::Map::new();
        let mut offer = |k: &str, v: serde_json::Value| {
            if t.params().iter().any(|p| p.name == k) {
                values.insert(k.to_string(), v);
            }
        };
        offer("job_name", spec.job_name.clone().into());
        offer("command", body.join("\n").into());
        offer("output", spec.stdout.clone().into());
        offer("error", spec.stderr.clone().into());
        offer("cores", spec.cores.into());
        offer("comment", a.token.into());
        offer("exit_marker", format!("{p}/exit.json").into());
        if let Some(m) = &task.memory {
            offer("memory", m.clone().into());
        }
        if let Some(w) = spec.walltime_secs {
            offer("walltime", resources::format_walltime(w).into());
        }
        for (k, v) in [
            ("partition", &spec.partition),
            ("qos", &spec.qos),
            ("account", &spec.account),
            ("gres", &spec.gres),
            ("constraint", &spec.constraint),
        ] {
            if let Some(v) = v {
                offer(k, v.clone().into());
            }
        }
        let rendered = t.render(&values).map_err(|e| {
            Error::Input(format!(
                "cluster \"{}\": job_template {}: {e}",
                self.cluster,
                t.name()
            ))
        })?;
        rendered.files.into_values().next().ok_or_else(|| {
            Error::Input(format!(
                "cluster \"{}\": job_template {} renders no file",
                self.cluster,
                t.name()
            ))
        })
    }

    /// Uploads the local task directory's `files` (inputs) to scratch and
    /// verifies every file by size and SHA-256 on the cluster.
    fn stage_inputs(&self, a: &AttemptRef<'_>, s: &str, files: Vec<String>) -> Result<Vec<String>> {
        let local = a.run_dir.join("tasks").join(a.task_id);
        if files.is_empty() {
            return Ok(files);
        }
        self.transport.upload_dir(&local, s)?;
        let mut expected = Vec::new();
        for f in &files {
            let bytes =
                std::fs::read(local.join(f)).map_err(|e| Error::io("read", local.join(f), e))?;
            expected.push((f.clone(), bytes.len() as u64, hex(&Sha256::digest(&bytes))));
        }
        let check = format!(
            "cd {} && for f in {}; do printf '%s %s\\n' \"$(wc -c < \"$f\")\" \"$(sha256sum < \"$f\" | cut -d' ' -f1)\"; done",
            quote(s),
            quote_all(&files)
        );
        let out = self.transport.exec("verify", &check, None)?;
        let got: Vec<&str> = out.stdout.lines().collect();
        for (i, (f, size, sum)) in expected.iter().enumerate() {
            let want = format!("{size} {sum}");
            if got.get(i).map(|l| l.trim()) != Some(want.as_str()) {
                return Err(TransportError::Transient {
                    host: self.transport.describe(),
                    label: "verify".into(),
                    detail: format!("uploaded {f} does not match (size/sha256); will upload again"),
                }
                .into());
            }
        }
        Ok(files)
    }

    /// Fetches, in one transfer, the scheduler logs and markers of every
    /// finished attempt into its `.attempts/<n>/`, and its declared outputs
    /// (or the whole scratch copy) into its task directory.
    fn fetch_many(&self, finished: &[&AttemptRef<'_>]) -> Result<()> {
        let Some(first) = finished.first() else {
            return Ok(());
        };
        let run_root = format!("{}/{}", self.roots()?.0, self.remote_run);
        let mut files = Vec::new();
        for a in finished {
            let rel = format!("{}/{}", a.task_id, a.n);
            for f in [
                "stdout",
                "stderr",
                "job_info.json",
                "job.sh",
                "exit",
                "started",
                "finished",
            ] {
                files.push(format!("{rel}/{f}"));
            }
            if a.outputs.is_empty() {
                files.push(format!("{rel}/work/"));
            } else {
                files.extend(a.outputs.iter().map(|o| format!("{rel}/work/{o}")));
            }
        }
        let staging = first.run_dir.join(".fetch");
        let _ = std::fs::remove_dir_all(&staging);
        let result = self
            .transport
            .download(&run_root, &files, &staging)
            .map_err(Error::from)
            .and_then(|()| {
                // What a job left is not trusted: links (to a local directory or
                // file) and special files never leave the staging directory.
                let dropped = crate::files::drop_non_regular(&staging);
                for a in finished {
                    let got = staging.join(a.task_id).join(a.n.to_string());
                    let dest = AttemptFiles::new(a.run_dir, a.task_id, a.n);
                    let prefix = format!("{}/{}/", a.task_id, a.n);
                    let mine: Vec<&str> = dropped
                        .iter()
                        .filter_map(|d| d.strip_prefix(&prefix))
                        .collect();
                    if !mine.is_empty() {
                        std::fs::create_dir_all(&dest.dir)
                            .map_err(|e| Error::io("create", &dest.dir, e))?;
                        let note = dest.dir.join("dropped");
                        std::fs::write(&note, format!("{}\n", mine.join("\n")))
                            .map_err(|e| Error::io("write", &note, e))?;
                    }
                    crate::files::move_contents(&got.join("work"), &dest.task_dir)?;
                    let _ = std::fs::remove_dir_all(got.join("work"));
                    crate::files::move_contents(&got, &dest.dir)?;
                }
                Ok(())
            });
        let _ = std::fs::remove_dir_all(&staging);
        result
    }

    /// Fetches what the `finished` attempts left (see [`Self::fetch_many`]);
    /// returns the transient failure that makes them unobservable this tick.
    fn fetch_finished<'b, 'c: 'b>(
        &self,
        finished: impl Iterator<Item = &'b AttemptRef<'c>>,
    ) -> Option<String> {
        let finished: Vec<&AttemptRef<'_>> = finished.collect();
        match self.fetch_many(&finished) {
            Err(e) if e.is_transient() => Some(e.to_string()),
            _ => None,
        }
    }

    /// Records a status in `job_info.json` of several attempts at once.
    fn mark(&self, updates: &[(String, &str, Option<i32>)]) {
        if updates.is_empty() {
            return;
        }
        let script: Vec<String> = updates
            .iter()
            .map(|(p, status, code)| {
                format!(
                    "sed -i -e 's/^  \"status\": .*/  \"status\": \"{status}\",/' -e 's/^  \"ended_at\": null,/  \"ended_at\": {now},/' -e 's/^  \"exit_code\": null,/  \"exit_code\": {code},/' {f} 2>/dev/null",
                    now = now_ms(),
                    code = code.map_or("null".to_string(), |c| c.to_string()),
                    f = quote(&format!("{p}/job_info.json"))
                )
            })
            .collect();
        let _ = self.transport.exec("job-info", &script.join("\n"), None);
    }

    /// Reads every `job_info.json` under this cluster's project root (all
    /// runs), each with where it lies; a record that does not parse is
    /// returned as its parse error (for `sync` to report), not dropped.
    ///
    /// Fails when the cluster cannot be reached.
    pub fn discover(&self) -> Result<Vec<JobRecord>> {
        let (p, _) = self.roots()?;
        let out = self.transport.exec(
            "sync",
            &format!(
                "cd {} 2>/dev/null || exit 0; for f in */*/*/job_info.json; do [ -f \"$f\" ] && {{ printf '%s\\n' \"$f\"; cat \"$f\"; printf '\\n\\036\\n'; }}; done; true",
                quote(p)
            ),
            None,
        )?;
        Ok(out
            .stdout
            .split('\u{1e}')
            .filter_map(|chunk| {
                let chunk = chunk.trim_start_matches('\n');
                let (path, text) = chunk.split_once('\n')?;
                let path = path.strip_suffix("/job_info.json")?.to_string();
                let info = serde_json::from_str::<JobInfo>(text.trim()).map_err(|e| e.to_string());
                Some(JobRecord { path, info })
            })
            .collect())
    }
}

/// One `job_info.json` read back from a cluster.
#[derive(Debug, Clone)]
pub struct JobRecord {
    /// Its job directory, relative to the project root: `<run>/<task>/<n>`.
    pub path: String,
    /// The record, or why it does not parse.
    pub info: std::result::Result<JobInfo, String>,
}

/// The (array token, index) an array element's `array` file names.
fn array_line(line: &str) -> Option<(&str, u32)> {
    let (name, index) = line.trim().split_once(' ')?;
    Some((token_from_job_name(name)?, index.trim().parse().ok()?))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Relative paths of the regular files under `dir` (skipping `.attempts`
/// and anything that is not a regular file or directory).
fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries {
        let e = e.map_err(|err| Error::io("read", dir, err))?;
        let path = e.path();
        if path.file_name().is_some_and(|n| n == ".attempts") {
            continue;
        }
        // Links are not followed (a task directory holds what `init` and the
        // engine copied in, by the rule of `crate::files`).
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            collect_files(root, &path, out)?;
        } else if !ft.is_file() {
            continue;
        } else if let Ok(rel) = path.strip_prefix(root) {
            out.push(rel.display().to_string());
        }
    }
    out.sort();
    Ok(())
}

impl Operator for SlurmOperator {
    fn name(&self) -> &'static str {
        match (self.direct, self.pbs) {
            (true, _) => "ssh",
            (_, Some(_)) => "pbs",
            _ => "slurm",
        }
    }

    fn capacity(&self) -> Capacity {
        Capacity::Jobs(self.profile.limits.max_jobs)
    }

    fn enforces_walltime(&self) -> bool {
        !self.direct
    }

    fn launch(&self, a: &AttemptRef<'_>, task: &TaskSpec) -> Result<Launched> {
        let name = job_name(a.task_id, a.token).map_err(|e| Error::Input(e.to_string()))?;
        let secrets = super::secret_values(task)?;
        let Prepared { p, s, write, .. } = self.prepare(a, task, &name)?;
        // Secrets travel on ssh's stdin, never in a command line or script.
        let (secret_write, stdin) = if secrets.is_empty() {
            (String::new(), None)
        } else {
            let text: String = secrets
                .iter()
                .map(|(k, v)| format!("export {k}={}\n", quote(v)))
                .collect();
            (
                format!("cat > {}\n", quote(&format!("{p}/{SECRETS_FILE}"))),
                Some(text.into_bytes()),
            )
        };
        // Directories, job script, job_info.json and sbatch: one remote
        // command; everything it writes is the user's alone (umask 077).
        let submit = format!(
            "umask 077\nset -e\n{write}\n{secret_write}rm -f {array}\ncd {pq}\nset +e\n{start}",
            array = quote(&format!("{p}/{ARRAY_FILE}")),
            start = if self.direct {
                // Run where SLURM would (--chdir is only a comment to bash).
                format!(
                    "cd {sq} || exit 1\nsetsid /bin/bash {job} >{out} 2>{err} </dev/null &\necho \"$!\"",
                    sq = quote(&s),
                    job = quote(&format!("{p}/job.sh")),
                    out = quote(&format!("{p}/stdout")),
                    err = quote(&format!("{p}/stderr")),
                )
            } else if self.pbs.is_some() {
                "qsub job.sh".to_string()
            } else {
                "sbatch --parsable job.sh".to_string()
            },
            pq = quote(&p),
        );
        let label = match (self.direct, self.pbs) {
            (true, _) => "start",
            (_, Some(_)) => "qsub",
            _ => "sbatch",
        };
        let out = self.scheduler_with(label, &submit, stdin.as_deref())?;
        if let Some(why) = ownership::refused(&out) {
            return Err(Error::Scheduler(why));
        }
        if self.pbs.is_some() {
            if out.ok() {
                let id = parse_qsub(&out.stdout).map_err(|e| {
                    Error::Scheduler(format!("qsub answered something unexpected: {e}"))
                })?;
                return Ok(Launched {
                    external_id: id,
                    child: None,
                });
            }
            self.remove_dirs(&p, &s, a.token);
            return Err(Error::Scheduler(format!(
                "PBS refused task \"{}\" on cluster \"{}\": {}",
                a.task_id,
                self.cluster,
                out.stderr.trim()
            )));
        }
        if self.direct {
            let pid = out.stdout.trim();
            if out.ok() && !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()) {
                return Ok(Launched {
                    external_id: pid.to_string(),
                    child: None,
                });
            }
            self.remove_dirs(&p, &s, a.token);
            return Err(Error::Scheduler(format!(
                "could not start task \"{}\" on \"{}\": {}",
                a.task_id,
                self.cluster,
                out.stderr.trim()
            )));
        }
        if out.ok() {
            let job = parse_sbatch_parsable(&out.stdout).map_err(|e| {
                Error::Scheduler(format!("sbatch answered something unexpected: {e}"))
            })?;
            return Ok(Launched {
                external_id: job.job_id,
                child: None,
            });
        }
        let err = classify_sbatch_error(&out.stderr);
        if err.is_transient() {
            return Err(TransportError::Transient {
                host: self.transport.describe(),
                label: "sbatch".into(),
                detail: err.message,
            }
            .into());
        }
        // Refused: leave nothing half-submitted behind.
        self.remove_dirs(&p, &s, a.token);
        Err(Error::Scheduler(format!(
            "SLURM refused task \"{}\" on cluster \"{}\": {}",
            a.task_id,
            self.cluster,
            out.stderr.trim()
        )))
    }

    fn launch_many(&self, batch: &[(AttemptRef<'_>, &TaskSpec)]) -> Vec<Result<Launched>> {
        self.launch_grouped(batch)
    }

    fn poll(&self, attempts: &[AttemptRef<'_>]) -> Vec<Observation> {
        match self.poll_all(attempts) {
            Ok(obs) => obs,
            Err(e) => attempts
                .iter()
                .map(|_| Observation::Unknown {
                    reason: e.to_string(),
                })
                .collect(),
        }
    }

    fn read_remote(
        &self,
        a: &AttemptRef<'_>,
        file: &LogFile,
        offset: u64,
        max: u64,
    ) -> Result<Option<Vec<u8>>> {
        let (p, s) = self.dirs(a.task_id, a.n)?;
        let path = match file {
            LogFile::Stdout => format!("{p}/stdout"),
            LogFile::Stderr => format!("{p}/stderr"),
            LogFile::Work(name) => format!("{s}/{name}"),
        };
        let out = self.transport.exec(
            "read-log",
            &format!(
                "f={}; if [ -f \"$f\" ]; then tail -c +{} \"$f\" | head -c {max}; fi",
                quote(&path),
                offset + 1
            ),
            None,
        )?;
        if !out.ok() {
            return Err(Error::Scheduler(format!(
                "cluster \"{}\": reading {path} failed: {}",
                self.cluster,
                out.stderr.trim()
            )));
        }
        Ok(Some(out.stdout.into_bytes()))
    }

    fn fetch(&self, attempts: &[AttemptRef<'_>]) -> Result<()> {
        let refs: Vec<&AttemptRef<'_>> = attempts.iter().collect();
        self.fetch_many(&refs)
    }

    fn remove_remote(&self, attempts: &[AttemptRef<'_>], dry_run: bool) -> Result<RemoteRemoval> {
        let (proot, sroot) = self.roots()?.clone();
        let mut dirs = Vec::new();
        let mut parents = std::collections::BTreeSet::new();
        for a in attempts {
            let (p, s) = self.dirs(a.task_id, a.n)?;
            parents.insert(format!("{proot}/{}/{}", self.remote_run, a.task_id));
            parents.insert(format!("{sroot}/{}/{}", self.remote_run, a.task_id));
            dirs.push(ownership::AttemptDirs {
                p,
                s,
                token: a.token.to_string(),
            });
        }
        // Task directories first (deeper), then the run's own.
        let mut parents: Vec<String> = parents.into_iter().collect();
        parents.push(format!("{proot}/{}", self.remote_run));
        parents.push(format!("{sroot}/{}", self.remote_run));
        // A run with an identity owns its whole directory, job-array stage
        // included; one from before identities may share it, so only its
        // attempts' own directories go.
        let extra = if self.remote_run != self.run_id {
            vec![format!("{proot}/{}/.arrays", self.remote_run)]
        } else {
            Vec::new()
        };
        let out = self.transport.exec(
            "delete",
            &ownership::delete_script(&dirs, &extra, &parents, dry_run),
            None,
        )?;
        if out.status != 0 {
            return Err(Error::Scheduler(format!(
                "cluster \"{}\": removing the run's directories failed: {}",
                self.cluster,
                out.stderr.trim()
            )));
        }
        let mut r = RemoteRemoval::default();
        for line in out.stdout.lines() {
            if let Some(p) = line.strip_prefix("DEL ") {
                r.removed.push(p.to_string());
            } else if let Some(p) = line.strip_prefix("KEEP ") {
                r.kept.push(p.to_string());
            }
        }
        Ok(r)
    }

    fn cancel(&self, a: &AttemptRef<'_>) -> Result<()> {
        if self.direct {
            let (p, _) = self.dirs(a.task_id, a.n)?;
            let claim = quote(&format!("{p}/claim"));
            let script = format!(
                "read -r pid tok < {claim} 2>/dev/null || exit 0\n[ \"$tok\" = {} ] || exit 0\nkill -TERM -- -\"$pid\" 2>/dev/null\nfor i in 1 2 3 4 5 6; do kill -0 \"$pid\" 2>/dev/null || exit 0; sleep 0.5; done\nkill -KILL -- -\"$pid\" 2>/dev/null; true",
                quote(a.token)
            );
            self.transport.exec("kill", &script, None)?;
            self.mark(&[(p, "CANCELLED", None)]);
            return Ok(());
        }
        if self.pbs.is_some() {
            if let Some(id) = a.external_id {
                self.scheduler("qdel", &format!("qdel {}", quote(id)))?;
            }
            let (p, _) = self.dirs(a.task_id, a.n)?;
            self.mark(&[(p, "CANCELLED", None)]);
            return Ok(());
        }
        let (p, _) = self.dirs(a.task_id, a.n)?;
        let script = match a.external_id {
            Some(id) => format!("scancel {}", quote(id)),
            // No job id recorded: the job by its name, or the array element
            // by the array's name and the index recorded beside it.
            None => format!(
                "if read -r ms_n ms_i < {array} 2>/dev/null; then squeue --noheader --array --states=all --name=\"$ms_n\" --format=%i | grep -x \"[0-9]*_$ms_i\" | xargs -r scancel; else scancel --name={name}; fi",
                array = quote(&format!("{p}/{ARRAY_FILE}")),
                name = quote(&job_name(a.task_id, a.token).map_err(|e| Error::Input(e.to_string()))?)
            ),
        };
        self.scheduler("scancel", &script)?;
        self.mark(&[(p, "CANCELLED", None)]);
        Ok(())
    }
}

impl SlurmOperator {
    fn poll_all(&self, attempts: &[AttemptRef<'_>]) -> Result<Vec<Observation>> {
        let mut dirs = Vec::with_capacity(attempts.len());
        for a in attempts {
            dirs.push(self.dirs(a.task_id, a.n)?.0);
        }
        if self.direct {
            return self.poll_direct(attempts, &dirs);
        }
        if let Some(flavor) = self.pbs {
            return self.poll_pbs(attempts, &dirs, flavor);
        }
        let markers_script = format!(
            "for d in {}; do e=; s=; a=; [ -r \"$d/exit\" ] && read -r e < \"$d/exit\"; [ -r \"$d/started\" ] && read -r s < \"$d/started\"; [ -r \"$d/{ARRAY_FILE}\" ] && read -r a < \"$d/{ARRAY_FILE}\"; printf '%s|%s|%s\\n' \"$e\" \"$s\" \"$a\"; done",
            quote_all(&dirs)
        );
        let pass = link::current_pass();
        if pass != 0 {
            // Under a driver: one listing of all the user's jobs per pass,
            // shared by every run on this cluster. A job the shared listing
            // does not show and that left no exit marker may be newer than
            // the listing: then it is asked again, never taken as gone.
            let shared = self
                .transport
                .queue()
                .as_ref()
                .filter(|q| q.pass == pass)
                .map(|q| q.text.clone());
            if let Some(queue) = shared {
                let out = self.transport.exec("markers", &markers_script, None)?;
                if let Some(seen) = self.observe(attempts, &dirs, &queue, &out.stdout, true) {
                    return Ok(seen);
                }
            }
            let mut snapshot = self.transport.queue();
            // Tests and benchmarks count the listings per pass from this.
            crate::transport::log::record(
                &self.transport.describe(),
                &format!("squeue-pass {pass}"),
            );
            let (queue, markers) = self.query(&all_jobs_squeue(), &markers_script)?;
            *snapshot = Some(link::QueueSnapshot {
                pass,
                text: queue.clone(),
            });
            drop(snapshot);
            return Ok(self
                .observe(attempts, &dirs, &queue, &markers, false)
                .unwrap_or_default());
        }
        let ids: Vec<String> = attempts
            .iter()
            .filter_map(|a| a.external_id.map(str::to_string))
            .collect();
        let squeue = if attempts.iter().any(|a| a.external_id.is_none()) {
            // Some attempt was recorded but its job id never was (a step died
            // right after sbatch): list this user's jobs and match tokens.
            all_jobs_squeue()
        } else {
            quote_all(&squeue_command(&ids))
        };
        let (queue, markers) = self.query(&squeue, &markers_script)?;
        Ok(self
            .observe(attempts, &dirs, &queue, &markers, false)
            .unwrap_or_default())
    }

    /// Runs `squeue` and the marker reads in one remote command; returns the
    /// listing and the marker lines.
    ///
    /// Fails (transiently) when the scheduler did not answer.
    fn query(&self, squeue: &str, markers_script: &str) -> Result<(String, String)> {
        let script = format!("{squeue} 2>&1; echo \"{SEP} $?\"\n{markers_script}");
        self.transport.take_token();
        let out = self.transport.exec("squeue", &script, None)?;
        let (queue, rest) = out.stdout.split_once(SEP).unwrap_or((&out.stdout, ""));
        let (status, markers) = rest
            .trim_start()
            .split_once('\n')
            .unwrap_or((rest.trim(), ""));
        if status.trim() != "0" && !is_invalid_job_id_error(queue) {
            // The scheduler did not answer (controller down, restarting):
            // absence from its answer means nothing this time.
            return Err(Error::Transport(TransportError::Transient {
                host: self.transport.describe(),
                label: "squeue".into(),
                detail: format!("squeue failed ({}): {}", status.trim(), queue.trim()),
            }));
        }
        Ok((queue.to_string(), markers.to_string()))
    }

    /// What each attempt is doing, from a queue listing and its markers.
    /// With `shared` (a listing another run's poll took), `None` when an
    /// attempt is neither listed nor marked ended: the listing may predate
    /// it, so the caller asks again.
    fn observe(
        &self,
        attempts: &[AttemptRef<'_>],
        dirs: &[String],
        queue: &str,
        markers: &str,
        shared: bool,
    ) -> Option<Vec<Observation>> {
        let rows = parse_squeue_lenient(queue).rows;
        let by_id: HashMap<&str, &SqueueRow> =
            rows.iter().map(|r| (r.job_id.as_str(), r)).collect();
        let by_token: HashMap<&str, &SqueueRow> = rows
            .iter()
            .filter_map(|r| token_from_job_name(&r.name).map(|t| (t, r)))
            .collect();
        // Array elements by (the array's token, index).
        let by_element: HashMap<(&str, u32), &SqueueRow> = rows
            .iter()
            .filter_map(|r| {
                let (_, index) = array_element(&r.job_id)?;
                Some(((token_from_job_name(&r.name)?, index), r))
            })
            .collect();
        let marker_lines: Vec<&str> = markers.lines().collect();
        // First pass: what each job is doing.
        let mut seen = Vec::with_capacity(attempts.len());
        for (i, a) in attempts.iter().enumerate() {
            let mut fields = marker_lines.get(i).map_or("", |l| l).splitn(3, '|');
            let exit = fields.next().unwrap_or("");
            let started = fields.next().unwrap_or("");
            let element = fields.next().and_then(array_line);
            let marker_exit: Option<i32> = exit.trim().parse().ok();
            let started_at = started.trim().parse::<i64>().ok().map(|s| s * 1000);
            let row = match a.external_id {
                Some(id) => by_id.get(id).copied(),
                // Recorded but its job id never was: find the job (or the
                // array element) by token.
                None => by_token.get(a.token).copied().or_else(|| {
                    element.and_then(|(token, index)| by_element.get(&(token, index)).copied())
                }),
            };
            if shared && row.is_none() && marker_exit.is_none() {
                return None;
            }
            let external_id = row
                .map(|r| r.job_id.clone())
                .or(a.external_id.map(str::to_string));
            let phase = combine(marker_exit, row.map(SqueueRow::phase));
            seen.push((marker_exit, started_at, external_id, phase));
        }
        // One transfer for everything that finished this tick.
        let fetch_error = self.fetch_finished(
            attempts
                .iter()
                .zip(&seen)
                .filter(|(_, (_, _, _, p))| p.is_terminal())
                .map(|(a, _)| a),
        );
        let mut observations = Vec::with_capacity(attempts.len());
        let mut job_info_updates = Vec::new();
        for ((i, a), (marker_exit, started_at, external_id, phase)) in
            attempts.iter().enumerate().zip(seen)
        {
            if let (
                None,
                Phase::Failed {
                    kind, exit_code, ..
                },
            ) = (marker_exit, &phase)
            {
                // The job could not record its end itself: record it for it.
                job_info_updates.push((dirs[i].clone(), failure_label(*kind), *exit_code));
            }
            observations.push(observation(
                a,
                phase,
                started_at,
                external_id,
                fetch_error.as_deref(),
                "SLURM",
            ));
        }
        self.mark(&job_info_updates);
        Some(observations)
    }
}

/// `squeue` listing every job of the user (`--me`).
pub(crate) fn all_jobs_squeue() -> String {
    let mut argv = squeue_command(&[]);
    argv.pop();
    argv.push("--me".into());
    quote_all(&argv)
}

impl SlurmOperator {
    /// Polls PBS jobs: one `qstat -f` (JSON on PBS Pro, text on Torque) for
    /// every job plus every marker, in one remote command. The marker wins.
    fn poll_pbs(
        &self,
        attempts: &[AttemptRef<'_>],
        dirs: &[String],
        flavor: PbsFlavor,
    ) -> Result<Vec<Observation>> {
        let ids: Vec<String> = attempts
            .iter()
            .filter_map(|a| a.external_id.map(str::to_string))
            .collect();
        let qstat = match flavor {
            PbsFlavor::Pro => qstat_json_command(&ids),
            PbsFlavor::Torque => qstat_text_command(&ids),
        };
        // qstat's stdout, then its exit status and its own stderr (kept apart
        // from stdout, which may be JSON), then the markers.
        let script = format!(
            "{{ ms_qerr=$({} 2>&1 >&3); ms_qrc=$?; }} 3>&1\necho \"{SEP} $ms_qrc\"; printf '%s\\n' \"$ms_qerr\"; echo {SEP}\nfor d in {}; do e=; s=; [ -r \"$d/exit\" ] && read -r e < \"$d/exit\"; [ -r \"$d/started\" ] && read -r s < \"$d/started\"; printf '%s|%s\\n' \"$e\" \"$s\"; done",
            quote_all(&qstat),
            quote_all(dirs)
        );
        self.transport.take_token();
        let out = self.transport.exec("qstat", &script, None)?;
        let (queue, rest) = out.stdout.split_once(SEP).unwrap_or((&out.stdout, ""));
        let (head, markers) = rest.split_once(SEP).unwrap_or((rest, ""));
        let markers = markers.strip_prefix('\n').unwrap_or(markers);
        let (status, qstat_err) = head.trim_start().split_once('\n').unwrap_or((head, ""));
        // A qstat that did not answer says nothing about the jobs: transient,
        // never "every job vanished" (same rule as squeue).
        let jobs = qstat_jobs(
            flavor,
            status.trim().parse().unwrap_or(-1),
            queue,
            qstat_err,
        )
        .map_err(|detail| {
            Error::Transport(TransportError::Transient {
                host: self.transport.describe(),
                label: "qstat".into(),
                detail,
            })
        })?;
        let marker_lines: Vec<&str> = markers.lines().collect();
        let mut seen = Vec::new();
        for (i, a) in attempts.iter().enumerate() {
            let (exit, started) = marker_lines
                .get(i)
                .and_then(|l| l.split_once('|'))
                .unwrap_or(("", ""));
            let marker = exit.trim().parse::<i32>().ok().map(ExitMarker::new);
            let started_at = started.trim().parse::<i64>().ok().map(|s| s * 1000);
            let job = jobs.iter().find(|j| {
                a.external_id.is_some_and(|id| {
                    j.job_id == id || j.job_id.split('.').next() == id.split('.').next()
                }) || j.name.as_deref().and_then(token_from_job_name) == Some(a.token)
            });
            let phase = pbs_decide(marker, job, flavor);
            let external_id = job
                .map(|j| j.job_id.clone())
                .or(a.external_id.map(str::to_string));
            seen.push((phase, started_at, external_id));
        }
        let fetch_error = self.fetch_finished(
            attempts
                .iter()
                .zip(&seen)
                .filter(|(_, (p, ..))| p.is_terminal())
                .map(|(a, _)| a),
        );
        Ok(attempts
            .iter()
            .zip(seen)
            .map(|(a, (phase, started_at, external_id))| {
                observation(
                    a,
                    phase,
                    started_at,
                    external_id,
                    fetch_error.as_deref(),
                    "PBS",
                )
            })
            .collect())
    }

    /// Polls directly started jobs: exit and start markers, and whether the
    /// process that claimed each attempt is alive — one remote command.
    fn poll_direct(
        &self,
        attempts: &[AttemptRef<'_>],
        dirs: &[String],
    ) -> Result<Vec<Observation>> {
        let script = format!(
            "for d in {}; do e=; s=; pid=; tok=; up=0; [ -r \"$d/exit\" ] && read -r e < \"$d/exit\"; [ -r \"$d/started\" ] && read -r s < \"$d/started\"; [ -r \"$d/claim\" ] && read -r pid tok < \"$d/claim\"; [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null && up=1; printf '%s|%s|%s|%s|%s\\n' \"$e\" \"$s\" \"$pid\" \"$tok\" \"$up\"; done",
            quote_all(dirs)
        );
        let out = self.transport.exec("poll", &script, None)?;
        let lines: Vec<&str> = out.stdout.lines().collect();
        let mut seen = Vec::new();
        for (i, a) in attempts.iter().enumerate() {
            let f: Vec<&str> = lines.get(i).map_or(vec![], |l| l.split('|').collect());
            let field = |k: usize| f.get(k).map_or("", |v| v.trim());
            let exit: Option<i32> = field(0).parse().ok();
            let started_at = field(1).parse::<i64>().ok().map(|s| s * 1000);
            let claimed = !field(2).is_empty() && field(3) == a.token;
            let alive = field(4) == "1";
            seen.push((exit, started_at, claimed, alive));
        }
        let fetch_error = self.fetch_finished(
            attempts
                .iter()
                .zip(&seen)
                .filter(|(_, (exit, ..))| exit.is_some())
                .map(|(a, _)| a),
        );
        Ok(attempts
            .iter()
            .zip(seen)
            .map(|(a, (exit, started_at, claimed, alive))| match exit {
                Some(_) if fetch_error.is_some() => Observation::Unknown {
                    reason: fetch_error.clone().unwrap_or_default(),
                },
                Some(code) => Observation::Exited { code, started_at, ended_at: Some(now_ms()) },
                None if claimed && alive => Observation::Running {
                    external_id: a.external_id.map(str::to_string),
                    started_at,
                },
                None if claimed => Observation::Lost {
                    reason: "the process ended without writing an exit code (killed, or the host rebooted)".into(),
                },
                // Started but not yet claimed: give it a tick.
                None if a.external_id.is_some() && started_at.is_none() && !claimed => Observation::Running {
                    external_id: a.external_id.map(str::to_string),
                    started_at: None,
                },
                None => Observation::NotStarted,
            })
            .collect())
    }
}

/// What a scheduler-backed attempt's [`Phase`] means to the engine (after
/// its outputs were fetched, or not: `fetch_error`).
fn observation(
    a: &AttemptRef<'_>,
    phase: Phase,
    started_at: Option<i64>,
    external_id: Option<String>,
    fetch_error: Option<&str>,
    scheduler: &str,
) -> Observation {
    match phase {
        Phase::Queued { reason } => Observation::Queued {
            external_id,
            reason,
        },
        Phase::Running => Observation::Running {
            external_id,
            started_at,
        },
        Phase::Vanished if a.external_id.is_none() => Observation::NotStarted,
        Phase::Vanished => Observation::Lost {
            reason: format!(
                "job {} vanished from {scheduler} without writing an exit code",
                a.external_id.unwrap_or("?")
            ),
        },
        _ if fetch_error.is_some() => Observation::Unknown {
            reason: fetch_error.unwrap_or_default().to_string(),
        },
        Phase::Finished { .. } => Observation::Exited {
            code: 0,
            started_at,
            ended_at: Some(now_ms()),
        },
        Phase::Failed {
            kind: FailureKind::Failed,
            exit_code: Some(code),
            ..
        } => Observation::Exited {
            code,
            started_at,
            ended_at: Some(now_ms()),
        },
        Phase::Failed {
            kind,
            exit_code,
            reason,
        } => {
            let label = failure_label(kind);
            Observation::Ended {
                code: exit_code,
                reason: match reason {
                    Some(r) if r != label => format!("{label}: {r}"),
                    _ => format!(
                        "{label}: reported by {scheduler} for job {}",
                        external_id.unwrap_or_default()
                    ),
                },
                ended_at: Some(now_ms()),
            }
        }
    }
}

fn failure_label(kind: FailureKind) -> &'static str {
    match kind {
        FailureKind::Timeout => "TIMEOUT",
        FailureKind::OutOfMemory => "OUT_OF_MEMORY",
        FailureKind::NodeFail => "NODE_FAIL",
        FailureKind::Preempted => "PREEMPTED",
        FailureKind::BootFail => "BOOT_FAIL",
        FailureKind::Deadline => "DEADLINE",
        FailureKind::Cancelled => "CANCELLED",
        FailureKind::Failed => "FAILED",
    }
}

#[cfg(test)]
mod pbs_tests {
    //! The PBS mode has no server to talk to here (no PBS runs on this
    //! machine): a scripted transport answers with output hand-made from the
    //! PBS Pro documentation (`crates/schedulers/tests/data/`, see its README).

    use std::collections::VecDeque;
    use std::path::Path;
    use std::sync::Mutex;

    use super::*;
    use crate::transport::CmdOutput;

    const QSTAT: &str =
        include_str!("../../../schedulers/tests/data/pbspro_qstat_f_F_json_handmade.json");

    #[derive(Default)]
    struct Scripted {
        answers: Mutex<VecDeque<(String, String)>>,
        seen: Mutex<Vec<(String, String)>>,
    }

    impl Transport for Scripted {
        fn describe(&self) -> String {
            "pbs-login".into()
        }
        fn exec(
            &self,
            label: &str,
            script: &str,
            _stdin: Option<&[u8]>,
        ) -> Result<CmdOutput, TransportError> {
            self.seen
                .lock()
                .unwrap()
                .push((label.into(), script.into()));
            let mut answers = self.answers.lock().unwrap();
            let stdout = match answers.front() {
                Some((l, _)) if l == label => {
                    answers.pop_front().map(|(_, s)| s).unwrap_or_default()
                }
                _ => String::new(),
            };
            Ok(CmdOutput {
                status: 0,
                stdout,
                stderr: String::new(),
            })
        }
        fn upload_dir(&self, _: &Path, _: &str) -> Result<(), TransportError> {
            Ok(())
        }
        fn download(&self, _: &str, _: &[String], _: &Path) -> Result<(), TransportError> {
            Ok(())
        }
    }

    struct Shared(std::sync::Arc<Scripted>);
    impl Transport for Shared {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn exec(&self, l: &str, s: &str, i: Option<&[u8]>) -> Result<CmdOutput, TransportError> {
            self.0.exec(l, s, i)
        }
        fn upload_dir(&self, f: &Path, t: &str) -> Result<(), TransportError> {
            self.0.upload_dir(f, t)
        }
        fn download(&self, f: &str, x: &[String], t: &Path) -> Result<(), TransportError> {
            self.0.download(f, x, t)
        }
    }

    fn operator(answers: &[(&str, &str)]) -> (SlurmOperator, std::sync::Arc<Scripted>) {
        let profile: ClusterProfile = toml::from_str(
            "host = \"login\"\nscheduler = \"pbs\"\npartition = \"workq\"\nproject_root = \"/p\"\nscratch_root = \"/s\"\n",
        )
        .unwrap();
        let t = std::sync::Arc::new(Scripted::default());
        t.answers
            .lock()
            .unwrap()
            .extend(answers.iter().map(|(l, s)| (l.to_string(), s.to_string())));
        let op = SlurmOperator::new("run1", "pbs1", profile, None)
            .pbs(PbsFlavor::Pro)
            .with_transport(Box::new(Shared(t.clone())));
        (op, t)
    }

    fn task() -> TaskSpec {
        toml::from_str("id = \"opt\"\ncommand = \"crystalOMP < input.d12\"\ncores = 4\nmemory = \"4GB\"\nwalltime = \"02:00:00\"\noperator = \"pbs\"\ncluster = \"pbs1\"").unwrap()
    }

    #[test]
    fn submits_with_qsub_and_a_pbs_script() {
        let dir = tempfile::tempdir().unwrap();
        let (op, seen) = operator(&[("resolve-roots", "/p\n/s\n"), ("qsub", "4101.pbs01\n")]);
        let t = task();
        let a = AttemptRef {
            run_dir: dir.path(),
            task_id: "opt",
            n: 1,
            token: "a1b2",
            external_id: None,
            outputs: &[],
        };
        let launched = op.launch(&a, &t).unwrap();
        assert_eq!(launched.external_id, "4101.pbs01");
        let calls = seen.seen.lock().unwrap();
        let (_, submit) = calls.iter().find(|(l, _)| l == "qsub").unwrap();
        assert!(submit.contains("#PBS -N ms.opt.a1b2"), "{submit}");
        assert!(submit.contains("walltime=02:00:00"), "{submit}");
        assert!(submit.contains("qsub job.sh"), "{submit}");
        assert!(!submit.contains("#SBATCH"));
    }

    fn poll_one(external: Option<&str>, token: &str, markers: &str) -> Observation {
        let dir = tempfile::tempdir().unwrap();
        let answer = format!("{QSTAT}\n{SEP} 0\n\n{SEP}\n{markers}\n");
        let (op, _) = operator(&[("resolve-roots", "/p\n/s\n"), ("qstat", &answer)]);
        let a = AttemptRef {
            run_dir: dir.path(),
            task_id: "opt",
            n: 1,
            token,
            external_id: external,
            outputs: &[],
        };
        op.poll(std::slice::from_ref(&a)).remove(0)
    }

    #[test]
    fn maps_qstat_states_and_lets_the_marker_win() {
        assert!(matches!(
            poll_one(Some("4101.pbs01"), "a1b2", "|"),
            Observation::Running { .. }
        ));
        assert!(
            matches!(
                poll_one(Some("4102.pbs01"), "c3d4", "|"),
                Observation::Queued {
                    external_id: Some(_),
                    ..
                }
            ),
            "queued"
        );
        // Finished per qstat with Exit_status 0.
        assert!(matches!(
            poll_one(Some("4104.pbs01"), "g7h8", "|"),
            Observation::Exited { code: 0, .. }
        ));
        // Walltime exceeded (-29 on PBS Pro) is kept as the reason.
        match poll_one(Some("4105.pbs01"), "i9j0", "|") {
            Observation::Ended { reason, .. } => assert!(reason.starts_with("TIMEOUT"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // The job's own marker wins over qstat.
        assert!(matches!(
            poll_one(Some("4101.pbs01"), "a1b2", "3|1768035600"),
            Observation::Exited { code: 3, .. }
        ));
        // Found by the token in its name when the store never heard the job id.
        assert!(
            matches!(poll_one(None, "a1b2", "|"), Observation::Running { external_id: Some(ref id), .. } if id == "4101.pbs01")
        );
        // Unknown to qstat and no marker: never started.
        assert_eq!(poll_one(None, "zzzz", "|"), Observation::NotStarted);
    }

    #[test]
    fn f9_a_failed_qstat_leaves_every_job_unknown_not_vanished() {
        let dir = tempfile::tempdir().unwrap();
        let answer =
            format!("{SEP} 2\nqstat: cannot connect to server pbs01 (errno=111)\n{SEP}\n|\n");
        let (op, _) = operator(&[("resolve-roots", "/p\n/s\n"), ("qstat", &answer)]);
        let a = AttemptRef {
            run_dir: dir.path(),
            task_id: "opt",
            n: 1,
            token: "a1b2",
            external_id: Some("4101.pbs01"),
            outputs: &[],
        };
        match op.poll(std::slice::from_ref(&a)).remove(0) {
            Observation::Unknown { reason } => {
                assert!(reason.contains("cannot connect to server"), "{reason}")
            }
            other => panic!("a failed qstat must not decide anything: {other:?}"),
        }
    }
}
