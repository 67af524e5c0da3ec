//! Time to draw one frame of the tasks screen (160×48) and to apply 1,000
//! change-feed updates, for a run of N tasks (built in memory). Run by
//! `bench/tui_frame.sh`; prints milliseconds and the ratio to the 16 ms
//! frame budget.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use matterstack_core::app::changes::{Change, ChangeKind};
use matterstack_core::app::live::LiveRun;
use matterstack_core::app::{RunView, TaskState, TaskView};
use matterstack_core::engine::RunState;
use matterstack_tui::state::{App, Update};
use matterstack_tui::ui::{draw, Look};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    println!(
        "{:>8}  {:>10}  {:>10}  {:>14}  {:>10}",
        "tasks", "frame ms", "÷ 16 ms", "1,000 changes", "per change"
    );
    for n in sizes {
        let tasks: Vec<TaskView> = (0..n)
            .map(|i| TaskView {
                id: format!("t{i}"),
                status: if i % 3 == 0 {
                    TaskState::Completed
                } else {
                    TaskState::Running
                },
                attempts: 1,
                exit_code: None,
                reason: None,
                results: None,
                lineage: None,
                job: Some(format!("{}", 10_000 + i)),
                queue: None,
                last_job: None,
                elapsed_ms: None,
                started_at: Some(1_000),
                ended_at: None,
            })
            .collect();
        let mut counts: BTreeMap<TaskState, u64> = BTreeMap::new();
        for t in &tasks {
            *counts.entry(t.status).or_default() += 1;
        }
        let view = RunView {
            run: "bench".into(),
            status: RunState::Running,
            counts,
            dir: "/bench".into(),
            workspace: "/".into(),
            cores: 2,
            paused: None,
            tasks,
        };
        let mut app = App::new(100_000);
        let _ = app.open(PathBuf::from("/bench"));
        app.update(Update::Opened(
            PathBuf::from("/bench"),
            Box::new(LiveRun::from_view(view, 0)),
        ));
        app.tasks_at = n / 2;
        let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
        let look = Look { color: true };
        term.draw(|f| draw(f, &app, look)).unwrap();
        let frames = 50;
        let t = Instant::now();
        for _ in 0..frames {
            term.draw(|f| draw(f, &app, look)).unwrap();
        }
        let frame_ms = t.elapsed().as_secs_f64() * 1000.0 / frames as f64;
        let changes: Vec<Change> = (0..1000)
            .map(|i| Change {
                id: i + 1,
                at: 2_000,
                task: format!("t{}", (i as usize * 97) % n),
                change: ChangeKind::Task {
                    status: TaskState::Completed,
                    reason: None,
                },
            })
            .collect();
        let t = Instant::now();
        app.update(Update::Changes(PathBuf::from("/bench"), changes));
        let apply_ms = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "{n:>8}  {frame_ms:>10.2}  {:>10.2}  {apply_ms:>11.2} ms  {:>7.1} µs",
            frame_ms / 16.0,
            apply_ms * 1000.0 / 1000.0
        );
    }
}
