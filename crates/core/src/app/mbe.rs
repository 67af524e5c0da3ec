//! Many-body expansions as runs: read a QCManyBody input, plan its component calculations
//! (the pure `matterstack_mbe` library), turn every component into a task of a workspace (one
//! task per component, no dependencies between them, largest cost first), run it, collect each
//! component's energy/gradient/hessian into a content-addressed cache, and assemble.
//!
//! Layout of an expansion workspace (`mbe-<stem>/` by default):
//!
//! ```text
//! matterstack.toml           the tasks of the latest run (one per component still to compute)
//! inputs/<task>/             component.json (label, hash, program, driver) + the program's input
//! runs/mbe-NNN/              the runs (resumable like any other)
//! ```
//!
//! Component results go to the user's cache, `$XDG_CACHE_HOME/matterstack/mbe/<sha256>.json`
//! (one result per hash of its full input), shared by every expansion workspace of the user, so
//! the same fragment calculation is never run twice anywhere; a workspace's own `cache/` (where
//! earlier versions kept them) is still read.
//!
//! The cache key is the SHA-256 of the component's complete program input (program, method,
//! basis, keywords, atoms, ghosts, charge, multiplicity, driver) in canonical JSON, so a rerun,
//! another bsse type or a larger `max_nbody` reuses every calculation already made.
//!
//! Programs are driven directly: psi4 (`psi4 --json`, QCSchema v1 in and out, `scf_type pk` unless
//! given), xtb (command line; energy from `mol.engrad`, gradient from `gradient`; no ghost atoms,
//! so nocp only) and NWChem (an input deck whose Python block writes `result.json`; ghost atoms
//! as `bq` centres with basis functions; see `mbe/nwchem.rs`) and PySCF (a driver script shipped
//! in the binary, run by `$MATTERSTACK_PYSCF_PYTHON` or `python3`; ghost atoms as `GHOST-O`; see
//! `mbe/pyscf.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub use matterstack_mbe as lib;
use matterstack_mbe::{
    Component, ComponentResult, Driver, Expansion, ManyBodyInput, ManyBodyOutcome, Plan,
};

use super::init::WORKSPACE_FILE;
use super::{init, InitOptions, Run, TaskState};
use crate::{Error, Result};

mod nwchem;
mod pyscf;

/// The component's charge as an integer, or a user error naming `program`.
fn integer_charge(c: &Component, program: &str) -> Result<i64> {
    let charge = c.molecular_charge;
    if charge.fract() != 0.0 || !charge.is_finite() {
        return Err(Error::Input(format!(
            "component {} has a non-integer charge {charge}; {program} takes integer charges (fix molecule.fragment_charges)",
            c.label
        )));
    }
    Ok(charge as i64)
}

/// The component's basis set, or a user error naming the field and `program`.
fn required_basis<'c>(c: &'c Component, program: &str) -> Result<&'c str> {
    c.basis_set
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| {
            Error::Input(format!(
                "missing value for `specification.specification.{}.model.basis`: {program} needs a basis set, e.g. \"sto-3g\" or \"cc-pvdz\"",
                c.model
            ))
        })
}

/// Reads the `result.json` the nwchem deck and the pyscf driver write:
/// `{"energy", "gradient"?, "hessian"?}`, full precision, sized by `natom`.
fn read_result_json(
    dir: &Path,
    driver: &str,
    natom: usize,
) -> std::result::Result<ComponentResult, String> {
    let path = dir.join("result.json");
    let text = fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let energy = doc["energy"]
        .as_f64()
        .ok_or_else(|| format!("{}: no energy", path.display()))?;
    let array = |key: &str, want: usize| -> std::result::Result<Vec<f64>, String> {
        let v: Vec<f64> = doc[key]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        if v.len() != want {
            return Err(format!(
                "{}: {key} has {} numbers, expected {want}",
                path.display(),
                v.len()
            ));
        }
        Ok(v)
    };
    let mut r = ComponentResult::energy(energy);
    match driver {
        "gradient" => r.gradient = Some(array("gradient", 3 * natom)?),
        "hessian" => r.hessian = Some(array("hessian", 9 * natom * natom)?),
        _ => {}
    }
    Ok(r)
}

/// Programs `mbe run` can drive.
pub const PROGRAMS: &[&str] = &["psi4", "xtb", "nwchem", "pyscf"];

/// Version tag mixed into every cache key (bump when the way inputs are built changes).
const CACHE_TAG: &str = "matterstack-mbe-cache-v1";

/// The name of the per-task description file.
const COMPONENT_FILE: &str = "component.json";

// ------------------------------------------------------------------ reading and planning

