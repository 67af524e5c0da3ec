//! Campaigns: a planner program decides the next workflow whenever the
//! current one is finished.
//!
//! The planner (`[run] planner = "python3 planner.py"`, run in the
//! workspace directory) reads on stdin
//! `{"run", "round", "state", "tasks": [{id, status, exit_code, reason,
//! results, params, attempts}], "rounds": [earlier answers]}` and prints
//! either `{"tasks": [ …tasks as in matterstack.toml… ]}` or
//! `{"done": true}`. Its answer and the tasks it adds are committed in one
//! transaction. A planner that fails (non-zero exit, invalid JSON, invalid
//! tasks, timeout) pauses the run with its stderr in the reason; nothing
//! is lost and `resume` asks it again.
//!
//! Crash safety: killed after the planner answered but before the commit,
//! the next step asks the planner again with the same input; a
//! deterministic planner gives the same answer, and nothing ran meanwhile.

use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Run;
use crate::model::{refs, Command, TaskSpec, WorkspaceSpec};
use crate::{Error, Result};

/// What a planner round did.
#[derive(Debug, Clone, PartialEq)]
pub enum Round {
    /// No planner, or it already said done.
    Idle,
    /// It added these tasks.
    Added(Vec<String>),
    /// It said the campaign is done.
    Done,
    /// It failed; the run is paused with this reason.
    Paused(String),
}

impl Run {
    /// Asks the planner for the next workflow if the run has one, every
    /// task is finished, the planner has not said done and the run is not
    /// paused. The caller holds the run lock.
    ///
    /// Fails only on store or filesystem errors; a failing planner pauses
    /// the run ([`Round::Paused`]).
    pub(crate) fn plan_next(&mut self) -> Result<Round> {
        // Cheap checks first: an idle step on a large finished run must
        // not parse its whole workspace file.
        let found = self.store().read(|tx| {
            if tx.paused()?.is_some() || tx.has_unfinished()? {
                return Ok(None);
            }
            let Some(spec_toml) = tx.planner_spec_toml()? else {
                return Ok(None);
            };
            let run = tx.run()?;
            Ok(Some((
                spec_toml,
                PathBuf::from(run.workspace),
                run.id,
                tx.planner_rounds()?,
            )))
        })?;
        let Some((spec_toml, workspace, run_id, rounds)) = found else {
            return Ok(Round::Idle);
        };
        let settings = match toml::from_str::<WorkspaceSpec>(&spec_toml) {
            Ok(s) => s.run,
            Err(e) => {
                return self.pause_campaign(format!(
                    "the run's stored workspace (the planner settings) no longer parses: {}; this run was made by another matterstack version or its store was edited — make a new run with `matterstack init`",
                    e.message()
                ))
            }
        };
        let Some(planner) = settings.planner.clone() else {
            return Ok(Round::Idle);
        };
        let earlier: Vec<Value> = rounds
            .iter()
            .filter_map(|(_, o)| serde_json::from_str(o).ok())
            .collect();
        if earlier
            .iter()
            .any(|o| o.get("done") == Some(&Value::Bool(true)))
        {
            return Ok(Round::Idle);
        }
        let max = settings.max_rounds.unwrap_or(1000) as usize;
        if earlier.len() >= max {
            return self.pause_campaign(format!(
                "the planner ran {max} rounds without saying done ([run] max_rounds = {max}); raise max_rounds and `matterstack resume`"
            ));
        }
        let input = self.planner_input(&run_id, earlier.len() + 1, &earlier)?;
        let input_text =
            serde_json::to_string(&input).map_err(|e| Error::Corrupt(e.to_string()))?;
        let timeout = Duration::from_secs(settings.planner_timeout_s.unwrap_or(600));
        // The input is kept for whoever debugs a planner, and handed over as
        // a file: a planner that does not read stdin cannot break a pipe.
        let dir = self.dir.join("planner");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let input_path = dir.join(format!("round-{}.input.json", earlier.len() + 1));
        crate::atomic::write(&input_path, &input_text)?;
        let answer = match call(&planner, &workspace, &input_path, timeout) {
            Ok(a) => a,
            Err(why) => return self.pause_campaign(format!("planner failed: {why}")),
        };
        let sha = hex(&Sha256::digest(input_text.as_bytes()));
        if answer.get("done") == Some(&Value::Bool(true)) {
            self.store().write(|tx| {
                tx.insert_planner_round(&sha, &answer.to_string(), 0)?;
                tx.event(None, "planner: campaign done")?;
                crate::engine::update_run_state(tx)?;
                Ok(())
            })?;
            return Ok(Round::Done);
        }
        let new_tasks = match self.planned_tasks(&answer, &workspace) {
            Ok(t) => t,
            Err(why) => return self.pause_campaign(format!("planner answer rejected: {why}")),
        };
        for t in new_tasks.iter().filter(|t| !t.inputs.is_empty()) {
            let dir = self.dir.join("tasks").join(&t.id);
            super::init::copy_inputs(&workspace, &t.inputs, &dir)?;
        }
        if std::env::var_os(crate::env_vars::MATTERSTACK_TEST_CRASH_AFTER_PLANNER).is_some() {
            // Fault injection for the crash tests: die after the planner
            // answered (and its task directories were written), before the
            // commit.
            std::process::abort();
        }
        let ids: Vec<String> = new_tasks.iter().map(|t| t.id.clone()).collect();
        self.store().write(|tx| {
            tx.insert_tasks(&new_tasks)?;
            skip_blocked(tx, &new_tasks)?;
            tx.insert_planner_round(&sha, &answer.to_string(), new_tasks.len())?;
            tx.event(
                None,
                &format!(
                    "planner round {}: added {}",
                    earlier.len() + 1,
                    ids.join(", ")
                ),
            )?;
            crate::engine::update_run_state(tx)?;
            Ok(())
        })?;
        Ok(Round::Added(ids))
    }

