//! Inline SVG for `report.html`: the timeline of attempts (one row per
//! task, one bar per attempt coloured by outcome, lineage drawn as arrows
//! from an attempt to the one that continued it) and plots of numeric
//! results across tasks. Pure: geometry is computed from numbers, every
//! user string is escaped with [`esc`]. No `xmlns` and no external
//! references: the SVG is meant to sit inside the HTML page.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::html::esc;
use super::Evidence;
use crate::model::duration::duration_label;

/// Width of every SVG, in user units (pixels).
pub const WIDTH: f64 = 960.0;
/// The most tasks drawn in the timeline (the JSON has them all).
pub const MAX_ROWS: usize = 500;
/// The most result keys plotted.
pub const MAX_PLOTS: usize = 16;
/// The most tasks in one plot.
pub const MAX_POINTS: usize = 2000;
const LEFT: f64 = 180.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 30.0;
const ROW_H: f64 = 22.0;
const BAR_H: f64 = 14.0;
/// Bars are at least this wide, so an instant attempt stays visible.
pub const MIN_W: f64 = 2.0;

/// One attempt on the time axis (times in ms since the epoch).
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// Row (task) index.
    pub row: usize,
    /// Recorded.
    pub queued: i64,
    /// Started.
    pub start: Option<i64>,
    /// Ended (`None`: still live, drawn up to the export time).
    pub end: Option<i64>,
    /// Index (in the same slice) of the attempt it continues.
    pub parent: Option<usize>,
}

/// Where a [`Span`] is drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Left edge of the run bar.
    pub x: f64,
    /// Width of the run bar (at least [`MIN_W`]).
    pub w: f64,
    /// Top edge.
    pub y: f64,
    /// Height.
    pub h: f64,
    /// The waiting part before the start, `(x, w)`, when there is one.
    pub wait: Option<(f64, f64)>,
}

/// The drawing area of a timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Earliest time shown.
    pub t0: i64,
    /// Latest time shown (> `t0`).
    pub t1: i64,
    /// Left edge of the time axis.
    pub left: f64,
    /// Width of the time axis.
    pub width: f64,
    /// Top of the first row.
    pub top: f64,
}

impl Frame {
    /// A frame covering every span (live ones up to `now`).
    pub fn covering(spans: &[Span], now: i64) -> Frame {
        let t0 = spans.iter().map(|s| s.queued).min().unwrap_or(now);
        let t1 = spans
            .iter()
            .map(|s| s.end.unwrap_or(now).max(s.start.unwrap_or(s.queued)))
            .max()
            .unwrap_or(now)
            .max(t0 + 1);
        Frame {
            t0,
            t1,
            left: LEFT,
            width: WIDTH - LEFT - RIGHT,
            top: TOP,
        }
    }

    /// The x of time `t` (clamped to the axis).
    pub fn x(&self, t: i64) -> f64 {
        let f = (t - self.t0) as f64 / (self.t1 - self.t0) as f64;
        self.left + f.clamp(0.0, 1.0) * self.width
    }
}

/// Places every span: x from its start (or, never started, its queue time)
/// to its end (or `now`), at least [`MIN_W`] wide and inside the axis; y
/// from its row.
pub fn layout(spans: &[Span], frame: &Frame, now: i64) -> Vec<Bar> {
    let right = frame.left + frame.width;
    spans
        .iter()
        .map(|s| {
            let start = s.start.unwrap_or(s.queued);
            let end = s.end.unwrap_or(now).max(start);
            let mut x = frame.x(start);
            let w = (frame.x(end) - x).max(MIN_W);
            if x + w > right {
                x = right - w;
            }
            let qx = frame.x(s.queued);
            let wait = (s.start.is_some() && x - qx > 0.0).then_some((qx, x - qx));
            Bar {
                x,
                w,
                y: frame.top + s.row as f64 * ROW_H + (ROW_H - BAR_H) / 2.0,
                h: BAR_H,
                wait,
            }
        })
        .collect()
}

