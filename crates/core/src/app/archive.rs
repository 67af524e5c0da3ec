//! `archive`: a finished run as one tarball that can be checked years
//! later — its evidence exported first, a `SHA256SUMS` of every file inside,
//! the tarball's own SHA-256 beside it — and, on request, the run's remote
//! directories removed once the tarball is safely written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Run;
use crate::engine::RunLock;
use crate::operators::RemoteRemoval;
use crate::{Error, Result};

/// The checksum file written into the run directory before it is packed.
pub const SUMS_FILE: &str = "SHA256SUMS";

/// What to archive and where.
#[derive(Debug, Clone, Default)]
pub struct ArchiveOptions {
    /// The tarball (default: `<run>.tar.gz` beside the run directory).
    pub output: Option<PathBuf>,
    /// Remove the run's directories on its clusters once it is written.
    pub remove_remote: bool,
}

/// What `archive` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    /// The tarball.
    pub file: PathBuf,
    /// Its SHA-256 (also in `<file>.sha256`).
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Files inside (each listed in `SHA256SUMS`).
    pub files: usize,
    /// Remote directories removed, per operator.
    pub remote: BTreeMap<String, RemoteRemoval>,
}

impl Run {
    /// Archives the run (see the module docs).
    ///
    /// Fails with a user error while the run has live attempts or another
    /// process drives it, or when the output exists; nothing is left
    /// half-written (the tarball is written under a temporary name and
    /// renamed), and remote directories are removed only after it is.
    pub fn archive(&mut self, opts: &ArchiveOptions) -> Result<ArchiveReport> {
        let Some(_lock) = RunLock::try_acquire(&self.dir)? else {
            return Err(Error::Input(format!(
                "{} is being driven by another matterstack process (`run` or `step`); archive it once that has stopped",
                self.dir.display()
            )));
        };
        let rows = self.store().read(|tx| tx.all_attempts())?;
        let live: Vec<&str> = rows
            .iter()
            .filter(|a| a.status.is_active())
            .map(|a| a.task_id.as_str())
            .collect();
        if !live.is_empty() {
            return Err(Error::Input(format!(
                "tasks {} still run; wait for them or cancel them (`matterstack cancel {}`), then archive",
                live.join(", "),
                self.dir.display()
            )));
        }
        let name = self
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        let parent = self.dir.parent().unwrap_or(Path::new("/")).to_path_buf();
        let file = opts
            .output
            .clone()
            .unwrap_or_else(|| parent.join(format!("{name}.tar.gz")));
        if file.exists() {
            return Err(Error::Input(format!(
                "{} exists; give another -o FILE or remove it",
                file.display()
            )));
        }
        self.export_evidence()?;
        // Every file, checksummed, then packed with the list inside.
        let entries = super::evidence::hash_tree(&self.dir, &[SUMS_FILE]);
        let sums: String = entries
            .iter()
            .map(|e| format!("{}  {}\n", e.sha256, e.path))
            .collect();
        crate::atomic::write(&self.dir.join(SUMS_FILE), &sums)?;
        let tmp = crate::atomic::temp_path(&file);
        let out = std::process::Command::new("tar")
            .arg("-czf")
            .arg(&tmp)
            .arg("-C")
            .arg(&parent)
            .arg("--")
            .arg(&name)
            .output()
            .map_err(|e| Error::io("run tar for", &file, e))?;
        if !out.status.success() {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Scheduler(format!(
                "tar could not write {}: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        std::fs::rename(&tmp, &file).map_err(|e| Error::io("rename into", &file, e))?;
        let (bytes, sha256) =
            super::evidence::sha256_file(&file).map_err(|e| Error::io("read", &file, e))?;
        let stem = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        crate::atomic::write(
            &file.with_file_name(format!("{stem}.sha256")),
            &format!("{sha256}  {stem}\n"),
        )?;
        let mut remote = BTreeMap::new();
        if opts.remove_remote {
            for (key, attempts) in super::delete::by_operator(&rows) {
                remote.insert(key.to_string(), self.remove_remote(key, &attempts, false)?);
            }
        }
        Ok(ArchiveReport {
            file,
            sha256,
            bytes,
            files: entries.len() + 1,
            remote,
        })
    }
}