    fn pause_campaign(&mut self, reason: String) -> Result<Round> {
        self.store().write(|tx| {
            tx.set_paused(Some(&reason))?;
            tx.event(None, &format!("paused: {reason}"))?;
            crate::engine::update_run_state(tx)?;
            Ok(())
        })?;
        Ok(Round::Paused(reason))
    }

    fn planner_input(&mut self, run_id: &str, round: usize, earlier: &[Value]) -> Result<Value> {
        self.store().read(|tx| {
            let run = tx.run()?;
            let mut tasks = Vec::new();
            for s in tx.task_summaries()? {
                let spec = tx.task(&s.id)?.map(|t| t.spec);
                tasks.push(json!({
                    "id": s.id,
                    "status": s.status.as_str(),
                    "exit_code": s.exit_code,
                    "reason": s.reason,
                    "attempts": s.attempts,
                    "results": s.results.and_then(|r| serde_json::from_str::<Value>(&r).ok()),
                    "params": spec.as_ref().map(|t| Value::Object(t.params.clone())),
                }));
            }
            Ok(json!({
                "run": run_id,
                "round": round,
                "state": run.status,
                "tasks": tasks,
                "rounds": earlier,
            }))
        })
    }

    /// Adds the profiles of clusters the new tasks use, and the run has not
    /// used yet, to the run's snapshot (as `init` does), and reloads the
    /// operators. Fails naming a cluster no profile defines.
    fn snapshot_clusters(
        &mut self,
        tasks: &[TaskSpec],
        workspace: &Path,
    ) -> std::result::Result<(), String> {
        let path = self.dir.join(super::clusters::CLUSTERS_FILE);
        let mut snapshot = super::clusters::read_file(&path).map_err(|e| e.to_string())?;
        let missing: Vec<&str> = tasks
            .iter()
            .filter_map(|t| t.cluster.as_deref())
            .filter(|c| !snapshot.contains_key(*c))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let all = super::clusters::load(Some(workspace)).map_err(|e| e.to_string())?;
        for c in missing {
            let p = all.get(c).ok_or_else(|| {
                format!(
                    "cluster \"{c}\" is not defined; add it with `matterstack cluster add {c} --host …` or in the workspace's clusters.toml"
                )
            })?;
            snapshot.insert(c.to_string(), p.clone());
        }
        super::clusters::write_file(&path, &snapshot).map_err(|e| e.to_string())?;
        let reopened = Run::open(&self.dir).map_err(|e| e.to_string())?;
        self.ops = reopened.ops;
        Ok(())
    }

