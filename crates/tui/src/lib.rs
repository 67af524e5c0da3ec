//! `matterstack tui`: the terminal face. It holds only UI state
//! ([`state::App`], pure and tested without a terminal); every action is a
//! call of `matterstack_core::app` that the CLI also has, made on an IO
//! thread ([`worker`]); drawing ([`ui`]) is a pure function of the state.
//! The runs shown are driven by the embedded driver unless `--no-drive`.

pub mod form;
pub mod keys;
pub mod state;
pub mod ui;
pub mod worker;

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use matterstack_core::app::driver::{Driver, DriverEvent, DriverOptions};
use matterstack_core::app::runs;
use matterstack_core::operators::link::Reachability;
use ratatui::crossterm::event::{self, Event, KeyEventKind};

use state::{App, Command, Update};

/// How the TUI starts.
#[derive(Debug, Clone)]
pub struct Options {
    /// Runs and workspaces to show (all indexed runs when empty).
    pub targets: Vec<PathBuf>,
    /// Drive the runs shown (the embedded driver).
    pub drive: bool,
    /// The driver's pass interval.
    pub poll: Duration,
    /// Draw in colour.
    pub color: bool,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs the TUI until the user quits.
///
/// Fails with a user error for a target that is neither a run nor a
/// workspace, or when the terminal cannot be used.
pub fn run(opts: Options) -> Result<(), Box<dyn std::error::Error>> {
    let drive_dirs = runs::targets(&opts.targets)?;
    let (workspaces, run_dirs): (Vec<PathBuf>, Vec<PathBuf>) = opts
        .targets
        .iter()
        .filter_map(|p| p.canonicalize().ok())
        .partition(|p| !p.join(matterstack_core::app::STATE_FILE).is_file());
    let (utx, urx) = mpsc::channel::<Update>();
    let driver = if opts.drive {
        let mut d = Driver::new(DriverOptions {
            poll: opts.poll,
            forever: true,
            ..DriverOptions::default()
        });
        for dir in &drive_dirs {
            d.add_dir(dir, None)?;
        }
        let handle = d.handle();
        let tx = utx.clone();
        std::thread::spawn(move || {
            d.drive(|e| {
                let u = match e {
                    DriverEvent::Failed { run, error } => {
                        Some(Update::Error(format!("{}: {error}", run.run)))
                    }
                    DriverEvent::Cluster { link } => match &link.reachability {
                        Reachability::Unreachable { error, .. } => Some(Update::Error(format!(
                            "cluster {} UNREACHABLE: {}",
                            link.cluster,
                            error.lines().next().unwrap_or("")
                        ))),
                        Reachability::Reachable { .. } => {
                            Some(Update::Info(format!("cluster {} reachable", link.cluster)))
                        }
                        Reachability::Unknown => None,
                    },
                    _ => None,
                };
                if let Some(u) = u {
                    let _ = tx.send(u);
                }
            });
        });
        Some(handle)
    } else {
        None
    };
    let (ctx, crx) = mpsc::channel::<Command>();
    let scope = worker::Scope {
        workspaces,
        runs: run_dirs.clone(),
        driver: driver.clone(),
    };
    let wtx = utx.clone();
    std::thread::spawn(move || worker::work(scope, crx, wtx));

    let mut app = App::new(now_ms());
    let mut first = vec![Command::ListRuns];
    if let [only] = run_dirs.as_slice() {
        first.extend(app.open(only.clone()));
    }
    for c in first {
        let _ = ctx.send(c);
    }
    let look = ui::Look { color: opts.color };
    let mut terminal = ratatui::init();
    let mut last_tick = Instant::now();
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        while !app.quit {
            app.now_ms = now_ms();
            terminal.draw(|f| ui::draw(f, &app, look))?;
            if event::poll(Duration::from_millis(100))? {
                if let Event::Key(k) = event::read()? {
                    if k.kind == KeyEventKind::Press {
                        for c in app.key(k) {
                            match c {
                                Command::Connect(name) => {
                                    ratatui::restore();
                                    let msg = connect(&name);
                                    terminal = ratatui::init();
                                    terminal.clear()?;
                                    app.update(msg);
                                }
                                c => {
                                    let _ = ctx.send(c);
                                }
                            }
                        }
                    }
                }
            }
            while let Ok(u) = urx.try_recv() {
                app.update(u);
            }
            for c in app.take_pending() {
                let _ = ctx.send(c);
            }
            if last_tick.elapsed() >= Duration::from_secs(1) {
                last_tick = Instant::now();
                for c in app.tick() {
                    let _ = ctx.send(c);
                }
            }
        }
        Ok(())
    })();
    ratatui::restore();
    if let Some(d) = driver {
        d.stop();
    }
    result
}

/// Opens the master connection to `name` in the plain terminal (ssh may
/// ask for a password or a 2FA code), then hands the screen back.
fn connect(name: &str) -> Update {
    use matterstack_core::app::clusters;
    let profile = match clusters::load(Some(std::path::Path::new(".")))
        .and_then(|all| clusters::get(&all, name))
    {
        Ok(p) => p,
        Err(e) => return Update::Error(e.to_string()),
    };
    let cmd = matterstack_core::transport::SshTransport::new(&profile).master_command();
    println!("connecting to {name}: {cmd}");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(&cmd)
        .status();
    match status {
        Ok(s) if s.success() => Update::Info(format!("connected to {name}: the master is open")),
        Ok(s) => Update::Error(format!("connecting to {name} failed ({s})")),
        Err(e) => Update::Error(format!("cannot run ssh: {e}")),
    }
}
