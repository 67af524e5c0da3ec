//! Records from the cluster and the remote layout (issue 10, findings 2, 7
//! and 8) on the testbed: job records read back by `sync --into` are
//! checked before they are stored, every remote job directory belongs to
//! one attempt of one run, and the job script quotes hostile roots once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{named_under, paths_under, s, status, task_ids, task_status, wait_for};
use crate::testbed::{slurm_task, testbed, ClusterWs};

/// Every `job_info.json` under `root` (any depth), with its directory.
fn records_under(root: &Path) -> Vec<(PathBuf, serde_json::Value)> {
    paths_under(root)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "job_info.json"))
        .filter_map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).ok()?).ok()?;
            Some((p.parent()?.to_path_buf(), v))
        })
        .collect()
}

fn spawn_run(c: &ClusterWs, run: &Path) -> std::process::Child {
    crate::support::ms_command()
        .args(["run", s(run), "--poll", "0.3"])
        .current_dir(c.ws.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn who_task(who: &str) -> String {
    slurm_task(
        "t",
        "echo $WHO > who.txt; sleep 2",
        &format!("env = {{ WHO = \"{who}\" }}\noutputs = [\"who.txt\"]"),
    )
}

#[test]
fn f7_two_workspaces_with_one_run_id_on_one_cluster_each_get_their_own_output_and_sync_finds_both()
{
    let tb = testbed();
    let a = ClusterWs::plain(&tb, &who_task("A"));
    let b = a.sharing(&tb, &who_task("B"));
    let run_a = a.ws.init("test");
    let run_b = b.ws.init("test");
    // At the same time, on the same project and scratch roots.
    let mut pa = spawn_run(&a, &run_a);
    let mut pb = spawn_run(&b, &run_b);
    assert!(pa.wait().unwrap().success(), "run A failed");
    assert!(pb.wait().unwrap().success(), "run B failed");
    for (run, who) in [(&run_a, "A"), (&run_b, "B")] {
        assert_eq!(status(run)["status"], "COMPLETED");
        assert_eq!(
            std::fs::read_to_string(run.join("tasks/t/who.txt")).unwrap(),
            format!("{who}\n"),
            "run {who} shows another run's output"
        );
    }
    // Two job directories, one per run, each holding its own record.
    let infos = records_under(&a.remote.path().join("project"));
    assert_eq!(infos.len(), 2, "{infos:?}");
    assert_ne!(infos[0].0, infos[1].0);
    // sync lists both runs apart…
    let listed = a.ws.ms(&["sync", "testbed", "--json"]);
    assert_eq!(listed.code, 0, "{listed:?}");
    let jobs = listed.json();
    let jobs = jobs.as_array().unwrap();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(jobs.iter().all(|j| j["run"] == "test" && j["task"] == "t"));
    let uid_a = jobs[0]["uid"].as_str().unwrap().to_string();
    let uid_b = jobs[1]["uid"].as_str().unwrap().to_string();
    assert_ne!(uid_a, uid_b);
    // …refuses to guess which one to rebuild…
    let lost = a.ws.path().join("runs/rebuilt/test");
    let out = a.ws.ms(&["sync", "testbed", "--into", s(&lost)]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("2 runs with id \"test\""), "{out:?}");
    assert!(!lost.exists());
    // …and rebuilds either, each with its own job.
    for uid in [&uid_a, &uid_b] {
        let into = a.ws.path().join(format!("runs/{uid}/test"));
        let out =
            a.ws.ms(&["sync", "testbed", "--into", s(&into), "--uid", uid]);
        assert_eq!(out.code, 0, "{out:?}");
        let st = status(&into);
        assert_eq!(task_status(&st, "t")["status"], "COMPLETED", "{st}");
        assert_eq!(task_status(&st, "t")["attempts"], 1);
    }
}

#[test]
fn f7_a_job_directory_holding_another_runs_job_is_refused_not_taken_over() {
    let tb = testbed();
    // Two runs made before run identities (old layout `<root>/test/…`).
    let a = ClusterWs::plain(
        &tb,
        &slurm_task("t", "echo A > who.txt", "outputs = [\"who.txt\"]"),
    );
    let b = a.sharing(
        &tb,
        &slurm_task("t", "sleep 3; echo B > who.txt", "outputs = [\"who.txt\"]"),
    );
    let run_a = a.ws.init("test");
    let run_b = b.ws.init("test");
    for run in [&run_a, &run_b] {
        let ok = Command::new("sqlite3")
            .arg(run.join("state.sqlite"))
            .arg("UPDATE run SET uid = NULL")
            .status()
            .unwrap();
        assert!(ok.success());
    }
    assert_eq!(a.ws.ms(&["run", s(&run_a), "--poll", "0.3"]).code, 0);
    let dir = a.remote.path().join("project/test/t/1");
    let before = std::fs::read_to_string(dir.join("job_info.json")).unwrap();
    assert!(dir.join("exit").exists(), "A left its exit marker");
    // B would reuse A's directory, and A's stale exit marker would complete
    // B's job before it ran: the launch is refused instead.
    let out = b.ws.ms(&["run", s(&run_b), "--poll", "0.3"]);
    assert_eq!(out.code, 1, "{out:?}");
    let t = task_status(&status(&run_b), "t").clone();
    assert_eq!(t["status"], "FAILED", "{t}");
    let reason = t["reason"].as_str().unwrap();
    assert!(
        reason.contains("refusing the job directory") && reason.contains("another attempt"),
        "{reason}"
    );
    assert!(!run_b.join("tasks/t/who.txt").exists());
    // A's directory is left exactly as it was.
    assert_eq!(
        std::fs::read_to_string(dir.join("job_info.json")).unwrap(),
        before
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("work/who.txt")).unwrap(),
        "A\n"
    );
}

/// Writes `info` (a job record) as `<project>/<dir>/job_info.json`.
fn plant(project: &Path, dir: &str, info: &serde_json::Value) {
    let d = project.join(dir);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("job_info.json"),
        serde_json::to_string_pretty(info).unwrap(),
    )
    .unwrap();
}

