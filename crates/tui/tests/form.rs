//! The new-task form on the shipped psi4/energy template: it validates on
//! every keystroke with the template crate's own checks (so it shows the
//! messages `init` gives), previews the input once valid, and drafts a
//! task `init` accepts.

use matterstack_core::app::templates::{new_run, TaskDraft};
use matterstack_templates::builtin;
use matterstack_tui::form::{FieldKind, Form, Outcome};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value};

fn key(f: &mut Form, code: KeyCode) -> Outcome {
    f.key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn type_text(f: &mut Form, text: &str) {
    for c in text.chars() {
        key(f, KeyCode::Char(c));
    }
}

/// Moves the focus to the field labelled `label`.
fn focus(f: &mut Form, label: &str) {
    for _ in 0..f.fields.len() {
        key(f, KeyCode::Up);
    }
    for _ in 0..f.fields.len() {
        if f.fields[f.at].label() == label {
            return;
        }
        key(f, KeyCode::Down);
    }
    panic!("no field {label}");
}

#[test]
fn a_bad_value_shows_the_templates_own_message_and_a_fixed_one_submits() {
    let t = builtin("psi4/energy").unwrap();
    let mut f = Form::new(t.clone(), vec!["testbed".into()]);
    assert!(
        f.errors.is_empty(),
        "the defaults are valid: {:?}",
        f.errors
    );
    assert!(
        f.preview
            .iter()
            .any(|(name, text)| name == "input.dat" && text.contains("cc-pvdz")),
        "{:?}",
        f.preview
    );
    focus(&mut f, "maxiter");
    for _ in 0..5 {
        key(&mut f, KeyCode::Backspace);
    }
    type_text(&mut f, "0");
    // The same words the template's check (and so `init`) gives.
    let mut bad = Map::new();
    bad.insert("maxiter".into(), Value::String("0".into()));
    let want = t.validate(&bad).unwrap_err().0.remove(0).message;
    assert_eq!(f.errors.get("maxiter"), Some(&want));
    assert!(f.preview.is_empty(), "no preview of an invalid input");
    // Ctrl-S does not submit while a value is wrong.
    let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
    assert_eq!(f.key(ctrl_s), Outcome::Editing);
    key(&mut f, KeyCode::Backspace);
    type_text(&mut f, "50");
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    // A select field cycles with ←/→ and ignores typing.
    focus(&mut f, "basis");
    let before = f.fields[f.at].text.clone();
    type_text(&mut f, "xyz");
    assert_eq!(f.fields[f.at].text, before);
    key(&mut f, KeyCode::Right);
    assert_ne!(f.fields[f.at].text, before);
    key(&mut f, KeyCode::Left);
    assert_eq!(f.fields[f.at].text, before);
    // The cluster field appears only for slurm.
    let cluster_shown = |f: &Form| {
        f.shown()
            .iter()
            .any(|i| matches!(f.fields[*i].kind, FieldKind::Cluster))
    };
    assert!(!cluster_shown(&f));
    focus(&mut f, "operator");
    key(&mut f, KeyCode::Right);
    assert!(cluster_shown(&f));
    let Outcome::Submit(draft) = f.key(ctrl_s) else {
        panic!("a valid form submits: {:?}", f.errors)
    };
    assert_eq!(draft.operator, "slurm");
    assert_eq!(draft.cluster.as_deref(), Some("testbed"));
    assert_eq!(draft.params["maxiter"], "50");
    assert_eq!(draft.template, "psi4/energy");
}

#[test]
fn a_bad_task_id_or_walltime_is_named() {
    let mut f = Form::new(builtin("xtb/opt").unwrap(), vec![]);
    focus(&mut f, "task id");
    type_text(&mut f, "/x");
    assert!(f.errors["task id"].contains("task id"), "{:?}", f.errors);
    focus(&mut f, "walltime");
    type_text(&mut f, "soon");
    assert!(
        f.errors["walltime"].starts_with("walltime \"soon\""),
        "{:?}",
        f.errors
    );
    // Slurm without a cluster profile says how to add one.
    focus(&mut f, "operator");
    key(&mut f, KeyCode::Right);
    assert!(f.errors["cluster"].contains("matterstack cluster add"));
}

#[test]
fn a_draft_becomes_a_workspace_and_a_run_that_init_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let mut params = Map::new();
    params.insert("maxiter".into(), Value::String("50".into()));
    let draft = TaskDraft {
        id: "water".into(),
        template: "psi4/energy".into(),
        params,
        sweep: Default::default(),
        inputs: Vec::new(),
        operator: "local".into(),
        cluster: None,
        cores: 2,
        walltime: Some("1h".into()),
        partition: None,
    };
    let run = new_run(&draft, dir.path(), None).unwrap();
    assert!(run.starts_with(dir.path().join("water-1/runs")));
    let toml = std::fs::read_to_string(dir.path().join("water-1/matterstack.toml")).unwrap();
    assert!(toml.contains("template = \"psi4/energy\""), "{toml}");
    // A draft init refuses leaves nothing behind, and says why as init does.
    let mut bad = draft.clone();
    bad.params
        .insert("maxiter".into(), Value::String("0".into()));
    let e = new_run(&bad, dir.path(), None).unwrap_err().to_string();
    assert!(e.contains("maxiter"), "{e}");
    assert!(!dir.path().join("water-2").exists());
}

