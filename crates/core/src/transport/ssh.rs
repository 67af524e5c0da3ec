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
    /// Why the control-socket directory is not used (nothing runs then).
    refused: Option<String>,
    retry: RetryPolicy,
}

/// Directory of control sockets: `$XDG_RUNTIME_DIR/ms` (private to the user
/// by design) when that is set and short enough, else `/tmp/ms-<uid>`; a
/// socket path must stay under ~104 bytes. Created 0700; used only when it
/// is a real directory (not a link) owned by this user that no one else can
/// enter — another user could otherwise read or replace the sockets.
pub fn control_dir() -> Result<PathBuf, String> {
    // SAFETY: getuid never fails.
    let uid = unsafe { libc::getuid() };
    let runtime = std::env::var_os(crate::env_vars::XDG_RUNTIME_DIR)
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.join("ms/").as_os_str().len() + 41 < 100);
    let dir = match runtime {
        Some(d) => d.join("ms"),
        None => PathBuf::from(format!("/tmp/ms-{uid}")),
    };
    private_dir(&dir, uid)?;
    Ok(dir)
}

/// Creates `dir` with mode 0700, or checks that the one there is a real
/// directory owned by `uid` with no access for group or others.
fn private_dir(dir: &Path, uid: u32) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let _ = std::fs::DirBuilder::new().mode(0o700).create(dir);
    let refuse = |why: String| {
        Err(format!(
            "control socket directory {}: {why}; remove it (or set XDG_RUNTIME_DIR to a private directory)",
            dir.display()
        ))
    };
    let m = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) => return refuse(format!("cannot create it: {e}")),
    };
    if !m.file_type().is_dir() {
        return refuse("is not a directory (a link or a file)".into());
    }
    if m.uid() != uid {
        return refuse(format!(
            "is owned by uid {}, not by you (uid {uid})",
            m.uid()
        ));
    }
    if m.mode() & 0o077 != 0 {
        return refuse(format!(
            "has mode {:o}; it must be 700 (chmod 700 it)",
            m.mode() & 0o777
        ));
    }
    Ok(())
}

impl SshTransport {
    /// A transport for `profile`. Creates the control-socket directory
    /// (0700); when that directory is not safe to use, every command of
    /// this transport fails with the reason (see [`control_dir`]).
    pub fn new(profile: &ClusterProfile) -> SshTransport {
        let (dir, refused) = match control_dir() {
            Ok(d) => (d, None),
            Err(e) => (PathBuf::from("/nonexistent"), Some(e)),
        };
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
            refused,
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
        self.check_control(label)?;
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

    fn check_control(&self, label: &str) -> Result<(), TransportError> {
        match &self.refused {
            Some(why) => Err(TransportError::Permanent {
                host: self.destination.clone(),
                label: label.into(),
                detail: why.clone(),
            }),
            None => Ok(()),
        }
    }

    fn rsync(&self, label: &str, args: &[String]) -> Result<(), TransportError> {
        self.check_control(label)?;
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
        if shown.is_some() {
            cmd.arg("--info=progress2").arg("--no-inc-recursive");
        }
        let cannot = |e: std::io::Error| TransportError::Permanent {
            host: self.destination.clone(),
            label: label.into(),
            detail: format!("cannot run rsync: {e}; install rsync"),
        };
        let (status, stderr) = if let Some(to) = shown {
            progress::run(&mut cmd, &format!("{label} {}", self.destination), to).map_err(cannot)?
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
    match (p.strip_prefix("~/"), std::env::var(crate::env_vars::HOME)) {
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

#[cfg(test)]
mod control_dir_tests {
    use std::os::unix::fs::PermissionsExt;

    use super::private_dir;

    fn uid() -> u32 {
        // SAFETY: getuid never fails.
        unsafe { libc::getuid() }
    }

    #[test]
    fn f10_a_fresh_control_directory_is_created_0700() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("ms");
        private_dir(&dir, uid()).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn f10_a_control_directory_others_can_enter_or_a_link_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = private_dir(&open, uid()).unwrap_err();
        assert!(e.contains("mode 777") && e.contains("chmod 700"), "{e}");
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&open, &link).unwrap();
        let e = private_dir(&link, uid()).unwrap_err();
        assert!(e.contains("not a directory"), "{e}");
    }

    #[test]
    fn f10_a_control_directory_another_user_owns_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let theirs = d.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        // As root the directory is given away; as anyone else, another
        // uid is asked to own one of ours — the same check either way.
        let other = if uid() == 0 {
            let c = std::ffi::CString::new(theirs.to_str().unwrap()).unwrap();
            // SAFETY: chown(2) on a path we created.
            assert_eq!(unsafe { libc::chown(c.as_ptr(), 65534, 65534) }, 0);
            0
        } else {
            uid() + 1
        };
        let e = private_dir(&theirs, other).unwrap_err();
        assert!(
            e.contains("owned by uid") && e.contains("not by you"),
            "{e}"
        );
    }
}
