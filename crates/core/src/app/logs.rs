//! An attempt's output for `logs`: read from the cluster while a remote job
//! runs (over the run's one SSH connection), from the local copy after it
//! ends (fetched once when it is not here yet, e.g. after a cancel), so a
//! finished job's logs are readable with the cluster unreachable.

use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use super::{control::known_task, Run};
use crate::operators::{AttemptFiles, AttemptRef, LogFile};
use crate::{Error, Result};

/// Which stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The log to show: an attempt's stream or one of its task's files.
#[derive(Debug, Clone)]
pub struct LogTarget {
    /// The task.
    pub task: String,
    /// The attempt number.
    pub attempt: u32,
    /// What is read.
    pub file: LogFile,
    /// The local copy (may not exist yet).
    pub path: PathBuf,
    /// The program's own output file (the parser's `output`), shown when
    /// standard output is empty.
    pub program_output: Option<String>,
    operator: String,
    token: String,
    external_id: Option<String>,
    outputs: Vec<String>,
}

/// Bytes read from a log, and whether the attempt is still live.
#[derive(Debug, Clone)]
pub struct LogChunk {
    /// The bytes from the offset asked for.
    pub bytes: Vec<u8>,
    /// True while the attempt runs (more may come).
    pub live: bool,
    /// True when more is already there (one read returns at most 4 MiB).
    pub more: bool,
}

/// At most this much is read per call (a follow reads the rest next time).
const CHUNK: u64 = 4 << 20;

impl Run {
    /// The log of the latest attempt of `task` (or of attempt `attempt`):
    /// its standard output or error, or `file` (a file in its task
    /// directory, e.g. a program's `output.dat`).
    ///
    /// Fails with a user error if the task is unknown, has not started yet,
    /// has no such attempt, or `file` is not a plain file name.
    pub fn log(
        &mut self,
        task: &str,
        stream: LogStream,
        file: Option<&str>,
        attempt: Option<u32>,
    ) -> Result<LogTarget> {
        if let Some(f) = file {
            matterstack_boundary::check_file_name(f).map_err(|e| {
                Error::Input(format!(
                    "--file {f:?}: {e}; name a file in the task's directory, e.g. --file output.dat"
                ))
            })?;
        }
        let dir = self.dir.clone();
        let (row, spec) = self.store().read(|tx| {
            let t = known_task(tx, task)?;
            let attempts = tx.attempts_of(task)?;
            let chosen = match attempt {
                Some(n) => attempts
                    .into_iter()
                    .find(|a| a.n == n)
                    .ok_or_else(|| Error::Input(format!("task \"{task}\" has no attempt {n}")))?,
                None => attempts.into_iter().last().ok_or_else(|| {
                    Error::Input(format!(
                        "task \"{task}\" has not started yet: no attempt, no logs"
                    ))
                })?,
            };
            Ok((chosen, t.spec))
        })?;
        let files = AttemptFiles::new(&dir, task, row.n);
        let file = match (file, stream) {
            (Some(f), _) => LogFile::Work(f.to_string()),
            (None, LogStream::Stdout) => LogFile::Stdout,
            (None, LogStream::Stderr) => LogFile::Stderr,
        };
        let path = match &file {
            LogFile::Stdout => files.stdout(),
            LogFile::Stderr => files.stderr(),
            LogFile::Work(f) => files.task_dir.join(f),
        };
        let mut outputs = spec.outputs.clone();
        if let (LogFile::Work(f), false) = (&file, outputs.is_empty()) {
            outputs.push(f.clone());
        }
        Ok(LogTarget {
            task: task.to_string(),
            attempt: row.n,
            file,
            path,
            program_output: spec.output.clone(),
            operator: row.operator,
            token: row.token,
            external_id: row.external_id,
            outputs,
        })
    }

    /// Reads `target` from byte `offset`: from the cluster while a remote
    /// attempt is live, else from the local copy (fetching it once when a
    /// remote attempt's is missing).
    ///
    /// Fails when the cluster cannot be read or the local file cannot.
    pub fn read_log(&mut self, target: &LogTarget, offset: u64) -> Result<LogChunk> {
        let live = self.attempt_live(&target.task, target.attempt)?;
        let remote = target.operator.contains('@');
        let run_dir = self.dir.clone();
        let aref = AttemptRef {
            run_dir: &run_dir,
            task_id: &target.task,
            n: target.attempt,
            token: &target.token,
            external_id: target.external_id.as_deref(),
            outputs: &target.outputs,
        };
        if remote && live {
            let op = self.ops.get(&target.operator)?;
            if let Some(bytes) = op.read_remote(&aref, &target.file, offset, CHUNK)? {
                let more = bytes.len() as u64 >= CHUNK;
                return Ok(LogChunk { bytes, live, more });
            }
        }
        if remote && !live && !target.path.exists() {
            // Ended without being fetched (cancelled): bring it back once.
            let op = self.ops.get(&target.operator)?;
            op.fetch(std::slice::from_ref(&aref))?;
        }
        let bytes = match std::fs::File::open(&target.path) {
            Ok(mut f) => {
                f.seek(SeekFrom::Start(offset))
                    .map_err(|e| Error::io("read", &target.path, e))?;
                let mut buf = Vec::new();
                f.take(CHUNK)
                    .read_to_end(&mut buf)
                    .map_err(|e| Error::io("read", &target.path, e))?;
                buf
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io("read", &target.path, e)),
        };
        let more = bytes.len() as u64 >= CHUNK;
        Ok(LogChunk { bytes, live, more })
    }

    /// What `logs` shows by default: `target`, or — when it is an ended
    /// attempt's empty standard output and the task has a parser output
    /// file (psi4 writes `output.dat`, not stdout) — that file instead.
    ///
    /// Fails like [`Run::read_log`].
    pub fn log_or_program_output(&mut self, target: LogTarget) -> Result<LogTarget> {
        let Some(f) = target.program_output.clone() else {
            return Ok(target);
        };
        if target.file != LogFile::Stdout {
            return Ok(target);
        }
        let first = self.read_log(&target, 0)?;
        if first.live || !first.bytes.is_empty() {
            return Ok(target);
        }
        self.log(
            &target.task,
            LogStream::Stdout,
            Some(&f),
            Some(target.attempt),
        )
    }

    /// True while attempt `n` of `task` is live.
    pub fn attempt_live(&mut self, task: &str, n: u32) -> Result<bool> {
        self.store().read(|tx| {
            Ok(tx
                .attempts_of(task)?
                .into_iter()
                .any(|a| a.n == n && a.status.is_active()))
        })
    }
}
