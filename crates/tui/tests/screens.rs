//! Every screen rendered with ratatui's TestBackend at 80×24 and 160×48
//! (insta snapshots under `snapshots/`), and the key handling of the state
//! machine without rendering.

use std::collections::BTreeMap;
use std::path::PathBuf;

use matterstack_core::app::changes::{Change, ChangeKind};
use matterstack_core::app::clusters::{ClusterView, QueueJob};
use matterstack_core::app::graph::Graph;
use matterstack_core::app::live::LiveRun;
use matterstack_core::app::runs::{RunListState, RunSummary};
use matterstack_core::app::{
    AttemptState, AttemptView, Explanation, QueueView, RunView, TaskState, TaskView,
};
use matterstack_core::engine::RunState;
use matterstack_core::model::cluster::Scheduler;
use matterstack_core::operators::link::Reachability;
use matterstack_tui::state::{App, Bulk, Command, Modal, Stream, Tab, Update};
use matterstack_tui::ui::{draw, Look};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

/// 2026-12-04 04:00:00 UTC: the clock of every test.
const NOW: i64 = 1_796_356_800_000;

fn task(id: &str, status: TaskState) -> TaskView {
    TaskView {
        id: id.into(),
        status,
        attempts: u32::from(status != TaskState::Pending),
        exit_code: None,
        reason: None,
        results: None,
        lineage: None,
        job: None,
        queue: None,
        last_job: None,
        elapsed_ms: None,
        started_at: None,
        ended_at: None,
    }
}

fn run_view() -> RunView {
    let mut tasks = vec![
        task("water-opt", TaskState::Completed),
        task("water-freq", TaskState::Running),
        task("dimer-cp", TaskState::Queued),
        task("sleep-1", TaskState::Running),
        task("sleep-2", TaskState::Running),
        task("sleep-3", TaskState::Running),
        task("bad-basis", TaskState::Failed),
        task("report", TaskState::Pending),
    ];
    tasks[0].results = Some(serde_json::json!({
        "program": "psi4", "version": "1.9.1", "final_energy": -76.026632, "energy_unit": "Eh",
        "converged": true, "normal_termination": true, "partial": false, "wall_time_s": 3.2,
        "series": {"scf": {"columns": ["iteration", "energy", "delta_e"], "units": ["", "Eh", "Eh"],
            "rows": [[1, -75.9, 0.1], [2, -76.01, 0.01], [3, -76.0264, 0.001], [4, -76.026632, 0.00001]]}}
    }));
    tasks[0].last_job = Some("4211".into());
    tasks[0].started_at = Some(NOW - 200_000);
    tasks[0].ended_at = Some(NOW - 100_000);
    tasks[1].job = Some("4212".into());
    tasks[1].started_at = Some(NOW - 65_000);
    tasks[2].job = Some("4213".into());
    tasks[2].queue = Some(QueueView {
        job: Some("4213".into()),
        reason: Some("Priority".into()),
        since: NOW - 30_000,
        never: false,
    });
    for (i, t) in tasks.iter_mut().enumerate().skip(3).take(3) {
        t.job = Some(format!("{}", 5000 + i));
        t.started_at = Some(NOW - 10_000);
    }
    tasks[6].reason = Some("psi4: basis set cc-pvxz not found\nexit code 1".into());
    tasks[6].exit_code = Some(1);
    tasks[6].attempts = 2;
    tasks[6].lineage = Some("attempt 2 (retry of 1)".into());
    let mut counts: BTreeMap<TaskState, u64> = TaskState::ALL.iter().map(|s| (*s, 0)).collect();
    for t in &tasks {
        *counts.get_mut(&t.status).unwrap() += 1;
    }
    RunView {
        run: "water-study".into(),
        status: RunState::Running,
        counts,
        dir: "/home/ana/ws/runs/water-study".into(),
        workspace: "/home/ana/ws".into(),
        cores: 4,
        paused: None,
        tasks,
    }
}

fn graph() -> Graph {
    let t = |id: &str, deps: &[&str]| {
        (
            id.to_string(),
            "local".to_string(),
            deps.iter().map(|d| d.to_string()).collect(),
        )
    };
    Graph::layered(vec![
        t("water-opt", &[]),
        t("water-freq", &["water-opt"]),
        t("dimer-cp", &["water-opt"]),
        t("sleep-1", &[]),
        t("sleep-2", &[]),
        t("sleep-3", &[]),
        t("bad-basis", &[]),
        t("report", &["water-freq", "dimer-cp", "bad-basis"]),
    ])
}

