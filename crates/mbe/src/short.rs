//! A short hand-written TOML form of the many-body input, converted to the same
//! [`ManyBodyInput`] QCManyBody reads:
//!
//! ```toml
//! method = "mp2"            # single model chemistry (label "(auto)", as QCManyBody names it)
//! basis = "cc-pvdz"
//! program = "psi4"
//! driver = "energy"         # optional: energy (default), gradient, hessian
//! bsse_type = ["cp", "nocp"] # or one string; default "cp"
//! max_nbody = 2             # optional; default: number of fragments
//! return_total_data = false # optional
//! supersystem_ie_only = false # optional
//! units = "angstrom"        # optional: angstrom (default) or bohr
//! xyz = """
//! 0 1
//! O  -1.551007  -0.114520   0.000000
//! H  -1.934259   0.762503   0.000000
//! H  -0.599677   0.040712   0.000000
//! --
//! 0 1
//! O   1.350625   0.111469   0.000000
//! H   1.680398  -0.373741  -0.758561
//! H   1.680398  -0.373741   0.758561
//! """
//! [keywords]                # optional program keywords
//! scf_type = "df"
//! ```
//!
//! Several model chemistries: a `[levels]` table (`1 = "hi"`, `2 = "lo"`, `supersystem = "ss"`)
//! and one `[models.<label>]` table each with `method`, `basis`, `program` and optional `keywords`.
//! Fragments are separated by `--` lines as in psi4; a fragment may start with a `charge
//! multiplicity` line.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::elements::canonical_symbol;
use crate::error::MbeError;
use crate::input::{
    AtomicSpecification, ManyBodyInput, ManyBodyKeywords, ManyBodySpecification, ModelSpec,
    Molecule, OneOrMany,
};

/// Ångström → bohr as qcelemental converts (1 / 0.52917721067, CODATA 2014).
pub const ANGSTROM_TO_BOHR: f64 = 1.0 / 0.529_177_210_67;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Short {
    xyz: String,
    #[serde(default)]
    units: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    basis: Option<String>,
    #[serde(default)]
    program: Option<String>,
    #[serde(default)]
    keywords: Option<toml::Table>,
    #[serde(default)]
    driver: Option<String>,
    #[serde(default)]
    bsse_type: Option<OneOrMany>,
    #[serde(default)]
    max_nbody: Option<i64>,
    #[serde(default)]
    return_total_data: Option<bool>,
    #[serde(default)]
    supersystem_ie_only: Option<bool>,
    #[serde(default)]
    levels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    models: Option<BTreeMap<String, ShortModel>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ShortModel {
    method: String,
    #[serde(default)]
    basis: Option<String>,
    program: String,
    #[serde(default)]
    keywords: Option<toml::Table>,
}

fn to_json_map(t: Option<toml::Table>) -> Result<Map<String, Value>, MbeError> {
    match t {
        None => Ok(Map::new()),
        Some(t) => match serde_json::to_value(t) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(MbeError::field(
                "keywords",
                "(table)",
                "keywords must be a table of simple values",
            )),
        },
    }
}

fn atomic_spec(
    method: String,
    basis: Option<String>,
    program: String,
    keywords: Map<String, Value>,
) -> AtomicSpecification {
    AtomicSpecification {
        keywords,
        program,
        schema_name: "qcschema_atomicspecification".into(),
        schema_version: 1,
        driver: Some("energy".into()),
        model: ModelSpec { method, basis },
        protocols: Map::new(),
        extras: Map::new(),
    }
}

