//! `matterstack mbe`: plan counts, exact assembly of QCManyBody's reference vectors, real
//! expansions through psi4, xtb, nwchem and pyscf compared with the programs' own answers
//! (nwchem and pyscf with psi4's at the same level), the cache, bad input.
//!
//! The psi4, xtb and nwchem tests need the programs on PATH (`apt-get install psi4 xtb nwchem`,
//! as scripts/testbed.sh does); the pyscf tests need the testbed's pyscf venv
//! (`MS_TESTBED_PYSCF_PYTHON` in the testbed env file). They fail with that message otherwise —
//! they are never skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::support::{s, Out};

/// The user's cache of component results, per test (each test has its own
/// directory): `<cwd>/xdg-cache/matterstack/mbe/`.
fn cache_of(cwd: &Path) -> PathBuf {
    cwd.join("xdg-cache")
}

/// `matterstack ARGS` in `cwd`, with a cache of its own.
fn ms_in(cwd: &Path, args: &[&str]) -> Out {
    crate::support::ms_env(cwd, args, &[("XDG_CACHE_HOME", &cache_of(cwd))])
}

// ------------------------------------------------------------------ helpers

/// QCManyBody's water trimer (bohr), as in its own tests.
const TRIMER: [f64; 27] = [
    -2.76373224,
    -1.24377706,
    -0.15444566,
    -1.12357791,
    -2.0622797,
    -0.05243799,
    -3.80792362,
    -2.08705525,
    1.06090407,
    2.46924614,
    -1.75437739,
    -0.17092884,
    3.7636826,
    -2.21425403,
    1.00846104,
    2.3059833,
    0.07098445,
    -0.03942473,
    0.2912793,
    3.00875625,
    0.20308515,
    -1.21253048,
    1.958209,
    0.10303324,
    0.10002049,
    4.24958115,
    -1.10222079,
];

/// A fourth water, hydrogen-bonded below the trimer (bohr).
const FOURTH: [f64; 9] = [0.2, -4.9, 0.8, 0.1, -3.2, 0.2, -0.9, -5.9, -0.2];

fn waters(n: usize) -> (Vec<&'static str>, Vec<f64>, Vec<Vec<usize>>) {
    let mut geom: Vec<f64> = TRIMER.to_vec();
    if n == 4 {
        geom.extend_from_slice(&FOURTH);
    }
    geom.truncate(9 * n);
    let symbols = (0..n).flat_map(|_| ["O", "H", "H"]).collect();
    let frags = (0..n).map(|i| vec![3 * i, 3 * i + 1, 3 * i + 2]).collect();
    (symbols, geom, frags)
}

/// A ManyBodyInput in QCManyBody's own JSON shape.
#[allow(clippy::too_many_arguments)]
fn mbe_input(
    symbols: &[&str],
    geometry: &[f64],
    fragments: &[Vec<usize>],
    bsse: &[&str],
    max_nbody: Option<usize>,
    driver: &str,
    program: &str,
    model: Value,
    keywords: Value,
) -> Value {
    let nfr = fragments.len();
    json!({
        "schema_name": "qcschema_manybodyinput",
        "schema_version": 1,
        "specification": {
            "schema_name": "qcschema_manybodyspecification",
            "schema_version": 1,
            "keywords": {
                "schema_name": "qcschema_manybodykeywords",
                "schema_version": 1,
                "bsse_type": bsse,
                "embedding_charges": null,
                "return_total_data": true,
                "levels": null,
                "max_nbody": max_nbody,
                "supersystem_ie_only": false
            },
            "protocols": {},
            "driver": driver,
            "specification": {
                "(auto)": {
                    "keywords": keywords,
                    "program": program,
                    "schema_name": "qcschema_atomicspecification",
                    "schema_version": 1,
                    "driver": driver,
                    "model": model,
                    "protocols": {},
                    "extras": {}
                }
            },
            "extras": {}
        },
        "molecule": {
            "schema_name": "qcschema_molecule",
            "schema_version": 2,
            "symbols": symbols,
            "geometry": geometry,
            "molecular_charge": 0.0,
            "molecular_multiplicity": 1,
            "fragments": fragments,
            "fragment_charges": vec![0.0; nfr],
            "fragment_multiplicities": vec![1; nfr]
        },
        "extras": {}
    })
}

fn psi4_water_input(n: usize, bsse: &[&str], max_nbody: usize) -> Value {
    let (sym, geom, frags) = waters(n);
    mbe_input(
        &sym,
        &geom,
        &frags,
        bsse,
        Some(max_nbody),
        "energy",
        "psi4",
        json!({"method": "hf", "basis": "sto-3g"}),
        json!({"scf_type": "pk", "e_convergence": 1e-10, "d_convergence": 1e-10}),
    )
}

fn write_json(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn require(program: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{program} is not installed: `apt-get install -y psi4 xtb nwchem` (these tests run the real programs)"
    );
}

fn run_dirs(ws: &Path) -> usize {
    std::fs::read_dir(ws.join("runs"))
        .map(|rd| {
            rd.filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count()
        })
        .unwrap_or(0)
}

fn ok(out: &Out) {
    assert_eq!(out.code, 0, "{out:?}");
}

fn reference_cases() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mbe/tests/reference/cases_real_h2o_trimer.json");
    read_json(&p)
}

// ------------------------------------------------------------------ plan

