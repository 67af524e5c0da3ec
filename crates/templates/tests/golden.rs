//! Golden tests of the shipped library: every template rendered with its defaults and
//! with edge values equals a reviewed file under `tests/golden/`.
//!
//! Regenerate with `UPDATE_GOLDEN=1 cargo test --test golden`, then review the diff.

use std::collections::BTreeMap;
use std::path::PathBuf;

use matterstack_templates::{builtin, builtin_names, ParamType, Rendered, Template};
use serde_json::{Map, Value};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// One text holding every rendered file, the setup lines, the command and, for templates
/// that can restart, the checkpoint files and the restart command.
fn dump(r: &Rendered) -> String {
    let mut s = String::new();
    for (name, text) in &r.files {
        s.push_str(&format!("===== file: {name} =====\n{text}"));
        if !text.ends_with('\n') {
            s.push_str("\n[no newline at end of file]\n");
        }
    }
    for line in &r.setup {
        s.push_str(&format!("===== setup =====\n{line}\n"));
    }
    s.push_str(&format!("===== command =====\n{}\n", r.command));
    if !r.checkpoint.is_empty() {
        s.push_str(&format!(
            "===== checkpoint =====\n{}\n",
            r.checkpoint.join("\n")
        ));
    }
    if let Some(restart) = &r.restart_command {
        s.push_str(&format!("===== restart command =====\n{restart}\n"));
    }
    s
}

