//! Drawing: a pure function of the [`App`] (no IO, no clock: `now_ms` is
//! the app's), so every screen renders the same in a test.

use matterstack_core::app::clusters::ClusterView;
use matterstack_core::app::{TaskState, TaskView};
use matterstack_core::engine::clock;
use matterstack_core::operators::link::Reachability;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, Tabs, Wrap};
use ratatui::Frame;

use crate::keys::{self, Screen};
use crate::state::{App, Modal, Stream, Tab};

/// How to draw: with colour, or monochrome (`NO_COLOR`, a dumb terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Look {
    /// Colours on.
    pub color: bool,
}

impl Look {
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    fn bold(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    fn cursor(self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::Indexed(238))
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }

    fn state(self, s: TaskState) -> Style {
        self.fg(match s {
            TaskState::Completed => Color::Green,
            TaskState::Failed => Color::Red,
            TaskState::Running => Color::Cyan,
            TaskState::Queued => Color::Blue,
            TaskState::WaitingExternal => Color::Magenta,
            TaskState::Cancelled | TaskState::Skipped => Color::Yellow,
            TaskState::Pending | TaskState::Ready => Color::Gray,
        })
    }
}

/// Draws the whole screen.
pub fn draw(f: &mut Frame, app: &App, look: Look) {
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    f.render_widget(Paragraph::new(header(app)).style(look.bold()), head);
    match app.screen() {
        Screen::Runs => runs(f, app, look, body),
        Screen::Tasks => tasks(f, app, look, body),
        Screen::Detail => detail(f, app, look, body),
        Screen::Dag => dag(f, app, look, body),
        Screen::Clusters => clusters(f, app, look, body),
        Screen::Pick => pick(f, app, look, body),
        Screen::Queue => queue(f, app, look, body),
        Screen::New => new_task(f, app, look, body),
    }
    let foot_text = match &app.message {
        Some((m, true)) => Line::from(Span::styled(m.clone(), look.fg(Color::Red))),
        Some((m, false)) => Line::from(m.clone()),
        None => Line::from(hints(app.screen())),
    };
    f.render_widget(Paragraph::new(foot_text), foot);
    match &app.modal {
        Some(Modal::Help) => help(f, app.screen()),
        Some(Modal::Filter { text }) => {
            let what = if app.screen() == Screen::Detail {
                "search"
            } else {
                "filter (status:failed, an id, a word of the reason)"
            };
            prompt(f, what, &format!("/{text}▏"));
        }
        Some(Modal::Walltime { text, tasks }) => prompt(
            f,
            &format!(
                "restart {} task(s): new walltime and/or cores (2h, cores=4, 2h cores=4; empty: keep)",
                tasks.len()
            ),
            &format!("{text}▏"),
        ),
        Some(Modal::Confirm { bulk, tasks }) => {
            prompt(f, "confirm", &App::question(bulk, tasks));
        }
        None => {}
    }
}

fn header(app: &App) -> String {
    let place = match (&app.run, app.screen()) {
        (_, Screen::Runs) => "runs".to_string(),
        (_, Screen::Clusters) => "clusters".to_string(),
        (_, Screen::Queue) => app
            .queue
            .as_ref()
            .map_or(String::new(), |q| format!("queue of {}", q.0)),
        (Some(r), s) => {
            let id = r
                .live
                .as_ref()
                .map(|l| l.view.run.clone())
                .unwrap_or_else(|| r.dir.display().to_string());
            match (s, &app.task) {
                (Screen::Detail, Some(t)) => format!("{id} › {t}"),
                (Screen::Dag, _) => format!("{id} › DAG"),
                _ => id,
            }
        }
        (None, _) => String::new(),
    };
    format!("matterstack · {} · {place}", app.screen().title())
}

fn hints(screen: Screen) -> String {
    let mut h = match screen {
        Screen::Runs => "Enter open · C clusters · / filter",
        Screen::Tasks => {
            "Enter detail · space select · c cancel · r retry · R restart · l logs · d DAG"
        }
        Screen::Detail => {
            "Tab next tab · l logs · / search · n next · f follow · s stream · Esc back"
        }
        Screen::Dag => "↑↓ move · Enter open · Esc back",
        Screen::Clusters => "o connect · Q queue · Esc back",
        Screen::Queue => "your jobs on the cluster, every run's (read again every 5 s) · Esc back",
        Screen::Pick => "Enter choose · / filter · Esc back",
        Screen::New => {
            "↑↓ Tab field · ←→ choose · Enter next · Ctrl-S create · Esc close · F1 keys"
        }
    }
    .to_string();
    if screen != Screen::New {
        h.push_str(" · ? help · q quit");
    }
    h
}

