//! What the TUI holds: screens, cursors, filters, selections, and the data
//! last received. Pure: keys go in, [`Command`]s (work for the IO thread)
//! come out; [`Update`]s (what the IO thread found) go in. Nothing here
//! reads a file or a socket, so a slow cluster never stalls a key.

use std::collections::BTreeSet;
use std::path::PathBuf;

use matterstack_core::app::changes::Change;
use matterstack_core::app::clusters::{ClusterView, QueueJob};
use matterstack_core::app::graph::Graph;
use matterstack_core::app::live::LiveRun;
use matterstack_core::app::runs::RunSummary;
use matterstack_core::app::{Explanation, TaskState, TaskView};
use matterstack_core::model::TaskSpec;
use ratatui::crossterm::event::{KeyCode, KeyEvent};

use crate::form::{Form, Outcome};
use crate::keys::{self, Action, Screen};
use matterstack_core::app::templates::TaskDraft;
use matterstack_templates::library::ListEntry;
use matterstack_templates::Template;

/// A tab of the task detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Status, reasons, lineage, job.
    Overview,
    /// stdout / stderr / the program's output file.
    Logs,
    /// Parsed results and their series.
    Results,
    /// The files in its directory.
    Files,
    /// Every attempt.
    Attempts,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Tab; 5] = [
        Tab::Overview,
        Tab::Logs,
        Tab::Results,
        Tab::Files,
        Tab::Attempts,
    ];

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Logs => "Logs",
            Tab::Results => "Results",
            Tab::Files => "Files",
            Tab::Attempts => "Attempts",
        }
    }
}

/// Which log the Logs tab shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (or the program's output file when that is empty).
    Stdout,
    /// Standard error.
    Stderr,
}

/// What a confirmed bulk action does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bulk {
    /// Cancel (scancel for cluster jobs).
    Cancel,
    /// Retry.
    Retry,
    /// Delete the run: its live jobs cancelled, its remote directories and
    /// its directory removed (the summary says what goes).
    DeleteRun {
        /// The run directory.
        dir: PathBuf,
        /// What goes, as the dry run found it.
        summary: String,
    },
    /// Restart from each task's checkpoint, with a new walltime or cores
    /// if given.
    Restart {
        /// The new walltime.
        walltime: Option<String>,
        /// The new number of cores.
        cores: Option<u32>,
    },
}

impl Bulk {
    fn verb(&self) -> &'static str {
        match self {
            Bulk::Cancel => "cancel",
            Bulk::Retry => "retry",
            Bulk::Restart { .. } => "restart",
            Bulk::DeleteRun { .. } => "delete",
        }
    }
}

/// An overlay that takes the keys while it is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Modal {
    /// The key help.
    Help,
    /// Typing a filter (tasks) or a search (logs).
    Filter {
        /// What is typed so far.
        text: String,
    },
    /// Typing the walltime of a restart.
    Walltime {
        /// What is typed so far.
        text: String,
        /// The tasks it is for.
        tasks: Vec<String>,
    },
    /// `y/n` before a bulk action.
    Confirm {
        /// What it does.
        bulk: Bulk,
        /// To which tasks.
        tasks: Vec<String>,
    },
}

/// Work for the IO thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Read the runs again.
    ListRuns,
    /// Open a run: load it, then follow its change feed.
    Open(PathBuf),
    /// Read why a task is as it is, and what it runs.
    Explain(PathBuf, String),
    /// Read a task's log.
    Log {
        /// The run.
        run: PathBuf,
        /// The task.
        task: String,
        /// Which stream.
        stream: Stream,
    },
    /// Read the run's DAG.
    Graph(PathBuf),
    /// Read the clusters.
    Clusters,
    /// Read a cluster's queue.
    Queue(String),
    /// List a task's files.
    Files(PathBuf, String),
    /// Open a master connection to a cluster (the terminal is handed over).
    Connect(String),
    /// Find what deleting a run would remove (a dry run).
    PlanDelete(PathBuf),
    /// List the templates.
    Templates,
    /// Load a template for the form.
    Template(String),
    /// Make a new workspace and run holding the drafted task, or (with a
    /// workspace) add the task to that workspace's `matterstack.toml`.
    Create(TaskDraft, Option<PathBuf>),
    /// A bulk action on tasks of a run.
    Act {
        /// The run.
        run: PathBuf,
        /// What.
        bulk: Bulk,
        /// Which tasks.
        tasks: Vec<String>,
    },
}

