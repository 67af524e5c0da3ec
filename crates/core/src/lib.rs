//! matterstack-core: everything behind the `matterstack` binary, in layers whose
//! dependencies point inward only (see `docs/ARCHITECTURE.md`):
//!
//! - [`model`]: plain data and rules (workspace spec, ids, resources, DAG
//!   validation, the task/attempt state machine). No IO.
//! - [`store`]: the SQLite store of one run. The only module that speaks SQL.
//! - [`transport`]: how values cross a shell boundary (the one quoting function).
//! - [`operators`]: how an attempt is carried out (local, SLURM/PBS/ssh,
//!   human, manual).
//! - [`files`]: the one rule for files crossing a trust boundary (links,
//!   special files, names), and the copy and move helpers that follow it.
//! - [`lookup`]: where templates are found; making a template task concrete.
//! - [`engine`]: one tick: poll → reconcile → schedule → launch.
//! - [`app`]: the application API every face (CLI, later TUI and web) calls.
//! - [`report`]: the progress lower layers report and the faces draw
//!   (nothing below the faces writes to the terminal); logs go through
//!   `tracing` (targets `matterstack::transport`, `matterstack::engine`,
//!   `matterstack::driver`), which the faces subscribe to.

pub mod app;
pub mod atomic;
pub mod engine;
pub mod env_vars;
pub mod error;
pub mod files;
pub mod lookup;
pub mod model;
pub mod operators;
mod process;
pub mod report;
pub mod store;
pub mod transport;

pub use error::{Error, Result};
