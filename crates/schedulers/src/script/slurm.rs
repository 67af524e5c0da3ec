//! SLURM batch script.

use super::{body, check_common, directive_value, layout, JobSpec, ScriptError};
use crate::names::validate_job_name;
use crate::slurm::format_slurm_time;
use matterstack_boundary::sh_quote;

/// `--mem` value: whole GiB as `<N>G`, otherwise `<N>M`.
fn slurm_mem(mb: u64) -> String {
    if mb.is_multiple_of(1024) {
        format!("{}G", mb / 1024)
    } else {
        format!("{mb}M")
    }
}

/// Render a SLURM batch script for `spec` (rules in the [module docs](super)).
///
/// Directives, in order: `--job-name`, `--chdir`, `--output`, `--error`, `--nodes`,
/// `--ntasks`, `--cpus-per-task` (when set), `--mem` (`<N>G` for whole GiB, else `<N>M`),
/// `--time=D-HH:MM:SS`, then `--partition`, `--qos`, `--account`, `--gres`, `--constraint`,
/// `--dependency` when set. The body starts with `export SLURM_EXPORT_ENV=ALL`.
///
/// Fails with a [`ScriptError`] naming the field for: an invalid job name, a directive value
/// with whitespace/quotes/`$`, zero cores/nodes/memory/walltime, cores not a multiple of
/// cpus_per_task, more nodes than tasks, a bad env name or dependency, an empty command or
/// marker directory.
pub fn render_slurm_script(spec: &JobSpec) -> Result<String, ScriptError> {
    check_common(spec)?;
    let mut s = directives(spec, None)?;
    s.push_str("\nexport SLURM_EXPORT_ENV=ALL\n");
    body(spec, &mut s);
    Ok(s)
}

/// The `#!/bin/bash` line and the `#SBATCH` directives of `spec` (rules in
/// [`render_slurm_script`]), with `--array=<range>` after the job name when given.
fn directives(spec: &JobSpec, array: Option<&str>) -> Result<String, ScriptError> {
    let lay = layout(spec)?;
    let mut s = String::from("#!/bin/bash\n");
    let mut d = |k: &str, v: &str| s.push_str(&format!("#SBATCH --{k}={v}\n"));
    d("job-name", &spec.job_name);
    if let Some(range) = array {
        d("array", range);
    }
    d("chdir", directive_value("workdir", &spec.workdir)?);
    d("output", &spec.stdout);
    d("error", &spec.stderr);
    d("nodes", &lay.nodes.to_string());
    d("ntasks", &lay.ntasks.to_string());
    if let Some(c) = spec.cpus_per_task {
        d("cpus-per-task", &c.to_string());
    }
    match spec.memory_mb {
        Some(0) => {
            return Err(ScriptError::new(
                "memory_mb",
                0,
                "request at least 1 MB (0 means all memory on SLURM)",
            ))
        }
        Some(mb) => d("mem", &slurm_mem(mb)),
        None => {}
    }
    match spec.walltime_secs {
        Some(0) => {
            return Err(ScriptError::new(
                "walltime_secs",
                0,
                "request at least 1 second",
            ))
        }
        Some(t) => d("time", &format_slurm_time(t)),
        None => {}
    }
    for (key, field, v) in [
        ("partition", "partition", &spec.partition),
        ("qos", "qos", &spec.qos),
        ("account", "account", &spec.account),
        ("gres", "gres", &spec.gres),
        ("constraint", "constraint", &spec.constraint),
        ("dependency", "dependency", &spec.dependency),
    ] {
        if let Some(v) = v {
            d(key, directive_value(field, v)?);
        }
    }
    Ok(s)
}

/// One SLURM job array whose element `i` is an ordinary job prepared beforehand: its job
/// script at `<dir>/<i>/job.sh` and its working directory at `<dir>/<i>.scratch` (both
/// usually symlinks to the element's own project and scratch directories).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArraySpec {
    /// Number of elements (indices `0..size`).
    pub size: u32,
    /// Elements running at once (`%N`), if limited.
    pub parallel: Option<u32>,
    /// The directory holding the per-index links (absolute path on the cluster).
    pub dir: String,
}

