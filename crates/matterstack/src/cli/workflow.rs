//! Run control and answers from people: `pause`, `resume`, `respond`,
//! `complete`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use matterstack_core::app::{Run, Verdict};

use super::style;

/// `pause RUN [--reason TEXT]`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The run directory.
    run: PathBuf,
    /// Why (shown by `status` and `explain`).
    #[arg(long, value_name = "TEXT")]
    reason: Option<String>,
}

/// `respond RUN TASK --file response.json`.
#[derive(Debug, Args)]
pub struct RespondArgs {
    /// The run directory.
    run: PathBuf,
    /// The human task.
    task: String,
    /// The response: {"status": "COMPLETED"|"FAILED", "data": {…}, "error": null}.
    #[arg(long, value_name = "FILE")]
    file: PathBuf,
}

/// `complete RUN TASK --from DIR`.
#[derive(Debug, Args)]
pub struct CompleteArgs {
    /// The run directory.
    run: PathBuf,
    /// The manual task.
    task: String,
    /// The directory holding the task's outputs.
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
}

pub fn pause(a: PauseArgs) -> Result<ExitCode> {
    let mut run = Run::open(&a.run)?;
    if run.pause(a.reason.as_deref())? {
        println!("paused: no new task starts until `matterstack resume`; running ones go on");
    } else {
        println!("already paused: {}", run.paused()?.unwrap_or_default());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn resume(run: PathBuf) -> Result<ExitCode> {
    match Run::open(&run)?.resume()? {
        Some(was) => println!("resumed (was paused: {was})"),
        None => println!("not paused"),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn respond(a: RespondArgs) -> Result<ExitCode> {
    use std::io::Read;
    let cannot = |e: std::io::Error| {
        matterstack_core::Error::Input(format!("--file {}: cannot read it: {e}", a.file.display()))
    };
    // Read one byte past the limit: the check names the size, and a huge
    // file is never read whole.
    let limit = matterstack_core::model::response::MAX_RESPONSE_BYTES as u64 + 1;
    let mut bytes = Vec::new();
    std::fs::File::open(&a.file)
        .and_then(|f| f.take(limit).read_to_end(&mut bytes))
        .map_err(cannot)?;
    let text = if bytes.len() as u64 == limit {
        // Refused by its size in `respond`.
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        String::from_utf8(bytes).map_err(|_| {
            matterstack_core::Error::Input(format!(
                "--file {}: not UTF-8 text; a response is a JSON file",
                a.file.display()
            ))
        })?
    };
    let path = Run::open(&a.run)?
        .respond(&a.task, &text)
        .context("response refused; the task is still waiting")?;
    println!(
        "recorded {}; the next `matterstack step` finishes {}",
        path.display(),
        a.task
    );
    Ok(ExitCode::SUCCESS)
}

pub fn complete(a: CompleteArgs) -> Result<ExitCode> {
    let files = Run::open(&a.run)?.complete(&a.task, &a.from)?;
    println!(
        "recorded {} file(s) ({}); the next `matterstack step` finishes {}",
        files.len(),
        files.join(", "),
        a.task
    );
    Ok(ExitCode::SUCCESS)
}

/// `submit WORKSPACE… [--priority N] [--max-jobs N] [--wait]`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// Workspace directories (each holding a matterstack.toml).
    #[arg(required = true)]
    workspaces: Vec<PathBuf>,
    /// Priority of these workflows (default: each one's [run] priority, else 0).
    #[arg(long, allow_hyphen_values = true)]
    priority: Option<i32>,
    /// The most attempts in flight across all of these runs.
    #[arg(long, value_name = "N")]
    max_jobs: Option<usize>,
    /// Keep stepping until every run has stopped (finished, paused or waiting).
    #[arg(long)]
    wait: bool,
    /// Seconds between passes with --wait.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.5)]
    poll: f64,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

pub fn submit(a: SubmitArgs) -> Result<ExitCode> {
    if !(a.poll.is_finite() && a.poll > 0.0 && a.poll <= 3600.0) {
        return Err(matterstack_core::Error::Input(format!(
            "--poll {}: give a number of seconds between 0 and 3600",
            a.poll
        ))
        .into());
    }
    let opts = matterstack_core::app::submit::SubmitOptions {
        priority: a.priority,
        max_jobs: a.max_jobs,
        wait: a.wait,
        poll: std::time::Duration::from_secs_f64(a.poll),
    };
    let runs = matterstack_core::app::submit::submit(&a.workspaces, &opts)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        let w = runs.iter().map(|r| r.run.len()).max().unwrap_or(3).max(3);
        println!(
            "{:<w$}  {:>8}  {:>5}  {:>8}  {:<16}  DIR",
            "RUN", "PRIORITY", "TASKS", "LAUNCHED", "STATE"
        );
        for r in &runs {
            println!(
                "{:<w$}  {:>8}  {:>5}  {:>8}  {:<16}  {}",
                r.run,
                r.priority,
                r.tasks,
                r.launched,
                r.state.as_str(),
                r.dir.display()
            );
        }
        let launched: usize = runs.iter().map(|r| r.launched).sum();
        println!(
            "{} run(s) submitted, {launched} attempt(s) started",
            runs.len()
        );
    }
    if !a.wait {
        return Ok(ExitCode::SUCCESS);
    }
    for r in &runs {
        if let Some(e) = &r.error {
            eprintln!("{}: {}: {e}", style::error_label(), r.run);
        }
    }
    let verdict = Verdict::of_driven(runs.iter().map(|r| (r.state, r.error.is_some())));
    Ok(ExitCode::from(verdict.code()))
}
