//! Pure building blocks for driving batch schedulers (SLURM, PBS Pro, Torque) from matterstack.
//!
//! Everything in this crate is a function from text/values to values: it never starts a
//! process, touches a file, opens a socket or reads a clock. Time, randomness and command
//! output are passed in by the caller (the transport and operator layers), which keeps every
//! rule here unit-testable and deterministic.
//!
//! * [`slurm`]: `sbatch`/`squeue`/`sacct`/`scontrol` command lines, output parsers, the mapping
//!   of every SLURM job state onto [`Phase`], and [`slurm::decide`] which combines the job's own
//!   exit marker with the scheduler's views (marker first, GUIDE §4 invariant 3).
//! * [`pbs`]: `qsub`/`qstat` for PBS Pro (JSON) and Torque (`qstat -f` text) onto the same
//!   [`Phase`].
//! * [`politeness`]: token bucket, full-jitter backoff and an SSH failure classifier.
//! * [`script`]: SLURM and PBS batch-script rendering with an exit-code marker.
//! * [`names`]: job names that carry the attempt token, validated.
//!
//! Parsers never panic on any input: they return an error (naming the line and what was wrong)
//! or, in the `*_lenient` variants, skip the bad line and record a warning.

#![deny(missing_docs)]

pub mod error;
pub mod marker;
pub mod names;
pub mod pbs;
pub mod phase;
pub mod politeness;

pub mod script;
pub mod slurm;

pub use error::{ParseError, Parsed};
pub use marker::ExitMarker;
pub use matterstack_boundary::sh_quote;
pub use names::{job_name, token_from_job_name, validate_job_name, NameError};
pub use phase::{never_starts, FailureKind, Phase};
