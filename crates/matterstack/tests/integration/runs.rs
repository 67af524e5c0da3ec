//! Runs you can find and clean up: `runs` lists every run of the user
//! (index kept at `init`, checked against the directories), `delete`
//! cancels, removes the run's own remote directories and the local run.

use std::path::Path;
use std::time::Duration;

use crate::support::{ms_env, s, wait_for, Workspace};
use crate::testbed::{slurm_state, slurm_task, testbed, ClusterWs};

fn runs(cwd: &Path, data: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["runs", "--json"];
    all.extend_from_slice(args);
    let out = ms_env(cwd, &all, &[("XDG_DATA_HOME", data)]);
    assert_eq!(out.code, 0, "{out:?}");
    out.json()
}

fn init(ws: &Workspace, data: &Path, id: &str) -> std::path::PathBuf {
    let out = ms_env(
        ws.path(),
        &["init", ".", "--run-id", id],
        &[("XDG_DATA_HOME", data)],
    );
    assert_eq!(out.code, 0, "{out:?}");
    std::path::PathBuf::from(out.last_line())
}

fn state_of<'a>(list: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    &list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no run {id} in {list}"))["state"]
}

#[test]
fn runs_lists_the_runs_of_two_workspaces_with_their_states() {
    let data = tempfile::tempdir().unwrap();
    let a = Workspace::new("[[tasks]]\nid = \"ok\"\ncommand = \"true\"\n");
    let b = Workspace::new("[[tasks]]\nid = \"bad\"\ncommand = \"exit 3\"\n");
    let a1 = init(&a, data.path(), "a1");
    let _a2 = init(&a, data.path(), "a2");
    let b1 = init(&b, data.path(), "b1");
    assert_eq!(a.ms(&["run", s(&a1)]).code, 0);
    assert_eq!(b.ms(&["run", s(&b1)]).code, 1);
    let all = runs(a.path(), data.path(), &[]);
    assert_eq!(all.as_array().unwrap().len(), 3, "{all}");
    assert_eq!(state_of(&all, "a1"), "COMPLETED");
    assert_eq!(state_of(&all, "a2"), "RUNNING");
    assert_eq!(state_of(&all, "b1"), "FAILED");
    let b1row = all
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "b1")
        .unwrap();
    assert_eq!(b1row["counts"]["FAILED"], 1, "{b1row}");
    assert!(b1row["last_activity"].is_i64(), "{b1row}");
    // One workspace's, and one state's.
    let only_a = runs(a.path(), data.path(), &[s(a.path())]);
    assert_eq!(only_a.as_array().unwrap().len(), 2, "{only_a}");
    let failed = runs(a.path(), data.path(), &["--status", "failed"]);
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    let bad = ms_env(
        a.path(),
        &["runs", "--status", "done"],
        &[("XDG_DATA_HOME", data.path())],
    );
    assert_eq!(bad.code, 2, "{bad:?}");
    assert!(bad.stderr.contains("COMPLETED"), "{bad:?}");
    // A run moved away by hand is MISSING, not a crash; the table says so.
    std::fs::rename(&b1, b.path().join("moved")).unwrap();
    let all = runs(a.path(), data.path(), &[]);
    assert_eq!(state_of(&all, "b1"), "MISSING");
    let table = ms_env(a.path(), &["runs"], &[("XDG_DATA_HOME", data.path())]);
    assert!(
        table.stdout.contains("MISSING") && table.stdout.contains("moved or deleted"),
        "{table:?}"
    );
    // A run the index does not know is found under a named workspace.
    std::fs::remove_file(data.path().join("matterstack/runs.jsonl")).unwrap();
    let found = runs(a.path(), data.path(), &[s(a.path())]);
    assert_eq!(found.as_array().unwrap().len(), 2, "{found}");
    let out = ms_env(
        a.path(),
        &["runs", "--forget-missing"],
        &[("XDG_DATA_HOME", data.path())],
    );
    assert_eq!(out.code, 0, "{out:?}");
}

