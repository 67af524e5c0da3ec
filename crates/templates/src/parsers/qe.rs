//! Quantum ESPRESSO `pw.x` output (its standard output, e.g. `scf.out`).
//!
//! `final_energy` is in Ry: the `Final energy =` of a finished relaxation
//! (printed with more digits), else the last `!    total energy` line.
//! Values: `final_energy_ev` (the same energy in eV, with QE's Rydberg of
//! 13.605693122994 eV), `scf_iterations` (of the last SCF), `total_force`
//! (Ry/bohr, the last one), `bfgs_steps` and `scf_cycles` (of a relaxation),
//! `fermi_energy_ev` or
//! `highest_occupied_ev` when printed.
//! Series: `scf` (the latest SCF: iteration, total energy, estimated scf
//! accuracy, in Ry) and, for a BFGS relaxation, `relax` (step, energy in Ry,
//! total force in Ry/bohr, one row per ionic step).
//! Normal termination: `JOB DONE.`. Errors: the `%%%%` block (`Error in
//! routine …`), `convergence NOT achieved`, `The maximum number of steps has
//! been reached.` and `Maximum CPU time exceeded` (a clean stop at
//! `max_seconds`, which `restart_mode = 'restart'` continues). A restart that
//! appends to the same output (a new `Program PWSCF` banner) starts a new
//! segment: the earlier stop belongs to the interrupted attempt and is
//! forgotten; the relaxation series goes on.

use super::{after, num, num_after, ParsedOutput, Series};

/// QE's Rydberg in eV (`RYTOEV`, CODATA 2018, QE 6.6 and later).
pub const RY_TO_EV: f64 = 13.605693122994;

const SCF_COLUMNS: &[(&str, &str)] = &[("iteration", ""), ("energy", "Ry"), ("scf_accuracy", "Ry")];

const RELAX_COLUMNS: &[(&str, &str)] =
    &[("step", ""), ("energy", "Ry"), ("total_force", "Ry/bohr")];

/// What one run (segment) of pw.x reported about how it ended.
#[derive(Default)]
struct Ending {
    done: bool,
    scf_converged: Option<bool>,
    relax_converged: Option<bool>,
    error: Option<String>,
    stopped_at_max_seconds: bool,
    max_seconds: Option<f64>,
    elapsed: Option<f64>,
    wall: Option<f64>,
    cpu: Option<f64>,
}

