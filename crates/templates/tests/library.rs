//! Lookup order (workspace templates/ > user directory > shipped library), loading
//! from directories, and the JSON Schema export.

use std::path::{Path, PathBuf};

use matterstack_templates::{builtin, builtin_names, find, list, search_dirs, Origin};
use serde_json::{json, Map, Value};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ms-templates-lib-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_template(root: &Path, name: &str, marker: &str) {
    let d = root.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("template.toml"),
        format!(
            "name = \"{name}\"\ndescription = \"{marker}\"\nprogram = \"psi4\"\nfiles = [\"input.dat\"]\n\
             command = \"psi4 input.dat output.dat\"\noutput = \"output.dat\"\nparser = \"psi4\"\n\
             [[parameters]]\nname = \"basis\"\ntype = \"select\"\noptions = [\"sto-3g\"]\ndefault = \"sto-3g\"\nhelp = \"h\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("input.dat"),
        format!("# {marker}\nset basis {{{{ basis }}}}\n"),
    )
    .unwrap();
}

#[test]
fn lookup_order_workspace_then_user_then_builtin() {
    let ws = tmp("ws");
    let user = tmp("user");
    let dirs = search_dirs(Some(&ws), Some(&user));
    assert_eq!(dirs, vec![ws.join("templates"), user.clone()]);

    // nothing overridden: the shipped template
    let t = find("psi4/energy", &dirs).unwrap();
    assert_eq!(t.origin, Origin::Builtin);

    // the user directory overrides the shipped library
    write_template(&user, "psi4/energy", "user copy");
    let t = find("psi4/energy", &dirs).unwrap();
    assert_eq!(t.manifest.description, "user copy");
    assert_eq!(t.origin, Origin::Dir(user.join("psi4/energy")));

    // the workspace overrides the user directory
    write_template(&ws.join("templates"), "psi4/energy", "workspace copy");
    let t = find("psi4/energy", &dirs).unwrap();
    assert_eq!(t.manifest.description, "workspace copy");
    let r = t.render(&Map::new()).unwrap();
    assert_eq!(r.files["input.dat"], "# workspace copy\nset basis sto-3g\n");

    // a new template only in the user directory is found and listed
    write_template(&user, "mine/custom", "custom");
    assert_eq!(
        find("mine/custom", &dirs).unwrap().manifest.description,
        "custom"
    );
    let entries = list(&dirs);
    let e = entries.iter().find(|e| e.name == "psi4/energy").unwrap();
    assert_eq!(e.description, "workspace copy");
    assert!(entries.iter().any(|e| e.name == "mine/custom"));
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.origin == Origin::Builtin)
            .count(),
        builtin_names().len() - 1
    );

    std::fs::remove_dir_all(&ws).unwrap();
    std::fs::remove_dir_all(&user).unwrap();
}

#[test]
fn broken_override_is_an_error_not_skipped() {
    let user = tmp("broken");
    write_template(&user, "xtb/sp", "broken");
    std::fs::write(user.join("xtb/sp/input.dat"), "{{ undeclared }}\n").unwrap();
    let e = find("xtb/sp", std::slice::from_ref(&user))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("variable 'undeclared' is used but not declared"),
        "{e}"
    );
    let entries = list(std::slice::from_ref(&user));
    let e = entries.iter().find(|e| e.name == "xtb/sp").unwrap();
    assert!(e.error.as_deref().unwrap().contains("undeclared"));
    std::fs::remove_dir_all(&user).unwrap();
}

#[test]
fn name_mismatch_and_missing_dirs() {
    let user = tmp("mismatch");
    write_template(&user, "a/b", "x");
    std::fs::rename(user.join("a/b"), user.join("a/c")).unwrap();
    let e = find("a/c", std::slice::from_ref(&user))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("name 'a/b' differs from the template's directory 'a/c'"),
        "{e}"
    );
    // directories that do not exist are skipped
    assert!(find("xtb/opt", &[PathBuf::from("/nonexistent/templates")]).is_ok());
    std::fs::remove_dir_all(&user).unwrap();
}

#[test]
fn not_found_suggests_a_name() {
    let e = find("psi4/enrgy", &[]).unwrap_err().to_string();
    assert_eq!(
        e,
        "no template named 'psi4/enrgy' (did you mean `psi4/energy`?)"
    );
    let e = find("../../etc", &[]).unwrap_err().to_string();
    assert!(
        e.starts_with("no template named '../../etc' (template names are lower-case"),
        "{e}"
    );
    let e = builtin("nope/nothing").unwrap_err().to_string();
    assert_eq!(e, "no template named 'nope/nothing'");
}

