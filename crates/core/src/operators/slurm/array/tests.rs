//! Grouping, chunking, refusal and recovery of job arrays, against a
//! scripted transport (the testbed tests in `tests/integration/sweeps.rs`
//! run the same code against a real SLURM).

use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::model::cluster::ClusterProfile;
use crate::model::TaskSpec;
use crate::operators::slurm::{SlurmOperator, SEP};
use crate::operators::{AttemptRef, Observation, Operator};
use crate::transport::{CmdOutput, Transport, TransportError};

/// Answers like a cluster: roots, job ids from 100 on (or a refusal), and
/// a fixed squeue answer; records every command with its stdin.
#[derive(Default)]
struct Fake {
    calls: Mutex<Vec<(String, String, String)>>,
    next_id: Mutex<u32>,
    refuse: bool,
    squeue: String,
}

struct Shared(Arc<Fake>);

impl Transport for Shared {
    fn describe(&self) -> String {
        "fake".into()
    }
    fn exec(
        &self,
        label: &str,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CmdOutput, TransportError> {
        let f = &self.0;
        f.calls.lock().unwrap().push((
            label.into(),
            script.into(),
            String::from_utf8_lossy(stdin.unwrap_or_default()).into_owned(),
        ));
        let ok = |stdout: String| CmdOutput {
            status: 0,
            stdout,
            stderr: String::new(),
        };
        Ok(match label {
            "resolve-roots" => ok("/p\n/s\n".into()),
            "squeue" => ok(f.squeue.clone()),
            l if l.starts_with("sbatch") || l == "qsub" => {
                if f.refuse {
                    CmdOutput {
                        status: 1,
                        stdout: String::new(),
                        stderr: "sbatch: error: Batch job submission failed: Invalid partition name specified\n".into(),
                    }
                } else {
                    let mut n = f.next_id.lock().unwrap();
                    *n += 1;
                    ok(format!("{}\n", 99 + *n))
                }
            }
            _ => ok(String::new()),
        })
    }
    fn upload_dir(&self, _: &Path, _: &str) -> Result<(), TransportError> {
        Ok(())
    }
    fn download(&self, _: &str, _: &[String], _: &Path) -> Result<(), TransportError> {
        Ok(())
    }
}

fn operator(limits: &str, fake: Fake) -> (SlurmOperator, Arc<Fake>) {
    let profile: ClusterProfile = toml::from_str(&format!(
        "host = \"login\"\npartition = \"debug\"\nproject_root = \"/p\"\nscratch_root = \"/s\"\n[limits]\n{limits}\n"
    ))
    .unwrap();
    let fake = Arc::new(fake);
    let op = SlurmOperator::new("run1", "c1", profile, None)
        .with_transport(Box::new(Shared(fake.clone())));
    (op, fake)
}

fn task(id: &str, sweep_of: Option<&str>, cores: u32) -> TaskSpec {
    let mut t: TaskSpec = toml::from_str(&format!(
        "id = \"{id}\"\ncommand = \"echo hi\"\ncores = {cores}\noperator = \"slurm\"\ncluster = \"c1\""
    ))
    .unwrap();
    t.sweep_of = sweep_of.map(str::to_string);
    t
}

fn attempt<'a>(dir: &'a Path, t: &'a TaskSpec, token: &'a str) -> AttemptRef<'a> {
    AttemptRef {
        run_dir: dir,
        task_id: &t.id,
        n: 1,
        token,
        external_id: None,
        outputs: &[],
    }
}

#[test]
fn points_of_one_shape_go_as_arrays_split_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (op, fake) = operator("max_array_size = 2", Fake::default());
    let tasks: Vec<TaskSpec> = (0..5)
        .map(|i| task(&format!("scan.x-{i}"), Some("scan"), 1))
        .chain([task("scan.x-big", Some("scan"), 2), task("plain", None, 1)])
        .collect();
    let tokens: Vec<String> = (0..tasks.len()).map(|i| format!("tok{i}")).collect();
    let batch: Vec<(AttemptRef<'_>, &TaskSpec)> = tasks
        .iter()
        .zip(&tokens)
        .map(|(t, k)| (attempt(dir.path(), t, k), t))
        .collect();
    let ids: Vec<String> = op
        .launch_many(&batch)
        .into_iter()
        .map(|r| r.unwrap().external_id)
        .collect();
    assert_eq!(
        ids,
        ["100_0", "100_1", "101_0", "101_1", "102_0", "103", "104"],
        "three arrays (2 + 2 + 1), then the point of another shape and the plain task alone"
    );
    let calls = fake.calls.lock().unwrap();
    let sbatch: Vec<&str> = calls
        .iter()
        .map(|(l, ..)| l.as_str())
        .filter(|l| l.starts_with("sbatch"))
        .collect();
    assert_eq!(
        sbatch,
        [
            "sbatch --array=0-1",
            "sbatch --array=0-1",
            "sbatch --array=0-0",
            "sbatch",
            "sbatch"
        ]
    );
    // The first array: both elements written like single jobs, linked by
    // index, each told which array and index it is, before the sbatch.
    let (_, _, stage) = calls.iter().find(|(l, ..)| l == "stage-array").unwrap();
    let name = stage
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --job-name="))
        .unwrap();
    assert!(name.starts_with("ms.scan."), "{name}");
    let array_dir = format!("/p/run1/.arrays/{}", &name["ms.scan.".len()..]);
    for (i, id) in ["scan.x-0", "scan.x-1"].iter().enumerate() {
        for needle in [
            format!("cat > '/p/run1/{id}/1/job.sh' <<'MS_EOF_tok{i}'"),
            format!("printf '%s %s\\n' '{name}' {i} > '/p/run1/{id}/1/array'"),
            format!("ln -sfn '/p/run1/{id}/1' '{array_dir}'/{i}"),
            format!("ln -sfn '/s/run1/{id}/1' '{array_dir}'/{i}.scratch"),
        ] {
            assert!(stage.contains(&needle), "missing {needle:?} in\n{stage}");
        }
    }
    assert!(stage.contains("#SBATCH --array=0-1\n"), "{stage}");
    assert!(stage.contains("#SBATCH --partition=debug\n"), "{stage}");
    // The element's own script reports the element's id, not SLURM_JOB_ID.
    assert!(stage.contains("${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID"));
    // A single job clears a stale array record of an earlier try.
    let single = calls.iter().rfind(|(l, ..)| l == "sbatch").unwrap();
    assert!(
        single.1.contains("rm -f '/p/run1/plain/1/array'"),
        "{}",
        single.1
    );
}

