//! Batched `squeue` queries and their parser.

use serde::{Deserialize, Serialize};

use super::duration::parse_slurm_duration;
use super::state::JobState;
use crate::error::{ParseError, Parsed};
use crate::names::{validate_job_name, validate_user, NameError};

/// The `--format` string: job id, long state, reason, elapsed, time limit, job name.
///
/// The name is last so a foreign job whose name contains `|` still parses (the remainder of
/// the line is the name). No field widths are given, so nothing is padded or truncated.
pub const SQUEUE_FORMAT: &str = "%i|%T|%r|%M|%l|%j";

const FIELDS: usize = 6;

/// One line of [`squeue_command`] output. `squeue` has no exit codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqueueRow {
    /// Job id as printed (`12345`, array elements `12345_7`, het jobs `12345+0`).
    pub job_id: String,
    /// The job state.
    pub state: JobState,
    /// Pending/hold reason; `None` when SLURM prints `None`.
    pub reason: Option<String>,
    /// Elapsed run time in seconds (`%M`), `None` when unparsable.
    pub elapsed_secs: Option<u64>,
    /// Time limit in seconds (`%l`), `None` for `UNLIMITED`/`NOT_SET`.
    pub time_limit_secs: Option<u64>,
    /// Job name (`%j`).
    pub name: String,
}

impl SqueueRow {
    /// This row's [`crate::Phase`] (squeue knows no exit code).
    pub fn phase(&self) -> crate::Phase {
        self.state.to_phase(self.reason.as_deref(), None)
    }
}

fn base_args() -> Vec<String> {
    vec![
        "squeue".to_string(),
        "--noheader".to_string(),
        "--array".to_string(),
        "--states=all".to_string(),
        format!("--format={SQUEUE_FORMAT}"),
    ]
}

/// argv for one batched query of `job_ids`:
/// `squeue --noheader --array --states=all --format=%i|%T|%r|%M|%l|%j --jobs=a,b,c`.
///
/// Behaviour of SLURM to expect (recorded on 22.05): with one unknown id squeue exits 1 with
/// `slurm_load_jobs error: Invalid job id specified` (see [`is_invalid_job_id_error`]); with
/// several ids the unknown ones are simply absent. Jobs that ended longer ago than the
/// controller's `MinJobAge` are absent too: ask `sacct` and read the marker.
pub fn squeue_command(job_ids: &[String]) -> Vec<String> {
    let mut v = base_args();
    v.push(format!("--jobs={}", job_ids.join(",")));
    v
}

/// argv listing every job of `user` (to rediscover jobs by the token in their name after a
/// crash; filter the parsed rows with [`rows_with_name_prefix`]). `squeue` has no name-prefix
/// filter, so the filtering happens on this side.
///
/// Fails when `user` has characters outside `[A-Za-z0-9_.-]` or starts with `-`.
pub fn squeue_user_command(user: &str) -> Result<Vec<String>, NameError> {
    validate_user(user)?;
    let mut v = base_args();
    v.push(format!("--user={user}"));
    Ok(v)
}

/// argv finding jobs of `user` by exact job names (`--name=a,b`), e.g. the names of the
/// attempts being reconciled. Fails on an invalid user or job name (names must be
/// `[A-Za-z0-9_.-]`, so the `,` list separator is unambiguous).
pub fn squeue_by_names_command(user: &str, names: &[String]) -> Result<Vec<String>, NameError> {
    let mut v = squeue_user_command(user)?;
    for n in names {
        validate_job_name(n)?;
    }
    v.push(format!("--name={}", names.join(",")));
    Ok(v)
}

/// The rows whose job name starts with `prefix`.
pub fn rows_with_name_prefix<'a>(
    rows: &'a [SqueueRow],
    prefix: &'a str,
) -> impl Iterator<Item = &'a SqueueRow> + 'a {
    rows.iter().filter(move |r| r.name.starts_with(prefix))
}

/// The array job id and index of an array element's id as squeue prints it with `--array`
/// (`123_4` → `("123", 4)`), as used with `--jobs=123_4` and `scancel 123_4`. `None` for a
/// plain job (`123`), a pending array's summary record (`123_[0-49%4]`), a het job
/// (`123+0`) or anything malformed.
pub fn array_element(job_id: &str) -> Option<(&str, u32)> {
    let (job, index) = job_id.split_once('_')?;
    let numeric = |s: &str| !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_digit());
    if !numeric(job) || !numeric(index) {
        return None;
    }
    Some((job, index.parse().ok()?))
}

/// True when `stderr` is squeue's answer for a single unknown job id (the job aged out of the
/// controller or never existed): treat as "absent", not as a transport failure.
pub fn is_invalid_job_id_error(stderr: &str) -> bool {
    stderr.contains("Invalid job id specified")
}

