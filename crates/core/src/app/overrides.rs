//! What `retry` and `restart` may change in a task before its next attempt:
//! resources and where it runs. The changed spec is checked with the same
//! rules as a `[[tasks]]` entry, recorded as the task's effective spec, and
//! each attempt keeps the resources it ran with (shown in its lineage and
//! the evidence).

use serde::Serialize;

use std::path::Path;

use crate::model::{record, resources, TaskSpec};
use crate::{Error, Result};

/// Changes for a task's next attempt; `None` keeps what it had.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    /// A new walltime (`"02:00:00"`, `"12h"`).
    pub walltime: Option<String>,
    /// A new number of cores.
    pub cores: Option<u32>,
    /// A new memory request (`"8GB"`).
    pub memory: Option<String>,
    /// Another partition (SLURM) or queue (PBS).
    pub partition: Option<String>,
    /// Another QOS.
    pub qos: Option<String>,
    /// Another account.
    pub account: Option<String>,
    /// Template parameters to change (`PARAM=VALUE`, values read as TOML
    /// like `template render --set`): the template is rendered again.
    pub set: Vec<String>,
}

impl Overrides {
    /// True when nothing is changed.
    pub fn is_empty(&self) -> bool {
        self.walltime.is_none()
            && self.cores.is_none()
            && self.memory.is_none()
            && self.partition.is_none()
            && self.qos.is_none()
            && self.account.is_none()
            && self.set.is_empty()
    }

    /// Checks each value on its own, naming the flag and the fix.
    ///
    /// Fails with a user error.
    pub fn check(&self) -> Result<()> {
        if let Some(w) = &self.walltime {
            resources::parse_walltime_secs(w).map_err(|e| {
                Error::Input(format!(
                    "--walltime {w:?}: {e}; give HH:MM:SS, D-HH:MM:SS or 30m / 12h / 2d, e.g. --walltime 04:00:00"
                ))
            })?;
        }
        if !self.set.is_empty() {
            matterstack_templates::parse_assignments(&self.set).map_err(|e| {
                Error::Input(format!(
                    "--set: {e}; write PARAM=VALUE, e.g. --set basis=def2-svp"
                ))
            })?;
        }
        if self.cores == Some(0) {
            return Err(Error::Input(
                "--cores 0: a task needs at least 1 core, e.g. --cores 4".into(),
            ));
        }
        if let Some(m) = &self.memory {
            resources::parse_memory_mb(m)
                .map_err(|e| Error::Input(format!("--memory {m:?}: {e}")))?;
        }
        Ok(())
    }

    /// `spec` (a task's effective spec) with the changes. They are checked
    /// on `declared` (the task as the workspace declared it) like a
    /// workspace task: a cluster setting on a local task, a partition with
    /// shell characters… are refused.
    ///
    /// Fails with a user error naming every problem.
    pub fn apply(&self, spec: &TaskSpec, declared: &TaskSpec) -> Result<TaskSpec> {
        self.check()?;
        if self.is_empty() {
            return Ok(spec.clone());
        }
        // A stored spec carries its rendered template's command beside the
        // template's name: check the task as the command it now is.
        let mut probe = self.changed(declared);
        if probe.command.is_some() {
            probe.template = None;
            probe.params.clear();
        }
        let problems = record::task_problems(&probe);
        if !problems.is_empty() {
            return Err(Error::Input(format!(
                "the changed task is not valid: {}",
                problems.join("; ")
            )));
        }
        Ok(self.changed(spec))
    }

    fn changed(&self, spec: &TaskSpec) -> TaskSpec {
        let mut s = spec.clone();
        if let Some(w) = &self.walltime {
            s.walltime = Some(w.clone());
        }
        if let Some(c) = self.cores {
            s.cores = c;
        }
        if let Some(m) = &self.memory {
            s.memory = Some(m.clone());
        }
        if let Some(p) = &self.partition {
            s.partition = Some(p.clone());
        }
        if let Some(q) = &self.qos {
            s.qos = Some(q.clone());
        }
        if let Some(a) = &self.account {
            s.account = Some(a.clone());
        }
        s
    }

