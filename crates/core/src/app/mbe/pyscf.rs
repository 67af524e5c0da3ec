//! PySCF components: a small Python driver (`pyscf_driver.py`, shipped inside the binary) is
//! written into each task directory with the component as `input.json` (coordinates in bohr,
//! ghost flags, charge, multiplicity, method, basis) and writes `result.json`
//! (`{"energy", "gradient"?, "hessian"?}`) at full precision. Ghost atoms are PySCF `GHOST-O`
//! atoms: the element's basis functions, no nucleus, no electrons, so cp and vmfc work.
//!
//! The driver runs under `$MATTERSTACK_PYSCF_PYTHON`, else `python3`, resolved where the task
//! runs (on a cluster, export it in the profile's `setup` lines). Before a local run,
//! [`probe_plan`] asks that python whether it can import pyscf and knows every basis set and
//! functional of the plan, so a missing pyscf or a misspelt basis is refused before anything is
//! written.
//!
//! Conventions follow psi4 so energies agree at the same level: no symmetry, no reorientation,
//! all-electron MP2 (psi4 with `mp2_type conv`), `conv_tol` 1e-12, and cartesian d functions
//! exactly for the basis sets psi4 treats as cartesian (3-21G, the 6-31G family, DZ, DZP,
//! LANL2DZ); every other basis is spherical. The `cart` keyword overrides.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use matterstack_mbe::{Component, Driver, Plan};
use serde_json::{json, Map, Value};

use crate::{Error, Result};

/// The driver script, written into every PySCF task directory.
pub(super) const DRIVER: &str = include_str!("pyscf_driver.py");

/// The driver's file name in the task directory.
pub(super) const DRIVER_FILE: &str = "pyscf_driver.py";

/// The environment variable naming the python that has pyscf (default `python3`).
pub(super) const PYTHON_ENV: &str = crate::env_vars::MATTERSTACK_PYSCF_PYTHON;

/// The shell command of a PySCF component (run in the task directory).
pub(super) const COMMAND: &str = "rm -f result.json result.json.tmp && \
     \"${MATTERSTACK_PYSCF_PYTHON:-python3}\" pyscf_driver.py input.json > pyscf.log 2>&1 && \
     test -s result.json || \
     { tail -n 30 pyscf.log >&2; echo \"pyscf failed ($(tail -n 1 pyscf.log)): see $PWD/pyscf.log\" >&2; exit 1; }";

/// How long [`probe`] waits for python to import pyscf and check the plan.
const PROBE_TIMEOUT: Duration = Duration::from_secs(60);

/// The method of a component: `("hf" | "mp2" | "dft", functional)`.
fn method(c: &Component) -> Result<(&'static str, Option<String>)> {
    let m = c.method.trim().to_ascii_lowercase();
    Ok(match m.as_str() {
        "hf" | "scf" => ("hf", None),
        "mp2" => ("mp2", None),
        xc if !xc.is_empty()
            && xc
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || "-+_,.*()".contains(ch)) =>
        {
            ("dft", Some(xc.to_string()))
        }
        _ => {
            return Err(Error::Input(format!(
                "invalid value for `specification.specification.{}.model.method`: {:?}; with pyscf `mbe run` takes \"hf\", \"mp2\" or a DFT functional pyscf knows (e.g. \"b3lyp\", \"pbe0\", \"pbe\")",
                c.model, c.method
            )))
        }
    })
}

/// Whether psi4 uses cartesian d functions for `basis` (its basis library's `cartesian` files).
fn psi4_cartesian(basis: &str) -> bool {
    let b: String = basis
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    ["6-31g", "6-31+g", "6-31++g"]
        .iter()
        .any(|p| b.starts_with(p))
        || ["3-21g", "dz", "dzp", "lanl2dz"].contains(&b.as_str())
}