fn num(p: &matterstack_templates::ParamSpec, x: f64) -> Value {
    if p.kind == ParamType::Integer {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

/// Generated edge cases: every numeric parameter at its minimum / maximum, every
/// boolean flipped, and the i-th option of every select parameter.
fn edge_cases(t: &Template) -> Vec<(String, Map<String, Value>)> {
    let mut cases = vec![("defaults".to_string(), Map::new())];
    let mut min = Map::new();
    let mut max = Map::new();
    let mut flip = Map::new();
    for p in t.params() {
        if let Some(m) = p.min {
            min.insert(p.name.clone(), num(p, m));
        }
        if let Some(m) = p.max {
            max.insert(p.name.clone(), num(p, m));
        }
        if p.kind == ParamType::Boolean {
            let d = p.default.as_ref().and_then(Value::as_bool).unwrap_or(false);
            flip.insert(p.name.clone(), Value::Bool(!d));
        }
    }
    for (name, m) in [("min", min), ("max", max), ("flip", flip)] {
        if !m.is_empty() {
            cases.push((name.to_string(), m));
        }
    }
    let mut cases = add_selects(t, cases);
    for (_, m) in cases.iter_mut() {
        fill_required(t, m);
    }
    cases
}

/// Required parameters without default that a case makes relevant get a sample value;
/// CRYSTAL lattice parameters are made to fit the space group of the case.
fn fill_required(t: &Template, m: &mut Map<String, Value>) {
    if let Some(sg) = m.get("space_group").and_then(Value::as_i64) {
        let lattice = match sg {
            1..=2 => "5.1 6.2 7.3 80.0 85.0 95.0",
            3..=15 => "5.1 6.2 7.3 95.0",
            16..=74 => "5.1 6.2 7.3",
            75..=194 => "5.1 7.3",
            _ => "5.1",
        };
        m.insert("lattice_parameters".into(), Value::String(lattice.into()));
    }
    if let Err(errors) = t.validate(m) {
        for e in errors.0 {
            if e.message.starts_with("missing required") {
                let p = t.params().iter().find(|p| p.name == e.param).unwrap();
                let sample = match p.kind {
                    ParamType::File => format!(
                        "sample{}",
                        p.extensions.first().map(String::as_str).unwrap_or(".dat")
                    ),
                    // qe: ibrav = 0 (the minimum) needs the lattice vectors.
                    ParamType::String if p.name == "cell_parameters" => {
                        "5.0 0.0 0.0\n0.0 5.0 0.0\n0.0 0.0 5.0".to_string()
                    }
                    _ => panic!("{}: no sample for required {}", t.name(), p.name),
                };
                m.insert(p.name.clone(), Value::String(sample));
            }
        }
    }
}

fn add_selects(
    t: &Template,
    mut cases: Vec<(String, Map<String, Value>)>,
) -> Vec<(String, Map<String, Value>)> {
    let longest = t
        .params()
        .iter()
        .filter(|p| p.kind == ParamType::Select)
        .map(|p| p.options.len())
        .max()
        .unwrap_or(0);
    for i in 1..longest {
        let mut m = Map::new();
        for p in t.params().iter().filter(|p| p.kind == ParamType::Select) {
            m.insert(
                p.name.clone(),
                Value::String(p.options[i % p.options.len()].clone()),
            );
        }
        cases.push((format!("option{i}"), m));
    }
    cases
}

/// Hand-written realistic cases.
fn extra_cases() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        (
            "psi4/energy",
            "ghost_monomer",
            vec!["ghost_atoms=4-6", "basis=aug-cc-pvdz"],
        ),
        (
            "psi4/gradient",
            "b3lyp",
            vec!["method=b3lyp", "basis=def2-svp", "scf_type=df"],
        ),
        (
            "psi4/hessian",
            "frequencies",
            vec!["frequencies=true", "basis=sto-3g"],
        ),
        (
            "xtb/opt",
            "charged_solvated",
            vec!["charge=-1", "solvent=water", "level=tight"],
        ),
        ("gromacs/md", "restart", vec!["restart=true", "threads=8"]),
        (
            "gromacs/md",
            "nvt",
            vec!["ensemble=nvt", "tc_groups=Protein Non-Protein"],
        ),
        (
            "gromacs/nvt",
            "two_groups",
            vec!["tc_groups=Protein Non-Protein", "position_restraints=false"],
        ),
        (
            "cp2k/energy",
            "isolated_radical",
            vec![
                "molecule=2\nOH radical\nO 0.0 0.0 0.0\nH 0.0 0.0 0.97",
                "multiplicity=2",
                "periodic=NONE",
                "cell=10.0 10.0 10.0",
                "functional=BLYP",
                "threads=4",
            ],
        ),
        (
            "cp2k/geo_opt",
            "restartable_mpi",
            vec![
                "walltime_seconds=3500",
                "project=water",
                "launcher=mpirun",
                "processes=4",
                "optimizer=LBFGS",
            ],
        ),
        (
            "lammps/nvt",
            "from_data_real_units",
            vec![
                "system=data",
                "data_file=min.data",
                "units=real",
                "atom_style=full",
                "pair_style=lj/cut/coul/cut 10.0",
                "pair_coeff=1 1 0.1553 3.166\n2 2 0.0 0.0\n\n1 2 0.0 0.0",
                "create_velocities=false",
                "temperature=300",
                "tdamp=100",
                "timestep=1.0",
                "launcher=mpirun",
                "processes=8",
            ],
        ),
        (
            "lammps/min",
            "displaced_srun",
            vec!["displace=0.05", "seed=7", "launcher=srun", "min_style=fire"],
        ),
        (
            "qe/scf",
            "ibrav0_metal",
            vec![
                "ibrav=0",
                "cell_parameters=0.0 2.025 2.025\n2.025 0.0 2.025\n2.025 2.025 0.0",
                "species=Al 26.98 Al.pbe-n-kjpaw_psl.1.0.0.UPF",
                "positions=Al 0.0 0.0 0.0",
                "position_units=angstrom",
                "occupations=smearing",
                "ecutrho=240",
                "kpoints=8 8 8",
                "kpoint_shift=1 1 1",
                "forces=true",
                "launcher=mpirun",
                "processes=4",
            ],
        ),
        (
            "qe/relax",
            "restartable",
            vec![
                "max_seconds=3000",
                "prefix=si",
                "launcher=srun",
                "nstep=200",
            ],
        ),
        (
            "crystal/scf",
            "external_parallel",
            vec![
                "geometry=external",
                "structure_file=mgo.gui",
                "parallel=true",
                "omp_threads=4",
            ],
        ),
        (
            "crystal/scf",
            "uhf_spinlock",
            vec![
                "hamiltonian=HF",
                "spin_polarized=true",
                "spinlock=2",
                "mulliken=true",
            ],
        ),
        (
            "crystal/opt",
            "rutile",
            vec![
                "title=TiO2 rutile",
                "space_group=136",
                "lattice_parameters=4.5937 2.9587",
                "atoms=22 0.0 0.0 0.0\n8 0.3053 0.3053 0.0",
                "opt_type=ATOMONLY",
            ],
        ),
        (
            "crystal/dos",
            "energy_window",
            vec![
                "range=energy",
                "emin=-0.247",
                "emax=-0.047",
                "wavefunction=scf.f9",
            ],
        ),
        (
            "crystal/bands",
            "from_scf",
            vec!["wavefunction=scf.f9", "points=400", "last_band=40"],
        ),
        (
            "namd/min",
            "restrained",
            vec![
                "restraints=true",
                "restraint_scaling=5.0",
                "cell_size=64.5 70.0 81.25",
                "cell_origin=1.5 -2.0 0.25",
            ],
        ),
        (
            "namd/nvt",
            "released",
            vec![
                "restraint_scaling=0.1",
                "launcher=srun",
                "namd_binary=namd2",
            ],
        ),
        (
            "namd/npt",
            "nvt_release",
            vec!["restraints=false", "cores=32"],
        ),
        (
            "namd/production",
            "nvt",
            vec!["ensemble=nvt", "steps=1000000"],
        ),
        (
            "namd/restart",
            "step_250000",
            vec![
                "restart_prefix=prod.restart",
                "first_timestep=250000",
                "steps=250000",
            ],
        ),
        (
            "slurm/job",
            "everything",
            vec![
                "job_name=water-dimer",
                "comment=ms-1f2e",
                "cores=200",
                "cpus_per_task=2",
                "cores_per_node=128",
                "memory=64GB",
                "walltime=2-00:00:00",
                "partition=amilan",
                "qos=normal",
                "account=ucb-general",
                "gres=gpu:a100:1",
                "constraint=ib",
                "array=0-9%2",
                "modules=gcc/11.2.0 openmpi namd/3.0",
                "module_purge=true",
                "setup=source ~/CRYSTAL23/utils23/cry23.bashrc",
                "command=srun namd3 config.namd > output.log",
            ],
        ),
        (
            "pbs/job",
            "everything",
            vec![
                "job_name=sweep",
                "cores=96",
                "cpus_per_task=4",
                "cores_per_node=48",
                "memory=180GB",
                "walltime=1-12:30:00",
                "queue=workq",
                "account=proj42",
                "array=1-20",
                "modules=crystal/23",
                "command=mpiexec PcrystalOMP",
            ],
        ),
    ]
}