/// What the IO thread found.
#[derive(Debug, Clone)]
pub enum Update {
    /// The runs.
    Runs(Vec<RunSummary>),
    /// An opened run.
    Opened(PathBuf, Box<LiveRun>),
    /// New changes of an open run.
    Changes(PathBuf, Vec<Change>),
    /// Why a task is as it is.
    Explained(String, Box<Explanation>),
    /// What a task runs (its resolved spec).
    Spec(String, Box<TaskSpec>),
    /// A task's log (the text so far).
    Log {
        /// The task.
        task: String,
        /// Which stream.
        stream: Stream,
        /// Its text.
        text: String,
    },
    /// A run's DAG.
    Graph(PathBuf, Graph),
    /// The clusters.
    Clusters(Vec<ClusterView>),
    /// A cluster's queue.
    Queue(String, Vec<QueueJob>),
    /// A task's files: name and size.
    Files(String, Vec<(String, u64)>),
    /// What deleting a run would remove.
    DeletePlan(PathBuf, String),
    /// The templates.
    Templates(Vec<ListEntry>),
    /// A template, for the form, and the files the user may pick for its
    /// file and structure parameters (relative to where the TUI runs; the
    /// text of small structure files, for checking).
    Template(Box<Template>, Vec<(String, Option<String>)>),
    /// A run made from the form.
    Created(PathBuf),
    /// A task the form added to a workspace (its `matterstack.toml`).
    Added(String, PathBuf),
    /// Something to tell the user.
    Info(String),
    /// Something that went wrong.
    Error(String),
}

/// The open run.
#[derive(Debug, Clone)]
pub struct OpenRun {
    /// Its directory.
    pub dir: PathBuf,
    /// Its live view (None until loaded).
    pub live: Option<LiveRun>,
    /// Its DAG, once read.
    pub graph: Option<Graph>,
}

/// The log pane.
#[derive(Debug, Clone, Default)]
pub struct LogPane {
    /// Its text.
    pub text: String,
    /// Keep to its end.
    pub follow: bool,
    /// The first line shown, when not following.
    pub top: usize,
    /// What `/` searched for.
    pub search: String,
}

/// How the tasks are sorted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// As declared.
    Declared,
    /// By state.
    Status,
    /// By id.
    Id,
    /// Longest running first.
    Elapsed,
}

impl Sort {
    fn next(self) -> Sort {
        match self {
            Sort::Declared => Sort::Status,
            Sort::Status => Sort::Id,
            Sort::Id => Sort::Elapsed,
            Sort::Elapsed => Sort::Declared,
        }
    }

    /// Its name, for the header.
    pub fn name(self) -> &'static str {
        match self {
            Sort::Declared => "declared",
            Sort::Status => "status",
            Sort::Id => "id",
            Sort::Elapsed => "elapsed",
        }
    }
}

/// Everything the TUI shows.
#[derive(Debug, Clone)]
pub struct App {
    /// Screens, the current last.
    pub stack: Vec<Screen>,
    /// The overlay, if any.
    pub modal: Option<Modal>,
    /// The runs list.
    pub runs: Vec<RunSummary>,
    /// Its cursor.
    pub runs_at: usize,
    /// The open run.
    pub run: Option<OpenRun>,
    /// The tasks cursor (an index into [`App::visible`]).
    pub tasks_at: usize,
    /// The tasks filter.
    pub filter: String,
    /// The tasks order.
    pub sort: Sort,
    /// Selected task ids.
    pub selected: BTreeSet<String>,
    /// Where the last selection was (for ranges).
    pub anchor: Option<usize>,
    /// The task the detail shows.
    pub task: Option<String>,
    /// The detail's tab.
    pub tab: Tab,
    /// The log's stream.
    pub stream: Stream,
    /// The log pane.
    pub log: LogPane,
    /// The task's explanation, once read.
    pub explained: Option<Explanation>,
    /// What it runs, once read.
    pub spec: Option<TaskSpec>,
    /// The DAG cursor (an index into the graph's nodes by layer).
    pub dag_at: usize,
    /// The clusters.
    pub clusters: Vec<ClusterView>,
    /// Its cursor.
    pub clusters_at: usize,
    /// The queue shown: its cluster and jobs.
    pub queue: Option<(String, Vec<QueueJob>)>,
    /// Its cursor.
    pub queue_at: usize,
    /// The detail's files.
    pub files: Vec<(String, u64)>,
    /// Ticks so far (slow refreshes count them).
    pub ticks: u64,
    /// The templates to choose from.
    pub templates: Vec<ListEntry>,
    /// Its cursor.
    pub templates_at: usize,
    /// The templates filter.
    pub template_filter: String,
    /// The new-task form, while open.
    pub form: Option<Form>,
    /// Work an update asked for, taken by the loop ([`App::take_pending`]).
    pub pending: Vec<Command>,
    /// The last message (and whether it is an error).
    pub message: Option<(String, bool)>,
    /// Now, ms since the epoch (set by the loop; fixed in tests).
    pub now_ms: i64,
    /// True once the user quits.
    pub quit: bool,
}

