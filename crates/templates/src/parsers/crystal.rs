//! CRYSTAL output (`output.out`, the standard output of `crystal`/`Pcrystal`).
//!
//! Values: `scf_cycles`, `scf_energy` (hartree), `opt_converged`, `opt_points`,
//! `band_gap_ev` (last printed gap). `final_energy` is the last total energy printed
//! (the optimised energy after `OPT END - CONVERGED`).
//! Errors: `ERROR ****` lines and `SCF ENDED - TOO MANY CYCLES`.

use super::{after, num, num_after, ParsedOutput};

/// Parses CRYSTAL output text. Never fails.
pub fn parse(text: &str) -> ParsedOutput {
    let mut out = ParsedOutput::new("crystal");
    out.energy_unit = Some("hartree".into());
    let mut terminated = false;
    let mut had_error = false;
    for line in text.lines() {
        let t = line.trim();
        if out.version.is_none() && t.starts_with('*') {
            let inner = t.trim_matches('*').trim();
            if inner.starts_with("CRYSTAL")
                && inner.len() <= 12
                && inner[7..].chars().all(|c| c.is_ascii_digit())
                && inner.len() > 7
            {
                out.version = Some(inner.to_string());
            }
        }
        if t.starts_with("== SCF ENDED") {
            if t.contains("CONVERGENCE ON ENERGY") {
                out.converged = Some(true);
            } else {
                out.converged = Some(false);
                let reason = after(t, "SCF ENDED -").unwrap_or(t);
                let reason = reason.split("E(AU)").next().unwrap_or(reason).trim();
                out.err(format!("CRYSTAL SCF did not converge: {reason}"));
            }
            if let Some(e) = num_after(t, "E(AU)") {
                out.final_energy = Some(e);
                out.set("scf_energy", e);
            }
            if let Some(n) = after(t, "CYCLES")
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse::<i64>().ok())
            {
                out.set("scf_cycles", n);
            }
        } else if t.starts_with("TOTAL ENERGY(") {
            // TOTAL ENERGY(HF)(AU)(   7) -2.7121814374931E+02 DE-4.9E-09 ...
            let rest = t
                .find("(AU)(")
                .and_then(|i| t[i + 5..].find(')').map(|j| &t[i + 5 + j + 1..]));
            if let Some(e) = rest.and_then(|r| r.split_whitespace().next()).and_then(num) {
                out.final_energy = Some(e);
            }
        } else if t.contains("OPT END - CONVERGED") {
            out.set("opt_converged", true);
            if let Some(e) = num_after(t, "E(AU):") {
                out.final_energy = Some(e);
            }
            if let Some(p) = after(t, "POINTS")
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse::<i64>().ok())
            {
                out.set("opt_points", p);
            }
        } else if t.contains("OPT END - FAILED") || t.contains("OPT END - NOT CONVERGED") {
            out.set("opt_converged", false);
            out.err(format!("CRYSTAL optimisation failed: {t}"));
        } else if t.contains("BAND GAP:") {
            // `DIRECT/INDIRECT ENERGY BAND GAP:` per SCF; the optimised
            // geometry's bare `BAND GAP:` after OPT END. The last one wins.
            if let Some(g) = num_after(t, "BAND GAP:") {
                out.set("band_gap_ev", g);
            }
        } else if t.starts_with("TTTTTTTTTT") && t.contains("TELAPSE") {
            out.wall_time_s = num_after(t, "TELAPSE").or(out.wall_time_s);
            out.cpu_time_s = num_after(t, "TCPU").or(out.cpu_time_s);
        } else if t.starts_with("EEEEEEEEEE TERMINATION") {
            terminated = true;
        } else if t.starts_with("ERROR") && t.contains("****") {
            had_error = true;
            let msg = t
                .split("****")
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "ERROR")
                .collect::<Vec<_>>()
                .join(": ");
            out.err(format!("CRYSTAL ERROR: {msg}"));
        } else if t.starts_with("WARNING") && t.contains("****") {
            out.warn(t);
        }
    }
    out.normal_termination = terminated && !had_error;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_cycles_and_opt_end() {
        let o = parse(" == SCF ENDED - TOO MANY CYCLES      E(AU) -2.7468175000E+02 CYCLES 200\n");
        assert_eq!(o.converged, Some(false));
        assert_eq!(
            o.error.as_deref(),
            Some("CRYSTAL SCF did not converge: TOO MANY CYCLES")
        );
        let o = parse(" * OPT END - CONVERGED * E(AU):  -2.7468175400E+02  POINTS   12 *\n EEEEEEEEEE TERMINATION  DATE\n");
        assert_eq!(o.final_energy, Some(-274.681754));
        assert_eq!(o.values["opt_points"], serde_json::json!(12));
        assert!(o.normal_termination);
        assert!(o.error.is_none());
    }
}
