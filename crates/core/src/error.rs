//! The error type of the core library.
//!
//! Errors come in two kinds that faces treat differently: [`Error::is_user_error`]
//! is true for bad input (a malformed workspace, an unknown task, a bad flag
//! value) — the CLI exits with code 2 and nothing was changed; everything else
//! (IO, the store, a broken invariant) exits with code 1.

use std::path::PathBuf;

/// Convenient alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in matterstack-core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The workspace (`matterstack.toml` and its files) is invalid. Every
    /// problem found is listed, each naming the field, the value and the fix.
    #[error("{file}: {} problem{} found:\n{}", problems.len(), if problems.len() == 1 { "" } else { "s" }, problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Spec {
        /// The file the problems were found in.
        file: PathBuf,
        /// One line per problem.
        problems: Vec<String>,
    },
    /// Any other bad input from the user (an unknown task, a bad argument).
    #[error("{0}")]
    Input(String),
    /// A state transition the model forbids (a bug or a racing command).
    #[error(transparent)]
    Transition(#[from] crate::model::state::IllegalTransition),
    /// The SQLite store failed.
    #[error("store {path}: {source}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A migration of the store failed.
    #[error("store {path}: migration failed: {message}")]
    Migration {
        /// The database file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A filesystem operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What we were doing ("create", "read", …).
        action: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A cluster could not be reached (see [`crate::transport::TransportError`]).
    #[error(transparent)]
    Transport(#[from] crate::transport::TransportError),
    /// A scheduler refused or failed a command.
    #[error("{0}")]
    Scheduler(String),
    /// The store holds something this version cannot read.
    #[error("corrupt store: {0}")]
    Corrupt(String),
}

impl Error {
    /// True when the error was caused by bad user input (CLI exit code 2).
    pub fn is_user_error(&self) -> bool {
        matches!(self, Error::Spec { .. } | Error::Input(_))
    }

    /// True for failures worth retrying later (a cluster out of reach).
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Transport(t) if t.is_transient())
    }

    /// Builds an [`Error::Io`] from an action, a path and an OS error.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
