//! GROMACS `mdrun` log (`<deffnm>.log`) or `grompp`/`mdrun` terminal output.
//!
//! Values: `energies` (the last step's energy terms, kJ/mol), `final_step`,
//! `max_force` and `max_force_atom` (energy minimisation), `ns_per_day`. Series: `md`
//! (step, time, potential, kinetic energy, temperature of every energy frame) or, for an
//! energy minimisation, `em` (step, potential).
//! `final_energy` is the final potential energy. Errors: `Fatal error:` blocks.
//! An energy minimisation that does not reach Fmax sets `converged = false` and a
//! warning (GROMACS itself treats this as a normal end).

use serde_json::{Map, Value};

use super::{after, num, num_after, ParsedOutput, Series};

/// Parses GROMACS log text. Never fails.
pub fn parse(text: &str) -> ParsedOutput {
    let mut out = ParsedOutput::new("gromacs");
    out.energy_unit = Some("kJ/mol".into());
    let lines: Vec<&str> = text.lines().collect();
    let mut last_energies: Option<Map<String, Value>> = None;
    let mut last_step: Option<i64> = None;
    let mut in_averages = false;
    let mut em_potential = None;
    let mut frame: Option<(i64, f64)> = None;
    let mut md = Series::new(&[
        ("step", ""),
        ("time", "ps"),
        ("potential", "kJ/mol"),
        ("kinetic", "kJ/mol"),
        ("temperature", "K"),
    ]);
    let mut em = Series::new(&[("step", ""), ("potential", "kJ/mol")]);
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if out.version.is_none() {
            // `GROMACS:      gmx mdrun, version 2018.1` (5.x: `VERSION 5.1.4`, other
            // spacing) or the banner `:-) GROMACS - gmx mdrun, VERSION 5.1.4 (-:`.
            let program_line = (t.starts_with("GROMACS:") && t.contains("gmx"))
                || t.starts_with(":-) GROMACS - gmx");
            if program_line {
                out.version = t
                    .trim_end_matches("(-:")
                    .rsplit_once(',')
                    .map(|(_, v)| v.trim())
                    .map(|v| {
                        v.strip_prefix("version ")
                            .or_else(|| v.strip_prefix("VERSION "))
                            .unwrap_or(v)
                            .trim()
                            .to_string()
                    })
                    .filter(|v| !v.is_empty());
            }
        }
        // The frame header: `Step Time` (2016+) or `Step Time Lambda` (5.x).
        let frame_header = t.starts_with("Step") && (t.ends_with("Time") || t.ends_with("Lambda"));
        if frame_header && !in_averages {
            let mut next = lines.get(i + 1).map_or("", |l| l.trim()).split_whitespace();
            if let Some(step) = next.next().and_then(|s| s.parse::<i64>().ok()) {
                last_step = Some(step);
                frame = next.next().and_then(num).map(|time| (step, time));
            }
        } else if t.contains("A V E R A G E S") {
            in_averages = true;
        } else if t.starts_with("Energies (kJ/mol)") && !in_averages {
            let e = energy_block(&lines[i + 1..]);
            if let Some((step, time)) = frame.take() {
                let get = |k: &str| e.get(k).and_then(Value::as_f64);
                match (get("Potential"), get("Kinetic En."), get("Temperature")) {
                    (Some(p), Some(k), Some(temp)) => md.push(vec![step as f64, time, p, k, temp]),
                    // Energy minimisation: no kinetic energy, no temperature.
                    (Some(p), None, None) => em.push(vec![step as f64, p]),
                    _ => {}
                }
            }
            last_energies = Some(e);
        } else if t.contains("converged to Fmax")
            || t.contains("converge to Fmax")
            || t.contains("converged to machine precision")
        {
            let ok = !t.contains("did not converge");
            out.converged = Some(ok);
            if !ok {
                out.warn(t);
            }
        } else if t.starts_with("Potential Energy  =") {
            em_potential = num_after(t, "=");
        } else if t.starts_with("Maximum force     =") {
            if let Some(f) = num_after(t, "=") {
                out.set("max_force", f);
            }
            if let Some(a) = after(t, "on atom").and_then(|a| a.parse::<i64>().ok()) {
                out.set("max_force_atom", a);
            }
        } else if let Some(rest) = t.strip_prefix("Time:") {
            let f: Vec<f64> = rest.split_whitespace().filter_map(num).collect();
            if f.len() >= 2 {
                out.cpu_time_s = Some(f[0]);
                out.wall_time_s = Some(f[1]);
            }
        } else if t.starts_with("Performance:") {
            if let Some(p) = num_after(t, "Performance:") {
                out.set("ns_per_day", p);
            }
        } else if t.starts_with("Finished mdrun") {
            out.normal_termination = true;
        } else if t.starts_with("Fatal error:") {
            let mut msg: Vec<&str> = Vec::new();
            for l in lines.iter().skip(i + 1) {
                let l = l.trim();
                if l.is_empty() || l.starts_with("For more information") || l.starts_with("----") {
                    break;
                }
                msg.push(l);
            }
            out.err(format!("GROMACS fatal error: {}", msg.join(" ")));
        } else if t.starts_with("WARNING") {
            let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or("");
            out.warn(format!("{t} {next}").trim().to_string());
        }
    }
    if let Some(e) = &last_energies {
        out.final_energy = e.get("Potential").and_then(Value::as_f64);
        out.set("energies", Value::Object(e.clone()));
    }
    if let Some(p) = em_potential {
        out.final_energy = Some(p);
    }
    if let Some(s) = last_step {
        out.set("final_step", s);
    }
    if !md.rows.is_empty() {
        out.series.insert("md".into(), md);
    }
    if !em.rows.is_empty() {
        out.series.insert("em".into(), em);
    }
    out
}

/// Reads alternating name rows (15-character columns) and value rows.
fn energy_block(lines: &[&str]) -> Map<String, Value> {
    let mut m = Map::new();
    let mut k = 0;
    while k + 1 < lines.len() {
        let names = lines[k];
        let values: Vec<f64> = lines[k + 1].split_whitespace().filter_map(num).collect();
        if names.trim().is_empty() || values.is_empty() {
            break;
        }
        let chars: Vec<char> = names.chars().collect();
        let cols: Vec<String> = chars
            .chunks(15)
            .map(|c| c.iter().collect::<String>().trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if cols.len() != values.len() {
            break;
        }
        for (n, v) in cols.into_iter().zip(values) {
            m.insert(n, Value::from(v));
        }
        k += 2;
    }
    m
}
