//! Parser tests on real program outputs (see tests/data/README.md for how each file
//! was made). Expected numbers are copied from the files.

// The expected values are written with every digit the programs printed.
#![allow(clippy::excessive_precision)]

use matterstack_templates::parsers::{self, parse_output, ParsedOutput};
use serde_json::json;

fn data(path: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn parse(program: &str, path: &str) -> ParsedOutput {
    parse_output(program, &data(path)).expect("known parser")
}

#[test]
fn psi4_scf_water_dimer() {
    let o = parse("psi4", "psi4/scf_water_dimer.out");
    // "    Total Energy =                       -152.0625362491582848"
    assert_eq!(o.final_energy, Some(-152.0625362491582848));
    assert_eq!(o.energy_unit.as_deref(), Some("hartree"));
    assert_eq!(o.version.as_deref(), Some("1.3.2"));
    assert_eq!(o.converged, Some(true));
    assert!(o.normal_termination);
    assert_eq!(o.error, None);
    assert_eq!(o.wall_time_s, Some(0.66));
    assert_eq!(o.values["scf_iterations"], json!(8));
    assert_eq!(
        o.values["nuclear_repulsion_energy"],
        json!(36.6628479968634053)
    );
}

#[test]
fn psi4_scf_not_converged_with_error_exit() {
    let o = parse("psi4", "psi4/scf_maxiter2_fail.out");
    assert_eq!(o.converged, Some(false));
    assert!(!o.normal_termination);
    let e = o.error.expect("error");
    assert!(e.starts_with("psi4 SCF did not converge"), "{e}");
    assert!(
        e.contains("Could not converge SCF iterations in 2 iterations."),
        "{e}"
    );
    assert_eq!(o.final_energy, None);
    assert_eq!(o.wall_time_s, Some(0.60));
}

#[test]
fn psi4_scf_not_converged_but_exit_zero_is_still_an_error() {
    let o = parse("psi4", "psi4/scf_maxiter2_nofail.out");
    assert!(o.normal_termination, "psi4 printed its success line");
    assert_eq!(o.converged, Some(false));
    assert!(o.error.as_deref().unwrap().contains("did not converge"));
    assert_eq!(o.final_energy, Some(-152.0282443124960992));
    assert_eq!(o.values["scf_iterations"], json!(2));
}

#[test]
fn psi4_gradient() {
    let o = parse("psi4", "psi4/grad_water_dimer.out");
    assert_eq!(o.final_energy, Some(-152.0625362495809441));
    assert_eq!(o.error, None);
    let g = o.values["gradient"].as_array().unwrap();
    assert_eq!(g.len(), 6);
    assert_eq!(g[0], json!([-0.007774331066, -0.013716844696, 0.0]));
    assert_eq!(
        g[5],
        json!([0.004307719333, -0.006495458556, 0.009789256164])
    );
    let norm = o.values["gradient_norm"].as_f64().unwrap();
    let expected: f64 = [
        -0.007774331066f64,
        -0.013716844696,
        0.0,
        -0.005248090334,
        0.011520293781,
        0.0,
        0.014808206070,
        0.002339224953,
        0.0,
        -0.010401223334,
        0.012848243073,
        0.0,
        0.004307719333,
        -0.006495458556,
        -0.009789256164,
        0.004307719333,
        -0.006495458556,
        0.009789256164,
    ]
    .iter()
    .map(|x| x * x)
    .sum::<f64>()
    .sqrt();
    assert!((norm - expected).abs() < 1e-15);
}

#[test]
fn xtb_single_point() {
    let o = parse("xtb", "xtb/sp_water.out");
    // "| TOTAL ENERGY               -5.070370761845 Eh   |"
    assert_eq!(o.final_energy, Some(-5.070370761845));
    assert_eq!(o.values["gradient_norm"], json!(0.007221581061));
    assert_eq!(o.values["homo_lumo_gap_ev"], json!(14.629680013228));
    assert_eq!(o.version.as_deref(), Some("6.5.1"));
    assert!(o.normal_termination);
    assert_eq!(o.error, None);
    assert_eq!(o.converged, None);
    assert_eq!(o.wall_time_s, Some(0.123));
    assert_eq!(o.cpu_time_s, Some(0.240));
}

#[test]
fn xtb_optimisation() {
    let o = parse("xtb", "xtb/opt_water.out");
    assert_eq!(o.final_energy, Some(-5.070544374391));
    assert_eq!(o.values["gradient_norm"], json!(0.000148070805));
    assert_eq!(o.values["opt_iterations"], json!(4));
    assert_eq!(o.converged, Some(true));
    assert!(o.normal_termination);
    assert_eq!(o.error, None);
}

#[test]
fn xtb_abnormal_termination() {
    let o = parse("xtb", "xtb/opt_fail.out");
    assert!(!o.normal_termination);
    let e = o.error.expect("error");
    assert!(e.starts_with("abnormal termination of xtb"), "{e}");
    assert!(
        e.contains("Some atoms in the start geometry are *very* close"),
        "{e}"
    );
    assert!(
        e.contains("Found *very* short distance of  0.000E+00 for O1-H2"),
        "{e}"
    );
}

#[test]
fn gromacs_em_converged() {
    let o = parse("gromacs", "gromacs/em_converged.log");
    // "Potential Energy  = -9.5202012e+03"
    assert_eq!(o.final_energy, Some(-9.5202012e+03));
    assert_eq!(o.energy_unit.as_deref(), Some("kJ/mol"));
    assert_eq!(o.converged, Some(true));
    assert_eq!(o.values["max_force"], json!(4.0071231e+02));
    assert_eq!(o.values["max_force_atom"], json!(364));
    assert_eq!(o.version.as_deref(), Some("2022.5-Debian_2022.5_2"));
    assert!(o.normal_termination);
    assert_eq!(o.error, None);
}

#[test]
fn gromacs_em_not_converged_is_a_warning() {
    let o = parse("gromacs", "gromacs/em_notconverged.log");
    assert_eq!(o.final_energy, Some(-1.0768123e+04));
    assert_eq!(o.converged, Some(false));
    assert!(o
        .warnings
        .iter()
        .any(|w| w.contains("did not converge to Fmax < 100 in 51 steps")));
    assert_eq!(o.error, None);
}

#[test]
fn gromacs_md_final_energies_and_performance() {
    let o = parse("gromacs", "gromacs/md.log");
    // last step (100) before the averages: Potential -9.41709e+03
    assert_eq!(o.values["final_step"], json!(100));
    assert_eq!(o.final_energy, Some(-9.41709e+03));
    let e = &o.values["energies"];
    assert_eq!(e["LJ (SR)"], json!(1.86162e+03));
    assert_eq!(e["Kinetic En."], json!(1.27167e+03));
    assert_eq!(e["Pressure (bar)"], json!(2.48557e+02));
    assert_eq!(o.values["ns_per_day"], json!(202.084));
    assert_eq!(o.wall_time_s, Some(0.086));
    assert_eq!(o.cpu_time_s, Some(0.086));
    assert!(o.normal_termination);
}

#[test]
fn gromacs_checkpoint_restart_reaches_the_last_step() {
    let o = parse("gromacs", "gromacs/md_restarted.log");
    assert_eq!(o.values["final_step"], json!(200));
    assert!(o.normal_termination);
    assert!(o.final_energy.is_some());
}

#[test]
fn gromacs_fatal_error() {
    let o = parse("gromacs", "gromacs/grompp_fatal.log");
    assert_eq!(
        o.error.as_deref(),
        Some("GROMACS fatal error: There was 1 error in input file(s)")
    );
    assert!(!o.normal_termination);
}

#[test]
fn crystal_scf() {
    let o = parse("crystal", "crystal/mgo_sto3g_scf_excerpt.out");
    // "== SCF ENDED - CONVERGENCE ON ENERGY      E(AU) -2.7121814374931E+02 CYCLES   7"
    assert_eq!(o.final_energy, Some(-2.7121814374931E+02));
    assert_eq!(o.values["scf_energy"], json!(-2.7121814374931E+02));
    assert_eq!(o.values["scf_cycles"], json!(7));
    assert_eq!(o.values["band_gap_ev"], json!(12.6917));
    assert_eq!(o.converged, Some(true));
    assert_eq!(o.version.as_deref(), Some("CRYSTAL17"));
    assert_eq!(o.wall_time_s, Some(3.95));
    assert_eq!(o.cpu_time_s, Some(3.79));
    assert!(o.normal_termination);
    assert_eq!(o.error, None);
}

#[test]
fn crystal_error() {
    let o = parse("crystal", "crystal/bcc_iron_failed_scf_excerpt.out");
    assert_eq!(
        o.error.as_deref(),
        Some("CRYSTAL ERROR: OPTGEOM: SCF FAILED - OPTGEOM STOP")
    );
    assert!(!o.normal_termination);
    // "TOTAL ENERGY(DFT)(AU)( 41) -1.2636682731664E+03"
    assert_eq!(o.final_energy, Some(-1.2636682731664E+03));
    assert_eq!(o.wall_time_s, Some(916.29));
}

#[test]
fn namd_final_energy_line() {
    let o = parse("namd", "namd/min_assembled.log");
    assert_eq!(o.values["final_step"], json!(1000));
    assert_eq!(o.final_energy, Some(-208432.0810));
    let e = &o.values["energy"];
    assert_eq!(e["BOND"], json!(15731.8866));
    assert_eq!(e["ELECT"], json!(-269009.0421));
    assert_eq!(e["VOLUME"], json!(657486.8069));
    assert_eq!(e.as_object().unwrap().len(), 20);
    assert_eq!(o.wall_time_s, Some(183.531799));
    assert_eq!(o.cpu_time_s, Some(181.870667));
    assert_eq!(o.values["memory_mb"], json!(512.34375));
    assert_eq!(o.version.as_deref(), Some("2.5b2ss03"));
    assert!(o.normal_termination);
    assert_eq!(o.error, None);
}

#[test]
fn namd_fatal_error() {
    let o = parse("namd", "namd/fatal_error_assembled.log");
    assert_eq!(
        o.error.as_deref(),
        Some("NAMD FATAL ERROR: Unable to open text file system.psf: No such file or directory")
    );
    assert!(!o.normal_termination);
}

#[test]
fn parsed_output_is_serializable() {
    let o = parse("psi4", "psi4/scf_water_dimer.out");
    let v = serde_json::to_value(&o).unwrap();
    assert_eq!(v["final_energy"], json!(-152.0625362491582848));
    let back: ParsedOutput = serde_json::from_value(v).unwrap();
    assert_eq!(back, o);
}

#[test]
fn every_parser_survives_every_data_file() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files = Vec::new();
    for sub in std::fs::read_dir(&dir).unwrap().flatten() {
        if sub.path().is_dir() {
            for f in std::fs::read_dir(sub.path()).unwrap().flatten() {
                files.push(f.path());
            }
        }
    }
    assert!(files.len() > 15);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for p in parsers::PROGRAMS {
            let o = parse_output(p, &text).unwrap();
            assert_eq!(o.program, *p);
            // also every prefix, cut anywhere (truncated outputs of killed jobs)
            for cut in (0..text.len()).step_by(997) {
                if text.is_char_boundary(cut) {
                    let _ = parse_output(p, &text[..cut]);
                }
            }
        }
    }
}

