//! Classify a failed SSH command as transient (retry with backoff) or permanent (tell the
//! user) from its exit status and stderr.

use serde::{Deserialize, Serialize};

/// What went wrong, specifically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SshFailureKind {
    /// `Connection reset` (transient).
    ConnectionReset,
    /// `Connection refused`: sshd down or restarting (transient).
    ConnectionRefused,
    /// `Connection timed out` / `Operation timed out` (transient).
    TimedOut,
    /// `No route to host` / `Network is unreachable` (transient).
    NoRoute,
    /// `Broken pipe` (transient).
    BrokenPipe,
    /// `kex_exchange_identification` / `ssh_exchange_identification`: the server dropped the
    /// connection during the handshake, often MaxStartups (transient).
    KeyExchange,
    /// `Connection closed by …` (transient).
    ConnectionClosed,
    /// The ControlMaster socket is missing or the master failed (transient: reconnect).
    Multiplexer,
    /// `Could not resolve hostname …: Temporary failure in name resolution` (transient).
    DnsTemporary,
    /// ssh was killed or timed out locally (no exit status) (transient).
    KilledOrTimedOut,
    /// ssh exited 255 with text this classifier does not know (transient, bounded by the
    /// retry policy).
    UnknownSshError,
    /// `Permission denied (publickey…)`: authentication refused (permanent).
    AuthRefused,
    /// `Host key verification failed` / host identification changed (permanent).
    HostKeyVerification,
    /// `Could not resolve hostname` (permanent: fix the host or ssh config).
    UnknownHost,
    /// `No such file or directory` from the remote command (permanent).
    NoSuchFile,
    /// `Permission denied` on a file from the remote command (permanent).
    PermissionDenied,
    /// `command not found` on the remote side, e.g. no `sbatch` in PATH (permanent).
    CommandNotFound,
    /// The remote command failed with another exit status (permanent for the transport; the
    /// caller may know better).
    RemoteCommandFailed,
}

impl SshFailureKind {
    /// A short description for messages.
    pub fn describe(self) -> &'static str {
        use SshFailureKind::*;
        match self {
            ConnectionReset => "connection reset",
            ConnectionRefused => "connection refused (sshd down or restarting)",
            TimedOut => "connection timed out",
            NoRoute => "no route to host",
            BrokenPipe => "broken pipe",
            KeyExchange => "server closed the connection during key exchange",
            ConnectionClosed => "connection closed by the server",
            Multiplexer => "SSH control master unavailable",
            DnsTemporary => "temporary DNS failure",
            KilledOrTimedOut => "ssh killed or timed out",
            UnknownSshError => "ssh error (exit 255)",
            AuthRefused => "authentication refused",
            HostKeyVerification => "host key verification failed",
            UnknownHost => "host name does not resolve",
            NoSuchFile => "no such file or directory on the remote side",
            PermissionDenied => "permission denied on the remote side",
            CommandNotFound => "command not found on the remote side",
            RemoteCommandFailed => "remote command failed",
        }
    }
}

/// The kind plus the stderr line that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReason {
    /// What went wrong.
    pub kind: SshFailureKind,
    /// The deciding stderr line (trimmed), or a summary of the exit status.
    pub detail: String,
}

/// Retry or give up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum FailureClass {
    /// Retry later with backoff.
    #[error("transient SSH failure ({}): {}", .0.kind.describe(), .0.detail)]
    Transient(FailureReason),
    /// Retrying will not help; the message says what to fix.
    #[error("permanent SSH failure ({}): {}", .0.kind.describe(), .0.detail)]
    Permanent(FailureReason),
}

impl FailureClass {
    /// True for [`FailureClass::Transient`].
    pub fn is_transient(&self) -> bool {
        matches!(self, FailureClass::Transient(_))
    }

    /// The reason, whichever class.
    pub fn reason(&self) -> &FailureReason {
        match self {
            FailureClass::Transient(r) | FailureClass::Permanent(r) => r,
        }
    }
}

use SshFailureKind as K;