#[test]
fn json_schema_for_forms() {
    let t = builtin("psi4/energy").unwrap();
    let s = t.json_schema();
    assert_eq!(s["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(s["type"], "object");
    assert_eq!(s["title"], "psi4/energy");
    assert_eq!(s["additionalProperties"], false);
    let basis = &s["properties"]["basis"];
    assert_eq!(basis["type"], "string");
    assert_eq!(basis["default"], "cc-pvdz");
    assert!(basis["enum"]
        .as_array()
        .unwrap()
        .contains(&json!("aug-cc-pvtz")));
    let maxiter = &s["properties"]["maxiter"];
    assert_eq!(maxiter["type"], "integer");
    assert_eq!(maxiter["minimum"], 1);
    assert_eq!(maxiter["maximum"], 1000);
    assert_eq!(
        maxiter["description"],
        "Maximum SCF iterations; psi4 stops with an error when they are exceeded."
    );
    assert_eq!(s["properties"]["memory_mb"]["x-units"], "MB");
    assert_eq!(
        s["properties"]["molecule"]["contentMediaType"],
        "chemical/x-xyz"
    );
    assert_eq!(s["x-order"][0], "molecule");
    // depends_on becomes if/then and an annotation
    let c = builtin("crystal/scf").unwrap().json_schema();
    assert_eq!(
        c["properties"]["structure_file"]["x-depends-on"],
        json!({"param": "geometry", "values": ["external"]})
    );
    assert_eq!(
        c["allOf"][0],
        json!({"if": {"properties": {"geometry": {"enum": ["external"]}}, "required": ["geometry"]}, "then": {"required": ["structure_file"]}})
    );
    let slurm = builtin("slurm/job").unwrap().json_schema();
    assert_eq!(
        slurm["properties"]["walltime"]["pattern"],
        r"^\s*([0-9]+-)?[0-9]+:[0-5][0-9]:[0-5][0-9]\s*$"
    );
}

/// Every default satisfies the schema's own enum/minimum/maximum/type.
#[test]
fn schemas_agree_with_defaults() {
    for name in builtin_names() {
        let t = builtin(name).unwrap();
        let s = t.json_schema();
        for (pname, prop) in s["properties"].as_object().unwrap() {
            let Some(d) = prop.get("default") else {
                continue;
            };
            match prop["type"].as_str().unwrap() {
                "integer" => assert!(d.is_i64(), "{name}.{pname}"),
                "number" => assert!(d.is_number(), "{name}.{pname}"),
                "boolean" => assert!(d.is_boolean(), "{name}.{pname}"),
                "string" => assert!(d.is_string(), "{name}.{pname}"),
                "array" => assert!(d.is_array(), "{name}.{pname}"),
                other => panic!("{other}"),
            }
            if let Some(e) = prop.get("enum") {
                assert!(e.as_array().unwrap().contains(d), "{name}.{pname}");
            }
            if let (Some(m), Some(x)) = (prop.get("minimum").and_then(Value::as_f64), d.as_f64()) {
                assert!(x >= m, "{name}.{pname}");
            }
            if let (Some(m), Some(x)) = (prop.get("maximum").and_then(Value::as_f64), d.as_f64()) {
                assert!(x <= m, "{name}.{pname}");
            }
        }
    }
}

/// A calculation template's setup and command go into a job script template.
#[test]
fn calculation_inside_a_job_script() {
    let calc = builtin("crystal/scf").unwrap();
    let r = calc.render(&Map::new()).unwrap();
    assert_eq!(
        r.shell_command(),
        "source ~/'CRYSTAL23/utils23/cry23.bashrc'\nexport OMP_NUM_THREADS=1\ncrystalOMP < input.d12 > output.out"
    );
    let job = builtin("slurm/job").unwrap();
    let mut m = Map::new();
    m.insert("command".into(), Value::String(r.shell_command()));
    m.insert("job_name".into(), Value::String("mgo-scf".into()));
    let script = job.render(&m).unwrap().files["job.sh"].clone();
    assert!(script.contains("(\nsource ~/'CRYSTAL23/utils23/cry23.bashrc'\nexport OMP_NUM_THREADS=1\ncrystalOMP < input.d12 > output.out\n)\n"), "{script}");
    assert!(script.contains("#SBATCH --job-name=mgo-scf\n"));
}
