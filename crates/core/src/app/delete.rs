//! `delete`: a run's live jobs cancelled, its remote directories removed
//! (only those that are its own), then the run directory and its line in
//! the user's index. A failure on the cluster leaves the local run in place,
//! so the delete can be tried again; a dry run changes nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::Run;
use crate::engine::RunLock;
use crate::operators::{AttemptRef, RemoteRemoval};
use crate::{Error, Result};

/// What to delete.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeleteOptions {
    /// Also remove the run's directories on its clusters.
    pub remote: bool,
    /// List what would go; change nothing.
    pub dry_run: bool,
}

/// What a delete removed (or, for a dry run, would remove).
#[derive(Debug, Clone, Serialize)]
pub struct DeleteReport {
    /// Run id.
    pub run: String,
    /// The local run directory.
    pub dir: PathBuf,
    /// True when nothing was changed.
    pub dry_run: bool,
    /// Tasks whose live attempts are (to be) cancelled.
    pub cancelled: Vec<String>,
    /// Per cluster operator (`slurm@hpc`): remote directories removed and
    /// kept (not this run's).
    pub remote: BTreeMap<String, RemoteRemoval>,
    /// Operators with remote directories that were left (no `--remote`).
    pub remote_left: Vec<String>,
}

impl Run {
    /// Deletes the run (see the module docs). Consumes the handle: after a
    /// real delete there is no run left to use.
    ///
    /// Fails with a user error if another process drives the run, or with
    /// the cluster's error if its directories cannot be removed (the local
    /// run is then kept).
    pub fn delete(mut self, opts: DeleteOptions) -> Result<DeleteReport> {
        let Some(lock) = RunLock::try_acquire(&self.dir)? else {
            return Err(Error::Input(format!(
                "{} is being driven by another matterstack process (`run` or `step`); stop it, then delete",
                self.dir.display()
            )));
        };
        let (run_id, rows) = self
            .store()
            .read(|tx| Ok((tx.run()?.id, tx.all_attempts()?)))?;
        let cancelled: Vec<String> = rows
            .iter()
            .filter(|a| a.status.is_active())
            .map(|a| a.task_id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let by_op = by_operator(&rows);
        let mut report = DeleteReport {
            run: run_id,
            dir: self.dir.clone(),
            dry_run: opts.dry_run,
            cancelled,
            remote: BTreeMap::new(),
            remote_left: Vec::new(),
        };
        if !opts.remote {
            report.remote_left = by_op.keys().map(|k| k.to_string()).collect();
        }
        if opts.dry_run {
            if opts.remote {
                for (key, attempts) in &by_op {
                    let r = self.remove_remote(key, attempts, true)?;
                    report.remote.insert(key.to_string(), r);
                }
            }
            return Ok(report);
        }
        drop(lock);
        if !report.cancelled.is_empty() {
            self.cancel(&[])?;
        }
        if opts.remote {
            for (key, attempts) in &by_op {
                let r = self.remove_remote(key, attempts, false)?;
                report.remote.insert(key.to_string(), r);
            }
        }
        let dir = self.dir.clone();
        drop(self);
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io("remove", &dir, e))?;
        super::runs::forget(&dir)?;
        Ok(report)
    }

    /// Removes (or lists) the remote directories of `attempts` of one
    /// remote operator.
    pub(super) fn remove_remote(
        &self,
        key: &str,
        attempts: &[&crate::store::AttemptRow],
        dry_run: bool,
    ) -> Result<RemoteRemoval> {
        let op = self.ops.get(key)?;
        let refs: Vec<AttemptRef<'_>> = attempts
            .iter()
            .map(|a| AttemptRef {
                run_dir: &self.dir,
                task_id: &a.task_id,
                n: a.n,
                token: &a.token,
                external_id: a.external_id.as_deref(),
                outputs: &[],
            })
            .collect();
        op.remove_remote(&refs, dry_run)
    }
}

/// A run's remote attempts, by operator key (`slurm@hpc`).
pub(super) fn by_operator(
    rows: &[crate::store::AttemptRow],
) -> BTreeMap<&str, Vec<&crate::store::AttemptRow>> {
    let mut by_op: BTreeMap<&str, Vec<&crate::store::AttemptRow>> = BTreeMap::new();
    for a in rows.iter().filter(|a| a.operator.contains('@')) {
        by_op.entry(a.operator.as_str()).or_default().push(a);
    }
    by_op
}
