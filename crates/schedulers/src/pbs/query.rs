//! Whether a `qstat` answer can be trusted.
//!
//! A batched `qstat -f <ids…>` exits non-zero both when the server did not
//! answer (down, restarting, `pbs_iff` failing, qstat missing) and when some
//! of the ids are simply no longer known. Only the second case says
//! anything about the jobs; in the first, absence from stdout means nothing
//! and the caller must treat the query as transient, never as "the job is
//! gone".

use super::PbsFlavor;
use super::{parse_qstat_json, parse_qstat_text, PbsJob};

/// One stderr line that is qstat's complaint about one id it does not know
/// (any more): `qstat: Unknown Job Id 12.s` (PBS Pro), `qstat: Unknown Job
/// Id Error 12.s` (Torque), `qstat: 12.s Job has finished, use -x or -H …`
/// (PBS Pro without `-x` or without job history).
fn is_per_job_complaint(line: &str) -> bool {
    line.contains("Unknown Job Id") || line.contains("Job has finished")
}

/// `Err(detail)` when a `qstat` run that exited with `status` and printed
/// `stderr` did not answer for the jobs (so its stdout must not be read as
/// "these jobs are gone"); `Ok(())` when stdout holds every job the server
/// knows: exit 0, or a non-zero exit explained entirely by per-job
/// "unknown"/"finished" lines.
pub fn qstat_failure(status: i32, stderr: &str) -> Result<(), String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if status == 0 || (!lines.is_empty() && lines.iter().all(|l| is_per_job_complaint(l))) {
        return Ok(());
    }
    let said = if lines.is_empty() {
        "no message".to_string()
    } else {
        lines.join("; ")
    };
    Err(format!("qstat failed (exit status {status}): {said}"))
}

/// The jobs in a `qstat` answer, or `Err(detail)` when the answer says
/// nothing reliable about them: the query failed ([`qstat_failure`]) or its
/// output does not parse. Torque's text never fails to parse, but output
/// that is not empty and holds no job at all is refused too, since a
/// working qstat prints either jobs or nothing.
pub fn qstat_jobs(
    flavor: PbsFlavor,
    status: i32,
    stdout: &str,
    stderr: &str,
) -> Result<Vec<PbsJob>, String> {
    qstat_failure(status, stderr)?;
    match flavor {
        PbsFlavor::Pro if stdout.trim().is_empty() => Ok(Vec::new()),
        PbsFlavor::Pro => parse_qstat_json(stdout)
            .map(|p| p.rows)
            .map_err(|e| format!("qstat answered something that is not its JSON: {e}")),
        PbsFlavor::Torque => {
            let parsed = parse_qstat_text(stdout);
            if parsed.rows.is_empty() && !stdout.trim().is_empty() {
                return Err(format!(
                    "qstat answered something that is not `qstat -f` text: {}",
                    stdout.trim().chars().take(200).collect::<String>()
                ));
            }
            Ok(parsed.rows)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f9_a_failed_qstat_is_not_an_answer() {
        for (status, stderr) in [
            (2, "qstat: cannot connect to server pbs01 (errno=111)\n"),
            (1, "pbs_iff: cannot read reply from pbs_server\nNo Permission.\nqstat: cannot connect to server pbs01 (errno=15007)\n"),
            (127, "sh: 1: qstat: not found\n"),
            (137, ""),
            // One unknown id, but also a server problem: not trusted.
            (153, "qstat: Unknown Job Id 12.s\nqstat: Server pbs01 is shutting down\n"),
        ] {
            let err = qstat_failure(status, stderr).unwrap_err();
            assert!(err.contains(&status.to_string()), "{err}");
            assert!(qstat_jobs(PbsFlavor::Pro, status, "", stderr).is_err());
            assert!(qstat_jobs(PbsFlavor::Torque, status, "", stderr).is_err());
        }
    }

    #[test]
    fn f9_unknown_ids_are_an_answer() {
        assert_eq!(qstat_failure(0, ""), Ok(()));
        assert_eq!(qstat_failure(153, "qstat: Unknown Job Id 12.s\n"), Ok(()));
        assert_eq!(
            qstat_failure(
                153,
                "qstat: Unknown Job Id Error 12.s\nqstat: Unknown Job Id Error 13.s\n"
            ),
            Ok(())
        );
        assert_eq!(
            qstat_failure(
                35,
                "qstat: 12.s Job has finished, use -x or -H to obtain historical job information\n"
            ),
            Ok(())
        );
        assert_eq!(
            qstat_jobs(PbsFlavor::Pro, 153, "", "qstat: Unknown Job Id 12.s\n"),
            Ok(Vec::new())
        );
    }

    #[test]
    fn f9_output_that_does_not_parse_is_not_an_answer() {
        let err = qstat_jobs(PbsFlavor::Pro, 0, "<html>proxy error</html>", "").unwrap_err();
        assert!(err.contains("not its JSON"), "{err}");
        let err = qstat_jobs(PbsFlavor::Torque, 0, "garbage\n", "").unwrap_err();
        assert!(err.contains("qstat -f"), "{err}");
        assert_eq!(qstat_jobs(PbsFlavor::Torque, 0, "", ""), Ok(Vec::new()));
    }
}