    /// `partition debug, walltime 2h` for events and messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                parts.push(format!("{k} {v}"));
            }
        };
        put("partition", self.partition.clone());
        put("qos", self.qos.clone());
        put("account", self.account.clone());
        put("cores", self.cores.map(|c| c.to_string()));
        put("memory", self.memory.clone());
        put("walltime", self.walltime.clone());
        for a in &self.set {
            parts.push(a.replace('=', " "));
        }
        parts.join(", ")
    }

    /// Applies `--set` to `spec` (a template task): its parameters changed,
    /// its template rendered again (into `task_dir`, when its parameters need
    /// no upstream values; else when it starts). Nothing to do without `--set`.
    ///
    /// Fails with a user error when the task has no template or a value is
    /// not valid for it (the template's own message, naming the parameter).
    pub fn render_params(
        &self,
        spec: &mut TaskSpec,
        workspace: &Path,
        task_dir: &Path,
    ) -> Result<()> {
        if self.set.is_empty() {
            return Ok(());
        }
        let Some(name) = spec.template.clone() else {
            return Err(Error::Input(format!(
                "--set changes template parameters, and task \"{}\" has no template; change its command in the workspace and make a new run",
                spec.id
            )));
        };
        let values = matterstack_templates::parse_assignments(&self.set)
            .map_err(|e| Error::Input(format!("--set: {e}")))?;
        let template = crate::lookup::find(&name, Some(workspace))?;
        for k in values.keys() {
            if !template.params().iter().any(|p| &p.name == k) {
                let known: Vec<&str> = template.params().iter().map(|p| p.name.as_str()).collect();
                return Err(Error::Input(format!(
                    "--set {k}: template {name} has no parameter \"{k}\"{}",
                    crate::model::dag::suggestion(k, &known)
                )));
            }
        }
        spec.params.extend(values);
        // Rendered again: the command and restart command come from it.
        spec.command = None;
        spec.restart_command = None;
        if crate::model::refs::needs_resolution(spec) {
            return Ok(());
        }
        match crate::lookup::resolve_task(spec, workspace, task_dir).map_err(Error::Input)? {
            Some(r) => {
                // The earlier rendering's files give way to the new ones.
                for name in r.files.keys() {
                    let old = task_dir.join(name);
                    if old.is_file() {
                        std::fs::remove_file(&old).map_err(|e| Error::io("replace", &old, e))?;
                    }
                }
                matterstack_templates::write_rendered(&r, task_dir)
                    .map_err(|e| Error::Input(format!("task \"{}\": {e}", spec.id)))
            }
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> TaskSpec {
        serde_json::from_value(serde_json::json!({
            "id": "md", "command": "true", "operator": "slurm", "cluster": "hpc",
            "partition": "gpuu", "walltime": "1h",
        }))
        .unwrap()
    }

    #[test]
    fn changes_apply_and_bad_values_name_their_flag() {
        let o = Overrides {
            partition: Some("debug".into()),
            memory: Some("4GB".into()),
            ..Overrides::default()
        };
        let s = o.apply(&spec(), &spec()).unwrap();
        assert_eq!(s.partition.as_deref(), Some("debug"));
        assert_eq!(s.memory.as_deref(), Some("4GB"));
        assert_eq!(s.walltime.as_deref(), Some("1h"), "kept");
        assert_eq!(o.describe(), "partition debug, memory 4GB");
        for (o, needle) in [
            (
                Overrides {
                    walltime: Some("soon".into()),
                    ..Overrides::default()
                },
                "--walltime \"soon\"",
            ),
            (
                Overrides {
                    cores: Some(0),
                    ..Overrides::default()
                },
                "--cores 0",
            ),
            (
                Overrides {
                    memory: Some("lots".into()),
                    ..Overrides::default()
                },
                "--memory \"lots\"",
            ),
            (
                Overrides {
                    partition: Some("x;rm -rf".into()),
                    ..Overrides::default()
                },
                "partition",
            ),
        ] {
            let e = o.apply(&spec(), &spec()).unwrap_err();
            assert!(e.is_user_error() && e.to_string().contains(needle), "{e}");
        }
    }
}