#[test]
fn plan_counts_components_like_qcmanybody() {
    let dir = tempfile::tempdir().unwrap();
    let (sym, geom, frags) = waters(4);
    for (bsse, want) in [(vec!["nocp"], 15), (vec!["vmfc"], 65), (vec!["cp"], 19)] {
        let inp = mbe_input(
            &sym,
            &geom,
            &frags,
            &bsse,
            Some(4),
            "energy",
            "psi4",
            json!({"method": "hf", "basis": "sto-3g"}),
            json!({}),
        );
        let p = write_json(dir.path(), "four.json", &inp);
        let out = ms_in(dir.path(), &["mbe", "plan", s(&p), "--json"]);
        ok(&out);
        let doc = out.json();
        assert_eq!(doc["total"], want, "{bsse:?}: {}", out.stdout);
        assert_eq!(doc["components"].as_array().unwrap().len(), want);
        assert_eq!(doc["nfragments"], 4);
        // largest cost first
        let costs: Vec<f64> = doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["cost"].as_f64().unwrap())
            .collect();
        assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
        let table = ms_in(dir.path(), &["mbe", "plan", s(&p)]);
        ok(&table);
        assert!(
            table
                .stdout
                .starts_with(&format!("{want} components: 4 fragments")),
            "{}",
            table.stdout
        );
        assert!(table
            .stdout
            .contains("[\"(auto)\", [1, 2, 3, 4], [1, 2, 3, 4]]"));
    }
    // the short TOML form
    let toml = dir.path().join("he3.toml");
    std::fs::write(
        &toml,
        "method = \"hf\"\nbasis = \"sto-3g\"\nprogram = \"psi4\"\nbsse_type = [\"nocp\", \"cp\", \"vmfc\"]\nxyz = \"\"\"\nHe 0 0 0\n--\nHe 0 0 3\n--\nHe 0 3 0\n\"\"\"\n",
    )
    .unwrap();
    let out = ms_in(dir.path(), &["mbe", "plan", s(&toml), "--json"]);
    ok(&out);
    assert!(out.json()["total"].as_u64().unwrap() > 7);
}

// ------------------------------------------------------------------ analyze

#[test]
fn analyze_reproduces_qcmanybody_on_its_real_psi4_components() {
    let dir = tempfile::tempdir().unwrap();
    let cases = reference_cases();
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let input = dir.path().join(format!("{name}.json"));
        std::fs::write(&input, case["input_json"].as_str().unwrap()).unwrap();
        let driver = serde_json::from_str::<Value>(case["input_json"].as_str().unwrap()).unwrap()
            ["specification"]["driver"]
            .as_str()
            .unwrap()
            .to_string();
        let mut comps = serde_json::Map::new();
        for (label, c) in case["components"].as_object().unwrap() {
            let mut e = json!({"energy": c["energy"]});
            if driver == "gradient" {
                e["gradient"] = c["gradient"].clone();
            }
            comps.insert(label.clone(), e);
        }
        let cpath = write_json(
            dir.path(),
            &format!("{name}-components.json"),
            &Value::Object(comps),
        );
        let out_path = dir.path().join(format!("{name}-result.json"));
        let out = ms_in(
            dir.path(),
            &[
                "mbe",
                "analyze",
                s(&input),
                "--components",
                s(&cpath),
                "-o",
                s(&out_path),
            ],
        );
        ok(&out);
        assert!(
            out.stdout.contains("N-Body"),
            "summary table: {}",
            out.stdout
        );
        assert!(out_path.with_extension("svg").is_file());
        let got = read_json(&out_path);
        let exp = &case["expected"];
        let close = |a: &Value, b: &Value, tol: f64, what: &str| {
            let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
            assert!((a - b).abs() <= tol, "{name} {what}: {a} vs {b}");
        };
        close(&got["ret_energy"], &exp["ret_energy"], 1e-12, "ret_energy");
        for (k, v) in exp["energy_body_dict"].as_object().unwrap() {
            close(&got["energy_body_dict"][k], v, 1e-12, k);
        }
        for (k, v) in exp["results"].as_object().unwrap() {
            match v {
                Value::Array(a) => {
                    let g = got["results"][k]
                        .as_array()
                        .unwrap_or_else(|| panic!("{name} {k}"));
                    assert_eq!(g.len(), a.len(), "{name} {k}");
                    for (x, y) in g.iter().zip(a) {
                        close(x, y, 1e-10, k);
                    }
                }
                _ => close(&got["results"][k], v, 1e-12, k),
            }
        }
        if let Some(g) = exp.get("ret_gradient") {
            let got_g = got["ret_gradient"].as_array().unwrap();
            for (x, y) in got_g.iter().zip(g.as_array().unwrap()) {
                close(x, y, 1e-10, "ret_gradient");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 12);

    // without -o: the JSON on stdout, the table on stderr
    let case = &cases["cases"][1];
    let input = dir.path().join("stdout-case.json");
    std::fs::write(&input, case["input_json"].as_str().unwrap()).unwrap();
    let comps: serde_json::Map<String, Value> = case["components"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), json!({"energy": v["energy"]})))
        .collect();
    let cpath = write_json(dir.path(), "stdout-components.json", &Value::Object(comps));
    let out = ms_in(
        dir.path(),
        &["mbe", "analyze", s(&input), "--components", s(&cpath)],
    );
    ok(&out);
    let doc = out.json();
    assert_eq!(doc["schema_name"], "qcschema_manybodyresult");
    assert_eq!(doc["ret_energy"], case["expected"]["ret_energy"]);
    assert!(out.stderr.contains("kcal/mol"), "{}", out.stderr);
}

