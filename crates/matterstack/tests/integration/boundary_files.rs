//! Files that cross a boundary (issue 10, findings 1, 5, 6 and the file parts
//! of 12): links a job leaves, file references with `..`, links inside input
//! directories. One rule (`matterstack_core::files`): regular files and
//! directories only, never a link that leaves its root.

use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

use crate::support::{paths_under, s, status, task_status, Workspace};
use crate::testbed::{slurm_task, testbed, ClusterWs};

const SECRET: &str = "local secret 42";

/// A file outside every workspace, holding [`SECRET`].
fn secret_file() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("shadow"), SECRET).unwrap();
    std::fs::create_dir(d.path().join("victim")).unwrap();
    d
}

/// No file under `root` (links not followed) holds the secret.
fn assert_no_secret_under(root: &Path) {
    for p in paths_under(root) {
        let m = std::fs::symlink_metadata(&p).unwrap();
        if m.file_type().is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(SECRET),
                "{} holds the local secret",
                p.display()
            );
        }
    }
}

#[test]
fn f1_links_a_slurm_job_leaves_are_not_fetched_and_not_followed_downstream() {
    let tb = testbed();
    let outside = secret_file();
    let shadow = outside.path().join("shadow");
    let victim = outside.path().join("victim");
    let up = slurm_task(
        "up",
        &format!(
            "echo real > real.txt; ln -s {} x; ln -s {} leak",
            victim.display(),
            shadow.display()
        ),
        "",
    );
    let tasks = format!(
        "{up}\n[[tasks]]\nid = \"by_files_from\"\ncommand = \"cat leak\"\ndepends_on = [\"up\"]\nfiles_from = {{ up = [\"leak\"] }}\n\
         [[tasks]]\nid = \"by_ref\"\ncommand = \"cat {{{{ tasks.up.files['leak'] }}}}\"\n\
         [[tasks]]\nid = \"by_ref_dir\"\ncommand = \"cat {{{{ tasks.up.files['x'] }}}}\"\n"
    );
    let c = ClusterWs::plain(&tb, &tasks);
    let run = c.ws.init("f1");
    let out = c.ws.ms(&["run", s(&run)]);
    let st = status(&run);
    assert_eq!(
        task_status(&st, "up")["status"],
        "COMPLETED",
        "{out:?}\n{st}"
    );
    assert_eq!(
        std::fs::read_to_string(run.join("tasks/up/real.txt")).unwrap(),
        "real\n"
    );
    for name in ["x", "leak"] {
        assert!(
            std::fs::symlink_metadata(run.join("tasks/up").join(name)).is_err(),
            "the job's link {name} was fetched"
        );
    }
    let dropped = std::fs::read_to_string(run.join("tasks/up/.attempts/1/dropped")).unwrap();
    assert_eq!(
        dropped, "work/leak\nwork/x\n",
        "the attempt names what it dropped"
    );
    for t in ["by_files_from", "by_ref", "by_ref_dir"] {
        assert_eq!(task_status(&st, t)["status"], "FAILED", "{t}: {st}");
    }
    assert!(std::fs::read_dir(&victim).unwrap().next().is_none());
    let ev = c.ws.ms(&["export-evidence", s(&run)]);
    assert_eq!(ev.code, 0, "{ev:?}");
    assert_no_secret_under(&run);
}

#[test]
fn f1_a_local_tasks_link_to_a_local_file_is_not_taken_by_files_from_or_a_file_reference() {
    let outside = secret_file();
    let shadow = outside.path().join("shadow");
    let ws = Workspace::new(&format!(
        "[[tasks]]\nid = \"up\"\ncommand = \"ln -s {} leak; ln -s ../../../ loop; echo ok > ok.txt\"\n\
         [[tasks]]\nid = \"copy\"\ncommand = \"cat leak\"\ndepends_on = [\"up\"]\nfiles_from = {{ up = [\"leak\"] }}\n\
         [[tasks]]\nid = \"reference\"\ncommand = \"cat {{{{ tasks.up.files['leak'] }}}}\"\n\
         [[tasks]]\nid = \"fine\"\ncommand = \"cat ok.txt\"\ndepends_on = [\"up\"]\nfiles_from = {{ up = [\"ok.txt\"] }}\n",
        shadow.display()
    ));
    let run = ws.init("r");
    let out = ws.ms(&["run", s(&run)]);
    let st = status(&run);
    assert_eq!(
        task_status(&st, "fine")["status"],
        "COMPLETED",
        "{out:?}\n{st}"
    );
    for t in ["copy", "reference"] {
        let task = task_status(&st, t);
        assert_eq!(task["status"], "FAILED", "{t}: {st}");
    }
    let explain = ws.ms(&["explain", s(&run), "copy"]);
    assert!(
        explain.stdout.contains("regular file inside its directory"),
        "{explain:?}"
    );
    assert_eq!(ws.ms(&["export-evidence", s(&run)]).code, 0);
    assert_no_secret_under(&run);
}

