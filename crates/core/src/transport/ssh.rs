use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{
    classify, log, progress, quote, quote_all, quote_path, CmdOutput, RetryPolicy, Transport,
    TransportError,
};
use crate::model::cluster::ClusterProfile;

/// Runs commands over the system `ssh`, through one multiplexed master
/// connection per destination (`ControlMaster=auto`, `ControlPersist`), so
/// `~/.ssh/config`, agents, ProxyJump and 2FA masters work as users expect.
/// Successive `step`s reuse the master while it persists.
#[derive(Debug, Clone)]
pub struct SshTransport {
    destination: String,
    args: Vec<String>,
    control_path: PathBuf,
    retry: RetryPolicy,
}

/// Directory of control sockets: short, because a socket path must stay
/// under ~104 bytes.
pub fn control_dir() -> PathBuf {
    // SAFETY: getuid never fails.
    let uid = unsafe { libc::getuid() };
    PathBuf::from(format!("/tmp/ms-{uid}"))
}

impl SshTransport {
    /// A transport for `profile`. Creates the control-socket directory (0700).
    pub fn new(profile: &ClusterProfile) -> SshTransport {
        let dir = control_dir();
        let _ = std::fs::create_dir_all(&dir);
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        }
        let control_path = dir.join("%C");
        // The profile's own options come first: for ssh the first value of
        // an option wins, so users can override any default below.
        let mut args: Vec<String> = Vec::new();
        for opt in &profile.ssh_options {
            args.extend(["-o".into(), opt.clone()]);
        }
        args.extend([
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "ControlMaster=auto".into(),
            "-o".into(),
            format!("ControlPath={}", control_path.display()),
            "-o".into(),
            "ControlPersist=300".into(),
            "-o".into(),
            "ConnectTimeout=10".into(),
            "-o".into(),
            "ServerAliveInterval=10".into(),
            "-o".into(),
            "ServerAliveCountMax=3".into(),
            "-o".into(),
            "LogLevel=ERROR".into(),
        ]);
        if let Some(port) = profile.port {
            args.extend(["-p".into(), port.to_string()]);
        }
        if let Some(key) = &profile.identity_file {
            args.extend([
                "-i".into(),
                expand_home(key),
                "-o".into(),
                "IdentitiesOnly=yes".into(),
            ]);
        }
        SshTransport {
            destination: profile.destination(),
            args,
            control_path,
            retry: RetryPolicy::default(),
        }
    }

    /// Uses another retry policy (tests use short ones).
    pub fn with_retry(mut self, retry: RetryPolicy) -> SshTransport {
        self.retry = retry;
        self
    }

    /// The command a user runs once to open a master this transport will
    /// attach to (for clusters that need 2FA).
    pub fn master_command(&self) -> String {
        let mut words = vec!["ssh", "-M", "-N", "-f"];
        let mut args = self.args.iter().map(String::as_str).peekable();
        while let Some(a) = args.next() {
            if a == "-o" && args.peek() == Some(&"BatchMode=yes") {
                args.next();
                continue;
            }
            words.push(a);
        }
        words.push(&self.destination);
        // Readable: quote only the words that need it.
        words
            .iter()
            .map(|w| {
                let plain = w
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
                if plain {
                    w.to_string()
                } else {
                    quote(w)
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The control socket template.
    pub fn control_path(&self) -> &Path {
        &self.control_path
    }

    fn ssh_once(
        &self,
        label: &str,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CmdOutput, TransportError> {
        log::record(&self.destination, label);
        let mut child = Command::new("ssh")
            .args(&self.args)
            .arg("--")
            .arg(&self.destination)
            .arg(script)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| TransportError::Permanent {
                host: self.destination.clone(),
                label: label.into(),
                detail: format!("cannot run ssh: {e}; install openssh-client"),
            })?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let _ = pipe.write_all(data);
        }
        let out = child
            .wait_with_output()
            .map_err(|e| TransportError::Transient {
                host: self.destination.clone(),
                label: label.into(),
                detail: e.to_string(),
            })?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let status = out.status.code().unwrap_or(255);
        if status == 255 {
            return Err(classify(&self.destination, label, Some(status), &stderr));
        }
        Ok(CmdOutput {
            status,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        })
    }

    fn rsync(&self, label: &str, args: &[String]) -> Result<(), TransportError> {
        log::record(&self.destination, label);
        let ssh = std::iter::once("ssh".to_string())
            .chain(self.args.iter().cloned())
            .collect::<Vec<_>>();
        let mut cmd = Command::new("rsync");
        cmd.arg("-a")
            .arg("--protect-args")
            .arg("-e")
            .arg(quote_all(&ssh))
            .args(args)
            .stdin(Stdio::null());
        let shown = progress::wanted();
        if shown {
            cmd.arg("--info=progress2").arg("--no-inc-recursive");
        }
        let cannot = |e: std::io::Error| TransportError::Permanent {
            host: self.destination.clone(),
            label: label.into(),
            detail: format!("cannot run rsync: {e}; install rsync"),
        };
        let (status, stderr) = if shown {
            progress::run(&mut cmd, &format!("{label} {}", self.destination)).map_err(cannot)?
        } else {
            let out = cmd.output().map_err(cannot)?;
            (
                out.status,
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        if status.success() {
            return Ok(());
        }
        // rsync exit 255 / 12 / 30 / 35: the connection failed.
        match status.code() {
            Some(code @ (255 | 12 | 30 | 35 | 10)) => {
                Err(classify(&self.destination, label, Some(code), &stderr))
            }
            _ => Err(TransportError::Permanent {
                host: self.destination.clone(),
                label: label.into(),
                detail: format!("rsync failed: {}", stderr.trim()),
            }),
        }
    }
}

fn expand_home(p: &str) -> String {
    match (p.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{home}/{rest}"),
        _ => p.to_string(),
    }
}

impl Transport for SshTransport {
    fn describe(&self) -> String {
        self.destination.clone()
    }

    fn exec(
        &self,
        label: &str,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CmdOutput, TransportError> {
        self.retry.run(|| self.ssh_once(label, script, stdin))
    }

    fn upload_dir(&self, from: &Path, to: &str) -> Result<(), TransportError> {
        let mkdir = self.exec("mkdir", &format!("mkdir -p {}", quote_path(to)), None)?;
        if !mkdir.ok() {
            return Err(TransportError::Permanent {
                host: self.destination.clone(),
                label: "mkdir".into(),
                detail: format!("cannot create {to}: {}", mkdir.stderr.trim()),
            });
        }
        let remote = remote_abs(self, to)?;
        let src = format!("{}/", from.display());
        let dst = format!("{}:{}/", self.destination, remote);
        self.retry
            .run(|| self.rsync("upload", &[src.clone(), dst.clone()]))
    }

    fn download(&self, from: &str, files: &[String], to: &Path) -> Result<(), TransportError> {
        let _ = std::fs::create_dir_all(to);
        let remote = remote_abs(self, from)?;
        let dst = format!("{}/", to.display());
        // A job's symbolic links arrive as links (rsync -a never follows them
        // here); the operator drops and records them before anything leaves
        // the staging directory (`crate::files::drop_non_regular`).
        let mut args = Vec::new();
        if files.is_empty() {
            args.push(format!("{}:{}/", self.destination, remote));
        } else {
            args.push("--relative".to_string());
            args.push("--ignore-missing-args".to_string());
            for f in files {
                args.push(format!("{}:{}/./{}", self.destination, remote, f));
            }
        }
        args.push(dst);
        self.retry.run(|| self.rsync("download", &args))
    }
}

/// Resolves a leading `~/` on the remote side (rsync paths are not shell-expanded
/// with --protect-args).
fn remote_abs(t: &SshTransport, path: &str) -> Result<String, TransportError> {
    if !path.starts_with("~/") {
        return Ok(path.to_string());
    }
    let out = t.exec("resolve", &format!("printf %s {}", quote_path(path)), None)?;
    Ok(out.stdout)
}
