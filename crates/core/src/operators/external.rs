//! Operators that hand an attempt to a person: `human` (a decision or a
//! measurement, answered with `response.json`) and `manual` (a kit the
//! person runs somewhere matterstack cannot reach, finished with
//! `status.json` or the declared outputs). Both leave the task
//! WAITING_EXTERNAL; nothing blocks other work, and a `step` only looks for
//! the files.
//!
//! Layout: `operators/human/<task>/{instructions.md, schema.json,
//! response.json}` and `operators/manual/<task>/{README.md, job.sh, inputs…,
//! status.json}` in the run directory.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{AttemptRef, Capacity, Launched, Observation, Operator};
use crate::model::{response, Command, TaskSpec};
use crate::transport::{quote, quote_all};
use crate::{Error, Result};

/// The answer file of a human task.
pub const RESPONSE_FILE: &str = "response.json";
/// The completion file of a manual task.
pub const STATUS_FILE: &str = "status.json";
/// Files of a manual kit that are not outputs.
const KIT_FILES: &[&str] = &["README.md", "job.sh", STATUS_FILE, ".attempt"];

/// Operators that wait for people.
pub const EXTERNAL_OPERATORS: &[&str] = &["human", "manual"];

/// The directory of an external task: `operators/<kind>/<task>/`.
pub fn external_dir(run_dir: &Path, kind: &str, task_id: &str) -> PathBuf {
    run_dir.join("operators").join(kind).join(task_id)
}

/// Starts a new attempt in `dir`: a leftover answer of an earlier attempt
/// is set aside as `<file>.<n>` so it does not end the new one. Idempotent
/// for the same attempt.
fn begin_attempt(dir: &Path, n: u32, answer: &str) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    let marker = dir.join(".attempt");
    let previous: Option<u32> = fs::read_to_string(&marker)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    if previous != Some(n) {
        let old = dir.join(answer);
        if old.exists() {
            let kept = dir.join(format!("{answer}.{}", previous.unwrap_or(0)));
            fs::rename(&old, &kept).map_err(|e| Error::io("rename", &old, e))?;
        }
        crate::atomic::write(&marker, &format!("{n}\n"))?;
    }
    Ok(())
}

/// The `human` operator.
pub struct HumanOperator;

impl HumanOperator {
    /// The schema a task's answer must satisfy.
    pub fn schema(task: &TaskSpec) -> Value {
        task.schema.clone().unwrap_or_else(response::default_schema)
    }
}

impl Operator for HumanOperator {
    fn name(&self) -> &'static str {
        "human"
    }

    fn capacity(&self) -> Capacity {
        Capacity::Jobs(u32::MAX)
    }

    fn enforces_walltime(&self) -> bool {
        true
    }

    fn launch(&self, a: &AttemptRef<'_>, task: &TaskSpec) -> Result<Launched> {
        let dir = external_dir(a.run_dir, "human", a.task_id);
        begin_attempt(&dir, a.n, RESPONSE_FILE)?;
        let schema = Self::schema(task);
        let run = a.run_dir.display().to_string();
        let text = format!(
            "# {task_id}: a decision for a person\n\n{instructions}\n\n\
             ## How to answer\n\n\
             Write a JSON file like\n\n\
             ```json\n{{\"status\": \"COMPLETED\", \"data\": {{ … }}, \"error\": null}}\n```\n\n\
             whose `data` satisfies `schema.json` (next to this file), then record it with\n\n\
             ```sh\nmatterstack respond {run_q} {task_q} --file response.json\n```\n\n\
             (`respond` checks the answer against the schema and refuses it, saying why, if it does\n\
             not fit). To reject the step, answer `{{\"status\": \"FAILED\", \"error\": \"why\"}}`.\n\
             Only this task and those after it wait for the answer; the rest of the run goes on.\n",
            task_id = a.task_id,
            instructions = task
                .instructions
                .as_deref()
                .unwrap_or("(the workflow gives no instructions)"),
            run_q = quote(&run),
            task_q = quote(a.task_id),
        );
        crate::atomic::write(&dir.join("instructions.md"), &text)?;
        let schema_text =
            serde_json::to_string_pretty(&schema).map_err(|e| Error::Corrupt(e.to_string()))?;
        crate::atomic::write(&dir.join("schema.json"), &format!("{schema_text}\n"))?;
        Ok(Launched {
            external_id: "human".into(),
            child: None,
        })
    }

    fn poll(&self, attempts: &[AttemptRef<'_>]) -> Vec<Observation> {
        attempts.iter().map(poll_human).collect()
    }

    fn cancel(&self, _a: &AttemptRef<'_>) -> Result<()> {
        Ok(())
    }
}

