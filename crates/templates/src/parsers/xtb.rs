//! xtb output (stdout and stderr together).
//!
//! Values: `gradient_norm` (Eh/a0), `homo_lumo_gap_ev`, `opt_iterations`.
//! Series: `opt` (each optimisation cycle's energy and gradient norm).
//! Errors: `abnormal termination of xtb` (with the `[ERROR]` lines), a failed
//! geometry optimisation.

use super::{after, num, ParsedOutput, Series};

/// Parses xtb output text. Never fails.
pub fn parse(text: &str) -> ParsedOutput {
    let mut out = ParsedOutput::new("xtb");
    out.energy_unit = Some("hartree".into());
    let lines: Vec<&str> = text.lines().collect();
    let mut abnormal = false;
    let mut in_total_timing = false;
    let mut error_lines: Vec<String> = Vec::new();
    // Optimisation cycles: `CYCLE n`, then its total energy and gradient norm.
    let mut cycle: Option<(i64, Option<f64>)> = None;
    let mut opt = Series::new(&[
        ("cycle", ""),
        ("energy", "hartree"),
        ("gradient_norm", "hartree/bohr"),
    ]);
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim().trim_matches('|').trim();
        if out.version.is_none() {
            if let Some(v) = after(t, "xtb version ") {
                out.version = v.split_whitespace().next().map(str::to_string);
            }
        }
        if let Some(n) = t
            .trim_matches('.')
            .trim()
            .strip_prefix("CYCLE")
            .and_then(|n| n.trim().parse::<i64>().ok())
        {
            cycle = Some((n, None));
        } else if let (Some((n, None)), Some(rest)) = (cycle, t.strip_prefix("* total energy  :")) {
            cycle = Some((n, rest.split_whitespace().next().and_then(num)));
        } else if let (Some((n, Some(e))), Some(rest)) = (cycle, t.strip_prefix("gradient norm :"))
        {
            if let Some(g) = rest.split_whitespace().next().and_then(num) {
                opt.push(vec![n as f64, e, g]);
            }
            cycle = None;
        } else if let Some(rest) = t.strip_prefix("TOTAL ENERGY") {
            out.final_energy = rest.split_whitespace().next().and_then(num);
        } else if let Some(rest) = t.strip_prefix("GRADIENT NORM") {
            if let Some(g) = rest.split_whitespace().next().and_then(num) {
                out.set("gradient_norm", g);
            }
        } else if let Some(rest) = t.strip_prefix("HOMO-LUMO GAP") {
            if let Some(g) = rest.split_whitespace().next().and_then(num) {
                out.set("homo_lumo_gap_ev", g);
            }
        } else if t.contains("GEOMETRY OPTIMIZATION CONVERGED AFTER") {
            out.converged = Some(true);
            if let Some(n) = after(t, "AFTER")
                .and_then(|r| r.split_whitespace().next())
                .and_then(|n| n.parse::<i64>().ok())
            {
                out.set("opt_iterations", n);
            }
        } else if t.contains("FAILED TO CONVERGE GEOMETRY OPTIMIZATION") {
            out.converged = Some(false);
            out.err("xtb geometry optimisation did not converge");
        } else if t == "total:" {
            in_total_timing = true;
        } else if in_total_timing && t.starts_with("* wall-time:") {
            out.wall_time_s = dhms(after(t, "wall-time:").unwrap_or(""));
        } else if in_total_timing && t.starts_with("*  cpu-time:") {
            out.cpu_time_s = dhms(after(t, "cpu-time:").unwrap_or(""));
            in_total_timing = false;
        } else if t == "normal termination of xtb" {
            out.normal_termination = true;
        } else if t == "abnormal termination of xtb" {
            abnormal = true;
        } else if t.starts_with("[ERROR]") {
            error_lines.push(t.trim_start_matches("[ERROR]").trim().to_string());
            for l in lines.iter().skip(i + 1) {
                let l = l.trim();
                if let Some(msg) = l
                    .strip_prefix('-')
                    .and_then(|r| r.split_once("- "))
                    .map(|(_, m)| m)
                {
                    error_lines.push(msg.trim().to_string());
                } else {
                    break;
                }
            }
        } else if let Some(what) = t.strip_prefix("[WARNING]") {
            // A block: `[WARNING] Runtime exception occurred` and its `-n- …` lines.
            let detail: Vec<&str> = lines
                .iter()
                .skip(i + 1)
                .map(|l| l.trim())
                .take_while(|l| l.starts_with('-'))
                .collect();
            out.warn(
                format!("{} {}", what.trim(), detail.join(" "))
                    .trim()
                    .to_string(),
            );
        } else if t.starts_with("#WARNING!") || t.to_ascii_lowercase().starts_with("warning") {
            out.warn(t);
        }
    }
    if abnormal || !error_lines.is_empty() {
        let detail = if error_lines.is_empty() {
            "abnormal termination of xtb".to_string()
        } else {
            format!("abnormal termination of xtb: {}", error_lines.join("; "))
        };
        out.err(detail);
    }
    if !opt.rows.is_empty() {
        out.series.insert("opt".into(), opt);
    }
    out
}

/// `0 d,  0 h,  0 min,  0.143 sec` → 0.143
fn dhms(s: &str) -> Option<f64> {
    let f: Vec<&str> = s.split(',').map(str::trim).collect();
    if f.len() != 4 {
        return None;
    }
    let n = |x: &str| x.split_whitespace().next().and_then(num);
    Some(n(f[0])? * 86400.0 + n(f[1])? * 3600.0 + n(f[2])? * 60.0 + n(f[3])?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dhms() {
        assert_eq!(super::dhms("1 d,  1 h,  1 min,  1.5 sec"), Some(90061.5));
        assert_eq!(super::dhms("garbage"), None);
    }
}