impl App {
    /// A TUI on the runs list (or, with one run, on its tasks).
    pub fn new(now_ms: i64) -> App {
        App {
            stack: vec![Screen::Runs],
            modal: None,
            runs: Vec::new(),
            runs_at: 0,
            run: None,
            tasks_at: 0,
            filter: String::new(),
            sort: Sort::Declared,
            selected: BTreeSet::new(),
            anchor: None,
            task: None,
            tab: Tab::Overview,
            stream: Stream::Stdout,
            log: LogPane {
                follow: true,
                ..LogPane::default()
            },
            explained: None,
            spec: None,
            dag_at: 0,
            clusters: Vec::new(),
            clusters_at: 0,
            queue: None,
            queue_at: 0,
            files: Vec::new(),
            ticks: 0,
            templates: Vec::new(),
            templates_at: 0,
            template_filter: String::new(),
            form: None,
            pending: Vec::new(),
            message: None,
            now_ms,
            quit: false,
        }
    }

    /// The current screen.
    pub fn screen(&self) -> Screen {
        *self.stack.last().unwrap_or(&Screen::Runs)
    }

    /// Opens `dir`'s tasks (the start screen of `tui RUN`).
    pub fn open(&mut self, dir: PathBuf) -> Vec<Command> {
        self.run = Some(OpenRun {
            dir: dir.clone(),
            live: None,
            graph: None,
        });
        self.tasks_at = 0;
        self.selected.clear();
        self.anchor = None;
        self.filter.clear();
        self.stack.push(Screen::Tasks);
        vec![Command::Open(dir)]
    }

    /// The open run's tasks.
    pub fn tasks(&self) -> &[TaskView] {
        self.run
            .as_ref()
            .and_then(|r| r.live.as_ref())
            .map_or(&[], |l| &l.view.tasks)
    }

    /// Indices of the tasks the filter shows, in the chosen order.
    pub fn visible(&self) -> Vec<usize> {
        let tasks = self.tasks();
        let terms: Vec<String> = self
            .filter
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let mut v: Vec<usize> = (0..tasks.len())
            .filter(|i| terms.iter().all(|term| matches(&tasks[*i], term)))
            .collect();
        match self.sort {
            Sort::Declared => {}
            Sort::Status => v.sort_by_key(|i| tasks[*i].status),
            Sort::Id => v.sort_by(|a, b| tasks[*a].id.cmp(&tasks[*b].id)),
            Sort::Elapsed => {
                v.sort_by_key(|i| std::cmp::Reverse(tasks[*i].elapsed_at(self.now_ms)))
            }
        }
        v
    }

    /// The task under the cursor.
    pub fn current_task(&self) -> Option<&TaskView> {
        let v = self.visible();
        v.get(self.tasks_at).map(|i| &self.tasks()[*i])
    }

    /// The DAG's nodes in the order the cursor walks them (layer by layer).
    pub fn dag_order(&self) -> Vec<usize> {
        let Some(g) = self.run.as_ref().and_then(|r| r.graph.as_ref()) else {
            return Vec::new();
        };
        let mut order: Vec<usize> = (0..g.nodes.len()).collect();
        order.sort_by_key(|i| (g.nodes[*i].layer, *i));
        order
    }

