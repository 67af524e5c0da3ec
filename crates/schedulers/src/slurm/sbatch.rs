//! `sbatch --parsable` output and `sbatch` error classification.

use serde::{Deserialize, Serialize};

use crate::error::ParseError;
use crate::script::JobSpec;

/// What `sbatch --parsable` printed: `12345` or `12345;cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedJob {
    /// The numeric job id.
    pub job_id: String,
    /// The cluster name on multi-cluster setups.
    pub cluster: Option<String>,
}

/// Parse `sbatch --parsable` stdout. Surrounding whitespace is allowed; anything else (empty
/// output, several lines, a non-numeric id, an empty cluster) is an error carrying the text.
pub fn parse_sbatch_parsable(stdout: &str) -> Result<SubmittedJob, ParseError> {
    let t = stdout.trim();
    let err = |what: &str| ParseError::new(what, None, stdout);
    if t.is_empty() {
        return Err(err("sbatch printed no job id"));
    }
    if t.lines().count() != 1 {
        return Err(err("sbatch --parsable printed more than one line"));
    }
    let (id, cluster) = match t.split_once(';') {
        Some((i, c)) => (i, Some(c)),
        None => (t, None),
    };
    if id.is_empty() || id.len() > 20 || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(err("sbatch job id is not a number"));
    }
    if let Some(c) = cluster {
        if c.is_empty()
            || !c
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        {
            return Err(err("sbatch cluster name after ';' is empty or invalid"));
        }
    }
    Ok(SubmittedJob {
        job_id: id.to_string(),
        cluster: cluster.map(str::to_string),
    })
}

/// The class of an `sbatch` refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubmitErrorKind {
    /// Unknown partition (`field = "partition"`).
    InvalidPartition,
    /// Unknown account or account/partition combination (`field = "account"`).
    InvalidAccount,
    /// Unknown QOS (`field = "qos"`).
    InvalidQos,
    /// Walltime missing or above a limit (`field = "walltime"`).
    TimeLimit,
    /// Memory request cannot be satisfied (`field = "memory"`).
    MemoryLimit,
    /// No node matches cores/nodes/memory/gres/constraint (`field = "resources"`).
    NodeConfiguration,
    /// Bad generic resource (`field = "gres"`).
    InvalidGres,
    /// Bad feature constraint (`field = "constraint"`).
    InvalidConstraint,
    /// The request violates an accounting/QOS policy (size or time limits).
    PolicyLimit,
    /// Too many jobs submitted already (retry once some have finished).
    SubmitLimit,
    /// The controller could not be reached or was busy (retry).
    ControllerUnavailable,
    /// Anything else.
    Other,
}

/// A classified `sbatch` failure: which field of the request is wrong, its value when known,
/// and the scheduler's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("sbatch refused the job ({kind:?}){}{}: {message}",
    .field.as_ref().map(|f| format!(", field {f}")).unwrap_or_default(),
    .value.as_ref().map(|v| format!(" = {v:?}")).unwrap_or_default())]
pub struct SubmitError {
    /// The class.
    pub kind: SubmitErrorKind,
    /// The request field at fault (`partition`, `account`, `qos`, `walltime`, `memory`,
    /// `resources`, `gres`, `constraint`), when one is.
    pub field: Option<String>,
    /// The offending value when the message names it or [`SubmitError::with_spec`] filled it.
    pub value: Option<String>,
    /// The most specific `error:` line from sbatch's stderr (or all of it, trimmed).
    pub message: String,
}

