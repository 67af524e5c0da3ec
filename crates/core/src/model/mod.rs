//! Plain data and rules. Nothing in this module performs IO.

pub mod cluster;
pub mod dag;
pub mod duration;
pub mod ids;
pub mod layout;
pub mod lenient;
pub mod record;
pub mod refs;
pub mod resources;
pub mod response;
pub mod spec;
pub mod state;
pub mod sweep;

pub use spec::{Command, RunSettings, TaskSpec, WorkspaceSpec};
pub use state::{AttemptStatus, Event, SchedulerPhase, Status, TaskStatus};
