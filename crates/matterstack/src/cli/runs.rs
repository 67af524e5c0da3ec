//! `runs` (the user's runs, from the index kept at `init`) and `delete`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use matterstack_core::app::delete::{DeleteOptions, DeleteReport};
use matterstack_core::app::runs::{self, RunFilter, RunListState};
use matterstack_core::app::Run;
use matterstack_core::model::duration::time_label;
use matterstack_core::Error;

use super::style;

/// `matterstack runs [WORKSPACE…] [--status S] [--json] [--forget-missing]`.
pub fn list(
    workspaces: Vec<PathBuf>,
    status: Option<String>,
    json: bool,
    forget_missing: bool,
) -> Result<ExitCode> {
    if forget_missing {
        let n = runs::forget_missing()?;
        eprintln!("forgot {n} missing run(s)");
    }
    let filter = RunFilter {
        workspaces,
        state: status.as_deref().map(RunListState::parse).transpose()?,
    };
    let all = runs::list(&filter)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        println!(
            "no runs{} (the index is {})",
            if filter.state.is_some() {
                " in that state"
            } else {
                ""
            },
            runs::index_path().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let iw = all.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
    println!(
        "{:<iw$}  {:<10}  {:>9}  {:<20}  {:<20}  {:<10}  DIR",
        "ID", "STATE", "DONE", "CREATED", "LAST ACTIVITY", "CLUSTERS"
    );
    for r in &all {
        let (done, total) = r.progress();
        let state = format!("{:<10}", r.state.as_str());
        let clusters = if r.clusters.is_empty() {
            "-".to_string()
        } else {
            r.clusters.join(",")
        };
        println!(
            "{:<iw$}  {}  {:>9}  {:<20}  {:<20}  {:<10}  {}",
            r.id,
            state.replace(r.state.as_str(), &style::status(r.state.as_str())),
            if total > 0 {
                format!("{done}/{total}")
            } else {
                "-".into()
            },
            if r.created > 0 {
                time_label(r.created)
            } else {
                "-".into()
            },
            r.last_activity
                .map(time_label)
                .unwrap_or_else(|| "-".into()),
            clusters,
            r.dir.display()
        );
        if let Some(p) = &r.problem {
            println!("{:iw$}  {p}", "");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `matterstack delete RUN [--remote] [--dry-run] [--yes] [--json]`.
pub fn delete(run: &Path, remote: bool, dry_run: bool, yes: bool, json: bool) -> Result<ExitCode> {
    let opened = Run::open(run)?;
    if !dry_run && !yes {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Err(Error::Input(format!(
                "delete {}: pass --yes to delete without asking (or --dry-run to see what would go)",
                run.display()
            ))
            .into());
        }
        // Show what will go, then ask.
        let plan = Run::open(run)?.delete(DeleteOptions {
            remote,
            dry_run: true,
        })?;
        print_report(&plan);
        eprint!("delete run {} and everything above? [y/N] ", plan.run);
        std::io::stderr().flush()?;
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("nothing deleted");
            return Ok(ExitCode::from(
                matterstack_core::app::Verdict::Failed.code(),
            ));
        }
    }
    let report = opened.delete(DeleteOptions { remote, dry_run })?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_report(r: &DeleteReport) {
    let (will, verb) = if r.dry_run {
        ("would ", "would be removed")
    } else {
        ("", "removed")
    };
    for t in &r.cancelled {
        println!("{will}cancel {t}");
    }
    for (op, rem) in &r.remote {
        for d in &rem.removed {
            println!("{op}: {d} {verb}");
        }
        for d in &rem.kept {
            println!("{op}: {d} kept (not this run's, or not empty)");
        }
    }
    for op in &r.remote_left {
        println!("{op}: remote directories left in place (--remote removes them)");
    }
    println!("{} {verb}", r.dir.display());
}
