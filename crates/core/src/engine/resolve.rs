//! Resolution of a ready task against its upstream tasks: its `when`
//! condition, the upstream values its texts use, the upstream files it
//! takes, and a template rendered with resolved params. Runs inside the
//! scheduling transaction; the files it writes are a pure function of the
//! store, so doing it again after a crash writes the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::model::refs::{self, Context, Kind, Upstream};
use crate::model::TaskSpec;
use crate::store::{Tx, TxError};
use crate::Error;

/// What to do with a ready task.
pub(super) enum Resolution {
    /// Run it with this effective spec.
    Run(Box<TaskSpec>),
    /// Its condition is false: skip it (with this reason).
    Skip(String),
    /// It cannot run (a value or file it needs is missing).
    Fail(String),
}

/// Resolves `spec` (the task's effective spec) for task `id`. Records the
/// resolved spec in the store when anything was resolved.
///
/// Fails only on store errors; a missing upstream value or file is a
/// [`Resolution::Fail`] naming it.
pub(super) fn resolve(
    tx: &Tx<'_>,
    run_dir: &Path,
    id: &str,
    spec: TaskSpec,
) -> Result<Resolution, TxError> {
    if !refs::needs_resolution(&spec) {
        return Ok(Resolution::Run(Box::new(spec)));
    }
    let all = refs::task_refs(&spec);
    let mut upstream = BTreeMap::new();
    let mut files: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in &all {
        if r.kind == Kind::Points && !upstream.contains_key(&r.task) {
            upstream.insert(r.task.clone(), gather(tx, &r.task)?);
            continue;
        }
        if !upstream.contains_key(&r.task) {
            let Some(t) = tx.task(&r.task)? else {
                return Ok(Resolution::Fail(format!(
                    "it refers to task \"{}\", which is not in this run",
                    r.task
                )));
            };
            let results = match tx.results(&r.task)? {
                Some(j) => serde_json::from_str(&j).unwrap_or(serde_json::Value::Null),
                None => serde_json::Value::Null,
            };
            upstream.insert(
                r.task.clone(),
                Upstream {
                    status: t.status.to_string(),
                    exit_code: t.exit_code,
                    results,
                    points: None,
                },
            );
        }
        if let Kind::File(name) = &r.kind {
            files
                .entry(r.task.clone())
                .or_default()
                .insert(name.clone());
        }
    }
    let ctx = Context::new(&upstream, &files, &spec.sweep_point);
    if let Some(w) = &spec.when {
        match ctx.truth(w) {
            Ok(true) => {}
            Ok(false) => return Ok(Resolution::Skip(format!("when = {w:?} is false"))),
            Err(e) => {
                return Ok(Resolution::Fail(format!(
                    "cannot evaluate its condition: {e}"
                )))
            }
        }
    }
    let mut resolved = match ctx.resolve(&spec) {
        Ok(r) => r,
        Err(e) => {
            // A gather over points: say which points lack what it reads.
            let hint = refs::missing_point_results(&refs::texts(&spec), &upstream)
                .map(|h| format!("; {h}"))
                .unwrap_or_default();
            return Ok(Resolution::Fail(format!(
                "cannot resolve upstream values: {e}{hint}"
            )));
        }
    };
    resolved.when = None;
    let dir = run_dir.join("tasks").join(id);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
    for (up, names) in &files {
        for name in names {
            let src = match crate::files::regular_file_in(&run_dir.join("tasks").join(up), name) {
                Ok(src) => src,
                Err(m) => {
                    return Ok(Resolution::Fail(format!(
                        "task \"{up}\" did not produce {name} as a regular file inside its directory: {m}"
                    )))
                }
            };
            crate::files::copy_file(&src, &dir.join(refs::file_name(name)))?;
        }
    }
    if resolved.template.is_some() && resolved.command.is_none() {
        let workspace = std::path::PathBuf::from(tx.run()?.workspace);
        match crate::lookup::resolve_task(&mut resolved, &workspace, &dir) {
            Ok(Some(rendered)) => {
                if let Err(e) = matterstack_templates::write_rendered(&rendered, &dir) {
                    return Ok(Resolution::Fail(format!("template: {e}")));
                }
            }
            Ok(None) => {}
            Err(e) => return Ok(Resolution::Fail(e)),
        }
    }
    tx.set_resolved(id, Some(&resolved))?;
    let shown = match &resolved.command {
        Some(crate::model::Command::Shell(s)) => s.clone(),
        Some(crate::model::Command::Argv(v)) => v.join(" "),
        None => String::new(),
    };
    tx.event(
        Some(id),
        &format!(
            "resolved upstream values ({}): {}",
            upstream.keys().cloned().collect::<Vec<_>>().join(", "),
            truncate(&shown, 300)
        ),
    )?;
    Ok(Resolution::Run(Box::new(resolved)))
}

/// A sweep's points as `tasks.<sweep>.points` shows them.
fn gather(tx: &Tx<'_>, origin: &str) -> Result<Upstream, TxError> {
    let mut points = Vec::new();
    for id in tx.sweep_points(origin)? {
        let Some(t) = tx.task(&id)? else { continue };
        let results = tx
            .results(&id)?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or(serde_json::Value::Null);
        points.push(serde_json::json!({
            "id": id,
            "values": t.spec.sweep_point,
            "status": t.status.to_string(),
            "exit_code": t.exit_code,
            "results": results,
        }));
    }
    Ok(Upstream {
        status: String::new(),
        exit_code: None,
        results: serde_json::Value::Null,
        points: Some(serde_json::Value::Array(points)),
    })
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
