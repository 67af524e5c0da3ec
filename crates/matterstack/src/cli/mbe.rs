//! `matterstack mbe …`: many-body expansions. Parses arguments, calls
//! `matterstack_core::app::mbe`, presents.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Subcommand;
use matterstack_core::app::mbe::{self, lib, Progress, RunOptions};
use matterstack_core::Error;
use serde_json::json;

#[derive(Debug, Subcommand)]
pub(crate) enum MbeCmd {
    /// List the component calculations of an expansion (label, atoms, charge, multiplicity, cost).
    #[command(
        after_help = "INPUT is QCManyBody's ManyBodyInput JSON (schema_name qcschema_manybodyinput), or the\nshort TOML form when the file ends in .toml.\n\nExample:\n  matterstack mbe plan trimer.json --json | jq '.components | length'"
    )]
    Plan {
        /// The many-body input.
        input: PathBuf,
        /// Print JSON: {nfragments, max_nbody, bsse_type, driver, counts, components: [...]}.
        #[arg(long)]
        json: bool,
    },
    /// Assemble component results computed anywhere (like QCManyBody's ManyBodyCore.analyze).
    #[command(
        after_help = "COMPONENTS.json maps each component label to {\"energy\", \"gradient\"?, \"hessian\"?}.\nWithout -o the result JSON goes to stdout and the summary table to stderr; with -o the\ntable goes to stdout and an SVG plot of the interaction energy is written next to -o.\n\nExample:\n  matterstack mbe analyze trimer.json --components results.json -o trimer-result.json"
    )]
    Analyze {
        /// The many-body input.
        input: PathBuf,
        /// Component results: {label: {"energy", "gradient", "hessian"}}.
        #[arg(long, value_name = "COMPONENTS.json")]
        components: PathBuf,
        /// Write the ManyBodyResult-style JSON here (and RESULT.svg next to it).
        #[arg(short = 'o', long = "output", value_name = "RESULT.json")]
        output: Option<PathBuf>,
        /// Print how long each phase took (read, plan, assemble, write) to stderr.
        #[arg(long)]
        timings: bool,
    },
    /// Compute every component as a matterstack run (resumable, cached) and assemble.
    #[command(
        after_help = "The workspace (default ./mbe-<stem>/) holds matterstack.toml (one task per component,\nlargest first, no barrier between n-body levels), runs/, and cache/<sha256>.json: a rerun,\nanother bsse type or a larger max_nbody reuses every component already computed.\nPrograms: psi4 (psi4 --json), xtb (nocp only), nwchem (hf, mp2, b3lyp, pbe0, pbe, blyp),\npyscf (hf, mp2, DFT functionals; run by $MATTERSTACK_PYSCF_PYTHON, else python3).\n\nExample:\n  matterstack mbe run trimer.json --workers 8 -o trimer-result.json"
    )]
    Run {
        /// The many-body input.
        input: PathBuf,
        /// Run every component on this cluster profile (SLURM).
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
        /// Components computed at once on this machine (default: its cores).
        #[arg(long, value_name = "N")]
        workers: Option<u32>,
        /// The expansion workspace (default ./mbe-<input stem>/).
        #[arg(long, value_name = "DIR")]
        workspace: Option<PathBuf>,
        /// Automatic retries of a failed component.
        #[arg(long, value_name = "N", default_value_t = 1)]
        retries: u32,
        /// Write the ManyBodyResult-style JSON here (default <workspace>/result.json), and RESULT.svg.
        #[arg(short = 'o', long = "output", value_name = "RESULT.json")]
        output: Option<PathBuf>,
    },
}

pub(crate) fn dispatch(cmd: MbeCmd) -> Result<ExitCode> {
    match cmd {
        MbeCmd::Plan { input, json } => plan(&input, json),
        MbeCmd::Analyze {
            input,
            components,
            output,
            timings,
        } => analyze(&input, &components, output.as_deref(), timings),
        MbeCmd::Run {
            input,
            cluster,
            workers,
            workspace,
            retries,
            output,
        } => run(
            &input,
            RunOptions {
                workspace,
                cluster,
                workers,
                retries,
                poll: Duration::from_secs(1),
            },
            output,
        ),
    }
}