fn ago(now: i64, then: i64) -> String {
    let s = ((now - then) / 1000).max(0);
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        3600..=86_399 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

fn duration(ms: i64) -> String {
    let s = ms / 1000;
    if s < 3600 {
        format!("{}:{:02}", s / 60, s % 60)
    } else {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    }
}

fn runs(f: &mut Frame, app: &App, look: Look, area: Rect) {
    if app.runs.is_empty() {
        let p = Paragraph::new(
            "no runs yet: `matterstack init WORKSPACE` makes one (it is listed here)",
        )
        .block(Block::default().borders(Borders::ALL).title("Runs"));
        f.render_widget(p, area);
        return;
    }
    let rows: Vec<Row> = app
        .runs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let (done, total) = r.progress();
            let n = |s: TaskState| r.counts.get(&s).copied().unwrap_or(0);
            let style = if i == app.runs_at {
                look.cursor()
            } else {
                Style::default()
            };
            Row::new(vec![
                Cell::from(r.id.clone()),
                Cell::from(r.state.as_str()),
                Cell::from(format!("{done}/{total}")),
                Cell::from(n(TaskState::Failed).to_string()),
                Cell::from((n(TaskState::Running) + n(TaskState::Queued)).to_string()),
                Cell::from(r.clusters.join(",")),
                Cell::from(
                    r.last_activity
                        .map(|t| ago(app.now_ms, t))
                        .unwrap_or_default(),
                ),
            ])
            .style(style)
        })
        .collect();
    let t = Table::new(
        rows,
        [
            Constraint::Min(14),
            Constraint::Length(10),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(7),
            Constraint::Length(12),
            Constraint::Length(9),
        ],
    )
    .header(
        Row::new([
            "RUN", "STATE", "DONE", "FAILED", "ACTIVE", "CLUSTERS", "ACTIVITY",
        ])
        .style(look.bold()),
    )
    .block(
        Block::default()
            .borders(Borders::ALL)
            .title(format!("Runs ({})", app.runs.len())),
    );
    f.render_widget(t, area);
}

/// The main parsed result of a task, short: `-76.0266 Eh`.
fn result(t: &TaskView) -> String {
    let Some(r) = &t.results else {
        return String::new();
    };
    match r.get("final_energy").and_then(|e| e.as_f64()) {
        Some(e) => format!(
            "{e:.6} {}",
            r.get("energy_unit").and_then(|u| u.as_str()).unwrap_or("")
        ),
        None => String::new(),
    }
}

/// A state in at most 9 columns (the tasks table).
fn short(s: TaskState) -> &'static str {
    match s {
        TaskState::WaitingExternal => "WAITING",
        TaskState::Cancelled => "CANCELLED",
        other => other.as_str(),
    }
}

fn why(t: &TaskView) -> String {
    if let Some(q) = &t.queue {
        let mut s = q.reason.clone().unwrap_or_else(|| "queued".into());
        if q.never {
            s.push_str(" — will never start");
        }
        return s;
    }
    t.reason
        .as_deref()
        .and_then(|r| r.lines().next())
        .unwrap_or("")
        .to_string()
}

