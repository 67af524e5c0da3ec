//! The key map: every key of every screen, declared once. The help overlay
//! is drawn from it and a test checks that no key means two things on one
//! screen. Keys are a contract, like CLI flags.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Which screen (or overlay) a key is read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Screen {
    /// The runs list.
    Runs,
    /// The tasks of a run.
    Tasks,
    /// One task's detail tabs.
    Detail,
    /// A run's DAG.
    Dag,
    /// The clusters.
    Clusters,
    /// The user's jobs on one cluster, across runs.
    Queue,
    /// Choosing a template for a new task.
    Pick,
    /// The new-task form (typed keys go into its fields).
    New,
}

impl Screen {
    /// Every screen.
    pub const ALL: [Screen; 8] = [
        Screen::Runs,
        Screen::Tasks,
        Screen::Detail,
        Screen::Dag,
        Screen::Clusters,
        Screen::Queue,
        Screen::Pick,
        Screen::New,
    ];

    /// Its title.
    pub fn title(self) -> &'static str {
        match self {
            Screen::Runs => "Runs",
            Screen::Tasks => "Tasks",
            Screen::Detail => "Task",
            Screen::Dag => "DAG",
            Screen::Clusters => "Clusters",
            Screen::Queue => "Queue",
            Screen::Pick => "New task: template",
            Screen::New => "New task",
        }
    }
}

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Move up.
    Up,
    /// Move down.
    Down,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// Open the row (a run's tasks, a task's detail, a DAG node).
    Open,
    /// Back to the previous screen (or clear a filter).
    Back,
    /// Filter the rows (`/`, Enter applies, Esc clears); search in logs.
    Filter,
    /// The help overlay.
    Help,
    /// Select or unselect the row.
    Select,
    /// Select the range from the last selected row to this one.
    Range,
    /// Select every row the filter shows.
    All,
    /// Cancel the selected tasks (or this one).
    Cancel,
    /// Retry them.
    Retry,
    /// Restart them with a new walltime or cores.
    Restart,
    /// The logs tab.
    Logs,
    /// A new task from a template.
    New,
    /// The run's DAG.
    Dag,
    /// The clusters screen.
    Clusters,
    /// Connect to the cluster (ssh may prompt in the terminal).
    Connect,
    /// The cluster's queue.
    Queue,
    /// Next detail tab.
    NextTab,
    /// Previous detail tab.
    PrevTab,
    /// The next search match in the logs.
    SearchNext,
    /// Follow the log (keep to its end) on or off.
    Follow,
    /// Next log stream (stdout, stderr, output file).
    Stream,
    /// Sort by the next column.
    Sort,
    /// The next / previous choice of a select field.
    Choose,
    /// Create the task the form describes.
    Submit,
    /// Sweep the focused parameter.
    Sweep,
    /// Delete the run (after a question naming what goes).
    Delete,
    /// Quit.
    Quit,
}

/// One key binding.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The key.
    pub code: KeyCode,
    /// Modifiers it needs (Shift is folded into the character).
    pub mods: KeyModifiers,
    /// What it does.
    pub action: Action,
    /// Where it works (empty: every screen).
    pub screens: &'static [Screen],
    /// For the help overlay.
    pub help: &'static str,
}

const fn key(c: char, action: Action, screens: &'static [Screen], help: &'static str) -> Binding {
    Binding {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
        action,
        screens,
        help,
    }
}

const fn code(
    code: KeyCode,
    action: Action,
    screens: &'static [Screen],
    help: &'static str,
) -> Binding {
    Binding {
        code,
        mods: KeyModifiers::NONE,
        action,
        screens,
        help,
    }
}

const LISTS: &[Screen] = &[
    Screen::Runs,
    Screen::Tasks,
    Screen::Dag,
    Screen::Clusters,
    Screen::Pick,
];
const TASKS: &[Screen] = &[Screen::Tasks, Screen::Detail, Screen::Dag];
/// Every screen but the form, whose printable keys are typed into fields.
const ANY: &[Screen] = &[
    Screen::Runs,
    Screen::Tasks,
    Screen::Detail,
    Screen::Dag,
    Screen::Clusters,
    Screen::Queue,
    Screen::Pick,
];
const FORM: &[Screen] = &[Screen::New];

