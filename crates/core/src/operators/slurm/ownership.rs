//! Every remote job directory belongs to exactly one attempt: the one whose
//! token its `job_info.json` carries. Launch writes into a directory only
//! when it is new or already this attempt's (a relaunch after a crash), and
//! cleanup after a refused submission removes only this attempt's
//! directories — never another run's that happened to have the same path
//! (two runs made before run identities, with one `--run-id`, on one
//! cluster), whose stale `exit` marker would otherwise complete a job that
//! never ran.

use crate::transport::{quote, CmdOutput};

/// What the guard prints (first on its stderr line) and the status it exits
/// with when a directory belongs to another attempt.
const REFUSED: &str = "matterstack: refusing the job directory";
const REFUSED_STATUS: i32 = 86;

/// A shell condition, true when project directory `p` holds a job record or
/// an exit marker that is not attempt `token`'s.
fn foreign(p: &str, token: &str) -> String {
    let info = quote(&format!("{p}/job_info.json"));
    format!(
        "{{ [ -e {info} ] || [ -e {exit} ]; }} && ! grep -qsF {line} {info}",
        exit = quote(&format!("{p}/exit")),
        line = quote(&format!("\"token\": \"{token}\"")),
    )
}

/// Shell lines (for a `set -e` script, before anything is written) that
/// stop the script with a message naming `p` when it is another attempt's.
pub(super) fn guard(p: &str, token: &str) -> String {
    let why = format!(
        "{REFUSED} {p}: its job_info.json carries another attempt's token (another run with the same id on this cluster?); it is left as it is — remove it if it is stale, or use another --run-id"
    );
    format!(
        "if {}; then echo {} >&2; exit {REFUSED_STATUS}; fi",
        foreign(p, token),
        quote(&why)
    )
}

/// Shell lines removing project directory `p` and scratch directory `s` of
/// attempt `token`, unless `p` is another attempt's.
pub(super) fn remove(p: &str, s: &str, token: &str) -> String {
    format!(
        "if {}; then :; else rm -rf {} {}; fi",
        foreign(p, token),
        quote(p),
        quote(s)
    )
}

/// The guard's message, when `out` is a script the guard stopped.
pub(super) fn refused(out: &CmdOutput) -> Option<String> {
    if out.status != REFUSED_STATUS {
        return None;
    }
    out.stderr
        .lines()
        .find(|l| l.starts_with(REFUSED))
        .map(|l| l.trim_start_matches("matterstack: ").to_string())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn sh(script: &str) -> CmdOutput {
        let out = Command::new("/bin/sh")
            .args(["-c", script])
            .output()
            .unwrap();
        CmdOutput {
            status: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        }
    }

    fn record(dir: &std::path::Path, token: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("job_info.json"),
            format!(
                "{{\n  \"status\": \"COMPLETED\",\n  \"token\": \"{token}\",\n  \"x\": 1\n}}\n"
            ),
        )
        .unwrap();
    }

    #[test]
    fn f7_a_directory_with_another_attempts_record_is_refused_and_kept() {
        let root = tempfile::tempdir().unwrap();
        // A path with every character that matters to a shell.
        let p = root.path().join("it's a $(touch pwned); dir");
        let s = root.path().join("scratch");
        let ps = p.to_str().unwrap();
        let ss = s.to_str().unwrap();
        // New directory: the guard lets the launch go on.
        let ok = sh(&format!("set -e\n{}\necho go", guard(ps, "aaaa")));
        assert_eq!((ok.status, ok.stdout.as_str()), (0, "go\n"), "{ok:?}");
        // This attempt's own directory (a relaunch): allowed.
        record(&p, "aaaa");
        assert_eq!(sh(&format!("set -e\n{}", guard(ps, "aaaa"))).status, 0);
        // Another attempt's: refused, with a reason naming the directory.
        let out = sh(&format!("set -e\n{}\necho go", guard(ps, "bbbb")));
        let why = refused(&out).expect("refused");
        assert!(why.contains(ps) && why.contains("another attempt"), "{why}");
        assert!(!out.stdout.contains("go"));
        // A stale exit marker without a record is not this attempt's either.
        let q = root.path().join("stale");
        std::fs::create_dir_all(&q).unwrap();
        std::fs::write(q.join("exit"), "0\n").unwrap();
        assert!(refused(&sh(&guard(q.to_str().unwrap(), "aaaa"))).is_some());
        // Cleanup leaves another attempt's directories alone…
        std::fs::create_dir_all(&s).unwrap();
        assert_eq!(sh(&remove(ps, ss, "bbbb")).status, 0);
        assert!(p.join("job_info.json").exists() && s.exists());
        // …and removes its own.
        assert_eq!(sh(&remove(ps, ss, "aaaa")).status, 0);
        assert!(!p.exists() && !s.exists());
        assert!(!root.path().join("pwned").exists());
        assert!(!std::path::Path::new("pwned").exists());
    }
}