fn tasks(f: &mut Frame, app: &App, look: Look, area: Rect) {
    let Some(live) = app.run.as_ref().and_then(|r| r.live.as_ref()) else {
        f.render_widget(
            Paragraph::new("loading…").block(Block::default().borders(Borders::ALL)),
            area,
        );
        return;
    };
    let v = &live.view;
    let counts: Vec<String> = v
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str().to_lowercase()))
        .collect();
    let visible = app.visible();
    let mut title = format!(
        "{} {} · {} · sort {}",
        v.run,
        v.status.as_str(),
        counts.join(", "),
        app.sort.name()
    );
    if !app.filter.is_empty() {
        title.push_str(&format!(" · /{} ({} shown)", app.filter, visible.len()));
    }
    if !app.selected.is_empty() {
        title.push_str(&format!(" · {} selected", app.selected.len()));
    }
    if let Some(p) = &v.paused {
        title.push_str(&format!(" · PAUSED: {p}"));
    }
    // Only the rows that fit are built (a run may have 100,000 tasks).
    let height = area.height.saturating_sub(3) as usize;
    let first = app.tasks_at.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = visible
        .iter()
        .enumerate()
        .skip(first)
        .take(height.max(1))
        .map(|(pos, i)| {
            let t = &v.tasks[*i];
            let mark = if app.selected.contains(&t.id) {
                "●"
            } else {
                " "
            };
            let style = if pos == app.tasks_at {
                look.cursor()
            } else {
                Style::default()
            };
            Row::new(vec![
                Cell::from(mark),
                Cell::from(t.id.clone()),
                Cell::from(Span::styled(short(t.status), look.state(t.status))),
                Cell::from(t.job.clone().or(t.last_job.clone()).unwrap_or_default()),
                Cell::from(t.attempts.to_string()),
                Cell::from(t.elapsed_at(app.now_ms).map(duration).unwrap_or_default()),
                Cell::from(result(t)),
                Cell::from(why(t)),
            ])
            .style(style)
        })
        .collect();
    let table = Table::new(
        rows,
        [
            Constraint::Length(1),
            Constraint::Min(10),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(3),
            Constraint::Length(8),
            Constraint::Length(16),
            Constraint::Fill(2),
        ],
    )
    .header(
        Row::new([
            "", "TASK", "STATUS", "JOB", "ATT", "ELAPSED", "RESULT", "WHY",
        ])
        .style(look.bold()),
    )
    .block(Block::default().borders(Borders::ALL).title(title));
    f.render_widget(table, area);
}

