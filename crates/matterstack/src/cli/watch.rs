//! `watch`: drives runs with the driver, printing what changes.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use matterstack_core::app::driver::{Driver, DriverEvent, DriverOptions};
use matterstack_core::app::{runs, Run, Verdict};
use matterstack_core::operators::link::Reachability;

use super::style;

/// `watch [RUN|WORKSPACE…] [--poll SECONDS] [--max-jobs N]`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Run directories, or workspaces (their runs still going). Default:
    /// every indexed run still going (`matterstack runs --status running`).
    targets: Vec<PathBuf>,
    /// Seconds between passes over the runs (a run is also stepped as soon
    /// as a task it started here ends).
    #[arg(long, default_value_t = 2.0)]
    poll: f64,
    /// The most attempts in flight across all the runs.
    #[arg(long, value_name = "N")]
    max_jobs: Option<usize>,
}

pub fn watch(a: WatchArgs) -> Result<ExitCode> {
    if !(a.poll.is_finite() && a.poll > 0.0 && a.poll <= 3600.0) {
        return Err(matterstack_core::Error::Input(format!(
            "--poll {}: give a number of seconds between 0 and 3600",
            a.poll
        ))
        .into());
    }
    if a.max_jobs == Some(0) {
        return Err(matterstack_core::Error::Input(
            "--max-jobs 0: at least one job must be allowed in flight".into(),
        )
        .into());
    }
    let dirs = runs::targets(&a.targets)?;
    if dirs.is_empty() {
        println!("nothing to watch: no run is still going");
        return Ok(ExitCode::SUCCESS);
    }
    let mut driver = Driver::new(DriverOptions {
        poll: Duration::from_secs_f64(a.poll),
        max_jobs: a.max_jobs,
        ..DriverOptions::default()
    });
    let mut cursors: HashMap<PathBuf, i64> = HashMap::new();
    for d in &dirs {
        let mut run = Run::open(d)?;
        cursors.insert(run.dir().to_path_buf(), run.events_cursor()?);
        let priority = run.priority()?;
        driver.add(run, priority)?;
    }
    println!(
        "watching {} run(s), a pass every {} s (Ctrl-C stops watching; the runs go on with the next `watch`, `run` or `step`)",
        dirs.len(),
        a.poll
    );
    driver.drive(|event| {
        let mut out = std::io::stdout().lock();
        match event {
            DriverEvent::Stepped { run, handle, .. } | DriverEvent::Elsewhere { run, handle } => {
                let cursor = cursors.entry(run.dir.clone()).or_insert(0);
                loop {
                    let Ok(batch) = handle.events_since(*cursor, 1000) else {
                        break;
                    };
                    *cursor = batch.cursor;
                    for c in &batch.changes {
                        let _ = writeln!(out, "{} {}", run.run, super::events::change_line(c));
                    }
                    if !batch.more {
                        break;
                    }
                }
            }
            DriverEvent::Failed { run, error } => {
                let _ = writeln!(out, "{} {}: {error}", run.run, style::error_label());
            }
            DriverEvent::Stopped { run } => {
                let _ = writeln!(out, "{} {}", run.run, run.state.as_str());
            }
            DriverEvent::Cluster { link } => {
                let what = match &link.reachability {
                    Reachability::Unknown => return,
                    Reachability::Reachable { .. } => "reachable".to_string(),
                    Reachability::Unreachable { error, .. } => format!(
                        "UNREACHABLE ({}); its tasks wait, the other runs go on",
                        error.lines().next().unwrap_or("")
                    ),
                };
                let _ = writeln!(
                    out,
                    "cluster {} ({}) {what}",
                    link.cluster, link.destination
                );
            }
        }
        let _ = out.flush();
    });
    let verdict = Verdict::of_driven(driver.runs().iter().map(|r| (r.state, r.error.is_some())));
    Ok(ExitCode::from(verdict.code()))
}
