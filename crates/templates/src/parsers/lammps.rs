//! LAMMPS log (`log.lammps`, or the `-log` file the shipped templates name).
//!
//! `final_energy` is the potential energy: the final energy of the last
//! minimisation (`Energy initial, next-to-last, final =`) when it comes after
//! the last thermo line, else the `PotEng`/`E_pair` column of the last thermo
//! line. Its unit follows the `units` command the log echoes (lj: `epsilon`,
//! real: `kcal/mol`, metal: `eV`, …; lj when none is echoed).
//! Values: `thermo` (the last thermo line, by column name as printed),
//! `final_step`, `atoms`, `loop_time_s` (the last run's loop), `timesteps_per_s`,
//! `ns_per_day` / `tau_per_day` (as printed by `Performance:`), and for a
//! minimisation `stopping_criterion`, `energy_initial`, `energy_final`,
//! `iterations`, `force_evaluations`.
//! Series: `md` (thermo lines of `run`s) and `min` (thermo lines of `minimize`),
//! columns `step`, then `temperature`, `potential`, `kinetic`, `total`,
//! `pressure`, … as far as the thermo style prints them (other columns by
//! their lower-cased name). A step printed twice (the end of one chunk and the
//! start of the next, or a restart continuing) is kept once.
//! Normal termination: `Total wall time:`. Errors: `ERROR:` / `ERROR on proc N:`
//! lines. A restart that appends to the same log (`Reading restart file`, or a
//! new `LAMMPS (` banner) starts a new segment: earlier errors and endings
//! belong to the interrupted attempt and are forgotten; the series go on.

use serde_json::{Map, Value};

use super::{after, num, num_after, ParsedOutput, Series};

/// The energy unit of a LAMMPS `units` style.
fn energy_unit(style: &str) -> &'static str {
    match style {
        "real" => "kcal/mol",
        "metal" => "eV",
        "si" => "J",
        "cgs" => "erg",
        "electron" => "hartree",
        "micro" => "picogram-micrometer^2/microsecond^2",
        "nano" => "attogram-nanometer^2/nanosecond^2",
        _ => "epsilon",
    }
}

fn temperature_unit(style: &str) -> &'static str {
    if style == "lj" {
        ""
    } else {
        "K"
    }
}

fn pressure_unit(style: &str) -> &'static str {
    match style {
        "real" => "atm",
        "metal" => "bar",
        "si" => "Pa",
        "cgs" => "dyne/cm^2",
        "electron" => "Pa",
        _ => "",
    }
}

/// A thermo column: its series name and unit.
fn column(name: &str, style: &str) -> (String, String) {
    let e = energy_unit(style).to_string();
    let (n, u) = match name {
        "Step" => ("step", String::new()),
        "Temp" => ("temperature", temperature_unit(style).to_string()),
        "PotEng" | "E_pair" => ("potential", e),
        "KinEng" => ("kinetic", e),
        "TotEng" => ("total", e),
        "Press" => ("pressure", pressure_unit(style).to_string()),
        "Volume" => ("volume", String::new()),
        "Time" | "Elapsed" | "Dt" | "Fnorm" | "Fmax" | "E_vdwl" | "E_coul" | "E_long"
        | "E_bond" | "E_angle" | "E_dihed" | "E_impro" | "E_mol" => {
            return (
                name.to_ascii_lowercase(),
                match name {
                    "E_vdwl" | "E_coul" | "E_long" | "E_bond" | "E_angle" | "E_dihed"
                    | "E_impro" | "E_mol" => e,
                    _ => String::new(),
                },
            )
        }
        other => return (other.to_ascii_lowercase(), String::new()),
    };
    (n.to_string(), u)
}

/// The thermo header of the current block.
struct Block {
    names: Vec<String>,
    minimize: bool,
}

