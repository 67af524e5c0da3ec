//! Fuzz targets for the many-body inputs from outside: QCSchema ManyBodyInput JSON (what
//! QCManyBody writes), the short TOML form, and component-result documents, each planned
//! or assembled when it parses (see `matterstack-fuzz`; `MATTERSTACK_FUZZ_SECS` each).
//! Seeds: the inputs and component results of the QCManyBody reference cases.

use matterstack_fuzz::{seeds, Target};
use matterstack_mbe::{
    analyze, analyze_expansion, expansion, plan, results_for, results_from_json, ManyBodyInput,
};
use serde_json::Value;

/// The reference cases: (input JSON, component results JSON).
fn cases() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for text in seeds::files(&seeds::repo("crates/mbe/tests/reference"), &[".json"]) {
        let Ok(doc) = serde_json::from_slice::<Value>(&text) else {
            continue;
        };
        for c in doc["cases"].as_array().into_iter().flatten() {
            let input = match &c["input_json"] {
                Value::String(s) => s.clone(),
                Value::Object(_) => c["input_json"].to_string(),
                _ => continue,
            };
            out.push((input, c["components"].to_string()));
        }
    }
    out
}

const SHORT_FORMS: &[&str] = &[
    r#"method = "mp2"
basis = "cc-pvdz"
program = "psi4"
driver = "gradient"
bsse_type = ["cp", "nocp"]
max_nbody = 2
return_total_data = false
units = "angstrom"
xyz = """
0 1
O  -1.551007  -0.114520   0.000000
H  -1.934259   0.762503   0.000000
H  -0.599677   0.040712   0.000000
--
-1 1
O   1.350625   0.111469   0.000000
H   1.680398  -0.373741  -0.758561
"""
[keywords]
scf_type = "df"
"#,
    r#"bsse_type = "nocp"
xyz = """
He 0 0 0
--
He 0 0 3
--
He 0 3 0
"""
[levels]
1 = "hi"
supersystem = "lo"
[models.hi]
method = "ccsd(t)"
basis = "cc-pvtz"
program = "psi4"
[models.lo]
method = "gfn2"
program = "xtb"
"#,
    "method='hf'\nbasis='sto-3g'\nprogram='pyscf'\nunits='bohr'\nxyz='''\nNe 0 0 0\n--\nNe 0 0 5.5\n'''\n",
];

/// Plans a parsed input; a plan that builds is also enumerated as an expansion.
fn plan_it(input: &ManyBodyInput) {
    if let Ok(p) = plan(input) {
        let _ = p.components.len();
        let _ = expansion(input);
    }
}

#[test]
fn fuzz_mbe_qcschema_input() {
    let cases = cases();
    assert!(
        !cases.is_empty(),
        "the reference cases are in the repository"
    );
    let short_as_json = SHORT_FORMS
        .iter()
        .filter_map(|t| ManyBodyInput::from_toml(t).ok())
        .map(|i| i.to_json().into_bytes());
    Target::new("mbe-qcschema-input")
        .seeds(cases.into_iter().map(|(i, _)| i.into_bytes()))
        .seeds(short_as_json)
        .run_text(|text| match ManyBodyInput::from_json(text) {
            Ok(input) => plan_it(&input),
            Err(e) => assert!(!e.to_string().is_empty()),
        });
}

#[test]
fn fuzz_mbe_short_toml() {
    Target::new("mbe-short-toml")
        .seeds(SHORT_FORMS.iter().map(|s| s.as_bytes().to_vec()))
        .run_text(|text| match ManyBodyInput::from_toml(text) {
            Ok(input) => plan_it(&input),
            Err(e) => assert!(!e.to_string().is_empty()),
        });
}

/// One fuzz input: the ManyBodyInput, this line, then the component results.
const RESULTS_MARK: &str = "\n%%% results\n";

#[test]
fn fuzz_mbe_component_results() {
    Target::new("mbe-component-results")
        .seeds(
            cases()
                .into_iter()
                .map(|(i, r)| format!("{i}{RESULTS_MARK}{r}").into_bytes()),
        )
        .run_text(|text| {
            let (input, results) = text.split_once(RESULTS_MARK).unwrap_or((text, ""));
            let _ = results_from_json(results);
            let Ok(input) = ManyBodyInput::from_json(input) else {
                return;
            };
            if let Ok(exp) = expansion(&input) {
                if let Ok(found) = results_for(&exp, results) {
                    let refs: Vec<_> = found.iter().map(Option::as_ref).collect();
                    let _ = analyze_expansion(&exp, &refs);
                }
            }
            if let (Ok(p), Ok(map)) = (plan(&input), results_from_json(results)) {
                let _ = analyze(&p, &map);
            }
        });
}
