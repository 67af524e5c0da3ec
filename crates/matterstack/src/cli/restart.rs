//! `restart RUN TASK`: continue a failed or cancelled task from its checkpoint.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use matterstack_core::app::overrides::Overrides;
use matterstack_core::app::restart::RestartOptions;
use matterstack_core::app::Run;

use super::style;

/// Arguments of `matterstack restart`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The task must be FAILED or CANCELLED (cancel a running one first) and its \
checkpoint files (`checkpoint` in matterstack.toml, or its template's) must be in its task \
directory. The new attempt runs the task's restart command and is shown as \
\"restart of\" the last one by `status` and `explain`. It starts at the next step.\n\n\
Example:\n  matterstack cancel runs/study md\n  matterstack restart runs/study md --walltime 24h\n  matterstack run runs/study"
)]
pub struct RestartArgs {
    /// The run directory.
    pub run: PathBuf,
    /// The task.
    pub task: String,
    #[command(flatten)]
    pub changes: ChangeArgs,
    /// Print what was recorded as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What `retry` and `restart` may change for the next attempt.
#[derive(Debug, Clone, clap::Args)]
pub struct ChangeArgs {
    /// A new walltime (HH:MM:SS, D-HH:MM:SS, or 30m / 12h / 2d).
    #[arg(long, value_name = "W")]
    pub walltime: Option<String>,
    /// A new number of cores.
    #[arg(long, value_name = "N")]
    pub cores: Option<u32>,
    /// A new memory request (e.g. 8GB).
    #[arg(long, value_name = "MEM")]
    pub memory: Option<String>,
    /// Another partition (SLURM) or queue (PBS).
    #[arg(long, value_name = "P")]
    pub partition: Option<String>,
    /// Another QOS.
    #[arg(long, value_name = "Q")]
    pub qos: Option<String>,
    /// Another account.
    #[arg(long, value_name = "A")]
    pub account: Option<String>,
    /// Change a template parameter (repeatable); the template is rendered again.
    #[arg(long = "set", value_name = "PARAM=VALUE")]
    pub set: Vec<String>,
}

impl From<ChangeArgs> for Overrides {
    fn from(a: ChangeArgs) -> Overrides {
        Overrides {
            walltime: a.walltime,
            cores: a.cores,
            memory: a.memory,
            partition: a.partition,
            qos: a.qos,
            account: a.account,
            set: a.set,
        }
    }
}

/// Records the restart and says what will run.
pub fn dispatch(args: RestartArgs) -> Result<ExitCode> {
    let options: RestartOptions = args.changes.into();
    let o = Run::open(&args.run)?.restart(&args.task, &options)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&o)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: attempt {} (restart of {}) continues from {} at the next step; now {}",
        o.task,
        o.attempt,
        o.from_attempt,
        o.checkpoint.join(", "),
        style::status(&o.status)
    );
    println!("  command: {}", o.command.replace('\n', "; "));
    let walltime = o.walltime.as_deref().unwrap_or("none");
    println!("  cores: {}, walltime: {walltime}", o.cores);
    if !o.dependants.is_empty() {
        println!("  waiting for it again: {}", o.dependants.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
