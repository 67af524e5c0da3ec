//! `events`: a run's change feed.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use matterstack_core::app::changes::{Change, ChangeKind};
use matterstack_core::app::Run;

/// `matterstack events RUN [--since ID] [--follow] [--json] [--limit N]`.
pub fn events(run: &Path, since: i64, follow: bool, json: bool, limit: usize) -> Result<ExitCode> {
    let mut run = Run::open(run)?;
    let mut cursor = since;
    let mut out = std::io::stdout().lock();
    loop {
        let batch = run.events_since(cursor, limit)?;
        for c in &batch.changes {
            if json {
                writeln!(out, "{}", serde_json::to_string(c)?)?;
            } else {
                writeln!(out, "{}", line(c))?;
            }
        }
        out.flush()?;
        cursor = batch.cursor;
        if batch.more {
            continue;
        }
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn line(c: &Change) -> String {
    let at = matterstack_core::engine::clock(c.at);
    match &c.change {
        ChangeKind::Task { status, reason } => format!(
            "{:>8} {at} {} {status}{}",
            c.id,
            c.task,
            reason
                .as_deref()
                .map(|r| format!(": {}", r.lines().next().unwrap_or("")))
                .unwrap_or_default()
        ),
        ChangeKind::Attempt { n, status, detail } => format!(
            "{:>8} {at} {} attempt {n} {}{}",
            c.id,
            c.task,
            serde_json::to_value(status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            detail
                .as_deref()
                .map(|d| format!(" ({})", d.lines().next().unwrap_or("")))
                .unwrap_or_default()
        ),
    }
}