/// Reads a many-body input: QCManyBody's ManyBodyInput JSON, or the short TOML form when the
/// file name ends in `.toml`.
///
/// Fails with [`Error::Input`] naming the file and what is wrong in it.
pub fn read_input(path: &Path) -> Result<ManyBodyInput> {
    let text = read_text(path, "the many-body input")?;
    let is_toml = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let parsed = if is_toml {
        ManyBodyInput::from_toml(&text)
    } else {
        ManyBodyInput::from_json(&text)
    };
    parsed.map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// Reads and plans a many-body input (see [`read_input`] and [`matterstack_mbe::plan`]).
///
/// Fails with [`Error::Input`] on any problem of the input (overlapping or missing fragment
/// atoms, `max_nbody` out of range, an unknown bsse type, cp/vmfc with a program without ghost
/// atoms, …), naming the file, the field, the value and the fix.
pub fn plan_file(path: &Path) -> Result<Plan> {
    let input = read_input(path)?;
    matterstack_mbe::plan(&input).map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// Reads and checks a many-body input and enumerates its components without building their
/// molecules (see [`matterstack_mbe::expansion`]): all `mbe analyze` needs.
///
/// Fails like [`plan_file`].
pub fn expansion_file(path: &Path) -> Result<Expansion> {
    let input = read_input(path)?;
    matterstack_mbe::expansion(&input).map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// Reads component results (`{label: {"energy", "gradient"?, "hessian"?}}`) from a JSON file
/// straight into `exp`'s component ids (see [`matterstack_mbe::results_for`]).
///
/// Fails with [`Error::Input`] naming the file and the malformed entry.
pub fn read_component_results_for(
    exp: &Expansion,
    path: &Path,
) -> Result<Vec<Option<ComponentResult>>> {
    let text = read_text(path, "the component results")?;
    matterstack_mbe::results_for(exp, &text)
        .map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// Assembles results given by component id (see [`read_component_results_for`]).
///
/// Fails like [`analyze`].
pub fn analyze_expansion(
    exp: &Expansion,
    results: &[Option<ComponentResult>],
) -> Result<ManyBodyOutcome> {
    let by_id: Vec<Option<&ComponentResult>> = results.iter().map(Option::as_ref).collect();
    matterstack_mbe::analyze_expansion(exp, &by_id).map_err(|e| Error::Input(e.to_string()))
}

/// Reads component results (`{label: {"energy", "gradient"?, "hessian"?}}`) from a JSON file.
pub fn read_component_results(path: &Path) -> Result<BTreeMap<String, ComponentResult>> {
    let text = read_text(path, "the component results")?;
    matterstack_mbe::results_from_json(&text)
        .map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// Assembles `results` into the many-body outcome, like QCManyBody's `ManyBodyCore.analyze`.
///
/// Fails with [`Error::Input`] naming every missing component label, every component lacking a
/// gradient/hessian, or a result of the wrong size.
pub fn analyze(
    plan: &Plan,
    results: &BTreeMap<String, ComponentResult>,
) -> Result<ManyBodyOutcome> {
    matterstack_mbe::analyze(plan, results).map_err(|e| Error::Input(e.to_string()))
}

/// The ManyBodyResult-style JSON document written by `mbe analyze` and `mbe run`: QCManyBody's
/// ManyBodyResult fields plus `ret_energy`, `ret_gradient`, `ret_hessian`, `energy_body_dict`,
/// `gradient_body_dict`, `hessian_body_dict`, `results` and `bsse_type` at the top level (what
/// `ManyBodyCore.analyze` returns).
pub fn result_document(plan: &Expansion, outcome: &ManyBodyOutcome) -> Value {
    let mut doc = outcome.to_manybody_result(plan);
    if let Value::Object(m) = &mut doc {
        m.insert("ret_energy".into(), json!(outcome.ret_energy));
        m.insert("ret_gradient".into(), json!(outcome.ret_gradient));
        m.insert("ret_hessian".into(), json!(outcome.ret_hessian));
        m.insert("energy_body_dict".into(), json!(outcome.energy_body_dict));
        m.insert(
            "gradient_body_dict".into(),
            json!(outcome.gradient_body_dict),
        );
        m.insert("hessian_body_dict".into(), json!(outcome.hessian_body_dict));
        m.insert("results".into(), json!(outcome.results));
        let bsse: Vec<&str> = outcome.bsse.iter().map(|b| b.as_str()).collect();
        m.insert("bsse_type".into(), json!(bsse));
        m.insert("return_bsse".into(), json!(outcome.return_bsse.as_str()));
    }
    doc
}

/// Writes the result document to `out` and the interaction-energy plot next to it
/// (`out` with the extension `svg`); returns the plot's path.
pub fn write_outputs(plan: &Expansion, outcome: &ManyBodyOutcome, out: &Path) -> Result<PathBuf> {
    let doc = result_document(plan, outcome);
    let text = serde_json::to_string_pretty(&doc).expect("a JSON value serializes");
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
    }
    crate::atomic::write(out, &(text + "\n"))?;
    let svg = out.with_extension("svg");
    crate::atomic::write(&svg, &matterstack_mbe::interaction_energy_svg(outcome))?;
    Ok(svg)
}

// ------------------------------------------------------------------ programs

/// What one component needs to run: its files (name → contents), the shell command, and the
/// cache key.
#[derive(Debug, Clone)]
pub struct PreparedComponent {
    /// SHA-256 (hex) of the canonical program input: the cache key.
    pub hash: String,
    /// The task id.
    pub task_id: String,
    /// Files written into the task directory (name, contents).
    pub files: Vec<(String, String)>,
    /// The `sh -c` command run in the task directory.
    pub command: String,
}

/// Checks that every component can be run by `mbe run` on this machine without writing
/// anything: [`check_inputs`], then for pyscf components that the python which will run them
/// (`$MATTERSTACK_PYSCF_PYTHON`, else `python3`) imports pyscf and knows every basis set and
/// functional of the plan.
///
/// Fails with [`Error::Input`] naming the model chemistry, the field, the value and the fix
/// (for a missing pyscf: set `MATTERSTACK_PYSCF_PYTHON` or `pip install pyscf`).
pub fn check_runnable(plan: &Plan) -> Result<()> {
    check_inputs(plan)?;
    pyscf::probe_plan(plan)
}

/// Checks that every component's program input can be built (a program `mbe run` drives, a
/// driver the program has, keywords it knows) without running anything: what can be checked
/// for components that will run elsewhere (`--cluster`).
///
/// Fails with [`Error::Input`] naming the model chemistry, the field, the value and the fix.
pub fn check_inputs(plan: &Plan) -> Result<()> {
    let mut seen = BTreeSet::new();
    for c in &plan.components {
        if seen.insert(c.model.clone()) {
            prepare(c)?;
        }
    }
    Ok(())
}

/// The canonical program input of a component (what the cache key hashes) for `driver`.
fn identity(c: &Component, driver: Driver) -> Result<Value> {
    let program = c.program.trim().to_ascii_lowercase();
    let mut input = c.atomic_input();
    if let Value::Object(m) = &mut input {
        m.remove("extras");
        m.insert("driver".into(), json!(driver.as_str()));
        if program == "psi4" {
            if let Some(Value::Object(kw)) = m.get_mut("keywords") {
                if !kw.keys().any(|k| k.eq_ignore_ascii_case("scf_type")) {
                    kw.insert("scf_type".into(), json!("pk"));
                }
            }
        }
    }
    Ok(json!({"tag": CACHE_TAG, "program": program, "input": input}))
}

/// SHA-256 hex of the canonical JSON of `v` (object keys sorted at every level).
fn sha256_hex(v: &Value) -> String {
    let mut text = String::new();
    canonical(v, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The cache key of a component (its full input, driver included).
pub fn component_hash(c: &Component) -> Result<String> {
    Ok(sha256_hex(&identity(c, c.driver)?))
}

/// Cache keys under which a usable result of `c` may be stored, best first: its own, and for an
/// energy a gradient calculation of the same input (which carries the energy too).
fn lookup_hashes(c: &Component) -> Result<Vec<String>> {
    let mut out = vec![component_hash(c)?];
    if c.driver == Driver::Energy {
        out.push(sha256_hex(&identity(c, Driver::Gradient)?));
    }
    Ok(out)
}

fn task_id(c: &Component, hash: &str) -> String {
    let model: String = c
        .model
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '-' {
                ch
            } else {
                '_'
            }
        })
        .take(24)
        .collect();
    let join = |v: &[usize]| {
        v.iter()
            .map(|f| f.to_string())
            .collect::<Vec<_>>()
            .join("-")
    };
    let mut frags = format!("r{}", join(&c.real));
    if !c.ghost.is_empty() {
        frags.push_str(&format!("_g{}", join(&c.ghost)));
    }
    if frags.len() > 80 {
        frags = format!("n{}_b{}", c.real.len(), c.basis.len());
    }
    let mut model = model
        .split('_')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if model.is_empty() || model.starts_with('-') {
        model.insert(0, 'm');
    }
    format!("{model}_{frags}_{}", &hash[..10])
}

/// Builds a component's task: its files, its command and its cache key.
///
/// Fails with [`Error::Input`] for a program `mbe run` does not drive, xtb with a hessian, a basis
/// or an unknown keyword, nwchem with a hessian, an unknown method, no basis or any keyword,
/// pyscf with a hessian other than hf, no basis or a keyword it does not take (see
/// `mbe/pyscf.rs`), or a charge that is not an integer.
pub fn prepare(c: &Component) -> Result<PreparedComponent> {
    let hash = component_hash(c)?;
    let task_id = task_id(c, &hash);
    let program = c.program.trim().to_ascii_lowercase();
    let meta = json!({
        "label": c.label,
        "hash": hash,
        "program": program,
        "driver": c.driver.as_str(),
        "natom": c.natom(),
    });
    let mut files = vec![(
        COMPONENT_FILE.to_string(),
        serde_json::to_string_pretty(&meta).expect("JSON serializes") + "\n",
    )];
    let command = match program.as_str() {
        "psi4" => {
            let id = identity(c, c.driver)?;
            let mut input = id["input"].clone();
            if let Value::Object(m) = &mut input {
                m.insert("extras".into(), json!({"matterstack_mbe_label": c.label}));
            }
            files.push((
                "input.json".into(),
                serde_json::to_string_pretty(&input).expect("JSON serializes") + "\n",
            ));
            // psi4 --json rewrites its file with the result; keep input.json pristine so a
            // retry starts from the same input. psi4 exits 0 even when it fails: check success.
            "rm -f result.json && cp input.json result.json && psi4 --json result.json > psi4.log 2>&1; \
             grep -Eq '\"success\": *true' result.json || { echo \"psi4 failed: see the error in $PWD/result.json and $PWD/psi4.log\" >&2; exit 1; }"
                .to_string()
        }
        "xtb" => {
            let (flags, coord) = xtb_input(c)?;
            files.push(("mol.coord".into(), coord));
            format!(
                "rm -f energy gradient mol.engrad xtbrestart charges wbo xtbtopo.mol && \
                 xtb mol.coord {flags} --grad > xtb.out 2> xtb.err && test -s mol.engrad || \
                 {{ tail -n 30 xtb.out xtb.err >&2; echo \"xtb failed: see $PWD/xtb.out\" >&2; exit 1; }}"
            )
        }
        "nwchem" => {
            files.push(("input.nw".into(), nwchem::deck(c)?));
            nwchem::COMMAND.to_string()
        }
        "pyscf" => {
            files.push(("input.json".into(), pyscf::input(c)?));
            files.push((pyscf::DRIVER_FILE.into(), pyscf::DRIVER.to_string()));
            pyscf::COMMAND.to_string()
        }
        other => {
            return Err(Error::Input(format!(
                "invalid value for `specification.specification.{}.program`: {other:?}; `mbe run` drives {} (run other programs yourself and assemble with `matterstack mbe analyze INPUT --components RESULTS.json`)",
                c.model,
                PROGRAMS.join(", ")
            )))
        }
    };
    Ok(PreparedComponent {
        hash,
        task_id,
        files,
        command,
    })
}

/// xtb's command-line flags and its Turbomole `coord` file (bohr) for a component.
fn xtb_input(c: &Component) -> Result<(String, String)> {
    let field = |f: &str| format!("specification.specification.{}.{f}", c.model);
    if c.real_atoms.iter().any(|r| !r) {
        return Err(Error::Input(format!(
            "component {} has ghost atoms, which xtb does not have; use bsse_type \"nocp\" with xtb",
            c.label
        )));
    }
    if c.driver == Driver::Hessian {
        return Err(Error::Input(format!(
            "invalid value for `specification.driver`: \"hessian\" with xtb (model chemistry {:?}); `mbe run` takes energies and gradients from xtb: use driver \"energy\" or \"gradient\"",
            c.model
        )));
    }
    let method = c.method.trim().to_ascii_lowercase().replace('_', "-");
    let mut flags = match method.as_str() {
        "gfn2" | "gfn2-xtb" | "gfn2xtb" | "xtb" => "--gfn 2".to_string(),
        "gfn1" | "gfn1-xtb" | "gfn1xtb" => "--gfn 1".to_string(),
        "gfn0" | "gfn0-xtb" | "gfn0xtb" => "--gfn 0".to_string(),
        "gfnff" | "gfn-ff" => "--gfnff".to_string(),
        _ => {
            return Err(Error::Input(format!(
                "invalid value for `{}`: {:?}; xtb methods are \"gfn2\" (GFN2-xTB), \"gfn1\", \"gfn0\" and \"gfnff\"",
                field("model.method"),
                c.method
            )))
        }
    };
    if c.basis_set.as_deref().is_some_and(|b| !b.trim().is_empty()) {
        return Err(Error::Input(format!(
            "invalid value for `{}`: {:?}; xtb has no basis set choice, leave the basis out (or null)",
            field("model.basis"),
            c.basis_set.as_deref().unwrap_or("")
        )));
    }
    let charge = integer_charge(c, "xtb")?;
    flags.push_str(&format!(
        " --chrg {} --uhf {}",
        charge,
        c.molecular_multiplicity.saturating_sub(1)
    ));
    for (k, v) in &c.keywords {
        let num = v.as_f64().filter(|x| x.is_finite());
        let (flag, val) = match (k.to_ascii_lowercase().as_str(), num) {
            ("accuracy", Some(x)) if x > 0.0 => ("--acc", format!("{x}")),
            ("max_iterations", Some(x)) if x >= 1.0 && x.fract() == 0.0 => {
                ("--iterations", format!("{}", x as i64))
            }
            ("electronic_temperature", Some(x)) if x > 0.0 => ("--etemp", format!("{x}")),
            _ => {
                return Err(Error::Input(format!(
                    "invalid keyword `{}`: {k} = {v}; xtb keywords here are accuracy (> 0), max_iterations (integer ≥ 1) and electronic_temperature (K, > 0)",
                    field("keywords")
                )))
            }
        };
        flags.push_str(&format!(" {flag} {val}"));
    }
    let mut coord = String::from("$coord\n");
    for (i, sym) in c.symbols.iter().enumerate() {
        let el = matterstack_mbe::elements::canonical_symbol(sym)
            .unwrap_or(sym.as_str())
            .to_ascii_lowercase();
        if !el.chars().all(|ch| ch.is_ascii_alphabetic()) {
            return Err(Error::Input(format!(
                "invalid value for `molecule.symbols`: {sym:?}; give element symbols"
            )));
        }
        let g = &c.geometry[3 * i..3 * i + 3];
        coord.push_str(&format!("{:?} {:?} {:?} {el}\n", g[0], g[1], g[2]));
    }
    coord.push_str("$end\n");
    Ok((flags, coord))
}

/// Reads a finished task's result from its directory (`component.json` says which program).
fn read_task_result(dir: &Path) -> std::result::Result<(String, Value), String> {
    let meta_path = dir.join(COMPONENT_FILE);
    let meta: Value = fs::read_to_string(&meta_path)
        .map_err(|e| format!("read {}: {e}", meta_path.display()))
        .and_then(|t| {
            serde_json::from_str(&t).map_err(|e| format!("{}: {e}", meta_path.display()))
        })?;
    let hash = meta["hash"]
        .as_str()
        .ok_or("component.json has no hash")?
        .to_string();
    let natom = meta["natom"]
        .as_u64()
        .ok_or("component.json has no natom")? as usize;
    let driver = meta["driver"].as_str().unwrap_or("energy");
    let program = meta["program"].as_str().unwrap_or("");
    let result = match program {
        "psi4" => read_psi4(&dir.join("result.json"), driver, natom)?,
        "xtb" => read_xtb(dir, driver, natom)?,
        "nwchem" | "pyscf" => read_result_json(dir, driver, natom)?,
        other => {
            return Err(format!(
                "unknown program {other:?} in {}",
                meta_path.display()
            ))
        }
    };
    let mut entry = Map::new();
    entry.insert("label".into(), meta["label"].clone());
    entry.insert("program".into(), json!(program));
    entry.insert("driver".into(), json!(driver));
    entry.insert("energy".into(), json!(result.energy));
    if let Some(g) = result.gradient {
        entry.insert("gradient".into(), json!(g));
    }
    if let Some(h) = result.hessian {
        entry.insert("hessian".into(), json!(h));
    }
    Ok((hash, Value::Object(entry)))
}

fn flat(v: &Value, out: &mut Vec<f64>) -> std::result::Result<(), String> {
    match v {
        Value::Array(a) => a.iter().try_for_each(|x| flat(x, out)),
        Value::Number(n) => {
            out.push(n.as_f64().ok_or("not a number")?);
            Ok(())
        }
        other => Err(format!("expected numbers, found {other}")),
    }
}

fn read_psi4(
    path: &Path,
    driver: &str,
    natom: usize,
) -> std::result::Result<ComponentResult, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if doc["success"] != Value::Bool(true) {
        let msg = doc["error"]["error_message"]
            .as_str()
            .unwrap_or("no error message");
        let last = msg
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(format!(
            "psi4 reported failure in {}: {last}",
            path.display()
        ));
    }
    let energy = doc["properties"]["return_energy"]
        .as_f64()
        .or_else(|| {
            (driver == "energy")
                .then(|| doc["return_result"].as_f64())
                .flatten()
        })
        .ok_or_else(|| format!("{}: no properties.return_energy", path.display()))?;
    let mut r = ComponentResult::energy(energy);
    let array = |want: usize| -> std::result::Result<Vec<f64>, String> {
        let mut v = Vec::new();
        flat(&doc["return_result"], &mut v)
            .map_err(|e| format!("{}: return_result: {e}", path.display()))?;
        if v.len() != want {
            return Err(format!(
                "{}: return_result has {} numbers, expected {want}",
                path.display(),
                v.len()
            ));
        }
        Ok(v)
    };
    match driver {
        "gradient" => r.gradient = Some(array(3 * natom)?),
        "hessian" => r.hessian = Some(array(9 * natom * natom)?),
        _ => {}
    }
    Ok(r)
}

fn parse_fortran(s: &str) -> Option<f64> {
    s.replace(['D', 'd'], "E").parse().ok()
}

fn read_xtb(
    dir: &Path,
    driver: &str,
    natom: usize,
) -> std::result::Result<ComponentResult, String> {
    // mol.engrad: comment lines start with '#'; then natom, energy, 3·natom gradient values
    // (12 decimals). The `gradient` file has more digits for the gradient.
    let path = dir.join("mol.engrad");
    let text = fs::read_to_string(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let nums: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let energy = nums
        .get(1)
        .and_then(|s| parse_fortran(s))
        .ok_or_else(|| format!("{}: no energy", path.display()))?;
    let mut r = ComponentResult::energy(energy);
    if driver == "gradient" {
        let gpath = dir.join("gradient");
        let gtext =
            fs::read_to_string(&gpath).map_err(|e| format!("read {}: {e}", gpath.display()))?;
        // the last $grad block: cycle line, natom coordinate lines, natom gradient lines
        let block: Vec<&str> = gtext
            .rsplit("$grad")
            .next()
            .unwrap_or("")
            .lines()
            .map(str::trim)
            .take_while(|l| !l.starts_with("$end"))
            .filter(|l| !l.is_empty() && !l.starts_with("cycle"))
            .collect();
        if block.len() != 2 * natom {
            return Err(format!(
                "{}: expected {} lines in the last $grad block, found {}",
                gpath.display(),
                2 * natom,
                block.len()
            ));
        }
        let mut g = Vec::with_capacity(3 * natom);
        for line in &block[natom..] {
            for tok in line.split_whitespace() {
                g.push(
                    parse_fortran(tok)
                        .ok_or_else(|| format!("{}: bad number {tok:?}", gpath.display()))?,
                );
            }
        }
        if g.len() != 3 * natom {
            return Err(format!(
                "{}: {} gradient values, expected {}",
                gpath.display(),
                g.len(),
                3 * natom
            ));
        }
        r.gradient = Some(g);
    }
    Ok(r)
}

// ------------------------------------------------------------------ the cache

/// The content-addressed component cache: the user's (`$XDG_CACHE_HOME/matterstack/mbe/`),
/// written and read, and an expansion workspace's own `cache/` of earlier versions, read.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    legacy: PathBuf,
}

impl Cache {
    /// The user's cache, and the old one of `workspace`.
    pub fn new(workspace: &Path) -> Cache {
        Cache {
            dir: crate::lookup::cache_dir().join("mbe"),
            legacy: workspace.join("cache"),
        }
    }

    /// The file of one key.
    pub fn path(&self, hash: &str) -> PathBuf {
        self.dir.join(format!("{hash}.json"))
    }

    /// The cached result of `c`, if any (its own key, or for an energy a gradient calculation).
    pub fn get(&self, c: &Component) -> Result<Option<ComponentResult>> {
        let hashes = lookup_hashes(c)?;
        let files = [&self.dir, &self.legacy]
            .into_iter()
            .flat_map(|d| hashes.iter().map(move |h| d.join(format!("{h}.json"))));
        for p in files {
            let Ok(text) = fs::read_to_string(&p) else {
                continue;
            };
            // a damaged entry is recomputed, not trusted
            let Ok(mut r) = serde_json::from_str::<ComponentResult>(&text) else {
                continue;
            };
            if c.driver == Driver::Energy {
                r.gradient = None;
                r.hessian = None;
            }
            return Ok(Some(r));
        }
        Ok(None)
    }

    /// Stores an entry (atomically).
    fn put(&self, hash: &str, entry: &Value) -> Result<()> {
        fs::create_dir_all(&self.dir).map_err(|e| Error::io("create", &self.dir, e))?;
        crate::atomic::write(
            &self.path(hash),
            &(serde_json::to_string(entry).expect("JSON serializes") + "\n"),
        )
    }
}

// ------------------------------------------------------------------ running

/// Options of [`run`].
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The expansion workspace (default `./mbe-<input stem>/`).
    pub workspace: Option<PathBuf>,
    /// Run every component on this cluster (`operator = "slurm"`).
    pub cluster: Option<String>,
    /// Components run at once locally (`[run] cores`; default: the machine's cores).
    pub workers: Option<u32>,
    /// Automatic retries of a failed component.
    pub retries: u32,
    /// Poll interval for attempts this process did not start (cluster jobs, adopted ones).
    pub poll: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            workspace: None,
            cluster: None,
            workers: None,
            retries: 1,
            poll: Duration::from_secs(1),
        }
    }
}