fn detail(f: &mut Frame, app: &App, look: Look, area: Rect) {
    let [tabs_area, body] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let selected = Tab::ALL.iter().position(|t| *t == app.tab).unwrap_or(0);
    f.render_widget(
        Tabs::new(Tab::ALL.iter().map(|t| t.title()))
            .select(selected)
            .highlight_style(look.cursor()),
        tabs_area,
    );
    let task = app
        .task
        .as_ref()
        .and_then(|id| app.tasks().iter().find(|t| &t.id == id));
    match app.tab {
        Tab::Overview => {
            let mut lines: Vec<Line> = Vec::new();
            if let Some(t) = task {
                lines.push(Line::from(vec![
                    Span::raw(format!("{} is ", t.id)),
                    Span::styled(t.status.as_str(), look.state(t.status)),
                ]));
                if let Some(j) = t.job.as_ref().or(t.last_job.as_ref()) {
                    lines.push(Line::from(format!("job        {j}")));
                }
                if let Some(q) = &t.queue {
                    lines.push(Line::from(format!("queue      {}", q.describe(app.now_ms))));
                }
                lines.push(Line::from(format!("attempts   {}", t.attempts)));
                if let Some(l) = &t.lineage {
                    lines.push(Line::from(format!("lineage    {l}")));
                }
                if let Some(c) = t.exit_code {
                    lines.push(Line::from(format!("exit code  {c}")));
                }
                if let Some(r) = &t.reason {
                    for (i, l) in r.lines().enumerate() {
                        lines.push(Line::from(format!(
                            "{}{l}",
                            if i == 0 { "reason     " } else { "           " }
                        )));
                    }
                }
            }
            if let Some(spec) = &app.spec {
                lines.push(Line::from(""));
                if let Some(t) = &spec.template {
                    lines.push(Line::from(format!("template   {t}")));
                }
                let command = match &spec.command {
                    Some(matterstack_core::model::Command::Shell(s)) => s.clone(),
                    Some(matterstack_core::model::Command::Argv(a)) => a.join(" "),
                    None => String::new(),
                };
                if !command.is_empty() {
                    lines.push(Line::from(format!("command    {command}")));
                }
                let place = match &spec.cluster {
                    Some(c) => format!("{} on {c}", spec.operator),
                    None => spec.operator.clone(),
                };
                let mut res = vec![format!("{} cores", spec.cores)];
                if let Some(m) = &spec.memory {
                    res.push(format!("memory {m}"));
                }
                if let Some(w) = &spec.walltime {
                    res.push(format!("walltime {w}"));
                }
                if let Some(p) = &spec.partition {
                    res.push(format!("partition {p}"));
                }
                lines.push(Line::from(format!(
                    "runs on    {place}: {}",
                    res.join(", ")
                )));
                for (k, v) in &spec.params {
                    let shown = plain(v);
                    let first = shown.lines().next().unwrap_or("").to_string();
                    let more = shown.lines().count();
                    lines.push(Line::from(if more > 1 {
                        format!("param      {k} = {first} (+{} lines)", more - 1)
                    } else {
                        format!("param      {k} = {first}")
                    }));
                }
            }
            if let Some(e) = &app.explained {
                lines.push(Line::from(""));
                for r in &e.reasons {
                    lines.push(Line::from(format!("- {r}")));
                }
            }
            f.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(Block::default().borders(Borders::ALL).title("Overview")),
                body,
            );
        }
        Tab::Logs => {
            let text: Vec<&str> = app.log.text.lines().collect();
            let height = body.height.saturating_sub(2) as usize;
            let top = if app.log.follow {
                text.len().saturating_sub(height)
            } else {
                app.log.top.min(text.len().saturating_sub(1))
            };
            let needle = app.log.search.to_lowercase();
            let lines: Vec<Line> = text
                .iter()
                .skip(top)
                .take(height)
                .map(|l| {
                    if !needle.is_empty() && l.to_lowercase().contains(&needle) {
                        Line::from(Span::styled(l.to_string(), look.cursor()))
                    } else {
                        Line::from(l.to_string())
                    }
                })
                .collect();
            let title = format!(
                "{}{}{}",
                match app.stream {
                    Stream::Stdout => "stdout (or the program's output file)",
                    Stream::Stderr => "stderr",
                },
                if app.log.follow { " · following" } else { "" },
                if app.log.search.is_empty() {
                    String::new()
                } else {
                    format!(" · /{}", app.log.search)
                }
            );
            f.render_widget(
                Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
                body,
            );
        }
        Tab::Results => results(f, task, body),
        Tab::Files => {
            let rows: Vec<Row> = app
                .files
                .iter()
                .map(|(n, size)| Row::new(vec![n.clone(), size.to_string()]))
                .collect();
            f.render_widget(
                Table::new(rows, [Constraint::Fill(1), Constraint::Length(12)])
                    .header(Row::new(["FILE", "BYTES"]).style(look.bold()))
                    .block(Block::default().borders(Borders::ALL).title(format!(
                        "Files in the task's directory ({})",
                        app.files.len()
                    ))),
                body,
            );
        }
        Tab::Attempts => {
            let rows: Vec<Row> = app
                .explained
                .iter()
                .flat_map(|e| e.attempts.iter())
                .map(|a| {
                    Row::new(vec![
                        a.n.to_string(),
                        a.status.as_str().to_string(),
                        a.external_id.clone().unwrap_or_default(),
                        a.lineage.clone(),
                        a.reason
                            .as_deref()
                            .and_then(|r| r.lines().next())
                            .unwrap_or("")
                            .to_string(),
                    ])
                })
                .collect();
            f.render_widget(
                Table::new(
                    rows,
                    [
                        Constraint::Length(3),
                        Constraint::Length(10),
                        Constraint::Length(10),
                        Constraint::Length(24),
                        Constraint::Fill(1),
                    ],
                )
                .header(Row::new(["N", "STATUS", "JOB", "LINEAGE", "REASON"]).style(look.bold()))
                .block(Block::default().borders(Borders::ALL).title("Attempts")),
                body,
            );
        }
    }
}