#[test]
fn psi4_correlated_energy_comes_from_the_template_marker() {
    // rendered by psi4/energy with method=ccsd(t) basis=sto-3g (see README)
    let o = parse("psi4", "psi4/ccsdt_water_template.out");
    // "  @matterstack current energy: -75.0125291115228521"
    assert_eq!(o.final_energy, Some(-75.0125291115228521));
    assert!(o.normal_termination);
    assert_eq!(o.error, None);
    // without the marker line, the last "* CCSD(T) total energy" line is used
    let text: String = data("psi4/ccsdt_water_template.out")
        .lines()
        .filter(|l| !l.trim().starts_with("@matterstack"))
        .map(|l| format!("{l}\n"))
        .collect();
    let o = parse_output("psi4", &text).unwrap();
    assert_eq!(o.final_energy, Some(-75.012529111522852));
}

#[test]
fn psi4_python_exception_is_an_error() {
    let o = parse("psi4", "psi4/mp2_grad_pk_error.out");
    assert_eq!(
        o.error.as_deref(),
        Some("psi4 error: psi4.driver.p4util.exceptions.ValidationError: DF-MP2 gradients need DF-SCF reference.")
    );
    assert!(!o.normal_termination);
}

#[test]
fn xtb_missing_parameter_file() {
    let o = parse("xtb", "xtb/sp_gfn0_no_params.out");
    let e = o.error.expect("error");
    assert!(e.contains("Could not setup single-point calculator"), "{e}");
    assert!(
        e.contains("Parameter file param_gfn0-xtb.txt not found!"),
        "{e}"
    );
}