/// The `--array` value for `size` elements: `0-(size-1)`, plus `%parallel` when given.
///
/// Fails when `size` or `parallel` is 0.
pub fn array_range(size: u32, parallel: Option<u32>) -> Result<String, ScriptError> {
    if size == 0 {
        return Err(ScriptError::new(
            "array size",
            0,
            "an array needs at least 1 element",
        ));
    }
    match parallel {
        Some(0) => Err(ScriptError::new(
            "array parallel",
            0,
            "allow at least 1 element at once, or none for no limit",
        )),
        Some(p) => Ok(format!("0-{}%{p}", size - 1)),
        None => Ok(format!("0-{}", size - 1)),
    }
}

/// Render the batch script of a job array (see [`ArraySpec`]): the resource directives of
/// `spec` (shared by every element) with `--array=<range>`, `--chdir=<dir>`, and
/// `--output`/`--error` at `<dir>/%a/stdout` and `<dir>/%a/stderr` (so each element's
/// scheduler output lands in its own directory); the body runs the element's own job script
/// with bash in its working directory. `spec.workdir`, `stdout`, `stderr`, `command`, `env`,
/// `setup_lines` and `marker_dir` are not used: each element's script carries its own.
///
/// Fails like [`render_slurm_script`] for the resource fields and the job name, and for a bad
/// `dir` or an array size/parallel of 0 (see [`array_range`]).
pub fn render_slurm_array_script(spec: &JobSpec, array: &ArraySpec) -> Result<String, ScriptError> {
    validate_job_name(&spec.job_name)
        .map_err(|e| ScriptError::new("job_name", &spec.job_name, &e.to_string()))?;
    let dir = directive_value("array dir", &array.dir)?;
    let range = array_range(array.size, array.parallel)?;
    let spec = JobSpec {
        workdir: dir.to_string(),
        stdout: format!("{dir}/%a/stdout"),
        stderr: format!("{dir}/%a/stderr"),
        ..spec.clone()
    };
    let mut s = directives(&spec, Some(&range))?;
    s.push_str(&format!(
        "\nms_el={}/\"$SLURM_ARRAY_TASK_ID\"\ncd \"$ms_el.scratch/\" || exit 97\nexec /bin/bash \"$ms_el/job.sh\"\n",
        sh_quote(dir)
    ));
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_full() {
        let spec = JobSpec {
            cores: 128,
            cores_per_node: Some(64),
            cpus_per_task: Some(4),
            memory_mb: Some(64 * 1024),
            walltime_secs: Some(90_061),
            partition: Some("compute".into()),
            qos: Some("normal".into()),
            account: Some("chem42".into()),
            gres: Some("gpu:a100:2".into()),
            constraint: Some("avx512".into()),
            dependency: Some("afterok:100:101".into()),
            setup_lines: vec!["module load qe/7.2".into(), "source /opt/env.sh".into()],
            env: vec![
                ("OMP_NUM_THREADS".into(), "4".into()),
                ("NOTE".into(), "it's $HOME".into()),
            ],
            ..JobSpec::example()
        };
        let expected = r#"#!/bin/bash
#SBATCH --job-name=ms.relax.tok1
#SBATCH --chdir=/scratch/u/run1/relax
#SBATCH --output=/scratch/u/run1/relax/stdout.log
#SBATCH --error=/scratch/u/run1/relax/stderr.log
#SBATCH --nodes=2
#SBATCH --ntasks=32
#SBATCH --cpus-per-task=4
#SBATCH --mem=64G
#SBATCH --time=1-01:01:01
#SBATCH --partition=compute
#SBATCH --qos=normal
#SBATCH --account=chem42
#SBATCH --gres=gpu:a100:2
#SBATCH --constraint=avx512
#SBATCH --dependency=afterok:100:101

export SLURM_EXPORT_ENV=ALL
module load qe/7.2
source /opt/env.sh
export OMP_NUM_THREADS='4'
export NOTE='it'\''s $HOME'
ms_marker_dir='/scratch/u/run1/relax/.ms'
mkdir -p "$ms_marker_dir"
date +%s > "$ms_marker_dir/started"
(
srun pw.x -in 'in put.pwi'
)
rc=$?
date +%s > "$ms_marker_dir/finished"
echo "$rc" > "$ms_marker_dir/exit.tmp" && mv -f "$ms_marker_dir/exit.tmp" "$ms_marker_dir/exit"
exit "$rc"
"#;
        assert_eq!(render_slurm_script(&spec).unwrap(), expected);
    }

    #[test]
    fn golden_minimal() {
        let spec = JobSpec {
            memory_mb: Some(1500),
            ..JobSpec::example()
        };
        let expected = r#"#!/bin/bash
#SBATCH --job-name=ms.relax.tok1
#SBATCH --chdir=/scratch/u/run1/relax
#SBATCH --output=/scratch/u/run1/relax/stdout.log
#SBATCH --error=/scratch/u/run1/relax/stderr.log
#SBATCH --nodes=1
#SBATCH --ntasks=4
#SBATCH --mem=1500M

export SLURM_EXPORT_ENV=ALL
ms_marker_dir='/scratch/u/run1/relax/.ms'
mkdir -p "$ms_marker_dir"
date +%s > "$ms_marker_dir/started"
(
srun pw.x -in 'in put.pwi'
)
rc=$?
date +%s > "$ms_marker_dir/finished"
echo "$rc" > "$ms_marker_dir/exit.tmp" && mv -f "$ms_marker_dir/exit.tmp" "$ms_marker_dir/exit"
exit "$rc"
"#;
        assert_eq!(render_slurm_script(&spec).unwrap(), expected);
    }

    #[test]
    fn golden_array() {
        let spec = JobSpec {
            job_name: "ms.scan.batch1".into(),
            memory_mb: Some(2048),
            walltime_secs: Some(600),
            partition: Some("debug".into()),
            ..JobSpec::example()
        };
        let array = ArraySpec {
            size: 50,
            parallel: Some(4),
            dir: "/p/run1/.arrays/batch1".into(),
        };
        let expected = r#"#!/bin/bash
#SBATCH --job-name=ms.scan.batch1
#SBATCH --array=0-49%4
#SBATCH --chdir=/p/run1/.arrays/batch1
#SBATCH --output=/p/run1/.arrays/batch1/%a/stdout
#SBATCH --error=/p/run1/.arrays/batch1/%a/stderr
#SBATCH --nodes=1
#SBATCH --ntasks=4
#SBATCH --mem=2G
#SBATCH --time=0-00:10:00
#SBATCH --partition=debug

ms_el='/p/run1/.arrays/batch1'/"$SLURM_ARRAY_TASK_ID"
cd "$ms_el.scratch/" || exit 97
exec /bin/bash "$ms_el/job.sh"
"#;
        assert_eq!(render_slurm_array_script(&spec, &array).unwrap(), expected);
        assert_eq!(array_range(1, None).unwrap(), "0-0");
        assert_eq!(array_range(1000, None).unwrap(), "0-999");
        assert_eq!(array_range(0, None).unwrap_err().field, "array size");
        assert_eq!(array_range(3, Some(0)).unwrap_err().field, "array parallel");
        let bad = ArraySpec {
            dir: "/a b".into(),
            ..array.clone()
        };
        assert_eq!(
            render_slurm_array_script(&spec, &bad).unwrap_err().field,
            "array dir"
        );
        let bad_name = JobSpec {
            job_name: "x y".into(),
            ..spec.clone()
        };
        assert_eq!(
            render_slurm_array_script(&bad_name, &array)
                .unwrap_err()
                .field,
            "job_name"
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let cases: Vec<(JobSpec, &str)> = vec![
            (
                JobSpec {
                    partition: Some("a b".into()),
                    ..JobSpec::example()
                },
                "partition",
            ),
            (
                JobSpec {
                    qos: Some("$(x)".into()),
                    ..JobSpec::example()
                },
                "qos",
            ),
            (
                JobSpec {
                    account: Some("".into()),
                    ..JobSpec::example()
                },
                "account",
            ),
            (
                JobSpec {
                    gres: Some("gpu\n#SBATCH --x".into()),
                    ..JobSpec::example()
                },
                "gres",
            ),
            (
                JobSpec {
                    workdir: "/a b".into(),
                    ..JobSpec::example()
                },
                "workdir",
            ),
            (
                JobSpec {
                    memory_mb: Some(0),
                    ..JobSpec::example()
                },
                "memory_mb",
            ),
            (
                JobSpec {
                    walltime_secs: Some(0),
                    ..JobSpec::example()
                },
                "walltime_secs",
            ),
            (
                JobSpec {
                    cores: 0,
                    ..JobSpec::example()
                },
                "cores",
            ),
        ];
        for (spec, field) in cases {
            let e = render_slurm_script(&spec).unwrap_err();
            assert_eq!(e.field, field, "{e}");
        }
    }
}