impl SubmitError {
    /// True when the user must change the request (everything but
    /// [`SubmitErrorKind::SubmitLimit`], [`SubmitErrorKind::ControllerUnavailable`] and
    /// [`SubmitErrorKind::Other`]).
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self.kind,
            SubmitErrorKind::SubmitLimit
                | SubmitErrorKind::ControllerUnavailable
                | SubmitErrorKind::Other
        )
    }

    /// True when resubmitting later may succeed unchanged.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            SubmitErrorKind::SubmitLimit | SubmitErrorKind::ControllerUnavailable
        )
    }

    /// Fill `value` from the submitted spec when the message did not name it.
    pub fn with_spec(mut self, spec: &JobSpec) -> Self {
        if self.value.is_none() {
            self.value = match self.field.as_deref() {
                Some("partition") => spec.partition.clone(),
                Some("account") => spec.account.clone(),
                Some("qos") => spec.qos.clone(),
                Some("gres") => spec.gres.clone(),
                Some("constraint") => spec.constraint.clone(),
                Some("walltime") => spec.walltime_secs.map(|s| format!("{s}s")),
                Some("memory") => spec.memory_mb.map(|m| format!("{m}MB")),
                Some("resources") => Some(format!(
                    "cores={} nodes={}",
                    spec.cores,
                    spec.nodes
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "auto".into())
                )),
                _ => None,
            };
        }
        self
    }
}

/// (needle, kind, field) checked in order against the lower-cased stderr.
const RULES: &[(&str, SubmitErrorKind, Option<&str>)] = &[
    (
        "invalid partition",
        SubmitErrorKind::InvalidPartition,
        Some("partition"),
    ),
    (
        "invalid account",
        SubmitErrorKind::InvalidAccount,
        Some("account"),
    ),
    ("invalid qos", SubmitErrorKind::InvalidQos, Some("qos")),
    (
        "requested time limit",
        SubmitErrorKind::TimeLimit,
        Some("walltime"),
    ),
    (
        "invalid time limit",
        SubmitErrorKind::TimeLimit,
        Some("walltime"),
    ),
    (
        "memory specification",
        SubmitErrorKind::MemoryLimit,
        Some("memory"),
    ),
    (
        "invalid generic resource",
        SubmitErrorKind::InvalidGres,
        Some("gres"),
    ),
    ("invalid gres", SubmitErrorKind::InvalidGres, Some("gres")),
    (
        "invalid feature",
        SubmitErrorKind::InvalidConstraint,
        Some("constraint"),
    ),
    (
        "requested node configuration",
        SubmitErrorKind::NodeConfiguration,
        Some("resources"),
    ),
    (
        "node count specification invalid",
        SubmitErrorKind::NodeConfiguration,
        Some("resources"),
    ),
    (
        "more processors requested than permitted",
        SubmitErrorKind::NodeConfiguration,
        Some("resources"),
    ),
    ("maxsubmit", SubmitErrorKind::SubmitLimit, None),
    (
        "job violates accounting/qos policy",
        SubmitErrorKind::PolicyLimit,
        None,
    ),
    (
        "unable to contact slurm controller",
        SubmitErrorKind::ControllerUnavailable,
        None,
    ),
    (
        "socket timed out",
        SubmitErrorKind::ControllerUnavailable,
        None,
    ),
    (
        "temporarily unable to accept job",
        SubmitErrorKind::ControllerUnavailable,
        None,
    ),
];