    /// Validates the planner's tasks against the run's existing ones, as
    /// `init` would, and renders their templates.
    fn planned_tasks(
        &mut self,
        answer: &Value,
        workspace: &Path,
    ) -> std::result::Result<Vec<TaskSpec>, String> {
        let Some(list) = answer.get("tasks") else {
            return Err("it must print {\"tasks\": [...]} or {\"done\": true}; got neither".into());
        };
        let mut new: Vec<TaskSpec> = serde_json::from_value(list.clone())
            .map_err(|e| format!("\"tasks\" is not a list of tasks: {e}"))?;
        if new.is_empty() {
            return Err("it returned no tasks and did not say done".into());
        }
        let existing: Vec<TaskSpec> = self
            .store()
            .read(|tx| {
                let mut v = Vec::new();
                for s in tx.task_summaries()? {
                    if let Some(t) = tx.declared_spec(&s.id)? {
                        v.push(t);
                    }
                }
                Ok(v)
            })
            .map_err(|e| e.to_string())?;
        let mut checked = existing.clone();
        checked.append(&mut new);
        // References to existing tasks become dependencies of the new ones.
        let mut problems = refs::check(&mut checked);
        let taken: std::collections::HashSet<&str> =
            existing.iter().map(|t| t.id.as_str()).collect();
        for t in &checked[existing.len()..] {
            if taken.contains(t.id.as_str()) {
                problems.push(format!(
                    "task \"{}\" already exists in this run; give new tasks new ids (e.g. with the round number)",
                    t.id
                ));
            }
        }
        let spec = WorkspaceSpec {
            run: Default::default(),
            tasks: checked,
        };
        problems.extend(spec.problems());
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
        let mut spec = spec;
        let mut sub = WorkspaceSpec {
            run: Default::default(),
            tasks: spec.tasks.split_off(existing.len()),
        };
        let file = workspace.join("planner");
        super::init::check_inputs(workspace, &sub, &file).map_err(|e| e.to_string())?;
        self.snapshot_clusters(&sub.tasks, workspace)?;
        let rendered =
            super::init::render_templates(workspace, &mut sub, &file).map_err(|e| e.to_string())?;
        for (id, r) in &rendered {
            matterstack_templates::write_rendered(r, &self.dir.join("tasks").join(id))
                .map_err(|e| format!("task \"{id}\": {e}"))?;
        }
        Ok(sub.tasks)
    }
}

/// New tasks that depend on a task that already failed, was cancelled or
/// skipped can never run: they are SKIPPED at once (a skip by a condition
/// stays a non-failure), through the state machine like any other.
fn skip_blocked(
    tx: &crate::store::Tx<'_>,
    tasks: &[TaskSpec],
) -> Result<(), crate::store::TxError> {
    use crate::model::{Event, TaskStatus};
    for t in tasks {
        for dep in &t.depends_on {
            let Some(d) = tx.task(dep)? else { continue };
            let by_condition = d.status == TaskStatus::Skipped && tx.skip_ok(dep)?;
            let blocking = crate::model::state::dependency_blocks(
                d.status,
                d.spec.allow_failure,
                by_condition,
                t.allow_skipped,
            );
            if blocking {
                let Some(now) = tx.task(&t.id)? else { break };
                if now.status == TaskStatus::Pending {
                    let why = format!("dependency \"{dep}\" is {}", d.status);
                    tx.set_task(&t.id, now.status.on(Event::DepBlocked)?, None, Some(&why))?;
                    tx.set_skip_ok(&t.id, by_condition)?;
                }
                break;
            }
        }
    }
    Ok(())
}