fn golden_path(template: &str, case: &str) -> PathBuf {
    golden_dir().join(template).join(format!("{case}.txt"))
}

fn check(template: &str, case: &str, r: &Rendered, failures: &mut Vec<String>) {
    let path = golden_path(template, case);
    let text = dump(r);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == text => {}
        Ok(expected) => {
            let (n, (want, got)) = expected
                .lines()
                .chain(std::iter::repeat("<end of file>"))
                .zip(text.lines().chain(std::iter::repeat("<end of file>")))
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .unwrap_or((0, ("", "")));
            failures.push(format!(
                "{}:{}: expected {want:?}, rendered {got:?} (UPDATE_GOLDEN=1 to regenerate, then review)",
                path.display(),
                n + 1
            ))
        }
        Err(_) => failures.push(format!(
            "{}: missing (UPDATE_GOLDEN=1 to create)",
            path.display()
        )),
    }
}

#[test]
fn every_template_matches_its_golden_files() {
    let mut failures = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for name in builtin_names() {
        let t = builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (case, input) in edge_cases(&t) {
            match t.render(&input) {
                Ok(r) => check(name, &case, &r, &mut failures),
                Err(e) => failures.push(format!("{name}/{case}: {e}")),
            }
            *seen.entry(name.to_string()).or_default() += 1;
        }
    }
    for (name, case, args) in extra_cases() {
        let t = builtin(name).unwrap();
        let values = t
            .validate_assignments(&args)
            .unwrap_or_else(|e| panic!("{name}/{case}: {e}"));
        let r = t.render_values(&values).unwrap();
        check(name, case, &r, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(seen.len() >= 27, "{seen:?}");
}

#[test]
fn no_stale_golden_files() {
    let mut expected = std::collections::BTreeSet::new();
    for name in builtin_names() {
        let t = builtin(name).unwrap();
        for (case, _) in edge_cases(&t) {
            expected.insert(golden_path(name, &case));
        }
    }
    for (name, case, _) in extra_cases() {
        expected.insert(golden_path(name, case));
    }
    let mut stale = Vec::new();
    fn walk(d: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    walk(&golden_dir(), &mut all);
    for p in all {
        if !expected.contains(&p) {
            stale.push(p.display().to_string());
        }
    }
    assert!(stale.is_empty(), "golden files no test produces: {stale:?}");
}

#[test]
fn every_template_defaults_validate() {
    for name in builtin_names() {
        let t = builtin(name).unwrap();
        let v = t.validate(&t.defaults());
        assert!(v.is_ok(), "{name}: {}", v.unwrap_err());
        let v = t.validate(&Map::new());
        assert!(v.is_ok(), "{name} with no values: {}", v.unwrap_err());
    }
}

#[test]
fn every_declared_parameter_is_used() {
    for name in builtin_names() {
        let t = builtin(name).unwrap();
        assert_eq!(t.unused_parameters(), Vec::<String>::new(), "{name}");
    }
}

#[test]
fn every_parameter_has_help_and_every_template_a_parser_or_scheduler() {
    for name in builtin_names() {
        let t = builtin(name).unwrap();
        for p in t.params() {
            assert!(
                !p.help.is_empty(),
                "{name}: parameter {} has no help",
                p.name
            );
        }
        let is_job = t.manifest.program == "slurm" || t.manifest.program == "pbs";
        assert!(
            is_job || (t.manifest.parser.is_some() && t.manifest.output.is_some()),
            "{name}"
        );
    }
}

#[test]
fn the_shipped_library_is_complete() {
    let names = builtin_names();
    for expected in [
        "cp2k/energy",
        "cp2k/geo_opt",
        "crystal/bands",
        "crystal/dos",
        "crystal/freq",
        "crystal/opt",
        "crystal/scf",
        "gromacs/em",
        "gromacs/md",
        "gromacs/npt",
        "gromacs/nvt",
        "lammps/min",
        "lammps/nvt",
        "namd/min",
        "namd/npt",
        "namd/nvt",
        "namd/production",
        "namd/restart",
        "pbs/job",
        "psi4/energy",
        "psi4/gradient",
        "psi4/hessian",
        "qe/relax",
        "qe/scf",
        "slurm/job",
        "xtb/opt",
        "xtb/sp",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
}

/// Job scripts are valid bash (`bash -n`), when bash is available.
#[test]
fn job_scripts_are_valid_bash() {
    if std::process::Command::new("bash")
        .arg("-c")
        .arg("true")
        .status()
        .is_err()
    {
        eprintln!("bash not found; skipping");
        return;
    }
    let dir = std::env::temp_dir().join(format!("ms-templates-bash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, file) in [("slurm/job", "job.sh"), ("pbs/job", "job.pbs")] {
        let t = builtin(name).unwrap();
        for (case, input) in edge_cases(&t) {
            let r = t.render(&input).unwrap();
            let p = dir.join(format!("{}-{case}", name.replace('/', "-")));
            std::fs::write(&p, &r.files[file]).unwrap();
            let ok = std::process::Command::new("bash")
                .arg("-n")
                .arg(&p)
                .status()
                .unwrap();
            assert!(ok.success(), "{name}/{case} is not valid bash");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The SLURM script, run by bash outside SLURM, runs the command and writes the marker.
#[test]
fn job_script_writes_the_exit_marker() {
    if std::process::Command::new("bash")
        .arg("-c")
        .arg("true")
        .status()
        .is_err()
    {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ms-templates-marker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let t = builtin("slurm/job").unwrap();
    let values = t
        .validate_assignments(&["command=echo hi > out.txt; exit 3"])
        .unwrap();
    let r = t.render_values(&values).unwrap();
    matterstack_templates::write_rendered(&r, &dir).unwrap();
    let st = std::process::Command::new("bash")
        .arg("job.sh")
        .current_dir(&dir)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(3));
    let marker: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".matterstack_exit.json")).unwrap())
            .unwrap();
    assert_eq!(marker["exit_code"], 3);
    assert!(marker["end"].as_i64().unwrap() >= marker["start"].as_i64().unwrap());
    assert_eq!(
        std::fs::read_to_string(dir.join("out.txt")).unwrap(),
        "hi\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
