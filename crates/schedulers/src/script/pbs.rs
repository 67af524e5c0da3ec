//! PBS Pro and Torque batch scripts.

use super::{body, check_common, directive_value, layout, JobSpec, ScriptError};
use crate::pbs::PbsFlavor;

/// PBS size: whole GiB as `<N>gb`, otherwise `<N>mb` (PBS size suffixes are lower case in
/// the PBS documentation).
fn pbs_mem(mb: u64) -> String {
    if mb.is_multiple_of(1024) {
        format!("{}gb", mb / 1024)
    } else {
        format!("{mb}mb")
    }
}

/// `HH:MM:SS` with unbounded hours.
fn pbs_walltime(secs: u64) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Render a PBS batch script for `spec` (rules in the [module docs](super)).
///
/// Directives: `-N`, `-o`, `-e`, the resource request, `-l walltime=HH:MM:SS`, `-q`
/// (partition), `-A` (account), `-W depend=` (dependency). The resource request is
/// * PBS Pro: `-l select=<nodes>:ncpus=<cores/nodes>[:mpiprocs=<tasks/node>:ompthreads=<cpt>][:mem=<N>gb]`
///   (memory per chunk = per node);
/// * Torque: `-l nodes=<nodes>:ppn=<cores/nodes>` and `-l mem=<N>gb` (Torque's `mem` is the
///   job total = per-node memory × nodes).
///
/// The body starts with `cd "$PBS_O_WORKDIR"`, so the caller runs `qsub` from
/// `spec.workdir`.
///
/// Fails with a [`ScriptError`] naming the field for everything
/// [`super::render_slurm_script`] refuses, and additionally for `qos`, `gres` and
/// `constraint` (no PBS equivalent: remove them from the cluster profile) and for cores or
/// tasks that do not divide evenly over the nodes.
pub fn render_pbs_script(spec: &JobSpec, flavor: PbsFlavor) -> Result<String, ScriptError> {
    check_common(spec)?;
    let lay = layout(spec)?;
    for (field, v) in [
        ("qos", &spec.qos),
        ("gres", &spec.gres),
        ("constraint", &spec.constraint),
    ] {
        if let Some(v) = v {
            return Err(ScriptError::new(
                field,
                v,
                "PBS has no equivalent; remove it from the task or cluster profile",
            ));
        }
    }
    if !spec.cores.is_multiple_of(lay.nodes) {
        return Err(ScriptError::new(
            "cores",
            spec.cores,
            "PBS chunks are equal: cores must be a multiple of the node count",
        ));
    }
    if !lay.ntasks.is_multiple_of(lay.nodes) {
        return Err(ScriptError::new(
            "cpus_per_task",
            spec.cpus_per_task.unwrap_or(1),
            "PBS chunks are equal: tasks must divide evenly over the nodes",
        ));
    }
    let per_node = spec.cores / lay.nodes;
    let mem = match spec.memory_mb {
        Some(0) => return Err(ScriptError::new("memory_mb", 0, "request at least 1 MB")),
        m => m,
    };
    let mut s = String::from("#!/bin/bash\n");
    let mut d = |v: String| s.push_str(&format!("#PBS {v}\n"));
    d(format!("-N {}", spec.job_name));
    d(format!("-o {}", spec.stdout));
    d(format!("-e {}", spec.stderr));
    match flavor {
        PbsFlavor::Pro => {
            let mut sel = format!("select={}:ncpus={per_node}", lay.nodes);
            if let Some(c) = spec.cpus_per_task {
                sel.push_str(&format!(
                    ":mpiprocs={}:ompthreads={c}",
                    lay.ntasks / lay.nodes
                ));
            }
            if let Some(mb) = mem {
                sel.push_str(&format!(":mem={}", pbs_mem(mb)));
            }
            d(format!("-l {sel}"));
        }
        PbsFlavor::Torque => {
            d(format!("-l nodes={}:ppn={per_node}", lay.nodes));
            if let Some(mb) = mem {
                d(format!(
                    "-l mem={}",
                    pbs_mem(mb.saturating_mul(u64::from(lay.nodes)))
                ));
            }
        }
    }
    match spec.walltime_secs {
        Some(0) => {
            return Err(ScriptError::new(
                "walltime_secs",
                0,
                "request at least 1 second",
            ))
        }
        Some(t) => d(format!("-l walltime={}", pbs_walltime(t))),
        None => {}
    }
    if let Some(q) = &spec.partition {
        d(format!("-q {}", directive_value("partition", q)?));
    }
    if let Some(a) = &spec.account {
        d(format!("-A {}", directive_value("account", a)?));
    }
    if let Some(dep) = &spec.dependency {
        d(format!("-W depend={dep}"));
    }
    s.push_str("\ncd \"$PBS_O_WORKDIR\" || exit 1\n");
    body(spec, &mut s);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"ms_marker_dir='/scratch/u/run1/relax/.ms'
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

    fn spec() -> JobSpec {
        JobSpec {
            cores: 64,
            cores_per_node: Some(32),
            cpus_per_task: Some(8),
            memory_mb: Some(4096),
            walltime_secs: Some(100 * 3600 + 61),
            partition: Some("workq".into()),
            account: Some("chem42".into()),
            dependency: Some("afterok:12.pbs01".into()),
            env: vec![("OMP_NUM_THREADS".into(), "8".into())],
            ..JobSpec::example()
        }
    }

    #[test]
    fn golden_pro() {
        let expected = format!(
            r#"#!/bin/bash
#PBS -N ms.relax.tok1
#PBS -o /scratch/u/run1/relax/stdout.log
#PBS -e /scratch/u/run1/relax/stderr.log
#PBS -l select=2:ncpus=32:mpiprocs=4:ompthreads=8:mem=4gb
#PBS -l walltime=100:01:01
#PBS -q workq
#PBS -A chem42
#PBS -W depend=afterok:12.pbs01

cd "$PBS_O_WORKDIR" || exit 1
export OMP_NUM_THREADS='8'
{BODY}"#
        );
        assert_eq!(
            render_pbs_script(&spec(), PbsFlavor::Pro).unwrap(),
            expected
        );
    }

    #[test]
    fn golden_torque_minimal() {
        let s = JobSpec {
            memory_mb: Some(1000),
            ..JobSpec::example()
        };
        let expected = format!(
            r#"#!/bin/bash
#PBS -N ms.relax.tok1
#PBS -o /scratch/u/run1/relax/stdout.log
#PBS -e /scratch/u/run1/relax/stderr.log
#PBS -l nodes=1:ppn=4
#PBS -l mem=1000mb

cd "$PBS_O_WORKDIR" || exit 1
{BODY}"#
        );
        assert_eq!(render_pbs_script(&s, PbsFlavor::Torque).unwrap(), expected);
        let multi = render_pbs_script(&spec(), PbsFlavor::Torque).unwrap();
        assert!(
            multi.contains("#PBS -l nodes=2:ppn=32\n#PBS -l mem=8gb\n"),
            "{multi}"
        );
    }

    #[test]
    fn refusals() {
        let cases: Vec<(JobSpec, &str)> = vec![
            (
                JobSpec {
                    qos: Some("normal".into()),
                    ..spec()
                },
                "qos",
            ),
            (
                JobSpec {
                    gres: Some("gpu:1".into()),
                    ..spec()
                },
                "gres",
            ),
            (
                JobSpec {
                    constraint: Some("x".into()),
                    ..spec()
                },
                "constraint",
            ),
            (
                JobSpec {
                    cores: 5,
                    nodes: Some(2),
                    cpus_per_task: None,
                    ..spec()
                },
                "cores",
            ),
            (
                JobSpec {
                    cores: 24,
                    cores_per_node: None,
                    nodes: Some(2),
                    cpus_per_task: Some(8),
                    ..spec()
                },
                "cpus_per_task",
            ),
            (
                JobSpec {
                    partition: Some("q 1".into()),
                    ..spec()
                },
                "partition",
            ),
            (
                JobSpec {
                    memory_mb: Some(0),
                    ..spec()
                },
                "memory_mb",
            ),
        ];
        for (s, field) in cases {
            assert_eq!(
                render_pbs_script(&s, PbsFlavor::Pro).unwrap_err().field,
                field
            );
        }
    }
}