    /// Handles a key; returns the work it asks for.
    pub fn key(&mut self, key: KeyEvent) -> Vec<Command> {
        if let Some(modal) = self.modal.take() {
            return self.modal_key(modal, key);
        }
        let screen = self.screen();
        if screen == Screen::New {
            return self.form_key(key);
        }
        let Some(action) = keys::lookup(screen, &key) else {
            return Vec::new();
        };
        self.message = None;
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::Help => {
                self.modal = Some(Modal::Help);
                Vec::new()
            }
            Action::Back => self.back(),
            Action::Filter => {
                let text = if screen == Screen::Detail {
                    self.log.search.clone()
                } else if screen == Screen::Pick {
                    self.template_filter.clone()
                } else {
                    self.filter.clone()
                };
                self.modal = Some(Modal::Filter { text });
                Vec::new()
            }
            Action::Up | Action::Down | Action::Top | Action::Bottom => {
                self.step(action);
                Vec::new()
            }
            Action::Open => self.open_row(),
            Action::Select => {
                if let Some(t) = self.current_task().map(|t| t.id.clone()) {
                    if !self.selected.remove(&t) {
                        self.selected.insert(t);
                    }
                    self.anchor = Some(self.tasks_at);
                }
                Vec::new()
            }
            Action::Range => {
                let v = self.visible();
                let (a, b) = {
                    let a = self.anchor.unwrap_or(self.tasks_at);
                    (a.min(self.tasks_at), a.max(self.tasks_at))
                };
                for i in v.iter().take(b + 1).skip(a) {
                    let id = self.tasks()[*i].id.clone();
                    self.selected.insert(id);
                }
                Vec::new()
            }
            Action::All => {
                let ids: Vec<String> = self
                    .visible()
                    .into_iter()
                    .map(|i| self.tasks()[i].id.clone())
                    .collect();
                self.selected.extend(ids);
                Vec::new()
            }
            Action::Cancel | Action::Retry | Action::Restart => {
                let tasks = self.targets();
                if tasks.is_empty() {
                    self.message = Some(("no task here".into(), true));
                } else if action == Action::Restart {
                    self.modal = Some(Modal::Walltime {
                        text: String::new(),
                        tasks,
                    });
                } else {
                    let bulk = if action == Action::Cancel {
                        Bulk::Cancel
                    } else {
                        Bulk::Retry
                    };
                    self.modal = Some(Modal::Confirm { bulk, tasks });
                }
                Vec::new()
            }
            Action::Logs => self.detail(Tab::Logs),
            Action::New => {
                self.templates_at = 0;
                self.stack.push(Screen::Pick);
                vec![Command::Templates, Command::Clusters]
            }
            Action::Choose | Action::Submit | Action::Sweep => Vec::new(),
            Action::Delete => match self.runs.get(self.runs_at) {
                Some(r) => {
                    self.message =
                        Some((format!("finding what deleting {} removes…", r.id), false));
                    vec![Command::PlanDelete(r.dir.clone())]
                }
                None => Vec::new(),
            },
            Action::Dag => {
                let Some(r) = &self.run else {
                    return Vec::new();
                };
                let dir = r.dir.clone();
                self.dag_at = 0;
                if screen != Screen::Dag {
                    self.stack.push(Screen::Dag);
                }
                vec![Command::Graph(dir)]
            }
            Action::Clusters => {
                self.stack.push(Screen::Clusters);
                vec![Command::Clusters]
            }
            Action::Connect => match self.clusters.get(self.clusters_at) {
                Some(c) => vec![Command::Connect(c.name.clone())],
                None => Vec::new(),
            },
            Action::Queue => match self.clusters.get(self.clusters_at) {
                Some(c) => {
                    self.queue = Some((c.name.clone(), Vec::new()));
                    self.queue_at = 0;
                    self.stack.push(Screen::Queue);
                    vec![Command::Queue(c.name.clone())]
                }
                None => Vec::new(),
            },
            Action::NextTab | Action::PrevTab => {
                let i = Tab::ALL.iter().position(|t| *t == self.tab).unwrap_or(0);
                let n = Tab::ALL.len();
                let next = if action == Action::NextTab {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.detail(Tab::ALL[next])
            }
            Action::SearchNext => {
                self.search_next();
                Vec::new()
            }
            Action::Follow => {
                self.log.follow = !self.log.follow;
                Vec::new()
            }
            Action::Stream => {
                self.stream = match self.stream {
                    Stream::Stdout => Stream::Stderr,
                    Stream::Stderr => Stream::Stdout,
                };
                self.log.text.clear();
                self.log_command()
            }
            Action::Sort => {
                self.sort = self.sort.next();
                Vec::new()
            }
        }
    }

