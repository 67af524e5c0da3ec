//! `init`: validate a workspace and create a run directory from it,
//! atomically: everything is built in a hidden staging directory and renamed
//! into place at the end, so a failure leaves no run directory behind.

use std::fs;
use std::path::{Path, PathBuf};

use crate::model::{ids, spec, WorkspaceSpec};
use crate::store::{now_ms, RunRow, Store};
use crate::{Error, Result};

use super::STATE_FILE;

/// The workspace file name.
pub const WORKSPACE_FILE: &str = "matterstack.toml";

/// Options of [`init`].
#[derive(Debug, Default, Clone)]
pub struct InitOptions {
    /// The run id (default: a timestamp and a random suffix).
    pub run_id: Option<String>,
}

/// Creates `<workspace>/runs/<id>/` from the workspace's `matterstack.toml`
/// and returns the run directory.
///
/// Fails with a user error (nothing written) when the workspace file is
/// missing or invalid, an input file is missing or outside the workspace,
/// the run id is invalid or already used.
pub fn init(workspace: &Path, opts: &InitOptions) -> Result<PathBuf> {
    let file = workspace.join(WORKSPACE_FILE);
    let text = match fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Input(format!(
                "no {WORKSPACE_FILE} in {}: a workspace is a directory with a {WORKSPACE_FILE} declaring [[tasks]]",
                workspace.display()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Err(Error::Input(format!(
                "{}: not UTF-8 text; save it as UTF-8 (TOML files are UTF-8)",
                file.display()
            )))
        }
        Err(e) => return Err(Error::io("read", &file, e)),
    };
    let (mut spec, mut problems) = WorkspaceSpec::parse_all(&text, &file)?;
    let root = workspace
        .canonicalize()
        .map_err(|e| Error::io("resolve", workspace, e))?;
    // Every check runs, so every problem of every kind is reported at once.
    gather(&mut problems, check_inputs(&root, &spec, &file))?;
    let rendered =
        gather(&mut problems, render_templates(&root, &mut spec, &file))?.unwrap_or_default();
    let clusters = gather(&mut problems, used_clusters(&root, &spec, &file))?.unwrap_or_default();
    if !problems.is_empty() {
        return Err(Error::Spec {
            file: file.clone(),
            problems,
        });
    }
    let run_id = match &opts.run_id {
        Some(id) => {
            ids::check_id("run", id).map_err(|m| Error::Input(format!("--run-id: {m}")))?;
            id.clone()
        }
        None => default_run_id(),
    };
    let runs = root.join("runs");
    let final_dir = runs.join(&run_id);
    if final_dir.exists() {
        return Err(Error::Input(format!(
            "run \"{run_id}\" already exists at {}; choose another --run-id",
            final_dir.display()
        )));
    }
    let created_runs = !runs.exists();
    fs::create_dir_all(&runs).map_err(|e| Error::io("create", &runs, e))?;
    let staging = runs.join(format!(".init-{run_id}-{}", std::process::id()));
    let result = build(&staging, &root, &run_id, &text, &spec).and_then(|()| {
        for (id, r) in &rendered {
            matterstack_templates::write_rendered(r, &staging.join("tasks").join(id))
                .map_err(|e| Error::Input(format!("task \"{id}\": {e}")))?;
        }
        if !clusters.is_empty() {
            super::clusters::write_file(&staging.join(super::clusters::CLUSTERS_FILE), &clusters)?;
        }
        fs::rename(&staging, &final_dir).map_err(|e| Error::io("rename into", &final_dir, e))
    });
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&staging);
        if created_runs {
            let _ = fs::remove_dir(&runs);
        }
        return Err(e);
    }
    Ok(final_dir)
}

/// The value of a check, or `None` with its problems added to `problems`;
/// other errors (IO) stop `init`.
fn gather<T>(problems: &mut Vec<String>, r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(Error::Spec { problems: p, .. }) => {
            problems.extend(p);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn build(
    staging: &Path,
    root: &Path,
    run_id: &str,
    text: &str,
    spec: &WorkspaceSpec,
) -> Result<()> {
    fs::create_dir(staging).map_err(|e| Error::io("create", staging, e))?;
    fs::write(staging.join(super::init::WORKSPACE_FILE), text)
        .map_err(|e| Error::io("write", staging, e))?;
    let tasks_dir = staging.join("tasks");
    fs::create_dir(&tasks_dir).map_err(|e| Error::io("create", &tasks_dir, e))?;
    for t in spec.tasks.iter().filter(|t| !t.inputs.is_empty()) {
        copy_inputs(root, &t.inputs, &tasks_dir.join(&t.id))?;
    }
    let cores = spec
        .run
        .cores
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u32));
    let run = RunRow {
        id: run_id.to_string(),
        workspace: root.display().to_string(),
        created_at: now_ms(),
        status: "RUNNING".to_string(),
        core_budget: cores,
    };
    let mut store = Store::create(&staging.join(STATE_FILE), &run, text, &spec.tasks)?;
    let has_planner = spec.run.planner.is_some();
    store.write(|tx| tx.set_has_planner(has_planner))?;
    drop(store);
    Ok(())
}

