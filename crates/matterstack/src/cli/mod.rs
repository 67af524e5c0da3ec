//! Command-line parsing and dispatch. Each command calls the application API
//! and presents the result; no decisions are made here.
//!
//! Exit codes: 0 success; 1 a run finished unsuccessfully or a runtime error
//! (IO, store); 2 bad input (invalid workspace, unknown task, bad flag);
//! 3 a run paused or waiting on people; 4 `parse`: the output reports a failure.

mod cluster;
mod commands;
mod events;
mod evidence;
mod mbe;
mod output;
mod restart;
mod runs;
mod style;
mod template;
mod watch;
mod workflow;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use matterstack_core::app::Verdict;

/// Durable runs of scientific calculations: kill it anywhere, carry on.
#[derive(Debug, Parser)]
#[command(name = "matterstack", version, about, long_about = None)]
#[command(
    after_help = "Examples:\n  matterstack init examples/demo\n  matterstack run examples/demo/runs/<id>\n  matterstack status examples/demo/runs/<id> --json"
)]
pub struct Cli {
    /// Log what happens to standard error (-v info, -vv debug, -vvv
    /// trace); MATTERSTACK_LOG takes a filter instead (`matterstack::transport=debug`).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Create a run directory from a workspace's matterstack.toml.
    #[command(
        after_help = "Prints the new run directory as its last line.\n\nExample:\n  run=$(matterstack init examples/demo | tail -n1)"
    )]
    Init {
        /// The workspace directory (holding matterstack.toml).
        workspace: PathBuf,
        /// The run id (default: a timestamp with a random suffix).
        #[arg(long, value_name = "ID")]
        run_id: Option<String>,
    },
    /// Advance a run once: poll, start ready tasks, commit, exit.
    #[command(after_help = "Example:\n  matterstack step examples/demo/runs/demo-1")]
    Step {
        /// The run directory.
        run: PathBuf,
    },
    /// Step a run until every task has finished.
    #[command(
        after_help = "Exit status 0 only when every task completed or was allowed to fail.\n\nExample:\n  matterstack run examples/demo/runs/demo-1 --poll 2"
    )]
    Run {
        /// The run directory.
        run: PathBuf,
        /// Seconds between polls of tasks this process did not start itself.
        #[arg(long, value_name = "SECONDS", default_value_t = 1.0)]
        poll: f64,
    },
    /// Show a run's tasks and their states.
    #[command(
        after_help = "Example:\n  matterstack status examples/demo/runs/demo-1 --json | jq .counts"
    )]
    Status {
        /// The run directory.
        run: PathBuf,
        /// Print JSON: {run, status, counts, tasks: [{id, status, attempts, exit_code}]}.
        #[arg(long)]
        json: bool,
        /// Also show each task's job id, elapsed time and main result (energy).
        #[arg(long)]
        wide: bool,
    },
    /// Cancel tasks (all unfinished ones when none are named).
    #[command(after_help = "Example:\n  matterstack cancel examples/demo/runs/demo-1 relax")]
    Cancel {
        /// The run directory.
        run: PathBuf,
        /// Tasks to cancel.
        tasks: Vec<String>,
    },
    /// Run a failed, cancelled or skipped task again, optionally with other resources.
    #[command(
        after_help = "A sweep's name retries each of its failed points. Changes apply to the new\nattempt and are shown in its lineage (`explain`) and the evidence.\n\nExamples:\n  matterstack retry runs/r1 opt\n  matterstack retry runs/r1 md --partition long --walltime 2d"
    )]
    Retry {
        /// The run directory.
        run: PathBuf,
        /// The task (or a sweep: its failed points).
        task: String,
        #[command(flatten)]
        changes: restart::ChangeArgs,
    },
    /// Continue a failed or cancelled task from its checkpoint (a new attempt).
    Restart(restart::RestartArgs),
    /// Explain why a task is in its state: what it waits on, limits, last error.
    #[command(after_help = "Example:\n  matterstack explain examples/demo/runs/demo-1 report")]
    Explain {
        /// The run directory.
        run: PathBuf,
        /// The task.
        task: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make runs from many workspaces at once and drive them fairly.
    #[command(
        after_help = "Prints a summary: run, priority, tasks, attempts started, state, directory.\nWith --wait, exit 0 only if every run completed (1: some failed; 3: some paused or waiting).\n\nExample:\n  matterstack submit studies/* --max-jobs 20 --wait"
    )]
    Submit(workflow::SubmitArgs),
    /// Drive runs until each is finished or waits for a person, printing what changes.
    #[command(
        after_help = "One process steps every run fairly: a run whose task ends is stepped at once, every run each --poll
