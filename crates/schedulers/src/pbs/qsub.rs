//! `qsub` output.

use super::valid_job_id;
use crate::error::ParseError;

/// Parse `qsub` stdout: one job id such as `1234.server`, `1234` or `1234[].server`
/// (surrounding whitespace allowed). Anything else (empty, several lines, an error message)
/// is an error carrying the text.
pub fn parse_qsub(stdout: &str) -> Result<String, ParseError> {
    let t = stdout.trim();
    if t.is_empty() {
        return Err(ParseError::new("qsub printed no job id", None, stdout));
    }
    if t.lines().count() != 1 || !valid_job_id(t) {
        return Err(ParseError::new(
            "qsub output is not a job id like 1234.server",
            None,
            stdout,
        ));
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(parse_qsub("1234.server\n").unwrap(), "1234.server");
        assert_eq!(parse_qsub("77").unwrap(), "77");
        assert_eq!(
            parse_qsub("12[].pbs01.example.org\n").unwrap(),
            "12[].pbs01.example.org"
        );
        for bad in [
            "",
            "qsub: Unknown queue",
            "1234.server\n1235.server",
            "abc.server",
            "1234.",
            "1234.ser ver",
        ] {
            assert!(parse_qsub(bad).is_err(), "{bad:?}");
        }
    }
}
