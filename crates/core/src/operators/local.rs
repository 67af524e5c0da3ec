//! The local operator: each attempt runs detached, in its own process group,
//! in `tasks/<id>/`, under a tiny `sh` wrapper.
//!
//! The wrapper is the whole protocol between the engine and the process:
//!
//! 1. with `set -C` (O_EXCL), it creates `.attempts/<n>/claim` holding
//!    `<pid> <token>`; if the file exists, another wrapper owns this attempt
//!    and it exits at once — so launching the same attempt twice (after a
//!    crash between "recorded" and "launched") runs the command once;
//! 2. it runs the command with stdout/stderr in `.attempts/<n>/`;
//! 3. it writes the exit code to `.attempts/<n>/exit`.
//!
//! Start and end times are the modification times of `claim` and `exit`.
//! Liveness is checked through `/proc/<pid>/cmdline`, which carries the
//! token, so a recycled pid is never mistaken for the attempt.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant, UNIX_EPOCH};

use super::{AttemptFiles, AttemptRef, Launched, Observation, Operator};
use crate::model::{Command, TaskSpec};
use crate::transport::{quote, quote_all};
use crate::{Error, Result};

/// Runs tasks on this machine.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalOperator;

/// The wrapper script for one attempt (paths relative to the task directory).
pub fn wrapper_script(n: u32, token: &str, command: &Command) -> String {
    let dir = format!(".attempts/{n}");
    let cmd = match command {
        Command::Shell(s) => format!("sh -c {}", quote(s)),
        Command::Argv(argv) => quote_all(argv),
    };
    format!(
        "set -C\n\
         {{ echo \"$$ \"{token} > {claim}; }} 2>/dev/null || exit 0\n\
         set +C\n\
         {cmd} </dev/null >{out} 2>{err}\n\
         echo $? >{exit}\n",
        token = quote(token),
        claim = quote(&format!("{dir}/claim")),
        out = quote(&format!("{dir}/stdout")),
        err = quote(&format!("{dir}/stderr")),
        exit = quote(&format!("{dir}/exit")),
    )
}