/// Classify `sbatch` stderr. Never fails: unrecognised text is [`SubmitErrorKind::Other`].
///
/// The value is taken from messages that name it (`invalid partition specified: X`); use
/// [`SubmitError::with_spec`] to fill it from the request otherwise. Recognised texts include
/// `sbatch: error: invalid partition specified: X`,
/// `Batch job submission failed: Invalid partition name specified`,
/// `Invalid account or account/partition combination specified`,
/// `Invalid qos specification`, `Requested time limit is invalid (missing or exceeds some
/// limit)`, `Requested node configuration is not available`,
/// `Memory specification can not be satisfied`, `Job violates accounting/QOS policy`,
/// `QOSMaxSubmitJobPerUserLimit`, `Unable to contact slurm controller`.
pub fn classify_sbatch_error(stderr: &str) -> SubmitError {
    let lower = stderr.to_ascii_lowercase();
    let (kind, field, needle) = RULES
        .iter()
        .find(|(n, _, _)| lower.contains(n))
        .map(|(n, k, f)| (*k, f.map(str::to_string), Some(*n)))
        .unwrap_or((SubmitErrorKind::Other, None, None));
    let line = needle
        .and_then(|n| stderr.lines().find(|l| l.to_ascii_lowercase().contains(n)))
        .unwrap_or(stderr)
        .trim();
    // "sbatch: error: invalid partition specified: X" names the value after the last ": "
    let value = line
        .to_ascii_lowercase()
        .find("specified: ")
        .map(|i| line[i + "specified: ".len()..].trim().to_string())
        .filter(|v| !v.is_empty());
    let message = line
        .trim_start_matches("sbatch: error: ")
        .trim_start_matches("sbatch: ")
        .to_string();
    SubmitError {
        kind,
        field,
        value,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsable_ok_and_errors() {
        assert_eq!(
            parse_sbatch_parsable("12345\n").unwrap(),
            SubmittedJob {
                job_id: "12345".into(),
                cluster: None
            }
        );
        assert_eq!(
            parse_sbatch_parsable("12345;alps")
                .unwrap()
                .cluster
                .as_deref(),
            Some("alps")
        );
        for bad in [
            "",
            "\n",
            "Submitted batch job 12345",
            "12345;",
            "12a",
            "1\n2",
            ";c",
            "123;a b",
            "-5",
            "123456789012345678901",
        ] {
            assert!(parse_sbatch_parsable(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn classifies() {
        let e = classify_sbatch_error(
            "sbatch: error: invalid partition specified: nosuch\n\
             sbatch: error: Batch job submission failed: Invalid partition name specified\n",
        );
        assert_eq!(e.kind, SubmitErrorKind::InvalidPartition);
        assert_eq!(e.field.as_deref(), Some("partition"));
        assert_eq!(e.value.as_deref(), Some("nosuch"));
        assert!(e.is_user_error() && !e.is_transient());
        assert!(e.to_string().contains("partition"), "{e}");

        let cases = [
            ("sbatch: error: Batch job submission failed: Invalid partition name specified", SubmitErrorKind::InvalidPartition),
            ("sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified", SubmitErrorKind::InvalidAccount),
            ("sbatch: error: Batch job submission failed: Invalid qos specification", SubmitErrorKind::InvalidQos),
            ("sbatch: error: Batch job submission failed: Requested time limit is invalid (missing or exceeds some limit)", SubmitErrorKind::TimeLimit),
            ("sbatch: error: Batch job submission failed: Requested node configuration is not available", SubmitErrorKind::NodeConfiguration),
            ("allocation failure: Requested node configuration is not available", SubmitErrorKind::NodeConfiguration),
            ("sbatch: error: Memory specification can not be satisfied", SubmitErrorKind::MemoryLimit),
            ("sbatch: error: Invalid generic resource (gres) specification", SubmitErrorKind::InvalidGres),
            ("sbatch: error: Invalid feature specification", SubmitErrorKind::InvalidConstraint),
            ("sbatch: error: QOSMaxSubmitJobPerUserLimit", SubmitErrorKind::SubmitLimit),
            ("sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)", SubmitErrorKind::PolicyLimit),
            ("sbatch: error: Batch job submission failed: Unable to contact slurm controller (connect failure)", SubmitErrorKind::ControllerUnavailable),
            ("sbatch: error: Batch job submission failed: Socket timed out on send/recv operation", SubmitErrorKind::ControllerUnavailable),
            ("something else entirely", SubmitErrorKind::Other),
            ("", SubmitErrorKind::Other),
        ];
        for (text, kind) in cases {
            assert_eq!(classify_sbatch_error(text).kind, kind, "{text}");
        }
        assert!(
            classify_sbatch_error("sbatch: error: Socket timed out on send/recv operation")
                .is_transient()
        );
    }

    #[test]
    fn fills_value_from_spec() {
        let spec = JobSpec {
            account: Some("chem42".into()),
            ..JobSpec::example()
        };
        let e = classify_sbatch_error(
            "sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified",
        )
        .with_spec(&spec);
        assert_eq!(e.field.as_deref(), Some("account"));
        assert_eq!(e.value.as_deref(), Some("chem42"));
        assert_eq!(e.message, "Batch job submission failed: Invalid account or account/partition combination specified");
    }
}