/// Renders every task's template in memory (nothing is written yet) and
/// makes those tasks concrete; collects every problem.
pub(super) fn render_templates(
    root: &Path,
    spec: &mut WorkspaceSpec,
    file: &Path,
) -> Result<Vec<(String, matterstack_templates::Rendered)>> {
    let mut problems = Vec::new();
    let mut rendered = Vec::new();
    for t in &mut spec.tasks {
        if t.template.is_some() && deferred(t) {
            // Params use upstream values: rendered when the task starts.
            if let Err(e) = super::templates::find(t.template.as_deref().unwrap_or(""), Some(root))
            {
                problems.push(format!("task \"{}\": template: {e}", t.id));
            }
            continue;
        }
        match super::templates::resolve_task(t, root, root) {
            Ok(Some(r)) => rendered.push((t.id.clone(), r)),
            Ok(None) => {}
            Err(m) => problems.push(m),
        }
    }
    if problems.is_empty() {
        Ok(rendered)
    } else {
        Err(Error::Spec {
            file: file.to_path_buf(),
            problems,
        })
    }
}

/// True when a task's texts use upstream values, or its sweep point holds values
/// that look like template text (both rendered at launch).
pub(crate) fn deferred(t: &crate::model::TaskSpec) -> bool {
    crate::model::refs::texts(t)
        .into_iter()
        .any(|s| (s.contains("{{") || s.contains("{%")) && !crate::model::refs::scan(s).is_empty())
        || t.sweep_point
            .values()
            .any(crate::model::refs::looks_like_template)
}

/// The profiles of the clusters the tasks name (snapshotted into the run).
fn used_clusters(
    root: &Path,
    spec: &WorkspaceSpec,
    file: &Path,
) -> Result<std::collections::BTreeMap<String, crate::model::cluster::ClusterProfile>> {
    let names: std::collections::BTreeSet<&str> = spec
        .tasks
        .iter()
        .filter_map(|t| t.cluster.as_deref())
        .collect();
    if names.is_empty() {
        return Ok(Default::default());
    }
    let all = super::clusters::load(Some(root))?;
    let mut problems = Vec::new();
    let mut used = std::collections::BTreeMap::new();
    for t in &spec.tasks {
        let Some(name) = t.cluster.as_deref() else {
            continue;
        };
        if let Some(probe) = all.get(name).and_then(|p| {
            p.probe
                .as_ref()
                .filter(|_| t.operator == "slurm")
                .map(|pr| (p, pr))
        }) {
            let (p, probe) = probe;
            let req = crate::model::cluster::Request {
                partition: t.partition.as_deref().or(p.partition.as_deref()),
                qos: t.qos.as_deref().or(p.qos.as_deref()),
                walltime_s: t.walltime_secs(),
                walltime: t.walltime.as_deref(),
                cores: t.cores,
            };
            for m in probe.problems(&req) {
                problems.push(format!(
                    "task \"{}\": {m} (cluster \"{name}\"; `matterstack cluster probe {name}` refreshes what it offers)",
                    t.id
                ));
            }
        }
        match all.get(name) {
            Some(_) if used.contains_key(name) => {}
            Some(p) => {
                if let Some(t) = &p.job_template {
                    if let Err(e) = super::templates::find(t, Some(root)) {
                        problems.push(format!("cluster \"{name}\": job_template: {e}"));
                    }
                }
                used.insert(name.to_string(), p.clone());
            }
            None => problems.push(format!(
                "task \"{}\": cluster \"{name}\" is not defined (known: {}); add it with `matterstack cluster add {name} --host …` or in the workspace's clusters.toml",
                t.id,
                if all.is_empty() { "none".to_string() } else { all.keys().cloned().collect::<Vec<_>>().join(", ") }
            )),
        }
    }
    if problems.is_empty() {
        Ok(used)
    } else {
        Err(Error::Spec {
            file: file.to_path_buf(),
            problems,
        })
    }
}

/// Checks every task's inputs by the rule for files crossing a boundary
/// ([`crate::files::plan_copy`]): each exists, and neither it nor anything
/// inside it (followed through links) leaves the workspace; no link loops,
/// special files or non-UTF-8 names. Reads only.
pub(super) fn check_inputs(root: &Path, spec: &WorkspaceSpec, file: &Path) -> Result<()> {
    let mut problems = Vec::new();
    for t in &spec.tasks {
        for input in &t.inputs {
            let src = spec::input_source(root, input);
            if fs::symlink_metadata(&src).is_err() {
                problems.push(format!(
                    "task \"{}\": inputs: \"{input}\" does not exist (looked for {}); create it or fix the path",
                    t.id,
                    src.display()
                ));
            } else if let Err(m) = crate::files::plan_copy(root, &src) {
                problems.push(format!("task \"{}\": inputs: \"{input}\": {m}", t.id));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Error::Spec {
            file: file.to_path_buf(),
            problems,
        })
    }
}

/// Copies a task's inputs from the workspace `root` into its task directory
/// `dir` (created), by the rule [`check_inputs`] checked.
pub(super) fn copy_inputs(root: &Path, inputs: &[String], dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("create", dir, e))?;
    for input in inputs {
        let name = spec::input_name(input).map_err(Error::Input)?;
        crate::files::copy_tree(
            root,
            &spec::input_source(root, input),
            &dir.join(name),
            &format!("inputs: \"{input}\""),
        )?;
    }
    Ok(())
}

fn default_run_id() -> String {
    let now = jiff::Zoned::now();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..4];
    format!("{}-{suffix}", now.strftime("%Y%m%d-%H%M%S"))
}
