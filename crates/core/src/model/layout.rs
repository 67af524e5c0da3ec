//! Where a run's jobs live on a cluster, and the run identity that keeps
//! two runs apart there.
//!
//! Every run made by `init` gets a random identity (`run.uid` in the store,
//! 12 hex digits). Its remote directories are
//! `<root>/<run-id>-<uid>/<task>/<n>/`, so two workspaces that both use
//! `--run-id test` on one cluster never share a directory. A run created
//! before run identities existed has none and keeps its old layout,
//! `<root>/<run-id>/<task>/<n>/`; the job-directory ownership check at
//! launch (the token in `job_info.json`) still keeps such a run from taking
//! over another attempt's directory.

/// Digits of a run identity.
pub const RUN_UID_LEN: usize = 12;

/// The directory under a cluster's project and scratch roots that holds the
/// jobs of run `run_id` with identity `uid` (none: a run from before
/// identities, whose directory is its id).
pub fn remote_run_dir(run_id: &str, uid: Option<&str>) -> String {
    match uid {
        Some(u) => format!("{run_id}-{u}"),
        None => run_id.to_string(),
    }
}

/// Checks a run identity read back from somewhere (a job record, a flag):
/// exactly [`RUN_UID_LEN`] lowercase hex digits.
///
/// Returns a message naming the value, the rule and the fix.
pub fn check_run_uid(uid: &str) -> Result<(), String> {
    if uid.len() == RUN_UID_LEN && uid.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')) {
        Ok(())
    } else {
        Err(format!(
            "run uid \"{uid}\" is not {RUN_UID_LEN} lowercase hex digits; give the uid `matterstack sync <cluster>` lists"
        ))
    }
}

/// Checks an attempt token read back from somewhere: 1 to 64 lowercase hex
/// digits (what the engine makes: a UUID's 32).
pub fn check_token(token: &str) -> Result<(), String> {
    if !token.is_empty()
        && token.len() <= 64
        && token.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f'))
    {
        Ok(())
    } else {
        Err(format!(
            "token \"{token}\" is not 1 to 64 lowercase hex digits (tokens are made by matterstack)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f7_runs_with_an_identity_get_their_own_directory() {
        assert_eq!(
            remote_run_dir("test", Some("0123456789ab")),
            "test-0123456789ab"
        );
        assert_ne!(
            remote_run_dir("test", Some("0123456789ab")),
            remote_run_dir("test", Some("ba9876543210"))
        );
        // Runs from before identities keep their layout.
        assert_eq!(remote_run_dir("test", None), "test");
    }

    #[test]
    fn uids_and_tokens_are_hex_only() {
        assert!(check_run_uid("0123456789ab").is_ok());
        for bad in [
            "",
            "0123456789a",
            "0123456789abc",
            "../../etc/xx",
            "0123456789aB",
        ] {
            assert!(check_run_uid(bad).unwrap_err().contains("run uid"), "{bad}");
        }
        assert!(check_token("a1b2").is_ok());
        for bad in ["", "a b", "a;b", "x", &"a".repeat(65)] {
            assert!(check_token(bad).unwrap_err().contains("token"), "{bad}");
        }
    }
}
