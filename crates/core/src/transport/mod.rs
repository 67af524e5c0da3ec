//! How commands and files reach a machine: locally, or over SSH through one
//! multiplexed master connection per cluster. Every value that crosses a
//! shell goes through [`quote`] (or [`quote_path`] for remote paths that may
//! start with `~/`, which quotes the rest with [`quote`]).
//!
//! Failures are classified: [`TransportError::Transient`] (connection reset,
//! refused, timed out — retried with exponential backoff and jitter, then
//! reported so the engine tries again next tick) or
//! [`TransportError::Permanent`] (authentication refused, host key, unknown
//! host — reported at once). The error text says which kind it was.

mod local;
pub mod log;
mod progress;
mod quote;
mod ssh;

use std::path::Path;
use std::time::Duration;

use matterstack_schedulers::politeness::{
    classify_ssh_failure, Backoff, FailureClass, SshFailureKind,
};

pub use local::LocalTransport;
pub use quote::{quote, quote_all};
pub use ssh::SshTransport;

/// What a remote command returned.
#[derive(Debug, Clone)]
pub struct CmdOutput {
    /// Exit status of the remote command.
    pub status: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl CmdOutput {
    /// True when the command exited 0.
    pub fn ok(&self) -> bool {
        self.status == 0
    }
}

/// A failure to reach the machine (not a failing remote command).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransportError {
    /// Worth retrying later: the connection dropped, was refused or timed out.
    #[error("transient failure reaching {host} ({label}): {detail}")]
    Transient {
        /// The destination.
        host: String,
        /// What we were doing.
        label: String,
        /// What ssh/rsync said.
        detail: String,
    },
    /// Will not get better by retrying: fix the profile or the remote side.
    #[error("permanent failure reaching {host} ({label}): {detail}")]
    Permanent {
        /// The destination.
        host: String,
        /// What we were doing.
        label: String,
        /// What ssh/rsync said, and the fix.
        detail: String,
    },
}

impl TransportError {
    /// True for [`TransportError::Transient`].
    pub fn is_transient(&self) -> bool {
        matches!(self, TransportError::Transient { .. })
    }
}

/// Runs commands and moves files on one machine.
pub trait Transport: Send + Sync {
    /// A short name for messages (`user@host:port` or `local`).
    fn describe(&self) -> String;

    /// Runs `script` with `sh -c` on the machine, feeding `stdin` if given.
    /// `label` names the command in logs ("squeue", "sbatch", "stage"…).
    ///
    /// A non-zero exit of the script is a normal [`CmdOutput`]; only a
    /// failure to reach the machine is an error, after retries for
    /// transient ones.
    fn exec(
        &self,
        label: &str,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CmdOutput, TransportError>;

    /// Copies the contents of local directory `from` into remote directory
    /// `to` (created if missing).
    fn upload_dir(&self, from: &Path, to: &str) -> Result<(), TransportError>;

    /// Copies remote `from` (a directory's contents, or the listed paths
    /// relative to it, keeping those relative paths; missing ones are
    /// skipped) into local directory `to`, in one transfer.
    fn download(&self, from: &str, files: &[String], to: &Path) -> Result<(), TransportError>;
}

/// The transport a cluster profile asks for.
pub fn for_profile(profile: &crate::model::cluster::ClusterProfile) -> Box<dyn Transport> {
    match profile.transport {
        crate::model::cluster::TransportKind::Ssh => Box::new(SshTransport::new(profile)),
        crate::model::cluster::TransportKind::Local => Box::new(LocalTransport),
    }
}

/// Quotes a remote path: a leading `~/` becomes `"$HOME"/`, the rest goes
/// through [`quote`].
pub fn quote_path(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some("") => "\"$HOME\"".to_string(),
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None => quote(path),
    }
}

/// Retry policy for transient failures: exponential backoff with full
/// jitter (the schedule is [`Backoff`]).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all (1 = no retry).
    pub tries: u32,
    /// The delay schedule.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            tries: 4,
            backoff: Backoff {
                base: Duration::from_millis(250),
                max: Duration::from_secs(4),
                factor: 2.0,
            },
        }
    }
}