fn summaries() -> Vec<RunSummary> {
    let counts = |c: &[(TaskState, u64)]| c.iter().copied().collect();
    vec![
        RunSummary {
            id: "water-study".into(),
            dir: PathBuf::from("/home/ana/ws/runs/water-study"),
            workspace: PathBuf::from("/home/ana/ws"),
            created: NOW - 3_600_000,
            state: RunListState::Running,
            counts: counts(&[
                (TaskState::Completed, 1),
                (TaskState::Running, 4),
                (TaskState::Queued, 1),
                (TaskState::Failed, 1),
                (TaskState::Pending, 1),
            ]),
            last_activity: Some(NOW - 5_000),
            clusters: vec!["hpc".into()],
            problem: None,
        },
        RunSummary {
            id: "md-npt".into(),
            dir: PathBuf::from("/home/ana/md/runs/md-npt"),
            workspace: PathBuf::from("/home/ana/md"),
            created: NOW - 86_400_000,
            state: RunListState::Completed,
            counts: counts(&[(TaskState::Completed, 12)]),
            last_activity: Some(NOW - 7_200_000),
            clusters: vec![],
            problem: None,
        },
    ]
}

fn clusters() -> Vec<ClusterView> {
    vec![
        ClusterView {
            name: "hpc".into(),
            destination: "ana@login.hpc.example:22".into(),
            scheduler: Scheduler::Slurm,
            partition: Some("compute".into()),
            max_jobs: 100,
            commands_per_second: 2.0,
            reachability: Reachability::Reachable { at: NOW - 4_000 },
            commands: 57,
            probed: true,
            probe: Some(matterstack_core::model::cluster::Probe {
                at: "2026-12-03T09:00:00Z".into(),
                partitions: vec![
                    matterstack_schedulers::slurm::PartitionLimits {
                        name: "compute".into(),
                        default: true,
                        max_time_s: Some(172_800),
                        nodes: 120,
                        cpus_per_node: 64,
                        memory_mb_per_node: 256_000,
                        gres: None,
                        up: true,
                    },
                    matterstack_schedulers::slurm::PartitionLimits {
                        name: "gpu".into(),
                        default: false,
                        max_time_s: Some(86_400),
                        nodes: 8,
                        cpus_per_node: 32,
                        memory_mb_per_node: 512_000,
                        gres: Some("gpu:a100:4".into()),
                        up: true,
                    },
                ],
                qos: vec!["normal".into(), "long".into()],
                accounts: vec!["chem-group".into()],
                modules: vec![],
            }),
        },
        ClusterView {
            name: "old".into(),
            destination: "ana@old.example:2223".into(),
            scheduler: Scheduler::Slurm,
            partition: None,
            max_jobs: 20,
            commands_per_second: 1.0,
            reachability: Reachability::Unreachable {
                since: NOW - 60_000,
                failures: 4,
                error: "connection refused".into(),
            },
            commands: 4,
            probed: false,
            probe: None,
        },
    ]
}

const DIR: &str = "/home/ana/ws/runs/water-study";

/// The TUI on the tasks of the example run (everything loaded).
fn on_tasks() -> App {
    let mut app = App::new(NOW);
    app.update(Update::Runs(summaries()));
    let cmds = app.open(PathBuf::from(DIR));
    assert_eq!(cmds, [Command::Open(PathBuf::from(DIR))]);
    app.update(Update::Opened(
        PathBuf::from(DIR),
        Box::new(LiveRun::from_view(run_view(), 100)),
    ));
    app.update(Update::Graph(PathBuf::from(DIR), graph()));
    app.update(Update::Clusters(clusters()));
    app
}

fn press(app: &mut App, keys: &str) -> Vec<Command> {
    let mut out = Vec::new();
    for c in keys.chars() {
        out.extend(app.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)));
    }
    out
}

fn code(app: &mut App, code: KeyCode) -> Vec<Command> {
    app.key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, app, Look { color: false })).unwrap();
    t.backend().to_string()
}