/// Where an expansion stands, for a progress line.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    /// The run being stepped.
    pub run: String,
    /// Components in this run.
    pub tasks: usize,
    /// Attempts finished so far (any outcome).
    pub finished: usize,
    /// Attempts started so far.
    pub launched: usize,
}

/// A component that could not be computed.
#[derive(Debug, Clone)]
pub struct FailedComponent {
    /// Its QCManyBody label.
    pub label: String,
    /// Its task.
    pub task: String,
    /// The task's status and reason, or why its result could not be read.
    pub reason: String,
    /// The task directory (logs are in `.attempts/<n>/`).
    pub dir: PathBuf,
}

/// What [`run`] did.
#[derive(Debug)]
pub struct RunOutcome {
    /// The plan.
    pub plan: Plan,
    /// The expansion workspace.
    pub workspace: PathBuf,
    /// Components found in the cache before running anything.
    pub cached: usize,
    /// Components computed by this call (0 when everything was cached).
    pub computed: usize,
    /// Runs resumed (unfinished runs of the workspace continued first).
    pub resumed: Vec<String>,
    /// The run created by this call, if any component had to be computed.
    pub run_dir: Option<PathBuf>,
    /// Components that failed (after their retries); empty on success.
    pub failed: Vec<FailedComponent>,
    /// The assembled result (None when a component failed).
    pub outcome: Option<ManyBodyOutcome>,
}