seconds; runs on one cluster share its one queue query per pass and its one SSH connection. A run
another process is stepping is skipped that pass. A cluster that does not answer is shown as
UNREACHABLE while the other runs go on. Killing watch loses nothing: start it again.
Exit 0 if every run completed (1: some failed; 3: some paused or waiting).

Examples:
  matterstack watch
  matterstack watch ws/ runs/r2 --poll 5"
    )]
    Watch(watch::WatchArgs),
    /// The terminal cockpit: runs, tasks, logs, DAG, clusters; actions on many tasks at once.
    #[command(
        after_help = "Keys: ↑/↓ or j/k move, Enter open, Esc back, / filter, ? help, space select, v range, * all,\nc cancel, r retry, R restart, l logs, d DAG, C clusters, q quit. The runs shown are driven by an\nembedded driver (like `watch`) unless --no-drive; a run stepped elsewhere is just shown.\n\nExamples:\n  matterstack tui\n  matterstack tui ws/runs/r1 --no-drive"
    )]
    /// The local web UI: runs, tasks, live logs, actions, over a JSON API.
    #[command(
        after_help = "Binds 127.0.0.1 and prints a URL with a one-time token: opening it signs the browser in\n(an HttpOnly, SameSite=Strict cookie); every request needs it, every change also the page's\nCSRF token. The API is described at /api/openapi.json. The runs shown are driven like `watch`.\n\nExamples:\n  matterstack serve\n  matterstack serve ws/ --port 8080"
    )]
    Serve {
        /// Workspaces whose runs are shown (default: every indexed run).
        workspaces: Vec<PathBuf>,
        /// The port on 127.0.0.1 (default: a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Listen on another address (reachable by others: every request still needs the token).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Only show: do not step the runs.
        #[arg(long)]
        no_drive: bool,
        /// Seconds between the driver's passes.
        #[arg(long, default_value_t = 2.0)]
        poll: f64,
    },
    Tui {
        /// Runs or workspaces (default: every indexed run).
        targets: Vec<PathBuf>,
        /// Only show: do not step the runs.
        #[arg(long)]
        no_drive: bool,
        /// Seconds between the driver's passes.
        #[arg(long, default_value_t = 2.0)]
        poll: f64,
    },
    /// Stop starting new tasks (running ones go on); `resume` undoes it.
    #[command(
        after_help = "Example:\n  matterstack pause examples/demo/runs/demo-1 --reason 'maintenance on hpc'"
    )]
    Pause(workflow::PauseArgs),
    /// Resume a paused run (a failed planner is asked again at the next step).
    #[command(after_help = "Example:\n  matterstack resume examples/demo/runs/demo-1")]
    Resume {
        /// The run directory.
        run: PathBuf,
    },
    /// Answer a human task: the response is checked against its schema.
    #[command(
        after_help = "The file holds {\"status\": \"COMPLETED\"|\"FAILED\", \"data\": {…}, \"error\": null}.\nA response that does not fit the schema is refused (exit 2) and the task keeps waiting.\n\nExample:\n  matterstack respond runs/r1 approve --file response.json"
    )]
    Respond(workflow::RespondArgs),
    /// Finish a manual task with the outputs found in a directory.
    #[command(
        after_help = "Example:\n  matterstack complete runs/r1 big-job --from ~/results/big-job"
    )]
    Complete(workflow::CompleteArgs),
    /// Print a task's output (read on the cluster while its job runs).
    #[command(
        after_help = "A cluster job's stdout/stderr (or --file) is read over the run's SSH connection\nwhile it runs; after it ends, from the local copy kept in the run directory.\nWhen stdout is empty and the task has a parser output file, that file is shown.\n\nExamples:\n  matterstack logs examples/demo/runs/demo-1 relax --stderr --follow\n  matterstack logs runs/r1 opt --file output.dat --follow"
    )]
    Logs {
        /// The run directory.
        run: PathBuf,
        /// The task.
        task: String,
        /// Show standard error instead of standard output.
        #[arg(long)]
        stderr: bool,
        /// Show this file of the task instead (e.g. output.dat); read on the
        /// cluster while its job runs.
        #[arg(long, value_name = "NAME", conflicts_with = "stderr")]
        file: Option<String>,
        /// Keep printing while the attempt runs.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Which attempt (default: the latest).
        #[arg(long, value_name = "N")]
        attempt: Option<u32>,
    },
    /// Manage cluster profiles (~/.config/matterstack/clusters.toml).
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Typed input templates: list, show, render.
    #[command(subcommand)]
    Template(template::TemplateCmd),
    /// Many-body expansions: plan components, run them (cached, resumable), assemble.
    #[command(subcommand)]
    Mbe(mbe::MbeCmd),
    /// Write the run's evidence bundle: evidence.json, report.md, report.html.
    ExportEvidence(evidence::ExportArgs),
    /// Run an output parser on any file (an old output, a running job's partial one).
    #[command(
        after_help = "Prints the energy, convergence, termination, version, timings, warnings and the
