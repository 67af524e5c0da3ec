//! Psi4 output (`output.dat`).
//!
//! `final_energy` is the energy of the requested method: the `@matterstack current
//! energy:` line the shipped templates print (psi4's CURRENT ENERGY), else the last
//! `Total Energy =` / `* … total energy =` line.
//! Values: `scf_iterations` (last iteration number), `nuclear_repulsion_energy`,
//! `gradient` (rows of x, y, z in Eh/a0) and `gradient_norm` when a gradient is printed.
//! Series: `scf` (the latest SCF's iterations: energy, ΔE, density change).
//! Errors: SCF not converged (also when psi4 proceeds anyway), any Python exception.

use super::{after, num, num_after, ParsedOutput, Series};

/// The SCF series: iteration, total energy, its change, the density change
/// (RMS or max, as the version prints it).
const SCF_COLUMNS: &[(&str, &str)] = &[
    ("iteration", ""),
    ("energy", "hartree"),
    ("delta_e", "hartree"),
    ("density_change", ""),
];

/// Parses psi4 output text. Never fails.
pub fn parse(text: &str) -> ParsedOutput {
    let mut out = ParsedOutput::new("psi4");
    out.energy_unit = Some("hartree".into());
    let lines: Vec<&str> = text.lines().collect();
    let mut final_energy = None;
    let mut tagged = None;
    let mut last_final = None;
    let mut iterations: Option<i64> = None;
    let mut not_converged = None;
    let mut exception = None;
    let mut opt_failed = false;
    let mut scf = Series::new(SCF_COLUMNS);
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        if out.version.is_none() && i < 40 {
            out.version = banner_version(t);
        }
        if let Some(e) = t.strip_prefix("@matterstack current energy:") {
            tagged = num(e);
        } else if is_total_energy_line(t) {
            final_energy = num_after(t, "=");
        } else if let Some(e) = method_energy(t) {
            final_energy = Some(e);
        } else if t.starts_with('@') && t.contains("Final Energy:") {
            last_final = num_after(t, "Final Energy:");
        } else if t.starts_with('@') && t.contains(" iter ") {
            if let Some(rest) = after(t, " iter ") {
                let (n, values) = rest.split_once(':').unwrap_or((rest, ""));
                if let Ok(n) = n.trim().parse::<i64>() {
                    if iterations.is_some_and(|last| n <= last) {
                        // A new SCF (the next geometry): the series is the latest SCF.
                        scf = Series::new(SCF_COLUMNS);
                    }
                    iterations = Some(n);
                    let v: Vec<f64> = values.split_whitespace().take(3).filter_map(num).collect();
                    if v.len() == 3 {
                        scf.push(vec![n as f64, v[0], v[1], v[2]]);
                    }
                }
            }
        } else if t.starts_with("Nuclear Repulsion Energy =") {
            if let Some(e) = num_after(t, "=") {
                out.set("nuclear_repulsion_energy", e);
            }
        } else if t.starts_with("Energy and wave function converged")
            || t == "Energy converged."
            || t.starts_with("**** Optimization is complete!")
            || t.starts_with("Optimization is complete!")
        {
            out.converged = Some(true);
        } else if t.starts_with("Could not converge backtransformation") {
            // optking's internal fallback ("Using first guess instead"), not a failure.
        } else if t.starts_with("Optimizer: Did not converge!") {
            out.converged = Some(false);
            not_converged.get_or_insert_with(|| t.to_string());
            opt_failed = true;
        } else if t.contains("Could not converge") || t.contains("did not converge") {
            out.converged = Some(false);
            not_converged.get_or_insert_with(|| t.to_string());
        } else if t.starts_with("Psi4 wall time for execution:") {
            out.wall_time_s = after(t, "execution:").and_then(hms);
        } else if t
            .to_ascii_lowercase()
            .starts_with("*** psi4 exiting successfully")
        {
            out.normal_termination = true;
        } else if t.eq_ignore_ascii_case("-Total Gradient:") {
            let mut rows = Vec::new();
            for l in lines.iter().skip(i + 3) {
                let f: Vec<&str> = l.split_whitespace().collect();
                if f.len() != 4 || f[0].parse::<usize>().is_err() {
                    break;
                }
                let row: Option<Vec<f64>> = f[1..].iter().map(|x| num(x)).collect();
                match row {
                    Some(r) => rows.push(r),
                    None => break,
                }
            }
            if !rows.is_empty() {
                let norm = rows.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
                out.set("gradient", serde_json::json!(rows));
                out.set("gradient_norm", norm);
            }
        } else if is_exception_line(t) {
            exception = Some(t.to_string());
        } else if t.to_ascii_lowercase().starts_with("warning") {
            out.warn(t);
        }
    }
    out.final_energy = tagged.or(final_energy).or(last_final);
    if let Some(n) = iterations {
        out.set("scf_iterations", n);
    }
    if !scf.rows.is_empty() {
        out.series.insert("scf".into(), scf);
    }
    if let Some(m) = not_converged {
        let what = if opt_failed { "optimisation" } else { "SCF" };
        out.err(format!("psi4 {what} did not converge: {m}"));
    }
    if let Some(e) = exception {
        out.err(format!("psi4 error: {e}"));
    } else if text.contains("*** Psi4 encountered an error") {
        out.err("psi4 encountered an error");
    }
    out
}