/// What [`prepare_workspace`] found and wrote.
#[derive(Debug)]
pub struct Prepared {
    /// The plan.
    pub plan: Plan,
    /// The expansion workspace.
    pub workspace: PathBuf,
    /// Components already in the cache.
    pub cached: usize,
    /// Tasks written to `matterstack.toml` (components to compute), largest cost first.
    pub tasks: Vec<String>,
    /// Unfinished runs continued before looking at the cache.
    pub resumed: Vec<String>,
}

/// The default workspace of an input: `./mbe-<stem>/`.
pub fn default_workspace(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".into());
    PathBuf::from(format!("mbe-{stem}"))
}

/// Checks everything about a run request that can be checked without writing: the input, the
/// programs, `--workers`, the cluster profile.
pub fn check_request(input: &Path, opts: &RunOptions) -> Result<Plan> {
    let plan = plan_file(input)?;
    if opts.cluster.is_some() {
        // the components run on the cluster, with its programs: check what can be checked here
        check_inputs(&plan)?;
    } else {
        check_runnable(&plan)?;
    }
    if opts.workers == Some(0) {
        return Err(Error::Input(
            "--workers 0: give at least 1 (components run at once)".into(),
        ));
    }
    if let Some(name) = &opts.cluster {
        let ws = opts
            .workspace
            .clone()
            .unwrap_or_else(|| default_workspace(input));
        let all = super::clusters::load(ws.is_dir().then_some(ws.as_path()))?;
        if !all.contains_key(name) {
            return Err(Error::Input(format!(
                "--cluster {name}: no such cluster profile (known: {}); add it with `matterstack cluster add {name} --host …` or in the workspace's clusters.toml",
                if all.is_empty() { "none".to_string() } else { all.keys().cloned().collect::<Vec<_>>().join(", ") }
            )));
        }
    }
    Ok(plan)
}