/// The fill colour of an attempt status.
pub fn colour(status: &str) -> &'static str {
    match status {
        "COMPLETED" => "#2e7d32",
        "FAILED" => "#c62828",
        "CANCELLED" => "#ef6c00",
        "RUNNING" => "#1565c0",
        _ => "#90a4ae",
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The timeline of every attempt of the first [`MAX_ROWS`] tasks.
pub fn timeline(ev: &Evidence) -> String {
    let now = ev.run.exported_ms;
    let tasks = &ev.tasks[..ev.tasks.len().min(MAX_ROWS)];
    let mut spans = Vec::new();
    let mut meta = Vec::new();
    for (row, t) in tasks.iter().enumerate() {
        let first = spans.len();
        for a in &t.attempts {
            let parent = a
                .parent
                .and_then(|p| t.attempts.iter().position(|b| b.n == p).map(|i| first + i));
            spans.push(Span {
                row,
                queued: a.ms.0,
                start: a.ms.1,
                end: a.ms.2,
                parent,
            });
            meta.push((t, a));
        }
    }
    let frame = Frame::covering(&spans, now);
    let bars = layout(&spans, &frame, now);
    let height = TOP + tasks.len().max(1) as f64 * ROW_H + 40.0;
    let mut s = format!(
        r#"<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="Timeline of attempts">"#
    );
    // Axis with five ticks.
    let bottom = height - 34.0;
    for i in 0..=4 {
        let t = frame.t0 + (frame.t1 - frame.t0) * i / 4;
        let x = frame.x(t);
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" font-size="11" text-anchor="middle" fill="#555">+{}</text>"##,
            TOP - 6.0,
            TOP - 10.0,
            duration_label(t - frame.t0)
        );
    }
    for (row, t) in tasks.iter().enumerate() {
        let y = TOP + row as f64 * ROW_H;
        if row % 2 == 1 {
            let _ = write!(
                s,
                r##"<rect x="0" y="{y:.1}" width="{WIDTH}" height="{ROW_H}" fill="#f6f8fa"/>"##
            );
        }
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="12" text-anchor="end" fill="#222"><title>{}</title>{}</text>"##,
            LEFT - 8.0,
            y + ROW_H / 2.0 + 4.0,
            esc(&t.id),
            esc(&truncate(&t.id, 26))
        );
    }
    for (i, (b, (t, a))) in bars.iter().zip(&meta).enumerate() {
        if let Some((qx, qw)) = b.wait {
            let _ = write!(
                s,
                r##"<rect class="wait" x="{qx:.1}" y="{:.1}" width="{qw:.1}" height="{:.1}" fill="#cfd8dc"/>"##,
                b.y + b.h / 3.0,
                b.h / 3.0
            );
        }
        let mut tip = format!("{} attempt {} ({}): {}", t.id, a.n, a.kind, a.status);
        if let Some(c) = a.exit_code {
            let _ = write!(tip, ", exit {c}");
        }
        if let Some(r) = &a.run_s {
            let _ = write!(tip, ", ran {r:.3} s");
        }
        if let Some(r) = &a.reason {
            let _ = write!(tip, ": {r}");
        }
        let _ = write!(
            s,
            r#"<rect class="bar {st}" data-task="{task}" data-attempt="{n}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="2" fill="{fill}"><title>{tip}</title></rect>"#,
            b.x,
            b.y,
            b.w,
            b.h,
            st = esc(&a.status),
            task = esc(&t.id),
            n = a.n,
            fill = colour(&a.status),
            tip = esc(&tip),
        );
        if let Some(p) = spans[i].parent {
            let pb = &bars[p];
            let (x1, y1) = (pb.x + pb.w, pb.y + pb.h / 2.0);
            let (x2, y2) = (b.x, b.y + b.h / 2.0);
            let _ = write!(
                s,
                r##"<path class="lineage" d="M{x1:.1} {y1:.1} L{x2:.1} {y2:.1}" stroke="#37474f" stroke-width="1.2" stroke-dasharray="3 2" fill="none"/><path d="M{x2:.1} {y2:.1} l-5 -3.5 v7 z" fill="#37474f"/>"##
            );
        }
        if a.n > 1 || a.kind != "run" {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#37474f">#{} {}</text>"##,
                b.x + b.w + 3.0,
                b.y - 1.0,
                a.n,
                esc(&a.kind)
            );
        }
    }
    let mut x = LEFT;
    for st in ["COMPLETED", "FAILED", "CANCELLED", "RUNNING", "CREATED"] {
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#333">{st}</text>"##,
            height - 22.0,
            colour(st),
            x + 16.0,
            height - 12.0
        );
        x += 110.0;
    }
    let _ = write!(
        s,
        r##"<path d="M{x:.1} {:.1} h24" stroke="#37474f" stroke-dasharray="3 2"/><text x="{:.1}" y="{:.1}" font-size="11" fill="#333">retry / restart of</text></svg>"##,
        height - 16.0,
        x + 30.0,
        height - 12.0
    );
    s
}

