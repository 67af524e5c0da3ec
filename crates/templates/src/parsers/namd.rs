//! NAMD standard output (the `.log` file).
//!
//! Values: `energy` (the last `ENERGY:` line as a map keyed by the `ETITLE:` names,
//! kcal/mol, K, bar, Å³), `final_step`, `memory_mb`, `benchmark_days_per_ns`.
//! `last_restart_step` (the step of the newest restart files, the `first_timestep` of a
//! `namd/restart` continuation).
//! `final_energy` is the last POTENTIAL (or TOTAL when POTENTIAL is absent).
//! Errors: `FATAL ERROR:` lines.

use serde_json::{Map, Value};

use super::{after, num, num_after, ParsedOutput};

/// Parses NAMD log text. Never fails.
pub fn parse(text: &str) -> ParsedOutput {
    let mut out = ParsedOutput::new("namd");
    out.energy_unit = Some("kcal/mol".into());
    let mut titles: Vec<String> = Vec::new();
    let mut last: Option<Map<String, Value>> = None;
    for line in text.lines() {
        let t = line.trim();
        if out.version.is_none() {
            if let Some(v) = after(t, "Info: NAMD ") {
                out.version = v.split_whitespace().next().map(str::to_string);
            }
        }
        if let Some(rest) = t.strip_prefix("ETITLE:") {
            titles = rest.split_whitespace().map(str::to_string).collect();
        } else if let Some(rest) = t.strip_prefix("ENERGY:") {
            let vals: Vec<&str> = rest.split_whitespace().collect();
            if !titles.is_empty() && vals.len() == titles.len() {
                let mut m = Map::new();
                for (k, v) in titles.iter().zip(vals) {
                    if let Some(x) = num(v) {
                        m.insert(k.clone(), Value::from(x));
                    }
                }
                last = Some(m);
            }
        } else if let Some(step) = after(t, "WRITING VELOCITIES TO RESTART FILE AT STEP") {
            if let Ok(n) = step.trim_end_matches('.').trim().parse::<i64>() {
                out.set("last_restart_step", n);
            }
        } else if t.starts_with("WallClock:") {
            out.wall_time_s = num_after(t, "WallClock:");
            out.cpu_time_s = num_after(t, "CPUTime:");
            if let Some(m) = num_after(t, "Memory:") {
                out.set("memory_mb", m);
            }
        } else if t.contains("End of program") {
            out.normal_termination = true;
        } else if let Some(e) = after(t, "FATAL ERROR:") {
            out.err(format!("NAMD FATAL ERROR: {e}"));
        } else if t.starts_with("Info: Benchmark time:") {
            if let Some(d) = t
                .split(',')
                .flat_map(|p| {
                    p.split_whitespace()
                        .collect::<Vec<_>>()
                        .windows(2)
                        .map(|w| (w[0].to_string(), w[1].to_string()))
                        .collect::<Vec<_>>()
                })
                .find(|(_, unit)| unit == "days/ns")
                .and_then(|(v, _)| num(&v))
            {
                out.set("benchmark_days_per_ns", d);
            }
        } else if t.starts_with("Warning:") || t.starts_with("Info: Warning") {
            out.warn(t);
        }
    }
    if let Some(m) = last {
        out.final_energy = m
            .get("POTENTIAL")
            .or_else(|| m.get("TOTAL"))
            .and_then(Value::as_f64);
        if let Some(ts) = m.get("TS").and_then(Value::as_f64) {
            out.set("final_step", ts as i64);
        }
        out.set("energy", Value::Object(m));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fatal_error_and_benchmark() {
        let o = parse("Info: Benchmark time: 8 CPUs 0.421183 s/step 2.4374 days/ns 171.34 MB memory\nFATAL ERROR: Unable to open text file\n");
        assert_eq!(o.values["benchmark_days_per_ns"], serde_json::json!(2.4374));
        assert_eq!(
            o.error.as_deref(),
            Some("NAMD FATAL ERROR: Unable to open text file")
        );
    }

    #[test]
    fn last_restart_step() {
        let o = parse("WRITING VELOCITIES TO RESTART FILE AT STEP 5000\nWRITING VELOCITIES TO RESTART FILE AT STEP 10000\n");
        assert_eq!(o.values["last_restart_step"], serde_json::json!(10000));
    }

    #[test]
    fn energy_line_needs_matching_title() {
        let o = parse("ENERGY: 1 2 3\n");
        assert!(o.final_energy.is_none());
        assert!(!o.values.contains_key("energy"));
    }
}