#[test]
fn a_refused_array_fails_every_point_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (op, fake) = operator(
        "",
        Fake {
            refuse: true,
            ..Fake::default()
        },
    );
    let tasks: Vec<TaskSpec> = (0..3)
        .map(|i| task(&format!("s.x-{i}"), Some("s"), 1))
        .collect();
    let batch: Vec<(AttemptRef<'_>, &TaskSpec)> = tasks
        .iter()
        .map(|t| (attempt(dir.path(), t, "tk"), t))
        .collect();
    for r in op.launch_many(&batch) {
        let e = r.unwrap_err();
        assert!(!e.is_transient());
        let m = e.to_string();
        assert!(
            m.contains("SLURM refused the job array of sweep \"s\" (3 points)")
                && m.contains("Invalid partition"),
            "{m}"
        );
    }
    let calls = fake.calls.lock().unwrap();
    let (_, cleanup, _) = calls.iter().find(|(l, ..)| l == "cleanup").unwrap();
    for i in 0..3 {
        assert!(
            cleanup.contains(&format!("'/p/run1/s.x-{i}/1'")),
            "{cleanup}"
        );
        assert!(
            cleanup.contains(&format!("'/s/run1/s.x-{i}/1'")),
            "{cleanup}"
        );
    }
    assert!(cleanup.contains("'/p/run1/.arrays/"), "{cleanup}");
}

#[test]
fn pbs_submits_one_job_per_point() {
    let dir = tempfile::tempdir().unwrap();
    let (op, fake) = operator("", Fake::default());
    let op = op.pbs(matterstack_schedulers::pbs::PbsFlavor::Pro);
    let tasks: Vec<TaskSpec> = (0..2)
        .map(|i| task(&format!("s.x-{i}"), Some("s"), 1))
        .collect();
    let batch: Vec<(AttemptRef<'_>, &TaskSpec)> = tasks
        .iter()
        .map(|t| (attempt(dir.path(), t, "tk"), t))
        .collect();
    assert!(op.launch_many(&batch).iter().all(|r| r.is_ok()));
    let calls = fake.calls.lock().unwrap();
    assert_eq!(calls.iter().filter(|(l, ..)| l == "qsub").count(), 2);
    assert!(!calls.iter().any(|(l, ..)| l == "stage-array"));
}

#[test]
fn an_element_whose_job_id_was_never_recorded_is_found_by_array_token_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let name = "ms.scan.b7b7";
    let squeue = format!(
        "77_0|RUNNING|None|0:01|5:00|{name}\n77_1|PENDING|None|0:00|5:00|{name}\n{SEP} 0\n||{name} 1\n||\n"
    );
    let (op, _) = operator(
        "",
        Fake {
            squeue,
            ..Fake::default()
        },
    );
    let t1 = task("scan.x-1", Some("scan"), 1);
    let t2 = task("scan.x-2", Some("scan"), 1);
    let seen = op.poll(&[
        attempt(dir.path(), &t1, "tk1"),
        attempt(dir.path(), &t2, "tk2"),
    ]);
    assert!(
        matches!(
            &seen[0],
            Observation::Queued { external_id: Some(id), .. } if id == "77_1"
        ),
        "{:?}",
        seen[0]
    );
    assert_eq!(
        seen[1],
        Observation::NotStarted,
        "no array record: launch it"
    );
}

#[test]
fn points_chained_behind_an_upstream_job_wait_for_it_as_one_array() {
    let dir = tempfile::tempdir().unwrap();
    let (op, fake) = operator("", Fake::default());
    let after = vec![crate::model::spec::AfterJob {
        job_id: "55".into(),
        task: "prep".into(),
        attempt: 1,
        files: vec![],
    }];
    let tasks: Vec<TaskSpec> = (0..3)
        .map(|i| {
            let mut t = task(&format!("s.x-{i}"), Some("s"), 1);
            if i < 2 {
                t.after = after.clone();
            }
            t
        })
        .collect();
    let batch: Vec<(AttemptRef<'_>, &TaskSpec)> = tasks
        .iter()
        .map(|t| (attempt(dir.path(), t, "tk"), t))
        .collect();
    let ids: Vec<String> = op
        .launch_many(&batch)
        .into_iter()
        .map(|r| r.unwrap().external_id)
        .collect();
    assert_eq!(
        ids,
        ["100_0", "100_1", "101"],
        "the unchained point goes alone"
    );
    let calls = fake.calls.lock().unwrap();
    let (_, _, stage) = calls.iter().find(|(l, ..)| l == "stage-array").unwrap();
    let header = stage.split_once("array.sh <<'").unwrap().1;
    assert!(
        header.contains("#SBATCH --array=0-1\n")
            && header.contains("#SBATCH --dependency=afterok:55\n"),
        "{header}"
    );
}