fn snap(name: &str, app: &App) {
    insta::assert_snapshot!(format!("{name}_80x24"), render(app, 80, 24));
    insta::assert_snapshot!(format!("{name}_160x48"), render(app, 160, 48));
}

fn explanation() -> Explanation {
    Explanation {
        task: "bad-basis".into(),
        status: TaskState::Failed,
        queue: None,
        reasons: vec!["attempt 2 failed: psi4: basis set cc-pvxz not found (exit code 1)".into()],
        attempts: vec![
            AttemptView {
                n: 1,
                status: AttemptState::Failed,
                external_id: Some("4100".into()),
                reason: Some("psi4: basis set cc-pvxz not found".into()),
                lineage: "run".into(),
                resources: None,
            },
            AttemptView {
                n: 2,
                status: AttemptState::Failed,
                external_id: Some("4190".into()),
                reason: Some("psi4: basis set cc-pvxz not found".into()),
                lineage: "retry of 1".into(),
                resources: None,
            },
        ],
        lineage: vec!["run".into(), "retry of 1".into()],
    }
}

#[test]
fn every_screen_renders() {
    let mut app = App::new(NOW);
    snap("runs_empty", &app);
    app.update(Update::Runs(summaries()));
    snap("runs", &app);

    let mut app = on_tasks();
    snap("tasks", &app);
    press(&mut app, "jjj j v");
    snap("tasks_selected", &app);
    let mut app = on_tasks();
    press(&mut app, "/fail");
    snap("tasks_filter_typing", &app);
    code(&mut app, KeyCode::Enter);
    snap("tasks_filtered", &app);

    let mut app = on_tasks();
    press(&mut app, "jjjjjj");
    code(&mut app, KeyCode::Enter);
    app.update(Update::Explained(
        "bad-basis".into(),
        Box::new(explanation()),
    ));
    let spec: matterstack_core::model::TaskSpec = serde_json::from_value(serde_json::json!({
        "id": "bad-basis", "template": "psi4/energy", "command": "psi4 -n 4 input.dat output.dat",
        "operator": "slurm", "cluster": "hpc", "cores": 4, "walltime": "01:00:00",
        "params": {"basis": "cc-pvxz", "molecule": "3\nwater\nO 0 0 0\nH 0 0 1\nH 0 1 0\n"}
    }))
    .unwrap();
    app.update(Update::Spec("bad-basis".into(), Box::new(spec)));
    snap("detail_overview", &app);
    code(&mut app, KeyCode::Tab);
    app.update(Update::Log {
        task: "bad-basis".into(),
        stream: Stream::Stdout,
        text: (1..=40)
            .map(|i| {
                if i == 12 {
                    "  Error: basis set cc-pvxz not found\n".to_string()
                } else {
                    format!("  iteration {i}: energy -76.0{i:02}\n")
                }
            })
            .collect(),
    });
    snap("detail_logs", &app);
    press(&mut app, "/error");
    code(&mut app, KeyCode::Enter);
    snap("detail_logs_search", &app);
    code(&mut app, KeyCode::Tab);
    snap("detail_results_none", &app);
    code(&mut app, KeyCode::Tab);
    snap("detail_attempts", &app);

    let mut app = on_tasks();
    code(&mut app, KeyCode::Enter);
    press(&mut app, "\t");
    code(&mut app, KeyCode::Tab);
    code(&mut app, KeyCode::Tab);
    assert_eq!(app.tab, Tab::Results);
    snap("detail_results_series", &app);

    let mut app = on_tasks();
    press(&mut app, "d");
    snap("dag", &app);
    let mut app = on_tasks();
    press(&mut app, "C");
    snap("clusters", &app);
    let mut app = on_tasks();
    press(&mut app, "?");
    snap("help_tasks", &app);
    let mut app = on_tasks();
    press(&mut app, "jjj jjv");
    press(&mut app, "c");
    snap("confirm_cancel", &app);

    // The queue of a cluster, across runs.
    let mut app = on_tasks();
    press(&mut app, "C");
    let cmds = press(&mut app, "Q");
    assert_eq!(cmds, [Command::Queue("hpc".into())]);
    let job = |id: &str, state: &str, reason: Option<&str>, ours: bool, never: bool| QueueJob {
        job: id.into(),
        state: state.into(),
        reason: reason.map(str::to_string),
        elapsed_secs: (state == "RUNNING").then_some(125),
        time_limit_secs: Some(3600),
        name: if ours {
            format!("ms-{id}-tok")
        } else {
            "my-own-script".into()
        },
        ours,
        never,
    };
    app.update(Update::Queue(
        "hpc".into(),
        vec![
            job("4212", "RUNNING", None, true, false),
            job("4213", "PENDING", Some("Priority"), true, false),
            job("4300", "PENDING", Some("PartitionTimeLimit"), true, true),
            job("5001", "RUNNING", None, false, false),
        ],
    ));
    snap("queue", &app);

    // A task's files.
    let mut app = on_tasks();
    code(&mut app, KeyCode::Enter);
    for _ in 0..3 {
        code(&mut app, KeyCode::Tab);
    }
    assert_eq!(app.tab, Tab::Files);
    app.update(Update::Files(
        "water-opt".into(),
        vec![
            ("input.dat".into(), 412),
            ("output.dat".into(), 18_233),
            ("results.json".into(), 960),
        ],
    ));
    snap("detail_files", &app);

    // New task: the template picker, then the form with a bad value.
    let mut app = on_tasks();
    let cmds = press(&mut app, "n");
    assert_eq!(cmds, [Command::Templates, Command::Clusters]);
    app.update(Update::Templates(matterstack_templates::library::list(&[])));
    press(&mut app, "/psi4/en");
    code(&mut app, KeyCode::Enter);
    snap("new_pick", &app);
    let cmds = code(&mut app, KeyCode::Enter);
    assert_eq!(cmds, [Command::Template("psi4/energy".into())]);
    app.update(Update::Template(
        Box::new(matterstack_templates::builtin("psi4/energy").unwrap()),
        Vec::new(),
    ));
    snap("new_form", &app);
    for _ in 0..8 {
        code(&mut app, KeyCode::Down);
    }
    for _ in 0..3 {
        code(&mut app, KeyCode::Backspace);
    }
    press(&mut app, "0");
    snap("new_form_invalid", &app);
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), matterstack_tui::keys::Screen::Pick);
}

