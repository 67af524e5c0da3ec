//! Batch-script rendering for SLURM and PBS from one [`JobSpec`].
//!
//! Every script: runs the trusted `setup_lines` verbatim, exports `env` (values quoted with
//! [`crate::sh_quote`]), writes `started` (epoch seconds) to the marker directory, runs the
//! command (already shell-quoted by the caller) in a subshell `( … )` on lines of its own (so
//! an `exit` or a trailing comment in the command cannot skip the marker), writes `finished`,
//! writes the exit code to `exit.tmp` and renames it to `exit` (so `exit` is absent or
//! complete), and exits with the command's code. See [`crate::marker`].
//!
//! When the scheduler kills the job (walltime, `scancel`, memory), the batch shell dies too
//! and no `exit` marker is written: the scheduler's view decides then
//! ([`crate::slurm::decide`], [`crate::pbs::decide`]).
//!
//! Resource rule (documented for users):
//! * `ntasks = cores / cpus_per_task` (`cores` when `cpus_per_task` is unset); `cores` must
//!   be a multiple of `cpus_per_task`.
//! * `nodes` = the explicit `nodes` when given, else `ceil(cores / cores_per_node)` when the
//!   cluster profile gives `cores_per_node`, else 1.
//! * `memory_mb` is per node (SLURM `--mem` semantics).
//!
//! Values that go on `#SBATCH`/`#PBS` directive lines (names, paths, partition …) must not
//! contain whitespace, quotes, backslashes or control characters: directive lines are not
//! shell-parsed, so such values are refused with a [`ScriptError`] naming the field.

mod pbs;
mod slurm;

pub use pbs::render_pbs_script;
pub use slurm::{array_range, render_slurm_array_script, render_slurm_script, ArraySpec};

use serde::{Deserialize, Serialize};

use crate::names::validate_job_name;
use matterstack_boundary::sh_quote;

/// Everything needed to render one batch script.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JobSpec {
    /// Job name (see [`crate::job_name`]); must be `[A-Za-z0-9_.-]`, at most 128 characters.
    pub job_name: String,
    /// Working directory of the job (absolute path on the cluster).
    pub workdir: String,
    /// Path of the job's stdout file.
    pub stdout: String,
    /// Path of the job's stderr file.
    pub stderr: String,
    /// Total cores (at least 1).
    pub cores: u32,
    /// Cores per node of the target partition (from the cluster profile), used to derive
    /// `nodes`.
    pub cores_per_node: Option<u32>,
    /// Explicit node count (overrides the derivation).
    pub nodes: Option<u32>,
    /// Threads per task (hybrid MPI/OpenMP); `cores` must be a multiple.
    pub cpus_per_task: Option<u32>,
    /// Memory per node in MiB.
    pub memory_mb: Option<u64>,
    /// Walltime in seconds.
    pub walltime_secs: Option<u64>,
    /// SLURM partition / PBS queue.
    pub partition: Option<String>,
    /// SLURM QOS (refused for PBS).
    pub qos: Option<String>,
    /// Account / project.
    pub account: Option<String>,
    /// SLURM generic resources, e.g. `gpu:1` (refused for PBS).
    pub gres: Option<String>,
    /// SLURM feature constraint (refused for PBS).
    pub constraint: Option<String>,
    /// Lines run verbatim before the command (`module load …`, `source …`); trusted input
    /// from the cluster profile.
    pub setup_lines: Vec<String>,
    /// Environment variables to export; names must be `[A-Za-z_][A-Za-z0-9_]*`.
    pub env: Vec<(String, String)>,
    /// The command line, already shell-quoted by the caller; inserted verbatim.
    pub command: String,
    /// Directory for the `started`/`finished`/`exit` marker files.
    pub marker_dir: String,
    /// Dependency expression, e.g. `afterok:123:124` (SLURM `--dependency`, PBS
    /// `-W depend=`); characters `[A-Za-z0-9_:,?+.-]` only.
    pub dependency: Option<String>,
}

