//! SLURM: command lines, output parsers, state mapping and the combined decision.
//!
//! One batched query per cluster per tick (GUIDE §4 invariant 4): [`squeue_command`] and
//! [`sacct_command`] take every job id at once. Command builders return argv vectors; the
//! transport quotes them with its one quoting function.

mod decide;
mod duration;
mod sacct;
mod sbatch;
mod scontrol;
mod sinfo;
mod squeue;
mod state;

pub use decide::decide;
pub use duration::{format_slurm_time, parse_slurm_duration};
pub use sacct::{parse_sacct, parse_sacct_lenient, sacct_command, ExitCode, SacctRow};
pub use sbatch::{
    classify_sbatch_error, parse_sbatch_parsable, SubmitError, SubmitErrorKind, SubmittedJob,
};
pub use scontrol::{parse_scontrol_show_job, scontrol_show_job_command, ScontrolJob};
pub use sinfo::{parse_sinfo_partitions, PartitionLimits, SINFO_PARTITIONS};
pub use squeue::{
    array_element, is_invalid_job_id_error, parse_squeue, parse_squeue_lenient,
    rows_with_name_prefix, squeue_by_names_command, squeue_command, squeue_user_command, SqueueRow,
    SQUEUE_FORMAT,
};
pub use state::JobState;