/// Parses LAMMPS log text. Never fails.
pub fn parse(text: &str) -> ParsedOutput {
    let mut out = ParsedOutput::new("lammps");
    let lines: Vec<&str> = text.lines().collect();
    let mut style = "lj".to_string();
    let mut minimizing = false;
    let mut block: Option<Block> = None;
    let mut md: Option<Series> = None;
    let mut min: Option<Series> = None;
    let mut last_thermo: Option<Map<String, Value>> = None;
    let mut last_pe: Option<f64> = None;
    let mut min_final: Option<f64> = None;
    let mut energy_from_min = false;
    let mut last_step: Option<i64> = None;
    let mut error: Option<String> = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        // A thermo row of the current block.
        if let Some(b) = &block {
            let words: Vec<&str> = t.split_whitespace().collect();
            let row: Option<Vec<f64>> = (words.len() == b.names.len())
                .then(|| words.iter().map(|w| num(w)).collect())
                .flatten();
            if let Some(row) = row {
                let step = row[0];
                let series = if b.minimize { &mut min } else { &mut md };
                let s = series.get_or_insert_with(|| {
                    let cols: Vec<(String, String)> =
                        b.names.iter().map(|n| column(n, &style)).collect();
                    let refs: Vec<(&str, &str)> =
                        cols.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                    Series::new(&refs)
                });
                if s.columns.len() == row.len() {
                    if s.rows.last().is_some_and(|r| r[0] == step) {
                        s.rows.pop();
                    }
                    s.push(row.clone());
                }
                let mut m = Map::new();
                for (n, v) in b.names.iter().zip(&row) {
                    m.insert(n.clone(), Value::from(*v));
                }
                last_pe = m
                    .get("PotEng")
                    .or_else(|| m.get("E_pair"))
                    .and_then(Value::as_f64)
                    .or(last_pe);
                energy_from_min = false;
                last_thermo = Some(m);
                if step.fract() == 0.0 && step.abs() < 9e15 {
                    last_step = Some(step as i64);
                }
                continue;
            }
            // A warning may come between thermo lines; anything else ends the block.
            if !t.starts_with("WARNING") {
                block = None;
            }
        }
        let first = t.split_whitespace().next().unwrap_or("");
        if out.version.is_none() {
            if let Some(v) = t.strip_prefix("LAMMPS (").and_then(|r| r.strip_suffix(')')) {
                out.version = Some(v.trim().to_string());
            }
        }
        if t.starts_with("LAMMPS (") || t == "Reading restart file ..." {
            // A new attempt (a restart appending to the log).
            error = None;
            out.normal_termination = false;
        }
        match first {
            "units" => {
                if let Some(s) = t.split_whitespace().nth(1) {
                    style = s.to_string();
                }
            }
            "minimize" => minimizing = true,
            "run" | "rerun" => minimizing = false,
            "Step" => {
                let names: Vec<String> = t.split_whitespace().map(str::to_string).collect();
                // A header is followed by a row of as many numbers.
                let next = lines.get(i + 1).map_or("", |l| l.trim());
                let words: Vec<&str> = next.split_whitespace().collect();
                if words.len() == names.len() && words.iter().all(|w| num(w).is_some()) {
                    block = Some(Block {
                        names,
                        minimize: minimizing,
                    });
                }
            }
            _ => {}
        }
        if t.starts_with("Loop time of") {
            if let Some(s) = num_after(t, "Loop time of") {
                out.set("loop_time_s", s);
            }
            if let Some(n) = after(t, " with ")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|w| w.parse::<i64>().ok())
            {
                out.set("atoms", n);
            }
        } else if let Some(rest) = t.strip_prefix("Performance:") {
            for part in rest.split(',') {
                let mut w = part.split_whitespace();
                if let (Some(v), Some(unit)) = (w.next().and_then(num), w.next()) {
                    match unit {
                        "ns/day" => out.set("ns_per_day", v),
                        "tau/day" => out.set("tau_per_day", v),
                        "timesteps/s" => out.set("timesteps_per_s", v),
                        _ => {}
                    }
                }
            }
        } else if let Some(c) = t.strip_prefix("Stopping criterion =") {
            let c = c.trim();
            out.set("stopping_criterion", c);
            let ok = match c {
                "energy tolerance" | "force tolerance" | "forces are zero" => Some(true),
                "max iterations" | "max force evaluations" => Some(false),
                _ => None,
            };
            out.converged = ok;
            if ok != Some(true) {
                out.warn(format!("minimisation stopped: {c}"));
            }
        } else if t.starts_with("Energy initial, next-to-last, final =") {
            let values: Vec<f64> = lines
                .get(i + 1)
                .map_or("", |l| l.trim())
                .split_whitespace()
                .filter_map(num)
                .collect();
            if values.len() == 3 {
                out.set("energy_initial", values[0]);
                out.set("energy_final", values[2]);
                min_final = Some(values[2]);
                energy_from_min = true;
            }
        } else if let Some(n) = t.strip_prefix("Iterations, force evaluations =") {
            let v: Vec<i64> = n
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if v.len() == 2 {
                out.set("iterations", v[0]);
                out.set("force_evaluations", v[1]);
            }
        } else if let Some(w) = t.strip_prefix("Total wall time:") {
            out.normal_termination = true;
            out.wall_time_s = hms(w.trim());
        } else if let Some(e) = error_text(t) {
            error.get_or_insert(e);
        } else if let Some(w) = t.strip_prefix("WARNING:") {
            out.warn(w.trim());
        }
    }
    let unit = energy_unit(&style);
    out.energy_unit = Some(unit.to_string());
    out.final_energy = if energy_from_min {
        min_final
    } else {
        last_pe.or(min_final)
    };
    if let Some(m) = last_thermo {
        out.set("thermo", Value::Object(m));
    }
    if let Some(s) = last_step {
        out.set("final_step", s);
    }
    for (name, s) in [("md", md), ("min", min)] {
        if let Some(s) = s.filter(|s| !s.rows.is_empty()) {
            out.series.insert(name.into(), s);
        }
    }
    if let Some(e) = error {
        out.err(format!("LAMMPS error: {e}"));
    }
    out
}

/// `ERROR: Unknown command: foo (src/input.cpp:232)` or `ERROR on proc 3: …`.
fn error_text(t: &str) -> Option<String> {
    let rest = t.strip_prefix("ERROR")?;
    let msg = if let Some(m) = rest.strip_prefix(':') {
        m
    } else {
        let m = rest.strip_prefix(" on proc ")?;
        m.split_once(':')?.1
    };
    let msg = msg.trim();
    (!msg.is_empty()).then(|| msg.to_string())
}

/// `0:01:02` → 62 s (hours may exceed 24).
fn hms(s: &str) -> Option<f64> {
    let p: Vec<&str> = s.split(':').collect();
    if p.len() != 3 {
        return None;
    }
    Some(num(p[0])? * 3600.0 + num(p[1])? * 60.0 + num(p[2])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_times() {
        assert_eq!(
            error_text("ERROR: Unknown command: foo (src/input.cpp:232)").as_deref(),
            Some("Unknown command: foo (src/input.cpp:232)")
        );
        assert_eq!(
            error_text("ERROR on proc 3: Lost atoms: original 500 current 499").as_deref(),
            Some("Lost atoms: original 500 current 499")
        );
        assert_eq!(error_text("ERRORS are fine"), None);
        assert_eq!(hms("1:02:03"), Some(3723.0));
        assert_eq!(
            column("PotEng", "real"),
            ("potential".into(), "kcal/mol".into())
        );
        assert_eq!(column("c_myT", "lj"), ("c_myt".into(), String::new()));
    }
}