/// Numeric leaves of a results object, with dotted keys
/// (`final_energy`, `values.dipole`); booleans, strings and arrays are left out.
pub fn numeric_leaves(v: &Value) -> Vec<(String, f64)> {
    fn go(prefix: &str, v: &Value, depth: usize, out: &mut Vec<(String, f64)>) {
        match v {
            Value::Number(n) => {
                if let Some(f) = n.as_f64().filter(|f| f.is_finite()) {
                    out.push((prefix.to_string(), f));
                }
            }
            Value::Object(m) if depth < 4 => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    go(&key, v, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if v.is_object() {
        go("", v, 0, &mut out);
    }
    out
}

/// One plot: a result key across tasks.
#[derive(Debug, Clone)]
pub struct Plot {
    /// The result key.
    pub key: String,
    /// `(task, value)` in declaration order.
    pub points: Vec<(String, f64)>,
    /// The SVG.
    pub svg: String,
}

/// A plot for each numeric result key present in at least two tasks (most
/// common keys first, at most [`MAX_PLOTS`]). The points of a sweep are
/// plotted on their own, against the swept value (see [`sweep_plots`]).
pub fn result_plots(ev: &Evidence) -> Vec<Plot> {
    let mut out = sweep_plots(ev);
    let mut series: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for t in ev.tasks.iter().filter(|t| t.spec.sweep_of.is_none()) {
        if let Some(r) = &t.results {
            for (k, v) in numeric_leaves(r) {
                series.entry(k).or_default().push((t.id.clone(), v));
            }
        }
    }
    let mut keys: Vec<(String, Vec<(String, f64)>)> =
        series.into_iter().filter(|(_, p)| p.len() >= 2).collect();
    // Most common first; the final energy leads among equals.
    keys.sort_by_key(|(k, p)| (std::cmp::Reverse(p.len()), k != "final_energy", k.clone()));
    keys.truncate(MAX_PLOTS.saturating_sub(out.len()));
    out.extend(keys.into_iter().map(|(key, mut points)| {
        points.truncate(MAX_POINTS);
        let svg = series_svg(&key, &points, None);
        Plot { key, points, svg }
    }));
    out
}

/// For each sweep over one variable, each numeric result its points share,
/// against the swept value: `final_energy vs r (scan)`, the points in the
/// value's order and, for numbers, spaced by it.
pub fn sweep_plots(ev: &Evidence) -> Vec<Plot> {
    let mut sweeps: BTreeMap<&str, Vec<&super::TaskEvidence>> = BTreeMap::new();
    for t in &ev.tasks {
        if let Some(origin) = &t.spec.sweep_of {
            sweeps.entry(origin.as_str()).or_default().push(t);
        }
    }
    let mut out = Vec::new();
    for (origin, points) in sweeps {
        // One swept variable: its name and each point's value.
        let Some(var) = points[0].spec.sweep_point.keys().next().cloned() else {
            continue;
        };
        if points.iter().any(|p| p.spec.sweep_point.len() != 1) {
            continue;
        }
        let value = |t: &super::TaskEvidence| t.spec.sweep_point.get(&var).cloned();
        let numeric = points
            .iter()
            .all(|p| value(p).is_some_and(|v| v.is_number()));
        let mut keyed: BTreeMap<String, Vec<(String, f64, Option<f64>)>> = BTreeMap::new();
        for t in &points {
            let Some(v) = value(t) else { continue };
            let label = match &v {
                Value::String(s) => format!("{var}={s}"),
                other => format!("{var}={other}"),
            };
            for (k, r) in t.results.as_ref().map(numeric_leaves).unwrap_or_default() {
                keyed.entry(k).or_default().push((
                    label.clone(),
                    r,
                    v.as_f64().filter(|_| numeric),
                ));
            }
        }
        let mut keys: Vec<_> = keyed.into_iter().filter(|(_, p)| p.len() >= 2).collect();
        keys.sort_by_key(|(k, p)| (std::cmp::Reverse(p.len()), k != "final_energy", k.clone()));
        for (key, mut pts) in keys {
            if out.len() >= MAX_PLOTS {
                return out;
            }
            if numeric {
                pts.sort_by(|a, b| a.2.unwrap_or(0.0).total_cmp(&b.2.unwrap_or(0.0)));
            }
            pts.truncate(MAX_POINTS);
            let title = format!("{key} vs {var} ({origin})");
            let xs: Option<Vec<f64>> = numeric.then(|| pts.iter().filter_map(|p| p.2).collect());
            let points: Vec<(String, f64)> = pts.into_iter().map(|(l, v, _)| (l, v)).collect();
            let svg = series_svg(&title, &points, xs.as_deref());
            out.push(Plot {
                key: title,
                points,
                svg,
            });
        }
    }
    out
}

/// A plot for each column of each parsed series (`results.series`: SCF
/// iterations, MD frames), per task, against the series' first column;
/// at most [`MAX_PLOTS`] in all, the last [`MAX_POINTS`] rows of each.
pub fn series_plots(ev: &Evidence) -> Vec<Plot> {
    let mut out = Vec::new();
    for t in &ev.tasks {
        let Some(series) = t
            .results
            .as_ref()
            .and_then(|r| r.get("series"))
            .and_then(Value::as_object)
        else {
            continue;
        };
        for (name, s) in series {
            let Ok(s) = serde_json::from_value::<matterstack_templates::parsers::Series>(s.clone())
            else {
                continue;
            };
            let skip = s.rows.len().saturating_sub(MAX_POINTS);
            for (c, column) in s.columns.iter().enumerate().skip(1) {
                let unit = s.units.get(c).filter(|u| !u.is_empty());
                let key = match unit {
                    Some(u) => format!("{}: {name} {column} ({u})", t.id),
                    None => format!("{}: {name} {column}", t.id),
                };
                let points: Vec<(String, f64)> = s
                    .rows
                    .iter()
                    .skip(skip)
                    .filter_map(|r| Some((format!("{} {}", s.columns[0], r.first()?), *r.get(c)?)))
                    .filter(|p| p.1.is_finite())
                    .collect();
                if points.len() < 2 || out.len() >= MAX_PLOTS {
                    continue;
                }
                let svg = series_svg(&key, &points, None);
                out.push(Plot { key, points, svg });
            }
        }
    }
    out
}

/// Decimals that tell ticks `step` apart.
fn decimals(step: f64) -> usize {
    if step <= 0.0 || !step.is_finite() {
        return 6;
    }
    (-step.log10().floor() + 1.0).clamp(0.0, 10.0) as usize
}

/// `xs`: each point's x value (spaced by it); `None`: evenly spaced, in order.
fn series_svg(key: &str, points: &[(String, f64)], xs: Option<&[f64]>) -> String {
    let (w, h) = (WIDTH, 300.0);
    let (left, right, top, bottom) = (110.0, 20.0, 28.0, 80.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let mut lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let mut hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let pad = (hi.abs() * 1e-3).max(1e-9);
        lo -= pad;
        hi += pad;
    } else {
        let pad = (hi - lo) * 0.08;
        lo -= pad;
        hi += pad;
    }
    let n = points.len() as f64;
    let span = xs
        .filter(|x| x.len() == points.len())
        .map(|x| {
            let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (x, lo, hi)
        })
        .filter(|(_, lo, hi)| hi > lo && lo.is_finite() && hi.is_finite());
    let px = |i: usize| match span {
        Some((x, lo, hi)) => left + pw * (0.5 / n + (1.0 - 1.0 / n) * (x[i] - lo) / (hi - lo)),
        None => left + (i as f64 + 0.5) * pw / n,
    };
    let py = |v: f64| top + (hi - v) / (hi - lo) * ph;
    let mut s = format!(
        r##"<svg class="plot" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{k} across tasks"><text x="{left}" y="18" font-size="13" font-weight="bold" fill="#222">{k}</text>"##,
        k = esc(key)
    );
    let dec = decimals((hi - lo) / 4.0);
    for i in 0..=4 {
        let v = lo + (hi - lo) * i as f64 / 4.0;
        let y = py(v);
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end" fill="#555">{v:.dec$}</text>"##,
            left + pw,
            left - 6.0,
            y + 4.0
        );
    }
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", px(i), py(p.1)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#1565c0" stroke-width="1.5"/>"##,
        line.join(" ")
    );
    let every = points.len().div_ceil(40).max(1);
    let r = if points.len() <= 60 { 3.5 } else { 1.5 };
    for (i, (task, v)) in points.iter().enumerate() {
        let (x, y) = (px(i), py(*v));
        let _ = write!(
            s,
            r##"<circle class="point" cx="{x:.1}" cy="{y:.1}" r="{r}" fill="#1565c0"><title>{}: {v}</title></circle>"##,
            esc(task)
        );
        if i % every == 0 {
            let ly = top + ph + 12.0;
            let _ = write!(
                s,
                r##"<text x="{x:.1}" y="{ly:.1}" font-size="11" text-anchor="end" fill="#333" transform="rotate(-40 {x:.1} {ly:.1})">{}</text>"##,
                esc(&truncate(task, 18))
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(row: usize, queued: i64, start: Option<i64>, end: Option<i64>) -> Span {
        Span {
            row,
            queued,
            start,
            end,
            parent: None,
        }
    }

    #[test]
    fn bars_are_placed_by_time_and_row() {
        let spans = [
            span(0, 0, Some(0), Some(1000)),
            span(0, 1000, Some(1500), Some(2000)),
            span(1, 2000, Some(2000), Some(4000)),
        ];
        let f = Frame::covering(&spans, 10_000);
        assert_eq!((f.t0, f.t1), (0, 4000));
        let bars = layout(&spans, &f, 10_000);
        let q = f.width / 4.0;
        assert!((bars[0].x - f.left).abs() < 1e-9);
        assert!((bars[0].w - q).abs() < 1e-9);
        // The second attempt waited 500 ms before it started.
        assert!((bars[1].x - (f.left + 1.5 * q)).abs() < 1e-9);
        let (wx, ww) = bars[1].wait.unwrap();
        assert!((wx - (f.left + q)).abs() < 1e-9 && (ww - q / 2.0).abs() < 1e-9);
        // The last bar ends at the right edge; rows go down.
        assert!((bars[2].x + bars[2].w - (f.left + f.width)).abs() < 1e-9);
        assert_eq!(bars[0].y, bars[1].y);
        assert!((bars[2].y - bars[0].y - ROW_H).abs() < 1e-9);
        assert!(bars[0].wait.is_none());
    }

    #[test]
    fn instant_and_live_attempts_stay_visible_and_inside_the_axis() {
        let spans = [
            span(0, 0, Some(0), Some(10_000)),
            // Instant, at the very end.
            span(1, 10_000, Some(10_000), Some(10_000)),
            // Live: drawn up to now.
            span(2, 2000, Some(3000), None),
            // Never started: drawn from its queue time, no wait part.
            span(3, 5000, None, None),
        ];
        let now = 12_000;
        let f = Frame::covering(&spans, now);
        assert_eq!(f.t1, now);
        let bars = layout(&spans, &f, now);
        let right = f.left + f.width;
        for b in &bars {
            assert!(b.w >= MIN_W, "{b:?}");
            assert!(b.x >= f.left && b.x + b.w <= right + 1e-9, "{b:?}");
        }
        assert!((bars[1].w - MIN_W).abs() < 1e-9);
        assert!((bars[2].x + bars[2].w - right).abs() < 1e-9);
        assert!(bars[3].wait.is_none());
    }

    #[test]
    fn a_single_instant_gives_a_non_empty_frame() {
        let spans = [span(0, 5, Some(5), Some(5))];
        let f = Frame::covering(&spans, 5);
        assert!(f.t1 > f.t0);
        assert!(layout(&spans, &f, 5)[0].w >= MIN_W);
        assert_eq!(Frame::covering(&[], 7).t0, 7);
    }

    #[test]
    fn numeric_leaves_flatten_objects_and_skip_the_rest() {
        let v = serde_json::json!({
            "program": "xtb", "final_energy": -5.07, "normal_termination": true,
            "warnings": [1, 2], "values": {"gap": 14.2, "note": "x", "deep": {"a": 1}}
        });
        let mut got = numeric_leaves(&v);
        got.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            got,
            vec![
                ("final_energy".to_string(), -5.07),
                ("values.deep.a".to_string(), 1.0),
                ("values.gap".to_string(), 14.2)
            ]
        );
        assert!(numeric_leaves(&serde_json::json!(3)).is_empty());
    }

    #[test]
    fn plot_text_is_escaped() {
        let svg = series_svg(
            "k<&>",
            &[("a<b".to_string(), 1.0), ("c\"d".to_string(), 2.0)],
            None,
        );
        assert!(svg.contains("k&lt;&amp;&gt;"), "{svg}");
        assert!(svg.contains("a&lt;b") && svg.contains("c&quot;d"), "{svg}");
        assert!(!svg.contains("a<b"));
        assert_eq!(svg.matches("<circle").count(), 2);
    }

    #[test]
    fn points_spaced_by_their_x_values() {
        let pts = [
            ("r=1".to_string(), 1.0),
            ("r=2".to_string(), 2.0),
            ("r=10".to_string(), 3.0),
        ];
        let svg = series_svg("e", &pts, Some(&[1.0, 2.0, 10.0]));
        let xs: Vec<f64> = svg
            .match_indices("<circle class=\"point\" cx=\"")
            .map(|(i, m)| {
                let rest = &svg[i + m.len()..];
                rest[..rest.find('"').unwrap()].parse().unwrap()
            })
            .collect();
        assert_eq!(xs.len(), 3);
        // 1 -> 2 is a ninth of 1 -> 10.
        let (a, b) = (xs[1] - xs[0], xs[2] - xs[0]);
        assert!((a / b - 1.0 / 9.0).abs() < 0.01, "{xs:?}");
    }
}