/// The driver's `input.json` for a component.
///
/// Fails with [`Error::Input`] for a hessian with a method other than hf, a missing basis, an
/// unknown keyword or a bad keyword value (taken: `conv_tol` > 0, `max_cycle` ≥ 1, `reference`
/// "rhf"/"uhf", `cart` true/false), reference "rhf" with an open shell, a non-integer charge,
/// or a symbol that is no element.
pub(super) fn input(c: &Component) -> Result<String> {
    let field = |f: &str| format!("specification.specification.{}.{f}", c.model);
    let (kind, xc) = method(c)?;
    if c.driver == Driver::Hessian && kind != "hf" {
        return Err(Error::Input(format!(
            "invalid value for `specification.driver`: \"hessian\" with pyscf method {:?} (model chemistry {:?}); `mbe run` takes pyscf hessians for method \"hf\" only: use driver \"energy\" or \"gradient\", or method \"hf\"",
            c.method, c.model
        )));
    }
    let basis = super::required_basis(c, "pyscf")?;
    let charge = super::integer_charge(c, "pyscf")?;
    let mult = c.molecular_multiplicity.max(1);
    let mut conv_tol = 1e-12;
    let mut max_cycle = 200u64;
    let mut reference = if mult > 1 { "uhf" } else { "rhf" };
    let mut cart = psi4_cartesian(basis);
    for (k, v) in &c.keywords {
        let bad = |rule: &str| {
            Error::Input(format!(
                "invalid keyword `{}`: {k} = {v}; {rule}",
                field("keywords")
            ))
        };
        match k.to_ascii_lowercase().as_str() {
            "conv_tol" => match v.as_f64() {
                Some(x) if x > 0.0 && x < 1.0 => conv_tol = x,
                _ => return Err(bad("conv_tol is the SCF energy threshold in Eh, 0 < conv_tol < 1 (default 1e-12)")),
            },
            "max_cycle" => match v.as_u64() {
                Some(n) if n >= 1 => max_cycle = n,
                _ => return Err(bad("max_cycle is an integer ≥ 1 (default 200)")),
            },
            "reference" => match v.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("rhf") => reference = "rhf",
                Some("uhf") => reference = "uhf",
                _ => return Err(bad("reference is \"rhf\" or \"uhf\"")),
            },
            "cart" => match v.as_bool() {
                Some(b) => cart = b,
                _ => return Err(bad("cart is true (cartesian d functions) or false (spherical)")),
            },
            _ => {
                return Err(bad(
                    "pyscf keywords here are conv_tol, max_cycle, reference (\"rhf\"/\"uhf\") and cart (true/false); remove it",
                ))
            }
        }
    }
    if reference == "rhf" && mult > 1 {
        return Err(Error::Input(format!(
            "invalid keyword `{}`: reference = \"rhf\" but component {} has multiplicity {mult}; use reference \"uhf\" (the default for open shells)",
            field("keywords"),
            c.label
        )));
    }
    let mut symbols = Vec::with_capacity(c.symbols.len());
    for sym in &c.symbols {
        symbols.push(
            matterstack_mbe::elements::canonical_symbol(sym).ok_or_else(|| {
                Error::Input(format!(
                    "invalid value for `molecule.symbols`: {sym:?}; give element symbols"
                ))
            })?,
        );
    }
    let doc = json!({
        "schema": "matterstack-pyscf-component-v1",
        "label": c.label,
        "units": "bohr",
        "symbols": symbols,
        "geometry": c.geometry,
        "real": c.real_atoms,
        "charge": charge,
        "multiplicity": mult,
        "method": kind,
        "xc": xc,
        "basis": basis,
        "cart": cart,
        "reference": reference,
        "driver": c.driver.as_str(),
        "conv_tol": conv_tol,
        "max_cycle": max_cycle,
    });
    Ok(serde_json::to_string_pretty(&doc).expect("JSON serializes") + "\n")
}

/// The python that runs the driver here: `$MATTERSTACK_PYSCF_PYTHON`, else `python3`.
pub(super) fn python() -> (String, bool) {
    match std::env::var(PYTHON_ENV) {
        Ok(p) if !p.trim().is_empty() => (p, true),
        _ => ("python3".to_string(), false),
    }
}

