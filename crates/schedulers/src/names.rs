//! Job names that carry the attempt's idempotency token (GUIDE §4 invariant 2).
//!
//! Format: `ms.<task part>.<token>`.
//!
//! * `<token>`: 1–64 characters of `[A-Za-z0-9_-]` (no `.`), given by the caller; an invalid
//!   token is an error, never silently rewritten (it must round-trip).
//! * `<task part>`: the task id with every character outside `[A-Za-z0-9_-]` replaced by `_`
//!   (so it never contains `.`), truncated so the whole name is at most [`MAX_JOB_NAME`]
//!   characters; `task` when the task id is empty.
//!
//! Every name produced is therefore `[A-Za-z0-9_.-]` only, at most 128 characters, starts with
//! [`JOB_NAME_PREFIX`], and [`token_from_job_name`] returns the token back.

/// Longest job name produced or accepted.
pub const MAX_JOB_NAME: usize = 128;
/// Longest token accepted.
pub const MAX_TOKEN: usize = 64;
/// Every matterstack job name starts with this.
pub const JOB_NAME_PREFIX: &str = "ms.";

/// A name or token that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The token is empty, too long or has a character outside `[A-Za-z0-9_-]`.
    #[error("invalid attempt token {0:?}: use 1-64 characters from A-Z a-z 0-9 _ -")]
    InvalidToken(String),
    /// The job name is empty, too long or has a character outside `[A-Za-z0-9_.-]`.
    #[error("invalid job name {0:?}: use 1-128 characters from A-Z a-z 0-9 _ . -")]
    InvalidJobName(String),
    /// A user name (for `squeue --user`) with characters outside `[A-Za-z0-9_.-]`.
    #[error("invalid user name {0:?}: use characters from A-Z a-z 0-9 _ . -")]
    InvalidUser(String),
}

fn token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn name_char(c: char) -> bool {
    token_char(c) || c == '.'
}

/// Check a token: 1–64 characters of `[A-Za-z0-9_-]`.
pub fn validate_token(token: &str) -> Result<(), NameError> {
    if token.is_empty() || token.len() > MAX_TOKEN || !token.chars().all(token_char) {
        return Err(NameError::InvalidToken(token.to_string()));
    }
    Ok(())
}

/// Check a job name: 1–128 characters of `[A-Za-z0-9_.-]`.
pub fn validate_job_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() || name.len() > MAX_JOB_NAME || !name.chars().all(name_char) {
        return Err(NameError::InvalidJobName(name.to_string()));
    }
    Ok(())
}

/// Check a user name for scheduler queries: 1–64 characters of `[A-Za-z0-9_.-]`.
pub fn validate_user(user: &str) -> Result<(), NameError> {
    if user.is_empty() || user.len() > 64 || !user.chars().all(name_char) || user.starts_with('-') {
        return Err(NameError::InvalidUser(user.to_string()));
    }
    Ok(())
}

/// Build the job name for `task_id` and attempt `token` (format in the module docs).
///
/// Fails only when `token` is invalid; any task id (including empty or non-ASCII) is accepted
/// and sanitised.
pub fn job_name(task_id: &str, token: &str) -> Result<String, NameError> {
    validate_token(token)?;
    let budget = MAX_JOB_NAME - JOB_NAME_PREFIX.len() - 1 - token.len();
    let mut task: String = task_id
        .chars()
        .map(|c| if token_char(c) { c } else { '_' })
        .take(budget)
        .collect();
    if task.is_empty() {
        task.push_str("task");
    }
    Ok(format!("{JOB_NAME_PREFIX}{task}.{token}"))
}

/// The token of a name built by [`job_name`], or `None` when `name` is not such a name
/// (other users' jobs, hand-submitted jobs, truncated names).
pub fn token_from_job_name(name: &str) -> Option<&str> {
    if validate_job_name(name).is_err() {
        return None;
    }
    let rest = name.strip_prefix(JOB_NAME_PREFIX)?;
    let (task, token) = rest.rsplit_once('.')?;
    if task.is_empty() || task.contains('.') || validate_token(token).is_err() {
        return None;
    }
    Some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_round_trips() {
        let n = job_name("relax/Si 2x2", "a1b2-c3_d4").unwrap();
        assert_eq!(n, "ms.relax_Si_2x2.a1b2-c3_d4");
        assert_eq!(token_from_job_name(&n), Some("a1b2-c3_d4"));
        assert_eq!(job_name("", "t").unwrap(), "ms.task.t");
        assert_eq!(job_name("a.b", "t").unwrap(), "ms.a_b.t");
    }

    #[test]
    fn truncates_long_task_ids() {
        let token = "x".repeat(64);
        let n = job_name(&"é".repeat(500), &token).unwrap();
        assert_eq!(n.len(), MAX_JOB_NAME);
        assert_eq!(token_from_job_name(&n), Some(token.as_str()));
    }

    #[test]
    fn rejects_bad_tokens() {
        for t in ["", "a.b", "a b", "ü", &"x".repeat(65), "a;rm"] {
            assert!(job_name("t", t).is_err(), "{t:?}");
        }
    }

    #[test]
    fn foreign_names_have_no_token() {
        for n in [
            "job", "ms.", "ms.task.", "ms..tok", "ms.a.b.c", "xx.a.b", "ms.a.b c", "",
        ] {
            assert_eq!(token_from_job_name(n), None, "{n:?}");
        }
        assert_eq!(
            token_from_job_name(&format!("ms.a.{}", "x".repeat(130))),
            None
        );
    }

    #[test]
    fn users() {
        assert!(validate_user("alice").is_ok());
        assert!(validate_user("a.b-c_1").is_ok());
        for u in ["", "-x", "a b", "a;b", "a,b"] {
            assert!(validate_user(u).is_err(), "{u:?}");
        }
    }
}
