//! End-to-end tests: the real `matterstack` binary on temporary workspaces.
//! One test binary (fast to link), one module per area, and a small builder
//! in `support`.

mod bad_input;
mod boundary_files;
mod chains;
mod cli;
mod cp2k;
mod crash;
mod events;
mod evidence;
mod fixing;
mod hardening;
mod lammps;
mod logs;
mod mbe;
mod probe;
mod qe;
mod queue;
mod quoting;
mod remote_records;
mod restart;
mod runs;
mod secrets;
mod slurm;
mod support;
mod sweeps;
mod templates;
mod testbed;
mod tui;
mod watch;
mod web;
mod workflows;