/// Checks, with the python of [`python`], that pyscf imports and knows the basis sets and
/// functionals of every pyscf model chemistry of `plan`. Spawns nothing when the plan has no
/// pyscf component.
///
/// Fails like [`probe`].
pub(super) fn probe_plan(plan: &Plan) -> Result<()> {
    let mut models: BTreeMap<&str, (Option<String>, String, BTreeSet<&'static str>)> =
        BTreeMap::new();
    for c in &plan.components {
        if !c.program.trim().eq_ignore_ascii_case("pyscf") {
            continue;
        }
        let entry = match models.get_mut(c.model.as_str()) {
            Some(e) => e,
            None => {
                let (_, xc) = method(c)?;
                let basis = c.basis_set.as_deref().unwrap_or("").trim().to_string();
                models
                    .entry(c.model.as_str())
                    .or_insert((xc, basis, BTreeSet::new()))
            }
        };
        for s in &c.symbols {
            if let Some(el) = matterstack_mbe::elements::canonical_symbol(s) {
                entry.2.insert(el);
            }
        }
    }
    if models.is_empty() {
        return Ok(());
    }
    let checks: Vec<Value> = models
        .iter()
        .map(|(model, (xc, basis, els))| {
            json!({"model": model, "xc": xc, "basis": basis, "elements": els})
        })
        .collect();
    let (py, from_env) = python();
    probe(&py, from_env, &Value::Array(checks))
}

/// Runs the driver's `--check` mode under `python` with `checks`
/// (`[{"model", "xc", "basis", "elements"}]`).
///
/// Fails with [`Error::Input`] when `python` cannot be started, cannot import pyscf, fails or
/// hangs (60 s), or when pyscf does not know a basis set (for an element of the plan) or a
/// functional; the message names the python, the model chemistry, the field and the fix.
pub(super) fn probe(python: &str, from_env: bool, checks: &Value) -> Result<()> {
    let which = if from_env {
        format!("{PYTHON_ENV}={python}")
    } else {
        format!("`{python}` ({PYTHON_ENV} is not set)")
    };
    let fix = format!(
        "install pyscf for it (`{python} -m pip install pyscf`) or set {PYTHON_ENV} to a python that has pyscf (e.g. a venv's bin/python)"
    );
    let mut child = match Command::new(python)
        .args(["-c", DRIVER, "--check"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Err(Error::Input(format!(
                "pyscf components run under {which}, which cannot be started ({e}); set {PYTHON_ENV} to the python of an environment with pyscf (`python3 -m venv DIR && DIR/bin/pip install pyscf`, then {PYTHON_ENV}=DIR/bin/python)"
            )))
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // a python that exits at once closes the pipe; its exit status tells why
        let _ = stdin.write_all(checks.to_string().as_bytes());
    }
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(PROBE_TIMEOUT) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(Error::Input(format!(
                "pyscf components run under {which}, which could not be run ({e}); {fix}"
            )))
        }
        Err(_) => {
            // SAFETY: kill(2) on the child we started (its pid is not reaped until the waiting
            // thread collects it).
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
            return Err(Error::Input(format!(
                "pyscf components run under {which}, which did not answer within {} s when asked to import pyscf; check that python, or {fix}",
                PROBE_TIMEOUT.as_secs()
            )));
        }
    };
    let report: Option<Map<String, Value>> = serde_json::from_slice(&out.stdout).ok();
    let Some(report) = report.filter(|_| out.status.success()) else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no error output");
        return Err(Error::Input(format!(
            "pyscf components run under {which}, which failed when asked to import pyscf ({}; {last}); {fix}",
            out.status
        )));
    };
    if let Some(e) = report.get("import_error").and_then(Value::as_str) {
        return Err(Error::Input(format!(
            "pyscf components run under {which}, which cannot import pyscf ({e}); {fix}"
        )));
    }
    let problems: Vec<String> = report
        .get("problems")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or("").to_string();
            let what = if s("field") == "basis" {
                format!(
                    "(pyscf has no such basis set for {}); give a basis set name pyscf knows, e.g. \"sto-3g\", \"6-31g*\" or \"cc-pvdz\"",
                    s("element")
                )
            } else {
                "(not a functional pyscf knows); with pyscf `mbe run` takes \"hf\", \"mp2\" or a DFT functional pyscf knows, e.g. \"b3lyp\", \"pbe0\" or \"pbe\"".to_string()
            };
            format!(
                "invalid value for `specification.specification.{}.model.{}`: {:?} {what}",
                s("model"),
                s("field"),
                s("value"),
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Input(problems.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matterstack_mbe::ManyBodyInput;
    use std::fs;

    const HE2: &str = r#"
method = "hf"
basis = "sto-3g"
program = "pyscf"
bsse_type = ["nocp", "cp"]
xyz = """
He 0 0 0
--
He 0 0 3
"""
"#;

    fn ghosted(toml: &str) -> Component {
        let plan = matterstack_mbe::plan(&ManyBodyInput::from_toml(toml).unwrap()).unwrap();
        plan.components
            .into_iter()
            .find(|c| !c.ghost.is_empty())
            .unwrap()
    }

    fn input_of(c: &Component) -> Value {
        serde_json::from_str(&input(c).unwrap()).unwrap()
    }

    #[test]
    fn the_input_has_bohr_coordinates_ghost_flags_and_psi4s_conventions() {
        let c = ghosted(HE2);
        let t = super::super::prepare(&c).unwrap();
        let names: Vec<&str> = t.files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(names, ["component.json", "input.json", "pyscf_driver.py"]);
        assert_eq!(t.files[2].1, DRIVER);
        assert!(
            t.command
                .contains("\"${MATTERSTACK_PYSCF_PYTHON:-python3}\" pyscf_driver.py input.json"),
            "{}",
            t.command
        );
        let v = input_of(&c);
        assert_eq!(v["units"], "bohr");
        assert_eq!(v["symbols"], json!(["He", "He"]));
        assert_eq!(v["real"], json!(c.real_atoms));
        assert_eq!(
            v["real"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| **r == json!(false))
                .count(),
            1
        );
        // 3 Å in bohr, at full precision, exactly the component's geometry
        let z = v["geometry"][5].as_f64().unwrap();
        assert_eq!(z, c.geometry[5]);
        assert!((z - 3.0 / 0.529_177_210_903).abs() < 1e-6, "{z}");
        assert_eq!(
            (v["method"].clone(), v["xc"].clone(), v["basis"].clone()),
            (json!("hf"), Value::Null, json!("sto-3g"))
        );
        assert_eq!(
            (v["charge"].clone(), v["multiplicity"].clone()),
            (json!(0), json!(1))
        );
        assert_eq!(
            (v["reference"].clone(), v["cart"].clone()),
            (json!("rhf"), json!(false))
        );
        assert_eq!(
            (v["conv_tol"].clone(), v["driver"].clone()),
            (json!(1e-12), json!("energy"))
        );

        // DFT names the functional; keywords override the defaults
        let mut d = c.clone();
        d.method = "B3LYP".into();
        d.keywords.insert("conv_tol".into(), json!(1e-10));
        d.keywords.insert("MAX_CYCLE".into(), json!(50));
        d.keywords.insert("reference".into(), json!("UHF"));
        let v = input_of(&d);
        assert_eq!(
            (v["method"].clone(), v["xc"].clone()),
            (json!("dft"), json!("b3lyp"))
        );
        assert_eq!(
            (
                v["conv_tol"].clone(),
                v["max_cycle"].clone(),
                v["reference"].clone()
            ),
            (json!(1e-10), json!(50), json!("uhf"))
        );
        // open shells default to uhf
        let mut o = c.clone();
        o.molecular_multiplicity = 3;
        assert_eq!(input_of(&o)["reference"], "uhf");
        // a different input is a different cache key
        assert_ne!(
            super::super::component_hash(&c).unwrap(),
            super::super::component_hash(&d).unwrap()
        );
    }

    #[test]
    fn cartesian_d_functions_exactly_where_psi4_uses_them() {
        for (basis, cart) in [
            ("sto-3g", false),
            ("6-31G*", true),
            ("6-31+G(d,p)", true),
            ("6-31++g**", true),
            ("3-21g", true),
            ("6-311g**", false),
            ("cc-pvdz", false),
            ("def2-svp", false),
        ] {
            assert_eq!(psi4_cartesian(basis), cart, "{basis}");
            let mut c = ghosted(HE2);
            c.basis_set = Some(basis.into());
            assert_eq!(input_of(&c)["cart"], json!(cart), "{basis}");
        }
        let mut c = ghosted(&HE2.replace("sto-3g", "6-31g*"));
        c.keywords.insert("cart".into(), json!(false));
        assert_eq!(input_of(&c)["cart"], json!(false));
    }

    #[test]
    fn inputs_pyscf_cannot_take_are_refused_naming_field_value_and_fix() {
        let c = ghosted(HE2);
        let err = |c: &Component| input(c).unwrap_err().to_string();
        let mut h = c.clone();
        h.driver = Driver::Hessian;
        assert!(input(&h).is_ok(), "hf hessians are computed");
        for m in ["mp2", "b3lyp"] {
            h.method = m.into();
            let e = err(&h);
            assert!(
                e.contains("hessian") && e.contains(m) && e.contains("\"hf\" only"),
                "{e}"
            );
        }
        let mut b = c.clone();
        b.basis_set = None;
        let e = err(&b);
        assert!(
            e.contains("(auto).model.basis") && e.contains("sto-3g"),
            "{e}"
        );
        let mut m = c.clone();
        m.method = "hf; rm -rf".into();
        let e = err(&m);
        assert!(e.contains("model.method") && e.contains("\"mp2\""), "{e}");
        for (k, v, want) in [
            ("scf_type", json!("pk"), "conv_tol, max_cycle"),
            ("conv_tol", json!(0), "0 < conv_tol < 1"),
            ("max_cycle", json!(2.5), "integer ≥ 1"),
            ("reference", json!("rohf"), "\"rhf\" or \"uhf\""),
            ("cart", json!("yes"), "true"),
        ] {
            let mut k2 = c.clone();
            k2.keywords.insert(k.into(), v.clone());
            let e = err(&k2);
            assert!(
                e.contains("(auto).keywords") && e.contains(k) && e.contains(want),
                "{k}: {e}"
            );
        }
        let mut r = c.clone();
        r.molecular_multiplicity = 3;
        r.keywords.insert("reference".into(), json!("rhf"));
        let e = err(&r);
        assert!(e.contains("multiplicity 3") && e.contains("\"uhf\""), "{e}");
        let mut q = c.clone();
        q.molecular_charge = 0.5;
        assert!(err(&q).contains("non-integer charge 0.5"));
        let mut s = c.clone();
        s.symbols[0] = "Xx".into();
        assert!(err(&s).contains("\"Xx\""));
    }

    #[test]
    fn a_python_that_cannot_run_the_driver_is_refused_with_the_fix() {
        let checks =
            json!([{"model": "(auto)", "xc": null, "basis": "sto-3g", "elements": ["He"]}]);
        let e = probe("/nonexistent/python3", true, &checks)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("MATTERSTACK_PYSCF_PYTHON=/nonexistent/python3")
                && e.contains("cannot be started")
                && e.contains("pip install pyscf"),
            "{e}"
        );
        let e = probe("false", false, &checks).unwrap_err().to_string();
        assert!(
            e.contains("`false` (MATTERSTACK_PYSCF_PYTHON is not set)")
                && e.contains("failed when asked to import pyscf")
                && e.contains("set MATTERSTACK_PYSCF_PYTHON"),
            "{e}"
        );
        // a real python without site-packages cannot import pyscf
        let dir = tempfile::tempdir().unwrap();
        let py = dir.path().join("python-without-pyscf");
        fs::write(&py, "#!/bin/sh\nexec python3 -I -S \"$@\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&py, fs::Permissions::from_mode(0o755)).unwrap();
        let e = probe(py.to_str().unwrap(), true, &checks)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cannot import pyscf (ModuleNotFoundError")
                && e.contains("-m pip install pyscf`")
                && e.contains("set MATTERSTACK_PYSCF_PYTHON"),
            "{e}"
        );
    }

    #[test]
    fn results_are_read_at_full_precision_and_checked_for_size() {
        let dir = tempfile::tempdir().unwrap();
        let h: Vec<f64> = (0..36).map(|i| i as f64 * 0.1 + 1e-17).collect();
        fs::write(
            dir.path().join("result.json"),
            json!({"energy": -5.723_447_191_853_129_f64, "gradient": [0.1, 0.0, -2.5e-5, -0.1, 0.0, 2.5e-5], "hessian": h})
                .to_string(),
        )
        .unwrap();
        let r = super::super::read_result_json(dir.path(), "energy", 2).unwrap();
        assert_eq!(
            (r.energy, r.gradient, r.hessian),
            (-5.723447191853129, None, None)
        );
        let r = super::super::read_result_json(dir.path(), "gradient", 2).unwrap();
        assert_eq!(r.gradient.unwrap(), [0.1, 0.0, -2.5e-5, -0.1, 0.0, 2.5e-5]);
        assert_eq!(
            super::super::read_result_json(dir.path(), "hessian", 2)
                .unwrap()
                .hessian
                .unwrap(),
            h
        );
        let e = super::super::read_result_json(dir.path(), "gradient", 3).unwrap_err();
        assert!(e.contains("gradient has 6 numbers, expected 9"), "{e}");
        fs::remove_file(dir.path().join("result.json")).unwrap();
        assert!(super::super::read_result_json(dir.path(), "energy", 2)
            .unwrap_err()
            .contains("result.json"));
    }
}