#[test]
fn lammps_minimisation_from_the_template() {
    let o = parse("lammps", "lammps/min.log");
    // "     -1711.51040347782  -1733.98221633896  -1733.98222042045"
    assert_eq!(o.final_energy, Some(-1733.98222042045));
    assert_eq!(o.energy_unit.as_deref(), Some("epsilon"));
    assert_eq!(o.version.as_deref(), Some("29 Sep 2021 - Update 2"));
    assert_eq!(o.converged, Some(true));
    assert!(o.normal_termination && !o.partial);
    assert_eq!(o.error, None);
    assert_eq!(o.wall_time_s, Some(0.0));
    assert_eq!(o.values["stopping_criterion"], json!("energy tolerance"));
    assert_eq!(o.values["energy_initial"], json!(-1711.51040347782));
    assert_eq!(o.values["iterations"], json!(13));
    assert_eq!(o.values["force_evaluations"], json!(26));
    assert_eq!(o.values["atoms"], json!(256));
    assert_eq!(o.values["loop_time_s"], json!(0.00336418));
    let min = &o.series["min"];
    assert_eq!(
        min.columns,
        ["step", "potential", "kinetic", "total", "pressure", "fnorm"]
    );
    assert_eq!(min.rows.first().unwrap()[..2], [0.0, -1711.5104]);
    assert_eq!(min.rows.last().unwrap()[..2], [13.0, -1733.9822]);
    assert!(!o.series.contains_key("md"));
}