/// Runs a many-body expansion end to end: continue unfinished runs of the workspace, take
/// finished results into the cache, write and run one task per component still missing
/// (`progress` sees each tick), collect, assemble.
///
/// Fails with [`Error::Input`] (nothing written) on bad input; a failed component is reported in
/// [`RunOutcome::failed`], not as an error.
pub fn run(
    input: &Path,
    opts: &RunOptions,
    mut progress: impl FnMut(&Progress),
) -> Result<RunOutcome> {
    let prepared = prepare_workspace(input, opts, &mut progress)?;
    let Prepared {
        plan,
        workspace,
        cached,
        tasks,
        resumed,
    } = prepared;
    let mut run_dir = None;
    if !tasks.is_empty() {
        let id = next_run_id(&workspace)?;
        let dir = init(
            &workspace,
            &InitOptions {
                run_id: Some(id.clone()),
            },
        )?;
        step_to_end(&dir, opts.poll, tasks.len(), &mut progress)?;
        harvest(&workspace, &dir)?;
        run_dir = Some(dir);
    }
    let cache = Cache::new(&workspace);
    let mut results = BTreeMap::new();
    let mut missing = Vec::new();
    for c in &plan.components {
        match cache.get(c)? {
            Some(r) => {
                results.insert(c.label.clone(), r);
            }
            None => missing.push(c),
        }
    }
    let failed = if missing.is_empty() {
        Vec::new()
    } else {
        describe_failures(&workspace, run_dir.as_deref(), &missing)?
    };
    let outcome = if failed.is_empty() {
        Some(analyze(&plan, &results)?)
    } else {
        None
    };
    Ok(RunOutcome {
        computed: if failed.is_empty() { tasks.len() } else { 0 },
        plan,
        workspace,
        cached,
        resumed,
        run_dir,
        failed,
        outcome,
    })
}