/// Every binding.
pub const BINDINGS: &[Binding] = &[
    code(KeyCode::Up, Action::Up, ANY, "move up (or scroll)"),
    key('k', Action::Up, ANY, "move up"),
    code(KeyCode::Down, Action::Down, ANY, "move down (or scroll)"),
    key('j', Action::Down, ANY, "move down"),
    key('g', Action::Top, ANY, "first row"),
    key('G', Action::Bottom, ANY, "last row"),
    code(KeyCode::Home, Action::Top, ANY, "first row"),
    code(KeyCode::End, Action::Bottom, ANY, "last row"),
    code(KeyCode::Enter, Action::Open, LISTS, "open"),
    code(KeyCode::Esc, Action::Back, ANY, "back"),
    key('/', Action::Filter, ANY, "filter rows (in logs: search)"),
    key('?', Action::Help, ANY, "this help"),
    key(' ', Action::Select, &[Screen::Tasks], "select / unselect"),
    key(
        'v',
        Action::Range,
        &[Screen::Tasks],
        "select the range to here",
    ),
    key(
        '*',
        Action::All,
        &[Screen::Tasks],
        "select every shown task",
    ),
    key(
        'c',
        Action::Cancel,
        TASKS,
        "cancel (selected tasks or this one)",
    ),
    key('r', Action::Retry, TASKS, "retry"),
    key(
        'R',
        Action::Restart,
        TASKS,
        "restart with a new walltime / cores",
    ),
    key('l', Action::Logs, TASKS, "logs"),
    key(
        'n',
        Action::New,
        &[Screen::Runs, Screen::Tasks],
        "new task from a template",
    ),
    key(
        'n',
        Action::SearchNext,
        &[Screen::Detail],
        "next search match (logs)",
    ),
    key(
        'd',
        Action::Dag,
        &[Screen::Tasks, Screen::Detail],
        "the run's DAG",
    ),
    key(
        'C',
        Action::Clusters,
        &[Screen::Runs, Screen::Tasks],
        "clusters",
    ),
    key(
        'o',
        Action::Connect,
        &[Screen::Clusters],
        "connect (ssh may ask for a password)",
    ),
    key(
        'Q',
        Action::Queue,
        &[Screen::Clusters],
        "your jobs on this cluster, across runs",
    ),
    code(KeyCode::Tab, Action::NextTab, &[Screen::Detail], "next tab"),
    code(
        KeyCode::BackTab,
        Action::PrevTab,
        &[Screen::Detail],
        "previous tab",
    ),
    key('f', Action::Follow, &[Screen::Detail], "follow the log"),
    key(
        's',
        Action::Stream,
        &[Screen::Detail],
        "next log: stdout, stderr, output file",
    ),
    key(
        'o',
        Action::Sort,
        &[Screen::Tasks],
        "sort by the next column",
    ),
    key(
        'x',
        Action::Delete,
        &[Screen::Runs],
        "delete the run (asks, naming what goes)",
    ),
    key('q', Action::Quit, ANY, "quit"),
    code(KeyCode::Up, Action::Up, FORM, "previous field"),
    code(KeyCode::Down, Action::Down, FORM, "next field"),
    code(KeyCode::BackTab, Action::PrevTab, FORM, "previous field"),
    code(KeyCode::Tab, Action::NextTab, FORM, "next field"),
    code(
        KeyCode::Left,
        Action::Choose,
        FORM,
        "previous choice (select, boolean, operator)",
    ),
    code(KeyCode::Right, Action::Choose, FORM, "next choice"),
    code(
        KeyCode::Enter,
        Action::Open,
        FORM,
        "next field; on the last, create the task",
    ),
    Binding {
        code: KeyCode::Char('s'),
        mods: KeyModifiers::CONTROL,
        action: Action::Submit,
        screens: FORM,
        help: "create the task (a new workspace and run)",
    },
    Binding {
        code: KeyCode::Char('w'),
        mods: KeyModifiers::CONTROL,
        action: Action::Sweep,
        screens: FORM,
        help: "sweep this parameter: a list a, b, c or a range 1..5 (one task each)",
    },
    code(KeyCode::F(1), Action::Help, FORM, "this help"),
    code(
        KeyCode::Esc,
        Action::Back,
        FORM,
        "close the form, creating nothing",
    ),
];