/// Parses pw.x output text. Never fails.
pub fn parse(text: &str) -> ParsedOutput {
    let mut out = ParsedOutput::new("qe");
    out.energy_unit = Some("Ry".into());
    let lines: Vec<&str> = text.lines().collect();
    let mut end = Ending::default();
    let mut scf = Series::new(SCF_COLUMNS);
    let mut relax = Series::new(RELAX_COLUMNS);
    let mut bfgs = false;
    let mut iteration: Option<i64> = None;
    let mut pending_energy: Option<f64> = None;
    let mut last_bang: Option<f64> = None;
    let mut final_energy: Option<f64> = None;
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim();
        i += 1;
        if let Some(rest) = t.strip_prefix("Program PWSCF") {
            if out.version.is_none() {
                out.version = rest
                    .split_whitespace()
                    .next()
                    .map(|v| v.trim_start_matches("v.").to_string())
                    .filter(|v| !v.is_empty());
            }
            // A new run appending to this output (a restart).
            end = Ending::default();
            final_energy = None;
            iteration = None;
            continue;
        }
        if let Some(rest) = t.strip_prefix("iteration #") {
            if let Some(n) = rest
                .split_whitespace()
                .next()
                .and_then(|w| w.parse::<i64>().ok())
            {
                if iteration.is_some_and(|last| n <= last) {
                    scf = Series::new(SCF_COLUMNS);
                }
                iteration = Some(n);
                pending_energy = None;
            }
        } else if let Some(e) = total_energy(t) {
            pending_energy = Some(e);
            if t.starts_with('!') {
                last_bang = Some(e);
            }
        } else if t.starts_with("estimated scf accuracy") {
            let acc = after(t, "<")
                .and_then(|r| r.split_whitespace().next())
                .and_then(num);
            if let (Some(n), Some(e), Some(a)) = (iteration, pending_energy.take(), acc) {
                scf.push(vec![n as f64, e, a]);
            }
        } else if let Some(rest) = t.strip_prefix("convergence has been achieved in") {
            end.scf_converged = Some(true);
            if let Some(n) = rest
                .split_whitespace()
                .next()
                .and_then(|w| w.parse::<i64>().ok())
            {
                out.set("scf_iterations", n);
            }
        } else if t.starts_with("convergence NOT achieved") {
            end.scf_converged = Some(false);
            end.error
                .get_or_insert_with(|| format!("SCF did not converge: {t}"));
        } else if t.starts_with("Total force =") {
            if let Some(f) = num_after(t, "Total force =") {
                out.set("total_force", f);
                if let Some(e) = last_bang {
                    relax.push(vec![relax.rows.len() as f64, e, f]);
                }
            }
        } else if let Some(rest) = t.strip_prefix("number of bfgs steps") {
            bfgs = true;
            if let Some(n) = num_after(rest, "=") {
                out.set("bfgs_steps", n as i64);
            }
        } else if t.starts_with("BFGS Geometry Optimization") {
            bfgs = true;
        } else if let Some(rest) = t.strip_prefix("bfgs converged in") {
            // `bfgs converged in   4 scf cycles and   3 bfgs steps`
            bfgs = true;
            end.relax_converged = Some(true);
            let n: Vec<i64> = rest
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if let [cycles, steps] = n[..] {
                out.set("scf_cycles", cycles);
                out.set("bfgs_steps", steps);
            }
        } else if t.starts_with("The maximum number of steps has been reached.") {
            end.relax_converged = Some(false);
            end.error
                .get_or_insert_with(|| format!("relaxation did not converge: {t}"));
        } else if t.starts_with("Final energy") {
            final_energy = num_after(t, "=");
        } else if t.starts_with("the Fermi energy is") {
            if let Some(e) = num_after(t, "is") {
                out.set("fermi_energy_ev", e);
            }
        } else if t.starts_with("highest occupied") {
            if let Some(e) = after(t, ":")
                .and_then(|r| r.split_whitespace().next())
                .and_then(num)
            {
                out.set("highest_occupied_ev", e);
            }
        } else if t.starts_with("Maximum CPU time exceeded") {
            end.stopped_at_max_seconds = true;
        } else if t.starts_with("max_seconds") {
            end.max_seconds = num_after(t, "=");
        } else if t.starts_with("elapsed seconds") {
            end.elapsed = num_after(t, "=");
        } else if t.starts_with("PWSCF") && t.contains("CPU") && t.contains("WALL") {
            let body = after(t, ":").unwrap_or("");
            if let Some((cpu, rest)) = body.split_once("CPU") {
                end.cpu = duration(cpu);
                end.wall = rest.split_once("WALL").and_then(|(w, _)| duration(w));
            }
        } else if t.starts_with("JOB DONE.") {
            end.done = true;
        } else if t.starts_with("%%%%") {
            // The error block: everything up to the closing line of %.
            let mut msg: Vec<&str> = Vec::new();
            while i < lines.len() {
                let l = lines[i].trim();
                i += 1;
                if l.starts_with("%%%%") {
                    break;
                }
                if !l.is_empty() {
                    msg.push(l);
                }
            }
            if !msg.is_empty() {
                end.error.get_or_insert_with(|| msg.join(" "));
            }
        } else if let Some(routine) = t.strip_prefix("Message from routine") {
            let next = lines.get(i).map_or("", |l| l.trim());
            out.warn(
                format!("{} {next}", routine.trim().trim_end_matches(':'))
                    .trim()
                    .to_string(),
            );
        } else if t.starts_with("Warning") || t.starts_with("WARNING") {
            out.warn(t);
        }
    }
    out.final_energy = final_energy.or(last_bang);
    if let Some(e) = out.final_energy {
        out.set("final_energy_ev", e * RY_TO_EV);
    }
    out.converged = if bfgs {
        end.relax_converged
    } else {
        end.scf_converged
    };
    out.normal_termination = end.done;
    out.wall_time_s = end.wall;
    out.cpu_time_s = end.cpu;
    if !scf.rows.is_empty() {
        out.series.insert("scf".into(), scf);
    }
    if bfgs && !relax.rows.is_empty() {
        out.series.insert("relax".into(), relax);
    }
    if end.stopped_at_max_seconds {
        let mut m = "Maximum CPU time exceeded".to_string();
        if let (Some(max), Some(el)) = (end.max_seconds, end.elapsed) {
            m.push_str(&format!(" (max_seconds = {max}, elapsed seconds = {el})"));
        }
        m.push_str("; the restart files are written, `matterstack restart` continues");
        end.error.get_or_insert(m);
    }
    if let Some(e) = end.error {
        out.err(format!("pw.x: {e}"));
    }
    out
}

/// `total energy = -15.5 Ry` or `!    total energy = -15.5 Ry`.
fn total_energy(t: &str) -> Option<f64> {
    let body = t.strip_prefix('!').unwrap_or(t).trim_start();
    let rest = body.strip_prefix("total energy")?.trim_start();
    let v = rest.strip_prefix('=')?;
    let mut w = v.split_whitespace();
    let e = w.next().and_then(num)?;
    (w.next() == Some("Ry")).then_some(e)
}

/// `0.20s`, `2m36.04s`, `1h23m`, `1d 2h 3m` → seconds.
fn duration(s: &str) -> Option<f64> {
    let s: String = s.split_whitespace().collect();
    if s.is_empty() {
        return None;
    }
    let mut total = 0.0;
    let mut n = String::new();
    for c in s.chars() {
        let scale = match c {
            'd' => 86400.0,
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => {
                n.push(c);
                continue;
            }
        };
        total += num(&n)? * scale;
        n.clear();
    }
    n.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces() {
        assert_eq!(duration("  0.20s "), Some(0.2));
        assert_eq!(duration("2m36.04s"), Some(156.04));
        assert_eq!(duration("1h23m"), Some(4980.0));
        assert_eq!(duration("1d 2h 3m"), Some(93780.0));
        assert_eq!(duration("x"), None);
        assert_eq!(duration("12"), None);
        assert_eq!(
            total_energy("!    total energy              =     -15.53014492 Ry"),
            Some(-15.53014492)
        );
        assert_eq!(
            total_energy("total energy              =     -15.52644207 Ry"),
            Some(-15.52644207)
        );
        assert_eq!(total_energy("total energy is the sum"), None);
    }
}