/// The first half of [`run`]: check the request, continue unfinished runs of the workspace,
/// harvest finished results into the cache, and write `matterstack.toml` and `inputs/` for the
/// components still missing (none written when everything is cached).
pub fn prepare_workspace(
    input: &Path,
    opts: &RunOptions,
    progress: &mut impl FnMut(&Progress),
) -> Result<Prepared> {
    let plan = check_request(input, opts)?;
    let workspace = opts
        .workspace
        .clone()
        .unwrap_or_else(|| default_workspace(input));
    if workspace.exists() && !workspace.is_dir() {
        return Err(Error::Input(format!(
            "--workspace {}: exists and is not a directory; give a directory",
            workspace.display()
        )));
    }
    fs::create_dir_all(&workspace).map_err(|e| Error::io("create", &workspace, e))?;
    let workspace = workspace
        .canonicalize()
        .map_err(|e| Error::io("resolve", &workspace, e))?;

    // 1. continue unfinished runs (a killed `mbe run`), 2. take every finished result in.
    let mut resumed = Vec::new();
    for dir in run_dirs(&workspace)? {
        let mut r = Run::open(&dir)?;
        let view = r.view()?;
        if view.status == crate::engine::RunState::Running {
            drop(r);
            let unfinished = view
                .tasks
                .iter()
                .filter(|t| {
                    !matches!(
                        t.status.as_str(),
                        "COMPLETED" | "FAILED" | "CANCELLED" | "SKIPPED"
                    )
                })
                .count();
            step_to_end(&dir, opts.poll, unfinished, progress)?;
            resumed.push(view.run.clone());
        }
        harvest(&workspace, &dir)?;
    }

    let cache = Cache::new(&workspace);
    let mut todo = Vec::new();
    let mut cached = 0usize;
    let mut seen = BTreeSet::new();
    for c in &plan.components {
        if cache.get(c)?.is_some() {
            cached += 1;
            continue;
        }
        let p = prepare(c)?;
        // two labels with the same input (e.g. identical model chemistries) run once
        if seen.insert(p.hash.clone()) {
            todo.push((c, p));
        }
    }
    let mut tasks = Vec::new();
    if !todo.is_empty() {
        let inputs_dir = workspace.join("inputs");
        let mut specs = Vec::with_capacity(todo.len());
        for (_, p) in &todo {
            let dir = inputs_dir.join(&p.task_id);
            fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
            let mut inputs = Vec::new();
            for (name, text) in &p.files {
                crate::atomic::write(&dir.join(name), text)?;
                inputs.push(format!("inputs/{}/{name}", p.task_id));
            }
            let mut t = format!(
                "[[tasks]]\nid = {}\ncommand = {}\ncores = 1\nretries = {}\nenv = {{ OMP_NUM_THREADS = \"1\", MKL_NUM_THREADS = \"1\" }}\ninputs = [{}]\n",
                toml_str(&p.task_id),
                toml_str(&p.command),
                opts.retries,
                inputs.iter().map(|i| toml_str(i)).collect::<Vec<_>>().join(", ")
            );
            if let Some(cluster) = &opts.cluster {
                t.push_str(&format!(
                    "operator = \"slurm\"\ncluster = {}\n",
                    toml_str(cluster)
                ));
            }
            specs.push(t);
            tasks.push(p.task_id.clone());
        }
        let mut text = format!(
            "# Written by `matterstack mbe run`: one task per component calculation, no\n\
             # dependencies between them (no barrier between n-body levels), largest first.\n\
             [run]\ndescription = {}\n",
            toml_str(&format!(
                "many-body expansion of {}: {} of {} components to compute",
                input.display(),
                specs.len(),
                plan.components.len()
            ))
        );
        let workers = opts
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
        text.push_str(&format!("cores = {workers}\n"));
        for t in &specs {
            text.push('\n');
            text.push_str(t);
        }
        crate::atomic::write(&workspace.join(WORKSPACE_FILE), &text)?;
    }
    Ok(Prepared {
        plan,
        workspace,
        cached,
        tasks,
        resumed,
    })
}

