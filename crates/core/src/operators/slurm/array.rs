//! Job arrays: the ready points of one sweep that ask for the same
//! resources go to SLURM as one `sbatch --array=0-(N-1)[%M]` job (split at
//! the profile's `limits.max_array_size`; `%M` is `limits.array_parallel`).
//!
//! Each element is an ordinary job prepared exactly like a single one
//! ([`SlurmOperator::prepare`]): its own project and scratch directories,
//! `job.sh` (token, markers, `job_info.json` updates), uploaded inputs. The
//! array adds, under `<project>/<run>/.arrays/<array token>/`, a link
//! `<i>` to element `i`'s project directory and `<i>.scratch` to its scratch
//! directory, and `array.sh`, whose element `i` runs `<i>/job.sh` in
//! `<i>.scratch` (SLURM writes its output through the link, into the
//! element's own `stdout`/`stderr`). Every element's directory records
//! `<array job name> <i>` in its `array` file before the sbatch, so a step
//! that dies after the sbatch finds the elements by the array's token and
//! index (`squeue --array` lists each element as `<job id>_<i>`) and never
//! submits them again. An element's external id is `<array job id>_<i>`.

use std::collections::BTreeMap;

use matterstack_schedulers::job_name;
use matterstack_schedulers::script::{array_range, render_slurm_array_script, ArraySpec};
use matterstack_schedulers::slurm::{classify_sbatch_error, parse_sbatch_parsable};

use super::{Prepared, SlurmOperator, ARRAY_FILE};
use crate::model::TaskSpec;
use crate::operators::{AttemptRef, Launched, Operator};
use crate::transport::{quote, Transport, TransportError};
use crate::{Error, Result};

/// What points must share to go in one array: their sweep, every
/// resource the array's header asks for, and the upstream jobs it waits for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Shape {
    sweep: String,
    cores: u32,
    memory_mb: Option<u64>,
    walltime_secs: Option<u64>,
    partition: Option<String>,
    qos: Option<String>,
    account: Option<String>,
    gres: Option<String>,
    constraint: Option<String>,
    dependency: Option<String>,
}

/// A copy of `e` for another attempt of the same failed batch.
fn replicate(e: &Error) -> Error {
    match e {
        Error::Transport(t) => Error::Transport(t.clone()),
        Error::Input(m) => Error::Input(m.clone()),
        other => Error::Scheduler(other.to_string()),
    }
}

impl SlurmOperator {
    /// True when this operator submits sweeps as arrays: SLURM with the
    /// built-in job script (PBS, `ssh` and site job templates submit one job
    /// per point).
    fn uses_arrays(&self) -> bool {
        !self.direct && self.pbs.is_none() && self.job_template.is_none()
    }

    fn shape(&self, task: &TaskSpec) -> Option<Shape> {
        if !task.secret_env.is_empty() {
            // Secrets travel with one submission each (see `launch`).
            return None;
        }
        let r = self.resources(task);
        Some(Shape {
            sweep: task.sweep_of.clone()?,
            cores: r.cores,
            memory_mb: r.memory_mb,
            walltime_secs: r.walltime_secs,
            partition: r.partition,
            qos: r.qos,
            account: r.account,
            gres: r.gres,
            constraint: r.constraint,
            dependency: r.dependency,
        })
    }

