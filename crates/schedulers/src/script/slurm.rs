//! SLURM batch script.

use super::{body, check_common, directive_value, layout, JobSpec, ScriptError};
use crate::slurm::format_slurm_time;

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
    let lay = layout(spec)?;
    let mut s = String::from("#!/bin/bash\n");
    let mut d = |k: &str, v: &str| s.push_str(&format!("#SBATCH --{k}={v}\n"));
    d("job-name", &spec.job_name);
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
    s.push_str("\nexport SLURM_EXPORT_ENV=ALL\n");
    body(spec, &mut s);
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