    fn modal_key(&mut self, modal: Modal, key: KeyEvent) -> Vec<Command> {
        match modal {
            Modal::Help => Vec::new(),
            Modal::Filter { mut text } => match key.code {
                KeyCode::Enter => {
                    if self.screen() == Screen::Detail {
                        self.log.search = text;
                        self.search_next();
                    } else if self.screen() == Screen::Pick {
                        self.template_filter = text;
                        self.templates_at = 0;
                    } else {
                        self.filter = text;
                        self.tasks_at = 0;
                    }
                    Vec::new()
                }
                KeyCode::Esc => {
                    if self.screen() == Screen::Detail {
                        self.log.search.clear();
                    } else if self.screen() == Screen::Pick {
                        self.template_filter.clear();
                    } else {
                        self.filter.clear();
                    }
                    Vec::new()
                }
                KeyCode::Backspace => {
                    text.pop();
                    self.modal = Some(Modal::Filter { text });
                    Vec::new()
                }
                KeyCode::Char(c) => {
                    text.push(c);
                    self.modal = Some(Modal::Filter { text });
                    Vec::new()
                }
                _ => {
                    self.modal = Some(Modal::Filter { text });
                    Vec::new()
                }
            },
            Modal::Walltime { mut text, tasks } => match key.code {
                KeyCode::Enter => match parse_restart(&text) {
                    Ok((walltime, cores)) => {
                        self.modal = Some(Modal::Confirm {
                            bulk: Bulk::Restart { walltime, cores },
                            tasks,
                        });
                        Vec::new()
                    }
                    Err(e) => {
                        self.message = Some((e, true));
                        self.modal = Some(Modal::Walltime { text, tasks });
                        Vec::new()
                    }
                },
                KeyCode::Esc => Vec::new(),
                KeyCode::Backspace => {
                    text.pop();
                    self.modal = Some(Modal::Walltime { text, tasks });
                    Vec::new()
                }
                KeyCode::Char(c) => {
                    text.push(c);
                    self.modal = Some(Modal::Walltime { text, tasks });
                    Vec::new()
                }
                _ => {
                    self.modal = Some(Modal::Walltime { text, tasks });
                    Vec::new()
                }
            },
            Modal::Confirm { bulk, tasks } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => {
                    if let Bulk::DeleteRun { dir, .. } = &bulk {
                        self.message = Some(("deleting…".into(), false));
                        return vec![Command::Act {
                            run: dir.clone(),
                            bulk: bulk.clone(),
                            tasks,
                        }];
                    }
                    let Some(r) = &self.run else {
                        return Vec::new();
                    };
                    self.message =
                        Some((format!("{} {} task(s)…", bulk.verb(), tasks.len()), false));
                    self.selected.clear();
                    vec![Command::Act {
                        run: r.dir.clone(),
                        bulk,
                        tasks,
                    }]
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.message = Some(("nothing done".into(), false));
                    Vec::new()
                }
                _ => {
                    self.modal = Some(Modal::Confirm { bulk, tasks });
                    Vec::new()
                }
            },
        }
    }

    /// What a bulk action acts on: the selection, else the task here.
    fn targets(&self) -> Vec<String> {
        if self.screen() == Screen::Detail {
            return self.task.iter().cloned().collect();
        }
        if self.screen() == Screen::Dag {
            return self.dag_task().into_iter().collect();
        }
        if !self.selected.is_empty() {
            return self.selected.iter().cloned().collect();
        }
        self.current_task()
            .map(|t| t.id.clone())
            .into_iter()
            .collect()
    }

    fn dag_task(&self) -> Option<String> {
        let g = self.run.as_ref()?.graph.as_ref()?;
        let i = *self.dag_order().get(self.dag_at)?;
        Some(g.nodes[i].id.clone())
    }

    fn back(&mut self) -> Vec<Command> {
        if self.screen() == Screen::Tasks && (!self.filter.is_empty() || !self.selected.is_empty())
        {
            self.filter.clear();
            self.selected.clear();
            return Vec::new();
        }
        if self.stack.len() > 1 {
            let left = self.stack.pop();
            if left == Some(Screen::Tasks) {
                self.run = None;
                return vec![Command::ListRuns];
            }
        }
        Vec::new()
    }

    fn step(&mut self, action: Action) {
        let screen = self.screen();
        if screen == Screen::Detail {
            let lines = self.log.text.lines().count();
            self.log.follow = matches!(action, Action::Bottom);
            self.log.top = match action {
                Action::Up => self.log.top.saturating_sub(1),
                Action::Down => (self.log.top + 1).min(lines.saturating_sub(1)),
                Action::Top => 0,
                _ => lines.saturating_sub(1),
            };
            return;
        }
        let (at, len) = match screen {
            Screen::Runs => (&mut self.runs_at, self.runs.len()),
            Screen::Tasks => {
                let len = self.visible().len();
                (&mut self.tasks_at, len)
            }
            Screen::Dag => {
                let len = self.dag_order().len();
                (&mut self.dag_at, len)
            }
            Screen::Clusters => (&mut self.clusters_at, self.clusters.len()),
            Screen::Pick => {
                let len = self.shown_templates().len();
                (&mut self.templates_at, len)
            }
            Screen::Queue => {
                let len = self.queue.as_ref().map_or(0, |q| q.1.len());
                (&mut self.queue_at, len)
            }
            Screen::Detail | Screen::New => return,
        };
        *at = match action {
            Action::Up => at.saturating_sub(1),
            Action::Down => (*at + 1).min(len.saturating_sub(1)),
            Action::Top => 0,
            _ => len.saturating_sub(1),
        };
    }

    fn open_row(&mut self) -> Vec<Command> {
        match self.screen() {
            Screen::Runs => match self.runs.get(self.runs_at) {
                Some(r) => {
                    let dir = r.dir.clone();
                    self.open(dir)
                }
                None => Vec::new(),
            },
            Screen::Tasks => match self.current_task().map(|t| t.id.clone()) {
                Some(id) => {
                    self.task = Some(id);
                    self.explained = None;
                    self.spec = None;
                    self.log = LogPane {
                        follow: true,
                        ..LogPane::default()
                    };
                    self.detail(Tab::Overview)
                }
                None => Vec::new(),
            },
            Screen::Dag => match self.dag_task() {
                Some(id) => {
                    self.task = Some(id);
                    self.explained = None;
                    self.spec = None;
                    self.log = LogPane {
                        follow: true,
                        ..LogPane::default()
                    };
                    self.detail(Tab::Overview)
                }
                None => Vec::new(),
            },
            Screen::Clusters => match self.clusters.get(self.clusters_at) {
                Some(c) => vec![Command::Connect(c.name.clone())],
                None => Vec::new(),
            },
            Screen::Pick => match self.shown_templates().get(self.templates_at) {
                Some(t) => vec![Command::Template(t.name.clone())],
                None => Vec::new(),
            },
            Screen::Detail | Screen::New | Screen::Queue => Vec::new(),
        }
    }

    /// A key on the form: F1 is help, everything else the form's.
    fn form_key(&mut self, key: KeyEvent) -> Vec<Command> {
        if key.code == KeyCode::F(1) {
            self.modal = Some(Modal::Help);
            return Vec::new();
        }
        let Some(form) = self.form.as_mut() else {
            self.stack.pop();
            return Vec::new();
        };
        match form.key(key) {
            Outcome::Editing => Vec::new(),
            Outcome::Cancelled => {
                self.form = None;
                self.stack.pop();
                self.message = Some(("nothing created".into(), false));
                Vec::new()
            }
            Outcome::Submit(draft) => {
                self.message = Some((format!("creating {}…", draft.id), false));
                vec![Command::Create(*draft, form.target())]
            }
        }
    }

    /// Shows the detail's `tab` (opening the detail of the task here).
    fn detail(&mut self, tab: Tab) -> Vec<Command> {
        if self.screen() != Screen::Detail {
            let here = match self.screen() {
                Screen::Dag => self.dag_task(),
                _ => self.current_task().map(|t| t.id.clone()),
            };
            let Some(id) = here else {
                return Vec::new();
            };
            if self.task.as_deref() != Some(id.as_str()) {
                self.explained = None;
                self.spec = None;
                self.log = LogPane {
                    follow: true,
                    ..LogPane::default()
                };
            }
            self.task = Some(id);
            self.stack.push(Screen::Detail);
        }
        self.tab = tab;
        let (Some(r), Some(task)) = (&self.run, &self.task) else {
            return Vec::new();
        };
        let mut out = vec![Command::Explain(r.dir.clone(), task.clone())];
        if tab == Tab::Logs {
            out.extend(self.log_command());
        }
        if tab == Tab::Files {
            out.push(Command::Files(r.dir.clone(), task.clone()));
        }
        out
    }

    fn log_command(&self) -> Vec<Command> {
        match (&self.run, &self.task) {
            (Some(r), Some(task)) => vec![Command::Log {
                run: r.dir.clone(),
                task: task.clone(),
                stream: self.stream,
            }],
            _ => Vec::new(),
        }
    }

    fn search_next(&mut self) {
        let needle = self.log.search.to_lowercase();
        if needle.is_empty() {
            return;
        }
        let lines: Vec<&str> = self.log.text.lines().collect();
        let from = if self.log.follow { 0 } else { self.log.top + 1 };
        let found = (from..lines.len())
            .chain(0..from.min(lines.len()))
            .find(|i| lines[*i].to_lowercase().contains(&needle));
        match found {
            Some(i) => {
                self.log.follow = false;
                self.log.top = i;
            }
            None => self.message = Some((format!("\"{}\" not found", self.log.search), true)),
        }
    }

    /// What to ask the IO thread for on a tick (the open log, while
    /// followed and its task is not finished).
    pub fn tick(&mut self) -> Vec<Command> {
        self.ticks += 1;
        if self.screen() == Screen::Queue && self.ticks.is_multiple_of(5) {
            if let Some((c, _)) = &self.queue {
                return vec![Command::Queue(c.clone())];
            }
        }
        if self.screen() == Screen::Detail && self.tab == Tab::Logs && self.log.follow {
            let live = self
                .task
                .as_ref()
                .and_then(|id| self.tasks().iter().find(|t| &t.id == id))
                .is_some_and(|t| !t.status.is_terminal());
            if live {
                return self.log_command();
            }
        }
        Vec::new()
    }

    /// The templates the filter shows.
    pub fn shown_templates(&self) -> Vec<&ListEntry> {
        let f = self.template_filter.to_lowercase();
        self.templates
            .iter()
            .filter(|t| {
                f.is_empty()
                    || t.name.to_lowercase().contains(&f)
                    || t.description.to_lowercase().contains(&f)
            })
            .collect()
    }

    /// The work updates asked for since the last call.
    pub fn take_pending(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.pending)
    }

    /// Takes in what the IO thread found.
    pub fn update(&mut self, u: Update) {
        match u {
            Update::Runs(runs) => {
                self.runs = runs;
                self.runs_at = self.runs_at.min(self.runs.len().saturating_sub(1));
            }
            Update::Opened(dir, live) => {
                if let Some(r) = self.run.as_mut().filter(|r| r.dir == dir) {
                    r.live = Some(*live);
                }
            }
            Update::Changes(dir, changes) => {
                let Some(live) = self
                    .run
                    .as_mut()
                    .filter(|r| r.dir == dir)
                    .and_then(|r| r.live.as_mut())
                else {
                    return;
                };
                for c in &changes {
                    live.apply(c);
                    live.cursor = c.id;
                }
            }
            Update::Explained(task, e) => {
                if self.task.as_deref() == Some(task.as_str()) {
                    self.explained = Some(*e);
                }
            }
            Update::Spec(task, spec) => {
                if self.task.as_deref() == Some(task.as_str()) {
                    self.spec = Some(*spec);
                }
            }
            Update::Log { task, stream, text } => {
                if self.task.as_deref() == Some(task.as_str()) && self.stream == stream {
                    self.log.text = text;
                }
            }
            Update::Graph(dir, g) => {
                if let Some(r) = self.run.as_mut().filter(|r| r.dir == dir) {
                    r.graph = Some(g);
                }
            }
            Update::Clusters(c) => {
                self.clusters = c;
                self.clusters_at = self.clusters_at.min(self.clusters.len().saturating_sub(1));
            }
            Update::DeletePlan(dir, summary) => {
                if self.screen() == Screen::Runs {
                    let id = self
                        .runs
                        .iter()
                        .find(|r| r.dir == dir)
                        .map_or_else(|| dir.display().to_string(), |r| r.id.clone());
                    self.message = None;
                    self.modal = Some(Modal::Confirm {
                        bulk: Bulk::DeleteRun { dir, summary },
                        tasks: vec![id],
                    });
                }
            }
            Update::Templates(t) => {
                self.templates = t.into_iter().filter(|t| t.error.is_none()).collect();
            }
            Update::Template(t, files) => {
                if self.screen() == Screen::Pick {
                    let names = self.clusters.iter().map(|c| c.name.clone()).collect();
                    let partitions = self
                        .clusters
                        .iter()
                        .map(|c| {
                            let parts = c
                                .probe
                                .iter()
                                .flat_map(|p| p.partitions.iter())
                                .map(|p| {
                                    let max =
                                        p.max_time_s.map_or("no time limit".to_string(), |s| {
                                            format!(
                                                "at most {}",
                                                matterstack_core::model::resources::format_walltime(
                                                    s
                                                )
                                            )
                                        });
                                    (
                                        p.name.clone(),
                                        format!(
                                            "{max}; {} node(s) of {} CPUs, {} MB{}{}",
                                            p.nodes,
                                            p.cpus_per_node,
                                            p.memory_mb_per_node,
                                            p.gres
                                                .as_deref()
                                                .map(|g| format!(", {g}"))
                                                .unwrap_or_default(),
                                            if p.up { "" } else { " (down)" }
                                        ),
                                    )
                                })
                                .collect();
                            (c.name.clone(), parts)
                        })
                        .collect();
                    let mut targets: Vec<String> = self
                        .runs
                        .iter()
                        .map(|r| r.workspace.display().to_string())
                        .collect();
                    targets.sort();
                    targets.dedup();
                    self.form = Some(
                        Form::new(*t, names)
                            .with_files(files)
                            .with_partitions(partitions)
                            .with_targets(targets),
                    );
                    self.stack.push(Screen::New);
                }
            }
            Update::Added(task, file) => {
                self.form = None;
                while matches!(self.screen(), Screen::New | Screen::Pick) {
                    self.stack.pop();
                }
                self.message = Some((
                    format!(
                        "added task {task} to {}; `matterstack init` on its workspace makes a run with it",
                        file.display()
                    ),
                    false,
                ));
            }
            Update::Created(dir) => {
                self.form = None;
                while matches!(
                    self.screen(),
                    Screen::New | Screen::Pick | Screen::Tasks | Screen::Detail | Screen::Dag
                ) {
                    self.stack.pop();
                }
                self.message = Some((format!("made run {}", dir.display()), false));
                let cmds = self.open(dir);
                self.pending.extend(cmds);
            }
            Update::Queue(cluster, jobs) => {
                if self.queue.as_ref().is_some_and(|q| q.0 == cluster) {
                    self.queue_at = self.queue_at.min(jobs.len().saturating_sub(1));
                    self.queue = Some((cluster, jobs));
                }
            }
            Update::Files(task, files) => {
                if self.task.as_deref() == Some(task.as_str()) {
                    self.files = files;
                }
            }
            Update::Info(m) => self.message = Some((m, false)),
            Update::Error(m) => self.message = Some((m, true)),
        }
    }

    /// The confirmation question of a bulk action.
    pub fn question(bulk: &Bulk, tasks: &[String]) -> String {
        let named = if tasks.len() <= 4 {
            tasks.join(", ")
        } else {
            format!("{}, … ({} in all)", tasks[..3].join(", "), tasks.len())
        };
        let how = match bulk {
            Bulk::Cancel => {
                " (their processes are stopped, their cluster jobs scancelled)".to_string()
            }
            Bulk::Restart { walltime, cores } => {
                let mut parts = Vec::new();
                if let Some(w) = walltime {
                    parts.push(format!("walltime {w}"));
                }
                if let Some(c) = cores {
                    parts.push(format!("{c} cores"));
                }
                if parts.is_empty() {
                    " from their checkpoints".to_string()
                } else {
                    format!(" from their checkpoints with {}", parts.join(", "))
                }
            }
            Bulk::Retry => String::new(),
            Bulk::DeleteRun { summary, .. } => {
                return format!("delete run {named}: {summary}? y/n");
            }
        };
        format!("{} {} task(s): {named}{how}? y/n", bulk.verb(), tasks.len())
    }
}