/// `Total Energy = …` (SCF, DF-MP2) or `* CCSD(T) total energy = …` (coupled cluster);
/// not `SCS Total Energy`, not the SCF iteration header.
fn is_total_energy_line(t: &str) -> bool {
    if let Some(rest) = t.strip_prefix("Total Energy") {
        return rest.trim_start().starts_with('=');
    }
    t.starts_with("* ") && t.contains(" total energy") && t.contains('=')
}

/// The version of the banner line: `Psi4 1.2.1 release`, `Psi4 1.0.54 Driver`,
/// `Psi4 1.4a2.dev297` (development builds), not `Psi4 started on: …`.
fn banner_version(t: &str) -> Option<String> {
    let mut words = t.split_whitespace();
    if words.next()? != "Psi4" {
        return None;
    }
    let v = words.next()?;
    let rest: Vec<&str> = words.collect();
    let tail_ok = matches!(rest.as_slice(), [] | ["release"] | ["Driver"]);
    (v.starts_with(|c: char| c.is_ascii_digit()) && tail_ok).then(|| v.to_string())
}

/// The total energy of a post-SCF method, as its module prints it:
/// `*   DC-06 Total Energy = …`, `DF-MP2 Total Energy (a.u.) : …` (OCC),
/// `Total DF-MP2-F12/3C(FIX) Energy: …`; not the SCS/SOS variants.
fn method_energy(t: &str) -> Option<f64> {
    let body = t.trim_start_matches(['*', ' ']);
    let first = body.split_whitespace().next()?;
    if first.starts_with("SCS") || first.starts_with("SOS") || first.contains("SCS-") {
        return None;
    }
    if let Some((head, value)) = body.split_once(" Total Energy (a.u.)") {
        if !head.is_empty() && !head.contains(' ') {
            return num(value
                .trim_start()
                .strip_prefix(':')?
                .split_whitespace()
                .next()?);
        }
    }
    if let Some(rest) = body.strip_prefix("Total ") {
        let (method, value) = rest.split_once(" Energy:")?;
        if !method.is_empty() && !method.contains(' ') && method != "SCF" {
            return num(value.split_whitespace().next()?);
        }
    }
    if t.starts_with('*') {
        let (head, value) = body.split_once(" Total Energy")?;
        if !head.is_empty() && !head.contains(' ') {
            return num(value
                .trim_start()
                .strip_prefix('=')?
                .split_whitespace()
                .next()?);
        }
    }
    None
}

fn is_exception_line(t: &str) -> bool {
    let Some((head, _)) = t.split_once(": ") else {
        return false;
    };
    !head.contains(' ')
        && (head.ends_with("Error") || head.ends_with("Exception"))
        && !t.starts_with("raise ")
}

/// `0:00:00.66` → 0.66 s (hours may exceed 24).
fn hms(s: &str) -> Option<f64> {
    let p: Vec<&str> = s.trim().split(':').collect();
    if p.len() != 3 {
        return None;
    }
    Some(num(p[0])? * 3600.0 + num(p[1])? * 60.0 + num(p[2])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_lines() {
        assert!(is_exception_line(
            "psi4.driver.p4util.exceptions.SCFConvergenceError: Could not converge"
        ));
        assert!(is_exception_line(
            "PsiException: Could not converge SCF iterations in 2 iterations."
        ));
        assert!(!is_exception_line("Total Energy = -1"));
        assert_eq!(hms("1:02:03.5"), Some(3723.5));
        assert!(is_total_energy_line("Total Energy =   -1.0"));
        assert!(is_total_energy_line(
            "Total Energy              =     -74.99 [Eh]"
        ));
        assert!(is_total_energy_line(
            "* CCSD(T) total energy                  =  -75.01"
        ));
        assert!(!is_total_energy_line(
            "SCS Total Energy          =     -75.0 [Eh]"
        ));
        assert!(!is_total_energy_line(
            "Total Energy        Delta E     RMS |[F,P]|"
        ));
    }
}
