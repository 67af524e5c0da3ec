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
