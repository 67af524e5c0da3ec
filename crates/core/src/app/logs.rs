//! Where an attempt's output is, for `logs`.

use std::path::PathBuf;

use super::{control::known_task, Run};
use crate::operators::AttemptFiles;
use crate::{Error, Result};

/// Which stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The file to show and whether it may still grow.
#[derive(Debug, Clone)]
pub struct LogTarget {
    /// The log file (may not exist yet).
    pub path: PathBuf,
    /// The attempt number.
    pub attempt: u32,
    /// True while the attempt is live.
    pub live: bool,
}

impl Run {
    /// The log of the latest attempt of `task` (or of attempt `attempt`).
    ///
    /// Fails with a user error if the task is unknown, has not started yet,
    /// or has no such attempt.
    pub fn log(
        &mut self,
        task: &str,
        stream: LogStream,
        attempt: Option<u32>,
    ) -> Result<LogTarget> {
        let dir = self.dir.clone();
        let row = self.store().read(|tx| {
            known_task(tx, task)?;
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
            Ok(chosen)
        })?;
        let files = AttemptFiles::new(&dir, task, row.n);
        Ok(LogTarget {
            path: match stream {
                LogStream::Stdout => files.stdout(),
                LogStream::Stderr => files.stderr(),
            },
            attempt: row.n,
            live: row.status.is_active(),
        })
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