    /// Launches a batch: points of one sweep with one shape (two or more)
    /// as job arrays, everything else one job each. One result per attempt,
    /// in order.
    pub(super) fn launch_grouped(
        &self,
        batch: &[(AttemptRef<'_>, &TaskSpec)],
    ) -> Vec<Result<Launched>> {
        let mut results: Vec<Option<Result<Launched>>> = batch.iter().map(|_| None).collect();
        if self.uses_arrays() {
            let mut groups: BTreeMap<Shape, Vec<usize>> = BTreeMap::new();
            for (i, (_, t)) in batch.iter().enumerate() {
                if let Some(shape) = self.shape(t) {
                    groups.entry(shape).or_default().push(i);
                }
            }
            let max = self.profile.limits.max_array_size.max(1) as usize;
            for (shape, members) in groups.into_iter().filter(|(_, m)| m.len() > 1) {
                for chunk in members.chunks(max) {
                    let elements: Vec<&(AttemptRef<'_>, &TaskSpec)> =
                        chunk.iter().map(|&i| &batch[i]).collect();
                    let out = self.launch_array(&shape.sweep, &elements);
                    for (&i, r) in chunk.iter().zip(out) {
                        results[i] = Some(r);
                    }
                }
            }
        }
        results
            .into_iter()
            .zip(batch)
            .map(|(r, (a, t))| r.unwrap_or_else(|| self.launch(a, t)))
            .collect()
    }

    /// Submits `elements` (points of `sweep` with one shape) as one array.
    /// An element that cannot be prepared fails alone; a failure of the
    /// array's own submission is every element's (transient: they stay
    /// CREATED and are looked up by token next tick; refused: their
    /// directories are removed and they fail with SLURM's words).
    fn launch_array(
        &self,
        sweep: &str,
        elements: &[&(AttemptRef<'_>, &TaskSpec)],
    ) -> Vec<Result<Launched>> {
        let mut out: Vec<Option<Result<Launched>>> = elements.iter().map(|_| None).collect();
        let token = uuid::Uuid::new_v4().simple().to_string();
        let name = match job_name(sweep, &token) {
            Ok(n) => n,
            Err(e) => {
                return elements
                    .iter()
                    .map(|_| Err(Error::Input(e.to_string())))
                    .collect()
            }
        };
        let mut ready: Vec<(usize, Prepared)> = Vec::with_capacity(elements.len());
        for (k, (a, t)) in elements.iter().enumerate() {
            match self.prepare(a, t, &name) {
                Ok(p) => ready.push((k, p)),
                Err(e) => out[k] = Some(Err(e)),
            }
        }
        if let Some(&(first, _)) = ready.first() {
            let submitted = self.submit_array(sweep, &name, &token, elements[first].1, &ready);
            for (index, (k, _)) in ready.iter().enumerate() {
                out[*k] = Some(match &submitted {
                    Ok(job) => Ok(Launched {
                        external_id: format!("{job}_{index}"),
                        child: None,
                    }),
                    Err(e) => Err(replicate(e)),
                });
            }
        }
        out.into_iter()
            .map(|r| {
                r.unwrap_or_else(|| Err(Error::Scheduler("array element not launched".into())))
            })
            .collect()
    }

    /// Writes every prepared element and the array's directory in one
    /// remote command (fed on stdin: it can be large), then runs one
    /// `sbatch --array`. Returns the array's job id.
    fn submit_array(
        &self,
        sweep: &str,
        name: &str,
        token: &str,
        first: &TaskSpec,
        ready: &[(usize, Prepared)],
    ) -> Result<String> {
        let (project, _) = self.roots()?;
        let dir = format!("{project}/{}/.arrays/{token}", self.remote_run);
        let size = u32::try_from(ready.len()).unwrap_or(u32::MAX);
        let parallel = self.profile.limits.array_parallel;
        let spec = matterstack_schedulers::script::JobSpec {
            job_name: name.to_string(),
            ..self.resources(first)
        };
        let array = ArraySpec {
            size,
            parallel,
            dir: dir.clone(),
        };
        let script = render_slurm_array_script(&spec, &array)
            .map_err(|e| Error::Input(format!("sweep \"{sweep}\": {e}")))?;
        let range = array_range(size, parallel)
            .map_err(|e| Error::Input(format!("sweep \"{sweep}\": {e}")))?;
        let dq = quote(&dir);
        let mut stage = format!("set -e\nmkdir -p {dq}\n");
        for (index, (_, p)) in ready.iter().enumerate() {
            stage.push_str(&p.write);
            stage.push_str(&format!(
                "\nprintf '%s %s\\n' {name} {index} > {array}\nln -sfn {pq} {dq}/{index}\nln -sfn {sq} {dq}/{index}.scratch\n",
                name = quote(name),
                array = quote(&format!("{}/{ARRAY_FILE}", p.p)),
                pq = quote(&p.p),
                sq = quote(&p.s),
            ));
        }
        let eof = format!("MS_EOF_{token}");
        stage.push_str(&format!(
            "cat > {dq}/array.sh <<'{eof}'\n{}\n{eof}\n",
            script.trim_end_matches('\n')
        ));
        let staged = self
            .transport
            .exec("stage-array", "/bin/sh -s", Some(stage.as_bytes()))?;
        if !staged.ok() {
            self.remove(ready, &dir);
            if let Some(why) = super::ownership::refused(&staged) {
                return Err(Error::Scheduler(format!("sweep \"{sweep}\": {why}")));
            }
            return Err(Error::Scheduler(format!(
                "could not write the job files of sweep \"{sweep}\" on cluster \"{}\": {}",
                self.cluster,
                staged.stderr.trim()
            )));
        }
        let out = self.scheduler(
            &format!("sbatch --array={range}"),
            &format!("cd {dq} && sbatch --parsable array.sh"),
        )?;
        if out.ok() {
            return parse_sbatch_parsable(&out.stdout)
                .map(|job| job.job_id)
                .map_err(|e| {
                    Error::Scheduler(format!("sbatch answered something unexpected: {e}"))
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
        self.remove(ready, &dir);
        Err(Error::Scheduler(format!(
            "SLURM refused the job array of sweep \"{sweep}\" ({size} points) on cluster \"{}\": {}",
            self.cluster,
            out.stderr.trim()
        )))
    }

    /// Removes the array's directory and the elements' own (not one that
    /// belongs to another attempt).
    fn remove(&self, ready: &[(usize, Prepared)], dir: &str) {
        let mut script = vec![format!("rm -rf {}", quote(dir))];
        for (_, p) in ready {
            script.push(super::ownership::remove(&p.p, &p.s, &p.token));
        }
        let _ = self.transport.exec("cleanup", &script.join("\n"), None);
    }
}

#[cfg(test)]
mod tests;
