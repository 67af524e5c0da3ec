//! The exit marker a job's wrapper script writes (GUIDE §4 invariant 3).
//!
//! The scripts rendered by [`crate::script`] write, inside the marker directory:
//! `started` (epoch seconds when the command began), `finished` (epoch seconds when it ended)
//! and `exit` (the command's exit code, written to `exit.tmp` then renamed, so `exit` is
//! either absent or complete).

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// File names inside the marker directory.
pub const STARTED_FILE: &str = "started";
/// See [`STARTED_FILE`].
pub const FINISHED_FILE: &str = "finished";
/// See [`STARTED_FILE`].
pub const EXIT_FILE: &str = "exit";

/// The contents of a job's marker files, as read by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExitMarker {
    /// The wrapped command's exit code (`$?`: 128+n when killed by signal n).
    pub exit_code: i32,
    /// Epoch seconds from `started`, when it was read and parsed.
    pub started_at: Option<u64>,
    /// Epoch seconds from `finished`, when it was read and parsed.
    pub finished_at: Option<u64>,
}

impl ExitMarker {
    /// A marker with only an exit code.
    pub fn new(exit_code: i32) -> Self {
        ExitMarker {
            exit_code,
            started_at: None,
            finished_at: None,
        }
    }

    /// Parse the text of the `exit` file (an integer, surrounding whitespace allowed).
    ///
    /// Fails on empty or non-integer text (e.g. a truncated write on a broken filesystem).
    pub fn parse_exit(text: &str) -> Result<Self, ParseError> {
        let t = text.trim();
        t.parse::<i32>()
            .map(ExitMarker::new)
            .map_err(|_| ParseError::new("exit marker is not an integer exit code", None, text))
    }

    /// Parse a `started`/`finished` file (epoch seconds). `None` for anything else.
    pub fn parse_epoch(text: &str) -> Option<u64> {
        text.trim().parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exit_file() {
        assert_eq!(ExitMarker::parse_exit("0\n").unwrap().exit_code, 0);
        assert_eq!(ExitMarker::parse_exit(" 137 ").unwrap().exit_code, 137);
        assert!(ExitMarker::parse_exit("").is_err());
        assert!(ExitMarker::parse_exit("1\n2").is_err());
        assert!(ExitMarker::parse_exit("abc").is_err());
        assert_eq!(ExitMarker::parse_epoch("1700000000\n"), Some(1_700_000_000));
        assert_eq!(ExitMarker::parse_epoch("x"), None);
    }
}
