//! Where templates are found (the workspace's `templates/`, then the
//! user's `$XDG_CONFIG_HOME/matterstack/templates/`, then the library
//! shipped in the binary), and making a template task concrete. Below the
//! engine, which renders templates whose params use upstream values when
//! such a task starts; `app::templates` re-exports it for the faces.

use std::path::{Path, PathBuf};

use matterstack_templates::{library, Rendered, Template};

use crate::model::{Command, TaskSpec};
use crate::{Error, Result};

/// `$VAR/matterstack` when `VAR` is set and not empty, else
/// `$HOME/FALLBACK/matterstack` (the XDG base-directory rule).
fn xdg_dir(var: &str, fallback: &str) -> PathBuf {
    let base = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os(crate::env_vars::HOME).unwrap_or_else(|| ".".into()))
                .join(fallback)
        });
    base.join("matterstack")
}

/// The user's matterstack configuration directory:
/// `$XDG_CONFIG_HOME/matterstack`, else `~/.config/matterstack`.
pub fn config_dir() -> PathBuf {
    xdg_dir(crate::env_vars::XDG_CONFIG_HOME, ".config")
}

/// The user's matterstack data directory (the index of runs):
/// `$XDG_DATA_HOME/matterstack`, else `~/.local/share/matterstack`.
pub fn data_dir() -> PathBuf {
    xdg_dir(crate::env_vars::XDG_DATA_HOME, ".local/share")
}

/// The user's matterstack cache directory (MBE component results):
/// `$XDG_CACHE_HOME/matterstack`, else `~/.cache/matterstack`.
pub fn cache_dir() -> PathBuf {
    xdg_dir(crate::env_vars::XDG_CACHE_HOME, ".cache")
}

/// The user's template directory.
pub fn user_dir() -> PathBuf {
    config_dir().join("templates")
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
    files: &Path,
) -> std::result::Result<Option<Rendered>, String> {
    let rendered = match task.template.clone() {
        None => None,
        Some(name) => {
            let t = library::find(&name, &search_dirs(Some(workspace)))
                .map_err(|e| format!("task \"{}\": template: {e}", task.id))?;
            read_structure_files(task, &t, files)?;
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

/// Largest structure file read into a parameter.
const MAX_STRUCTURE_BYTES: u64 = 64 << 20;

/// A `structure` parameter given as a file name (`molecule = "h2o.xyz"`,
/// or an upstream's file: `"{{ tasks.opt.files['xtbopt.xyz'] }}"`, which
/// resolves to its name once copied in) takes that file's text from
/// `dir` (the workspace at `init`, the task directory when it starts);
/// the template then checks it like any structure.
fn read_structure_files(
    task: &mut TaskSpec,
    t: &Template,
    dir: &Path,
) -> std::result::Result<(), String> {
    for p in t.params() {
        if p.kind != matterstack_templates::ParamType::Structure {
            continue;
        }
        let Some(serde_json::Value::String(v)) = task.params.get(&p.name) else {
            continue;
        };
        if v.contains('\n') || matterstack_boundary::check_file_name(v).is_err() {
            continue;
        }
        let path = match crate::files::regular_file_in(dir, v) {
            Ok(path) => path,
            Err(m) => {
                return Err(format!(
                    "task \"{}\": params.{} = {v:?} names no structure file here ({m}); give the structure's text, a file listed in inputs, or an upstream file",
                    task.id, p.name
                ))
            }
        };
        let too_big = std::fs::metadata(&path).map_or(true, |m| m.len() > MAX_STRUCTURE_BYTES);
        let text = if too_big {
            None
        } else {
            std::fs::read_to_string(&path).ok()
        };
        let Some(text) = text else {
            return Err(format!(
                "task \"{}\": params.{} = {v:?}: not a UTF-8 text file under 64 MiB",
                task.id, p.name
            ));
        };
        task.params
            .insert(p.name.clone(), serde_json::Value::String(text));
    }
    Ok(())
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