/// Patterns that only ssh itself prints (exit 255).
const TRANSPORT: &[(&str, SshFailureKind, bool)] = &[
    // (needle, kind, transient)
    ("control socket connect", K::Multiplexer, true),
    ("mux_client_", K::Multiplexer, true),
    ("master failed", K::Multiplexer, true),
    (
        "host key verification failed",
        K::HostKeyVerification,
        false,
    ),
    (
        "remote host identification has changed",
        K::HostKeyVerification,
        false,
    ),
    ("permission denied (", K::AuthRefused, false),
    ("too many authentication failures", K::AuthRefused, false),
    (
        "temporary failure in name resolution",
        K::DnsTemporary,
        true,
    ),
    ("could not resolve hostname", K::UnknownHost, false),
    ("connection reset", K::ConnectionReset, true),
    ("connection refused", K::ConnectionRefused, true),
    ("connection timed out", K::TimedOut, true),
    ("operation timed out", K::TimedOut, true),
    ("no route to host", K::NoRoute, true),
    ("network is unreachable", K::NoRoute, true),
    ("broken pipe", K::BrokenPipe, true),
    ("kex_exchange_identification", K::KeyExchange, true),
    ("ssh_exchange_identification", K::KeyExchange, true),
    ("connection closed by", K::ConnectionClosed, true),
    ("closed by remote host", K::ConnectionClosed, true),
];

/// Patterns a remote command prints.
const REMOTE: &[(&str, SshFailureKind)] = &[
    ("no such file or directory", K::NoSuchFile),
    ("permission denied", K::PermissionDenied),
    ("command not found", K::CommandNotFound),
];

fn find(stderr: &str, needle: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| l.to_ascii_lowercase().contains(needle))
        .map(|l| l.trim().to_string())
}

