//! Presentation helpers (pure, return strings): QCManyBody's n-body energy table and a small
//! SVG plot of the interaction energy against the n-body level.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::result::ManyBodyOutcome;
use crate::settings::{Bsse, McLevel};

/// Hartree → kcal/mol, qcelemental's CODATA 2014 value (the one QCManyBody prints with).
pub const HARTREE_TO_KCALMOL: f64 = 627.5094737775374;

/// n-body level → (model chemistry label, ordinal label "§A", levels-covered label "§12").
pub type McLabels = BTreeMap<usize, (String, String, String)>;

/// Model chemistry per n-body level, `(label, "§A", "§12")`, and the legend (ordinal → label),
/// as QCManyBody's `modelchem_labels`. Never fails.
pub fn modelchem_labels(levels: &[McLevel]) -> (McLabels, Vec<(String, String)>) {
    let mut per_nb = BTreeMap::new();
    let mut legend = Vec::new();
    for (i, lvl) in levels.iter().enumerate() {
        let letter = format!("§{}", (b'A' + (i % 26) as u8) as char);
        let covered = if lvl.supersystem && lvl.nbodies.is_empty() {
            "§SS".to_string()
        } else if lvl.nbodies.iter().max().copied().unwrap_or(0) > 9 {
            format!("§<{}", lvl.nbodies.iter().max().copied().unwrap_or(0))
        } else {
            let digits: String = lvl.nbodies.iter().map(|n| n.to_string()).collect();
            format!("§{digits}")
        };
        for &nb in &lvl.nbodies {
            per_nb.insert(nb, (lvl.label.clone(), letter.clone(), covered.clone()));
        }
        legend.push((letter, lvl.label.clone()));
    }
    (per_nb, legend)
}

/// Cumulative energy per n-body level for one bsse type (from the flattened `energy_body_dict`).
pub fn energy_by_level(outcome: &ManyBodyOutcome, bsse: Bsse) -> BTreeMap<usize, f64> {
    let suffix = bsse.as_str();
    outcome
        .energy_body_dict
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_suffix(suffix)?;
            // "2nocp" also ends with "cp": the rest must be digits only
            if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some((n.parse().ok()?, *v))
        })
        .collect()
}