fn step_to_end(
    dir: &Path,
    poll: Duration,
    tasks: usize,
    progress: &mut impl FnMut(&Progress),
) -> Result<()> {
    let mut r = Run::open(dir)?;
    let mut p = Progress {
        run: dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        tasks,
        ..Progress::default()
    };
    progress(&p);
    r.run_until_done(poll, |t| {
        p.finished += t.finished;
        p.launched += t.launched;
        progress(&p);
    })?;
    Ok(())
}

/// Run directories of a workspace, oldest first.
fn run_dirs(workspace: &Path) -> Result<Vec<PathBuf>> {
    let runs = workspace.join("runs");
    let Ok(rd) = fs::read_dir(&runs) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io("read", &runs, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.starts_with('.') && e.path().join(super::STATE_FILE).is_file() {
            out.push(e.path());
        }
    }
    out.sort();
    Ok(out)
}

fn next_run_id(workspace: &Path) -> Result<String> {
    let mut n = run_dirs(workspace)?.len() + 1;
    loop {
        let id = format!("mbe-{n:03}");
        if !workspace.join("runs").join(&id).exists() {
            return Ok(id);
        }
        n += 1;
    }
}

/// Takes the results of a run's completed tasks into the cache. Returns how many were added.
pub fn harvest(workspace: &Path, run_dir: &Path) -> Result<usize> {
    let cache = Cache::new(workspace);
    let mut r = Run::open(run_dir)?;
    let view = r.view()?;
    let mut added = 0;
    for t in view
        .tasks
        .iter()
        .filter(|t| t.status == TaskState::Completed)
    {
        let dir = run_dir.join("tasks").join(&t.id);
        let Ok(meta) = fs::read_to_string(dir.join(COMPONENT_FILE)) else {
            continue;
        };
        let Some(hash) = serde_json::from_str::<Value>(&meta)
            .ok()
            .and_then(|m| m["hash"].as_str().map(str::to_string))
        else {
            continue;
        };
        if cache.path(&hash).is_file() {
            continue;
        }
        if let Ok((hash, entry)) = read_task_result(&dir) {
            cache.put(&hash, &entry)?;
            added += 1;
        }
    }
    Ok(added)
}

fn describe_failures(
    workspace: &Path,
    run_dir: Option<&Path>,
    missing: &[&Component],
) -> Result<Vec<FailedComponent>> {
    let view = match run_dir {
        Some(d) => Some(Run::open(d)?.view()?),
        None => None,
    };
    let mut out = Vec::new();
    for c in missing {
        let p = prepare(c)?;
        let dir = run_dir
            .map(|d| d.join("tasks").join(&p.task_id))
            .unwrap_or_else(|| workspace.join("inputs").join(&p.task_id));
        let task = view
            .as_ref()
            .and_then(|v| v.tasks.iter().find(|t| t.id == p.task_id));
        let reason = match task {
            Some(t) if t.status == TaskState::Completed => match read_task_result(&dir) {
                Err(e) => format!("completed, but its result cannot be read: {e}"),
                Ok(_) => "completed, but its result was not stored".to_string(),
            },
            Some(t) => {
                let mut s = format!("{} after {} attempt(s)", t.status, t.attempts);
                if let Some(code) = t.exit_code {
                    s.push_str(&format!(", exit code {code}"));
                }
                if let Some(r) = &t.reason {
                    s.push_str(&format!(": {r}"));
                }
                if let Some(last) = last_stderr_line(&dir, t.attempts) {
                    s.push_str(&format!("; stderr: {last}"));
                }
                s
            }
            None => "not run".to_string(),
        };
        out.push(FailedComponent {
            label: c.label.clone(),
            task: p.task_id,
            reason,
            dir,
        });
    }
    Ok(out)
}

fn last_stderr_line(dir: &Path, attempt: u32) -> Option<String> {
    let text = fs::read_to_string(
        dir.join(".attempts")
            .join(attempt.to_string())
            .join("stderr"),
    )
    .ok()?;
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().chars().take(300).collect())
}

// ------------------------------------------------------------------ small helpers

fn read_text(path: &Path, what: &str) -> Result<String> {
    fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Input(format!(
            "{}: no such file ({what}); check the path",
            path.display()
        )),
        std::io::ErrorKind::InvalidData => {
            Error::Input(format!("{}: not UTF-8 text ({what})", path.display()))
        }
        _ => Error::io("read", path, e),
    })
}