/// What `key` does on `screen`.
pub fn lookup(screen: Screen, key: &KeyEvent) -> Option<Action> {
    // Shift only changes the character; Ctrl and Alt keys are not ours.
    let mods = key.modifiers - KeyModifiers::SHIFT;
    if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
        return Some(Action::Quit);
    }
    if screen == Screen::New && mods.is_empty() && matches!(key.code, KeyCode::Char(_)) {
        // Typed into the focused field.
        return None;
    }
    let code = key.code;
    BINDINGS
        .iter()
        .find(|b| {
            b.code == code
                && b.mods == mods
                && (b.screens.is_empty() || b.screens.contains(&screen))
        })
        .map(|b| b.action)
}

/// The bindings that work on `screen`, for the help overlay.
pub fn on(screen: Screen) -> impl Iterator<Item = &'static Binding> {
    BINDINGS
        .iter()
        .filter(move |b| b.screens.is_empty() || b.screens.contains(&screen))
}

/// The name of a key as the help shows it.
pub fn name(code: KeyCode) -> String {
    match code {
        KeyCode::Char(' ') => "space".into(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "Shift-Tab".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn no_key_means_two_things_on_any_screen() {
        for screen in Screen::ALL {
            let mut seen: HashMap<(KeyCode, KeyModifiers), Action> = HashMap::new();
            for b in on(screen) {
                if let Some(other) = seen.insert((b.code, b.mods), b.action) {
                    panic!(
                        "{} means {other:?} and {:?} on {screen:?}",
                        name(b.code),
                        b.action
                    );
                }
            }
        }
    }

    #[test]
    fn the_contract_keys_are_bound() {
        let ev = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
        let ch = |c: char| ev(KeyCode::Char(c));
        let t = Screen::Tasks;
        assert_eq!(lookup(t, &ev(KeyCode::Up)), Some(Action::Up));
        assert_eq!(lookup(t, &ch('k')), Some(Action::Up));
        assert_eq!(lookup(t, &ev(KeyCode::Down)), Some(Action::Down));
        assert_eq!(lookup(t, &ch('j')), Some(Action::Down));
        assert_eq!(lookup(t, &ev(KeyCode::Enter)), Some(Action::Open));
        assert_eq!(lookup(t, &ev(KeyCode::Esc)), Some(Action::Back));
        assert_eq!(lookup(t, &ch('/')), Some(Action::Filter));
        assert_eq!(lookup(t, &ch('?')), Some(Action::Help));
        assert_eq!(lookup(t, &ch(' ')), Some(Action::Select));
        assert_eq!(lookup(t, &ch('c')), Some(Action::Cancel));
        assert_eq!(lookup(t, &ch('r')), Some(Action::Retry));
        let shift_r = KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT);
        assert_eq!(lookup(t, &shift_r), Some(Action::Restart));
        assert_eq!(lookup(t, &ch('l')), Some(Action::Logs));
        assert_eq!(lookup(t, &ch('n')), Some(Action::New));
        assert_eq!(lookup(t, &ch('d')), Some(Action::Dag));
        assert_eq!(lookup(t, &ch('q')), Some(Action::Quit));
        assert_eq!(lookup(Screen::Detail, &ch('n')), Some(Action::SearchNext));
        for s in Screen::ALL.into_iter().filter(|s| *s != Screen::New) {
            assert_eq!(lookup(s, &ch('q')), Some(Action::Quit), "{s:?}");
            assert_eq!(lookup(s, &ch('?')), Some(Action::Help), "{s:?}");
        }
        // On the form, printable keys are typed; F1 is help, Esc closes.
        assert_eq!(lookup(Screen::New, &ch('q')), None);
        assert_eq!(lookup(Screen::New, &ev(KeyCode::F(1))), Some(Action::Help));
        assert_eq!(lookup(Screen::New, &ev(KeyCode::Esc)), Some(Action::Back));
    }
}
