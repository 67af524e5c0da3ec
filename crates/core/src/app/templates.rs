//! Templates as the application sees them: where they are looked up, and
//! rendering for `template render` and for workspace tasks at `init`.
//!
//! Lookup order: the workspace's `templates/`, then the user's
//! `$XDG_CONFIG_HOME/matterstack/templates/`, then the library shipped in
//! the binary.

use std::path::Path;

use matterstack_templates::{library, Rendered};
use serde_json::{Map, Value};

pub use crate::lookup::{find, resolve_task, search_dirs, user_dir};
use crate::{Error, Result};

/// Every visible template.
pub fn list(workspace: Option<&Path>) -> Vec<library::ListEntry> {
    library::list(&search_dirs(workspace))
}

/// Renders `name` with `params` into `dir` (which must not exist or be
/// empty); nothing is written on any error.
///
/// Fails with a user error naming the parameter, value and rule.
pub fn render_to_dir(
    name: &str,
    params: &Map<String, Value>,
    dir: &Path,
    workspace: Option<&Path>,
) -> Result<Rendered> {
    let t = find(name, workspace)?;
    matterstack_templates::render_to_dir(&t, params, dir)
        .map_err(|e| Error::Input(format!("template {name}: {e}")))
}

/// Parameter values from a `--params` file (TOML, or JSON by extension)
/// overridden by `--set KEY=VALUE` assignments.
///
/// Fails with a user error naming the file or the assignment.
pub fn params_from_args(set: &[String], file: Option<&Path>) -> Result<Map<String, Value>> {
    let mut values = Map::new();
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Error::Input(format!("--params {}: {e}", file.display())))?;
        let label = file.display().to_string();
        let parsed = if file.extension().is_some_and(|e| e == "json") {
            matterstack_templates::params_from_json(&text, &label)
        } else {
            matterstack_templates::params_from_toml(&text, &label)
        };
        values.extend(parsed.map_err(|e| Error::Input(e.to_string()))?);
    }
    let assigned =
        matterstack_templates::parse_assignments(set).map_err(|e| Error::Input(e.to_string()))?;
    values.extend(assigned);
    Ok(values)
}

/// A task made from a template by a face's form.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TaskDraft {
    /// Its id.
    pub id: String,
    /// The template.
    pub template: String,
    /// Parameter values as typed (the template checks and types them).
    pub params: Map<String, Value>,
    /// Swept parameters: one task per combination of their values.
    pub sweep: std::collections::BTreeMap<String, Vec<Value>>,
    /// Files the task needs (relative to where the draft was made; copied
    /// into the new workspace).
    pub inputs: Vec<String>,
    /// `local` or `slurm`.
    pub operator: String,
    /// The cluster, for `slurm`.
    pub cluster: Option<String>,
    /// Cores.
    pub cores: u32,
    /// Walltime.
    pub walltime: Option<String>,
    /// The partition (SLURM) or queue (PBS), when not the profile's.
    pub partition: Option<String>,
}

impl TaskDraft {
    /// The `[[tasks]]` table of a workspace's `matterstack.toml`.
    pub fn to_toml(&self) -> String {
        let mut t = toml::Table::new();
        t.insert("id".into(), self.id.clone().into());
        t.insert("template".into(), self.template.clone().into());
        if self.operator != "local" {
            t.insert("operator".into(), self.operator.clone().into());
        }
        if let Some(c) = &self.cluster {
            t.insert("cluster".into(), c.clone().into());
        }
        t.insert("cores".into(), i64::from(self.cores).into());
        if let Some(w) = &self.walltime {
            t.insert("walltime".into(), w.clone().into());
        }
        if let Some(p) = &self.partition {
            t.insert("partition".into(), p.clone().into());
        }
        if !self.inputs.is_empty() {
            let names: Vec<toml::Value> = self.inputs.iter().map(|i| i.clone().into()).collect();
            t.insert("inputs".into(), toml::Value::Array(names));
        }
        let mut params = toml::Table::new();
        for (k, v) in &self.params {
            if let Ok(v) = toml::Value::try_from(v) {
                params.insert(k.clone(), v);
            }
        }
        t.insert("params".into(), params.into());
        if !self.sweep.is_empty() {
            let mut sweep = toml::Table::new();
            for (k, vs) in &self.sweep {
                let vs: Vec<toml::Value> = vs
                    .iter()
                    .filter_map(|v| toml::Value::try_from(v).ok())
                    .collect();
                sweep.insert(k.clone(), toml::Value::Array(vs));
            }
            t.insert("sweep".into(), sweep.into());
        }
        let mut doc = toml::Table::new();
        doc.insert("tasks".into(), toml::Value::Array(vec![t.into()]));
        toml::to_string(&doc).unwrap_or_default()
    }
}

/// Makes a new workspace `<parent>/<draft id>-<n>/` holding the draft as
/// its one task (with copies of its input files from `parent`, and of
/// `clusters`, the profiles it may use), then a run from it; returns the
/// run directory. Nothing is left behind when `init` refuses the task: its
/// messages are the ones `init` gives.
///
/// Fails with a user error naming what is wrong with the task.
pub fn new_run(
    draft: &TaskDraft,
    parent: &Path,
    clusters: Option<&Path>,
) -> Result<std::path::PathBuf> {
    let mut n = 1;
    let ws = loop {
        let p = parent.join(format!("{}-{n}", draft.id));
        if !p.exists() {
            break p;
        }
        n += 1;
    };
    std::fs::create_dir_all(&ws).map_err(|e| Error::io("create", &ws, e))?;
    let made = (|| {
        crate::atomic::write(&ws.join(super::init::WORKSPACE_FILE), &draft.to_toml())?;
        for input in &draft.inputs {
            let from = crate::files::regular_file_in(parent, input)
                .map_err(|e| Error::Input(format!("inputs: \"{input}\": {e}")))?;
            let to = ws.join(input);
            if let Some(d) = to.parent() {
                std::fs::create_dir_all(d).map_err(|e| Error::io("create", d, e))?;
            }
            std::fs::copy(&from, &to).map_err(|e| Error::io("copy", &from, e))?;
        }
        if let Some(c) = clusters.filter(|c| c.is_file()) {
            let text = std::fs::read_to_string(c).map_err(|e| Error::io("read", c, e))?;
            crate::atomic::write_private(&ws.join(super::clusters::CLUSTERS_FILE), &text)?;
        }
        super::init(&ws, &super::InitOptions::default())
    })();
    if made.is_err() {
        let _ = std::fs::remove_dir_all(&ws);
    }
    made
}

/// Adds the draft as a task of the workspace `ws` (its `matterstack.toml`
/// gains one `[[tasks]]` table at its end, the rest of the file as it
/// was). The workspace must stay valid: an id already used, or any problem
/// `init` would report, refuses the change and leaves the file untouched.
///
/// Fails with a user error naming every problem.
pub fn add_to_workspace(draft: &TaskDraft, ws: &Path) -> Result<std::path::PathBuf> {
    let file = ws.join(super::init::WORKSPACE_FILE);
    let text = std::fs::read_to_string(&file).map_err(|e| Error::io("read", &file, e))?;
    let mut next = text.clone();
    if !next.ends_with('\n') && !next.is_empty() {
        next.push('\n');
    }
    next.push('\n');
    next.push_str(&draft.to_toml());
    let (spec, _) = crate::model::WorkspaceSpec::parse_all(&next, &file)?;
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(Error::Spec {
            file: file.clone(),
            problems,
        });
    }
    crate::atomic::write(&file, &next)?;
    Ok(file)
}
