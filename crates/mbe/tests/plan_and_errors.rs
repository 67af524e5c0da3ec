//! Enumeration counts, component details, bad-input errors, the TOML short form and the
//! presentation helpers.

use std::collections::BTreeMap;

use matterstack_mbe::{
    analyze, interaction_energy_svg, plan, summary_table, supports_ghosts, ComponentResult, Label,
    ManyBodyInput, MbeError,
};
use serde_json::{json, Value};

/// A ManyBodyInput of `nfr` helium atoms, one per fragment.
fn helium_input(nfr: usize, keywords: Value) -> Value {
    let symbols: Vec<&str> = vec!["He"; nfr];
    let geometry: Vec<f64> = (0..nfr).flat_map(|i| [0.0, 0.0, 5.0 * i as f64]).collect();
    let fragments: Vec<Vec<usize>> = (0..nfr).map(|i| vec![i]).collect();
    json!({
        "schema_name": "qcschema_manybodyinput",
        "schema_version": 1,
        "specification": {
            "keywords": keywords,
            "driver": "energy",
            "specification": {"(auto)": {"program": "psi4", "model": {"method": "mp2", "basis": "cc-pvdz"}, "driver": "energy"}}
        },
        "molecule": {"symbols": symbols, "geometry": geometry, "fragments": fragments}
    })
}

fn parse(v: &Value) -> ManyBodyInput {
    ManyBodyInput::from_json(&v.to_string()).expect("test input parses")
}

fn count(nfr: usize, bsse: Value, max_nbody: usize) -> usize {
    let input = parse(&helium_input(
        nfr,
        json!({"bsse_type": bsse, "max_nbody": max_nbody}),
    ));
    plan(&input).expect("plan").components.len()
}

#[test]
fn enumeration_counts_match_qcmanybody() {
    assert_eq!(count(4, json!("nocp"), 4), 15);
    assert_eq!(count(4, json!(["vmfc"]), 4), 65);
    assert_eq!(count(10, json!(["nocp"]), 3), 175);
    assert_eq!(count(10, json!(["cp", "nocp", "vmfc"]), 3), 1160);
}

#[test]
fn labels_are_spelled_like_qcmanybody() {
    let input = parse(&helium_input(
        2,
        json!({"bsse_type": ["cp"], "return_total_data": true}),
    ));
    let p = plan(&input).unwrap();
    let labels: Vec<String> = p.labels().into_iter().collect();
    assert_eq!(
        labels,
        vec![
            r#"["(auto)", [1, 2], [1, 2]]"#,
            r#"["(auto)", [1], [1, 2]]"#,
            r#"["(auto)", [1], [1]]"#,
            r#"["(auto)", [2], [1, 2]]"#,
            r#"["(auto)", [2], [2]]"#,
        ]
    );
}

fn charged_input(bsse: &str) -> Value {
    // He | OH- (2 atoms) | CH3 radical (4 atoms, doublet)
    json!({
        "specification": {
            "keywords": {"bsse_type": bsse},
            "driver": "gradient",
            "specification": {"(auto)": {"program": "psi4", "model": {"method": "hf", "basis": "sto-3g"}}}
        },
        "molecule": {
            "symbols": ["He", "O", "H", "C", "H", "H", "H"],
            "geometry": [0,0,0, 5,0,0, 5,0,1.8, 0,6,0, 2,6,0, -1,7.7,0, -1,4.3,0],
            "fragments": [[0], [1, 2], [3, 4, 5, 6]],
            "fragment_charges": [0, -1, 0],
            "fragment_multiplicities": [1, 1, 2],
            "molecular_charge": -1
        }
    })
}

