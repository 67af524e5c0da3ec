//! CP2K output (the `-o` file).
//!
//! `final_energy` is the last `ENERGY| Total FORCE_EVAL ( … ) energy` line, in
//! hartree (for a geometry optimisation: the energy re-evaluated at the
//! minimum). Values: `scf_steps` (of the last converged SCF),
//! `initial_energy` (step 0 of a geometry optimisation), `max_gradient`
//! (the last one, hartree/bohr), `geo_steps`.
//! Series: `scf` (the latest SCF: iteration, total energy, its change, the
//! convergence measure) and `geo_opt` (step, total energy, max. gradient of
//! every optimisation step from step 1; a step printed again by a restart is
//! kept once).
//! Normal termination: `PROGRAM ENDED AT`. Wall time: the total of the
//! `CP2K` line of the timing report. Errors: the `[ABORT]` box (its text and
//! the source location), `SCF run NOT converged`, `MAXIMUM NUMBER OF
//! OPTIMIZATION STEPS REACHED` and a stop at the input's `WALLTIME` (`… run
//! terminated - exceeded requested execution time`), which an `EXT_RESTART`
//! continues. A restart appending to the same output (a new `PROGRAM
//! STARTED AT`) starts a new segment: the earlier stop is forgotten, the
//! series go on.

use super::{after, num, ParsedOutput, Series};

const SCF_COLUMNS: &[(&str, &str)] = &[
    ("iteration", ""),
    ("energy", "hartree"),
    ("delta_e", "hartree"),
    ("convergence", ""),
];

const GEO_COLUMNS: &[(&str, &str)] = &[
    ("step", ""),
    ("energy", "hartree"),
    ("max_gradient", "hartree/bohr"),
];

/// How one run (segment) ended.
#[derive(Default)]
struct Ending {
    done: bool,
    scf_converged: Option<bool>,
    geo_converged: Option<bool>,
    error: Option<String>,
    wall: Option<f64>,
}

/// Parses CP2K output text. Never fails.
pub fn parse(text: &str) -> ParsedOutput {
    let mut out = ParsedOutput::new("cp2k");
    out.energy_unit = Some("hartree".into());
    let lines: Vec<&str> = text.lines().collect();
    let mut end = Ending::default();
    let mut scf = Series::new(SCF_COLUMNS);
    let mut geo = Series::new(GEO_COLUMNS);
    let mut geo_run = false;
    let mut in_scf_table = false;
    let mut last_iteration: Option<i64> = None;
    let mut step: Option<i64> = None;
    let mut step_energy: Option<f64> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim();
        i += 1;
        if t.contains("PROGRAM STARTED AT") {
            end = Ending::default();
            continue;
        }
        if in_scf_table {
            if let Some(row) = scf_row(t) {
                if last_iteration.is_some_and(|l| row[0] as i64 <= l) {
                    scf = Series::new(SCF_COLUMNS);
                }
                last_iteration = Some(row[0] as i64);
                scf.push(row);
                continue;
            }
            if t.starts_with("***") || t.starts_with("Leaving inner SCF loop") {
                in_scf_table = false;
            }
        }
        if t.starts_with("Step") && t.contains("Update method") && t.contains("Total energy") {
            in_scf_table = true;
            last_iteration = None;
            scf = Series::new(SCF_COLUMNS);
        } else if out.version.is_none() && t.starts_with("CP2K| version string:") {
            out.version = after(t, "CP2K version")
                .map(str::to_string)
                .or_else(|| after(t, "version string:").map(str::to_string));
        } else if t.starts_with("ENERGY| Total FORCE_EVAL") {
            out.final_energy = t.rsplit(':').next().and_then(num);
        } else if let Some(rest) = t.strip_prefix("*** SCF run converged in") {
            end.scf_converged = Some(true);
            if let Some(n) = rest
                .split_whitespace()
                .next()
                .and_then(|w| w.parse::<i64>().ok())
            {
                out.set("scf_steps", n);
            }
        } else if t.starts_with("*** SCF run NOT converged") {
            end.scf_converged = Some(false);
            end.error
                .get_or_insert_with(|| t.trim_matches(['*', ' ']).to_string());
        } else if t.contains("STARTING GEOMETRY OPTIMIZATION") {
            geo_run = true;
        } else if let Some(rest) = t.strip_prefix("--------  Informations at step =") {
            step = rest.trim_matches(['-', ' ']).parse::<i64>().ok();
            step_energy = None;
        } else if t.starts_with("Total Energy") && step.is_some() {
            step_energy = after(t, "=").and_then(num);
            if step == Some(0) {
                if let Some(e) = step_energy {
                    out.set("initial_energy", e);
                }
            }
        } else if t.starts_with("Max. gradient") {
            let g = after(t, "=").and_then(num);
            if let (Some(s), Some(e), Some(g)) = (step, step_energy, g) {
                out.set("max_gradient", g);
                out.set("geo_steps", s);
                if geo.rows.last().is_some_and(|r| r[0] == s as f64) {
                    geo.rows.pop();
                }
                geo.push(vec![s as f64, e, g]);
            }
        } else if t.contains("GEOMETRY OPTIMIZATION COMPLETED") {
            end.geo_converged = Some(true);
        } else if t.contains("MAXIMUM NUMBER OF OPTIMIZATION STEPS REACHED") {
            end.geo_converged = Some(false);
            end.error.get_or_insert_with(|| {
                format!(
                    "geometry optimisation did not converge: {}",
                    t.trim_matches(['*', ' '])
                )
            });
        } else if t.starts_with("***")
            && t.contains("run terminated - exceeded requested execution time")
        {
            let words: Vec<&str> = t.trim_matches(['*', ' ']).split_whitespace().collect();
            end.error.get_or_insert_with(|| {
                format!(
                    "{} (GLOBAL WALLTIME); `matterstack restart` continues from the restart file",
                    words.join(" ").trim_end_matches('.')
                )
            });
        } else if t.starts_with("* [ABORT]") {
            let (msg, next) = abort_box(&lines, i);
            i = next;
            if !msg.is_empty() {
                end.error.get_or_insert(msg);
            }
        } else if t.starts_with("*** WARNING") {
            let mut w = t.trim_matches(['*', ' ']).to_string();
            if let Some(n) = lines.get(i).map(|l| l.trim().trim_matches(['*', ' '])) {
                if !n.is_empty() {
                    w.push(' ');
                    w.push_str(n);
                }
            }
            out.warn(w);
        } else if t.starts_with("CP2K ") {
            // The timing report's total: `CP2K  1  1.0  0.005  0.005  6.178  6.178`.
            let f: Vec<&str> = t.split_whitespace().collect();
            if f.len() == 7 && f[1..].iter().all(|w| num(w).is_some()) {
                end.wall = num(f[6]);
            }
        } else if t.contains("PROGRAM ENDED AT") {
            end.done = true;
        }
    }
    out.converged = if geo_run {
        end.geo_converged
    } else {
        end.scf_converged
    };
    out.normal_termination = end.done;
    out.wall_time_s = end.wall;
    if !scf.rows.is_empty() {
        out.series.insert("scf".into(), scf);
    }
    if !geo.rows.is_empty() {
        out.series.insert("geo_opt".into(), geo);
    }
    if let Some(e) = end.error {
        out.err(format!("CP2K: {e}"));
    }
    out
}