/// The n-body energy tables for every bsse type, in QCManyBody's layout (its `stdout`): total
/// energy, interaction energy in Eh and kcal/mol, and each n-body contribution.
///
/// Never fails.
pub fn summary_table(outcome: &ManyBodyOutcome) -> String {
    let (per_nb, legend) = modelchem_labels(&outcome.levels);
    let has_ss = outcome.levels.iter().any(|l| l.supersystem);
    let nfr = outcome.nfragments;
    let mut info = String::new();
    for &bt in &outcome.bsse {
        let body = energy_by_level(outcome, bt);
        let header = format!("{} ({})", bt.formal(), bt.abbr());
        let _ = write!(info, "\n   ==> N-Body: {header} energies <==\n\n");
        let _ = writeln!(info, "        {:>15}  Total Energy            Interaction Energy                          N-body Contribution to Interaction Energy", "MC n-Body");
        info.push_str("                         [Eh]                    [Eh]                  [kcal/mol]            [Eh]                  [kcal/mol]\n");
        let first = body.get(&1).copied().unwrap_or(0.0);
        let mut previous = first;
        let tot = first != 0.0;
        let range: Vec<usize> = if outcome.supersystem_ie_only {
            vec![1, nfr]
        } else {
            body.keys().copied().collect()
        };
        let top = range.iter().max().copied().unwrap_or(1);
        let na = "N/A";
        for nb in 1..=nfr {
            let mut lbl = Vec::new();
            if has_ss && nb > outcome.max_nbody {
                lbl.push("SS");
            }
            if nb == nfr {
                lbl.push("FULL");
            }
            if nb == top {
                lbl.push("RTN");
            }
            let lbl = lbl.join("/");
            let mclbl = per_nb.get(&nb).map(|t| t.1.as_str()).unwrap_or("");
            match (range.contains(&nb), body.get(&nb)) {
                (true, Some(&e)) => {
                    let delta = e - previous;
                    let delta_kcal = delta * HARTREE_TO_KCALMOL;
                    let int_e = e - first;
                    let int_kcal = int_e * HARTREE_TO_KCALMOL;
                    let total = if tot {
                        format!("  {e:>20.12}")
                    } else {
                        format!("        {na:<14}")
                    };
                    let contrib = if outcome.supersystem_ie_only && nb == nfr {
                        format!("        {na:<20}  {na:<20}")
                    } else {
                        format!("  {delta:>20.12}  {delta_kcal:>20.12}")
                    };
                    let _ = writeln!(
                        info,
                        "  {lbl:>11} {mclbl:<2} {nb:>2}{total}  {int_e:>20.12}  {int_kcal:>20.12}{contrib}"
                    );
                    previous = e;
                }
                _ => {
                    let _ = writeln!(
                        info,
                        "  {lbl:>11} {:<2} {nb:>2}        {na:<20}  {na:<20}  {na:<20}  {na:<20}  {na:<20}",
                        ""
                    );
                }
            }
        }
        let legend_text: Vec<String> = legend
            .iter()
            .map(|(k, v)| format!("{k}: \"{v}\""))
            .collect();
        let _ = write!(info, "\n   MC Legend: {}\n\n", legend_text.join(", "));
    }
    info
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained SVG line plot of the interaction energy (kcal/mol) against the n-body level,
/// one line per bsse type.
///
/// Never fails; with no data it draws empty axes.
pub fn interaction_energy_svg(outcome: &ManyBodyOutcome) -> String {
    let (w, h) = (560.0_f64, 360.0_f64);
    let (left, right, top, bottom) = (80.0, 130.0, 30.0, 50.0);
    let colours = ["#1f77b4", "#d62728", "#2ca02c"];
    let series: Vec<(Bsse, Vec<(usize, f64)>)> = outcome
        .bsse
        .iter()
        .map(|&bt| {
            let body = energy_by_level(outcome, bt);
            let first = body.get(&1).copied().unwrap_or(0.0);
            // with supersystem_ie_only only the 1-body and full-cluster levels mean anything
            let pts = body
                .iter()
                .filter(|(n, _)| {
                    !outcome.supersystem_ie_only || **n == 1 || **n == outcome.nfragments
                })
                .map(|(n, e)| (*n, (e - first) * HARTREE_TO_KCALMOL))
                .collect();
            (bt, pts)
        })
        .collect();
    let nmax = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(n, _)| *n))
        .max()
        .unwrap_or(1)
        .max(2);
    let ys: Vec<f64> = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(_, y)| *y))
        .filter(|y| y.is_finite())
        .collect();
    let mut ymin = ys.iter().copied().fold(0.0_f64, f64::min);
    let mut ymax = ys.iter().copied().fold(0.0_f64, f64::max);
    if (ymax - ymin).abs() < 1e-9 {
        ymin -= 1.0;
        ymax += 1.0;
    }
    let pad = 0.08 * (ymax - ymin);
    ymin -= pad;
    ymax += pad;
    let pw = w - left - right;
    let ph = h - top - bottom;
    let x_of = |n: usize| left + pw * (n as f64 - 1.0) / (nmax as f64 - 1.0);
    let y_of = |y: f64| top + ph * (ymax - y) / (ymax - ymin);

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="14">Interaction energy vs n-body level</text>"#,
        left + pw / 2.0
    );
    // axes
    let _ = writeln!(
        svg,
        r#"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>"#,
        top + ph,
        left + pw,
        top + ph
    );
    let _ = writeln!(
        svg,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/>"#,
        top + ph
    );
    for n in 1..=nmax {
        let x = x_of(n);
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.2}" y1="{}" x2="{x:.2}" y2="{}" stroke="black"/><text x="{x:.2}" y="{}" text-anchor="middle">{n}</text>"#,
            top + ph,
            top + ph + 5.0,
            top + ph + 20.0
        );
    }
    for i in 0..=4 {
        let y = ymin + (ymax - ymin) * i as f64 / 4.0;
        let py = y_of(y);
        let _ = writeln!(
            svg,
            r##"<line x1="{}" y1="{py:.2}" x2="{left}" y2="{py:.2}" stroke="black"/><line x1="{left}" y1="{py:.2}" x2="{}" y2="{py:.2}" stroke="#dddddd"/><text x="{}" y="{:.2}" text-anchor="end">{y:.3}</text>"##,
            left - 5.0,
            left + pw,
            left - 8.0,
            py + 4.0
        );
    }
    if ymin < 0.0 && ymax > 0.0 {
        let py = y_of(0.0);
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{py:.2}" x2="{}" y2="{py:.2}" stroke="#888888" stroke-dasharray="4 3"/>"##,
            left + pw
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">n-body level</text>"#,
        left + pw / 2.0,
        h - 12.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">interaction energy [kcal/mol]</text>"#,
        top + ph / 2.0,
        top + ph / 2.0
    );
    for (i, (bt, pts)) in series.iter().enumerate() {
        let colour = colours[i % colours.len()];
        let points: Vec<String> = pts
            .iter()
            .filter(|(_, y)| y.is_finite())
            .map(|(n, y)| format!("{:.2},{:.2}", x_of(*n), y_of(*y)))
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#,
            points.join(" ")
        );
        for p in &points {
            let (x, y) = p.split_once(',').unwrap_or(("0", "0"));
            let _ = writeln!(svg, r#"<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>"#);
        }
        let ly = top + 10.0 + 18.0 * i as f64;
        let lx = left + pw + 15.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            lx + 20.0,
            lx + 25.0,
            ly + 4.0,
            xml_escape(bt.abbr())
        );
    }
    svg.push_str("</svg>\n");
    svg
}