fn results(f: &mut Frame, task: Option<&TaskView>, area: Rect) {
    let Some(r) = task.and_then(|t| t.results.as_ref()) else {
        f.render_widget(
            Paragraph::new("no parsed results (the task has no parser, or has not finished)")
                .block(Block::default().borders(Borders::ALL).title("Results")),
            area,
        );
        return;
    };
    let series: Vec<(&String, &serde_json::Value)> = r
        .get("series")
        .and_then(|s| s.as_object())
        .map(|o| o.iter().collect())
        .unwrap_or_default();
    let chart_h = if series.is_empty() { 0 } else { 6 };
    let [values, chart] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(chart_h)]).areas(area);
    let mut lines = Vec::new();
    for key in [
        "program",
        "version",
        "final_energy",
        "energy_unit",
        "converged",
        "normal_termination",
        "partial",
        "wall_time_s",
        "error",
    ] {
        if let Some(v) = r.get(key).filter(|v| !v.is_null()) {
            lines.push(Line::from(format!("{key:<20} {}", plain(v))));
        }
    }
    if let Some(vals) = r.get("values").and_then(|v| v.as_object()) {
        for (k, v) in vals {
            lines.push(Line::from(format!("{k:<20} {}", plain(v))));
        }
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("Results")),
        values,
    );
    if let Some((name, s)) = series.first() {
        // The series' second column (energy, temperature) over its rows.
        let col = 1;
        let pts: Vec<f64> = s
            .get("rows")
            .and_then(|r| r.as_array())
            .map(|rows| {
                rows.iter()
                    .filter_map(|row| row.get(col).and_then(|v| v.as_f64()))
                    .collect()
            })
            .unwrap_or_default();
        let label = s
            .get("columns")
            .and_then(|c| c.get(col))
            .and_then(|c| c.as_str())
            .unwrap_or("");
        let (lo, hi) = pts
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        let scaled: Vec<u64> = pts
            .iter()
            .map(|v| {
                if hi > lo {
                    (((v - lo) / (hi - lo)) * 100.0) as u64 + 1
                } else {
                    1
                }
            })
            .collect();
        f.render_widget(
            Sparkline::default()
                .data(&scaled)
                .block(Block::default().borders(Borders::ALL).title(format!(
                    "{name}: {label} over {} rows ({lo:.6} … {hi:.6})",
                    pts.len()
                ))),
            chart,
        );
    }
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn dag(f: &mut Frame, app: &App, look: Look, area: Rect) {
    let Some(g) = app.run.as_ref().and_then(|r| r.graph.as_ref()) else {
        f.render_widget(
            Paragraph::new("loading…").block(Block::default().borders(Borders::ALL).title("DAG")),
            area,
        );
        return;
    };
    let status = |id: &str| app.tasks().iter().find(|t| t.id == id).map(|t| t.status);
    let order = app.dag_order();
    let cursor = order.get(app.dag_at).copied();
    let mut lines: Vec<Line> = Vec::new();
    for layer in 0..g.layers {
        let mut spans = vec![Span::raw(format!("{layer:>3} │ "))];
        for (i, n) in g.nodes.iter().enumerate().filter(|(_, n)| n.layer == layer) {
            let st = status(&n.id);
            let mut style = st.map_or(Style::default(), |s| look.state(s));
            if Some(i) == cursor {
                style = style.patch(look.cursor());
            }
            spans.push(Span::styled(format!("[{}]", n.id), style));
            if !n.deps.is_empty() {
                spans.push(Span::raw(format!("←{} ", n.deps.join(","))));
            } else {
                spans.push(Span::raw(" "));
            }
        }
        lines.push(Line::from(spans));
    }
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default().borders(Borders::ALL).title(format!(
                "DAG: {} tasks in {} layers (a task's line shows what it waits on)",
                g.nodes.len(),
                g.layers
            )),
        ),
        area,
    );
}

fn reach(c: &ClusterView, now: i64) -> String {
    match &c.reachability {
        Reachability::Unknown => "not tried".into(),
        Reachability::Reachable { at } => format!("reachable ({})", ago(now, *at)),
        Reachability::Unreachable {
            since, failures, ..
        } => {
            format!("UNREACHABLE ×{failures} since {}", clock(*since))
        }
    }
}

fn clusters(f: &mut Frame, app: &App, look: Look, area: Rect) {
    let [area, detail] = Layout::vertical([Constraint::Min(4), Constraint::Length(9)]).areas(area);
    cluster_detail(f, app, detail);
    let rows: Vec<Row> = app
        .clusters
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let style = if i == app.clusters_at {
                look.cursor()
            } else {
                Style::default()
            };
            let r = reach(c, app.now_ms);
            let rs = if matches!(c.reachability, Reachability::Unreachable { .. }) {
                look.fg(Color::Red)
            } else {
                Style::default()
            };
            Row::new(vec![
                Cell::from(c.name.clone()),
                Cell::from(c.destination.clone()),
                Cell::from(
                    serde_json::to_value(c.scheduler)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                ),
                Cell::from(c.partition.clone().unwrap_or_default()),
                Cell::from(format!("{}j {}/s", c.max_jobs, c.commands_per_second)),
                Cell::from(Span::styled(r, rs)),
                Cell::from(if c.probed { "probed" } else { "" }),
            ])
            .style(style)
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Min(14),
                Constraint::Length(5),
                Constraint::Length(9),
                Constraint::Length(9),
                Constraint::Fill(2),
                Constraint::Length(6),
            ],
        )
        .header(
            Row::new([
                "NAME",
                "DESTINATION",
                "SCHED",
                "PARTITION",
                "LIMITS",
                "REACHABLE",
                "",
            ])
            .style(look.bold()),
        )
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title("Clusters (o: connect)"),
        ),
        area,
    );
}

