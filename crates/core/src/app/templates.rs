//! Templates as the application sees them: where they are looked up, and
//! rendering for `template render` and for workspace tasks at `init`.
//!
//! Lookup order: the workspace's `templates/`, then the user's
//! `$XDG_CONFIG_HOME/matterstack/templates/`, then the library shipped in
//! the binary.

use std::path::{Path, PathBuf};

use matterstack_templates::{library, Rendered, Template};
use serde_json::{Map, Value};

use crate::model::{Command, TaskSpec};
use crate::{Error, Result};

/// The user's template directory.
pub fn user_dir() -> PathBuf {
    super::clusters::user_config_path()
        .parent()
        .map(|p| p.join("templates"))
        .unwrap_or_else(|| PathBuf::from("templates"))
}

/// Directories searched before the shipped library.
pub fn search_dirs(workspace: Option<&Path>) -> Vec<PathBuf> {
    library::search_dirs(workspace, Some(&user_dir()))
}

/// Finds a template by name.
///
/// Fails with a user error naming the template (with a "did you mean").
pub fn find(name: &str, workspace: Option<&Path>) -> Result<Template> {
    library::find(name, &search_dirs(workspace)).map_err(|e| Error::Input(e.to_string()))
}

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

/// Renders a workspace task's template in memory and makes the task
/// concrete: its command becomes the template's, and its parser, output
/// file, checkpoint files and restart command come from the template unless
/// the task sets them. For every task (template or not) the checkpoint files
/// are added to declared `outputs`, so that remote operators fetch them back
/// with the outputs and `matterstack restart` finds them.
///
/// Returns the files to write into the task directory, or a message for
/// the workspace's problem list (a bad template value, a checkpoint path
/// leaving the task directory, a restart command without checkpoint files).
pub fn resolve_task(
    task: &mut TaskSpec,
    workspace: &Path,
) -> std::result::Result<Option<Rendered>, String> {
    let rendered = match task.template.clone() {
        None => None,
        Some(name) => {
            let t = library::find(&name, &search_dirs(Some(workspace)))
                .map_err(|e| format!("task \"{}\": template: {e}", task.id))?;
            let rendered = t
                .render(&task.params)
                .map_err(|e| format!("task \"{}\": template {name}: {e}", task.id))?;
            task.command = Some(Command::Shell(rendered.shell_command()));
            if task.parser.is_none() {
                task.parser = rendered.parser.clone();
            }
            if task.output.is_none() {
                task.output = rendered.output.clone();
            }
            if task.checkpoint.is_empty() {
                task.checkpoint = rendered.checkpoint.clone();
            }
            if task.restart_command.is_none() {
                task.restart_command = rendered.restart_shell_command().map(Command::Shell);
            }
            Some(rendered)
        }
    };
    check_checkpoint(task)?;
    for c in &task.checkpoint {
        if !task.outputs.is_empty() && !task.outputs.contains(c) {
            task.outputs.push(c.clone());
        }
    }
    Ok(rendered)
}

/// Checkpoint entries must name files inside the task directory, and a
/// restart command needs them.
fn check_checkpoint(task: &TaskSpec) -> std::result::Result<(), String> {
    for c in &task.checkpoint {
        matterstack_templates::value::check_file_name(c).map_err(|e| {
            format!(
                "task \"{}\": checkpoint \"{c}\": {e}; name a file in the task directory, e.g. checkpoint = [\"md.cpt\"]",
                task.id
            )
        })?;
    }
    if task.restart_command.is_some() && task.checkpoint.is_empty() {
        return Err(format!(
            "task \"{}\": restart_command is set but checkpoint is empty; list the files it continues from, e.g. checkpoint = [\"md.cpt\"]",
            task.id
        ));
    }
    Ok(())
}