#[test]
fn lammps_nvt_cut_after_step_500_and_continued_from_its_restart_file() {
    let o = parse("lammps", "lammps/nvt_restarted.log");
    // the last thermo line: "    1000    1.6107336   -528.72684    258.52274    -270.2041    4.9773474"
    assert_eq!(o.final_energy, Some(-528.72684));
    assert!(o.normal_termination && !o.partial);
    assert_eq!(o.values["final_step"], json!(1000));
    assert_eq!(o.values["thermo"]["Temp"], json!(1.6107336));
    assert_eq!(
        o.values["timesteps_per_s"].as_f64().map(|v| v > 0.0),
        Some(true)
    );
    let md = &o.series["md"];
    assert_eq!(
        md.columns,
        [
            "step",
            "temperature",
            "potential",
            "kinetic",
            "total",
            "pressure"
        ]
    );
    assert_eq!(md.units[2], "epsilon");
    // Every step once, although chunk ends and the restart print it twice.
    let steps: Vec<f64> = md.rows.iter().map(|r| r[0]).collect();
    assert_eq!(
        steps,
        (0..=10).map(|i| i as f64 * 100.0).collect::<Vec<_>>()
    );
    assert_eq!(md.rows[5][2], -508.76274);
    // The first attempt's part alone: no end, no error, so partial.
    let text = data("lammps/nvt_restarted.log");
    let cut = text.find("Reading restart file").unwrap();
    let first = parse_output("lammps", &text[..cut]).unwrap();
    assert!(first.partial && !first.normal_termination && first.error.is_none());
    assert_eq!(first.values["final_step"], json!(500));
}