/// A [`JobSpec`] that cannot be rendered: which field, its value, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("invalid {field} {value:?}: {fix}")]
pub struct ScriptError {
    /// The field at fault (`cores`, `partition`, `env`, …).
    pub field: String,
    /// Its value as given.
    pub value: String,
    /// What to do about it.
    pub fix: String,
}

impl ScriptError {
    pub(crate) fn new(field: &str, value: impl ToString, fix: &str) -> Self {
        ScriptError {
            field: field.into(),
            value: value.to_string(),
            fix: fix.into(),
        }
    }
}

/// Derived task layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub nodes: u32,
    pub ntasks: u32,
}

pub(crate) fn layout(spec: &JobSpec) -> Result<Layout, ScriptError> {
    if spec.cores == 0 {
        return Err(ScriptError::new("cores", 0, "request at least 1 core"));
    }
    let ntasks = match spec.cpus_per_task {
        Some(0) => return Err(ScriptError::new("cpus_per_task", 0, "use at least 1")),
        Some(c) if !spec.cores.is_multiple_of(c) => {
            return Err(ScriptError::new(
                "cores",
                spec.cores,
                "cores must be a multiple of cpus_per_task",
            ))
        }
        Some(c) => spec.cores / c,
        None => spec.cores,
    };
    let nodes = match (spec.nodes, spec.cores_per_node) {
        (Some(0), _) => return Err(ScriptError::new("nodes", 0, "use at least 1 node")),
        (Some(n), _) if n > ntasks => {
            return Err(ScriptError::new(
                "nodes",
                n,
                "more nodes than tasks: lower nodes or raise cores",
            ))
        }
        (Some(n), _) => n,
        (None, Some(0)) => {
            return Err(ScriptError::new(
                "cores_per_node",
                0,
                "fix the cluster profile: cores_per_node must be at least 1",
            ))
        }
        (None, Some(p)) => spec.cores.div_ceil(p),
        (None, None) => 1,
    };
    Ok(Layout { nodes, ntasks })
}

/// Check a value that goes on a directive line (`#SBATCH`, `#PBS`: not
/// parsed by a shell, so it cannot be quoted): non-empty, no whitespace,
/// quotes, backslashes, `$` or backticks.
pub fn directive_value<'a>(field: &str, v: &'a str) -> Result<&'a str, ScriptError> {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_whitespace() || c.is_control() || "'\"\\`$".contains(c))
    {
        return Err(ScriptError::new(
            field,
            v,
            "must be non-empty without spaces, quotes, backslashes, '$' or '`'",
        ));
    }
    Ok(v)
}

pub(crate) fn check_common(spec: &JobSpec) -> Result<(), ScriptError> {
    validate_job_name(&spec.job_name)
        .map_err(|e| ScriptError::new("job_name", &spec.job_name, &e.to_string()))?;
    directive_value("stdout", &spec.stdout)?;
    directive_value("stderr", &spec.stderr)?;
    if spec.command.trim().is_empty() {
        return Err(ScriptError::new(
            "command",
            &spec.command,
            "give a command to run",
        ));
    }
    if spec.marker_dir.is_empty() {
        return Err(ScriptError::new(
            "marker_dir",
            "",
            "give the marker directory",
        ));
    }
    if let Some(d) = &spec.dependency {
        if d.is_empty()
            || !d
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_:,?+.-".contains(c))
        {
            return Err(ScriptError::new(
                "dependency",
                d,
                "use e.g. afterok:123 (characters A-Z a-z 0-9 _ : , ? + . - only)",
            ));
        }
    }
    for (k, _) in &spec.env {
        let ok = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(ScriptError::new(
                "env",
                k,
                "environment variable names must match [A-Za-z_][A-Za-z0-9_]*",
            ));
        }
    }
    Ok(())
}