#[test]
fn select_three_and_cancel_asks_then_acts_on_exactly_those() {
    let mut app = on_tasks();
    assert!(press(&mut app, "jjj ").is_empty());
    press(&mut app, "jj");
    press(&mut app, "v");
    assert_eq!(
        app.selected.iter().cloned().collect::<Vec<_>>(),
        ["sleep-1", "sleep-2", "sleep-3"]
    );
    assert!(press(&mut app, "c").is_empty(), "nothing happens before y");
    assert!(matches!(
        app.modal,
        Some(Modal::Confirm {
            bulk: Bulk::Cancel,
            ..
        })
    ));
    // Other keys do not answer the question.
    assert!(press(&mut app, "jq").is_empty());
    assert!(!app.quit);
    let cmds = press(&mut app, "y");
    assert_eq!(
        cmds,
        [Command::Act {
            run: PathBuf::from(DIR),
            bulk: Bulk::Cancel,
            tasks: vec!["sleep-1".into(), "sleep-2".into(), "sleep-3".into()],
        }]
    );
    assert!(app.selected.is_empty());
}

#[test]
fn n_in_a_confirmation_does_nothing() {
    let mut app = on_tasks();
    press(&mut app, "r");
    assert!(press(&mut app, "n").is_empty());
    assert!(app.modal.is_none());
}

#[test]
fn restart_asks_for_a_walltime_then_confirms() {
    let mut app = on_tasks();
    press(&mut app, "jjjjjj");
    assert!(press(&mut app, "R").is_empty());
    assert!(matches!(app.modal, Some(Modal::Walltime { .. })));
    press(&mut app, "2h cores=x");
    code(&mut app, KeyCode::Enter);
    assert!(
        app.message
            .as_ref()
            .is_some_and(|m| m.1 && m.0.contains("cores")),
        "{:?}",
        app.message
    );
    for _ in 0.."x".len() {
        code(&mut app, KeyCode::Backspace);
    }
    press(&mut app, "4");
    code(&mut app, KeyCode::Enter);
    let cmds = press(&mut app, "y");
    assert_eq!(
        cmds,
        [Command::Act {
            run: PathBuf::from(DIR),
            bulk: Bulk::Restart {
                walltime: Some("2h".into()),
                cores: Some(4),
            },
            tasks: vec!["bad-basis".into()],
        }]
    );
}

