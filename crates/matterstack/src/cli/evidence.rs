//! `export-evidence RUN`: write the run's evidence bundle.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use matterstack_core::app::Run;

use super::style;

/// Arguments of `matterstack export-evidence`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Writes <RUN>/evidence/ (replacing an older export): evidence.json (tasks, \
attempts with lineage and timings, input and output files with SHA-256, software versions, \
events), report.md, and report.html (one self-contained page with a timeline of attempts and \
plots of numeric results). Only reads the run, so it works while the run is running.\n\n\
Example:\n  matterstack export-evidence examples/demo/runs/demo-1\n  \
matterstack export-evidence runs/r1 --json | jq .counts"
)]
pub struct ExportArgs {
    /// The run directory.
    pub run: PathBuf,
    /// Print the summary as JSON: {dir, run, status, tasks, attempts, files, plots, counts, written}.
    #[arg(long)]
    pub json: bool,
}

/// Exports and prints where the bundle went and a one-line summary.
pub fn dispatch(args: ExportArgs) -> Result<ExitCode> {
    let summary = Run::open(&args.run)?.export_evidence()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        let counts = summary
            .counts
            .iter()
            .map(|(s, n)| format!("{n} {}", style::status(s)))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "run {} {}: {} task(s) ({counts}), {} attempt(s), {} file(s) hashed, {} plot(s)",
            summary.run,
            style::status(&summary.status),
            summary.tasks,
            summary.attempts,
            summary.files,
            summary.plots.len()
        );
        println!("{}", summary.dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