fn plan(input: &Path, as_json: bool) -> Result<ExitCode> {
    let plan = mbe::plan_file(input)?;
    let s = &plan.settings;
    let bsse: Vec<&str> = s.bsse.iter().map(|b| b.as_str()).collect();
    if as_json {
        let components: Vec<_> = plan
            .components
            .iter()
            .map(|c| {
                json!({
                    "label": c.label,
                    "model": c.model,
                    "real": c.real,
                    "basis": c.basis,
                    "ghost": c.ghost,
                    "nbody": c.real.len(),
                    "atoms": c.natom(),
                    "real_atoms": c.real_atoms.iter().filter(|r| **r).count(),
                    "charge": c.molecular_charge,
                    "multiplicity": c.molecular_multiplicity,
                    "program": c.program,
                    "method": c.method,
                    "basis_set": c.basis_set,
                    "cost": c.cost,
                })
            })
            .collect();
        let doc = json!({
            "nfragments": s.nfragments,
            "max_nbody": s.max_nbody,
            "bsse_type": bsse,
            "driver": s.driver.as_str(),
            "counts": plan.counts(),
            "total": plan.components.len(),
            "components": components,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} components: {} fragments, max_nbody {}, bsse {}, driver {}",
        plan.components.len(),
        s.nfragments,
        s.max_nbody,
        bsse.join("+"),
        s.driver.as_str()
    );
    let width = plan
        .components
        .iter()
        .map(|c| c.label.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<width$}  {:>5}  {:>5}  {:>6}  {:>4}  {:>12}",
        "LABEL", "ATOMS", "GHOST", "CHARGE", "MULT", "COST"
    );
    for c in &plan.components {
        let ghosts = c.real_atoms.iter().filter(|r| !**r).count();
        println!(
            "{:<width$}  {:>5}  {:>5}  {:>6}  {:>4}  {:>12.0}",
            c.label,
            c.natom(),
            ghosts,
            c.molecular_charge,
            c.molecular_multiplicity,
            c.cost
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn analyze(
    input: &Path,
    components: &Path,
    output: Option<&Path>,
    timings: bool,
) -> Result<ExitCode> {
    let t0 = Instant::now();
    let input = mbe::read_input(input).map(|i| (input, i))?;
    let t_read_input = t0.elapsed();
    let t1 = Instant::now();
    // label-only enumeration: no component molecules are built for an assembly
    let plan = lib::expansion(&input.1)
        .map_err(|e| Error::Input(format!("{}: {e}", input.0.display())))?;
    let t_plan = t1.elapsed();
    let t2 = Instant::now();
    let results = mbe::read_component_results_for(&plan, components)?;
    let t_read_results = t2.elapsed();
    let t3 = Instant::now();
    let outcome = mbe::analyze_expansion(&plan, &results)?;
    let t_analyze = t3.elapsed();
    let t4 = Instant::now();
    let table = lib::summary_table(&outcome);
    match output {
        Some(out) => {
            let svg = mbe::write_outputs(&plan, &outcome, out)?;
            println!("{table}");
            println!("wrote {} and {}", out.display(), svg.display());
        }
        None => {
            let doc = mbe::result_document(&plan, &outcome);
            println!("{}", serde_json::to_string_pretty(&doc)?);
            eprintln!("{table}");
        }
    }
    if timings {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "timings (ms): read input {:.3}, plan {:.3} ({} components), read results {:.3}, assemble {:.3}, table+write {:.3}, total {:.3}",
            ms(t_read_input),
            ms(t_plan),
            plan.len(),
            ms(t_read_results),
            ms(t_analyze),
            ms(t4.elapsed()),
            ms(t0.elapsed())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn run(input: &Path, opts: RunOptions, output: Option<PathBuf>) -> Result<ExitCode> {
    let tty = std::io::stderr().is_terminal();
    let mut shown = false;
    let outcome = mbe::run(input, &opts, |p: &Progress| {
        if tty {
            let running = p.launched.saturating_sub(p.finished);
            let width = 30usize;
            let filled = (p.finished.min(p.tasks) * width)
                .checked_div(p.tasks)
                .unwrap_or(width);
            eprint!(
                "\r{} [{}{}] {}/{} components finished, {} running ",
                p.run,
                "#".repeat(filled),
                "-".repeat(width - filled),
                p.finished.min(p.tasks),
                p.tasks,
                running
            );
            let _ = std::io::stderr().flush();
            shown = true;
        }
    })?;
    if shown {
        eprintln!();
    }
    for r in &outcome.resumed {
        eprintln!("continued unfinished run {r}");
    }
    let total = outcome.plan.components.len();
    eprintln!(
        "{total} components: {} cached, {} to compute{}",
        outcome.cached,
        total - outcome.cached,
        outcome
            .run_dir
            .as_ref()
            .map(|d| format!(" (run {})", d.display()))
            .unwrap_or_default()
    );
    if !outcome.failed.is_empty() {
        let mut msg = format!(
            "{} component calculation(s) failed, so the expansion cannot be assembled:",
            outcome.failed.len()
        );
        for f in &outcome.failed {
            msg.push_str(&format!(
                "\n  {} (task {}): {}\n    logs: {}",
                f.label,
                f.task,
                f.reason,
                f.dir.join(".attempts").display()
            ));
        }
        msg.push_str(
            "\nfix the cause and run the same command again: finished components are cached",
        );
        return Err(anyhow::Error::msg(msg));
    }
    let Some(result) = &outcome.outcome else {
        return Err(Error::Input("no result assembled".into()).into());
    };
    let out = output.unwrap_or_else(|| outcome.workspace.join("result.json"));
    let svg = mbe::write_outputs(&outcome.plan, result, &out)?;
    println!("{}", lib::summary_table(result));
    println!("wrote {} and {}", out.display(), svg.display());
    Ok(ExitCode::SUCCESS)
}