program's error; --json prints every field, program-specific values included.
Exit status 0 when the output reports no failure, 4 when it does (SCF not converged,
an error), 2 for an unknown program or an unreadable file.

Example:
  matterstack parse psi4 runs/r1/tasks/opt/output.dat
  matterstack parse gromacs md.log --json | jq .values.ns_per_day"
    )]
    Parse {
        /// The program whose output it is: cp2k, crystal, gromacs, lammps, namd, psi4,
        /// qe (Quantum ESPRESSO pw.x), xtb.
        program: String,
        /// The output file.
        file: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print a run's changes (every task and attempt transition), in order, from a cursor.
    #[command(
        after_help = "Each line starts with the change's id: pass the last one seen as --since to get\nonly what is new (cheap on any run size). --json prints one object per line.\n\nExamples:\n  matterstack events runs/r1\n  matterstack events runs/r1 --since 1200 --follow --json"
    )]
    Events {
        /// The run directory.
        run: PathBuf,
        /// Only changes after this id.
        #[arg(long, value_name = "ID", default_value_t = 0)]
        since: i64,
        /// Keep printing new changes as they come (until interrupted).
        #[arg(long, short = 'f')]
        follow: bool,
        /// One JSON object per line: {id, at, task, kind, status, …}.
        #[arg(long)]
        json: bool,
        /// Changes read per query.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        limit: usize,
    },
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  matterstack completions bash > ~/.local/share/bash-completion/completions/matterstack\n  matterstack completions zsh > ~/.zfunc/_matterstack\n  matterstack completions fish > ~/.config/fish/completions/matterstack.fish"
    )]
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), from the same definitions as --help.
    #[command(after_help = "Example:\n  matterstack man > matterstack.1 && man ./matterstack.1")]
    Man,
    /// List your runs: id, state, progress, created, last activity, clusters.
    #[command(
        after_help = "Runs come from the index kept at `init` ($XDG_DATA_HOME/matterstack/runs.jsonl),\nchecked against their directories: a run moved or deleted by hand is MISSING.\nNamed workspaces are also searched for runs the index does not know.\n\nExamples:\n  matterstack runs\n  matterstack runs ws/ --status failed --json"
    )]
    Runs {
        /// Only runs of these workspaces.
        workspaces: Vec<PathBuf>,
        /// Only runs in this state: running, completed, failed, paused, missing, unreadable.
        #[arg(long, value_name = "STATE")]
        status: Option<String>,
        /// Print JSON: [{id, dir, workspace, created, state, counts, last_activity, clusters}].
        #[arg(long)]
        json: bool,
        /// First drop runs whose directories are gone from the index.
        #[arg(long)]
        forget_missing: bool,
    },
    /// Pack a finished run into one tarball with checksums (evidence included).
    #[command(
        after_help = "Writes <run>.tar.gz beside the run directory (or -o FILE) and FILE.sha256;\ninside, SHA256SUMS lists every file (`sha256sum -c SHA256SUMS` checks them).\n--remove-remote then removes the run's own directories on its clusters.\n\nExample:\n  matterstack archive ws/runs/study --remove-remote"
    )]
    Archive {
        /// The run directory.
        run: PathBuf,
        /// The tarball to write.
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Remove the run's directories on its clusters once the tarball is written.
        #[arg(long)]
        remove_remote: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a run: cancel its live jobs, remove its remote directories (--remote), then the run directory.
    #[command(
        after_help = "Only remote directories whose job_info.json carries one of the run's tokens are\nremoved; another run's directory under the same root is never touched. A failure\non the cluster keeps the local run, so the delete can be run again.\n\nExamples:\n  matterstack delete ws/runs/old --remote --dry-run\n  matterstack delete ws/runs/old --remote --yes"
    )]
    Delete {
        /// The run directory.
        run: PathBuf,
        /// Also remove the run's project and scratch directories on its clusters.
        #[arg(long)]
        remote: bool,
        /// List exactly what would be cancelled and removed; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask (needed when stdin is not a terminal).
        #[arg(long)]
        yes: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Rebuild the record of jobs from the job_info.json files on a cluster.
    #[command(
        after_help = "Without --into, lists the jobs matterstack left on the cluster.\n\nExample:\n  matterstack sync hpc --into ws/runs/2026-study"
    )]
    Sync {
        /// The cluster profile.
        cluster: String,
        /// Rebuild this run directory (its name is the run id; it must not exist).
        #[arg(long, value_name = "RUN")]
        into: Option<PathBuf>,
        /// With --into: which run of that id (the UID column of the listing),
        /// when the cluster holds several from different workspaces.
        #[arg(long, value_name = "UID", requires = "into")]
        uid: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ClusterCmd {
    /// Add a cluster profile.
    #[command(
        after_help = "Example:\n  matterstack cluster add hpc --host login.hpc.org --user alice \\\n    --project-root '~/matterstack' --scratch-root /scratch/alice/ms --partition compute"
    )]
    Add(Box<ClusterAdd>),
    /// List cluster profiles.
    #[command(after_help = "Example:\n  matterstack cluster list")]
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one profile and how to open a master connection for 2FA clusters.
    #[command(after_help = "Example:\n  matterstack cluster show hpc")]
    Show {
        /// The profile.
        name: String,
    },
    /// Ask a SLURM cluster for its partitions (limits), QOS, accounts and modules; record them in the profile.
    #[command(
        after_help = "Once probed, `init` and `cluster test` check tasks' partition, QOS, walltime and\ncores against what the cluster offers. Probe again after the cluster changes.\n\nExample:\n  matterstack cluster probe hpc"
    )]
    Probe {
        /// The profile.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Your jobs in a SLURM cluster's queue, every run's (and others'), with SLURM's reasons.
    #[command(
        after_help = "BY is `matterstack` for jobs matterstack submitted (their names carry the attempt's token).\nA reason that means the job can never start as submitted is marked.\n\nExample:\n  matterstack cluster queue hpc --json"
    )]
    Queue {
        /// The profile.
        name: String,
        /// Print JSON: [{job, state, reason, elapsed_secs, time_limit_secs, name, ours, never}].
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile from your clusters.toml (runs keep their own copy).
    #[command(after_help = "Example:\n  matterstack cluster remove old-hpc")]
    Remove {
        /// The profile.
        name: String,
    },
    /// Connect, run the scheduler's status command, check the roots, measure latency.
    #[command(after_help = "Example:\n  matterstack cluster test hpc")]
    Test {
        /// The profile.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct ClusterAdd {
    /// Profile name.
    pub name: String,
    /// Host, address or ~/.ssh/config alias.
    #[arg(long)]
    pub host: String,
    /// SSH port.
    #[arg(long)]
    pub port: Option<u16>,
    /// Remote user.
    #[arg(long)]
    pub user: Option<String>,
    /// Private key file.
    #[arg(long, value_name = "FILE")]
    pub identity_file: Option<String>,
    /// slurm, pbs or none.
    #[arg(long, default_value = "slurm")]
    pub scheduler: String,
    /// ssh or local.
    #[arg(long, default_value = "ssh")]
    pub transport: String,
    /// Default partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Default QOS.
    #[arg(long)]
    pub qos: Option<String>,
    /// Default account.
    #[arg(long)]
    pub account: Option<String>,
    /// A line run before each job (repeat): module load, source.
    #[arg(long = "setup", value_name = "LINE")]
    pub setup: Vec<String>,
    /// Remote root of project directories.
    #[arg(long)]
    pub project_root: String,
    /// Remote root of scratch directories.
    #[arg(long)]
    pub scratch_root: String,
    /// Jobs queued or running at once.
    #[arg(long)]
    pub max_jobs: Option<u32>,
    /// Scheduler commands per second.
    #[arg(long)]
    pub commands_per_second: Option<f64>,
    /// Extra ssh option Key=Value (repeat).
    #[arg(long = "ssh-option", value_name = "KEY=VALUE")]
    pub ssh_options: Vec<String>,
    /// A template replacing the built-in job script (e.g. slurm/site).
    #[arg(long, value_name = "TEMPLATE")]
    pub job_template: Option<String>,
    /// Replace an existing profile of that name.
    #[arg(long)]
    pub replace: bool,
}

/// Parses the command line, runs the command and maps errors to exit codes.
pub fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of our output goes
    // away (`matterstack status run | head`) instead of failing to print.
    // SAFETY: setting a signal disposition to its default at start-up.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    output::init_logging(cli.verbose);
    // The TUI owns the whole screen: progress lines would draw over it.
    if !matches!(cli.command, Cmd::Tui { .. }) {
        output::init_progress();
    }
    match commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            let verdict = e
                .downcast_ref::<matterstack_core::Error>()
                .map_or(Verdict::Failed, Verdict::of_error);
            eprintln!("{}: {e:#}", style::error_label());
            ExitCode::from(verdict.code())
        }
    }
}

/// `completions SHELL`: the script for `shell`, on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> ExitCode {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "matterstack", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// `man`: the manual page, on stdout.
pub(crate) fn man() -> anyhow::Result<ExitCode> {
    use clap::CommandFactory;
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}
