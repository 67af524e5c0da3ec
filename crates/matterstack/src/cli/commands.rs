//! One function per command.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use matterstack_core::app::{self, InitOptions, LogStream, Run, RunView, TaskState, Verdict};

use super::{style, Cmd};

pub fn dispatch(cmd: Cmd) -> Result<ExitCode> {
    match cmd {
        Cmd::Init { workspace, run_id } => {
            let dir = app::init(&workspace, &InitOptions { run_id })?;
            remember(&dir);
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            println!("created run {name}");
            println!("{}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Step { run } => {
            let mut run = Run::open(&run)?;
            let r = run.step()?;
            println!(
                "launched {}, finished {}, adopted {}; run {}",
                r.launched,
                r.finished,
                r.adopted,
                style::status(r.run_state().as_str())
            );
            if !r.planned.is_empty() {
                println!("planner added: {}", r.planned.join(", "));
            }
            for w in &r.warnings {
                eprintln!("warning: {w}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run { run, poll } => {
            if !(poll.is_finite() && poll > 0.0 && poll <= 3600.0) {
                return Err(matterstack_core::Error::Input(format!(
                    "--poll {poll}: give a number of seconds between 0 and 3600, e.g. --poll 2"
                ))
                .into());
            }
            let mut run = Run::open(&run)?;
            let state = if std::io::stderr().is_terminal() {
                // A live progress line on a terminal only.
                let mut progress = Progress::default();
                let state = run.run_until_done_with(Duration::from_secs_f64(poll), |run, _| {
                    if let Ok(c) = run.counts() {
                        progress.show(&c);
                    }
                })?;
                progress.done();
                state
            } else {
                // Not a terminal (a log file, a batch job): one line per
                // change of a task's state.
                let mut changes = Changes::from_now(&mut run)?;
                let state = run.run_until_done_with(Duration::from_secs_f64(poll), |run, _| {
                    changes.show(run)
                })?;
                changes.show(&mut run);
                state
            };
            let view = run.view()?;
            print_counts(&view);
            if let Some(why) = &view.paused {
                println!("paused: {why} (`matterstack resume` to go on)");
            }
            let verdict = Verdict::of_run(state);
            if verdict == Verdict::Waiting {
                for t in view
                    .tasks
                    .iter()
                    .filter(|t| t.status == TaskState::WaitingExternal)
                {
                    println!(
                        "{} waits for a person: `matterstack explain {} {}` says how to answer",
                        t.id, view.dir, t.id
                    );
                }
            }
            Ok(ExitCode::from(verdict.code()))
        }
        Cmd::Status { run, json, wide } => {
            let view = Run::open(&run)?.view()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_status(&view, wide);
                if let Some(why) = &view.paused {
                    println!("paused: {why} (`matterstack resume` to go on)");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Cancel { run, tasks } => {
            let outcomes = Run::open(&run)?.cancel(&tasks)?;
            for o in &outcomes {
                if o.cancelled {
                    println!("cancelled {} (was {})", o.id, o.was);
                } else {
                    println!("{} already {}", o.id, o.was);
                }
            }
            if outcomes.is_empty() {
                println!("nothing to cancel");
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Retry { run, task, changes } => {
            let again = Run::open(&run)?.retry(&task, &changes.into())?;
            println!("{} will run again at the next step", again.join(", "));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Restart(args) => super::restart::dispatch(args),
        Cmd::Explain { run, task, json } => {
            let e = Run::open(&run)?.explain(&task)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&e)?);
            } else {
                println!("{} is {}", e.task, style::status(e.status.as_str()));
                for r in &e.reasons {
                    println!("  - {r}");
                }
                for a in &e.attempts {
                    let how = a
                        .lineage_note()
                        .map(|l| format!(" ({l})"))
                        .unwrap_or_default();
                    println!(
                        "  attempt {}{how}: {}{}{}",
                        a.n,
                        a.status,
                        a.external_id
                            .as_deref()
                            .map(|x| format!(" (id {x})"))
                            .unwrap_or_default(),
                        a.reason
                            .as_deref()
                            .map(|r| format!(": {r}"))
                            .unwrap_or_default()
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Submit(a) => super::workflow::submit(a),
        Cmd::Watch(a) => super::watch::watch(a),
        Cmd::Serve {
            workspaces,
            port,
            listen,
            no_drive,
            poll,
        } => {
            if !(poll.is_finite() && poll > 0.0 && poll <= 3600.0) {
                bail!(matterstack_core::Error::Input(format!(
                    "--poll {poll}: give a number of seconds between 0 and 3600"
                )));
            }
            if let Some(a) = listen.filter(|a| !a.ip().is_loopback()) {
                eprintln!(
                    "WARNING: listening on {a}, reachable from other machines. Anyone with the printed URL can act on your runs and clusters; prefer the default (127.0.0.1) with an SSH tunnel."
                );
            }
            matterstack_web::serve(
                matterstack_web::Options {
                    workspaces,
                    listen,
                    port,
                    drive: !no_drive,
                    poll: Duration::from_secs_f64(poll),
                },
                |url| {
                    println!("matterstack serve: open {url}");
                    println!(
                        "(the token in it works once; Ctrl-C stops the server, the runs go on)"
                    );
                    let _ = std::io::stdout().flush();
                },
            )
            .map_err(|e| match e.downcast::<matterstack_core::Error>() {
                Ok(e) => anyhow::Error::new(*e),
                Err(e) => anyhow::anyhow!("{e}"),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Tui {
            targets,
            no_drive,
            poll,
        } => {
            if !(poll.is_finite() && poll > 0.0 && poll <= 3600.0) {
                bail!(matterstack_core::Error::Input(format!(
                    "--poll {poll}: give a number of seconds between 0 and 3600"
                )));
            }
            if !std::io::stdout().is_terminal() {
                bail!(matterstack_core::Error::Input(
                    "tui needs a terminal; use `matterstack watch` or `status` in scripts".into()
                ));
            }
            matterstack_tui::run(matterstack_tui::Options {
                targets,
                drive: !no_drive,
                poll: Duration::from_secs_f64(poll),
                color: style::color_on(),
            })
            .map_err(|e| match e.downcast::<matterstack_core::Error>() {
                Ok(e) => anyhow::Error::new(*e),
                Err(e) => anyhow::anyhow!("{e}"),
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Pause(a) => super::workflow::pause(a),
        Cmd::Resume { run } => super::workflow::resume(run),
        Cmd::Respond(a) => super::workflow::respond(a),
        Cmd::Complete(a) => super::workflow::complete(a),
        Cmd::Cluster(c) => super::cluster::dispatch(c),
        Cmd::Template(c) => super::template::dispatch(c),
        Cmd::Mbe(c) => super::mbe::dispatch(c),
        Cmd::ExportEvidence(a) => super::evidence::dispatch(a),
        Cmd::Parse {
            program,
            file,
            json,
        } => parse(&program, &file, json),
        Cmd::Archive {
            run,
            output,
            remove_remote,
            json,
        } => {
            let r = Run::open(&run)?.archive(&app::archive::ArchiveOptions {
                output,
                remove_remote,
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                for (op, rem) in &r.remote {
                    for d in &rem.removed {
                        println!("{op}: {d} removed");
                    }
                    for d in &rem.kept {
                        println!("{op}: {d} kept (not this run's, or not empty)");
                    }
                }
                println!(
                    "archived {} files ({} bytes, sha256 {})",
                    r.files, r.bytes, r.sha256
                );
                println!("{}", r.file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Delete {
            run,
            remote,
            dry_run,
            yes,
            json,
        } => super::runs::delete(&run, remote, dry_run, yes, json),
        Cmd::Events {
            run,
            since,
            follow,
            json,
            limit,
        } => super::events::events(&run, since, follow, json, limit),
        Cmd::Completions { shell } => Ok(super::completions(shell)),
        Cmd::Man => super::man(),
        Cmd::Runs {
            workspaces,
            status,
            json,
            forget_missing,
        } => super::runs::list(workspaces, status, json, forget_missing),
        Cmd::Sync {
            cluster,
            into,
            uid,
            json,
        } => super::cluster::sync(&cluster, into.as_deref(), uid.as_deref(), json),
        Cmd::Logs {
            run,
            task,
            stderr,
            file,
            follow,
            attempt,
        } => {
            let stream = if stderr {
                LogStream::Stderr
            } else {
                LogStream::Stdout
            };
            logs(
                &mut Run::open(&run)?,
                &task,
                stream,
                file.as_deref(),
                follow,
                attempt,
            )
        }
    }
}

/// Adds a new run to the user's index; a failure is a warning (the run
/// is made, and `runs WORKSPACE` still finds it by looking).
pub(super) fn remember(dir: &std::path::Path) {
    if let Err(e) = app::runs::remember(dir) {
        eprintln!(
            "warning: {} was not added to the list of runs: {e}",
            dir.display()
        );
    }
}

/// One line per change of state, for `run` without a terminal, read from
/// the run's change feed (cheap: only what is new): every attempt's
/// transition, and a task's when no attempt shows it (failed for good,
/// cancelled, skipped, waiting for a person).
struct Changes {
    cursor: i64,
}

impl Changes {
    /// Follows `run` from its latest change.
    fn from_now(run: &mut Run) -> Result<Changes> {
        Ok(Changes {
            cursor: run.events_cursor()?,
        })
    }

    fn show(&mut self, run: &mut Run) {
        use matterstack_core::app::changes::ChangeKind;
        let mut out = std::io::stdout().lock();
        loop {
            let Ok(batch) = run.events_since(self.cursor, 1000) else {
                return;
            };
            self.cursor = batch.cursor;
            for c in &batch.changes {
                let news = match &c.change {
                    ChangeKind::Attempt { .. } => true,
                    ChangeKind::Task { status, .. } => matches!(
                        status,
                        TaskState::Failed
                            | TaskState::Cancelled
                            | TaskState::Skipped
                            | TaskState::WaitingExternal
                    ),
                };
                if news {
                    let _ = writeln!(out, "{}", super::events::change_line(c));
                }
            }
            if !batch.more {
                break;
            }
        }
        let _ = out.flush();
    }
}

/// A one-line progress display, redrawn at most every 100 ms.
#[derive(Default)]
struct Progress {
    last: Option<std::time::Instant>,
}

impl Progress {
    fn show(&mut self, counts: &app::Counts) {
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_millis(100))
        {
            return;
        }
        self.last = Some(std::time::Instant::now());
        let n = |k: TaskState| counts.get(&k).copied().unwrap_or(0);
        let total: u64 = counts.values().sum();
        let done: u64 = TaskState::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| n(*s))
            .sum();
        let people = n(TaskState::WaitingExternal);
        let queued = n(TaskState::Queued);
        eprint!(
            "\r{done}/{total} done ({} failed), {} running, {}{} waiting{}   ",
            n(TaskState::Failed),
            n(TaskState::Running),
            if queued > 0 {
                format!("{queued} queued, ")
            } else {
                String::new()
            },
            n(TaskState::Pending) + n(TaskState::Ready),
            if people > 0 {
                format!(", {people} for a person")
            } else {
                String::new()
            }
        );
    }

    fn done(&self) {
        if self.last.is_some() {
            eprintln!();
        }
    }
}

fn print_counts(view: &RunView) {
    let parts: Vec<String> = view
        .counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{n} {}", s.as_str().to_lowercase()))
        .collect();
    println!(
        "run {} {}: {}",
        view.run,
        style::status(view.status.as_str()),
        parts.join(", ")
    );
}

fn print_status(view: &RunView, wide: bool) {
    print_counts(view);
    let width = view
        .tasks
        .iter()
        .map(|t| t.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let sw = view
        .tasks
        .iter()
        .map(|t| t.status.as_str().len())
        .max()
        .unwrap_or(6)
        .max(9);
    // --wide: the job id, how long it ran, the main parsed result.
    let extra = |job: &str, elapsed: &str, result: &str| {
        if wide {
            format!("{job:<12}  {elapsed:>9}  {result:<24}  ")
        } else {
            String::new()
        }
    };
    println!(
        "{:<width$}  {:<sw$}  {:>8}  {:>4}  {}REASON",
        "TASK",
        "STATUS",
        "ATTEMPTS",
        "EXIT",
        extra("JOB", "ELAPSED", "RESULT")
    );
    let now = matterstack_core::store::now_ms();
    for t in &view.tasks {
        let exit = t.exit_code.map_or("-".to_string(), |c| c.to_string());
        // Pad before colouring so escape codes do not break alignment.
        let name = t.status.as_str();
        let status = format!("{name:<sw$}");
        let note = t.note(now).unwrap_or_default();
        let columns = extra(
            t.last_job.as_deref().unwrap_or("-"),
            &t.elapsed_ms
                .map(matterstack_core::model::duration::duration_label)
                .unwrap_or_else(|| "-".into()),
            &t.main_result().unwrap_or_else(|| "-".into()),
        );
        let mut lines = note.lines();
        println!(
            "{:<width$}  {}  {:>8}  {:>4}  {columns}{}",
            t.id,
            status.replace(name, &style::status(name)),
            t.attempts,
            exit,
            lines.next().unwrap_or("")
        );
        // A multi-line reason continues under its column.
        let indent = width + sw + 8 + 4 + 8 + columns.chars().count();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            println!("{:indent$}{}", "", line.trim_end());
        }
    }
}

fn logs(
    run: &mut Run,
    task: &str,
    stream: LogStream,
    file: Option<&str>,
    follow: bool,
    attempt: Option<u32>,
) -> Result<ExitCode> {
    let asked = run.log(task, stream, file, attempt)?;
    let target = run.log_or_program_output(asked.clone())?;
    if target.file != asked.file {
        eprintln!(
            "(standard output is empty; showing {}, the program's output file)",
            target
                .path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
        );
    }
    let mut out = std::io::stdout().lock();
    let mut pos = 0u64;
    loop {
        let chunk = run.read_log(&target, pos)?;
        pos += chunk.bytes.len() as u64;
        out.write_all(&chunk.bytes)?;
        out.flush()?;
        if pos == 0 && !chunk.live && !follow && !target.path.exists() {
            bail!(
                "no log yet at {} (attempt {} of {task} wrote none)",
                target.path.display(),
                target.attempt
            );
        }
        if chunk.more {
            continue;
        }
        if !(follow && chunk.live) {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(if chunk.bytes.is_empty() {
            500
        } else {
            100
        }));
    }
}

/// `parse PROGRAM FILE [--json]`.
fn parse(program: &str, file: &std::path::Path, json: bool) -> Result<ExitCode> {
    let p = app::parse::parse_file(program, file)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&p)?);
    } else {
        let or_dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        println!("program      {} {}", p.program, or_dash(p.version.clone()));
        println!(
            "final energy {}",
            p.final_energy.map_or("-".into(), |e| format!(
                "{e} {}",
                p.energy_unit.clone().unwrap_or_default()
            ))
        );
        println!(
            "converged    {}",
            or_dash(
                p.converged
                    .map(|c| if c { "yes".into() } else { "no".into() })
            )
        );
        println!(
            "terminated   {}",
            if p.normal_termination {
                "normally"
            } else if p.partial {
                "not yet: the output stops before the program's end (partial)"
            } else {
                "no: no normal-termination line"
            }
        );
        if p.wall_time_s.is_some() || p.cpu_time_s.is_some() {
            println!(
                "time         wall {} s, cpu {} s",
                or_dash(p.wall_time_s.map(|t| t.to_string())),
                or_dash(p.cpu_time_s.map(|t| t.to_string()))
            );
        }
        for w in &p.warnings {
            println!("warning      {w}");
        }
        if let Some(e) = &p.error {
            println!("error        {e}");
        }
    }
    Ok(ExitCode::from(
        if p.error.is_some() {
            Verdict::OutputReportsFailure
        } else {
            Verdict::Success
        }
        .code(),
    ))
}
