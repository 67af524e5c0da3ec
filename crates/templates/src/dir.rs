//! The only file-system code of the crate: loading a template from a directory and
//! writing rendered files to a directory.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Result, TemplateError};
use crate::template::{Manifest, Origin, Rendered, Template};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TemplateError + '_ {
    move |source| TemplateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Loads the template in `dir` (its `template.toml` and the files it lists).
///
/// Fails with [`TemplateError::Io`] when a file cannot be read, or with the checks of
/// [`Template::from_sources`].
pub fn load_dir(dir: &Path) -> Result<Template> {
    let manifest_path = dir.join("template.toml");
    let text = fs::read_to_string(&manifest_path).map_err(io(&manifest_path))?;
    let label = dir.display().to_string();
    let manifest: Manifest = toml::from_str(&text).map_err(|e| TemplateError::Manifest {
        template: label.clone(),
        file: "template.toml".into(),
        message: e.to_string().trim().replace('\n', " "),
    })?;
    let mut sources = BTreeMap::new();
    for f in &manifest.files {
        crate::value::check_file_name(f).map_err(|m| TemplateError::Manifest {
            template: manifest.name.clone(),
            file: "template.toml".into(),
            message: format!("file '{f}': {m}"),
        })?;
        let p = dir.join(f);
        if !p.exists() {
            continue; // reported by the manifest check as "listed but missing"
        }
        sources.insert(f.clone(), fs::read_to_string(&p).map_err(io(&p))?);
    }
    Template::from_sources(&label, &text, sources, Origin::Dir(dir.to_path_buf()))
}

/// Writes `r`'s files into `dir`, all or nothing.
///
/// If `dir` does not exist the files are written to a sibling staging directory that is
/// then renamed to `dir`. If `dir` exists, it fails before writing anything when any
/// target file already exists; a failed write removes the files written so far. Fails
/// with [`TemplateError::Write`] or [`TemplateError::Io`].
pub fn write_rendered(r: &Rendered, dir: &Path) -> Result<()> {
    for name in r.files.keys() {
        crate::value::check_file_name(name).map_err(|m| TemplateError::Write {
            path: dir.join(name),
            message: m,
        })?;
    }
    if !dir.exists() {
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let base = dir
            .file_name()
            .ok_or_else(|| TemplateError::Write {
                path: dir.to_path_buf(),
                message: "not a directory name".into(),
            })?
            .to_string_lossy()
            .to_string();
        fs::create_dir_all(parent).map_err(io(parent))?;
        let staging = parent.join(format!(".{base}.staging-{}", std::process::id()));
        let result =
            write_all(r, &staging).and_then(|_| fs::rename(&staging, dir).map_err(io(dir)));
        if result.is_err() {
            let _ = fs::remove_dir_all(&staging);
        }
        return result;
    }
    if !dir.is_dir() {
        return Err(TemplateError::Write {
            path: dir.to_path_buf(),
            message: "exists and is not a directory".into(),
        });
    }
    for name in r.files.keys() {
        let p = dir.join(name);
        if p.exists() {
            return Err(TemplateError::Write {
                path: p,
                message: "file exists; refusing to overwrite".into(),
            });
        }
    }
    write_all(r, dir).inspect_err(|_| {
        for name in r.files.keys() {
            let _ = fs::remove_file(dir.join(name));
        }
    })
}

fn write_all(r: &Rendered, dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(io(dir))?;
    for (name, text) in &r.files {
        let p: PathBuf = dir.join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        fs::write(&p, text).map_err(io(&p))?;
    }
    Ok(())
}

/// Validates `input`, renders every file in memory, then writes them to `dir` with
/// [`write_rendered`]. Nothing is written when validation or rendering fails.
///
/// Fails with the error of whichever step failed.
pub fn render_to_dir(
    t: &Template,
    input: &serde_json::Map<String, serde_json::Value>,
    dir: &Path,
) -> Result<Rendered> {
    let r = t.render(input)?;
    write_rendered(&r, dir)?;
    Ok(r)
}