impl Operator for LocalOperator {
    fn name(&self) -> &'static str {
        "local"
    }

    fn launch(&self, a: &AttemptRef<'_>, task: &TaskSpec) -> Result<Launched> {
        let command = task
            .command
            .as_ref()
            .ok_or_else(|| Error::Input(format!("task \"{}\" has no command", a.task_id)))?;
        let secrets = super::secret_values(task)?;
        let files = AttemptFiles::new(a.run_dir, a.task_id, a.n);
        fs::create_dir_all(&files.dir).map_err(|e| Error::io("create", &files.dir, e))?;
        let mut cmd = Process::new("/bin/sh");
        cmd.arg("-c")
            .arg(wrapper_script(a.n, a.token, command))
            .arg(format!("matterstack-attempt:{}", a.token))
            .current_dir(&files.task_dir)
            .envs(&task.env)
            .envs(secrets)
            .env(crate::env_vars::MATTERSTACK_RUN_DIR, a.run_dir)
            .env(crate::env_vars::MATTERSTACK_TASK_ID, a.task_id)
            .env(crate::env_vars::MATTERSTACK_ATTEMPT, a.n.to_string())
            .env(crate::env_vars::MATTERSTACK_TOKEN, a.token)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| Error::io("spawn /bin/sh in", &files.task_dir, e))?;
        Ok(Launched {
            external_id: child.id().to_string(),
            child: Some(child),
        })
    }

    fn poll(&self, attempts: &[AttemptRef<'_>]) -> Vec<Observation> {
        attempts.iter().map(observe).collect()
    }

    fn cancel(&self, a: &AttemptRef<'_>) -> Result<()> {
        let files = AttemptFiles::new(a.run_dir, a.task_id, a.n);
        let Some((pid, _)) = read_claim(&files.claim()).filter(|(_, t)| t == a.token) else {
            return Ok(());
        };
        if !alive(pid, a.token) {
            return Ok(());
        }
        crate::process::signal_group(pid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while alive(pid, a.token) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if alive(pid, a.token) {
            crate::process::signal_group(pid, libc::SIGKILL);
        }
        Ok(())
    }
}

fn observe(a: &AttemptRef<'_>) -> Observation {
    let files = AttemptFiles::new(a.run_dir, a.task_id, a.n);
    let claim_path = files.claim();
    let claim_meta = match fs::metadata(&claim_path) {
        Ok(m) => m,
        Err(_) => {
            // Spawned but not yet claimed: the wrapper is starting up.
            let starting = a
                .external_id
                .and_then(|id| id.parse().ok())
                .is_some_and(|pid| alive(pid, a.token));
            return if starting {
                Observation::Running {
                    external_id: a.external_id.map(str::to_string),
                    started_at: None,
                }
            } else {
                Observation::NotStarted
            };
        }
    };
    let started_at = mtime_ms(&claim_meta);
    if let Some(obs) = read_exit(&files, started_at) {
        return obs;
    }
    let Some((pid, token)) = read_claim(&claim_path) else {
        // Created but not yet written: the wrapper is between open and
        // write — unless the wrapper is gone and the claim has stayed empty
        // or garbled past a grace period (a crash, a hand edit).
        let wrapper_alive = a
            .external_id
            .and_then(|id| id.parse().ok())
            .is_some_and(|pid| alive(pid, a.token));
        let age = started_at.map_or(0, |s| crate::store::now_ms() - s);
        if !wrapper_alive && age > CLAIM_GRACE_MS {
            return Observation::Lost {
                reason: format!(
                    "{} is empty or unreadable and its wrapper process is gone; the attempt cannot be followed",
                    claim_path.display()
                ),
            };
        }
        return Observation::Running {
            external_id: None,
            started_at,
        };
    };
    if token != a.token {
        return Observation::Lost {
            reason: format!(
                "{} belongs to another attempt (token {token}); the run directory was tampered with",
                claim_path.display()
            ),
        };
    }
    if alive(pid, a.token) {
        return Observation::Running {
            external_id: Some(pid.to_string()),
            started_at,
        };
    }
    // It may have written its exit code between our two looks.
    read_exit(&files, started_at).unwrap_or_else(|| Observation::Lost {
        reason: format!("process {pid} ended without writing an exit code (killed?)"),
    })
}

/// How long a claim may stay empty or unreadable with no wrapper alive
/// before the attempt counts as lost.
const CLAIM_GRACE_MS: i64 = 5_000;

fn read_exit(files: &AttemptFiles, started_at: Option<i64>) -> Option<Observation> {
    let path = files.exit();
    let text = fs::read_to_string(&path).ok()?;
    let code: i32 = text.trim().parse().ok()?;
    let ended_at = fs::metadata(&path).ok().and_then(|m| mtime_ms(&m));
    Some(Observation::Exited {
        code,
        started_at,
        ended_at,
    })
}

/// Reads `pid token` from a claim file.
fn read_claim(path: &Path) -> Option<(i32, String)> {
    let text = fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    let pid = parts.next()?.parse().ok()?;
    let token = parts.next()?.to_string();
    Some((pid, token))
}

fn mtime_ms(m: &fs::Metadata) -> Option<i64> {
    m.modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_millis() as i64)
}