/// A TOML basic string (quoted and escaped).
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(toml: &str) -> Plan {
        matterstack_mbe::plan(&ManyBodyInput::from_toml(toml).unwrap()).unwrap()
    }

    const HE2: &str = r#"
method = "hf"
basis = "sto-3g"
program = "psi4"
bsse_type = ["nocp", "cp"]
xyz = """
He 0 0 0
--
He 0 0 3
"""
"#;

    #[test]
    fn hashes_depend_on_the_input_not_the_label_and_keys_are_canonical() {
        let p = plan_of(HE2);
        let hashes: BTreeSet<String> = p
            .components
            .iter()
            .map(|c| component_hash(c).unwrap())
            .collect();
        assert_eq!(hashes.len(), p.components.len());
        let a = json!({"b": 1, "a": [1.5, {"z": null, "y": "x"}]});
        let mut s = String::new();
        canonical(&a, &mut s);
        assert_eq!(s, r#"{"a":[1.5,{"y":"x","z":null}],"b":1}"#);
        // another basis changes every key
        let q = plan_of(&HE2.replace("sto-3g", "6-31g"));
        for c in &q.components {
            assert!(!hashes.contains(&component_hash(c).unwrap()));
        }
    }

    #[test]
    fn psi4_tasks_default_to_scf_type_pk_and_xtb_refuses_what_it_cannot_do() {
        let p = plan_of(HE2);
        let t = prepare(&p.components[0]).unwrap();
        let input = &t.files.iter().find(|f| f.0 == "input.json").unwrap().1;
        assert!(input.contains("\"scf_type\": \"pk\""), "{input}");
        let x = plan_of(
            &HE2.replace("psi4", "xtb")
                .replace("hf", "gfn2")
                .replace("basis = \"sto-3g\"\n", "")
                .replace("[\"nocp\", \"cp\"]", "\"nocp\""),
        );
        let t = prepare(&x.components[0]).unwrap();
        assert!(
            t.command.contains("--gfn 2 --chrg 0 --uhf 0"),
            "{}",
            t.command
        );
        let mut c = x.components[0].clone();
        c.keywords.insert("bogus".into(), json!(1));
        let e = prepare(&c).unwrap_err().to_string();
        assert!(e.contains("bogus") && e.contains("accuracy"), "{e}");
        let mut c = x.components[0].clone();
        c.program = "gaussian".into();
        let e = prepare(&c).unwrap_err().to_string();
        assert!(e.contains("gaussian") && e.contains("psi4, xtb"), "{e}");
    }

    #[test]
    fn nwchem_decks_have_bq_ghosts_with_basis_functions_and_refuse_what_they_cannot_do() {
        let p = plan_of(&HE2.replace("psi4", "nwchem"));
        let ghosted = p.components.iter().find(|c| !c.ghost.is_empty()).unwrap();
        let t = prepare(ghosted).unwrap();
        let deck = &t.files.iter().find(|f| f.0 == "input.nw").unwrap().1;
        assert!(
            deck.contains("\n  He 0.0 0.0 0.0\n") || deck.contains("\n  bqHe 0.0 0.0 0.0\n"),
            "{deck}"
        );
        assert!(deck.contains("  bqHe library He sto-3g\n"), "{deck}");
        assert!(deck.contains("  He library He sto-3g\n"), "{deck}");
        assert!(
            deck.contains("task_energy('scf')") && deck.contains("task python"),
            "{deck}"
        );
        assert!(t.command.contains("nwchem input.nw"), "{}", t.command);
        let mut c = ghosted.clone();
        c.driver = Driver::Gradient;
        let deck = nwchem::deck(&c).unwrap();
        assert!(deck.contains("task_gradient('scf')"), "{deck}");
        c.driver = Driver::Hessian;
        let e = prepare(&c).unwrap_err().to_string();
        assert!(e.contains("hessian") && e.contains("nwchem"), "{e}");
        let mut c = ghosted.clone();
        c.keywords.insert("scf_type".into(), json!("pk"));
        let e = prepare(&c).unwrap_err().to_string();
        assert!(
            e.contains("scf_type") && e.contains("no program keywords"),
            "{e}"
        );
        let mut c = ghosted.clone();
        c.method = "ccsd(t)".into();
        let e = prepare(&c).unwrap_err().to_string();
        assert!(e.contains("ccsd(t)") && e.contains("model.method"), "{e}");
        let mut c = ghosted.clone();
        c.basis_set = None;
        let e = prepare(&c).unwrap_err().to_string();
        assert!(e.contains("model.basis"), "{e}");
    }

    #[test]
    fn task_ids_are_valid_and_distinct() {
        let p = plan_of(HE2);
        let ids: BTreeSet<String> = p
            .components
            .iter()
            .map(|c| prepare(c).unwrap().task_id)
            .collect();
        assert_eq!(ids.len(), p.components.len());
        for id in &ids {
            crate::model::ids::check_id("task", id).unwrap();
        }
    }

    #[test]
    fn xtb_gradient_files_are_read_at_full_precision() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("mol.engrad"),
            "#\n# Number of atoms\n#\n 2\n#\n# energy\n#\n -5.123456789012\n#\n# grad\n 0.1\n",
        )
        .unwrap();
        fs::write(
            dir.path().join("gradient"),
            "$grad\n  cycle = 1 SCF energy = -5.1 |dE/dxyz| = 0.1\n 0 0 0 he\n 0 0 3 he\n  1.0D-03 0.0E+00 -2.5E-05\n -1.0E-03 0.0E+00 2.5E-05\n$end\n",
        )
        .unwrap();
        let r = read_xtb(dir.path(), "gradient", 2).unwrap();
        assert_eq!(r.energy, -5.123456789012);
        assert_eq!(
            r.gradient.unwrap(),
            vec![1e-3, 0.0, -2.5e-5, -1e-3, 0.0, 2.5e-5]
        );
    }
}
