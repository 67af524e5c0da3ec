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
