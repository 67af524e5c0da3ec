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

/// One attempt's directories for [`delete_script`]: project, scratch, token.
pub(super) struct AttemptDirs {
    pub p: String,
    pub s: String,
    pub token: String,
}

/// A script that removes (or, `dry`, only lists) a run's remote directories:
/// each attempt's project and scratch directory when its `job_info.json`
/// carries the attempt's token (`KEEP` otherwise), the `extra` directories
/// (the run's own, e.g. its job-array stage), then the task and run
/// directories once empty. Prints `DEL PATH` or `KEEP PATH` per directory.
pub(super) fn delete_script(
    attempts: &[AttemptDirs],
    extra: &[String],
    parents: &[String],
    dry: bool,
) -> String {
    let mut s = format!(
        "dry={}
gone() {{ [ -n \"$dry\" ] || rm -rf -- \"$1\"; printf 'DEL %s\\n' \"$1\"; }}
",
        if dry { "1" } else { "" }
    );
    for a in attempts {
        let info = quote(&format!("{}/job_info.json", a.p));
        let line = quote(&format!("\"token\": \"{}\"", a.token));
        let (p, sc) = (quote(&a.p), quote(&a.s));
        s.push_str(&format!(
            "if grep -qsF {line} {info}; then gone {p}; if [ -e {sc} ]; then gone {sc}; fi\nelif [ -e {p} ]; then printf 'KEEP %s\\n' {p}; fi\n"
        ));
    }
    for d in extra {
        let d = quote(d);
        s.push_str(&format!("if [ -e {d} ]; then gone {d}; fi\n"));
    }
    // Deepest first, so a task directory goes before its run directory.
    for d in parents {
        let d = quote(d);
        s.push_str(&format!(
            "if [ -e {d} ]; then if [ -n \"$dry\" ]; then printf 'DEL %s (once empty)\\n' {d}; elif rmdir -- {d} 2>/dev/null; then printf 'DEL %s\\n' {d}; else printf 'KEEP %s\\n' {d}; fi; fi\n"
        ));
    }
    s
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

    #[test]
    fn delete_removes_only_this_runs_attempts_and_lists_first_when_dry() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("r $(touch pwned)");
        let mine = run.join("t/1");
        let theirs = run.join("t/2");
        let scratch = root.path().join("scratch/t/1");
        record(&mine, "aaaa");
        record(&theirs, "bbbb");
        std::fs::create_dir_all(&scratch).unwrap();
        let st = |p: &std::path::Path| p.to_str().unwrap().to_string();
        let attempts = [
            AttemptDirs {
                p: st(&mine),
                s: st(&scratch),
                token: "aaaa".into(),
            },
            AttemptDirs {
                p: st(&theirs),
                s: st(&root.path().join("scratch/t/2")),
                token: "cccc".into(),
            },
        ];
        let parents = [st(&run.join("t")), st(&run)];
        let dry = sh(&delete_script(&attempts, &[], &parents, true));
        assert_eq!(dry.status, 0, "{dry:?}");
        assert!(
            dry.stdout.contains(&format!("DEL {}\n", st(&mine))),
            "{dry:?}"
        );
        assert!(dry.stdout.contains(&format!("DEL {}\n", st(&scratch))));
        assert!(dry.stdout.contains(&format!("KEEP {}\n", st(&theirs))));
        assert!(
            mine.exists() && scratch.exists(),
            "a dry run removes nothing"
        );
        let out = sh(&delete_script(&attempts, &[], &parents, false));
        assert!(!mine.exists() && !scratch.exists(), "{out:?}");
        assert!(
            theirs.join("job_info.json").exists(),
            "another attempt's is kept"
        );
        assert!(
            out.stdout.contains(&format!("KEEP {}\n", st(&run))),
            "{out:?}"
        );
        assert!(!root.path().join("pwned").exists());
    }
}
