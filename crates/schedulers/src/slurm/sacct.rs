//! Batched `sacct` queries and their parser.

use serde::{Deserialize, Serialize};

use super::duration::parse_slurm_duration;
use super::state::JobState;
use crate::error::{ParseError, Parsed};

const FORMAT: &str = "JobID,JobName,State,ExitCode,Elapsed,Start,End";
const FIELDS: usize = 7;

/// `sacct`'s `ExitCode` field: `code:signal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitCode {
    /// The exit code of the batch script (or step).
    pub code: i32,
    /// The signal that ended it, 0 when none.
    pub signal: i32,
}

impl ExitCode {
    /// Parse `code:signal` (also a bare `code`). `None` for empty or malformed text.
    pub fn parse(s: &str) -> Option<ExitCode> {
        let s = s.trim();
        let (c, sig) = s.split_once(':').unwrap_or((s, "0"));
        Some(ExitCode {
            code: c.trim().parse().ok()?,
            signal: sig.trim().parse().ok()?,
        })
    }
}

/// One job allocation from [`sacct_command`] output (steps folded in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SacctRow {
    /// Job id of the allocation (`12345`, `12345_7`, `12345+0`).
    pub job_id: String,
    /// Job name.
    pub name: String,
    /// Allocation state (`CANCELLED by 1000` parses as `Cancelled`).
    pub state: JobState,
    /// The allocation's exit code, or the `.batch` step's (then any step's) when the
    /// allocation line has none.
    pub exit_code: Option<ExitCode>,
    /// Elapsed seconds.
    pub elapsed_secs: Option<u64>,
    /// Start time as printed (`2024-01-01T12:00:00`); `None` for `Unknown`/`None`/empty.
    pub start: Option<String>,
    /// End time as printed; `None` for `Unknown`/`None`/empty.
    pub end: Option<String>,
}

impl SacctRow {
    /// This row's [`crate::Phase`], with the exit code and, when a signal ended the job, the
    /// signal named in the reason.
    pub fn phase(&self) -> crate::Phase {
        let reason = self
            .exit_code
            .filter(|e| e.signal != 0)
            .map(|e| format!("{} (signal {})", self.state.long_name(), e.signal));
        self.state
            .to_phase(reason.as_deref(), self.exit_code.map(|e| e.code))
    }
}

/// argv for one batched query:
/// `sacct --parsable2 --noheader --format=JobID,JobName,State,ExitCode,Elapsed,Start,End --jobs=a,b`.
///
/// Without accounting storage (`slurmdbd`), sacct fails with
/// `Slurm accounting storage is disabled`; callers treat that as "no sacct view".
pub fn sacct_command(job_ids: &[String]) -> Vec<String> {
    vec![
        "sacct".to_string(),
        "--parsable2".to_string(),
        "--noheader".to_string(),
        format!("--format={FORMAT}"),
        format!("--jobs={}", job_ids.join(",")),
    ]
}

fn opt_time(s: &str) -> Option<String> {
    match s.trim() {
        "" | "Unknown" | "None" => None,
        t => Some(t.to_string()),
    }
}

struct Line<'a> {
    id: &'a str,
    step: Option<&'a str>,
    name: String,
    state: &'a str,
    exit: &'a str,
    elapsed: &'a str,
    start: &'a str,
    end: &'a str,
}

fn split_line(line: &str, lineno: usize) -> Result<Line<'_>, ParseError> {
    let parts: Vec<&str> = line.split('|').collect();
    if parts.len() < FIELDS {
        return Err(ParseError::new(
            format!("expected {FIELDS} '|'-separated sacct fields ({FORMAT})"),
            Some(lineno),
            line,
        ));
    }
    // A job name containing '|' spreads over several fields: the name is whatever lies
    // between the first field and the last five.
    let n = parts.len();
    let (id, step) = match parts[0].split_once('.') {
        Some((i, s)) => (i, Some(s)),
        None => (parts[0], None),
    };
    if id.is_empty() || !id.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(ParseError::new(
            "sacct job id is not numeric",
            Some(lineno),
            line,
        ));
    }
    Ok(Line {
        id,
        step,
        name: parts[1..n - 5].join("|"),
        state: parts[n - 5],
        exit: parts[n - 4],
        elapsed: parts[n - 3],
        start: parts[n - 2],
        end: parts[n - 1],
    })
}

