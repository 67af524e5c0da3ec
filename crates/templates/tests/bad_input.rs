//! Bad input gets a clear error naming parameter, value and rule, and nothing is written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use matterstack_templates::{
    builtin, params_from_json, params_from_toml, render_to_dir, Origin, Template, TemplateError,
};
use serde_json::{json, Map, Value};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ms-templates-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn map(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn assert_nothing_written(dir: &std::path::Path) {
    assert!(!dir.exists(), "{} was created", dir.display());
    let parent = dir.parent().unwrap();
    let base = dir.file_name().unwrap().to_string_lossy().to_string();
    for e in std::fs::read_dir(parent).unwrap().flatten() {
        let n = e.file_name().to_string_lossy().to_string();
        assert!(
            !n.starts_with(&format!(".{base}.staging")),
            "staging dir left: {n}"
        );
    }
}

/// Renders into a fresh directory expecting failure; returns the error text.
fn fails(template: &str, input: Value, label: &str) -> String {
    let t = builtin(template).unwrap();
    let dir = tmp(label);
    let e = render_to_dir(&t, &map(input), &dir).unwrap_err();
    assert_nothing_written(&dir);
    e.to_string()
}

#[test]
fn out_of_range() {
    let e = fails("psi4/energy", json!({"maxiter": 0}), "range");
    assert_eq!(
        e,
        "parameter 'maxiter': value 0 is out of range (min 1, max 1000)"
    );
    let e = fails("gromacs/md", json!({"temperature": 2500.5}), "range2");
    assert_eq!(
        e,
        "parameter 'temperature': value 2500.5 is out of range (min 0, max 2000, in K)"
    );
}

#[test]
fn wrong_type() {
    let e = fails("psi4/energy", json!({"charge": "abc"}), "type1");
    assert_eq!(e, "parameter 'charge': \"abc\" is not an integer");
    let e = fails("xtb/sp", json!({"accuracy": "fast"}), "type2");
    assert_eq!(e, "parameter 'accuracy': \"fast\" is not a number");
    let e = fails("psi4/hessian", json!({"frequencies": "maybe"}), "type3");
    assert_eq!(
        e,
        "parameter 'frequencies': \"maybe\" is not a boolean (use true or false)"
    );
    let e = fails("psi4/energy", json!({"charge": 1.5}), "type4");
    assert_eq!(e, "parameter 'charge': 1.5 is not an integer");
}

#[test]
fn not_an_option() {
    let e = fails("psi4/energy", json!({"basis": "cc-PVDZ"}), "opt");
    assert!(
        e.starts_with("parameter 'basis': value \"cc-PVDZ\" is not one of [\"sto-3g\", \"6-31g*\""),
        "{e}"
    );
    assert!(e.ends_with("(did you mean `cc-pvdz`?)"), "{e}");
}

#[test]
fn missing_required() {
    // required only when another parameter makes it relevant (depends_on)
    let e = fails(
        "crystal/scf",
        json!({"geometry": "external", "structure_file": null}),
        "req",
    );
    assert_eq!(
        e,
        "parameter 'structure_file': missing required file value (needed because 'geometry' is \"external\"): \
         Geometry file in CRYSTAL fort.34 format, copied to fort.34 before the run."
    );
    // an always-required parameter without default
    let t = Template::from_sources(
        "t",
        "name = \"t/req\"\ndescription = \"d\"\nprogram = \"x\"\nfiles = [\"in\"]\n\
         [[parameters]]\nname = \"cores\"\ntype = \"integer\"\nrequired = true\nhelp = \"h\"\n",
        BTreeMap::from([("in".to_string(), "{{ cores }}\n".to_string())]),
        Origin::Memory,
    )
    .unwrap();
    let dir = tmp("req2");
    let e = render_to_dir(&t, &Map::new(), &dir)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "parameter 'cores': missing required integer value: h");
    assert_nothing_written(&dir);
}

