//! Restart support of the shipped templates: the checkpoint files and restart commands
//! they declare, the CRYSTAL restart input, and the NAMD restart script run by `sh`
//! against restart files written here (NAMD itself is licensed and not installed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use matterstack_templates::{builtin, Origin, Rendered, Template};

fn render(name: &str, args: &[&str]) -> Rendered {
    let t = builtin(name).unwrap();
    let values = t
        .validate_assignments(args)
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    t.render_values(&values).unwrap()
}

/// A fresh directory holding the rendered files.
fn scratch(label: &str, r: &Rendered) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ms-restart-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    matterstack_templates::write_rendered(r, &dir).unwrap();
    dir
}

fn sh(dir: &Path, script: &str) -> std::process::Output {
    Command::new("sh")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("sh runs")
}

#[test]
fn gromacs_stages_continue_from_their_checkpoint_and_keep_appending() {
    for stage in ["nvt", "npt", "md"] {
        let r = render(
            &format!("gromacs/{stage}"),
            &["threads=4", "checkpoint_minutes=0.5"],
        );
        assert_eq!(
            r.checkpoint,
            ["cpt", "tpr", "log", "edr", "xtc"]
                .map(|ext| format!("{stage}.{ext}"))
                .to_vec(),
            "{stage}"
        );
        assert_eq!(
            r.restart_command.as_deref(),
            Some(format!("gmx mdrun -deffnm {stage} -cpi {stage}.cpt -nt 4 -cpt 0.5").as_str())
        );
        assert!(
            r.command
                .ends_with(&format!("-deffnm {stage} -nt 4 -cpt 0.5")),
            "{}",
            r.command
        );
    }
    // Energy minimisation has no checkpoint to continue from.
    let em = render("gromacs/em", &[]);
    assert!(em.checkpoint.is_empty() && em.restart_command.is_none());
}

#[test]
fn the_crystal_restart_input_is_the_input_plus_restart_and_guessp() {
    let t = builtin("crystal/opt").unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec![
            "geometry=external",
            "structure_file=start.gui",
            "parallel=true",
        ],
        vec![
            "hamiltonian=HF",
            "spin_polarized=true",
            "spinlock=2",
            "mulliken=true",
        ],
    ];
    for args in cases {
        let r = t
            .render_values(&t.validate_assignments(&args).unwrap())
            .unwrap();
        let input: Vec<&str> = r.files["input.d12"].lines().collect();
        let restart: Vec<&str> = r.files["restart.d12"].lines().collect();
        // RESTART opens the OPTGEOM block (reads OPTINFO.DAT)...
        let opt = restart.iter().position(|l| *l == "OPTGEOM").unwrap();
        assert_eq!(restart[opt + 1], "RESTART", "{args:?}");
        let endopt = restart.iter().position(|l| *l == "ENDOPT").unwrap();
        assert!(opt < endopt);
        // ...GUESSP sits in the SCF block after the basis set (reads fort.20)...
        let guessp = restart.iter().position(|l| *l == "GUESSP").unwrap();
        let basis = restart.iter().position(|l| *l == "BASISSET").unwrap();
        assert!(basis < guessp && guessp < restart.len() - 1, "{args:?}");
        assert_eq!(restart.last(), Some(&"END"));
        // ...and nothing else differs, so the two inputs cannot drift apart.
        let mut stripped = restart.clone();
        stripped.remove(guessp);
        stripped.remove(opt + 1);
        assert_eq!(stripped, input, "{args:?}");
        assert_eq!(r.checkpoint, ["fort.9", "OPTINFO.DAT"]);
        let cmd = r.restart_command.as_deref().unwrap();
        assert!(cmd.contains("cp fort.9 fort.20"), "{cmd}");
        if args.contains(&"parallel=true") {
            assert!(cmd.contains("cp 'start.gui' fort.34 && "), "{cmd}");
            assert!(
                cmd.ends_with("cp restart.d12 INPUT && srun PcrystalOMP > output.out"),
                "{cmd}"
            );
        } else {
            assert!(
                cmd.ends_with("crystalOMP < restart.d12 > output.out"),
                "{cmd}"
            );
        }
    }
    // The setup lines (cry23.bashrc, OMP_NUM_THREADS) come first, as for the command.
    let r = render("crystal/opt", &["omp_threads=4"]);
    let full = r.restart_shell_command().unwrap();
    assert!(full.starts_with("source ~/'CRYSTAL23/utils23/cry23.bashrc'\nexport OMP_NUM_THREADS=4\ncp fort.9 fort.20 && "), "{full}");
}