#[test]
fn analyze_with_missing_components_names_every_one_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cases = reference_cases();
    let case = &cases["cases"][1];
    let input = dir.path().join("in.json");
    std::fs::write(&input, case["input_json"].as_str().unwrap()).unwrap();
    let all: Vec<String> = case["components"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let dropped: Vec<&String> = all.iter().step_by(4).collect();
    let comps: serde_json::Map<String, Value> = case["components"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !dropped.contains(k))
        .map(|(k, v)| (k.clone(), json!({"energy": v["energy"]})))
        .collect();
    let cpath = write_json(dir.path(), "c.json", &Value::Object(comps));
    let res = dir.path().join("res.json");
    let out = ms_in(
        dir.path(),
        &[
            "mbe",
            "analyze",
            s(&input),
            "--components",
            s(&cpath),
            "-o",
            s(&res),
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("missing component results"),
        "{}",
        out.stderr
    );
    for d in &dropped {
        assert!(
            out.stderr.contains(d.as_str()),
            "{d} not named: {}",
            out.stderr
        );
    }
    assert!(!res.exists() && !res.with_extension("svg").exists());
    // a components file that is not JSON
    std::fs::write(dir.path().join("bad.json"), "{not json").unwrap();
    let out = ms_in(
        dir.path(),
        &["mbe", "analyze", s(&input), "--components", "bad.json"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("bad.json"), "{}", out.stderr);
}

// ------------------------------------------------------------------ bad input

#[test]
fn bad_inputs_exit_2_naming_the_problem_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (sym, geom, frags) = waters(3);
    let psi4 = |frags: &[Vec<usize>], bsse: &[&str], mx: Option<usize>| {
        mbe_input(
            &sym,
            &geom,
            frags,
            bsse,
            mx,
            "energy",
            "psi4",
            json!({"method": "hf", "basis": "sto-3g"}),
            json!({}),
        )
    };
    let overlapping = psi4(
        &[vec![0, 1, 2], vec![2, 3, 4, 5], vec![6, 7, 8]],
        &["nocp"],
        None,
    );
    let missing = psi4(&[vec![0, 1, 2], vec![3, 4, 5], vec![6, 7]], &["nocp"], None);
    let too_many = psi4(&frags, &["nocp"], Some(4));
    let unknown = psi4(&frags, &["nocp", "boys"], None);
    let xtb_cp = mbe_input(
        &sym,
        &geom,
        &frags,
        &["nocp", "cp"],
        None,
        "energy",
        "xtb",
        json!({"method": "gfn2"}),
        json!({}),
    );
    let gaussian = mbe_input(
        &sym,
        &geom,
        &frags,
        &["nocp"],
        None,
        "energy",
        "gaussian",
        json!({"method": "hf", "basis": "sto-3g"}),
        json!({}),
    );
    let cases: Vec<(&str, Value, Vec<&str>)> = vec![
        (
            "overlapping",
            overlapping,
            vec!["molecule.fragments", "atom index 2", "exactly one fragment"],
        ),
        (
            "missing",
            missing,
            vec!["molecule.fragments", "[8]", "in no fragment"],
        ),
        (
            "too_many",
            too_many,
            vec![
                "max_nbody",
                "4",
                "between 1 and the number of fragments (3)",
            ],
        ),
        (
            "unknown",
            unknown,
            vec!["bsse_type", "boys", "\"nocp\", \"cp\", \"vmfc\""],
        ),
        (
            "xtb_cp",
            xtb_cp,
            vec!["xtb", "no ghost atoms", "cp", "nocp"],
        ),
    ];
    for (name, inp, words) in &cases {
        let p = write_json(dir.path(), &format!("{name}.json"), inp);
        for args in [
            vec!["mbe", "plan", s(&p)],
            vec!["mbe", "run", s(&p), "--workers", "1"],
        ] {
            let out = ms_in(dir.path(), &args);
            assert_eq!(out.code, 2, "{name} {args:?}: {out:?}");
            for w in words {
                assert!(
                    out.stderr.contains(w),
                    "{name}: {w:?} not in {}",
                    out.stderr
                );
            }
            assert!(
                out.stderr.contains(&format!("{name}.json")),
                "{}",
                out.stderr
            );
        }
        assert!(
            !dir.path().join(format!("mbe-{name}")).exists(),
            "{name}: workspace written"
        );
    }
    // a program `mbe run` does not drive: planning works, running is refused before writing
    let p = write_json(dir.path(), "gaussian.json", &gaussian);
    ok(&ms_in(dir.path(), &["mbe", "plan", s(&p)]));
    let out = ms_in(dir.path(), &["mbe", "run", s(&p)]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("\"gaussian\"") && out.stderr.contains("psi4, xtb"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("mbe-gaussian").exists());
    // an input that is not there / not JSON
    let out = ms_in(dir.path(), &["mbe", "plan", "nope.json"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("nope.json") && out.stderr.contains("no such file"),
        "{}",
        out.stderr
    );
    std::fs::write(dir.path().join("garbage.json"), "[1, 2").unwrap();
    let out = ms_in(dir.path(), &["mbe", "run", "garbage.json"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(!dir.path().join("mbe-garbage").exists());
    // --workers 0 and an unknown cluster
    let p = write_json(dir.path(), "fine.json", &psi4(&frags, &["nocp"], None));
    let out = ms_in(dir.path(), &["mbe", "run", s(&p), "--workers", "0"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--workers 0"), "{}", out.stderr);
    let out = ms_in(
        dir.path(),
        &["mbe", "run", s(&p), "--cluster", "no-such-cluster"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no-such-cluster"), "{}", out.stderr);
    assert!(!dir.path().join("mbe-fine").exists());
}

// ------------------------------------------------------------------ real: psi4

/// psi4's own n-body driver on the same system: the `{n}{BSSE}` total energies and the
/// `{BSSE}-CORRECTED {n}-BODY INTERACTION ENERGY` variables it sets.
fn psi4_nbody(dir: &Path, n: usize, max_nbody: usize) -> BTreeMap<String, f64> {
    let (_, geom, _) = waters(n);
    let mut mol = String::new();
    for f in 0..n {
        if f > 0 {
            mol.push_str("--\n");
        }
        mol.push_str("0 1\n");
        for (a, sym) in ["O", "H", "H"].iter().enumerate() {
            let g = &geom[9 * f + 3 * a..9 * f + 3 * a + 3];
            mol.push_str(&format!("{sym} {:?} {:?} {:?}\n", g[0], g[1], g[2]));
        }
    }
    let text = format!(
        "molecule {{\n{mol}units bohr\nno_com\nno_reorient\n}}\n\
         set scf_type pk\nset basis sto-3g\nset e_convergence 1e-10\nset d_convergence 1e-10\n\
         energy('scf', bsse_type=['nocp', 'cp', 'vmfc'], max_nbody={max_nbody}, return_total_data=True)\n\
         import json\n\
         with open('psi4_nbody_vars.json', 'w') as fh:\n    json.dump({{k: float(v) for k, v in psi4.core.variables().items()}}, fh)\n"
    );
    let nb = dir.join("psi4-nbody");
    std::fs::create_dir_all(&nb).unwrap();
    std::fs::write(nb.join("nbody.in"), text).unwrap();
    let st = Command::new("psi4")
        .args(["-n", "1", "nbody.in", "nbody.out"])
        .current_dir(&nb)
        .status()
        .expect("run psi4");
    assert!(
        st.success(),
        "psi4's n-body driver failed; see {}",
        nb.display()
    );
    serde_json::from_str(&std::fs::read_to_string(nb.join("psi4_nbody_vars.json")).unwrap())
        .unwrap()
}

fn compare_with_psi4(result: &Value, psi4: &BTreeMap<String, f64>, max_nbody: usize) -> usize {
    let mut compared = 0;
    let mut worst = 0.0_f64;
    for bsse in ["nocp", "cp", "vmfc"] {
        let up = bsse.to_uppercase();
        for n in 1..=max_nbody {
            let ours = result["energy_body_dict"][format!("{n}{bsse}")]
                .as_f64()
                .unwrap_or_else(|| panic!("no {n}{bsse} in {}", result["energy_body_dict"]));
            let theirs = psi4[&format!("{n}{up}")];
            assert!(
                (ours - theirs).abs() < 1e-8,
                "{n}{bsse}: matterstack {ours} vs psi4 {theirs} (diff {:e})",
                ours - theirs
            );
            compared += 1;
            worst = worst.max((ours - theirs).abs());
            if n > 1 {
                let ours = result["results"]
                    [format!("{bsse}_corrected_interaction_energy_through_{n}_body")]
                .as_f64()
                .unwrap();
                let theirs = psi4[&format!("{up}-CORRECTED {n}-BODY INTERACTION ENERGY")];
                assert!(
                    (ours - theirs).abs() < 1e-8,
                    "{bsse} IE through {n}: {ours} vs {theirs}"
                );
                compared += 1;
                worst = worst.max((ours - theirs).abs());
            }
        }
    }
    eprintln!("matterstack vs psi4's n-body driver: {compared} values, max |diff| {worst:.2e} Eh");
    compared
}

#[test]
fn psi4_water_trimer_nocp_cp_vmfc_equals_psi4s_own_nbody_driver_and_reruns_from_the_cache() {
    require("psi4");
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");

    // 1. nocp through 2-body first: 6 components computed
    let small = write_json(
        dir.path(),
        "trimer-nocp.json",
        &psi4_water_input(3, &["nocp"], 2),
    );
    let out = ms_in(
        dir.path(),
        &[
            "mbe",
            "run",
            s(&small),
            "--workers",
            "2",
            "--workspace",
            s(&ws),
            "-o",
            "small.json",
        ],
    );
    ok(&out);
    assert!(
        out.stderr.contains("6 components: 0 cached, 6 to compute"),
        "{}",
        out.stderr
    );

    // 2. nocp+cp+vmfc through 3-body on the same workspace: the 6 are reused, 13 computed
    let full = write_json(
        dir.path(),
        "trimer.json",
        &psi4_water_input(3, &["nocp", "cp", "vmfc"], 3),
    );
    let out = ms_in(
        dir.path(),
        &[
            "mbe",
            "run",
            s(&full),
            "--workers",
            "2",
            "--workspace",
            s(&ws),
            "-o",
            "result.json",
        ],
    );
    ok(&out);
    assert!(
        out.stderr
            .contains("19 components: 6 cached, 13 to compute"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains("kcal/mol"),
        "summary table: {}",
        out.stdout
    );
    let result = read_json(&dir.path().join("result.json"));
    assert!(dir.path().join("result.svg").is_file());
    assert_eq!(run_dirs(&ws), 2);
    // the workspace's matterstack.toml: one task per component, no dependencies
    let toml = std::fs::read_to_string(ws.join("matterstack.toml")).unwrap();
    assert_eq!(toml.matches("[[tasks]]").count(), 13, "{toml}");
    assert!(!toml.contains("depends_on = [\""), "{toml}");
    // the results are in the user's cache
    let cache = cache_of(dir.path()).join("matterstack/mbe");
    assert_eq!(std::fs::read_dir(cache).unwrap().count(), 19);
    assert!(!ws.join("cache").exists());

    // 3. psi4's own n-body driver agrees to 1e-8 Eh
    let psi4 = psi4_nbody(dir.path(), 3, 3);
    assert_eq!(compare_with_psi4(&result, &psi4, 3), 15);
    assert_eq!(
        result["ret_energy"],
        result["results"]["nocp_corrected_total_energy"]
    );

    // 4. a rerun computes nothing: no new run, no task launched, same numbers
    let out = ms_in(
        dir.path(),
        &[
            "mbe",
            "run",
            s(&full),
            "--workspace",
            s(&ws),
            "-o",
            "again.json",
        ],
    );
    ok(&out);
    assert!(
        out.stderr
            .contains("19 components: 19 cached, 0 to compute"),
        "{}",
        out.stderr
    );
    assert_eq!(run_dirs(&ws), 2);
    let again = read_json(&dir.path().join("again.json"));
    assert_eq!(again["energy_body_dict"], result["energy_body_dict"]);
    assert_eq!(again["results"], result["results"]);
}

#[test]
fn psi4_water_tetramer_equals_psi4s_own_nbody_driver() {
    require("psi4");
    let dir = tempfile::tempdir().unwrap();
    let input = write_json(
        dir.path(),
        "tetramer.json",
        &psi4_water_input(4, &["nocp", "cp", "vmfc"], 2),
    );
    let out = ms_in(
        dir.path(),
        &["mbe", "run", s(&input), "--workers", "2", "-o", "r.json"],
    );
    ok(&out);
    assert!(dir.path().join("mbe-tetramer/matterstack.toml").is_file());
    let result = read_json(&dir.path().join("r.json"));
    let psi4 = psi4_nbody(dir.path(), 4, 2);
    assert_eq!(compare_with_psi4(&result, &psi4, 2), 9);
}

#[test]
fn a_failing_component_fails_the_expansion_naming_every_label_after_its_retries() {
    require("psi4");
    let dir = tempfile::tempdir().unwrap();
    let inp = mbe_input(
        &["He", "He"],
        &[0.0, 0.0, 0.0, 0.0, 0.0, 5.0],
        &[vec![0], vec![1]],
        &["nocp"],
        None,
        "energy",
        "psi4",
        json!({"method": "hf", "basis": "no-such-basis"}),
        json!({}),
    );
    let p = write_json(dir.path(), "he2.json", &inp);
    let out = ms_in(
        dir.path(),
        &["mbe", "run", s(&p), "--workers", "2", "-o", "r.json"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    for label in [
        "[\"(auto)\", [1], [1]]",
        "[\"(auto)\", [2], [2]]",
        "[\"(auto)\", [1, 2], [1, 2]]",
    ] {
        assert!(
            out.stderr.contains(label),
            "{label} not named: {}",
            out.stderr
        );
    }
    assert!(
        out.stderr.contains("FAILED after 2 attempt(s)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("psi4 failed"), "{}", out.stderr);
    assert!(!dir.path().join("r.json").exists());
}

// ------------------------------------------------------------------ real: xtb

fn xtb_full(dir: &Path, symbols: &[&str], geom: &[f64]) -> (f64, Vec<f64>) {
    let d = dir.join("xtb-full");
    std::fs::create_dir_all(&d).unwrap();
    let mut coord = String::from("$coord\n");
    for (i, sym) in symbols.iter().enumerate() {
        coord.push_str(&format!(
            "{:?} {:?} {:?} {}\n",
            geom[3 * i],
            geom[3 * i + 1],
            geom[3 * i + 2],
            sym.to_lowercase()
        ));
    }
    coord.push_str("$end\n");
    std::fs::write(d.join("mol.coord"), coord).unwrap();
    let out = Command::new("xtb")
        .args([
            "mol.coord",
            "--gfn",
            "2",
            "--chrg",
            "0",
            "--uhf",
            "0",
            "--grad",
        ])
        .env("OMP_NUM_THREADS", "1")
        .current_dir(&d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let engrad = std::fs::read_to_string(d.join("mol.engrad")).unwrap();
    let nums: Vec<f64> = engrad
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    (nums[1], nums[2..].to_vec())
}

#[test]
fn xtb_nocp_through_all_fragments_equals_xtbs_own_full_cluster() {
    require("xtb");
    let dir = tempfile::tempdir().unwrap();
    let (sym, geom, frags) = waters(4);
    let inp = mbe_input(
        &sym,
        &geom,
        &frags,
        &["nocp"],
        Some(4),
        "gradient",
        "xtb",
        json!({"method": "gfn2", "basis": null}),
        json!({}),
    );
    let p = write_json(dir.path(), "w4.json", &inp);
    let out = ms_in(
        dir.path(),
        &["mbe", "run", s(&p), "--workers", "2", "-o", "r.json"],
    );
    ok(&out);
    assert!(
        out.stderr
            .contains("15 components: 0 cached, 15 to compute"),
        "{}",
        out.stderr
    );
    let r = read_json(&dir.path().join("r.json"));
    let (e, g) = xtb_full(dir.path(), &sym, &geom);
    let total = r["results"]["nocp_corrected_total_energy_through_4_body"]
        .as_f64()
        .unwrap();
    assert!(
        (total - e).abs() < 1e-8,
        "nocp through 4-body {total} vs xtb {e}"
    );
    assert!((r["ret_energy"].as_f64().unwrap() - e).abs() < 1e-8);
    // gradients telescope too (engrad has 12 decimals)
    let rg = r["ret_gradient"].as_array().unwrap();
    assert_eq!(rg.len(), g.len());
    for (a, b) in rg.iter().zip(&g) {
        assert!((a.as_f64().unwrap() - b).abs() < 1e-8, "{a} vs {b}");
    }
    // 2-body and 3-body levels exist and differ from the total
    let two = r["energy_body_dict"]["2nocp"].as_f64().unwrap();
    assert!((two - e).abs() > 1e-6);
    // and the rerun is free
    let out = ms_in(dir.path(), &["mbe", "run", s(&p), "-o", "r2.json"]);
    ok(&out);
    assert!(
        out.stderr
            .contains("15 components: 15 cached, 0 to compute"),
        "{}",
        out.stderr
    );
    // the cache is the user's: the same molecule in another workspace
    // (another directory) is not computed again
    let other = tempfile::tempdir().unwrap();
    let p2 = write_json(other.path(), "same-w4.json", &inp);
    let out = crate::support::ms_env(
        other.path(),
        &["mbe", "run", s(&p2), "-o", "r3.json"],
        &[("XDG_CACHE_HOME", &cache_of(dir.path()))],
    );
    ok(&out);
    assert!(
        out.stderr
            .contains("15 components: 15 cached, 0 to compute"),
        "{}",
        out.stderr
    );
    let r3 = read_json(&other.path().join("r3.json"));
    assert_eq!(r3["ret_energy"], r["ret_energy"]);
}

// ------------------------------------------------------------------ resumable

#[test]
fn a_killed_mbe_run_is_continued_by_the_next_one_and_no_component_runs_twice() {
    require("psi4");
    let dir = tempfile::tempdir().unwrap();
    let inp = mbe_input(
        &["He", "He", "He"],
        &[0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 5.0, 0.0],
        &[vec![0], vec![1], vec![2]],
        &["nocp"],
        None,
        "energy",
        "psi4",
        json!({"method": "hf", "basis": "sto-3g"}),
        json!({"scf_type": "pk"}),
    );
    let p = write_json(dir.path(), "he3.json", &inp);
    let ws = dir.path().join("mbe-he3");
    let mut child = crate::support::ms_command()
        .args(["mbe", "run", s(&p), "--workers", "1"])
        .env("XDG_CACHE_HOME", cache_of(dir.path()))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // kill it once some component has finished and others have not
    let tasks = ws.join("runs/mbe-001/tasks");
    let finished = || {
        std::fs::read_dir(&tasks)
            .map(|rd| {
                rd.filter(|e| e.as_ref().unwrap().path().join("result.json").is_file())
                    .count()
            })
            .unwrap_or(0)
    };
    assert!(
        crate::support::wait_for(std::time::Duration::from_secs(120), || finished() >= 2),
        "no component finished"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(finished() < 7, "the run finished before it was killed");

    let out = ms_in(
        dir.path(),
        &["mbe", "run", s(&p), "--workers", "1", "-o", "r.json"],
    );
    ok(&out);
    assert!(
        out.stderr.contains("continued unfinished run mbe-001"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("7 components: 7 cached, 0 to compute"),
        "{}",
        out.stderr
    );
    assert_eq!(run_dirs(&ws), 1);
    // every component ran exactly once
    let st = crate::support::status(&ws.join("runs/mbe-001"));
    assert_eq!(st["tasks"].as_array().unwrap().len(), 7);
    for t in st["tasks"].as_array().unwrap() {
        assert_eq!(t["status"], "COMPLETED", "{t}");
        assert_eq!(t["attempts"], 1, "{t}");
    }
    assert!(read_json(&dir.path().join("r.json"))["ret_energy"].is_f64());
}

// ------------------------------------------------------------------ on a cluster

#[test]
fn mbe_run_on_the_slurm_testbed_with_cluster() {
    require("xtb");
    let tb = crate::testbed::testbed();
    let c = crate::testbed::ClusterWs::plain(
        &tb,
        "[[tasks]]\nid = \"placeholder\"\ncommand = \"true\"\n",
    );
    let (sym, geom, frags) = waters(3);
    let inp = mbe_input(
        &sym,
        &geom,
        &frags,
        &["nocp"],
        None,
        "energy",
        "xtb",
        json!({"method": "gfn2"}),
        json!({}),
    );
    let dir = tempfile::tempdir().unwrap();
    let p = write_json(dir.path(), "w3.json", &inp);
    let ws = c.ws.path();
    let out = ms_in(
        dir.path(),
        &[
            "mbe",
            "run",
            s(&p),
            "--workspace",
            s(ws),
            "--cluster",
            "testbed",
            "-o",
            "r.json",
        ],
    );
    ok(&out);
    assert!(
        out.stderr.contains("7 components: 0 cached, 7 to compute"),
        "{}",
        out.stderr
    );
    let toml = std::fs::read_to_string(ws.join("matterstack.toml")).unwrap();
    assert_eq!(
        toml.matches("operator = \"slurm\"\ncluster = \"testbed\"")
            .count(),
        7,
        "{toml}"
    );
    // every component ran as a SLURM job
    let infos = c.job_infos();
    assert_eq!(infos.len(), 7);
    assert!(
        infos.iter().all(|i| i["status"] == "COMPLETED"),
        "{infos:?}"
    );
    let r = read_json(&dir.path().join("r.json"));
    let (e, _) = xtb_full(dir.path(), &sym, &geom);
    assert!(
        (r["results"]["nocp_corrected_total_energy_through_3_body"]
            .as_f64()
            .unwrap()
            - e)
            .abs()
            < 1e-8
    );
}

#[test]
fn psi4_cp_gradient_with_ghost_atoms_equals_psi4s_own_nbody_gradient() {
    require("psi4");
    let dir = tempfile::tempdir().unwrap();
    let (sym, geom, frags) = waters(3);
    let inp = mbe_input(
        &sym,
        &geom,
        &frags,
        &["cp", "nocp"],
        Some(2),
        "gradient",
        "psi4",
        json!({"method": "hf", "basis": "sto-3g"}),
        json!({"scf_type": "pk", "e_convergence": 1e-10, "d_convergence": 1e-10}),
    );
    let p = write_json(dir.path(), "tg.json", &inp);
    let out = ms_in(
        dir.path(),
        &["mbe", "run", s(&p), "--workers", "2", "-o", "r.json"],
    );
    ok(&out);
    let r = read_json(&dir.path().join("r.json"));

    // psi4's own driver: gradient('scf', bsse_type=['cp', 'nocp'], max_nbody=2)
    let mut mol = String::new();
    for f in 0..3 {
        if f > 0 {
            mol.push_str("--\n");
        }
        mol.push_str("0 1\n");
        for (a, sym) in ["O", "H", "H"].iter().enumerate() {
            let g = &geom[9 * f + 3 * a..9 * f + 3 * a + 3];
            mol.push_str(&format!("{sym} {:?} {:?} {:?}\n", g[0], g[1], g[2]));
        }
    }
    let text = format!(
        "molecule {{\n{mol}units bohr\nno_com\nno_reorient\n}}\n\
         set scf_type pk\nset basis sto-3g\nset e_convergence 1e-10\nset d_convergence 1e-10\n\
         g = gradient('scf', bsse_type=['cp', 'nocp'], max_nbody=2, return_total_data=True)\n\
         import json\n\
         json.dump([float(x) for x in g.np.ravel()], open('psi4_gradient.json', 'w'))\n"
    );
    let nb = dir.path().join("psi4-nbody");
    std::fs::create_dir_all(&nb).unwrap();
    std::fs::write(nb.join("g.in"), text).unwrap();
    let st = Command::new("psi4")
        .args(["-n", "1", "g.in", "g.out"])
        .current_dir(&nb)
        .status()
        .unwrap();
    assert!(
        st.success(),
        "psi4's n-body gradient failed; see {}",
        nb.display()
    );
    let theirs: Vec<f64> =
        serde_json::from_str(&std::fs::read_to_string(nb.join("psi4_gradient.json")).unwrap())
            .unwrap();
    let ours = r["ret_gradient"].as_array().unwrap();
    assert_eq!(ours.len(), 27);
    let worst = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a.as_f64().unwrap() - b).abs())
        .fold(0.0, f64::max);
    eprintln!("cp gradient through 2-body: max |diff| vs psi4 {worst:.2e} Eh/bohr");
    assert!(worst < 1e-8, "max |diff| {worst}");
}

// ------------------------------------------------------------------ real: nwchem

/// The same water dimer through `mbe run` with `program`; returns the result document.
fn dimer_through(dir: &Path, program: &str, keywords: Value) -> Value {
    dimer_run(dir, program, "gradient", keywords, &[])
}

/// The water dimer (nocp + cp, max_nbody 2, HF/STO-3G) through `mbe run` with `program`,
/// `driver` and extra environment for matterstack; returns the result document.
fn dimer_run(
    dir: &Path,
    program: &str,
    driver: &str,
    keywords: Value,
    env: &[(&str, &str)],
) -> Value {
    let (sym, geom, frags) = waters(2);
    let inp = mbe_input(
        &sym,
        &geom,
        &frags,
        &["cp", "nocp"],
        Some(2),
        driver,
        program,
        json!({"method": "hf", "basis": "sto-3g"}),
        keywords,
    );
    let name = match driver {
        "gradient" => program.to_string(),
        _ => format!("{program}-{driver}"),
    };
    let p = write_json(dir, &format!("dimer-{name}.json"), &inp);
    let out: Out = crate::support::ms_command()
        .args(["mbe", "run", s(&p), "--workers", "2", "-o"])
        .arg(format!("{name}.json"))
        .env("XDG_CACHE_HOME", cache_of(dir))
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run matterstack")
        .into();
    ok(&out);
    assert!(
        out.stderr.contains("5 components: 0 cached, 5 to compute"),
        "{}",
        out.stderr
    );
    read_json(&dir.join(format!("{name}.json")))
}

#[test]
fn nwchem_water_dimer_nocp_and_cp_with_ghost_atoms_equals_psi4() {
    require("nwchem");
    require("psi4");
    let dir = tempfile::tempdir().unwrap();
    let nw = dimer_through(dir.path(), "nwchem", json!({}));
    // the deck: ghosts are bq centres carrying the element's basis functions
    let ws = dir.path().join("mbe-dimer-nwchem");
    let decks: Vec<String> = std::fs::read_dir(ws.join("inputs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path().join("input.nw")).unwrap())
        .collect();
    assert_eq!(decks.len(), 5);
    assert!(
        decks
            .iter()
            .any(|d| d.contains("  bqO library O sto-3g\n") && d.contains("\n  bqH ")),
        "{}",
        decks[0]
    );
    let p4 = dimer_through(
        dir.path(),
        "psi4",
        json!({"scf_type": "pk", "e_convergence": 1e-10, "d_convergence": 1e-10}),
    );

    let mut compared = 0;
    let mut worst = 0.0_f64;
    for (k, v) in p4["energy_body_dict"].as_object().unwrap() {
        let (a, b) = (
            nw["energy_body_dict"][k].as_f64().unwrap(),
            v.as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-6, "{k}: nwchem {a} vs psi4 {b}");
        worst = worst.max((a - b).abs());
        compared += 1;
    }
    for key in [
        "cp_corrected_interaction_energy",
        "nocp_corrected_interaction_energy",
    ] {
        let (a, b) = (
            nw["results"][key].as_f64().unwrap(),
            p4["results"][key].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-6, "{key}: nwchem {a} vs psi4 {b}");
        worst = worst.max((a - b).abs());
        compared += 1;
    }
    // the cp correction is real: ghosts carried basis functions
    let cp = nw["results"]["cp_corrected_interaction_energy"]
        .as_f64()
        .unwrap();
    let nocp = nw["results"]["nocp_corrected_interaction_energy"]
        .as_f64()
        .unwrap();
    assert!((cp - nocp).abs() > 1e-4, "cp {cp} vs nocp {nocp}");
    // cp gradient (forces on ghost atoms included) agrees too
    let (g_nw, g_p4) = (
        nw["ret_gradient"].as_array().unwrap(),
        p4["ret_gradient"].as_array().unwrap(),
    );
    assert_eq!(g_nw.len(), 18);
    for (a, b) in g_nw.iter().zip(g_p4) {
        let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
        assert!((a - b).abs() < 1e-6, "gradient: nwchem {a} vs psi4 {b}");
        worst = worst.max((a - b).abs());
        compared += 1;
    }
    eprintln!("nwchem vs psi4 (HF/STO-3G water dimer, nocp + cp): {compared} values, max |diff| {worst:.2e}");
}

// ------------------------------------------------------------------ real: pyscf

/// The python of the testbed's pyscf venv (`MS_TESTBED_PYSCF_PYTHON` in the testbed env file).
fn testbed_pyscf_python() -> String {
    let dir = std::env::var("MS_TESTBED").unwrap_or_else(|_| "/var/tmp/matterstack-testbed".into());
    let env_file = Path::new(&dir).join("env");
    let text = std::fs::read_to_string(&env_file).unwrap_or_default();
    let python = text
        .lines()
        .find_map(|l| l.strip_prefix("MS_TESTBED_PYSCF_PYTHON="))
        .map(str::to_string);
    let python = python.unwrap_or_else(|| {
        panic!(
            "this test needs the testbed's pyscf: run `bash scripts/testbed.sh` first (MS_TESTBED_PYSCF_PYTHON missing in {})",
            env_file.display()
        )
    });
    assert!(
        Path::new(&python).is_file(),
        "{python} (MS_TESTBED_PYSCF_PYTHON) is missing: run `bash scripts/testbed.sh`"
    );
    python
}

/// `|a - b|` over every number of two equally shaped JSON values (nested arrays flattened).
fn diffs(a: &Value, b: &Value, out: &mut Vec<f64>) {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "shapes differ");
            x.iter().zip(y).for_each(|(x, y)| diffs(x, y, out));
        }
        _ => out.push((a.as_f64().unwrap() - b.as_f64().unwrap()).abs()),
    }
}

#[test]
fn pyscf_water_dimer_nocp_and_cp_with_ghost_atoms_equals_psi4() {
    require("psi4");
    let python = testbed_pyscf_python();
    let env = [("MATTERSTACK_PYSCF_PYTHON", python.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let py = dimer_run(dir.path(), "pyscf", "gradient", json!({}), &env);
    // each task directory has the driver and its input: ghosts are flagged atoms (bohr)
    let ws = dir.path().join("mbe-dimer-pyscf");
    let inputs: Vec<Value> = std::fs::read_dir(ws.join("inputs"))
        .unwrap()
        .map(|e| {
            let d = e.unwrap().path();
            assert!(d.join("pyscf_driver.py").is_file(), "{}", d.display());
            read_json(&d.join("input.json"))
        })
        .collect();
    assert_eq!(inputs.len(), 5);
    let ghosted = inputs
        .iter()
        .filter(|i| i["real"].as_array().unwrap().contains(&json!(false)))
        .count();
    assert_eq!(ghosted, 2, "the two cp monomers in the dimer basis");
    assert!(inputs
        .iter()
        .all(|i| i["units"] == "bohr" && i["basis"] == "sto-3g"));
    let p4_keywords = json!({"scf_type": "pk", "e_convergence": 1e-10, "d_convergence": 1e-10});
    let p4 = dimer_run(dir.path(), "psi4", "gradient", p4_keywords.clone(), &[]);

    let mut compared = 0;
    let mut worst: BTreeMap<&str, f64> = BTreeMap::new();
    let mut check = |kind: &'static str, what: &str, a: &Value, b: &Value| {
        let mut d = Vec::new();
        diffs(a, b, &mut d);
        assert!(!d.is_empty(), "{what}: nothing to compare");
        for x in &d {
            assert!(*x < 1e-6, "{what}: pyscf {a} vs psi4 {b}");
        }
        compared += d.len();
        let w = worst.entry(kind).or_default();
        *w = d.iter().copied().fold(*w, f64::max);
    };
    for (k, v) in p4["energy_body_dict"].as_object().unwrap() {
        check("energy", k, &py["energy_body_dict"][k], v);
    }
    for key in [
        "cp_corrected_interaction_energy",
        "nocp_corrected_interaction_energy",
    ] {
        check("energy", key, &py["results"][key], &p4["results"][key]);
    }
    // the cp correction is real: ghosts carried basis functions
    let cp = py["results"]["cp_corrected_interaction_energy"]
        .as_f64()
        .unwrap();
    let nocp = py["results"]["nocp_corrected_interaction_energy"]
        .as_f64()
        .unwrap();
    assert!((cp - nocp).abs() > 1e-4, "cp {cp} vs nocp {nocp}");
    // the cp gradient (forces on ghost atoms included) agrees too
    assert_eq!(py["ret_gradient"].as_array().unwrap().len(), 18);
    check(
        "gradient",
        "gradient",
        &py["ret_gradient"],
        &p4["ret_gradient"],
    );

    // hf hessians, ghosts included
    let pyh = dimer_run(dir.path(), "pyscf", "hessian", json!({}), &env);
    let p4h = dimer_run(dir.path(), "psi4", "hessian", p4_keywords, &[]);
    check(
        "energy",
        "2cp energy (hessian run)",
        &pyh["energy_body_dict"]["2cp"],
        &p4h["energy_body_dict"]["2cp"],
    );
    check(
        "hessian",
        "hessian",
        &pyh["ret_hessian"],
        &p4h["ret_hessian"],
    );
    let worst: Vec<String> = worst.iter().map(|(k, w)| format!("{k} {w:.1e}")).collect();
    eprintln!(
        "pyscf vs psi4 (HF/STO-3G water dimer, nocp + cp): {compared} values, max |diff|: {}",
        worst.join(", ")
    );
}

#[test]
fn pyscf_without_pyscf_or_with_an_unknown_basis_is_refused_before_anything_is_written() {
    let python = testbed_pyscf_python();
    let dir = tempfile::tempdir().unwrap();
    let (sym, geom, frags) = waters(2);
    let input = |name: &str, driver: &str, model: Value| {
        let v = mbe_input(
            &sym,
            &geom,
            &frags,
            &["cp"],
            None,
            driver,
            "pyscf",
            model,
            json!({}),
        );
        write_json(dir.path(), &format!("{name}.json"), &v)
    };
    let run = |p: &Path, python: &str| -> Out {
        crate::support::ms_command()
            .args(["mbe", "run", s(p), "--workers", "1"])
            .current_dir(dir.path())
            .env("XDG_CACHE_HOME", cache_of(dir.path()))
            .env("MATTERSTACK_PYSCF_PYTHON", python)
            .output()
            .unwrap()
            .into()
    };
    // a real python without pyscf: a fresh venv
    let venv = dir.path().join("no-pyscf");
    let st = Command::new("python3")
        .args(["-m", "venv", "--without-pip", s(&venv)])
        .status()
        .unwrap();
    assert!(st.success());
    let bare = venv.join("bin/python");
    let fine = input("fine", "energy", json!({"method": "hf", "basis": "sto-3g"}));
    let out = run(&fine, s(&bare));
    assert_eq!(out.code, 2, "{out:?}");
    for w in [
        "MATTERSTACK_PYSCF_PYTHON=",
        "cannot import pyscf",
        "-m pip install pyscf",
    ] {
        assert!(out.stderr.contains(w), "{w:?} not in {}", out.stderr);
    }
    let out = run(&fine, "/nonexistent/python3");
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("cannot be started"), "{}", out.stderr);
    assert!(!dir.path().join("mbe-fine").exists(), "workspace written");

    // with pyscf: what pyscf does not know is named at plan time
    let cases = [
        (
            "basis",
            "energy",
            json!({"method": "hf", "basis": "sto-9z"}),
            vec!["model.basis", "\"sto-9z\"", "no such basis set", "cc-pvdz"],
        ),
        (
            "xc",
            "energy",
            json!({"method": "b3lypp", "basis": "sto-3g"}),
            vec!["model.method", "\"b3lypp\"", "not a functional", "\"mp2\""],
        ),
        (
            "mp2hess",
            "hessian",
            json!({"method": "mp2", "basis": "sto-3g"}),
            vec!["hessian", "\"mp2\"", "\"hf\" only"],
        ),
    ];
    for (name, driver, model, words) in cases {
        let out = run(&input(name, driver, model), &python);
        assert_eq!(out.code, 2, "{name}: {out:?}");
        for w in words {
            assert!(
                out.stderr.contains(w),
                "{name}: {w:?} not in {}",
                out.stderr
            );
        }
        assert!(
            !dir.path().join(format!("mbe-{name}")).exists(),
            "{name}: workspace written"
        );
    }
}