#[test]
fn a_swept_parameter_makes_one_task_per_value_each_checked() {
    let t = builtin("psi4/energy").unwrap();
    let mut f = Form::new(t, vec![]);
    focus(&mut f, "maxiter");
    let ctrl = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    f.key(ctrl('w'));
    for _ in 0..5 {
        key(&mut f, KeyCode::Backspace);
    }
    type_text(&mut f, "0, 50");
    // Each value is checked on its own, with the template's words.
    assert!(
        f.errors["maxiter"].starts_with("0: value 0 is out of range"),
        "{:?}",
        f.errors
    );
    for _ in 0.."0, 50".len() {
        key(&mut f, KeyCode::Backspace);
    }
    type_text(&mut f, "20..60:20");
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    assert_eq!(f.points(), 3);
    let Outcome::Submit(draft) = f.key(ctrl('s')) else {
        panic!("{:?}", f.errors)
    };
    assert_eq!(
        draft.sweep["maxiter"],
        [Value::from(20), Value::from(40), Value::from(60)]
    );
    assert!(!draft.params.contains_key("maxiter"));
    // init makes one task per point.
    let dir = tempfile::tempdir().unwrap();
    let run = new_run(&draft, dir.path(), None).unwrap();
    let view = matterstack_core::app::Run::open(&run)
        .unwrap()
        .view()
        .unwrap();
    let ids: Vec<&str> = view.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(
        ids.iter().all(|i| i.starts_with("energy.maxiter-")),
        "{ids:?}"
    );
}

#[test]
fn structure_and_file_parameters_pick_files_where_the_tui_runs() {
    let water = "3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n";
    let files = vec![
        ("bad.xyz".to_string(), Some("not a structure".to_string())),
        ("conf.gro".to_string(), None),
        ("topol.top".to_string(), None),
        ("water.xyz".to_string(), Some(water.to_string())),
    ];
    let mut f = Form::new(builtin("psi4/energy").unwrap(), vec![]).with_files(files.clone());
    focus(&mut f, "Molecule");
    key(&mut f, KeyCode::Right);
    assert_eq!(f.fields[f.at].text, "@bad.xyz");
    assert!(f.errors.contains_key("Molecule"), "{:?}", f.errors);
    key(&mut f, KeyCode::Right);
    assert_eq!(f.fields[f.at].text, "@water.xyz");
    assert!(f.errors.is_empty(), "{:?}", f.errors);
    assert!(
        f.preview.iter().any(|(_, t)| t.contains("0.757")),
        "the preview holds the picked file's atoms: {:?}",
        f.preview
    );
    // A file parameter offers the files with its extensions and becomes an
    // input of the task.
    let mut f = Form::new(builtin("gromacs/em").unwrap(), vec![]).with_files(files);
    focus(&mut f, "topology");
    key(&mut f, KeyCode::Right);
    assert_eq!(f.fields[f.at].text, "topol.top");
    let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
    let Outcome::Submit(draft) = f.key(ctrl_s) else {
        panic!("{:?}", f.errors)
    };
    assert_eq!(draft.inputs, ["conf.gro", "topol.top"]);
}

#[test]
fn partitions_come_from_the_probe_and_a_task_can_go_into_an_existing_workspace() {
    let mut parts = std::collections::BTreeMap::new();
    parts.insert(
        "testbed".to_string(),
        vec![
            (
                "debug".to_string(),
                "no time limit; 1 node(s) of 2 CPUs".to_string(),
            ),
            (
                "short".to_string(),
                "at most 00:10:00; 1 node(s) of 2 CPUs".to_string(),
            ),
        ],
    );
    let mut f = Form::new(builtin("xtb/sp").unwrap(), vec!["testbed".into()])
        .with_partitions(parts)
        .with_targets(vec!["/home/ana/ws".into()]);
    let partition_shown = |f: &Form| {
        f.shown()
            .iter()
            .any(|i| matches!(f.fields[*i].kind, FieldKind::Partition))
    };
    assert!(!partition_shown(&f), "no partition for a local task");
    focus(&mut f, "operator");
    key(&mut f, KeyCode::Right);
    assert!(partition_shown(&f));
    focus(&mut f, "partition");
    assert_eq!(
        f.fields[f.at].text, "",
        "the profile's partition by default"
    );
    key(&mut f, KeyCode::Right);
    key(&mut f, KeyCode::Right);
    assert_eq!(f.fields[f.at].text, "short");
    assert!(f.help_at().contains("at most 00:10:00"), "{}", f.help_at());
    assert_eq!(f.target(), None, "a new workspace by default");
    focus(&mut f, "write to");
    key(&mut f, KeyCode::Right);
    assert_eq!(
        f.target().as_deref(),
        Some(std::path::Path::new("/home/ana/ws"))
    );
    let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
    let Outcome::Submit(draft) = f.key(ctrl_s) else {
        panic!("{:?}", f.errors)
    };
    assert_eq!(draft.partition.as_deref(), Some("short"));
}

#[test]
fn adding_to_a_workspace_keeps_it_valid_or_changes_nothing() {
    let ws = tempfile::tempdir().unwrap();
    let file = ws.path().join("matterstack.toml");
    let before = "# my study\n[[tasks]]\nid = \"prep\"\ncommand = \"true\"\n";
    std::fs::write(&file, before).unwrap();
    let draft = TaskDraft {
        id: "sp".into(),
        template: "xtb/sp".into(),
        params: Map::new(),
        sweep: Default::default(),
        inputs: Vec::new(),
        operator: "local".into(),
        cluster: None,
        cores: 1,
        walltime: None,
        partition: None,
    };
    matterstack_core::app::templates::add_to_workspace(&draft, ws.path()).unwrap();
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(
        after.starts_with(before),
        "the file as it was, then the task"
    );
    let run = matterstack_core::app::init(ws.path(), &Default::default()).unwrap();
    let view = matterstack_core::app::Run::open(&run)
        .unwrap()
        .view()
        .unwrap();
    assert_eq!(view.tasks.len(), 2);
    // The same id again: refused, the file untouched.
    let e = matterstack_core::app::templates::add_to_workspace(&draft, ws.path())
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"sp\""), "{e}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), after);
}