#[test]
fn delete_remote_removes_only_this_runs_directories_on_the_cluster_and_locally() {
    let tb = testbed();
    let data = tempfile::tempdir().unwrap();
    let env = [("XDG_DATA_HOME", data.path())];
    let tasks = [
        slurm_task("done", "echo hi > out.txt", "outputs = [\"out.txt\"]"),
        slurm_task("long", "sleep 300", ""),
    ]
    .concat();
    let c = ClusterWs::plain(&tb, &tasks);
    // Another run, of another workspace, under the same roots and run id.
    let other = c.sharing(
        &tb,
        &slurm_task("keep", "echo keep > k.txt", "outputs = [\"k.txt\"]"),
    );
    let keep = init(&other.ws, data.path(), "same");
    assert_eq!(other.ws.ms(&["run", s(&keep), "--poll", "0.3"]).code, 0);
    let run = init(&c.ws, data.path(), "same");
    // "done" finishes, "long" is running on SLURM.
    assert!(wait_for(Duration::from_secs(60), || {
        c.ws.ms(&["step", s(&run)]);
        let st = crate::support::status(&run);
        crate::support::task_status(&st, "done")["status"] == "COMPLETED"
            && crate::support::task_status(&st, "long")["status"] == "RUNNING"
    }));
    let long = c
        .job_infos()
        .into_iter()
        .find(|i| i["task"] == "long")
        .unwrap();
    let long_dir = long["project_dir"].as_str().unwrap().to_string();
    let job = crate::support::task_status(&crate::support::status(&run), "long")["job"]
        .as_str()
        .unwrap()
        .to_string();
    let project = c.remote.path().join("project");
    let scratch = c.remote.path().join("scratch");
    let names = |root: &Path| -> Vec<String> {
        std::fs::read_dir(root)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(names(&project).len(), 2, "two runs on the cluster");

    // Without --yes and no terminal: refused, nothing changed.
    let out = ms_env(c.ws.path(), &["delete", s(&run), "--remote"], &env);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--yes"), "{out:?}");

    // The dry run lists exactly what would go and changes nothing.
    let dry = ms_env(
        c.ws.path(),
        &["delete", s(&run), "--remote", "--dry-run"],
        &env,
    );
    assert_eq!(dry.code, 0, "{dry:?}");
    assert!(dry.stdout.contains("would cancel long"), "{dry:?}");
    assert!(
        dry.stdout.contains(&format!("{long_dir} would be removed")),
        "{dry:?}"
    );
    assert!(Path::new(&long_dir).is_dir() && run.is_dir());
    assert!(
        slurm_state(&job).starts_with("RUNNING"),
        "{}",
        slurm_state(&job)
    );

    let out = ms_env(
        c.ws.path(),
        &["delete", s(&run), "--remote", "--yes", "--json"],
        &env,
    );
    assert_eq!(out.code, 0, "{out:?}");
    let report = out.json();
    assert_eq!(report["cancelled"], serde_json::json!(["long"]), "{report}");
    assert!(!run.exists(), "the local run is gone");
    assert!(wait_for(Duration::from_secs(30), || slurm_state(&job)
        .starts_with("CANCELLED")));
    // Nothing of the run is left on the cluster; the other run is untouched.
    let other_dirs = names(&project);
    assert_eq!(other_dirs.len(), 1, "{other_dirs:?} {report}");
    assert_eq!(names(&scratch).len(), 1, "{:?} {report}", names(&scratch));
    let infos = c.job_infos();
    assert_eq!(infos.len(), 1, "{infos:?}");
    assert_eq!(infos[0]["task"], "keep");
    assert!(Path::new(infos[0]["project_dir"].as_str().unwrap())
        .join("job_info.json")
        .is_file());
    // And it is no longer listed.
    let all = runs(c.ws.path(), data.path(), &[]);
    assert_eq!(all.as_array().unwrap().len(), 1, "{all}");
    assert_eq!(state_of(&all, "same"), "COMPLETED");
}

#[test]
fn archive_packs_a_finished_run_with_checksums_that_check() {
    let ws = Workspace::new(
        "[[tasks]]\nid = \"a\"\ncommand = \"echo hi > out.txt\"\n[[tasks]]\nid = \"slow\"\ncommand = \"sleep 30\"\n",
    );
    let run = ws.init("r");
    // A run with a live task is refused.
    assert_eq!(ws.ms(&["step", s(&run)]).code, 0);
    let out = ws.ms(&["archive", s(&run)]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("slow"), "{}", out.stderr);
    assert_eq!(ws.ms(&["cancel", s(&run), "slow"]).code, 0);
    assert_eq!(ws.ms(&["run", s(&run)]).code, 1);

    let out = ws.ms(&["archive", s(&run), "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let r = out.json();
    let file = std::path::PathBuf::from(r["file"].as_str().unwrap());
    assert_eq!(file, run.with_file_name("r.tar.gz"));
    let sum = std::fs::read_to_string(run.with_file_name("r.tar.gz.sha256")).unwrap();
    assert_eq!(
        sum,
        format!("{}  r.tar.gz\n", r["sha256"].as_str().unwrap())
    );
    // Unpacked elsewhere, every file checks against SHA256SUMS, evidence
    // included.
    let x = tempfile::tempdir().unwrap();
    let tar = std::process::Command::new("tar")
        .args(["-xzf", s(&file), "-C", s(x.path())])
        .status()
        .unwrap();
    assert!(tar.success());
    let root = x.path().join("r");
    assert!(root.join("evidence/evidence.json").is_file());
    assert_eq!(
        std::fs::read_to_string(root.join("tasks/a/out.txt")).unwrap(),
        "hi\n"
    );
    let check = std::process::Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(check.status.success(), "{check:?}");
    let listed = std::fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    assert_eq!(
        listed.lines().count() + 1,
        r["files"].as_u64().unwrap() as usize
    );
    // Not twice over the same file.
    assert_eq!(ws.ms(&["archive", s(&run)]).code, 2);
}

#[test]
fn archive_remove_remote_leaves_the_tarball_and_nothing_on_the_cluster() {
    let tb = testbed();
    let c = ClusterWs::plain(
        &tb,
        &slurm_task("j", "echo x > x.txt", "outputs = [\"x.txt\"]"),
    );
    let run = c.ws.init("arch");
    assert_eq!(c.ws.ms(&["run", s(&run), "--poll", "0.3"]).code, 0);
    let project = c.remote.path().join("project");
    assert_eq!(std::fs::read_dir(&project).unwrap().count(), 1);
    let out = c.ws.ms(&["archive", s(&run), "--remove-remote"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("removed"), "{out:?}");
    assert_eq!(std::fs::read_dir(&project).unwrap().count(), 0, "{out:?}");
    assert!(run.with_file_name("arch.tar.gz").is_file());
    assert!(run.join("tasks/j/x.txt").is_file(), "the local run is kept");
}