/// Classify a failed SSH invocation.
///
/// * `exit_code` 255 (ssh's own errors) or `None` (killed, timed out, unknown): the
///   transport patterns are checked first, in this order: multiplexer failures
///   (`Control socket connect(…): No such file or directory`,
///   `mux_client_request_session: read from master failed`) → transient; `Host key
///   verification failed`, `Permission denied (publickey…)`, `Could not resolve hostname`
///   → permanent (a temporary resolver failure is transient); `Connection reset|refused|timed
///   out`, `Operation timed out`, `No route to host`, `Broken pipe`,
///   `kex_exchange_identification`, `Connection closed by` → transient.
/// * Any other exit status means ssh connected and the remote command failed: its stderr is
///   checked for `No such file or directory`, `Permission denied`, `command not found`
///   (permanent), else [`SshFailureKind::RemoteCommandFailed`] (permanent).
/// * Unrecognised text: exit 255 → transient `UnknownSshError`; `None` → transient
///   `KilledOrTimedOut`.
///
/// Call it only for failed commands; it never panics on any input.
pub fn classify_ssh_failure(exit_code: Option<i32>, stderr: &str) -> FailureClass {
    let mk = |kind, detail: String, transient| {
        let r = FailureReason { kind, detail };
        if transient {
            FailureClass::Transient(r)
        } else {
            FailureClass::Permanent(r)
        }
    };
    let transport_level = matches!(exit_code, None | Some(255));
    if transport_level {
        for (needle, kind, transient) in TRANSPORT {
            if let Some(line) = find(stderr, needle) {
                return mk(*kind, line, *transient);
            }
        }
    }
    for (needle, kind) in REMOTE {
        if let Some(line) = find(stderr, needle) {
            return mk(*kind, line, false);
        }
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(str::trim);
    match exit_code {
        None => mk(
            K::KilledOrTimedOut,
            last.unwrap_or("no exit status").to_string(),
            true,
        ),
        Some(255) => mk(
            K::UnknownSshError,
            last.unwrap_or("exit status 255").to_string(),
            true,
        ),
        Some(c) => mk(
            K::RemoteCommandFailed,
            match last {
                Some(l) => format!("exit status {c}: {l}"),
                None => format!("exit status {c}"),
            },
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(c: &FailureClass) -> SshFailureKind {
        c.reason().kind
    }

    #[test]
    fn transient_cases() {
        let cases = [
            ("Connection reset by 10.0.0.1 port 22", K::ConnectionReset),
            (
                "ssh: connect to host localhost port 2222: Connection refused",
                K::ConnectionRefused,
            ),
            (
                "ssh: connect to host h port 22: Connection timed out",
                K::TimedOut,
            ),
            (
                "ssh: connect to host h port 22: Operation timed out",
                K::TimedOut,
            ),
            (
                "ssh: connect to host h port 22: No route to host",
                K::NoRoute,
            ),
            ("client_loop: send disconnect: Broken pipe", K::BrokenPipe),
            (
                "kex_exchange_identification: read: Connection reset by peer",
                K::ConnectionReset,
            ),
            (
                "kex_exchange_identification: Connection closed by remote host",
                K::KeyExchange,
            ),
            (
                "Connection closed by 127.0.0.1 port 2222",
                K::ConnectionClosed,
            ),
            (
                "Control socket connect(/tmp/ms/cm-abc): No such file or directory",
                K::Multiplexer,
            ),
            (
                "mux_client_request_session: read from master failed: Broken pipe",
                K::Multiplexer,
            ),
            (
                "ssh: Could not resolve hostname h: Temporary failure in name resolution",
                K::DnsTemporary,
            ),
            ("something unheard of", K::UnknownSshError),
        ];
        for (text, k) in cases {
            let c = classify_ssh_failure(Some(255), text);
            assert!(c.is_transient(), "{text}: {c}");
            assert_eq!(kind(&c), k, "{text}");
        }
        let c = classify_ssh_failure(None, "");
        assert!(c.is_transient());
        assert_eq!(kind(&c), K::KilledOrTimedOut);
    }

    #[test]
    fn permanent_cases() {
        let cases = [
            (
                Some(255),
                "user@h: Permission denied (publickey,gssapi-keyex).",
                K::AuthRefused,
            ),
            (
                Some(255),
                "Host key verification failed.",
                K::HostKeyVerification,
            ),
            (
                Some(255),
                "ssh: Could not resolve hostname nosuch: Name or service not known",
                K::UnknownHost,
            ),
            (
                Some(1),
                "ls: cannot access '/x': No such file or directory",
                K::NoSuchFile,
            ),
            (
                Some(2),
                "bash: /scratch/x/run.sh: No such file or directory",
                K::NoSuchFile,
            ),
            (
                Some(1),
                "mkdir: cannot create directory '/root/x': Permission denied",
                K::PermissionDenied,
            ),
            (
                Some(127),
                "bash: sbatch: command not found",
                K::CommandNotFound,
            ),
            (
                Some(1),
                "sbatch: error: invalid partition specified: x",
                K::RemoteCommandFailed,
            ),
            (Some(3), "", K::RemoteCommandFailed),
        ];
        for (code, text, k) in cases {
            let c = classify_ssh_failure(code, text);
            assert!(!c.is_transient(), "{text}: {c}");
            assert_eq!(kind(&c), k, "{text}");
        }
    }

    #[test]
    fn message_says_which_kind() {
        let c = classify_ssh_failure(
            Some(255),
            "ssh: connect to host h port 22: Connection refused\n",
        );
        assert_eq!(
            c.to_string(),
            "transient SSH failure (connection refused (sshd down or restarting)): ssh: connect to host h port 22: Connection refused"
        );
        let p = classify_ssh_failure(Some(255), "u@h: Permission denied (publickey).");
        assert!(p
            .to_string()
            .starts_with("permanent SSH failure (authentication refused)"));
    }

    #[test]
    fn remote_text_that_looks_like_network_is_the_commands_failure() {
        // exit 7 means ssh connected; curl's "Connection refused" is the command's problem
        let c = classify_ssh_failure(Some(7), "curl: (7) Failed to connect: Connection refused");
        assert_eq!(kind(&c), K::RemoteCommandFailed);
        assert!(!c.is_transient());
    }
}
