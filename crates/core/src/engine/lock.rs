use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::{Error, Result};

/// An exclusive lock on a run (`runs/<id>/lock`), held while a process acts
/// on it. Two `step`s on one run never both proceed: the second blocks until
/// the first releases the lock (GUIDE §4 invariant 6). The kernel releases
/// the lock when its holder dies, so a SIGKILLed `run` never wedges a run.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

impl RunLock {
    /// Blocks until the lock on the run in `run_dir` is ours.
    ///
    /// Fails if the lock file cannot be opened.
    pub fn acquire(run_dir: &Path) -> Result<RunLock> {
        let path = run_dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        file.lock().map_err(|e| Error::io("lock", &path, e))?;
        Ok(RunLock { _file: file })
    }

    /// Takes the lock, waiting at most `wait` for another holder to let it
    /// go; `None` when it is still held then (a request handler's or a
    /// driver's deadline: a tick may spend minutes on a slow cluster).
    ///
    /// Fails if the lock file cannot be opened.
    pub fn acquire_within(run_dir: &Path, wait: std::time::Duration) -> Result<Option<RunLock>> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            if let Some(lock) = RunLock::try_acquire(run_dir)? {
                return Ok(Some(lock));
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            std::thread::sleep(left.min(std::time::Duration::from_millis(20)));
        }
    }

    /// Takes the lock if it is free; `None` if another process holds it.
    pub fn try_acquire(run_dir: &Path) -> Result<Option<RunLock>> {
        let path = run_dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(RunLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock", &path, e)),
        }
    }
}
