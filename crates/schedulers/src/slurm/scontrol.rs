//! `scontrol show job -o <id>` (one line of `Key=Value` pairs per job).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::parse_slurm_duration;
use super::sacct::ExitCode;
use super::state::JobState;
use crate::error::ParseError;

/// argv: `scontrol show job -o <id>`.
pub fn scontrol_show_job_command(job_id: &str) -> Vec<String> {
    vec![
        "scontrol".into(),
        "show".into(),
        "job".into(),
        "-o".into(),
        job_id.to_string(),
    ]
}

/// One job from `scontrol show job -o`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScontrolJob {
    /// `JobId`.
    pub job_id: String,
    /// `JobName`.
    pub job_name: Option<String>,
    /// `JobState`.
    pub state: JobState,
    /// `Reason` (`None` when SLURM prints `None`).
    pub reason: Option<String>,
    /// `ExitCode` (`code:signal`).
    pub exit_code: Option<ExitCode>,
    /// `StdOut` path.
    pub std_out: Option<String>,
    /// `StdErr` path.
    pub std_err: Option<String>,
    /// `RunTime` in seconds.
    pub run_time_secs: Option<u64>,
    /// `TimeLimit` in seconds (`None` for `UNLIMITED`).
    pub time_limit_secs: Option<u64>,
    /// Every key=value pair on the line, as printed.
    pub fields: BTreeMap<String, String>,
}

impl ScontrolJob {
    /// This job's [`crate::Phase`].
    pub fn phase(&self) -> crate::Phase {
        self.state
            .to_phase(self.reason.as_deref(), self.exit_code.map(|e| e.code))
    }
}

/// Does `tok` start a new `Key=` pair? Keys are like `JobId`, `AllocNode:Sid`, `CPUs/Task`,
/// `ReqB:S:C:T`.
fn key_of(tok: &str) -> Option<(&str, &str)> {
    let (k, v) = tok.split_once('=')?;
    let ok = k.starts_with(|c: char| c.is_ascii_alphabetic())
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/_".contains(c));
    ok.then_some((k, v))
}

fn fields_of(line: &str) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<String> = None;
    for tok in line.split_whitespace() {
        match key_of(tok) {
            Some((k, v)) => {
                map.insert(k.to_string(), v.to_string());
                last = Some(k.to_string());
            }
            None => {
                // a value with spaces (e.g. a Comment): glue it back to the previous value
                if let Some(v) = last.as_ref().and_then(|k| map.get_mut(k)) {
                    v.push(' ');
                    v.push_str(tok);
                }
            }
        }
    }
    map
}

fn parse_line(line: &str, lineno: usize) -> Result<ScontrolJob, ParseError> {
    let f = fields_of(line);
    let get = |k: &str| {
        f.get(k)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty() && *v != "(null)")
            .map(str::to_string)
    };
    let job_id = get("JobId")
        .ok_or_else(|| ParseError::new("scontrol line has no JobId=", Some(lineno), line))?;
    let state_text = get("JobState")
        .ok_or_else(|| ParseError::new("scontrol line has no JobState=", Some(lineno), line))?;
    let state =
        JobState::parse(&state_text).map_err(|e| ParseError::new(e.what, Some(lineno), line))?;
    Ok(ScontrolJob {
        job_id,
        job_name: get("JobName"),
        state,
        reason: get("Reason").filter(|r| r != "None"),
        exit_code: get("ExitCode").and_then(|e| ExitCode::parse(&e)),
        std_out: get("StdOut"),
        std_err: get("StdErr"),
        run_time_secs: get("RunTime").and_then(|t| parse_slurm_duration(&t)),
        time_limit_secs: get("TimeLimit").and_then(|t| parse_slurm_duration(&t)),
        fields: f,
    })
}

/// Parse `scontrol show job -o` output: one job per non-blank line (job arrays print one line
/// per element). A line without `JobId=`/`JobState=` or with an unknown state is an error,
/// as is squeue/scontrol's `Invalid job id specified` text.
pub fn parse_scontrol_show_job(text: &str) -> Result<Vec<ScontrolJob>, ParseError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse_line(l, i + 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Phase;

    #[test]
    fn parses_pending_with_comment_spaces() {
        let line = "JobId=42 JobName=ms.a.t UserId=u(1) JobState=PENDING Reason=Resources \
                    Comment=hello big world ExitCode=0:0 RunTime=00:00:00 TimeLimit=1-00:00:00 \
                    StdErr=/s/e.log StdIn=/dev/null StdOut=/s/o.log Power=";
        let j = &parse_scontrol_show_job(line).unwrap()[0];
        assert_eq!(j.job_id, "42");
        assert_eq!(j.fields["Comment"], "hello big world");
        assert_eq!(j.time_limit_secs, Some(86_400));
        assert_eq!(j.std_out.as_deref(), Some("/s/o.log"));
        assert_eq!(
            j.phase(),
            Phase::Queued {
                reason: Some("Resources".into())
            }
        );
    }

    #[test]
    fn errors() {
        assert!(
            parse_scontrol_show_job("slurm_load_jobs error: Invalid job id specified").is_err()
        );
        assert!(parse_scontrol_show_job("JobId=1 JobState=NOPE").is_err());
        assert!(parse_scontrol_show_job("JobState=RUNNING").is_err());
        assert!(parse_scontrol_show_job("").unwrap().is_empty());
        assert_eq!(
            scontrol_show_job_command("7"),
            ["scontrol", "show", "job", "-o", "7"]
        );
    }
}