/// `     7 DIIS/Diag.  0.93E-04    0.6     0.00014930       -17.2194751082 -1.96E-02`
/// (or `OT DIIS` in two words): iteration, energy, change, convergence.
fn scf_row(t: &str) -> Option<Vec<f64>> {
    let w: Vec<&str> = t.split_whitespace().collect();
    if w.len() < 6 {
        return None;
    }
    let n = w[0].parse::<i64>().ok()?;
    let k = w.len();
    let change = num(w[k - 1])?;
    let energy = num(w[k - 2])?;
    let conv = num(w[k - 3])?;
    Some(vec![n as f64, energy, change, conv])
}

/// The text of the `[ABORT]` box starting after line `from`, and the line
/// after the box: the message lines without the box and the drawing, then
/// the source location in parentheses.
fn abort_box(lines: &[&str], from: usize) -> (String, usize) {
    let mut words: Vec<String> = Vec::new();
    let mut i = from;
    while i < lines.len() {
        let t = lines[i].trim();
        i += 1;
        if t.starts_with("****") || !t.starts_with('*') {
            break;
        }
        let inner = t.trim_start_matches('*').trim_end_matches('*');
        // The drawing takes the first 9 columns of the box.
        let text: String = inner.chars().skip(9).collect();
        let text = text.trim();
        if !text.is_empty() {
            words.push(text.to_string());
        }
    }
    let mut msg = String::new();
    if let Some(last) = words.last() {
        if last.contains(".F:") && !last.contains(' ') {
            let loc = words.pop().unwrap_or_default();
            msg = format!("{} (at {loc})", words.join(" "));
        }
    }
    if msg.is_empty() {
        msg = words.join(" ");
    }
    (msg.trim().to_string(), i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_boxes() {
        assert_eq!(
            scf_row("7 DIIS/Diag.  0.93E-04    0.6     0.00014930       -17.2194751082 -1.96E-02"),
            Some(vec![7.0, -17.2194751082, -1.96e-2, 0.00014930])
        );
        assert_eq!(
            scf_row("1 OT DIIS     0.15E+00    0.5     0.01346140       -17.15 -1.72E+01"),
            Some(vec![1.0, -17.15, -17.2, 0.01346140])
        );
        assert_eq!(scf_row("Step     Update method      Time"), None);
        let text =
            " *   ___                                                                       *
 *  /   \\                                                                      *
 * [ABORT]                                                                     *
 *  \\___/  The requested atomic potential <GTH-PBE-q9> for element <O> was not *
 *    |                found in the potential file <GTH_POTENTIALS>            *
 *  O/|                                                                        *
 * /| |                                                                        *
 * / \\                                  subsys/external_potential_types.F:2324 *
 *******************************************************************************
";
        let lines: Vec<&str> = text.lines().collect();
        let (m, next) = abort_box(&lines, 3);
        assert_eq!(m, "The requested atomic potential <GTH-PBE-q9> for element <O> was not found in the potential file <GTH_POTENTIALS> (at subsys/external_potential_types.F:2324)");
        assert_eq!(next, 9);
    }
}
