//! The real-output corpus (`../shared/realdata/parsers/`, issue 16): every
//! file of `manifest.json` through its parser, compared with what a correct
//! parse must report (the corpus README defines the `expect` keys). The
//! files are read from `../shared`, never copied into the repository.

use std::path::PathBuf;

use matterstack_templates::parse_output;
use serde_json::Value;

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/realdata/parsers")
}

/// `values.a.b` where a key may itself hold dots or slashes: the longest
/// key that matches at each level wins.
fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(v);
    }
    let obj = v.as_object()?;
    let mut cut: Vec<usize> = path.match_indices('.').map(|(i, _)| i).collect();
    cut.push(path.len());
    for &i in cut.iter().rev() {
        if let Some(next) = obj.get(&path[..i]) {
            let rest = if i == path.len() { "" } else { &path[i + 1..] };
            if let Some(found) = lookup(next, rest) {
                return Some(found);
            }
        }
    }
    None
}

fn same(got: &Value, want: &Value, tol: f64) -> bool {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) if w.is_f64() || g.is_f64() => {
            let (g, w) = (g.as_f64().unwrap(), w.as_f64().unwrap());
            (g - w).abs() <= tol * w.abs().max(1e-12)
        }
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same(a, b, tol))
        }
        _ => got == want,
    }
}

/// Every mismatch of one manifest entry (empty when it parses right).
fn check(entry: &Value) -> Vec<String> {
    let file = entry["file"].as_str().unwrap();
    let program = entry["program"].as_str().unwrap();
    let bytes = std::fs::read(corpus().join(file)).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let parsed = parse_output(program, &text).expect("a known parser");
    let got = serde_json::to_value(&parsed).unwrap();
    let mut bad = Vec::new();
    let failed = parsed.error.is_some();
    if entry["expect_failed"].as_bool() != Some(failed) {
        bad.push(format!(
            "failed = {failed} (error {:?}), expected {}",
            parsed.error, entry["expect_failed"]
        ));
    }
    for (key, want) in entry["expect"].as_object().unwrap() {
        let tol = entry["tolerance"][key.as_str()].as_f64().unwrap_or(1e-6);
        match key.as_str() {
            "error_contains" => {
                let reason =
                    parsed.error.clone().unwrap_or_default() + "\n" + &parsed.errors.join("\n");
                for s in want.as_array().unwrap() {
                    if !reason.contains(s.as_str().unwrap()) {
                        bad.push(format!("error lacks {s}: {reason:?}"));
                    }
                }
            }
            "warnings_contains" => {
                for s in want.as_array().unwrap() {
                    let s = s.as_str().unwrap();
                    if !parsed.warnings.iter().any(|w| w.contains(s)) {
                        bad.push(format!("no warning mentions {s:?}: {:?}", parsed.warnings));
                    }
                }
            }
            _ => match (lookup(&got, key), want) {
                (None, Value::Null) => {}
                (Some(g), Value::Null) => bad.push(format!("{key} = {g}, expected absent")),
                (None, w) => bad.push(format!("{key} missing, expected {w}")),
                (Some(g), w) if !same(g, w, tol) => bad.push(format!("{key} = {g}, expected {w}")),
                _ => {}
            },
        }
    }
    bad
}

#[test]
fn every_real_output_in_the_corpus_parses_as_its_manifest_says() {
    let manifest = corpus().join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the corpus is in ../shared beside the repository",
            manifest.display()
        )
    });
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut wrong = Vec::new();
    for e in &entries {
        let bad = check(e);
        if !bad.is_empty() {
            wrong.push(format!("{}:\n    {}", e["file"], bad.join("\n    ")));
        }
    }
    eprintln!(
        "corpus: {} of {} parse right",
        entries.len() - wrong.len(),
        entries.len()
    );
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn a_complete_output_is_not_partial_and_its_first_half_is() {
    let text = std::fs::read_to_string(corpus().join("manifest.json")).unwrap();
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for e in &entries {
        if e["expect"]["normal_termination"] != Value::Bool(true) || e["expect_failed"] == true {
            continue;
        }
        let (file, program) = (e["file"].as_str().unwrap(), e["program"].as_str().unwrap());
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        let whole = String::from_utf8_lossy(&bytes);
        assert!(!parse_output(program, &whole).unwrap().partial, "{file}");
        let half: String = whole.chars().take(whole.chars().count() / 2).collect();
        let p = parse_output(program, &half).unwrap();
        assert!(
            p.partial || p.error.is_some(),
            "{file}: its first half is not partial"
        );
        checked += 1;
    }
    assert!(
        checked >= 40,
        "only {checked} complete outputs in the corpus"
    );
}

#[test]
fn the_series_end_where_the_final_values_say() {
    let text = std::fs::read_to_string(corpus().join("manifest.json")).unwrap();
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    let (mut scf, mut md, mut opt) = (0, 0, 0);
    for e in &entries {
        let (file, program) = (e["file"].as_str().unwrap(), e["program"].as_str().unwrap());
        let bytes = std::fs::read(corpus().join(file)).unwrap();
        let p = parse_output(program, &String::from_utf8_lossy(&bytes)).unwrap();
        let last = |name: &str| {
            p.series
                .get(name)
                .and_then(|s| s.rows.last().cloned())
                .unwrap_or_else(|| panic!("{file}: no {name} series"))
        };
        match program {
            "psi4" if e["expect"]["values.scf_iterations"].is_number() => {
                let row = last("scf");
                assert_eq!(
                    Some(row[0] as i64),
                    e["expect"]["values.scf_iterations"].as_i64(),
                    "{file}: the scf series ends at the last iteration"
                );
                scf += 1;
            }
            "gromacs" if e["expect"]["values.final_step"].is_number() => {
                let row = if p.series.contains_key("md") {
                    last("md")
                } else {
                    let r = last("em");
                    vec![r[0], f64::NAN, r[1]]
                };
                assert_eq!(
                    Some(row[0] as i64),
                    e["expect"]["values.final_step"].as_i64(),
                    "{file}"
                );
                let potential = e["expect"]["values.energies.Potential"].as_f64();
                if let Some(want) = potential {
                    assert!(
                        (row[2] - want).abs() <= 1e-9 * want.abs(),
                        "{file}: {row:?}"
                    );
                }
                md += 1;
            }
            "xtb" if e["expect"]["values.opt_iterations"].is_number() => {
                let row = last("opt");
                let rows = p.series["opt"].rows.len() as i64;
                assert_eq!(
                    Some(rows),
                    e["expect"]["values.opt_iterations"].as_i64(),
                    "{file}: one row per cycle"
                );
                let want = e["expect"]["final_energy"].as_f64().unwrap();
                assert!((row[1] - want).abs() < 1e-6, "{file}: {row:?} vs {want}");
                opt += 1;
            }
            _ => {}
        }
    }
    assert!(
        scf >= 10 && md >= 5 && opt >= 2,
        "scf {scf}, md {md}, opt {opt}"
    );
}