const XSC_HEADER: &str = "# NAMD extended system configuration restart file\n#$LABELS step a_x a_y a_z b_x b_y b_z c_x c_y c_z o_x o_y o_z s_x s_y s_z s_u s_v s_w\n";

#[test]
fn the_namd_restart_script_runs_only_the_steps_left() {
    let r = render("namd/production", &["steps=10000", "output_freq=100"]);
    assert_eq!(
        r.checkpoint,
        ["prod.restart.coor", "prod.restart.vel", "prod.restart.xsc"]
    );
    assert_eq!(
        r.restart_command.as_deref(),
        Some("sh restart.sh && 'namd3' +p1 +setcpuaffinity restart.namd > output.log")
    );
    let dir = scratch("namd-prod", &r);
    std::fs::write(
        dir.join("prod.restart.xsc"),
        format!("{XSC_HEADER}4000 48.1 0 0 0 48.2 0 0 0 48.3 0 0 0 0 0 0 0 0 0\n"),
    )
    .unwrap();
    std::fs::write(dir.join("output.log"), "ENERGY: first part\n").unwrap();
    let out = sh(&dir, "restart.sh");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "restart.sh: continuing from step 4000; 6000 of 10000 steps left\n"
    );
    let config = std::fs::read_to_string(dir.join("restart.namd")).unwrap();
    let tail: Vec<&str> = config.lines().rev().take(9).collect();
    assert_eq!(
        tail.into_iter().rev().collect::<Vec<_>>(),
        [
            "# continue from the restart files of step 4000",
            "bincoordinates     prod.restart.coor",
            "binvelocities      prod.restart.vel",
            "extendedSystem     prod.restart.xsc",
            "firsttimestep      4000",
            "DCDfile            prod.from4000.dcd",
            "XSTfile            prod.from4000.xst",
            "",
            "run                6000",
        ]
    );
    // Every other line of the production config is kept, once, and the
    // equilibration inputs are no longer read.
    for keyword in ["bincoordinates", "firsttimestep", "run "] {
        assert_eq!(
            config.matches(&format!("\n{keyword}")).count(),
            1,
            "{keyword}"
        );
    }
    assert!(!config.contains("npt.coor"), "{config}");
    for line in r.files["config.namd"].lines() {
        let dropped = [
            "bincoordinates ",
            "binvelocities ",
            "extendedSystem ",
            "firsttimestep ",
            "run ",
        ]
        .iter()
        .any(|k| line.starts_with(k));
        if !dropped && !line.is_empty() {
            assert!(config.lines().any(|l| l == line), "lost {line:?}");
        }
    }
    // The log of the interrupted part is kept aside; NAMD starts a new one.
    assert!(!dir.join("output.log").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("output.before-restart.log")).unwrap(),
        "ENERGY: first part\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_namd_continuation_counts_from_its_own_first_timestep() {
    let r = render(
        "namd/restart",
        &["first_timestep=250000", "steps=250000", "launcher=srun"],
    );
    assert_eq!(
        r.checkpoint,
        [
            "prod_cont.restart.coor",
            "prod_cont.restart.vel",
            "prod_cont.restart.xsc"
        ]
    );
    assert_eq!(
        r.restart_command.as_deref(),
        Some("sh restart.sh && srun 'namd3' restart.namd > output.log")
    );
    let dir = scratch("namd-cont", &r);
    let write_xsc = |step: &str| {
        std::fs::write(
            dir.join("prod_cont.restart.xsc"),
            format!("{XSC_HEADER}{step} 48 0 0 0 48 0 0 0 48 0 0 0 0 0 0 0 0 0\n"),
        )
        .unwrap()
    };
    write_xsc("300000");
    let out = sh(&dir, "restart.sh");
    assert!(out.status.success(), "{out:?}");
    let config = std::fs::read_to_string(dir.join("restart.namd")).unwrap();
    assert!(config.contains("\nfirsttimestep      300000\n"), "{config}");
    assert!(
        config.ends_with("\nrun                200000\n"),
        "{config}"
    );
    assert!(
        !config.contains("prod.restart.coor"),
        "the continuation's own files are read"
    );
    // Restart files at (or past) the last step: nothing left to run.
    write_xsc("500000");
    assert!(sh(&dir, "restart.sh").status.success());
    let config = std::fs::read_to_string(dir.join("restart.namd")).unwrap();
    assert!(config.ends_with("\nrun                0\n"), "{config}");
    // An .xsc without a step line is refused with the file named.
    std::fs::write(dir.join("prod_cont.restart.xsc"), XSC_HEADER).unwrap();
    let out = sh(&dir, "restart.sh");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no step number in prod_cont.restart.xsc"),
        "{out:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn manifest(extra: &str) -> Result<Template, String> {
    let text = format!(
        "name = \"x/y\"\ndescription = \"d\"\nprogram = \"p\"\nfiles = [\"in.txt\"]\ncommand = \"run\"\n{extra}\n[[parameters]]\nname = \"prefix\"\ntype = \"string\"\ndefault = \"run\"\nhelp = \"h\"\n"
    );
    let sources = BTreeMap::from([("in.txt".to_string(), "{{ prefix }}\n".to_string())]);
    Template::from_sources("x/y", &text, sources, Origin::Memory).map_err(|e| e.to_string())
}