#[test]
fn lammps_error_is_the_reason_in_lammps_words() {
    let o = parse("lammps", "lammps/pair_style_error.log");
    assert_eq!(
        o.error.as_deref(),
        Some("LAMMPS error: Unrecognized pair style 'lj/cutt' (src/force.cpp:278)")
    );
    assert!(!o.normal_termination && !o.partial);
    assert_eq!(o.final_energy, None);
    // An error of an earlier attempt is forgotten once a restart reads its file.
    let text = format!(
        "{}Reading restart file ...\nTotal wall time: 0:00:01\n",
        data("lammps/pair_style_error.log")
    );
    let o = parse_output("lammps", &text).unwrap();
    assert_eq!(o.error, None);
    assert!(o.normal_termination);
    assert_eq!(o.wall_time_s, Some(1.0));
}

#[test]
fn qe_scf_silicon() {
    let o = parse("qe", "qe/scf.out");
    // "!    total energy              =     -15.53419804 Ry"
    assert_eq!(o.final_energy, Some(-15.53419804));
    assert_eq!(o.energy_unit.as_deref(), Some("Ry"));
    assert_eq!(
        o.values["final_energy_ev"],
        json!(-15.53419804 * parsers::qe::RY_TO_EV)
    );
    assert_eq!(o.version.as_deref(), Some("6.7MaX"));
    assert_eq!(o.converged, Some(true));
    assert!(o.normal_termination && !o.partial);
    // "     PWSCF        :      0.11s CPU      0.11s WALL"
    assert_eq!((o.cpu_time_s, o.wall_time_s), (Some(0.11), Some(0.11)));
    assert_eq!(o.values["scf_iterations"], json!(6));
    assert_eq!(o.values["highest_occupied_ev"], json!(6.7405));
    let scf = &o.series["scf"];
    assert_eq!(scf.columns, ["iteration", "energy", "scf_accuracy"]);
    assert_eq!(scf.rows.len(), 6);
    assert_eq!(scf.rows.last().unwrap()[1], -15.53419804);
    assert!(!o.series.contains_key("relax"));
}

#[test]
fn qe_relax_silicon() {
    let o = parse("qe", "qe/relax.out");
    // "     Final energy   =     -15.5341956018 Ry"
    assert_eq!(o.final_energy, Some(-15.5341956018));
    assert_eq!(o.converged, Some(true));
    assert!(o.normal_termination);
    assert_eq!(o.values["bfgs_steps"], json!(3));
    assert_eq!(o.values["scf_cycles"], json!(4));
    assert_eq!(o.values["total_force"], json!(0.000124));
    let relax = &o.series["relax"];
    assert_eq!(relax.columns, ["step", "energy", "total_force"]);
    assert_eq!(relax.rows[0], [0.0, -15.53014492, 0.079342]);
    assert_eq!(relax.rows.len(), 4);
    // the scf series is the last SCF's
    assert_eq!(o.series["scf"].rows.len(), 3);
}

#[test]
fn qe_error_block_is_the_reason() {
    let o = parse("qe", "qe/unknown_species.out");
    assert_eq!(
        o.error.as_deref(),
        Some(
            "pw.x: Error in routine read_cards (2): species Xx in ATOMIC_POSITIONS is nonexistent"
        )
    );
    assert!(!o.normal_termination && !o.partial);
}

#[test]
fn qe_stopped_at_max_seconds_then_restarted_in_the_same_output() {
    let o = parse("qe", "qe/relax_max_seconds_stopped.out");
    let e = o.error.expect("a stop at max_seconds fails the attempt");
    assert!(
        e.starts_with("pw.x: Maximum CPU time exceeded (max_seconds = 2"),
        "{e}"
    );
    assert!(o.normal_termination, "pw.x printed JOB DONE");
    let o = parse("qe", "qe/relax_restarted.out");
    assert_eq!(o.error, None);
    assert_eq!(o.converged, Some(true));
    assert_eq!(o.final_energy, Some(-15.7249462336));
    // The relaxation series runs on across the restart.
    let relax = &o.series["relax"];
    let steps: Vec<f64> = relax.rows.iter().map(|r| r[0]).collect();
    assert_eq!(steps, [0.0, 1.0, 2.0, 3.0]);
    assert_eq!(relax.rows[0][2], 0.061432);
    // A running pw.x: partial, no error.
    let text = data("qe/relax.out");
    let half = parse_output("qe", &text[..text.len() / 2]).unwrap();
    assert!(half.partial && half.error.is_none() && half.final_energy.is_some());
}