#[test]
fn components_carry_atoms_ghosts_charge_and_multiplicity() {
    let p = plan(&parse(&charged_input("cp"))).unwrap();
    let c = p
        .component(r#"["(auto)", [2, 3], [1, 2, 3]]"#)
        .expect("dimer in trimer basis");
    assert_eq!(c.ghost, vec![1]);
    assert_eq!(c.symbols, vec!["He", "O", "H", "C", "H", "H", "H"]);
    assert_eq!(
        c.real_atoms,
        vec![false, true, true, true, true, true, true]
    );
    assert_eq!(c.molecular_charge, -1.0);
    assert_eq!(c.molecular_multiplicity, 2);
    assert_eq!(c.fragment_charges, vec![0.0, -1.0, 0.0]);
    assert_eq!(c.fragment_multiplicities, vec![1, 1, 2]);
    assert_eq!(c.fragments, vec![vec![0], vec![1, 2], vec![3, 4, 5, 6]]);
    assert_eq!(c.n_electrons, 19.0);
    let ai = c.atomic_input();
    assert_eq!(ai["driver"], json!("gradient"));
    assert_eq!(ai["model"]["method"], json!("hf"));
    assert_eq!(ai["molecule"]["symbols"].as_array().unwrap().len(), 7);
    let m = c.qcschema_molecule();
    assert_eq!(m["real"][0], json!(false));
    assert_eq!(m["molecular_multiplicity"], json!(2));
    // largest first
    assert!(p.components.windows(2).all(|w| w[0].cost >= w[1].cost));
    assert_eq!(p.components[0].basis, vec![1, 2, 3]);
}

fn expect_err(v: Value) -> MbeError {
    match ManyBodyInput::from_json(&v.to_string()) {
        Ok(input) => plan(&input).expect_err("plan must fail"),
        Err(e) => e,
    }
}

fn assert_msg(e: &MbeError, parts: &[&str]) {
    let msg = e.to_string();
    for p in parts {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
}

#[test]
fn overlapping_fragments_are_rejected() {
    let mut v = helium_input(3, json!({}));
    v["molecule"]["fragments"] = json!([[0, 1], [1], [2]]);
    let e = expect_err(v);
    assert!(matches!(
        e,
        MbeError::OverlappingFragments {
            atom: 1,
            first: 0,
            second: 1
        }
    ));
    assert_msg(
        &e,
        &["molecule.fragments", "atom index 1", "exactly one fragment"],
    );
}

#[test]
fn missing_fragment_atoms_are_rejected() {
    let mut v = helium_input(4, json!({}));
    v["molecule"]["fragments"] = json!([[0], [1]]);
    let e = expect_err(v);
    assert!(
        matches!(e, MbeError::MissingFragmentAtoms { ref atoms, natom: 4 } if atoms == &vec![2, 3])
    );
    assert_msg(
        &e,
        &["molecule.fragments", "[2, 3]", "add them to a fragment"],
    );
}

#[test]
fn out_of_range_negative_and_unordered_fragment_indices_are_rejected() {
    let mut v = helium_input(2, json!({}));
    v["molecule"]["fragments"] = json!([[0], [7]]);
    assert_msg(
        &expect_err(v.clone()),
        &["molecule.fragments", "7", "out of range"],
    );
    v["molecule"]["fragments"] = json!([[0], [-1]]);
    assert_msg(
        &expect_err(v.clone()),
        &["molecule.fragments[1]", "-1", "0-based"],
    );
    let mut v3 = helium_input(3, json!({}));
    v3["molecule"]["fragments"] = json!([[0, 2], [1]]);
    assert_msg(&expect_err(v3), &["molecule.fragments", "contiguous"]);
    v["molecule"]["fragments"] = json!([[0, 1]]);
    assert_msg(
        &expect_err(v.clone()),
        &["molecule.fragments", "at least two fragments"],
    );
    v["molecule"].as_object_mut().unwrap().remove("fragments");
    assert_msg(&expect_err(v), &["molecule.fragments", "missing"]);
}

#[test]
fn max_nbody_out_of_range_is_rejected() {
    let e = expect_err(helium_input(3, json!({"max_nbody": 4})));
    assert!(matches!(
        e,
        MbeError::MaxNbodyOutOfRange {
            value: 4,
            nfragments: 3
        }
    ));
    assert_msg(
        &e,
        &[
            "max_nbody",
            "4",
            "between 1 and the number of fragments (3)",
        ],
    );
    let e = expect_err(helium_input(3, json!({"max_nbody": 0})));
    assert!(matches!(e, MbeError::MaxNbodyOutOfRange { value: 0, .. }));
    let e = expect_err(helium_input(3, json!({"max_nbody": -2})));
    assert!(matches!(e, MbeError::MaxNbodyOutOfRange { value: -2, .. }));
}

#[test]
fn huge_expansions_are_refused_not_attempted() {
    let e = expect_err(helium_input(
        60,
        json!({"bsse_type": "vmfc", "max_nbody": 30}),
    ));
    assert_msg(
        &e,
        &["max_nbody", "30 (with 60 fragments)", "lower max_nbody"],
    );
    let e = expect_err(helium_input(
        300,
        json!({"bsse_type": "nocp", "max_nbody": 4}),
    ));
    assert_msg(&e, &["max_nbody", "limit"]);
}

#[test]
fn unknown_bsse_type_is_rejected() {
    let e = expect_err(helium_input(2, json!({"bsse_type": ["cp", "bogus"]})));
    assert!(matches!(e, MbeError::UnknownBsseType { ref value } if value == "bogus"));
    assert_msg(&e, &["bsse_type", "bogus", "\"nocp\", \"cp\", \"vmfc\""]);
    let e = expect_err(helium_input(2, json!({"bsse_type": []})));
    assert_msg(&e, &["bsse_type", "[]"]);
}

#[test]
fn ghost_atoms_for_programs_without_them_are_rejected() {
    assert!(!supports_ghosts("xtb"));
    assert!(!supports_ghosts("XTB"));
    assert!(supports_ghosts("psi4"));
    assert!(supports_ghosts("nwchem"));
    let mut v = helium_input(3, json!({"bsse_type": ["nocp", "cp"]}));
    v["specification"]["specification"]["(auto)"]["program"] = json!("xtb");
    let e = expect_err(v.clone());
    assert!(matches!(e, MbeError::GhostsUnsupported { .. }));
    assert_msg(&e, &["program", "xtb", "ghost", "nocp"]);
    // nocp alone is fine with xtb
    v["specification"]["keywords"]["bsse_type"] = json!("nocp");
    assert!(plan(&parse(&v)).is_ok());
    // vmfc too is rejected
    v["specification"]["keywords"]["bsse_type"] = json!("vmfc");
    assert!(matches!(
        expect_err(v.clone()),
        MbeError::GhostsUnsupported { .. }
    ));
    // multilevel: only the cp level matters; a nocp-only supersystem level may use xtb
    let mut ml = helium_input(
        3,
        json!({"bsse_type": "cp", "levels": {"2": "hi", "supersystem": "low"}}),
    );
    ml["specification"]["specification"]["hi"] =
        json!({"program": "psi4", "model": {"method": "mp2", "basis": "cc-pvdz"}});
    ml["specification"]["specification"]["low"] =
        json!({"program": "xtb", "model": {"method": "gfn2"}});
    assert!(plan(&parse(&ml)).is_ok());
}

#[test]
fn other_keyword_errors_name_field_value_and_fix() {
    let mut v = helium_input(2, json!({}));
    v["specification"]["driver"] = json!("properties");
    assert_msg(
        &expect_err(v),
        &["specification.driver", "properties", "\"energy\""],
    );

    let v = helium_input(3, json!({"supersystem_ie_only": true, "max_nbody": 2}));
    assert_msg(&expect_err(v), &["supersystem_ie_only", "max_nbody"]);
    let v = helium_input(3, json!({"supersystem_ie_only": true, "bsse_type": "vmfc"}));
    assert_msg(&expect_err(v), &["supersystem_ie_only", "vmfc"]);

    let v = helium_input(3, json!({"levels": {"1": "hi", "2": "lo"}}));
    assert_msg(&expect_err(v), &["specification.specification", "\"hi\""]);
    let v = helium_input(3, json!({"levels": {"one": "(auto)"}}));
    assert_msg(&expect_err(v), &["levels.one", "1, 2"]);
    let v = helium_input(3, json!({"levels": {"1": "(auto)", "2": "(auto)"}}));
    assert_msg(&expect_err(v), &["levels", "twice"]);
    let v = helium_input(3, json!({"embedding_charges": {"1": [0.0]}}));
    assert_msg(&expect_err(v), &["embedding_charges", "remove the field"]);

    let mut v = helium_input(2, json!({}));
    v["molecule"]["fragment_charges"] = json!([0, 1]);
    v["molecule"]["molecular_charge"] = json!(0);
    assert_msg(
        &expect_err(v),
        &["molecular_charge", "sum of fragment_charges"],
    );
    let mut v = helium_input(2, json!({}));
    v["molecule"]["fragment_multiplicities"] = json!([2, 1]);
    assert_msg(
        &expect_err(v),
        &["fragment_multiplicities[0]", "2 electrons", "odd"],
    );
    let mut v = helium_input(2, json!({}));
    v["molecule"]["symbols"] = json!(["He", "Qq"]);
    assert_msg(&expect_err(v), &["molecule.symbols[1]", "Qq"]);
    let mut v = helium_input(2, json!({}));
    v["molecule"]["geometry"] = json!([0, 0, 0, 1]);
    assert_msg(&expect_err(v), &["molecule.geometry", "4 numbers"]);
    assert!(matches!(
        ManyBodyInput::from_json("{not json"),
        Err(MbeError::Parse(_))
    ));
    assert!(matches!(
        ManyBodyInput::from_json("{}"),
        Err(MbeError::Parse(_))
    ));
}

fn energies(p: &matterstack_mbe::Plan) -> BTreeMap<String, ComponentResult> {
    p.components
        .iter()
        .map(|c| {
            let e = -2.9 * c.real.len() as f64
                - 0.001 * c.ghost.len() as f64
                - 0.0003 * (c.real.len() * c.real.len()) as f64;
            (c.label.clone(), ComponentResult::energy(e))
        })
        .collect()
}

#[test]
fn missing_components_are_all_named() {
    let p = plan(&parse(&helium_input(
        3,
        json!({"bsse_type": ["nocp", "cp"]}),
    )))
    .unwrap();
    let mut r = energies(&p);
    let gone = [
        r#"["(auto)", [1], [1, 2, 3]]"#,
        r#"["(auto)", [2, 3], [2, 3]]"#,
    ];
    for g in gone {
        assert!(r.remove(g).is_some());
    }
    let e = analyze(&p, &r).unwrap_err();
    assert!(matches!(e, MbeError::MissingComponents { count: 2, .. }));
    assert_msg(&e, &gone);
    assert_msg(&e, &["missing component results (2)"]);
}

#[test]
fn missing_or_malformed_gradients_are_rejected() {
    let mut v = helium_input(2, json!({"bsse_type": "cp"}));
    v["specification"]["driver"] = json!("gradient");
    let p = plan(&parse(&v)).unwrap();
    let r = energies(&p);
    let e = analyze(&p, &r).unwrap_err();
    assert!(
        matches!(e, MbeError::MissingProperty { ref property, count, .. } if property == "gradient" && count == p.components.len())
    );
    let mut r2 = r.clone();
    for (label, res) in r2.iter_mut() {
        let nat = p.component(label).unwrap().natom();
        res.gradient = Some(vec![0.0; 3 * nat]);
    }
    assert!(analyze(&p, &r2).is_ok());
    let first = p.components[0].label.clone();
    r2.get_mut(&first).unwrap().gradient = Some(vec![0.0; 2]);
    let e = analyze(&p, &r2).unwrap_err();
    assert_msg(&e, &[&first, "gradient", "2 numbers"]);
    r2.get_mut(&first).unwrap().gradient = Some(vec![f64::NAN; 6]);
    assert_msg(&analyze(&p, &r2).unwrap_err(), &["non-finite"]);
}

#[test]
fn single_atomic_specification_is_auto() {
    let mut v = helium_input(2, json!({"bsse_type": "nocp"}));
    v["specification"]["specification"] = json!({"program": "psi4", "model": {"method": "hf", "basis": "sto-3g"}, "driver": "energy"});
    let p = plan(&parse(&v)).unwrap();
    assert!(p.component(r#"["(auto)", [1, 2], [1, 2]]"#).is_some());
}

#[test]
fn fragment_multiplicities_without_values_must_agree_with_molecular_multiplicity() {
    let mut v = helium_input(2, json!({}));
    v["molecule"]["symbols"] = json!(["H", "H"]);
    v["molecule"]["molecular_multiplicity"] = json!(1);
    assert_msg(
        &expect_err(v.clone()),
        &[
            "fragment_multiplicities",
            "missing",
            "molecular_multiplicity is 1",
        ],
    );
    v["molecule"]["molecular_multiplicity"] = json!(3);
    let p = plan(&parse(&v)).unwrap();
    assert_eq!(p.settings.fragment_multiplicities, vec![2, 2]);
}

#[test]
fn component_results_from_json() {
    let r = matterstack_mbe::results_from_json(
        r#"{"[\"a\", [1], [1]]": {"energy": -1.5, "gradient": [[0, 0, 1]]}}"#,
    )
    .unwrap();
    let c = &r[r#"["a", [1], [1]]"#];
    assert_eq!(c.energy, -1.5);
    assert_eq!(c.gradient, Some(vec![0.0, 0.0, 1.0]));
    assert!(matches!(
        matterstack_mbe::results_from_json(r#"{"x": {"gradient": [1]}}"#),
        Err(MbeError::Parse(_))
    ));
}

#[test]
fn label_parse_errors() {
    assert!(matches!(
        Label::parse("[1, 2]"),
        Err(MbeError::BadLabel { .. })
    ));
}

#[test]
fn toml_short_form_converts_to_the_same_input() {
    let text = r#"
method = "mp2"
basis = "cc-pvdz"
program = "psi4"
bsse_type = ["cp", "nocp"]
max_nbody = 2
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
"#;
    let input = ManyBodyInput::from_toml(text).unwrap();
    let m = &input.molecule;
    assert_eq!(m.fragments, Some(vec![vec![0, 1, 2], vec![3, 4]]));
    assert_eq!(m.fragment_charges, Some(vec![0.0, -1.0]));
    assert_eq!(m.geometry[0], -1.551007 * (1.0 / 0.52917721067));
    let spec = &input.specification.specification["(auto)"];
    assert_eq!(spec.model.method, "mp2");
    assert_eq!(spec.keywords["scf_type"], json!("df"));
    // round trip through JSON reads back equal
    let back = ManyBodyInput::from_json(&input.to_json()).unwrap();
    assert_eq!(back, input);
    let p = plan(&input).unwrap();
    // cp: [1]@[1,2], [2]@[1,2], [1,2]@[1,2]; nocp: [1]@[1], [2]@[2] ([1,2]@[1,2] shared)
    assert_eq!(p.components.len(), 5);
    let c = p.component(r#"["(auto)", [2], [2]]"#).unwrap();
    assert_eq!(c.molecular_charge, -1.0);
    assert_eq!(c.molecular_multiplicity, 1);

    let multi = r#"
bsse_type = "nocp"
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
"#;
    let p = plan(&ManyBodyInput::from_toml(multi).unwrap()).unwrap();
    assert_eq!(p.settings.max_nbody, 1);
    assert_eq!(p.settings.supersystem.as_deref(), Some("lo"));
    assert!(p.component(r#"["lo", [1, 2, 3], [1, 2, 3]]"#).is_some());
}

#[test]
fn toml_short_form_errors() {
    let bad_line = "method='hf'\nprogram='psi4'\nxyz='''\nHe 0 0\n--\nHe 0 0 3\n'''\n";
    assert_msg(
        &ManyBodyInput::from_toml(bad_line).unwrap_err(),
        &["xyz line 1", "symbol x y z"],
    );
    let bad_elem = "method='hf'\nprogram='psi4'\nxyz='''\nXx 0 0 0\n--\nHe 0 0 3\n'''\n";
    assert_msg(
        &ManyBodyInput::from_toml(bad_elem).unwrap_err(),
        &["Xx", "element symbol"],
    );
    let no_method = "program='psi4'\nxyz='''\nHe 0 0 0\n--\nHe 0 0 3\n'''\n";
    assert_msg(
        &ManyBodyInput::from_toml(no_method).unwrap_err(),
        &["method", "missing"],
    );
    let unknown = "program='psi4'\nmethod='hf'\nfoo=1\nxyz='He 0 0 0'\n";
    assert!(matches!(
        ManyBodyInput::from_toml(unknown),
        Err(MbeError::Parse(_))
    ));
    let empty_frag = "method='hf'\nprogram='psi4'\nxyz='''\nHe 0 0 0\n--\n--\nHe 0 0 3\n'''\n";
    assert_msg(
        &ManyBodyInput::from_toml(empty_frag).unwrap_err(),
        &["fragment 2 is empty"],
    );
}

#[test]
fn summary_table_and_svg() {
    let p = plan(&parse(&helium_input(
        3,
        json!({"bsse_type": ["cp", "nocp"], "return_total_data": true}),
    )))
    .unwrap();
    let out = analyze(&p, &energies(&p)).unwrap();
    let table = summary_table(&out);
    assert!(table.contains("==> N-Body: Counterpoise Corrected (CP) energies <=="));
    assert!(table.contains("==> N-Body: Non-Counterpoise Corrected (NoCP) energies <=="));
    assert!(table.contains("[kcal/mol]"));
    assert!(table.contains("FULL/RTN"));
    let svg = interaction_energy_svg(&out);
    assert!(svg.starts_with("<svg"));
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<polyline").count(), 2);
    assert!(svg.contains(">CP<") && svg.contains(">NoCP<"));
    let doc = out.to_manybody_result(&p);
    assert_eq!(doc["schema_name"], json!("qcschema_manybodyresult"));
    assert_eq!(
        doc["properties"]["calcinfo_nmbe"],
        json!(p.components.len())
    );
}

#[test]
fn no_panic_on_odd_input() {
    let texts = [
        "",
        "null",
        "[]",
        "{\"specification\": 1}",
        "{\"molecule\": {}, \"specification\": {}}",
        r#"{"specification":{"driver":"energy","specification":{}},"molecule":{"symbols":[],"geometry":[]}}"#,
        r#"{"specification":{"driver":"energy","specification":{"a":{"program":"p","model":{"method":"m"}}}},"molecule":{"symbols":["He"],"geometry":[[0,0,0]],"fragments":[[0],[]]}}"#,
        r#"{"specification":{"driver":"energy","keywords":{"max_nbody":99999999999},"specification":{"model":{"method":"m"},"program":"p"}},"molecule":{"symbols":["He","He"],"geometry":[0,0,0,0,0,1],"fragments":[[0],[1]]}}"#,
        r#"{"specification":{"driver":"energy","keywords":{"levels":{"2":"a","supersystem":"b"}},"specification":{"a":{"program":"p","model":{"method":"m"}}}},"molecule":{"symbols":["He","He"],"geometry":[0,0,0,0,0,1],"fragments":[[0],[1]]}}"#,
    ];
    for t in texts {
        if let Ok(input) = ManyBodyInput::from_json(t) {
            let _ = plan(&input);
        }
    }
    for t in [
        "",
        "xyz = 3",
        "xyz = ''",
        "xyz='He 0 0 0'\nmethod='m'\nprogram='p'",
        "units='furlong'\nxyz='He 0 0 0'",
    ] {
        if let Ok(input) = ManyBodyInput::from_toml(t) {
            let _ = plan(&input);
        }
    }
}

#[test]
fn an_absurd_fragment_charge_is_an_error_naming_it_not_an_overflow() {
    // Found by the fuzzer: a charge of i64::MIN overflowed the electron count.
    let toml = "method=\"hf\"\nprogram=\"psi4\"\nbsse_type=[\"nocp\"]\nmax_nbody=2\nunits=\"angstrom\"\nxyz=\"\"\"0 1\nH 9 3 0\nH 7 0 4\n--\n-9223372036854775808 1\nO 1 1 0\nH 6 1 1\"\"\"\n";
    let e = ManyBodyInput::from_toml(toml)
        .and_then(|i| plan(&i).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("fragment_charges[1]"), "{e}");
}

#[test]
fn an_all_body_expansion_of_twenty_fragments_is_refused_at_once() {
    // Found by the fuzzer as a hang: 2^20 - 1 components were planned.
    let mut xyz = String::new();
    for i in 0..20 {
        if i > 0 {
            xyz.push_str("--\n");
        }
        xyz.push_str(&format!("Ne 0 0 {}\n", 5.5 * i as f64));
    }
    let toml =
        format!("method='hf'\nbasis='sto-3g'\nprogram='psi4'\nunits='bohr'\nxyz='''\n{xyz}'''\n");
    let start = std::time::Instant::now();
    let e = ManyBodyInput::from_toml(&toml)
        .and_then(|i| plan(&i).map(|_| ()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_nbody") && e.contains("limit 100000"), "{e}");
    eprintln!("refused in {:?}", start.elapsed());
}