#[test]
fn filter_applies_on_enter_and_esc_clears_it() {
    let mut app = on_tasks();
    press(&mut app, "/running");
    code(&mut app, KeyCode::Enter);
    let shown: Vec<&str> = app
        .visible()
        .iter()
        .map(|i| app.tasks()[*i].id.as_str())
        .collect();
    assert_eq!(shown, ["water-freq", "sleep-1", "sleep-2", "sleep-3"]);
    press(&mut app, "*");
    assert_eq!(app.selected.len(), 4);
    code(&mut app, KeyCode::Esc);
    assert!(app.filter.is_empty() && app.selected.is_empty());
    assert_eq!(app.visible().len(), 8);
    press(&mut app, "/sleep-2");
    code(&mut app, KeyCode::Esc);
    assert!(app.filter.is_empty(), "Esc while typing clears the filter");
}

#[test]
fn a_change_from_the_feed_moves_a_task_and_its_counts() {
    let mut app = on_tasks();
    let change = |id: i64, task: &str, change: ChangeKind| Change {
        id,
        at: NOW,
        task: task.into(),
        change,
    };
    app.update(Update::Changes(
        PathBuf::from(DIR),
        vec![
            change(
                101,
                "dimer-cp",
                ChangeKind::Attempt {
                    n: 1,
                    status: AttemptState::Running,
                    job: Some("4213".into()),
                    detail: None,
                },
            ),
            change(
                102,
                "water-freq",
                ChangeKind::Task {
                    status: TaskState::Completed,
                    reason: None,
                },
            ),
        ],
    ));
    let live = app.run.as_ref().unwrap().live.as_ref().unwrap();
    let st = |id: &str| live.view.tasks.iter().find(|t| t.id == id).unwrap().status;
    assert_eq!(st("dimer-cp"), TaskState::Running);
    assert_eq!(st("water-freq"), TaskState::Completed);
    assert_eq!(live.view.counts[&TaskState::Queued], 0);
    assert_eq!(live.view.counts[&TaskState::Completed], 2);
    assert_eq!(live.cursor, 102);
}

#[test]
fn logs_open_follow_and_search() {
    let mut app = on_tasks();
    press(&mut app, "j");
    let cmds = press(&mut app, "l");
    assert!(cmds.contains(&Command::Log {
        run: PathBuf::from(DIR),
        task: "water-freq".into(),
        stream: Stream::Stdout,
    }));
    assert_eq!(app.tab, Tab::Logs);
    // A running task's followed log is read again on each tick.
    assert_eq!(app.tick().len(), 1);
    app.update(Update::Log {
        task: "water-freq".into(),
        stream: Stream::Stdout,
        text: "a\nneedle one\nb\nneedle two\n".into(),
    });
    press(&mut app, "/needle");
    code(&mut app, KeyCode::Enter);
    assert_eq!((app.log.follow, app.log.top), (false, 1));
    press(&mut app, "n");
    assert_eq!(app.log.top, 3);
    press(&mut app, "n");
    assert_eq!(app.log.top, 1, "wraps to the first match");
    assert!(app.tick().is_empty(), "not followed: not read again");
    let cmds = press(&mut app, "s");
    assert!(matches!(
        cmds.as_slice(),
        [Command::Log {
            stream: Stream::Stderr,
            ..
        }]
    ));
    code(&mut app, KeyCode::Esc);
    code(&mut app, KeyCode::Esc);
    assert_eq!(app.screen(), matterstack_tui::keys::Screen::Runs);
}

#[test]
fn enter_on_a_run_opens_it_and_q_quits_everywhere() {
    let mut app = App::new(NOW);
    app.update(Update::Runs(summaries()));
    press(&mut app, "j");
    let cmds = code(&mut app, KeyCode::Enter);
    assert_eq!(
        cmds,
        [Command::Open(PathBuf::from("/home/ana/md/runs/md-npt"))]
    );
    press(&mut app, "q");
    assert!(app.quit);
}