#[test]
fn unknown_parameter_with_suggestion() {
    let e = fails("psi4/energy", json!({"bassis": "cc-pvdz"}), "unknown");
    assert!(
        e.starts_with("parameter 'bassis': unknown parameter (did you mean `basis`?); this template takes: molecule, charge,"),
        "{e}"
    );
    let t = builtin("slurm/job").unwrap();
    let e = t
        .validate_assignments(&["wall_time=01:00:00"])
        .unwrap_err()
        .to_string();
    assert!(e.contains("(did you mean `walltime`?)"), "{e}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let e = fails(
        "slurm/job",
        json!({"memory": "64", "walltime": "2h", "job_name": "bad name", "cores": 0}),
        "many",
    );
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 4, "{e}");
    assert!(
        e.contains("parameter 'memory': \"64\" has no valid unit"),
        "{e}"
    );
    assert!(
        e.contains("parameter 'walltime': \"2h\" is not a walltime (write HH:MM:SS or D-HH:MM:SS)"),
        "{e}"
    );
    assert!(
        e.contains("parameter 'job_name': \"bad name\" is not a valid name"),
        "{e}"
    );
    assert!(
        e.contains("parameter 'cores': value 0 is out of range (min 1, max 1000000)"),
        "{e}"
    );
}

#[test]
fn bad_structures_and_files() {
    let e = fails(
        "psi4/energy",
        json!({"molecule": "3\nwater\nO 0 0 0\nH 0 0 1\n"}),
        "xyz",
    );
    assert!(e.contains("parameter 'molecule'"), "{e}");
    assert!(
        e.contains("xyz: line 1 says 3 atoms but 2 atom lines follow the comment line"),
        "{e}"
    );
    let e = fails(
        "gromacs/em",
        json!({"topology": "../other/topol.top"}),
        "path",
    );
    assert_eq!(
        e,
        "parameter 'topology': \"../other/topol.top\": file name must not contain `..`"
    );
    let e = fails("gromacs/em", json!({"structure": "conf.xyz"}), "ext");
    assert_eq!(
        e,
        "parameter 'structure': \"conf.xyz\" does not end with one of [.gro, .pdb]"
    );
    let e = fails("crystal/scf", json!({"atoms": "12 0 0\n"}), "atoms");
    assert!(e.contains("line 1: expected `Z x y z`"), "{e}");
    let e = fails("psi4/energy", json!({"ghost_atoms": "4-x"}), "ghost");
    assert!(
        e.contains("parameter 'ghost_atoms': \"4-x\" in \"4-x\" is not an index or range"),
        "{e}"
    );
    let e = fails("slurm/job", json!({"job_name": "x\ny"}), "newline");
    assert!(e.contains("contains a line break"), "{e}");
}

