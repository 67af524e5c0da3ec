//! `report.md`: a readable summary of the bundle. Free text from the user
//! or programs is escaped ([`text`]) or put in code spans ([`code`]) so it
//! cannot break the tables or inject markup.

use std::fmt::Write;

use super::html::results_brief;
use super::Evidence;

/// Escapes Markdown punctuation (and `|` for tables); newlines become spaces.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `s` on one line, safe inside a table cell.
pub fn code(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    let one_line = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let longest = one_line
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if one_line.starts_with('`') || one_line.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{one_line}{pad}{fence}")
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(String::new, |v| text(&v.to_string()))
}

/// The whole report.
pub fn render(ev: &Evidence) -> String {
    let r = &ev.run;
    let mut s = String::new();
    let _ = writeln!(s, "# Evidence: run {}\n", code(&r.id));
    let _ = writeln!(s, "- Status: **{}**", r.status);
    if let Some(p) = &r.paused {
        let _ = writeln!(s, "- Paused: {}", text(p));
    }
    if let Some(d) = &r.description {
        let _ = writeln!(s, "- Description: {}", text(d));
    }
    let _ = writeln!(s, "- Workspace: {}", code(&r.workspace));
    let _ = writeln!(s, "- Created: {}", r.created_at);
    let _ = writeln!(s, "- Exported: {}", r.exported_at);
    let _ = writeln!(
        s,
        "- matterstack {} on {} ({}, {})",
        text(&r.matterstack_version),
        text(&r.host.hostname),
        text(r.host.distribution.as_deref().unwrap_or(&r.host.os)),
        text(&r.host.arch)
    );
    let _ = writeln!(s, "- `matterstack.toml` SHA-256: {}", r.workspace_sha256);

    let attempts: usize = ev.tasks.iter().map(|t| t.attempts.len()).sum();
    let _ = writeln!(
        s,
        "\n## Counts\n\n{} task(s), {attempts} attempt(s).\n\n| Status | Tasks |\n|---|---:|",
        ev.tasks.len()
    );
    for (st, n) in ev.counts.iter().filter(|(_, n)| **n > 0) {
        let _ = writeln!(s, "| {st} | {n} |");
    }

    s.push_str("\n## Tasks\n\n| Task | Status | Operator | Attempts | Exit | Command | Results | Reason |\n|---|---|---|---:|---:|---|---|---|\n");
    for t in &ev.tasks {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            code(&t.id),
            t.status,
            code(&t.operator),
            t.attempts.len(),
            opt(&t.exit_code),
            t.command.as_deref().map_or(String::new(), code),
            text(&results_brief(t)),
            opt(&t.reason)
        );
    }

    s.push_str("\n## Attempts\n");
    for t in ev.tasks.iter().filter(|t| !t.attempts.is_empty()) {
        let _ = writeln!(
            s,
            "\n### {}\n\n| # | Kind | Continues | Status | Operator | Resources | Host | External id | Queued | Started | Ended | Run (s) | Exit | Reason |\n|---:|---|---|---|---|---|---|---|---|---|---|---:|---:|---|",
            code(&t.id)
        );
        for a in &t.attempts {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                a.n,
                text(&a.kind),
                a.parent.map_or(String::new(), |p| format!("#{p}")),
                a.status,
                code(&a.operator),
                text(&a.resources_label()),
                opt(&a.host),
                opt(&a.external_id),
                a.queued_at,
                opt(&a.started_at),
                opt(&a.ended_at),
                a.run_s.map_or(String::new(), |v| format!("{v:.3}")),
                opt(&a.exit_code),
                opt(&a.reason)
            );
        }
    }

    s.push_str("\n## Results\n");
    let with_results: Vec<_> = ev.tasks.iter().filter(|t| t.results.is_some()).collect();
    if with_results.is_empty() {
        s.push_str("\nNo task reported results.\n");
    }
    for t in with_results {
        let json = t
            .results
            .as_ref()
            .and_then(|r| serde_json::to_string_pretty(r).ok())
            .unwrap_or_default();
        // A fence longer than any backtick run inside keeps the block closed.
        let fence = "`".repeat(
            json.split(|c| c != '`')
                .map(str::len)
                .max()
                .unwrap_or(0)
                .max(2)
                + 1,
        );
        let _ = writeln!(s, "\n### {}\n\n{fence}json\n{json}\n{fence}", code(&t.id));
    }

    s.push_str("\n## Failures\n\n");
    let mut any = false;
    for t in &ev.tasks {
        let failed: Vec<_> = t
            .attempts
            .iter()
            .filter(|a| a.status == "FAILED" || a.status == "CANCELLED")
            .collect();
        if failed.is_empty() && (t.status == "COMPLETED" || t.reason.is_none()) {
            continue;
        }
        any = true;
        let _ = writeln!(
            s,
            "- {} {}{}",
            code(&t.id),
            t.status,
            t.reason
                .as_deref()
                .map_or(String::new(), |r| format!(": {}", text(r)))
        );
        for a in failed {
            let _ = writeln!(
                s,
                "  - attempt {} ({}) {}{}{}",
                a.n,
                text(&a.kind),
                a.status,
                a.exit_code.map_or(String::new(), |c| format!(", exit {c}")),
                a.reason
                    .as_deref()
                    .map_or(String::new(), |r| format!(": {}", text(r)))
            );
        }
    }
    if !any {
        s.push_str("None.\n");
    }

    let sw = &ev.software;
    let _ = writeln!(
        s,
        "\n## Software\n\n| Program | Version | Where |\n|---|---|---|\n| matterstack | {} | this export |",
        text(&sw.matterstack)
    );
    for p in &sw.programs {
        let v = p.version.as_deref().map_or_else(
            || format!("unknown ({})", p.error.as_deref().unwrap_or("")),
            str::to_string,
        );
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            text(&p.name),
            text(&v),
            code(&p.path)
        );
    }
    for p in &sw.parsed {
        let _ = writeln!(
            s,
            "| {} | {} | output of {} |",
            text(&p.program),
            text(&p.version),
            code(&p.task)
        );
    }
    let files: usize = ev
        .tasks
        .iter()
        .map(|t| t.inputs.len() + t.outputs.len())
        .sum();
    let _ = writeln!(
        s,
        "\n## Files\n\n{files} input and output file(s) with size and SHA-256 are listed in `evidence.json`; {} event(s) in its event log.",
        ev.events.len()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::{code, text};

    #[test]
    fn text_cannot_break_a_table_or_add_markup() {
        assert_eq!(text("a|b\n<x>*y*"), "a\\|b \\<x\\>\\*y\\*");
    }

    #[test]
    fn code_spans_hold_backticks_and_pipes() {
        assert_eq!(code("ls | wc"), "`ls \\| wc`");
        assert_eq!(code("echo `date`"), "`` echo `date` ``");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code(""), "");
    }
}