fn poll_human(a: &AttemptRef<'_>) -> Observation {
    let dir = external_dir(a.run_dir, "human", a.task_id);
    let waiting = Observation::Running {
        external_id: Some("human".into()),
        started_at: None,
    };
    if !dir.join(".attempt").exists() {
        return Observation::NotStarted;
    }
    let Ok(text) = fs::read_to_string(dir.join(RESPONSE_FILE)) else {
        return waiting;
    };
    let schema = fs::read_to_string(dir.join("schema.json"))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_else(response::default_schema);
    match response::check(&text, &schema) {
        Ok(r) if r.completed => {
            let results = a.run_dir.join("tasks").join(a.task_id);
            let written = fs::create_dir_all(&results)
                .map_err(|e| Error::io("create", &results, e))
                .and_then(|()| {
                    crate::atomic::write(&results.join(super::RESULTS_FILE), &r.data.to_string())
                });
            match written {
                Ok(()) => Observation::Exited {
                    code: 0,
                    started_at: None,
                    ended_at: None,
                },
                Err(e) => Observation::Unknown {
                    reason: format!("cannot record the answer to {}: {e}", a.task_id),
                },
            }
        }
        Ok(r) => Observation::Ended {
            code: None,
            reason: format!(
                "the person answered FAILED: {}",
                r.error.unwrap_or_default()
            ),
            ended_at: None,
        },
        Err(e) => Observation::Unknown {
            reason: format!(
                "{} of task {} is not accepted (still waiting): {e}",
                dir.join(RESPONSE_FILE).display(),
                a.task_id
            ),
        },
    }
}

/// The `manual` operator.
pub struct ManualOperator;

impl Operator for ManualOperator {
    fn name(&self) -> &'static str {
        "manual"
    }

    fn capacity(&self) -> Capacity {
        Capacity::Jobs(u32::MAX)
    }

    fn enforces_walltime(&self) -> bool {
        true
    }

    fn launch(&self, a: &AttemptRef<'_>, task: &TaskSpec) -> Result<Launched> {
        let dir = external_dir(a.run_dir, "manual", a.task_id);
        begin_attempt(&dir, a.n, STATUS_FILE)?;
        // The kit: the task directory's files (inputs, staged upstream
        // files, rendered templates), a job script and a README.
        let task_dir = a.run_dir.join("tasks").join(a.task_id);
        if let Ok(entries) = fs::read_dir(&task_dir) {
            for e in entries.flatten() {
                let p = e.path();
                let name = e.file_name();
                if p.is_file() && !name.to_string_lossy().starts_with('.') {
                    fs::copy(&p, dir.join(&name)).map_err(|err| Error::io("copy", &p, err))?;
                }
            }
        }
        let mut script = String::from("#!/bin/sh\n# Written by matterstack: run this in this directory.\nset -e\ncd \"$(dirname \"$0\")\"\n");
        for (k, v) in &task.env {
            script.push_str(&format!("export {k}={}\n", quote(v)));
        }
        match &task.command {
            Some(Command::Shell(s)) => script.push_str(&format!("{s}\n")),
            Some(Command::Argv(v)) => script.push_str(&format!("{}\n", quote_all(v))),
            None => script.push_str("# (no command: follow README.md)\n"),
        }
        crate::atomic::write(&dir.join("job.sh"), &script)?;
        let run = a.run_dir.display().to_string();
        let outputs = if task.outputs.is_empty() {
            "every file the job writes here".to_string()
        } else {
            task.outputs.join(", ")
        };
        let readme = format!(
            "# {task_id}: a manual step\n\n{instructions}\n\n\
             This directory is a self-contained kit: copy it wherever the job must run.\n\n\
             ```sh\ncd {dir_q}\nsh job.sh > stdout.txt 2> stderr.txt\n```\n\n\
             Outputs expected: {outputs}.\n\n\
             When it has finished, hand the results back with\n\n\
             ```sh\nmatterstack complete {run_q} {task_q} --from <directory holding the outputs>\n```\n\n\
             or write `status.json` here: `{{\"status\": \"COMPLETED\"}}` (or\n\
             `{{\"status\": \"FAILED\", \"error\": \"why\"}}`). {declared}\n",
            task_id = a.task_id,
            instructions = task.instructions.as_deref().unwrap_or(""),
            dir_q = quote(&dir.display().to_string()),
            run_q = quote(&run),
            task_q = quote(a.task_id),
            declared = if task.outputs.is_empty() {
                ""
            } else {
                "The step also completes by itself once every declared output is here."
            },
        );
        crate::atomic::write(&dir.join("README.md"), &readme)?;
        Ok(Launched {
            external_id: "manual".into(),
            child: None,
        })
    }

    fn poll(&self, attempts: &[AttemptRef<'_>]) -> Vec<Observation> {
        attempts.iter().map(poll_manual).collect()
    }

    fn cancel(&self, _a: &AttemptRef<'_>) -> Result<()> {
        Ok(())
    }
}