#[test]
fn params_files_are_typed_by_the_schema() {
    let t = builtin("psi4/energy").unwrap();
    let m = params_from_toml(
        "basis = \"cc-pvtz\"\ncharge = 1\nmultiplicity = 2\nreference = \"uhf\"\n",
        "p.toml",
    )
    .unwrap();
    assert!(t.render(&m).is_ok());
    let m = params_from_json("{\"charge\": \"x\"}", "p.json").unwrap();
    assert_eq!(
        t.render(&m).unwrap_err().to_string(),
        "parameter 'charge': \"x\" is not an integer"
    );
    let e = params_from_toml("charge = ", "p.toml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("parameters file 'p.toml': "), "{e}");
}

fn manifest(body: &str) -> String {
    format!(
        "name = \"test/t\"\ndescription = \"d\"\nprogram = \"x\"\nfiles = [\"input.dat\"]\n{body}\
         [[parameters]]\nname = \"basis\"\ntype = \"string\"\ndefault = \"sto-3g\"\nhelp = \"h\"\n"
    )
}

fn load(src: &str, body: &str) -> Result<Template, TemplateError> {
    Template::from_sources(
        "test/t",
        &manifest(body),
        BTreeMap::from([("input.dat".to_string(), src.to_string())]),
        Origin::Memory,
    )
}

#[test]
fn template_syntax_error_has_file_line_and_column() {
    let e = load("line one\nset basis {{ basis }\n", "").unwrap_err();
    match &e {
        TemplateError::Syntax {
            file, line, column, ..
        } => {
            assert_eq!(file, "input.dat");
            assert_eq!(*line, 2);
            assert_eq!(*column, 20, "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        e.to_string()
            .starts_with("template 'test/t': input.dat:2:20: syntax error: "),
        "{e}"
    );
    let e = load("{% if basis %}\nno end\n", "")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("template 'test/t': input.dat:"), "{e}");
    assert!(e.contains("syntax error"), "{e}");
    // the command is checked too
    let e = load("{{ basis }}\n", "command = \"run {{ basis \"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("template 'test/t': template.toml:command:1:"),
        "{e}"
    );
}

#[test]
fn undeclared_variable_is_a_load_error() {
    let e = load("set basis {{ bassis }}\n", "").unwrap_err();
    assert_eq!(
        e.to_string(),
        "template 'test/t': input.dat: variable 'bassis' is used but not declared in template.toml (did you mean `basis`?)"
    );
    let e = load("{{ basis }}\n", "command = \"psi4 -n {{ threads }}\"\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "template 'test/t': template.toml:command: variable 'threads' is used but not declared in template.toml"
    );
}

#[test]
fn templates_cannot_read_files() {
    let t = load("{% include \"/etc/passwd\" %}\n{{ basis }}\n", "").unwrap();
    let dir = tmp("include");
    let e = render_to_dir(&t, &Map::new(), &dir)
        .unwrap_err()
        .to_string();
    assert!(e.contains("render error"), "{e}");
    assert!(!e.contains("root:"), "{e}");
    assert_nothing_written(&dir);
}

#[test]
fn bad_manifests() {
    let e = Template::from_sources("x", "name = \"x\"\n", BTreeMap::new(), Origin::Memory)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("template 'x': template.toml: "), "{e}");
    assert!(e.contains("missing field `description`"), "{e}");
    let e = load("{{ basis }}", "parser = \"psi5\"\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("parser 'psi5' is not known") && e.contains("did you mean `psi4`"),
        "{e}"
    );
    let e = Template::from_sources("x", &manifest(""), BTreeMap::new(), Origin::Memory)
        .unwrap_err()
        .to_string();
    assert!(e.contains("file 'input.dat' is listed but missing"), "{e}");
    let bad_default =
        "name = \"test/t\"\ndescription = \"d\"\nprogram = \"x\"\nfiles = [\"input.dat\"]\n\
        [[parameters]]\nname = \"n\"\ntype = \"integer\"\nmin = 1\ndefault = 0\nhelp = \"h\"\n";
    let e = Template::from_sources(
        "x",
        bad_default,
        BTreeMap::from([("input.dat".to_string(), "{{ n }}".to_string())]),
        Origin::Memory,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("parameter 'n': default is invalid: value 0 is out of range (min 1)"),
        "{e}"
    );
}

#[test]
fn render_errors_name_file_and_line_and_write_nothing() {
    // validation passes, but the xyz filter refuses a string that is not xyz
    let src = "a\n{% for a in basis | xyz_atoms %}{{ a.symbol }}{% endfor %}\n";
    let t = load(src, "").unwrap();
    let dir = tmp("render");
    let e = render_to_dir(&t, &Map::new(), &dir)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("template 'test/t': input.dat:2: render error: "),
        "{e}"
    );
    assert_nothing_written(&dir);
}

#[test]
fn writing_never_overwrites_and_is_all_or_nothing() {
    let t = builtin("gromacs/em").unwrap();
    let dir = tmp("existing");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("em.mdp"), "mine\n").unwrap();
    let e = render_to_dir(&t, &Map::new(), &dir)
        .unwrap_err()
        .to_string();
    assert!(e.contains("file exists; refusing to overwrite"), "{e}");
    assert_eq!(
        std::fs::read_to_string(dir.join("em.mdp")).unwrap(),
        "mine\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    // into a fresh directory: complete
    let r = render_to_dir(&t, &Map::new(), &dir).unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.join("em.mdp")).unwrap(),
        r.files["em.mdp"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn crystal_lattice_must_fit_the_space_group() {
    let e = fails(
        "crystal/opt",
        json!({"space_group": 136, "lattice_parameters": "4.59"}),
        "lattice",
    );
    assert_eq!(
        e,
        "template 'crystal/opt': input.d12:6: render error: space group 136 needs 2 lattice parameters (tetragonal: a c), got 1: \"4.59\""
    );
}
