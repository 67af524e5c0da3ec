//! Parse errors shared by every parser in the crate.

use serde::{Deserialize, Serialize};

/// Why a piece of scheduler output could not be understood.
///
/// `line` is 1-based when the error is tied to one line of the input, `None` otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{what}{}: {input:?}", .line.map(|l| format!(" (line {l})")).unwrap_or_default())]
pub struct ParseError {
    /// What was expected or what went wrong, in words.
    pub what: String,
    /// 1-based line number in the parsed text, when known.
    pub line: Option<usize>,
    /// The offending input (truncated to 200 characters).
    pub input: String,
}

impl ParseError {
    /// Build an error; `input` is truncated to 200 characters so huge outputs stay readable.
    pub fn new(what: impl Into<String>, line: Option<usize>, input: &str) -> Self {
        let input: String = input.chars().take(200).collect();
        ParseError {
            what: what.into(),
            line,
            input,
        }
    }
}

/// Result of a lenient parse: the rows that parsed, and one warning per skipped line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parsed<T> {
    /// Successfully parsed rows, in input order.
    pub rows: Vec<T>,
    /// One entry per line that was skipped.
    pub warnings: Vec<ParseError>,
}

impl<T> Default for Parsed<T> {
    fn default() -> Self {
        Parsed {
            rows: Vec::new(),
            warnings: Vec::new(),
        }
    }
}
