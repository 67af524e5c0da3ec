//! Answers from people: `respond` (a human task's response) and `complete`
//! (a manual task's outputs). Both only write files the next `step` reads,
//! after checking them, so a refused answer changes nothing.

use std::fs;
use std::path::{Path, PathBuf};

use super::control::known_task;
use super::Run;
use crate::model::{response, TaskStatus};
use crate::operators::external::{external_dir, HumanOperator, RESPONSE_FILE, STATUS_FILE};
use crate::{Error, Result};

impl Run {
    /// Records a person's answer to a waiting human task, after checking
    /// it against the task's schema. Returns where it was written; the next
    /// `step` completes (or fails) the task with it.
    ///
    /// Fails with a user error, writing nothing, when the task does not
    /// exist, is not a human task waiting for an answer, or the answer is
    /// not valid (the schema violations are named).
    pub fn respond(&mut self, task: &str, text: &str) -> Result<PathBuf> {
        let t = self.store().read(|tx| known_task(tx, task))?;
        if t.spec.operator != "human" {
            return Err(Error::Input(format!(
                "task \"{task}\" runs on operator \"{}\", not \"human\"; only human tasks take a response",
                t.spec.operator
            )));
        }
        if t.status != TaskStatus::WaitingExternal {
            return Err(Error::Input(format!(
                "task \"{task}\" is {}, not WAITING_EXTERNAL; it takes a response once it is waiting (run `matterstack step` first)",
                t.status
            )));
        }
        response::check(text, &HumanOperator::schema(&t.spec))
            .map_err(|e| Error::Input(format!("task \"{task}\": {e}")))?;
        let path = external_dir(&self.dir, "human", task).join(RESPONSE_FILE);
        crate::atomic::write(&path, text)?;
        Ok(path)
    }

    /// Hands back the outputs of a waiting manual task from `from`: copies
    /// them into the task's kit and marks it done. Returns the files copied.
    ///
    /// Fails with a user error, copying nothing, when the task is not a
    /// waiting manual task, `from` is not a directory, or a declared output
    /// is missing from it (all missing ones are named).
    pub fn complete(&mut self, task: &str, from: &Path) -> Result<Vec<String>> {
        let t = self.store().read(|tx| known_task(tx, task))?;
        if t.spec.operator != "manual" {
            return Err(Error::Input(format!(
                "task \"{task}\" runs on operator \"{}\", not \"manual\"; only manual tasks are completed by hand",
                t.spec.operator
            )));
        }
        if t.status != TaskStatus::WaitingExternal {
            return Err(Error::Input(format!(
                "task \"{task}\" is {}, not WAITING_EXTERNAL; only a waiting manual task can be completed",
                t.status
            )));
        }
        if !from.is_dir() {
            return Err(Error::Input(format!(
                "--from {}: not a directory; give the directory holding the task's outputs",
                from.display()
            )));
        }
        let names: Vec<String> = if t.spec.outputs.is_empty() {
            fs::read_dir(from)
                .map_err(|e| Error::io("read", from, e))?
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|n| n != STATUS_FILE)
                .collect()
        } else {
            let missing: Vec<&String> = t
                .spec
                .outputs
                .iter()
                .filter(|o| !from.join(o).is_file())
                .collect();
            if !missing.is_empty() {
                return Err(Error::Input(format!(
                    "--from {}: the declared outputs {} are missing; nothing was recorded",
                    from.display(),
                    missing
                        .iter()
                        .map(|m| format!("\"{m}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            t.spec.outputs.clone()
        };
        let mut sources = Vec::new();
        for n in &names {
            let src = crate::files::regular_file_in(from, n).map_err(|m| {
                Error::Input(format!(
                    "--from {}: output \"{n}\": {m}; nothing was recorded",
                    from.display()
                ))
            })?;
            sources.push(src);
        }
        let kit = external_dir(&self.dir, "manual", task);
        fs::create_dir_all(&kit).map_err(|e| Error::io("create", &kit, e))?;
        for (n, src) in names.iter().zip(&sources) {
            let dst = kit.join(n);
            if let Some(parent) = dst.parent() {
                fs::create_dir_all(parent).map_err(|e| Error::io("create", parent, e))?;
            }
            crate::files::copy_file(src, &dst)?;
        }
        let status = serde_json::json!({
            "status": "COMPLETED",
            "from": from.display().to_string(),
            "files": names,
        });
        crate::atomic::write(&kit.join(STATUS_FILE), &format!("{status}\n"))?;
        Ok(names)
    }
}