/// True if `pid` is a live (non-zombie) process carrying `token` in its
/// command line.
pub fn alive(pid: i32, token: &str) -> bool {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    if !Path::new("/proc/self").exists() {
        // No procfs: fall back to signal 0 (cannot rule out pid reuse).
        // SAFETY: kill with signal 0 only checks for existence.
        return unsafe { libc::kill(pid, 0) } == 0;
    }
    let Ok(cmdline) = fs::read(proc_dir.join("cmdline")) else {
        return false;
    };
    let needle = token.as_bytes();
    if !cmdline.windows(needle.len()).any(|w| w == needle) {
        return false;
    }
    match fs::read_to_string(proc_dir.join("stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn task(cmd: Command) -> TaskSpec {
        toml::from_str::<TaskSpec>("id = \"t\"\ncommand = \"x\"")
            .map(|mut t| {
                t.command = Some(cmd);
                t
            })
            .unwrap()
    }

    fn wait_exit(op: &LocalOperator, a: &AttemptRef<'_>) -> Observation {
        for _ in 0..500 {
            let o = op.poll(std::slice::from_ref(a)).remove(0);
            if matches!(o, Observation::Exited { .. } | Observation::Lost { .. }) {
                return o;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("attempt did not finish");
    }

    #[test]
    fn runs_a_shell_command_and_records_its_exit_code() {
        let dir = tempfile::tempdir().unwrap();
        let a = AttemptRef {
            run_dir: dir.path(),
            task_id: "t",
            n: 1,
            token: "tok1",
            external_id: None,
            outputs: &[],
        };
        let op = LocalOperator;
        assert_eq!(
            op.poll(std::slice::from_ref(&a))[0],
            Observation::NotStarted
        );
        let t = task(Command::Shell("echo out; echo err >&2; exit 3".into()));
        let mut launched = op.launch(&a, &t).unwrap();
        launched.child.take().unwrap().wait().unwrap();
        match wait_exit(&op, &a) {
            Observation::Exited {
                code,
                started_at,
                ended_at,
            } => {
                assert_eq!(code, 3);
                assert!(started_at.is_some() && ended_at >= started_at);
            }
            other => panic!("{other:?}"),
        }
        let files = AttemptFiles::new(dir.path(), "t", 1);
        assert_eq!(fs::read_to_string(files.stdout()).unwrap(), "out\n");
        assert_eq!(fs::read_to_string(files.stderr()).unwrap(), "err\n");
    }

    #[test]
    fn a_second_launch_of_the_same_attempt_does_not_run_the_command_again() {
        let dir = tempfile::tempdir().unwrap();
        let a = AttemptRef {
            run_dir: dir.path(),
            task_id: "t",
            n: 1,
            token: "tok2",
            external_id: None,
            outputs: &[],
        };
        let t = task(Command::Shell("echo once >> ../../count".into()));
        let op = LocalOperator;
        for _ in 0..3 {
            op.launch(&a, &t).unwrap().child.unwrap().wait().unwrap();
        }
        wait_exit(&op, &a);
        assert_eq!(
            fs::read_to_string(dir.path().join("count")).unwrap(),
            "once\n"
        );
    }

    #[test]
    fn argv_commands_get_exact_arguments_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let a = AttemptRef {
            run_dir: dir.path(),
            task_id: "t",
            n: 1,
            token: "tok3",
            external_id: None,
            outputs: &[],
        };
        let mut t = task(Command::Argv(vec![
            "sh".into(),
            "-c".into(),
            "printf '%s|' \"$1\" \"$GREETING\" \"$MATTERSTACK_TASK_ID\"".into(),
            "arg0".into(),
            "it's $(not) `run`".into(),
        ]));
        t.env.insert("GREETING".into(), "héllo wörld".into());
        let op = LocalOperator;
        op.launch(&a, &t).unwrap().child.unwrap().wait().unwrap();
        assert!(matches!(
            wait_exit(&op, &a),
            Observation::Exited { code: 0, .. }
        ));
        let out = fs::read_to_string(AttemptFiles::new(dir.path(), "t", 1).stdout()).unwrap();
        assert_eq!(out, "it's $(not) `run`|héllo wörld|t|");
    }

    #[test]
    fn cancel_kills_the_process_group_and_poll_reports_it_lost() {
        let dir = tempfile::tempdir().unwrap();
        let a = AttemptRef {
            run_dir: dir.path(),
            task_id: "t",
            n: 1,
            token: "tok4",
            external_id: None,
            outputs: &[],
        };
        let t = task(Command::Shell("sleep 30 & sleep 30; wait".into()));
        let op = LocalOperator;
        let mut l = op.launch(&a, &t).unwrap();
        for _ in 0..200 {
            if matches!(
                op.poll(std::slice::from_ref(&a))[0],
                Observation::Running {
                    external_id: Some(_),
                    ..
                }
            ) {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let started = Instant::now();
        op.cancel(&a).unwrap();
        l.child.take().unwrap().wait().unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(matches!(
            op.poll(std::slice::from_ref(&a))[0],
            Observation::Lost { .. }
        ));
        let pid: i32 = l.external_id.parse().unwrap();
        assert!(!alive(pid, "tok4"));
    }
}
