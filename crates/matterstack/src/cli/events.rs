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

/// `events`' line: the change's id, then [`change_line`].
fn line(c: &Change) -> String {
    format!("{:>8} {}", c.id, change_line(c))
}

/// One change for people: `02:14:07 UTC opt attempt 1 (job 4211) QUEUED:
/// Priority`, or `02:14:09 UTC opt FAILED: exit code 3` for a task.
pub(super) fn change_line(c: &Change) -> String {
    let at = matterstack_core::engine::clock(c.at);
    let why = |r: &Option<String>| {
        r.as_deref()
            .map(|r| format!(": {}", r.lines().next().unwrap_or("")))
            .unwrap_or_default()
    };
    match &c.change {
        ChangeKind::Task { status, reason } => {
            format!("{at} {} {status}{}", c.task, why(reason))
        }
        ChangeKind::Attempt {
            n,
            status,
            job,
            detail,
        } => format!(
            "{at} {} attempt {n}{} {status}{}",
            c.task,
            job.as_deref()
                .map(|j| format!(" (job {j})"))
                .unwrap_or_default(),
            why(detail)
        ),
    }
}