fn pick(f: &mut Frame, app: &App, look: Look, area: Rect) {
    let shown = app.shown_templates();
    let rows: Vec<Row> = shown
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let style = if i == app.templates_at {
                look.cursor()
            } else {
                Style::default()
            };
            Row::new(vec![
                t.name.clone(),
                t.program.clone(),
                t.description.clone(),
            ])
            .style(style)
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(22),
                Constraint::Length(9),
                Constraint::Fill(1),
            ],
        )
        .header(Row::new(["TEMPLATE", "PROGRAM", "WHAT IT DOES"]).style(look.bold()))
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(if app.template_filter.is_empty() {
                    format!("New task: choose a template ({})", shown.len())
                } else {
                    format!(
                        "New task: choose a template · /{} ({} shown)",
                        app.template_filter,
                        shown.len()
                    )
                }),
        ),
        area,
    );
}

fn new_task(f: &mut Frame, app: &App, look: Look, area: Rect) {
    let Some(form) = &app.form else {
        f.render_widget(Paragraph::new("loading the template…"), area);
        return;
    };
    let shown = form.shown();
    let [fields_area, help_area, preview_area] = Layout::vertical([
        Constraint::Fill(3),
        Constraint::Length(3),
        Constraint::Fill(2),
    ])
    .areas(area);
    let height = fields_area.height.saturating_sub(2) as usize;
    let pos = shown.iter().position(|i| *i == form.at).unwrap_or(0);
    let first = pos.saturating_sub(height.saturating_sub(2));
    let mut lines: Vec<Line> = Vec::new();
    for i in shown.iter().skip(first) {
        let field = &form.fields[*i];
        let label = field.label();
        let mut value = field.text.lines().next().unwrap_or("").to_string();
        let more = field.text.lines().count();
        if more > 1 {
            value.push_str(&format!("  (+{} lines)", more - 1));
        }
        if matches!(field.kind, crate::form::FieldKind::Partition) && value.is_empty() {
            value = "the profile's".into();
        }
        if field.sweep {
            value = format!("sweep [{value}]");
        } else if !field.options(&form.clusters).is_empty()
            || matches!(
                field.kind,
                crate::form::FieldKind::Partition | crate::form::FieldKind::Target
            )
        {
            value = format!("‹ {value} ›");
        }
        let style = if *i == form.at {
            look.cursor()
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{label:>18} "), look.bold()),
            Span::styled(
                format!("{value}{}", if *i == form.at { "▏" } else { "" }),
                style,
            ),
        ]));
        if let Some(e) = form.errors.get(&label) {
            lines.push(Line::from(Span::styled(
                format!("{:>18} ✗ {e}", ""),
                look.fg(Color::Red),
            )));
        }
    }
    let bad = form.errors.len();
    let points = form.points();
    let title = format!(
        "New {} task{}{}",
        form.template.name(),
        if points > 1 {
            format!(" · a sweep of {points} points")
        } else {
            String::new()
        },
        if bad == 0 {
            " · valid: Ctrl-S creates it".to_string()
        } else {
            format!(" · {bad} problem(s)")
        }
    );
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(title)),
        fields_area,
    );
    let help = form.help_at();
    f.render_widget(
        Paragraph::new(help)
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title("Help")),
        help_area,
    );
    let preview: Vec<Line> = match form.preview.first() {
        Some((_, text)) => text
            .lines()
            .take(200)
            .map(|l| Line::from(l.to_string()))
            .collect(),
        None => vec![Line::from("the preview appears once every value is valid")],
    };
    f.render_widget(
        Paragraph::new(preview).block(Block::default().borders(Borders::ALL).title(
            match form.preview.first() {
                Some((name, _)) => format!("Preview: {name}"),
                None => "Preview".to_string(),
            },
        )),
        preview_area,
    );
}

