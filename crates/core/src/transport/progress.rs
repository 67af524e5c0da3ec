//! Transfer progress: rsync's `--info=progress2` totals, read as they come
//! and handed to the installed [`crate::report::Reporter`] (the faces draw).

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};

use crate::report::{reporter, Reporter, TransferProgress};

/// The reporter transfers report to; `None`: do not ask rsync for progress.
pub fn wanted() -> Option<&'static dyn Reporter> {
    reporter()
}

/// The last progress record in rsync's output so far (records end with
/// `\\r` or `\\n`): `"  1,234,567  42%  10.5MB/s  0:00:03 (xfr#3, to-chk=0/7)"`.
pub fn last_record(buf: &str) -> Option<&str> {
    buf.split(['\r', '\n'])
        .map(str::trim)
        .rfind(|l| l.contains('%'))
}

/// Runs `cmd` (an rsync with `--info=progress2`), reporting its progress
/// under `label`; returns its status and standard error.
///
/// Fails only when the process cannot be started or waited for.
pub fn run(
    cmd: &mut Command,
    label: &str,
    to: &dyn Reporter,
) -> std::io::Result<(ExitStatus, String)> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let mut err = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let mut out = child.stdout.take();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    let mut last = None;
    if let Some(o) = out.as_mut() {
        while let Ok(n) = o.read(&mut buf) {
            if n == 0 {
                break;
            }
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            if let Some(p) = last_record(&seen).and_then(TransferProgress::parse) {
                if last.as_ref() != Some(&p) {
                    to.transfer(label, &p);
                    last = Some(p);
                }
            }
            // Keep only the tail: records are short.
            if seen.len() > 8192 {
                let from = (seen.len() - 1024..seen.len())
                    .find(|i| seen.is_char_boundary(*i))
                    .unwrap_or(0);
                seen = seen[from..].to_string();
            }
        }
    }
    let status = child.wait()?;
    to.transfer_done(label);
    Ok((status, err_reader.join().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_latest_progress_record() {
        let out = "sending incremental file list\r      1,024  10%  1.00MB/s    0:00:01\r     10,240 100%    9.77MB/s    0:00:00 (xfr#2, to-chk=0/3)\n";
        assert_eq!(
            last_record(out),
            Some("10,240 100%    9.77MB/s    0:00:00 (xfr#2, to-chk=0/3)")
        );
        assert_eq!(last_record("sending incremental file list\n"), None);
    }
}
