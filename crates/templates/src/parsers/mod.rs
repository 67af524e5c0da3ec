//! Program output parsers: plain functions `fn(&str) -> ParsedOutput`.
//!
//! Parsers never fail and never panic: what they cannot find stays `None`/empty.
//! [`ParsedOutput::error`] is set when the output shows that the calculation failed
//! (even if the program exited with status 0); the engine marks such a task FAILED.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod cp2k;
pub mod crystal;
pub mod gromacs;
pub mod lammps;
pub mod namd;
pub mod psi4;
pub mod qe;
pub mod xtb;

/// Programs with a parser (the names used in `template.toml`'s `parser`).
pub const PROGRAMS: &[&str] = &[
    "cp2k", "crystal", "gromacs", "lammps", "namd", "psi4", "qe", "xtb",
];

/// What a parser found in one output file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedOutput {
    /// Parser name (`psi4`, `xtb`, …).
    pub program: String,
    /// Program version as printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The final energy of the calculation, in `energy_unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_energy: Option<f64>,
    /// `hartree`, `kJ/mol`, `kcal/mol`, `Ry` (Quantum ESPRESSO), `eV` or
    /// `epsilon` (LAMMPS lj units), as the program reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub energy_unit: Option<String>,
    /// Whether the SCF / optimisation / minimisation converged, when the output says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<bool>,
    /// The program printed its normal-termination marker.
    pub normal_termination: bool,
    /// The output stops before the program's end (a running job's output, or
    /// one cut off by a kill) and reports no error: what it holds so far.
    #[serde(default)]
    pub partial: bool,
    /// Wall-clock seconds reported by the program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_time_s: Option<f64>,
    /// CPU seconds reported by the program.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_time_s: Option<f64>,
    /// Warnings printed by the program (at most [`MAX_MESSAGES`]).
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Error messages printed by the program (at most [`MAX_MESSAGES`]).
    #[serde(default)]
    pub errors: Vec<String>,
    /// Set when the calculation failed; the engine marks the task FAILED even on exit 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Program-specific values (documented per parser).
    #[serde(default)]
    pub values: BTreeMap<String, Value>,
    /// Series a person plots while a job runs or after it, by name (`scf`:
    /// SCF iterations; `md`: MD energy frames), each a table of numbers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub series: BTreeMap<String, Series>,
}

/// A table of numbers over iterations or steps: one column per quantity
/// (with its unit), one row per iteration or frame.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Column names; the first is the x axis (iteration, step).
    pub columns: Vec<String>,
    /// One unit per column (`""` for a count).
    pub units: Vec<String>,
    /// Rows of `columns.len()` numbers (at most [`MAX_SERIES_ROWS`]; a longer
    /// run keeps its last rows).
    pub rows: Vec<Vec<f64>>,
}

/// The most rows a series keeps.
pub const MAX_SERIES_ROWS: usize = 10_000;

impl Series {
    fn new(columns: &[(&str, &str)]) -> Series {
        Series {
            columns: columns.iter().map(|c| c.0.to_string()).collect(),
            units: columns.iter().map(|c| c.1.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<f64>) {
        if row.len() != self.columns.len() {
            return;
        }
        if self.rows.len() == MAX_SERIES_ROWS {
            self.rows.remove(0);
        }
        self.rows.push(row);
    }
}

/// The most warnings/errors kept.
pub const MAX_MESSAGES: usize = 50;

impl ParsedOutput {
    fn new(program: &str) -> Self {
        ParsedOutput {
            program: program.to_string(),
            ..Default::default()
        }
    }

    fn warn(&mut self, w: impl Into<String>) {
        if self.warnings.len() < MAX_MESSAGES {
            self.warnings.push(w.into());
        }
    }

    fn err(&mut self, e: impl Into<String>) {
        let e = e.into();
        if self.errors.len() < MAX_MESSAGES {
            self.errors.push(e.clone());
        }
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    fn set(&mut self, key: &str, v: impl Into<Value>) {
        self.values.insert(key.to_string(), v.into());
    }
}

/// A parser function.
pub type Parser = fn(&str) -> ParsedOutput;

/// The parser for `program` (one of [`PROGRAMS`]), or `None`.
pub fn parser_for(program: &str) -> Option<Parser> {
    match program {
        "cp2k" => Some(cp2k::parse),
        "crystal" => Some(crystal::parse),
        "gromacs" => Some(gromacs::parse),
        "lammps" => Some(lammps::parse),
        "namd" => Some(namd::parse),
        "psi4" => Some(psi4::parse),
        "qe" => Some(qe::parse),
        "xtb" => Some(xtb::parse),
        _ => None,
    }
}

/// Parses `text` with the parser for `program`; `None` when there is no such parser.
/// An empty output yields a [`ParsedOutput`] with `error` set.
pub fn parse_output(program: &str, text: &str) -> Option<ParsedOutput> {
    let p = parser_for(program)?;
    let mut out = p(text);
    if text.trim().is_empty() && out.error.is_none() {
        out.error = Some(format!("{program} output is empty"));
    }
    // xtb prints "normal termination" on stderr; its stdout ends with the
    // total timing block.
    let ended = out.normal_termination || (program == "xtb" && out.cpu_time_s.is_some());
    out.partial = out.error.is_none() && !ended;
    Some(out)
}

/// Parses a float, accepting Fortran `D` exponents.
pub(crate) fn num(s: &str) -> Option<f64> {
    let t = s.trim().trim_end_matches([',', ';']);
    t.parse::<f64>()
        .ok()
        .or_else(|| t.replace(['D', 'd'], "E").parse::<f64>().ok())
        .filter(|x| x.is_finite())
}

/// The text after `marker` on `line`, trimmed.
pub(crate) fn after<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    line.find(marker).map(|i| line[i + marker.len()..].trim())
}

/// The first whitespace-separated number after `marker`.
pub(crate) fn num_after(line: &str, marker: &str) -> Option<f64> {
    after(line, marker)?.split_whitespace().next().and_then(num)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(num("1.5D-03"), Some(1.5e-3));
        assert_eq!(num("x"), None);
        assert_eq!(num_after("E(AU) -2.5E+02 CYCLES 7", "E(AU)"), Some(-250.0));
        assert!(parse_output("nope", "").is_none());
        for p in PROGRAMS {
            let out = parse_output(p, "").unwrap();
            assert!(out.error.is_some(), "{p}");
            // garbage never panics
            let g = parse_output(p, "ENERGY:\nETITLE:\n== SCF ENDED\nTotal Energy =\n| TOTAL ENERGY\nEnergies (kJ/mol)\nx\n").unwrap();
            assert_eq!(g.program, *p);
        }
    }
}