#[test]
fn cp2k_energy_of_water() {
    let o = parse("cp2k", "cp2k/energy.out");
    // " ENERGY| Total FORCE_EVAL ( QS ) energy [a.u.]:              -17.218978305118462"
    assert_eq!(o.final_energy, Some(-17.218978305118462));
    assert_eq!(o.energy_unit.as_deref(), Some("hartree"));
    assert_eq!(o.version.as_deref(), Some("2023.1"));
    assert_eq!(o.converged, Some(true));
    assert!(o.normal_termination && !o.partial);
    assert_eq!(o.error, None);
    // " CP2K                                 1  1.0    0.007    0.007    1.995    1.995"
    assert_eq!(o.wall_time_s, Some(1.995));
    assert_eq!(o.values["scf_steps"], json!(11));
    let scf = &o.series["scf"];
    assert_eq!(
        scf.columns,
        ["iteration", "energy", "delta_e", "convergence"]
    );
    assert_eq!(scf.rows.len(), 11);
    assert!((scf.rows.last().unwrap()[1] - -17.218978305118462).abs() < 1e-9);
}

#[test]
fn cp2k_geometry_optimisation_of_water() {
    let o = parse("cp2k", "cp2k/geo_opt.out");
    // the energy re-evaluated at the minimum (the last ENERGY| line)
    assert_eq!(o.final_energy, Some(-17.219308686926297));
    assert_eq!(o.converged, Some(true));
    assert_eq!(o.values["initial_energy"], json!(-17.2000809349));
    assert_eq!(o.values["geo_steps"], json!(7));
    assert_eq!(o.values["max_gradient"], json!(5.5067e-06));
    let geo = &o.series["geo_opt"];
    assert_eq!(geo.columns, ["step", "energy", "max_gradient"]);
    assert_eq!(geo.rows.len(), 7);
    assert_eq!(geo.rows[0], [1.0, -17.2158900623, 0.0328020031]);
}

#[test]
fn cp2k_abort_box_is_the_reason() {
    let o = parse("cp2k", "cp2k/odd_electrons.out");
    assert_eq!(
        o.error.as_deref(),
        Some("CP2K: Use the LSD option for an odd number of electrons (at qs_environment.F:1375)")
    );
    assert!(!o.normal_termination && !o.partial);
}

#[test]
fn cp2k_stopped_at_walltime_or_killed_then_restarted() {
    let o = parse("cp2k", "cp2k/geo_opt_walltime_stopped.out");
    assert_eq!(
        o.error.as_deref(),
        Some("CP2K: SCF run terminated - exceeded requested execution time: 4.000 seconds (GLOBAL WALLTIME); `matterstack restart` continues from the restart file")
    );
    assert!(o.normal_termination, "CP2K ended normally, but unfinished");
    // Killed after step 1, then continued from cp2k-1.restart into the same output.
    let text = data("cp2k/geo_opt_killed_restarted.out");
    let second = text
        .rfind(" **** **** ******  **  PROGRAM STARTED AT")
        .unwrap();
    let killed = parse_output("cp2k", &text[..second]).unwrap();
    assert!(killed.partial && killed.error.is_none());
    let o = parse_output("cp2k", &text).unwrap();
    assert!(o.normal_termination && !o.partial && o.error.is_none());
    assert_eq!(o.converged, Some(true));
    assert_eq!(o.final_energy, Some(-17.219308647567132));
    let steps: Vec<f64> = o.series["geo_opt"].rows.iter().map(|r| r[0]).collect();
    assert_eq!(steps, [1.0, 2.0, 3.0, 4.0, 5.0]);
}