#[test]
fn f5_a_file_reference_with_dotdot_or_an_absolute_path_is_refused_at_init() {
    for name in [
        "../../../../etc/shadow",
        "/etc/shadow",
        "sub/../../x",
        "~/.ssh/id_rsa",
    ] {
        let ws = Workspace::new(&format!(
            "[[tasks]]\nid = \"up\"\ncommand = \"true\"\n[[tasks]]\nid = \"down\"\ncommand = \"cat {{{{ tasks.up.files['{name}'] }}}}\"\n"
        ));
        let out = ws.ms(&["init", "."]);
        assert_eq!(out.code, 2, "{name}: {out:?}");
        assert!(
            out.stderr.contains("task \"down\"") && out.stderr.contains(name),
            "{name}: the error names the task and the value: {}",
            out.stderr
        );
        assert!(!ws.runs_dir_exists(), "{name}: nothing written");
    }
}

#[test]
fn f5_a_planners_file_reference_with_dotdot_is_rejected_and_pauses_the_campaign() {
    let ws = Workspace::new(
        "[run]\nplanner = \"sh plan.sh\"\n[[tasks]]\nid = \"up\"\ncommand = \"true\"\n",
    );
    ws.file(
        "plan.sh",
        r#"cat > /dev/null
echo '{"tasks": [{"id": "down", "command": "cat {{ tasks.up.files[\"../../../../etc/passwd\"] }}"}]}'
"#,
    );
    let run = ws.init("r");
    let _ = ws.ms(&["run", s(&run)]);
    let st = status(&run);
    assert_eq!(st["status"], "PAUSED", "{st}");
    let why = st["paused"].as_str().unwrap();
    assert!(
        why.contains("planner answer rejected") && why.contains("../../../../etc/passwd"),
        "{why}"
    );
    assert!(
        !run.join("tasks/down/passwd").exists(),
        "the planner's reference copied a file"
    );
}

#[test]
fn f6_a_link_inside_an_input_directory_that_leaves_the_workspace_is_refused_at_init() {
    let outside = secret_file();
    let ws = Workspace::new("[[tasks]]\nid = \"t\"\ncommand = \"ls data\"\ninputs = [\"data\"]\n");
    ws.file("data/ok.xyz", "1\n\nH 0 0 0\n");
    symlink(outside.path().join("shadow"), ws.path().join("data/shadow")).unwrap();
    let out = ws.ms(&["init", "."]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("inputs: \"data\"")
            && out.stderr.contains("shadow")
            && out.stderr.contains("outside"),
        "{}",
        out.stderr
    );
    assert!(!ws.runs_dir_exists());
}

#[test]
fn f6_a_link_loop_in_an_input_directory_exits_2_and_a_link_inside_is_copied_as_a_file() {
    let ws = Workspace::new(
        "[[tasks]]\nid = \"t\"\ncommand = \"cat data/alias\"\ninputs = [\"data\"]\n",
    );
    ws.file("data/sub/a.txt", "a\n");
    symlink("../..", ws.path().join("data/sub/up")).unwrap();
    let out = ws.ms(&["init", "."]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("loop"), "{}", out.stderr);
    assert!(!ws.runs_dir_exists());
    std::fs::remove_file(ws.path().join("data/sub/up")).unwrap();
    symlink("sub/a.txt", ws.path().join("data/alias")).unwrap();
    let run = ws.init("r");
    let copied = run.join("tasks/t/data/alias");
    assert!(std::fs::symlink_metadata(&copied).unwrap().is_file());
    assert_eq!(ws.ms(&["run", s(&run)]).code, 0);
}

#[test]
fn f12_non_utf8_input_names_are_refused_at_init_not_at_launch() {
    use std::os::unix::ffi::OsStrExt;
    let ws = Workspace::new("[[tasks]]\nid = \"t\"\ncommand = \"true\"\ninputs = [\"data\"]\n");
    ws.file("data/ok", "x");
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9.xyz");
    std::fs::write(ws.path().join("data").join(bad), "x").unwrap();
    let out = ws.ms(&["init", "."]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("not UTF-8"), "{}", out.stderr);
    assert!(!ws.runs_dir_exists());
}

#[test]
fn f12_a_sparse_input_is_copied_sparse() {
    let ws = Workspace::new("[[tasks]]\nid = \"t\"\ncommand = \"true\"\ninputs = [\"wfn.chk\"]\n");
    let f = std::fs::File::create(ws.path().join("wfn.chk")).unwrap();
    f.set_len(256 << 20).unwrap();
    drop(f);
    let run = ws.init("r");
    let m = std::fs::metadata(run.join("tasks/t/wfn.chk")).unwrap();
    assert_eq!(m.len(), 256 << 20);
    assert!(
        m.blocks() * 512 < 1 << 20,
        "a 256 MiB hole took {} bytes",
        m.blocks() * 512
    );
}

#[test]
fn f12_a_workspace_file_that_is_not_utf8_exits_2() {
    let ws = Workspace::new("");
    std::fs::write(
        ws.path().join("matterstack.toml"),
        b"[[tasks]]\nid = \"t\"\ncommand = \"echo \xff\"\n",
    )
    .unwrap();
    let out = ws.ms(&["init", "."]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("matterstack.toml") && out.stderr.contains("UTF-8"),
        "{}",
        out.stderr
    );
}
