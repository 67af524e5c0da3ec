use std::path::Path;
use std::process::{Command, Stdio};

use super::{log, CmdOutput, Transport, TransportError};

/// Runs commands on this machine (for a scheduler reachable without SSH).
#[derive(Debug, Default, Clone)]
pub struct LocalTransport;

fn err(label: &str, detail: String) -> TransportError {
    TransportError::Permanent {
        host: "local".into(),
        label: label.into(),
        detail,
    }
}

impl Transport for LocalTransport {
    fn describe(&self) -> String {
        "local".to_string()
    }

    fn exec(
        &self,
        label: &str,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CmdOutput, TransportError> {
        log::record("local", label);
        let mut child = Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| err(label, e.to_string()))?;
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(data)
                .map_err(|e| err(label, e.to_string()))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| err(label, e.to_string()))?;
        Ok(CmdOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn upload_dir(&self, from: &Path, to: &str) -> Result<(), TransportError> {
        let script = format!(
            "mkdir -p {to} && cp -a {from}/. {to}/",
            to = super::quote_path(to),
            from = super::quote(&from.display().to_string())
        );
        let out = self.exec("upload", &script, None)?;
        if out.ok() {
            Ok(())
        } else {
            Err(err("upload", out.stderr))
        }
    }

    fn download(&self, from: &str, files: &[String], to: &Path) -> Result<(), TransportError> {
        std::fs::create_dir_all(to).map_err(|e| err("download", e.to_string()))?;
        let to_q = super::quote(&to.display().to_string());
        let script = if files.is_empty() {
            format!("cp -a {}/. {to_q}/", super::quote_path(from))
        } else {
            // Keep the relative paths; skip files that do not exist.
            format!(
                "cd {} && for f in {}; do [ -e \"$f\" ] && cp -a --parents -- \"$f\" {to_q}/; done; true",
                super::quote_path(from),
                super::quote_all(files)
            )
        };
        let out = self.exec("download", &script, None)?;
        if out.ok() {
            Ok(())
        } else {
            Err(err("download", out.stderr))
        }
    }
}