/// Runs the planner with the file `input` on stdin; returns its JSON answer, or why
/// it failed (exit status and stderr, invalid JSON, timeout).
fn call(
    planner: &Command,
    cwd: &Path,
    input: &Path,
    timeout: Duration,
) -> std::result::Result<Value, String> {
    let stdin = std::fs::File::open(input)
        .map_err(|e| format!("cannot open its input {}: {e}", input.display()))?;
    let mut cmd = match planner {
        Command::Shell(s) => {
            let mut c = Process::new("sh");
            c.arg("-c").arg(s);
            c
        }
        Command::Argv(v) => {
            let Some((program, args)) = v.split_first() else {
                return Err("planner = [] names no program".into());
            };
            let mut c = Process::new(program);
            c.args(args);
            c
        }
    };
    use std::os::unix::process::CommandExt;
    // Its own process group: a timeout kills the planner and its children.
    let mut child = cmd
        .current_dir(cwd)
        .process_group(0)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start it in {}: {e}", cwd.display()))?;
    let out = child.stdout.take();
    let reader = std::thread::spawn(move || crate::process::read_capped(out, MAX_PLANNER_OUTPUT));
    let err = child.stderr.take();
    let err_reader = std::thread::spawn(move || crate::process::read_capped(err, 64 * 1024));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > timeout => {
                crate::process::signal_group(child.id() as i32, libc::SIGKILL);
                let _ = child.wait();
                return Err(format!(
                    "it ran longer than {} s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    };
    let (stdout, too_long) = reader.join().unwrap_or_default();
    let (stderr, _) = err_reader.join().unwrap_or_default();
    let tail = |s: &str| {
        let t = s.trim();
        let n = t.chars().count();
        if n > 2000 {
            t.chars().skip(n - 2000).collect::<String>()
        } else {
            t.to_string()
        }
    };
    if !status.success() {
        return Err(format!(
            "it exited with {}; its stderr: {}",
            status
                .code()
                .map_or("a signal".to_string(), |c| format!("code {c}")),
            tail(&stderr)
        ));
    }
    if too_long {
        return Err(format!(
            "it printed more than {} MiB; a planner answers with one JSON object of tasks",
            MAX_PLANNER_OUTPUT >> 20
        ));
    }
    serde_json::from_str(stdout.trim()).map_err(|e| {
        format!(
            "it printed invalid JSON ({e}): {:?}; its stderr: {}",
            tail(&stdout),
            tail(&stderr)
        )
    })
}

/// The most a planner may print (its answer is stored in the run).
const MAX_PLANNER_OUTPUT: usize = 16 << 20;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f12_a_stored_spec_that_no_longer_parses_pauses_the_campaign_with_the_reason() {
        let ws = tempfile::tempdir().unwrap();
        std::fs::write(
            ws.path().join("matterstack.toml"),
            "[run]\nplanner = \"echo '{\\\"done\\\": true}'\"\n[[tasks]]\nid = \"t\"\ncommand = \"true\"\n",
        )
        .unwrap();
        let dir = crate::app::init(ws.path(), &Default::default()).unwrap();
        let mut run = Run::open(&dir).unwrap();
        run.store()
            .write(|tx| {
                tx.execute("UPDATE run SET spec_toml = 'tasks = [[ broken'", [])?;
                Ok(())
            })
            .unwrap();
        let done = run.store().write(|tx| {
            tx.execute("UPDATE tasks SET status = 'COMPLETED'", [])?;
            Ok(())
        });
        done.unwrap();
        let round = run.plan_next().unwrap();
        let Round::Paused(why) = round else {
            panic!("the campaign stayed idle: {round:?}");
        };
        assert!(why.contains("no longer parses"), "{why}");
        let paused = run.store().read(|tx| tx.paused()).unwrap();
        assert!(paused.is_some_and(|p| p.contains("no longer parses")));
    }
}
