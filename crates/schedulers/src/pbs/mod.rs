//! PBS Pro (OpenPBS) and Torque: `qsub` output, `qstat` parsers, state and exit-status
//! mapping onto [`Phase`].
//!
//! * PBS Pro: [`qstat_json_command`] (`qstat -f -F json -x <ids…>`) + [`parse_qstat_json`].
//! * Torque: [`qstat_text_command`] (`qstat -f <ids…>`) + [`parse_qstat_text`] (Torque's
//!   `-x` means XML, not "finished jobs"; completed jobs stay visible in state `C` for
//!   `keep_completed` seconds). The text parser also reads PBS Pro's plain `qstat -f`.
//!
//! Negative `Exit_status` values are JOB_EXEC codes set by the MoM and their meaning differs
//! between the two (e.g. -11 is "walltime exceeded" on Torque but "rerun" on PBS Pro), hence
//! [`PbsFlavor`].

mod exit;
mod qstat_json;
mod qstat_text;
mod qsub;
mod query;
mod state;

pub use exit::{exit_phase, job_exec_name};
pub use qstat_json::{parse_qstat_json, qstat_json_command};
pub use qstat_text::{parse_qstat_text, qstat_text_command};
pub use qsub::parse_qsub;
pub use query::{qstat_failure, qstat_jobs};
pub use state::PbsState;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::marker::ExitMarker;
use crate::phase::{combine, Phase};

/// Which PBS family the cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PbsFlavor {
    /// PBS Professional / OpenPBS (Altair).
    Pro,
    /// Torque (Adaptive Computing).
    Torque,
}

/// One job from `qstat -f` (JSON or text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PbsJob {
    /// Full job id as printed (`1234.server`, arrays `1234[].server`).
    pub job_id: String,
    /// `Job_Name`.
    pub name: Option<String>,
    /// `job_state`.
    pub state: PbsState,
    /// `Exit_status` (PBS Pro) / `exit_status` (Torque).
    pub exit_status: Option<i32>,
    /// `comment` (PBS Pro's scheduler/server comment).
    pub comment: Option<String>,
    /// `queue`.
    pub queue: Option<String>,
    /// Every attribute as text; nested JSON objects flattened as `Resource_List.walltime`.
    pub attrs: BTreeMap<String, String>,
}

impl PbsJob {
    /// This job's [`Phase`] on a cluster of `flavor` (rules on [`PbsState::to_phase`] and
    /// [`exit_phase`]).
    pub fn phase(&self, flavor: PbsFlavor) -> Phase {
        self.state
            .to_phase(self.exit_status, self.comment.as_deref(), flavor)
    }

    /// Build from flattened attributes; `None` when `job_state` is missing or unknown.
    pub(crate) fn from_attrs(job_id: &str, attrs: BTreeMap<String, String>) -> Option<PbsJob> {
        let get = |k: &str| {
            attrs
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.trim().to_string())
        };
        let state = PbsState::parse(&get("job_state")?)?;
        Some(PbsJob {
            job_id: job_id.to_string(),
            name: get("Job_Name"),
            state,
            exit_status: get("Exit_status").and_then(|v| v.parse().ok()),
            comment: get("comment").filter(|c| !c.is_empty()),
            queue: get("queue"),
            attrs,
        })
    }
}

/// Decide a PBS job's phase: the exit marker first (same rule as [`crate::slurm::decide`]),
/// then `qstat`, else [`Phase::Vanished`].
pub fn decide(marker: Option<ExitMarker>, qstat: Option<&PbsJob>, flavor: PbsFlavor) -> Phase {
    combine(marker.map(|m| m.exit_code), qstat.map(|j| j.phase(flavor)))
}

/// argv validation shared by the command builders: PBS job ids are
/// `<digits>[<optional []/index>][.<server>]`.
pub(crate) fn valid_job_id(id: &str) -> bool {
    let (seq, server) = match id.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (id, None),
    };
    let digits: String = seq.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = &seq[digits.len()..];
    let rest_ok = rest.is_empty()
        || (rest.starts_with('[')
            && rest.ends_with(']')
            && rest[1..rest.len() - 1].chars().all(|c| c.is_ascii_digit()));
    !digits.is_empty()
        && rest_ok
        && server.is_none_or(|s| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids() {
        for ok in ["1", "1234.server", "12[].pbs01", "12[3].a.b-c"] {
            assert!(valid_job_id(ok), "{ok}");
        }
        for bad in ["", ".x", "a1", "1.", "1;rm", "12[a]", "12[", "1 2"] {
            assert!(!valid_job_id(bad), "{bad}");
        }
    }
}