impl ManyBodyInput {
    /// Read the short TOML form (see [`crate::short`]) and convert it to a ManyBodyInput.
    ///
    /// Fails with [`MbeError::Parse`] on TOML syntax errors or unknown keys, and with
    /// [`MbeError::InvalidField`] for a bad xyz line (not `symbol x y z`, unknown element,
    /// non-numeric coordinate, a charge/multiplicity line that is not two integers, an empty
    /// fragment), unknown `units`, a missing `method`/`program` without `[models]`, or
    /// `[levels]` without `[models]`. Planning checks the rest.
    pub fn from_toml(text: &str) -> Result<Self, MbeError> {
        let short: Short =
            toml::from_str(text).map_err(|e| MbeError::Parse(format!("TOML short form: {e}")))?;
        let scale = match short
            .units
            .as_deref()
            .map(|u| u.trim().to_ascii_lowercase())
        {
            None => ANGSTROM_TO_BOHR,
            Some(u) if u == "angstrom" || u == "ang" || u == "a" => ANGSTROM_TO_BOHR,
            Some(u) if u == "bohr" || u == "au" || u == "a.u." => 1.0,
            Some(u) => {
                return Err(MbeError::field(
                    "units",
                    format!("{u:?}"),
                    "use \"angstrom\" or \"bohr\"",
                ))
            }
        };
        let molecule = parse_xyz(&short.xyz, scale)?;

        let mut specification = BTreeMap::new();
        match (&short.levels, short.models) {
            (_, Some(models)) => {
                for (label, m) in models {
                    let kw = to_json_map(m.keywords)?;
                    specification.insert(label, atomic_spec(m.method, m.basis, m.program, kw));
                }
            }
            (Some(_), None) => {
                return Err(MbeError::field(
                    "levels",
                    "(table)",
                    "with [levels] give one [models.<label>] table per model chemistry (method, basis, program)",
                ))
            }
            (None, None) => {
                let method = short.method.ok_or_else(|| {
                    MbeError::field("method", "missing", "add method = \"...\" (e.g. \"mp2\")")
                })?;
                let program = short.program.ok_or_else(|| {
                    MbeError::field("program", "missing", "add program = \"...\" (e.g. \"psi4\")")
                })?;
                let kw = to_json_map(short.keywords)?;
                specification.insert(
                    "(auto)".to_string(),
                    atomic_spec(method, short.basis, program, kw),
                );
            }
        }

        Ok(ManyBodyInput {
            schema_name: "qcschema_manybodyinput".into(),
            schema_version: 1,
            specification: ManyBodySpecification {
                schema_name: "qcschema_manybodyspecification".into(),
                schema_version: 1,
                keywords: ManyBodyKeywords {
                    bsse_type: short.bsse_type,
                    return_total_data: short.return_total_data,
                    levels: short.levels,
                    max_nbody: short.max_nbody,
                    supersystem_ie_only: short.supersystem_ie_only,
                    ..ManyBodyKeywords::default()
                },
                protocols: Map::new(),
                driver: short.driver.unwrap_or_else(|| "energy".into()),
                specification,
                extras: Map::new(),
            },
            molecule,
            extras: Map::new(),
        })
    }
}

fn parse_xyz(xyz: &str, scale: f64) -> Result<Molecule, MbeError> {
    let mut symbols = Vec::new();
    let mut geometry = Vec::new();
    let mut fragments: Vec<Vec<i64>> = vec![Vec::new()];
    let mut charges: Vec<Option<(f64, f64)>> = vec![None];
    for (lineno, raw) in xyz.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let field = format!("xyz line {}", lineno + 1);
        if line.starts_with("--") {
            fragments.push(Vec::new());
            charges.push(None);
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let ifr = fragments.len() - 1;
        if parts.len() == 2 && fragments[ifr].is_empty() && charges[ifr].is_none() {
            let q: i64 = parts[0].parse().map_err(|_| {
                MbeError::field(
                    &field,
                    format!("{line:?}"),
                    "a charge/multiplicity line is two integers, e.g. \"0 1\"",
                )
            })?;
            let m: i64 = parts[1].parse().map_err(|_| {
                MbeError::field(
                    &field,
                    format!("{line:?}"),
                    "a charge/multiplicity line is two integers, e.g. \"0 1\"",
                )
            })?;
            charges[ifr] = Some((q as f64, m as f64));
            continue;
        }
        if parts.len() != 4 {
            return Err(MbeError::field(
                &field,
                format!("{line:?}"),
                "atom lines are `symbol x y z`; separate fragments with a `--` line",
            ));
        }
        let sym = canonical_symbol(parts[0]).ok_or_else(|| {
            MbeError::field(
                &field,
                format!("{:?}", parts[0]),
                "use an element symbol (ghost atoms are made by the expansion; do not write them)",
            )
        })?;
        for p in &parts[1..] {
            let x: f64 = p.parse().map_err(|_| {
                MbeError::field(&field, format!("{p:?}"), "coordinates are decimal numbers")
            })?;
            if !x.is_finite() {
                return Err(MbeError::field(
                    &field,
                    format!("{p:?}"),
                    "coordinates must be finite",
                ));
            }
            geometry.push(x * scale);
        }
        fragments[ifr].push(symbols.len() as i64);
        symbols.push(sym.to_string());
    }
    if let Some(i) = fragments.iter().position(|f| f.is_empty()) {
        return Err(MbeError::field(
            "xyz",
            format!("fragment {} is empty", i + 1),
            "every fragment between `--` lines needs at least one atom",
        ));
    }
    let any_chg = charges.iter().any(|c| c.is_some());
    let (fragment_charges, fragment_multiplicities) = if any_chg {
        let qs = charges
            .iter()
            .map(|c| c.map(|x| x.0).unwrap_or(0.0))
            .collect::<Vec<_>>();
        let all_m = charges.iter().all(|c| c.is_some());
        let ms = if all_m {
            Some(
                charges
                    .iter()
                    .map(|c| c.map(|x| x.1).unwrap_or(1.0))
                    .collect(),
            )
        } else {
            None
        };
        (Some(qs), ms)
    } else {
        (None, None)
    };
    let molecular_charge = fragment_charges.as_ref().map(|q: &Vec<f64>| q.iter().sum());
    Ok(Molecule {
        schema_name: "qcschema_molecule".into(),
        schema_version: Some(2),
        symbols,
        geometry,
        name: None,
        molecular_charge,
        molecular_multiplicity: None,
        fragments: Some(fragments),
        fragment_charges,
        fragment_multiplicities,
        real: None,
        atomic_numbers: None,
        other: Map::new(),
    })
}