/// The shared body: setup, env, markers, command, exit.
pub(crate) fn body(spec: &JobSpec, out: &mut String) {
    for l in &spec.setup_lines {
        out.push_str(l);
        out.push('\n');
    }
    for (k, v) in &spec.env {
        out.push_str(&format!("export {k}={}\n", sh_quote(v)));
    }
    out.push_str(&format!("ms_marker_dir={}\n", sh_quote(&spec.marker_dir)));
    out.push_str("mkdir -p \"$ms_marker_dir\"\n");
    out.push_str("date +%s > \"$ms_marker_dir/started\"\n");
    // a subshell, so an `exit` inside the command cannot skip the marker
    out.push_str("(\n");
    out.push_str(&spec.command);
    out.push_str("\n)\n");
    out.push_str("rc=$?\n");
    out.push_str("date +%s > \"$ms_marker_dir/finished\"\n");
    out.push_str(
        "echo \"$rc\" > \"$ms_marker_dir/exit.tmp\" && mv -f \"$ms_marker_dir/exit.tmp\" \"$ms_marker_dir/exit\"\n",
    );
    out.push_str("exit \"$rc\"\n");
}

#[cfg(test)]
impl JobSpec {
    /// A complete spec for tests.
    pub(crate) fn example() -> JobSpec {
        JobSpec {
            job_name: "ms.relax.tok1".into(),
            workdir: "/scratch/u/run1/relax".into(),
            stdout: "/scratch/u/run1/relax/stdout.log".into(),
            stderr: "/scratch/u/run1/relax/stderr.log".into(),
            cores: 4,
            command: "srun pw.x -in 'in put.pwi'".into(),
            marker_dir: "/scratch/u/run1/relax/.ms".into(),
            ..JobSpec::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_rules() {
        let s = |cores, cpn, nodes, cpt| JobSpec {
            cores,
            cores_per_node: cpn,
            nodes,
            cpus_per_task: cpt,
            ..JobSpec::example()
        };
        assert_eq!(
            layout(&s(4, None, None, None)).unwrap(),
            Layout {
                nodes: 1,
                ntasks: 4
            }
        );
        assert_eq!(
            layout(&s(130, Some(64), None, None)).unwrap(),
            Layout {
                nodes: 3,
                ntasks: 130
            }
        );
        assert_eq!(
            layout(&s(128, Some(64), None, Some(8))).unwrap(),
            Layout {
                nodes: 2,
                ntasks: 16
            }
        );
        assert_eq!(
            layout(&s(8, Some(64), Some(2), None)).unwrap(),
            Layout {
                nodes: 2,
                ntasks: 8
            }
        );
        for (bad, field) in [
            (s(0, None, None, None), "cores"),
            (s(6, None, None, Some(4)), "cores"),
            (s(4, None, None, Some(0)), "cpus_per_task"),
            (s(4, None, Some(0), None), "nodes"),
            (s(4, None, Some(5), None), "nodes"),
            (s(4, Some(0), None, None), "cores_per_node"),
        ] {
            assert_eq!(layout(&bad).unwrap_err().field, field);
        }
    }

    #[test]
    fn common_checks_name_the_field() {
        let cases: Vec<(JobSpec, &str)> = vec![
            (
                JobSpec {
                    job_name: "a b".into(),
                    ..JobSpec::example()
                },
                "job_name",
            ),
            (
                JobSpec {
                    stdout: "/a b/o".into(),
                    ..JobSpec::example()
                },
                "stdout",
            ),
            (
                JobSpec {
                    stderr: "".into(),
                    ..JobSpec::example()
                },
                "stderr",
            ),
            (
                JobSpec {
                    command: " ".into(),
                    ..JobSpec::example()
                },
                "command",
            ),
            (
                JobSpec {
                    marker_dir: "".into(),
                    ..JobSpec::example()
                },
                "marker_dir",
            ),
            (
                JobSpec {
                    dependency: Some("afterok:1;rm".into()),
                    ..JobSpec::example()
                },
                "dependency",
            ),
            (
                JobSpec {
                    env: vec![("1X".into(), "v".into())],
                    ..JobSpec::example()
                },
                "env",
            ),
            (
                JobSpec {
                    env: vec![("A-B".into(), "v".into())],
                    ..JobSpec::example()
                },
                "env",
            ),
        ];
        for (spec, field) in cases {
            assert_eq!(check_common(&spec).unwrap_err().field, field);
        }
        assert!(check_common(&JobSpec::example()).is_ok());
    }
}