fn queue(f: &mut Frame, app: &App, look: Look, area: Rect) {
    let Some((name, jobs)) = &app.queue else {
        return;
    };
    let secs = |s: Option<u64>| s.map(|s| duration(s as i64 * 1000)).unwrap_or_default();
    let rows: Vec<Row> = jobs
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let style = if i == app.queue_at {
                look.cursor()
            } else {
                Style::default()
            };
            let mut reason = j.reason.clone().unwrap_or_default();
            if j.never {
                reason.push_str(" — will never start");
            }
            Row::new(vec![
                Cell::from(j.job.clone()),
                Cell::from(j.state.clone()),
                Cell::from(Span::styled(
                    reason,
                    if j.never {
                        look.fg(Color::Red)
                    } else {
                        Style::default()
                    },
                )),
                Cell::from(secs(j.elapsed_secs)),
                Cell::from(secs(j.time_limit_secs)),
                Cell::from(if j.ours { "matterstack" } else { "" }),
                Cell::from(j.name.clone()),
            ])
            .style(style)
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(10),
                Constraint::Length(11),
                Constraint::Length(22),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(11),
                Constraint::Fill(1),
            ],
        )
        .header(
            Row::new(["JOB", "STATE", "REASON", "ELAPSED", "LIMIT", "BY", "NAME"])
                .style(look.bold()),
        )
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!("Queue of {name}: {} job(s)", jobs.len())),
        ),
        area,
    );
}

/// The selected cluster: why it is unreachable, what this process sent it,
/// what `cluster probe` found, your jobs there (as last listed).
fn cluster_detail(f: &mut Frame, app: &App, area: Rect) {
    let Some(c) = app.clusters.get(app.clusters_at) else {
        return;
    };
    let mut lines = vec![Line::from(format!(
        "{} · {} command(s) sent by this process · at most {} jobs, {} scheduler commands/s",
        c.destination, c.commands, c.max_jobs, c.commands_per_second
    ))];
    if let Reachability::Unreachable {
        since,
        failures,
        error,
    } = &c.reachability
    {
        lines.push(Line::from(format!(
            "unreachable since {} after {failures} failed tries: {}",
            clock(*since),
            error.lines().next().unwrap_or("")
        )));
    }
    match &c.probe {
        Some(p) => {
            let parts: Vec<String> = p
                .partitions
                .iter()
                .map(|x| {
                    format!(
                        "{}{} ({}, {}×{} CPUs)",
                        x.name,
                        if x.default { "*" } else { "" },
                        x.max_time_s.map_or(
                            "no limit".into(),
                            matterstack_core::model::resources::format_walltime
                        ),
                        x.nodes,
                        x.cpus_per_node
                    )
                })
                .collect();
            lines.push(Line::from(format!("partitions: {}", parts.join(", "))));
            if !p.qos.is_empty() {
                lines.push(Line::from(format!("QOS: {}", p.qos.join(", "))));
            }
            if !p.accounts.is_empty() {
                lines.push(Line::from(format!("accounts: {}", p.accounts.join(", "))));
            }
            lines.push(Line::from(format!("probed {}", p.at)));
        }
        None => lines.push(Line::from(
            "not probed: `matterstack cluster probe NAME` records its partitions, QOS and accounts",
        )),
    }
    if let Some((name, jobs)) = app.queue.as_ref().filter(|q| q.0 == c.name) {
        let pending = jobs.iter().filter(|j| j.state == "PENDING").count();
        let running = jobs.iter().filter(|j| j.state == "RUNNING").count();
        lines.push(Line::from(format!(
            "your jobs on {name}: {pending} pending, {running} running (Q lists them)"
        )));
    }
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title(c.name.clone())),
        area,
    );
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn help(f: &mut Frame, screen: Screen) {
    // One line per action, its keys together: `↑ k  move up`.
    let mut rows: Vec<(String, &str, keys::Action)> = Vec::new();
    for b in keys::on(screen) {
        match rows.iter_mut().find(|r| r.2 == b.action) {
            Some(r) => {
                r.0.push(' ');
                r.0.push_str(&keys::name(b.code));
            }
            None => rows.push((keys::name(b.code), b.help, b.action)),
        }
    }
    let lines: Vec<Line> = rows
        .iter()
        .map(|(k, h, _)| Line::from(format!("{k:>10}  {h}")))
        .collect();
    let h = lines.len() as u16 + 2;
    let area = centered(f.area(), 64, h);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!("Keys on {} (any key closes)", screen.title())),
        ),
        area,
    );
}

fn prompt(f: &mut Frame, title: &str, text: &str) {
    let area = centered(f.area(), 76, 4);
    f.render_widget(Clear, area);
    f.render_widget(
        Paragraph::new(text.to_string())
            .wrap(Wrap { trim: false })
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(title.to_string()),
            ),
        area,
    );
}