#[test]
fn f2_sync_checks_every_record_and_rebuilt_tasks_run_on_the_cluster_they_came_from() {
    let tb = testbed();
    let c = ClusterWs::plain(&tb, &slurm_task("ok", "echo ok > o.txt", ""));
    let run = c.ws.init("lost");
    assert_eq!(c.ws.ms(&["run", s(&run), "--poll", "0.3"]).code, 0);
    let project = c.remote.path().join("project");
    let (dir, good) = records_under(&project).remove(0);
    let run_dir = dir
        .parent()
        .and_then(Path::parent)
        .and_then(Path::file_name)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let forged = |task: &str, token: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut v = good.clone();
        v["task"] = task.into();
        v["token"] = token.into();
        v["spec"]["id"] = task.into();
        edit(&mut v);
        v
    };
    // A record that says "run me locally": bound to the cluster instead.
    let local = forged("here", "1111", &|v| {
        v["spec"]["operator"] = "local".into();
        v["spec"]["cluster"] = serde_json::Value::Null;
        v["spec"]["command"] = "echo \"slurm job $SLURM_JOB_ID\" > where.txt".into();
        v["status"] = "FAILED".into();
    });
    plant(&project, &format!("{run_dir}/here/1"), &local);
    let hostile = [
        ("dots", forged("../../../x", "2222", &|_| {})),
        (
            "env",
            forged("env", "3333", &|v| {
                v["spec"]["env"] = serde_json::json!({"A;B": "1"})
            }),
        ),
        (
            "abs",
            forged("abs", "4444", &|v| {
                v["spec"]["inputs"] = serde_json::json!(["/etc"])
            }),
        ),
        (
            "out",
            forged("out", "5555", &|v| {
                v["spec"]["outputs"] = serde_json::json!(["../../../../escaped"])
            }),
        ),
        (
            "other",
            forged("other", "6666", &|v| v["cluster"] = "elsewhere".into()),
        ),
    ];
    for (name, info) in &hostile {
        plant(&project, &format!("{run_dir}/{name}/1"), info);
    }
    // A record that is not one at all.
    std::fs::create_dir_all(project.join(format!("{run_dir}/junk/1"))).unwrap();
    std::fs::write(
        project.join(format!("{run_dir}/junk/1/job_info.json")),
        "{\"status\": 1",
    )
    .unwrap();
    std::fs::remove_dir_all(&run).unwrap();
    let out = c.ws.ms(&["sync", "testbed", "--into", s(&run)]);
    assert_eq!(out.code, 0, "{out:?}");
    for needle in [
        "task id \"../../../x\"",
        "\"A;B\" is invalid",
        "\"/etc\" is an absolute path",
        "outputs:",
        "cluster = \"elsewhere\"",
        "junk/1/job_info.json: not a job record",
    ] {
        assert!(
            out.stderr.contains(needle),
            "missing {needle:?} in {}",
            out.stderr
        );
    }
    let st = status(&run);
    let ids = task_ids(&st);
    assert_eq!(ids.len(), 2, "{st}");
    assert!(ids.contains(&"ok") && ids.contains(&"here"), "{ids:?}");
    assert!(!run.parent().unwrap().join("x").exists());
    // The record that asked for the local operator runs on SLURM.
    let retried = c.ws.ms(&["retry", s(&run), "here"]);
    assert_eq!(retried.code, 0, "{retried:?}");
    assert_eq!(c.ws.ms(&["run", s(&run), "--poll", "0.3"]).code, 0);
    let where_ = std::fs::read_to_string(run.join("tasks/here/where.txt")).unwrap();
    assert!(
        where_.starts_with("slurm job ") && where_.trim().len() > "slurm job ".len(),
        "{where_}"
    );
}

