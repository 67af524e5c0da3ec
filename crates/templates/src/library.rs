//! The shipped template library (embedded in the binary) and lookup through
//! user-supplied directories that override it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Result, TemplateError};
use crate::suggest;
use crate::template::{is_template_name, Origin, Template};

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// Names of the shipped templates, sorted.
pub fn builtin_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = EMBEDDED
        .iter()
        .filter(|(_, f, _)| *f == "template.toml")
        .map(|(d, _, _)| *d)
        .collect();
    v.sort_unstable();
    v
}

/// Loads one shipped template by name.
///
/// Fails with [`TemplateError::NotFound`] (with a suggestion) when there is none of that
/// name, or with a load error (a bug in the shipped library, caught by the tests).
pub fn builtin(name: &str) -> Result<Template> {
    let manifest = EMBEDDED
        .iter()
        .find(|(d, f, _)| *d == name && *f == "template.toml")
        .map(|(_, _, t)| *t)
        .ok_or_else(|| TemplateError::NotFound {
            name: name.to_string(),
            hint: suggest::hint(name, builtin_names()),
        })?;
    let sources: BTreeMap<String, String> = EMBEDDED
        .iter()
        .filter(|(d, f, _)| *d == name && *f != "template.toml")
        .map(|(_, f, t)| (f.to_string(), t.to_string()))
        .collect();
    let t = Template::from_sources(name, manifest, sources, Origin::Builtin)?;
    check_name_matches(&t, name)?;
    Ok(t)
}

fn check_name_matches(t: &Template, dir_name: &str) -> Result<()> {
    if t.name() != dir_name {
        return Err(TemplateError::Manifest {
            template: dir_name.to_string(),
            file: "template.toml".into(),
            message: format!(
                "name '{}' differs from the template's directory '{dir_name}'",
                t.name()
            ),
        });
    }
    Ok(())
}

/// The directories searched before the shipped library, highest priority first: the
/// workspace's `templates/` directory, then the user's template directory. Either may
/// be absent; directories that do not exist are skipped by [`find`] and [`list`].
pub fn search_dirs(workspace: Option<&Path>, user_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(w) = workspace {
        v.push(w.join("templates"));
    }
    if let Some(u) = user_dir {
        v.push(u.to_path_buf());
    }
    v
}

/// Finds a template by name: the first of `dirs` (highest priority first) holding
/// `<name>/template.toml` wins, then the shipped library.
///
/// Fails with [`TemplateError::NotFound`] (with a suggestion among all known names), or
/// with the load error of the template found (a broken override is an error, not skipped).
pub fn find(name: &str, dirs: &[PathBuf]) -> Result<Template> {
    if !is_template_name(name) {
        return Err(TemplateError::NotFound {
            name: name.to_string(),
            hint: " (template names are lower-case words joined by '/', e.g. psi4/energy)".into(),
        });
    }
    for d in dirs {
        let td = d.join(name);
        if td.join("template.toml").is_file() {
            let t = crate::dir::load_dir(&td)?;
            check_name_matches(&t, name)?;
            return Ok(t);
        }
    }
    if builtin_names().contains(&name) {
        return builtin(name);
    }
    let all: Vec<String> = list(dirs).into_iter().map(|e| e.name).collect();
    Err(TemplateError::NotFound {
        name: name.to_string(),
        hint: suggest::hint(name, all.iter().map(String::as_str)),
    })
}

/// One entry of [`list`].
#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    /// Template name.
    pub name: String,
    /// Description (empty when the template does not load).
    pub description: String,
    /// Program (empty when the template does not load).
    pub program: String,
    /// Where the winning copy lives.
    pub origin: Origin,
    /// The load error of the winning copy, if any.
    pub error: Option<String>,
}

/// Every template visible through `dirs` and the shipped library, one entry per name
/// (the copy [`find`] would use). Never fails: broken templates are listed with their error.
pub fn list(dirs: &[PathBuf]) -> Vec<ListEntry> {
    let mut out: BTreeMap<String, ListEntry> = BTreeMap::new();
    for d in dirs {
        let mut found = Vec::new();
        collect_dirs(d, d, &mut found, 0);
        for name in found {
            if out.contains_key(&name) {
                continue;
            }
            let td = d.join(&name);
            let entry = match crate::dir::load_dir(&td)
                .and_then(|t| check_name_matches(&t, &name).map(|_| t))
            {
                Ok(t) => ListEntry {
                    name: name.clone(),
                    description: t.manifest.description.clone(),
                    program: t.manifest.program.clone(),
                    origin: Origin::Dir(td),
                    error: None,
                },
                Err(e) => ListEntry {
                    name: name.clone(),
                    description: String::new(),
                    program: String::new(),
                    origin: Origin::Dir(td),
                    error: Some(e.to_string()),
                },
            };
            out.insert(name, entry);
        }
    }
    for name in builtin_names() {
        if out.contains_key(name) {
            continue;
        }
        let entry = match builtin(name) {
            Ok(t) => ListEntry {
                name: name.to_string(),
                description: t.manifest.description.clone(),
                program: t.manifest.program.clone(),
                origin: Origin::Builtin,
                error: None,
            },
            Err(e) => ListEntry {
                name: name.to_string(),
                description: String::new(),
                program: String::new(),
                origin: Origin::Builtin,
                error: Some(e.to_string()),
            },
        };
        out.insert(name.to_string(), entry);
    }
    out.into_values().collect()
}

fn collect_dirs(root: &Path, dir: &Path, out: &mut Vec<String>, depth: usize) {
    if depth > 4 {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut subdirs: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
        .map(|e| e.path())
        .collect();
    subdirs.sort();
    for sd in subdirs {
        if sd.join("template.toml").is_file() {
            if let Ok(rel) = sd.strip_prefix(root) {
                let name = rel.to_string_lossy().replace('\\', "/");
                if is_template_name(&name) {
                    out.push(name);
                }
            }
        }
        collect_dirs(root, &sd, out, depth + 1);
    }
}