/// `2h`, `cores=4`, `2h cores=4` (or empty: keep both) for a restart.
///
/// Fails with a message naming the word that is neither.
pub fn parse_restart(text: &str) -> Result<(Option<String>, Option<u32>), String> {
    let mut walltime = None;
    let mut cores = None;
    for word in text.split_whitespace() {
        if let Some(c) = word.strip_prefix("cores=") {
            match c.parse::<u32>() {
                Ok(n) if n >= 1 => cores = Some(n),
                _ => {
                    return Err(format!(
                        "cores \"{c}\": give a whole number of at least 1, e.g. cores=4"
                    ))
                }
            }
        } else if matterstack_core::model::resources::parse_walltime_secs(word).is_ok() {
            walltime = Some(word.to_string());
        } else {
            return Err(format!(
                "\"{word}\" is neither a walltime (2h, 01:30:00) nor cores=N"
            ));
        }
    }
    Ok((walltime, cores))
}

/// True when a task matches one filter term: `status:NAME` (or a state's
/// name alone), else part of its id, job or reason.
fn matches(t: &TaskView, term: &str) -> bool {
    let state = t.status.as_str().to_lowercase();
    if let Some(s) = term.strip_prefix("status:") {
        return state.starts_with(s);
    }
    if TaskState::ALL
        .iter()
        .any(|s| s.as_str().to_lowercase() == term)
    {
        return state == term;
    }
    t.id.to_lowercase().contains(term)
        || t.job.as_deref().is_some_and(|j| j.contains(term))
        || t.reason
            .as_deref()
            .is_some_and(|r| r.to_lowercase().contains(term))
}