fn parse_impl(text: &str, strict: bool) -> Result<Parsed<SacctRow>, ParseError> {
    let mut out: Parsed<SacctRow> = Parsed::default();
    // step exit codes seen per job id: (is_batch, code)
    let mut steps: Vec<(String, bool, ExitCode)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let lineno = i + 1;
        let line = match split_line(raw, lineno) {
            Ok(l) => l,
            Err(e) if strict => return Err(e),
            Err(e) => {
                out.warnings.push(e);
                continue;
            }
        };
        if let Some(step) = line.step {
            if let Some(code) = ExitCode::parse(line.exit) {
                steps.push((line.id.to_string(), step == "batch", code));
            }
            continue;
        }
        let state = match JobState::parse(line.state) {
            Ok(s) => s,
            Err(e) => {
                let e = ParseError::new(e.what, Some(lineno), raw);
                if strict {
                    return Err(e);
                }
                out.warnings.push(e);
                continue;
            }
        };
        out.rows.push(SacctRow {
            job_id: line.id.to_string(),
            name: line.name,
            state,
            exit_code: ExitCode::parse(line.exit),
            elapsed_secs: parse_slurm_duration(line.elapsed),
            start: opt_time(line.start),
            end: opt_time(line.end),
        });
    }
    for row in out.rows.iter_mut().filter(|r| r.exit_code.is_none()) {
        let mine = || steps.iter().filter(|(id, _, _)| *id == row.job_id);
        row.exit_code = mine()
            .find(|(_, batch, _)| *batch)
            .or_else(|| mine().next())
            .map(|(_, _, c)| *c);
    }
    Ok(out)
}

/// Parse [`sacct_command`] output strictly. Step lines (`123.batch`, `123.extern`, `123.0`)
/// are not rows; their exit codes fill an allocation's missing `ExitCode` (`.batch`
/// preferred). A malformed line or unknown state is an error naming its line.
pub fn parse_sacct(text: &str) -> Result<Vec<SacctRow>, ParseError> {
    parse_impl(text, true).map(|p| p.rows)
}

/// Like [`parse_sacct`], but malformed lines are skipped with one warning each.
pub fn parse_sacct_lenient(text: &str) -> Parsed<SacctRow> {
    parse_impl(text, false).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase::{FailureKind, Phase};

    #[test]
    fn command_line() {
        assert_eq!(
            sacct_command(&["1".into(), "2".into()]),
            vec![
                "sacct",
                "--parsable2",
                "--noheader",
                "--format=JobID,JobName,State,ExitCode,Elapsed,Start,End",
                "--jobs=1,2"
            ]
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(
            ExitCode::parse("0:0"),
            Some(ExitCode { code: 0, signal: 0 })
        );
        assert_eq!(
            ExitCode::parse("0:9"),
            Some(ExitCode { code: 0, signal: 9 })
        );
        assert_eq!(ExitCode::parse("2"), Some(ExitCode { code: 2, signal: 0 }));
        for bad in ["", ":", "a:b", "1:"] {
            assert_eq!(ExitCode::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn folds_steps() {
        let text = "\
100|ms.a.t|COMPLETED|0:0|00:01:00|2024-01-01T00:00:00|2024-01-01T00:01:00
100.batch|batch|COMPLETED|0:0|00:01:00|2024-01-01T00:00:00|2024-01-01T00:01:00
100.extern|extern|COMPLETED|0:0|00:01:00|2024-01-01T00:00:00|2024-01-01T00:01:00
101|x|CANCELLED by 1000||00:00:05|2024-01-01T00:00:00|2024-01-01T00:00:05
101.extern|extern|CANCELLED||00:00:05|2024-01-01T00:00:00|2024-01-01T00:00:05
101.batch|batch|CANCELLED|0:15|00:00:05|2024-01-01T00:00:00|2024-01-01T00:00:05
102|y|PENDING|0:0|00:00:00|Unknown|Unknown
103|a|b|OUT_OF_MEMORY|0:125|00:10:00|2024-01-01T00:00:00|2024-01-01T00:10:00
";
        let rows = parse_sacct(text).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].phase(), Phase::Finished { exit_code: Some(0) });
        assert_eq!(rows[1].state, JobState::Cancelled);
        assert_eq!(
            rows[1].exit_code,
            Some(ExitCode {
                code: 0,
                signal: 15
            })
        );
        assert_eq!(
            rows[1].phase(),
            Phase::Failed {
                kind: FailureKind::Cancelled,
                exit_code: Some(0),
                reason: Some("CANCELLED (signal 15)".into())
            }
        );
        assert_eq!(rows[2].start, None);
        assert!(matches!(rows[2].phase(), Phase::Queued { .. }));
        assert_eq!(rows[3].name, "a|b");
        assert!(matches!(
            rows[3].phase(),
            Phase::Failed {
                kind: FailureKind::OutOfMemory,
                ..
            }
        ));
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_sacct("1|2|3").unwrap_err().line, Some(1));
        assert!(parse_sacct("1|n|WEIRD|0:0|0|a|b").is_err());
        assert!(parse_sacct("abc|n|RUNNING|0:0|0|a|b").is_err());
        let p = parse_sacct_lenient("junk\n1|n|RUNNING|0:0|00:00:01|a|Unknown\n");
        assert_eq!((p.rows.len(), p.warnings.len()), (1, 1));
        assert!(parse_sacct("").unwrap().is_empty());
    }
}