impl RetryPolicy {
    /// Runs `f` until it succeeds, fails permanently, or tries run out,
    /// sleeping a jittered, growing delay between tries.
    pub fn run<T>(
        &self,
        mut f: impl FnMut() -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        let mut attempt = 0;
        loop {
            match f() {
                Err(e) if e.is_transient() && attempt + 1 < self.tries => {
                    let random01 =
                        (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0;
                    std::thread::sleep(self.backoff.delay(attempt, random01));
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// Classifies an ssh/rsync failure from its exit status and stderr, saying
/// which kind it was and what to fix.
pub fn classify(host: &str, label: &str, status: Option<i32>, stderr: &str) -> TransportError {
    let class = classify_ssh_failure(status, stderr);
    let mut detail = class.to_string();
    let (FailureClass::Transient(reason) | FailureClass::Permanent(reason)) = &class;
    let hint = match reason.kind {
        SshFailureKind::HostKeyVerification => Some(format!(
            "the host key of {host} is not in known_hosts or has changed: check it with the cluster's admins, then `ssh-keyscan -H {host} >> ~/.ssh/known_hosts`, or accept a new host's key on first use with `matterstack cluster add … --ssh-option StrictHostKeyChecking=accept-new`"
        )),
        SshFailureKind::AuthRefused => Some(format!(
            "{host} refused the key: check the profile's user and identity_file, and that `ssh {host}` works without a password"
        )),
        _ => None,
    };
    if let Some(h) = hint {
        detail.push_str("\nhint: ");
        detail.push_str(&h);
    }
    if class.is_transient() {
        TransportError::Transient {
            host: host.to_string(),
            label: label.to_string(),
            detail,
        }
    } else {
        TransportError::Permanent {
            host: host.to_string(),
            label: label.to_string(),
            detail,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_paths_expand_and_the_rest_stays_quoted() {
        assert_eq!(quote_path("~/ms/run 1"), "\"$HOME\"/'ms/run 1'");
        assert_eq!(quote_path("/scratch/$(x)"), "'/scratch/$(x)'");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf %s {}", quote_path("~/a b")))
            .env("HOME", "/home/u")
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"/home/u/a b");
    }

    #[test]
    fn classification_says_which_kind() {
        let e = classify(
            "h",
            "exec",
            Some(255),
            "root@h: Permission denied (publickey).",
        );
        assert!(!e.is_transient());
        assert!(e.to_string().contains("permanent"), "{e}");
        let refused = "ssh: connect to host h port 2222: Connection refused";
        let e = classify("h", "exec", Some(255), refused);
        assert!(e.is_transient());
        assert!(e.to_string().contains("transient"), "{e}");
        let hostkey = "Host key verification failed.";
        let e = classify("hpc", "exec", Some(255), hostkey).to_string();
        assert!(
            e.contains("ssh-keyscan -H hpc") && e.contains("StrictHostKeyChecking=accept-new"),
            "{e}"
        );
        let unknown = "ssh: Could not resolve hostname nope: Name or service not known";
        assert!(!classify("h", "x", Some(255), unknown).is_transient());
    }

    #[test]
    fn retries_only_transient_failures() {
        let policy = RetryPolicy {
            tries: 3,
            backoff: Backoff {
                base: Duration::from_millis(1),
                max: Duration::from_millis(2),
                factor: 2.0,
            },
        };
        let mut calls = 0;
        let r: Result<(), _> = policy.run(|| {
            calls += 1;
            Err(classify("h", "x", Some(255), "Connection reset by peer"))
        });
        assert!(r.is_err());
        assert_eq!(calls, 3);
        let mut calls = 0;
        let r: Result<(), _> = policy.run(|| {
            calls += 1;
            Err(classify(
                "h",
                "x",
                Some(255),
                "Permission denied (publickey).",
            ))
        });
        assert!(r.is_err());
        assert_eq!(calls, 1, "permanent failures fail at once");
    }
}