fn poll_manual(a: &AttemptRef<'_>) -> Observation {
    let dir = external_dir(a.run_dir, "manual", a.task_id);
    if !dir.join(".attempt").exists() {
        return Observation::NotStarted;
    }
    let waiting = Observation::Running {
        external_id: Some("manual".into()),
        started_at: None,
    };
    let status = match fs::read_to_string(dir.join(STATUS_FILE)) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(v) => match v.get("status").and_then(Value::as_str) {
                Some("COMPLETED") => Some(Ok(v.get("exit_code").and_then(Value::as_i64))),
                Some("FAILED") => Some(Err(v
                    .get("error")
                    .and_then(Value::as_str)
                    .unwrap_or("no reason given")
                    .to_string())),
                _ => {
                    return Observation::Unknown {
                        reason: format!(
                            "{} of task {}: \"status\" must be \"COMPLETED\" or \"FAILED\" (still waiting)",
                            dir.join(STATUS_FILE).display(),
                            a.task_id
                        ),
                    }
                }
            },
            Err(e) => {
                return Observation::Unknown {
                    reason: format!(
                        "{} of task {} is not valid JSON (still waiting): {e}",
                        dir.join(STATUS_FILE).display(),
                        a.task_id
                    ),
                }
            }
        },
        Err(_) => {
            let all_there =
                !a.outputs.is_empty() && a.outputs.iter().all(|o| dir.join(o).is_file());
            all_there.then_some(Ok(Some(0)))
        }
    };
    match status {
        None => waiting,
        Some(Err(reason)) => Observation::Ended {
            code: None,
            reason: format!("the manual run FAILED: {reason}"),
            ended_at: None,
        },
        Some(Ok(code)) => match bring_back(&dir, a) {
            Ok(()) => Observation::Exited {
                code: code.unwrap_or(0) as i32,
                started_at: None,
                ended_at: None,
            },
            Err(e) => Observation::Unknown {
                reason: format!("cannot bring back the outputs of {}: {e}", a.task_id),
            },
        },
    }
}

/// Copies a finished kit's outputs (the declared ones, or every file that
/// is not part of the kit) into the task directory.
fn bring_back(dir: &Path, a: &AttemptRef<'_>) -> Result<()> {
    let task_dir = a.run_dir.join("tasks").join(a.task_id);
    fs::create_dir_all(&task_dir).map_err(|e| Error::io("create", &task_dir, e))?;
    let names: Vec<String> = if a.outputs.is_empty() {
        fs::read_dir(dir)
            .map_err(|e| Error::io("read", dir, e))?
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| !KIT_FILES.contains(&n.as_str()) && !n.starts_with('.'))
            .collect()
    } else {
        a.outputs.to_vec()
    };
    for n in names {
        let src = dir.join(&n);
        if src.is_file() {
            fs::copy(&src, task_dir.join(&n)).map_err(|e| Error::io("copy", &src, e))?;
        }
    }
    Ok(())
}