#[test]
fn bad_restart_declarations_are_refused_with_the_field_named() {
    let e = manifest("restart_command = \"run --continue\"").unwrap_err();
    assert!(e.contains("`restart_command` needs `checkpoint`"), "{e}");
    let e = manifest("checkpoint = [\"{{ undeclared }}.chk\"]").unwrap_err();
    assert!(e.contains("undeclared"), "{e}");
    let t = manifest("checkpoint = [\"{{ prefix }}.chk\"]\nrestart_command = \"run --continue\"")
        .unwrap();
    let r = t.render(&serde_json::Map::new()).unwrap();
    assert_eq!(r.checkpoint, ["run.chk"]);
    let values = t.validate_assignments(&["prefix=../up"]).unwrap();
    let e = t.render_values(&values).unwrap_err().to_string();
    assert!(
        e.contains("checkpoint[0]") && e.contains("../up.chk") && e.contains(".."),
        "{e}"
    );
}

#[test]
fn the_lammps_restart_reads_the_restart_file_and_runs_up_to_the_same_step() {
    for args in [
        vec!["nsteps=5000", "restart_interval=250"],
        vec![
            "system=data",
            "data_file=min.data",
            "units=metal",
            "launcher=mpirun",
            "processes=4",
        ],
    ] {
        let r = render("lammps/nvt", &args);
        assert_eq!(r.checkpoint, ["nvt.restart"], "{args:?}");
        let restart = r.restart_command.as_deref().unwrap();
        assert!(
            restart.ends_with("lmp -in restart.in -log none")
                && r.command.ends_with("lmp -in nvt.in -log nvt.log"),
            "{restart}"
        );
        // The same launcher for both.
        let launch = |c: &str| c.split("lmp").next().unwrap().to_string();
        assert_eq!(launch(restart), launch(&r.command));
        let input = &r.files["nvt.in"];
        let again = &r.files["restart.in"];
        let run = |text: &str| {
            text.lines()
                .find(|l| l.starts_with("run "))
                .unwrap()
                .to_string()
        };
        // The restart runs `upto` the step count with the same restart files...
        assert_eq!(
            run(again),
            run(input).replacen(" every ", " upto every ", 1),
            "{args:?}"
        );
        assert!(run(input).contains(
            "\"write_restart nvt.restart.tmp\" \"shell mv nvt.restart.tmp nvt.restart\""
        ));
        // ...reads the restart file instead of building the system and
        // drawing velocities, appends to the log, and keeps every setting.
        assert!(again.contains("\nread_restart    nvt.restart\n"));
        assert!(again.starts_with("# lammps/nvt restart input"));
        assert!(again.contains("\nlog             nvt.log append\n"));
        for l in input.lines() {
            let built = [
                "lattice",
                "region",
                "create_",
                "mass",
                "read_data",
                "velocity",
                "boundary",
                "#",
                "run ",
            ]
            .iter()
            .any(|k| l.starts_with(k));
            if !built && !l.is_empty() {
                assert!(again.lines().any(|a| a == l), "restart.in lost {l:?}");
            }
        }
        assert!(!again.contains("velocity") && !again.contains("read_data"));
    }
    // A minimisation has nothing to continue.
    let min = render("lammps/min", &[]);
    assert!(min.checkpoint.is_empty() && min.restart_command.is_none());
}