#[test]
fn f8_hostile_project_and_scratch_roots_run_correctly_and_run_no_code() {
    // Spaces, quotes, `;`, `$()` and backticks: no directive can carry
    // these, so the job is named relative to its project directory.
    hostile_roots_run("it's a; touch pwned_semi; $(touch pwned_subst) `touch pwned_tick` dir");
}

#[test]
fn f8_a_root_with_semicolons_does_not_break_out_of_the_term_trap() {
    // Directive-safe, so written as it is on the #SBATCH lines; the old
    // trap line re-quoted it and bash ran `{touch,pwned_brace}`.
    hostile_roots_run("a;{touch,pwned_brace};b");
}

fn hostile_roots_run(hostile: &str) {
    let tb = testbed();
    let tasks = [
        slurm_task("done", "echo 42 > out.dat", "outputs = [\"out.dat\"]"),
        slurm_task("killed", "echo step 7 > state.cpt; sleep 300", ""),
    ]
    .concat();
    let c = ClusterWs::plain(&tb, &tasks);
    let profile = std::fs::read_to_string(c.ws.path().join("clusters.toml"))
        .unwrap()
        .replace("/project\"", &format!("/pro {hostile}/project\""))
        .replace("/scratch\"", &format!("/scr {hostile}/scratch\""));
    c.ws.file("clusters.toml", &profile);
    let run = c.ws.init("r");
    assert!(
        wait_for(Duration::from_secs(90), || {
            c.ws.ms(&["step", s(&run)]);
            let st = status(&run);
            task_status(&st, "done")["status"] == "COMPLETED"
                && records_under(c.remote.path())
                    .iter()
                    .any(|(_, i)| i["task"] == "killed" && i["status"] == "RUNNING")
        }),
        "{}",
        status(&run)
    );
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/done/out.dat")).unwrap(),
        "42\n"
    );
    // Killed by the scheduler: the TERM trap keeps the checkpoint, in the
    // project directory under the hostile root.
    assert_eq!(c.ws.ms(&["cancel", s(&run), "killed"]).code, 0);
    let (dir, _) = records_under(c.remote.path())
        .into_iter()
        .find(|(_, i)| i["task"] == "killed")
        .unwrap();
    assert!(dir.to_string_lossy().contains(hostile), "{}", dir.display());
    assert!(
        wait_for(Duration::from_secs(60), || dir
            .join("work/state.cpt")
            .is_file()),
        "the trap kept nothing in {}",
        dir.display()
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("work/state.cpt")).unwrap(),
        "step 7\n"
    );
    // No fragment of the roots ran as a command anywhere.
    for root in [c.remote.path(), c.ws.path()] {
        assert_eq!(named_under(root, "pwned"), Vec::<PathBuf>::new());
    }
    let home = PathBuf::from(std::env::var("HOME").unwrap_or_default());
    for name in ["pwned_semi", "pwned_subst", "pwned_tick", "pwned_brace"] {
        assert!(!home.join(name).exists(), "{name} in {}", home.display());
    }
}