fn parse_line(line: &str, lineno: usize) -> Result<SqueueRow, ParseError> {
    let parts: Vec<&str> = line.splitn(FIELDS, '|').collect();
    if parts.len() != FIELDS {
        return Err(ParseError::new(
            format!("expected {FIELDS} '|'-separated squeue fields (%i|%T|%r|%M|%l|%j)"),
            Some(lineno),
            line,
        ));
    }
    let job_id = parts[0].trim();
    if job_id.is_empty() || !job_id.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(ParseError::new(
            "squeue job id is not numeric",
            Some(lineno),
            line,
        ));
    }
    let state =
        JobState::parse(parts[1]).map_err(|e| ParseError::new(e.what, Some(lineno), line))?;
    let reason = match parts[2].trim() {
        "" | "None" | "(null)" => None,
        r => Some(r.to_string()),
    };
    Ok(SqueueRow {
        job_id: job_id.to_string(),
        state,
        reason,
        elapsed_secs: parse_slurm_duration(parts[3]),
        time_limit_secs: parse_slurm_duration(parts[4]),
        name: parts[5].trim_end_matches(['\r', '\n']).to_string(),
    })
}

/// Parse [`squeue_command`] output strictly: blank lines are ignored, the first malformed
/// line (wrong field count, non-numeric id, unknown state) is an error naming its line.
pub fn parse_squeue(text: &str) -> Result<Vec<SqueueRow>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(l, i + 1))
        .collect()
}

/// Parse [`squeue_command`] output, skipping malformed lines with one warning each, so one
/// odd line does not hide every other job's state.
pub fn parse_squeue_lenient(text: &str) -> Parsed<SqueueRow> {
    let mut out = Parsed::default();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        match parse_line(l, i + 1) {
            Ok(r) => out.rows.push(r),
            Err(e) => out.warnings.push(e),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Phase;

    #[test]
    fn command_lines() {
        let ids = vec!["1".to_string(), "22_3".to_string()];
        assert_eq!(
            squeue_command(&ids),
            vec![
                "squeue",
                "--noheader",
                "--array",
                "--states=all",
                "--format=%i|%T|%r|%M|%l|%j",
                "--jobs=1,22_3"
            ]
        );
        assert_eq!(
            squeue_user_command("alice").unwrap().last().unwrap(),
            "--user=alice"
        );
        let by = squeue_by_names_command("alice", &["ms.a.t1".into(), "ms.b.t2".into()]).unwrap();
        assert_eq!(by.last().unwrap(), "--name=ms.a.t1,ms.b.t2");
        assert!(squeue_user_command("a b").is_err());
        assert!(squeue_by_names_command("alice", &["a,b".into()]).is_err());
    }

    #[test]
    fn parses_rows() {
        let text = "123|PENDING|Priority|0:00|1-00:00:00|ms.t.tok\n\n\
                    124_2|RUNNING|None|1:02:03|UNLIMITED|odd|name\n\
                    125|COMPLETING|None|10:00|30:00|x\n";
        let rows = parse_squeue(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].reason.as_deref(), Some("Priority"));
        assert_eq!(rows[0].time_limit_secs, Some(86_400));
        assert_eq!(
            rows[0].phase(),
            Phase::Queued {
                reason: Some("Priority".into())
            }
        );
        assert_eq!(rows[1].name, "odd|name");
        assert_eq!(rows[1].elapsed_secs, Some(3723));
        assert_eq!(rows[1].time_limit_secs, None);
        assert_eq!(rows[2].phase(), Phase::Running);
        let found: Vec<_> = rows_with_name_prefix(&rows, "ms.").collect();
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn malformed_lines() {
        for bad in [
            "garbage",
            "1|RUNNING",
            "x|RUNNING|None|0:00|1:00|n",
            "1|DONE|None|0|0|n",
        ] {
            let e = parse_squeue(bad).unwrap_err();
            assert_eq!(e.line, Some(1), "{bad:?}");
        }
        let p = parse_squeue_lenient("oops\n5|RUNNING|None|0:01|5:00|n\n|||||\n");
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.warnings.len(), 2);
        assert_eq!(p.warnings[1].line, Some(3));
        assert!(parse_squeue("").unwrap().is_empty());
    }

    #[test]
    fn array_elements() {
        assert_eq!(array_element("123_4"), Some(("123", 4)));
        assert_eq!(array_element("7_0"), Some(("7", 0)));
        for id in [
            "123",
            "123_[0-49%4]",
            "123+0",
            "_4",
            "123_",
            "a_1",
            "1_2_3",
            "1_99999999999",
        ] {
            assert_eq!(array_element(id), None, "{id}");
        }
        // With --array, squeue lists pending elements one per line.
        let rows = parse_squeue(
            "55_0|PENDING|None|0:00|5:00|ms.scan.b1\n55_1|RUNNING|None|0:01|5:00|ms.scan.b1\n",
        )
        .unwrap();
        let found: Vec<_> = rows
            .iter()
            .filter_map(|r| array_element(&r.job_id))
            .collect();
        assert_eq!(found, [("55", 0), ("55", 1)]);
    }

    #[test]
    fn invalid_id_stderr() {
        assert!(is_invalid_job_id_error(
            "slurm_load_jobs error: Invalid job id specified\n"
        ));
        assert!(!is_invalid_job_id_error("ssh: connect to host x port 22"));
    }
}