#[test]
fn the_qe_restart_input_is_the_input_with_restart_mode_restart() {
    for (name, args) in [
        ("qe/scf", vec!["prefix=si", "max_seconds=60"]),
        ("qe/relax", vec!["launcher=srun"]),
    ] {
        let r = render(name, &args);
        let stage = name.trim_start_matches("qe/");
        let prefix = if stage == "scf" { "si" } else { "pwscf" };
        assert_eq!(
            r.checkpoint,
            [
                format!("out/{prefix}.save/data-file-schema.xml"),
                format!("out/{prefix}.save/charge-density.dat")
            ]
        );
        let cmd = r.restart_command.clone().unwrap();
        assert!(
            cmd.ends_with(&format!("pw.x -in restart.in >> {stage}.out")),
            "{cmd}"
        );
        // Run the restart command's sed with a stand-in pw.x on PATH.
        let dir = scratch(&format!("qe-{stage}"), &r);
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for fake in ["pw.x", "srun"] {
            let p = bin.join(fake);
            std::fs::write(
                &p,
                "#!/bin/sh\n[ \"$1\" = pw.x ] && shift\necho \"pw.x $*\"\n",
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(dir.join(format!("{stage}.out")), "first part\n").unwrap();
        let out = Command::new("sh")
            .args(["-c", &cmd])
            .current_dir(&dir)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let input = &r.files[&format!("{stage}.in")];
        let restart = std::fs::read_to_string(dir.join("restart.in")).unwrap();
        let differ: Vec<(&str, &str)> = input
            .lines()
            .zip(restart.lines())
            .filter(|(a, b)| a != b)
            .collect();
        assert_eq!(
            differ,
            [(
                "  restart_mode = 'from_scratch'",
                "  restart_mode = 'restart'"
            )],
            "{name}"
        );
        assert_eq!(input.lines().count(), restart.lines().count());
        // The restart's output is appended to the first attempt's.
        assert_eq!(
            std::fs::read_to_string(dir.join(format!("{stage}.out"))).unwrap(),
            "first part\npw.x -in restart.in\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn the_cp2k_restart_input_is_the_input_plus_ext_restart() {
    for args in [
        vec!["project=water"],
        vec!["launcher=srun", "walltime_seconds=600", "multiplicity=3"],
    ] {
        let r = render("cp2k/geo_opt", &args);
        let project = if args.contains(&"project=water") {
            "water"
        } else {
            "cp2k"
        };
        assert_eq!(r.checkpoint, [format!("{project}-1.restart")]);
        let cmd = r.restart_command.as_deref().unwrap();
        assert!(cmd.ends_with("-i restart.inp -o geo_opt.out"), "{cmd}");
        assert_eq!(
            cmd.replace("restart.inp", "geo_opt.inp"),
            r.command,
            "the same launcher and output file"
        );
        let input: Vec<&str> = r.files["geo_opt.inp"].lines().collect();
        let restart: Vec<&str> = r.files["restart.inp"].lines().collect();
        // Two comment lines instead of one, then the input line for line,
        // then the EXT_RESTART section naming the restart file.
        assert!(restart[0].starts_with('!') && restart[1].starts_with('!'));
        assert_eq!(restart[2..restart.len() - 3], input[1..], "{args:?}");
        assert_eq!(
            restart[restart.len() - 3..],
            [
                "&EXT_RESTART",
                &format!("  RESTART_FILE_NAME {project}-1.restart"),
                "&END EXT_RESTART"
            ]
        );
        // The OpenMP threads are set for both.
        assert_eq!(r.setup.len(), 1);
        assert!(r
            .restart_shell_command()
            .unwrap()
            .starts_with("export OMP_NUM_THREADS="));
    }
    // A single point has nothing to continue.
    let e = render("cp2k/energy", &[]);
    assert!(e.checkpoint.is_empty() && e.restart_command.is_none());
}
