//! Fuzz targets for the template parsers (a template directory: `template.toml` and its
//! Jinja files; parameter files in TOML and JSON) and for every program-output parser,
//! seeded with the shipped library, the golden fixtures and the real outputs in
//! `../shared/realdata/parsers/` (see `matterstack-fuzz`; `MATTERSTACK_FUZZ_SECS` each).

use std::collections::BTreeMap;
use std::path::Path;

use matterstack_fuzz::{seeds, Target};
use matterstack_templates::parsers::{MAX_MESSAGES, PROGRAMS};
use matterstack_templates::{
    builtin, builtin_names, params_from_json, params_from_toml, parse_output, Origin, Template,
};

/// One template directory as a single fuzz input: `template.toml`, then each file after a
/// `\n%%% file <name>\n` line, so mutations reach the manifest and the Jinja sources alike.
const FILE_MARK: &str = "\n%%% file ";

fn bundle(dir: &Path) -> Option<Vec<u8>> {
    let mut out = std::fs::read_to_string(dir.join("template.toml")).ok()?;
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "template.toml")
        .collect();
    names.sort();
    for n in names {
        let text = std::fs::read_to_string(dir.join(&n)).ok()?;
        out.push_str(&format!("{FILE_MARK}{n}\n{text}"));
    }
    Some(out.into_bytes())
}

fn unbundle(input: &str) -> (&str, BTreeMap<String, String>) {
    let mut parts = input.split(FILE_MARK);
    let manifest = parts.next().unwrap_or("");
    let sources = parts
        .map(|p| {
            let (name, text) = p.split_once('\n').unwrap_or((p, ""));
            (name.to_string(), text.to_string())
        })
        .collect();
    (manifest, sources)
}

fn library_bundles() -> Vec<Vec<u8>> {
    let lib = seeds::repo("crates/templates/library");
    let mut dirs = Vec::new();
    for program in std::fs::read_dir(&lib).into_iter().flatten().flatten() {
        for t in std::fs::read_dir(program.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            dirs.push(t.path());
        }
    }
    dirs.sort();
    dirs.iter().filter_map(|d| bundle(d)).collect()
}

#[test]
fn fuzz_template_dir() {
    Target::new("template-toml")
        .seeds(library_bundles())
        .run_text(|input| {
            let (manifest, sources) = unbundle(input);
            match Template::from_sources("fuzz", manifest, sources, Origin::Memory) {
                Ok(t) => {
                    let _ = t.json_schema();
                    let _ = t.unused_parameters();
                    // rendering what the template declares as defaults must not panic either
                    let _ = t.render(&t.defaults());
                }
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        });
}

#[test]
fn fuzz_template_params() {
    let mut seeds = Vec::new();
    for name in builtin_names() {
        let t = builtin(name).expect("a shipped template loads");
        let d = t.defaults();
        seeds.push(serde_json::to_vec_pretty(&d).expect("json"));
        if let Ok(text) = toml::to_string(&d) {
            seeds.push(text.into_bytes());
        }
    }
    let templates: Vec<Template> = ["psi4/energy", "crystal/opt", "gromacs/md", "slurm/job"]
        .iter()
        .filter_map(|n| builtin(n).ok())
        .collect();
    assert!(!templates.is_empty());
    Target::new("template-params")
        .seeds(seeds)
        .run_text(move |text| {
            for map in [
                params_from_toml(text, "params.toml").ok(),
                params_from_json(text, "params.json").ok(),
            ]
            .into_iter()
            .flatten()
            {
                for t in &templates {
                    let _ = t.render(&map);
                }
            }
        });
}

fn output_target(program: &'static str) {
    let seeds: Vec<Vec<u8>> =
        seeds::files(&seeds::shared(&format!("realdata/parsers/{program}")), &[])
            .into_iter()
            .chain(seeds::files(
                &seeds::repo(&format!("crates/templates/tests/data/{program}")),
                &[],
            ))
            .collect();
    Target::new(&format!("parser-{program}"))
        .seeds(seeds)
        .max_len(32 * 1024)
        .run_text(move |text| {
            let out = parse_output(program, text).expect("a parser for every listed program");
            assert_eq!(out.program, program);
            assert!(out.warnings.len() <= MAX_MESSAGES && out.errors.len() <= MAX_MESSAGES);
            // what the engine stores in tasks.results
            serde_json::to_string(&out).expect("parsed output serializes");
        });
}

#[test]
fn fuzz_every_program_has_a_target() {
    assert_eq!(
        PROGRAMS,
        ["cp2k", "crystal", "gromacs", "lammps", "namd", "psi4", "qe", "xtb"]
    );
}

#[test]
fn fuzz_parser_cp2k() {
    output_target("cp2k");
}

#[test]
fn fuzz_parser_crystal() {
    output_target("crystal");
}

#[test]
fn fuzz_parser_gromacs() {
    output_target("gromacs");
}

#[test]
fn fuzz_parser_lammps() {
    output_target("lammps");
}

#[test]
fn fuzz_parser_namd() {
    output_target("namd");
}

#[test]
fn fuzz_parser_psi4() {
    output_target("psi4");
}

#[test]
fn fuzz_parser_qe() {
    output_target("qe");
}

#[test]
fn fuzz_parser_xtb() {
    output_target("xtb");
}
