//! `report.html`: one self-contained page — inline CSS and SVG, no
//! scripts, no external URLs. Every string that comes from the user or a
//! program (ids, commands, reasons, results, file names) goes through
//! [`esc`].

use std::fmt::Write;

use super::svg::{self, Plot};
use super::{Evidence, TaskEvidence};

/// Escapes text for HTML and SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The most events shown on the page (the JSON has them all).
pub const MAX_EVENTS: usize = 1000;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f5f7}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}
.st{display:inline-block;padding:.05em .5em;border-radius:.8em;color:#fff;font-size:.85em;background:#78909c}
.st.COMPLETED{background:#2e7d32}.st.FAILED{background:#c62828}.st.CANCELLED,.st.SKIPPED{background:#ef6c00}.st.RUNNING{background:#1565c0}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}dd{margin:0}
.note{color:#666;font-size:.9em}svg{display:block;margin:.5em 0;max-width:100%;height:auto}
.cmd{max-width:28em;word-break:break-all}";

fn badge(status: &str) -> String {
    format!(r#"<span class="st {0}">{0}</span>"#, esc(status))
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(String::new, |v| esc(&v.to_string()))
}

/// A short summary of a task's results for tables: the final energy, or
/// the first few numeric values.
pub fn results_brief(t: &TaskEvidence) -> String {
    let Some(r) = &t.results else {
        return String::new();
    };
    if let Some(e) = r.get("final_energy").and_then(|e| e.as_f64()) {
        let unit = r.get("energy_unit").and_then(|u| u.as_str()).unwrap_or("");
        return format!("final_energy = {e} {unit}").trim_end().to_string();
    }
    svg::numeric_leaves(r)
        .into_iter()
        .take(3)
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole page.
pub fn render(ev: &Evidence, plots: &[Plot]) -> String {
    let r = &ev.run;
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>Evidence: run {id}</title><style>{STYLE}</style></head><body>\n<h1>Evidence: run <code>{id}</code> {}</h1>\n<dl>",
        badge(&r.status),
        id = esc(&r.id)
    );
    let host = &r.host;
    let host_line = format!(
        "{} ({}{}, {})",
        host.hostname,
        host.distribution
            .as_deref()
            .map_or(String::new(), |d| format!("{d}, ")),
        host.kernel.as_deref().unwrap_or(&host.os),
        host.arch
    );
    let rows: [(&str, String); 8] = [
        ("Workspace", r.workspace.clone()),
        ("Run directory", r.dir.clone()),
        ("Description", r.description.clone().unwrap_or_default()),
        ("Created", r.created_at.clone()),
        ("Exported", r.exported_at.clone()),
        ("matterstack", r.matterstack_version.clone()),
        ("Host", host_line),
        ("matterstack.toml SHA-256", r.workspace_sha256.clone()),
    ];
    for (k, v) in rows.iter().filter(|(_, v)| !v.is_empty()) {
        let _ = write!(s, "<dt>{k}</dt><dd>{}</dd>", esc(v));
    }
    if let Some(p) = &r.paused {
        let _ = write!(s, "<dt>Paused</dt><dd>{}</dd>", esc(p));
    }
    s.push_str("</dl>\n<h2>Counts</h2><p>");
    let attempts: usize = ev.tasks.iter().map(|t| t.attempts.len()).sum();
    let _ = write!(s, "{} task(s), {attempts} attempt(s): ", ev.tasks.len());
    for (st, n) in ev.counts.iter().filter(|(_, n)| **n > 0) {
        let _ = write!(s, "{} {n} ", badge(st));
    }
    s.push_str("</p>\n<h2>Timeline</h2>\n");
    s.push_str(&svg::timeline(ev));
    let _ = writeln!(
        s,
        "\n<p class=\"note\">One row per task, one bar per attempt from its start to its end (grey: time queued before it started); arrows join an attempt to the retry or restart that continued it. Times from the run's creation.{}</p>",
        if ev.tasks.len() > svg::MAX_ROWS {
            format!(" Showing the first {} of {} tasks.", svg::MAX_ROWS, ev.tasks.len())
        } else {
            String::new()
        }
    );
    s.push_str("<h2>Results</h2>\n");
    if plots.is_empty() {
        s.push_str("<p class=\"note\">No numeric result is shared by two or more tasks.</p>\n");
    }
    for p in plots {
        s.push_str(&p.svg);
        let lo = p.points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
        let hi = p
            .points
            .iter()
            .map(|p| p.1)
            .fold(f64::NEG_INFINITY, f64::max);
        let _ = writeln!(
            s,
            "<p class=\"note\"><code>{}</code> in {} task(s), from {lo} to {hi}.</p>",
            esc(&p.key),
            p.points.len()
        );
    }
    let series = svg::series_plots(ev);
    if !series.is_empty() {
        s.push_str("<h2>Series</h2>\n");
        s.push_str("<p class=\"note\">What the programs printed as they ran: SCF iterations, MD frames (from each task's parsed output).</p>\n");
    }
    for p in &series {
        s.push_str(&p.svg);
        s.push('\n');
    }
    tasks_table(&mut s, ev);
    attempts_table(&mut s, ev);
    failures(&mut s, ev);
    software(&mut s, ev);
    files(&mut s, ev);
    events(&mut s, ev);
    s.push_str("</body></html>\n");
    s
}

fn tasks_table(s: &mut String, ev: &Evidence) {
    s.push_str("<h2>Tasks</h2>\n<table><tr><th>Task</th><th>Status</th><th>Operator</th><th>Attempts</th><th>Exit</th><th>Command</th><th>Results</th><th>Reason</th></tr>\n");
    for t in &ev.tasks {
        let _ = writeln!(
            s,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"cmd mono\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.id),
            badge(&t.status),
            esc(&t.operator),
            t.attempts.len(),
            opt(&t.exit_code),
            opt(&t.command),
            esc(&results_brief(t)),
            opt(&t.reason)
        );
    }
    s.push_str("</table>\n");
}

fn attempts_table(s: &mut String, ev: &Evidence) {
    s.push_str("<h2>Attempts</h2>\n<table><tr><th>Task</th><th>#</th><th>Kind</th><th>Continues</th><th>Status</th><th>Operator</th><th>Resources</th><th>Host</th><th>External id</th><th>Queued</th><th>Started</th><th>Ended</th><th>Wait (s)</th><th>Run (s)</th><th>Exit</th><th>Reason</th></tr>\n");
    for t in &ev.tasks {
        for a in &t.attempts {
            let _ = writeln!(
                s,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.id),
                a.n,
                esc(&a.kind),
                a.parent.map_or(String::new(), |p| format!("#{p}")),
                badge(&a.status),
                esc(&a.operator),
                esc(&a.resources_label()),
                opt(&a.host),
                opt(&a.external_id),
                esc(&a.queued_at),
                opt(&a.started_at),
                opt(&a.ended_at),
                a.wait_s.map_or(String::new(), |v| format!("{v:.3}")),
                a.run_s.map_or(String::new(), |v| format!("{v:.3}")),
                opt(&a.exit_code),
                opt(&a.reason)
            );
        }
    }
    s.push_str("</table>\n");
}

fn failures(s: &mut String, ev: &Evidence) {
    s.push_str("<h2>Failures</h2>\n");
    let failed: Vec<&TaskEvidence> = ev
        .tasks
        .iter()
        .filter(|t| {
            t.attempts.iter().any(|a| a.status == "FAILED")
                || (t.status != "COMPLETED" && t.reason.is_some())
        })
        .collect();
    if failed.is_empty() {
        s.push_str("<p class=\"note\">None.</p>\n");
        return;
    }
    s.push_str("<ul>\n");
    for t in failed {
        let _ = write!(s, "<li><code>{}</code> {}", esc(&t.id), badge(&t.status));
        if let Some(r) = &t.reason {
            let _ = write!(s, ": {}", esc(r));
        }
        s.push_str("<ul>");
        for a in t
            .attempts
            .iter()
            .filter(|a| a.status == "FAILED" || a.status == "CANCELLED")
        {
            let _ = write!(
                s,
                "<li>attempt {} ({}) {}{}{}</li>",
                a.n,
                esc(&a.kind),
                esc(&a.status),
                a.exit_code.map_or(String::new(), |c| format!(", exit {c}")),
                a.reason
                    .as_deref()
                    .map_or(String::new(), |r| format!(": {}", esc(r)))
            );
        }
        s.push_str("</ul></li>\n");
    }
    s.push_str("</ul>\n");
}

fn software(s: &mut String, ev: &Evidence) {
    let sw = &ev.software;
    let _ = writeln!(
        s,
        "<h2>Software</h2>\n<table><tr><th>Program</th><th>Version</th><th>Where</th></tr>\n<tr><td>matterstack</td><td>{}</td><td>this export</td></tr>",
        esc(&sw.matterstack)
    );
    for p in &sw.programs {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            esc(&p.name),
            p.version.as_deref().map_or_else(
                || format!("unknown ({})", esc(p.error.as_deref().unwrap_or(""))),
                esc
            ),
            esc(&p.path)
        );
    }
    for p in &sw.parsed {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>output of task <code>{}</code></td></tr>",
            esc(&p.program),
            esc(&p.version),
            esc(&p.task)
        );
    }
    s.push_str("</table>\n");
}

fn file_rows(s: &mut String, kind: &str, files: &[super::FileEntry]) {
    for f in files {
        let _ = writeln!(
            s,
            "<tr><td>{kind}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            esc(&f.path),
            f.size,
            esc(&f.sha256)
        );
    }
}

fn files(s: &mut String, ev: &Evidence) {
    s.push_str("<h2>Files</h2>\n");
    for t in &ev.tasks {
        if t.inputs.is_empty() && t.outputs.is_empty() && t.missing_outputs.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "<details><summary><code>{}</code>: {} input(s), {} output(s)</summary><table><tr><th></th><th>File</th><th>Bytes</th><th>SHA-256</th></tr>",
            esc(&t.id),
            t.inputs.len(),
            t.outputs.len()
        );
        file_rows(s, "input", &t.inputs);
        file_rows(s, "output", &t.outputs);
        for m in &t.missing_outputs {
            let _ = writeln!(
                s,
                "<tr><td>missing</td><td class=\"mono\">{}</td><td></td><td>declared but not produced</td></tr>",
                esc(m)
            );
        }
        s.push_str("</table></details>\n");
    }
}

fn events(s: &mut String, ev: &Evidence) {
    let skip = ev.events.len().saturating_sub(MAX_EVENTS);
    let _ = writeln!(
        s,
        "<h2>Events</h2>\n<details><summary>{} event(s){}</summary><table><tr><th>At</th><th>Task</th><th>Message</th></tr>",
        ev.events.len(),
        if skip > 0 {
            format!(", the last {MAX_EVENTS} shown")
        } else {
            String::new()
        }
    );
    for e in &ev.events[skip..] {
        let _ = writeln!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.at),
            opt(&e.task),
            esc(&e.message)
        );
    }
    s.push_str("</table></details>\n");
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn esc_escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(esc("plain-id_1.2 ünï"), "plain-id_1.2 ünï");
    }
}
