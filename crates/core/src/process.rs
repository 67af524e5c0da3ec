//! Small helpers for the child processes matterstack starts (local task
//! wrappers, planners, version probes): signalling a whole process group,
//! and reading a pipe without letting it grow without bound.

use std::io::Read;

/// Sends `sig` to the process group `pid` leads (a child spawned with
/// `process_group(0)`): the program and every child it started.
pub(crate) fn signal_group(pid: i32, sig: i32) {
    if pid > 1 {
        // SAFETY: plain syscall; a negative pid addresses the process group
        // the child leads (it was spawned with its own group).
        unsafe {
            libc::kill(-pid, sig);
        }
    }
}

/// Waits for `child` on a thread of its own, so it never lingers as a
/// zombie in a long-lived process, then calls `exited` (to wake whoever
/// waits on it).
pub(crate) fn reap(mut child: std::process::Child, exited: impl FnOnce() + Send + 'static) {
    std::thread::spawn(move || {
        let _ = child.wait();
        exited();
    });
}

/// Reads a pipe to its end, keeping the first `cap` bytes (the rest is read
/// and dropped, so the writer never blocks); says whether it was longer.
pub(crate) fn read_capped(pipe: Option<impl Read>, cap: usize) -> (String, bool) {
    let mut kept = Vec::new();
    let mut longer = false;
    if let Some(mut p) = pipe {
        let mut buf = [0u8; 8192];
        while let Ok(n) = p.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = cap.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
            longer |= n > room;
        }
    }
    (String::from_utf8_lossy(&kept).into_owned(), longer)
}
