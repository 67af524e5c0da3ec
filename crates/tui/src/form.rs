//! The new-task form: one field per template parameter (from the same
//! schema `init` checks), the task's id, operator, cluster and resources.
//! Every keystroke validates the values with the template crate's own
//! checks, so the form shows `init`'s messages as you type, and renders a
//! preview of the input files once they are valid. Pure: no IO.

use std::collections::BTreeMap;

use matterstack_core::app::templates::TaskDraft;
use matterstack_templates::{ParamSpec, ParamType, Template};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Map, Value};

/// One field of the form.
#[derive(Debug, Clone)]
pub struct Field {
    /// What it holds.
    pub kind: FieldKind,
    /// Its text (for select and boolean: the chosen option).
    pub text: String,
    /// Swept: the text is a list (`a, b, c`) or an integer range
    /// (`1..5`, `0..100:10`), one task per value.
    pub sweep: bool,
}

/// What a field holds.
#[derive(Debug, Clone)]
pub enum FieldKind {
    /// A template parameter.
    Param(Box<ParamSpec>),
    /// The task's id.
    Id,
    /// `local` or `slurm`.
    Operator,
    /// The cluster (for `slurm`).
    Cluster,
    /// Cores.
    Cores,
    /// Walltime.
    Walltime,
    /// The partition (for `slurm`; empty: the profile's).
    Partition,
    /// Where the task goes: a new workspace and run, or an existing
    /// workspace's `matterstack.toml`.
    Target,
}

/// The text of the target field that means a new workspace and run.
pub const NEW_RUN: &str = "a new workspace and run";

impl Field {
    /// The label shown.
    pub fn label(&self) -> String {
        match &self.kind {
            FieldKind::Param(p) => p.display_label().to_string(),
            FieldKind::Id => "task id".into(),
            FieldKind::Operator => "operator".into(),
            FieldKind::Cluster => "cluster".into(),
            FieldKind::Cores => "cores".into(),
            FieldKind::Walltime => "walltime".into(),
            FieldKind::Partition => "partition".into(),
            FieldKind::Target => "write to".into(),
        }
    }

    /// The choices of a select, boolean or operator field (empty: free text).
    pub fn options(&self, clusters: &[String]) -> Vec<String> {
        match &self.kind {
            FieldKind::Param(p) if p.kind == ParamType::Select => p.options.clone(),
            FieldKind::Param(p) if p.kind == ParamType::Boolean => {
                vec!["false".into(), "true".into()]
            }
            FieldKind::Operator => vec!["local".into(), "slurm".into()],
            FieldKind::Cluster => clusters.to_vec(),
            _ => Vec::new(),
        }
    }

    /// Help: the parameter's, with its units, type and range.
    pub fn help(&self) -> String {
        match &self.kind {
            FieldKind::Param(p) => {
                let mut h = p.kind.as_str().to_string();
                if p.kind == ParamType::Multiselect {
                    h.push_str(&format!(" (comma-separated: {})", p.options.join(", ")));
                }
                if p.kind == ParamType::File {
                    h.push_str(" (←/→ picks a file here");
                    if !p.extensions.is_empty() {
                        h.push_str(&format!(": {}", p.extensions.join(", ")));
                    }
                    h.push(')');
                }
                if p.kind == ParamType::Structure {
                    h.push_str(" (←/→ picks a structure file here, @FILE)");
                }
                if let Some(u) = &p.units {
                    h.push_str(&format!(" [{u}]"));
                }
                match (p.min, p.max) {
                    (Some(a), Some(b)) => h.push_str(&format!(", {a}…{b}")),
                    (Some(a), None) => h.push_str(&format!(", ≥ {a}")),
                    (None, Some(b)) => h.push_str(&format!(", ≤ {b}")),
                    _ => {}
                }
                if !p.help.is_empty() {
                    h.push_str(": ");
                    h.push_str(&p.help);
                }
                h
            }
            FieldKind::Id => "the task's name in the run (letters, digits, - and _)".into(),
            FieldKind::Operator => "where it runs: this machine, or a SLURM cluster".into(),
            FieldKind::Cluster => "a cluster profile (`matterstack cluster list`)".into(),
            FieldKind::Cores => "cores for the task".into(),
            FieldKind::Walltime => "e.g. 30m, 2h, 01:00:00 (empty: the default)".into(),
            FieldKind::Partition => "the cluster's partitions as `cluster probe` found them (empty: the profile's)".into(),
            FieldKind::Target => "a new workspace ./<id>-N/ and a run of it, or a task added to a workspace's matterstack.toml".into(),
        }
    }
}

/// The form for one template.
#[derive(Debug, Clone)]
pub struct Form {
    /// The template.
    pub template: Template,
    /// Every field, parameters first.
    pub fields: Vec<Field>,
    /// The focused field.
    pub at: usize,
    /// Problems by field label (the template's messages for parameters).
    pub errors: BTreeMap<String, String>,
    /// The rendered input files, once the values are valid.
    pub preview: Vec<(String, String)>,
    /// Cluster names to choose from.
    pub clusters: Vec<String>,
    /// Files to pick for file and structure parameters (with the text of
    /// structure files).
    pub files: Vec<(String, Option<String>)>,
    /// Partitions per cluster (from `cluster probe`): name and what it offers.
    pub partitions: BTreeMap<String, Vec<(String, String)>>,
    /// Workspaces the task may be added to.
    pub targets: Vec<String>,
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Go on editing.
    Editing,
    /// Closed without creating anything.
    Cancelled,
    /// Create the task.
    Submit(Box<TaskDraft>),
}

impl Form {
    /// A form for `template` with its defaults filled in.
    pub fn new(template: Template, clusters: Vec<String>) -> Form {
        let mut fields: Vec<Field> = template
            .params()
            .iter()
            .map(|p| Field {
                text: p.default.as_ref().map(text_of).unwrap_or_default(),
                kind: FieldKind::Param(Box::new(p.clone())),
                sweep: false,
            })
            .collect();
        let id = template
            .name()
            .rsplit('/')
            .next()
            .unwrap_or("task")
            .to_string();
        fields.push(Field {
            sweep: false,
            kind: FieldKind::Id,
            text: id,
        });
        fields.push(Field {
            sweep: false,
            kind: FieldKind::Operator,
            text: "local".into(),
        });
        fields.push(Field {
            sweep: false,
            kind: FieldKind::Cluster,
            text: clusters.first().cloned().unwrap_or_default(),
        });
        fields.push(Field {
            sweep: false,
            kind: FieldKind::Cores,
            text: "1".into(),
        });
        fields.push(Field {
            sweep: false,
            kind: FieldKind::Walltime,
            text: String::new(),
        });
        fields.push(Field {
            sweep: false,
            kind: FieldKind::Partition,
            text: String::new(),
        });
        fields.push(Field {
            sweep: false,
            kind: FieldKind::Target,
            text: NEW_RUN.into(),
        });
        let mut f = Form {
            template,
            fields,
            at: 0,
            errors: BTreeMap::new(),
            preview: Vec::new(),
            clusters,
            files: Vec::new(),
            partitions: BTreeMap::new(),
            targets: Vec::new(),
        };
        f.check();
        f
    }

    /// The files to pick from for file and structure parameters.
    pub fn with_files(mut self, files: Vec<(String, Option<String>)>) -> Form {
        self.files = files;
        self.check();
        self
    }

    /// The partitions `cluster probe` found, per cluster.
    pub fn with_partitions(mut self, p: BTreeMap<String, Vec<(String, String)>>) -> Form {
        self.partitions = p;
        self.check();
        self
    }

    /// Workspaces the task may be added to.
    pub fn with_targets(mut self, t: Vec<String>) -> Form {
        self.targets = t;
        self
    }

    /// The workspace the task is to be added to; `None`: a new one.
    pub fn target(&self) -> Option<std::path::PathBuf> {
        let t = self.field(|k| matches!(k, FieldKind::Target));
        (t != NEW_RUN && !t.is_empty()).then(|| std::path::PathBuf::from(t))
    }

    /// Help for the focused field (a partition's limits with it).
    pub fn help_at(&self) -> String {
        let Some(f) = self.fields.get(self.at) else {
            return String::new();
        };
        let mut h = f.help();
        if matches!(f.kind, FieldKind::Partition) {
            if let Some((_, about)) = self.cluster_partitions().iter().find(|(n, _)| *n == f.text) {
                h = format!("{}: {about}", f.text);
            }
        }
        h
    }

    fn cluster_partitions(&self) -> &[(String, String)] {
        let c = self.field(|k| matches!(k, FieldKind::Cluster));
        self.partitions.get(c).map_or(&[], Vec::as_slice)
    }

    /// The files a file or structure field may pick (`←`/`→`).
    pub fn picks(&self, field: &Field) -> Vec<String> {
        if matches!(field.kind, FieldKind::Partition) {
            let mut v = vec![String::new()];
            v.extend(self.cluster_partitions().iter().map(|(n, _)| n.clone()));
            return v;
        }
        if matches!(field.kind, FieldKind::Target) {
            let mut v = vec![NEW_RUN.to_string()];
            v.extend(self.targets.iter().cloned());
            return v;
        }
        let FieldKind::Param(p) = &field.kind else {
            return Vec::new();
        };
        match p.kind {
            ParamType::File => self
                .files
                .iter()
                .map(|(n, _)| n.clone())
                .filter(|n| {
                    p.extensions.is_empty() || p.extensions.iter().any(|e| n.ends_with(e.as_str()))
                })
                .collect(),
            ParamType::Structure => {
                let ext = p.format.as_deref().unwrap_or("xyz");
                self.files
                    .iter()
                    .filter(|(n, text)| text.is_some() && n.ends_with(&format!(".{ext}")))
                    .map(|(n, _)| format!("@{n}"))
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// A structure field's text: `@file` stands for that file's text.
    fn resolved(&self, text: &str) -> String {
        match text.strip_prefix('@') {
            Some(name) => self
                .files
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, t)| t.clone())
                .unwrap_or_else(|| text.to_string()),
            None => text.to_string(),
        }
    }

    /// The fields shown: a parameter whose `depends_on` is not met is
    /// hidden, and so is the cluster of a local task.
    pub fn shown(&self) -> Vec<usize> {
        let values = self.values();
        (0..self.fields.len())
            .filter(|i| match &self.fields[*i].kind {
                FieldKind::Param(p) => p.depends_on.as_ref().is_none_or(|d| {
                    let v = values.get(&d.param).cloned().unwrap_or(Value::Null);
                    d.values
                        .iter()
                        .any(|w| w == &v || text_of(w) == text_of(&v))
                }),
                FieldKind::Cluster | FieldKind::Partition => {
                    self.field(FieldKind::is_operator) == "slurm"
                }
                _ => true,
            })
            .collect()
    }

    fn field(&self, which: fn(&FieldKind) -> bool) -> &str {
        self.fields
            .iter()
            .find(|f| which(&f.kind))
            .map_or("", |f| f.text.as_str())
    }

    /// The parameter values typed so far (empty fields take the default;
    /// a swept field its first value).
    fn values(&self) -> Map<String, Value> {
        let mut m = Map::new();
        for f in &self.fields {
            if let FieldKind::Param(p) = &f.kind {
                let text = if f.sweep {
                    sweep_values(&f.text).into_iter().next().unwrap_or_default()
                } else if p.kind == ParamType::Structure {
                    self.resolved(&f.text)
                } else {
                    f.text.clone()
                };
                if !text.is_empty() {
                    m.insert(p.name.clone(), Value::String(text));
                }
            }
        }
        m
    }

    /// The swept parameters and their values, each checked (typed by the
    /// template); problems by field label.
    fn sweeps(&self) -> (BTreeMap<String, Vec<Value>>, BTreeMap<String, String>) {
        let mut points = BTreeMap::new();
        let mut errors = BTreeMap::new();
        let base = self.values();
        for f in self.fields.iter().filter(|f| f.sweep) {
            let FieldKind::Param(p) = &f.kind else {
                continue;
            };
            let values = sweep_values(&f.text);
            if values.is_empty() {
                errors.insert(
                    f.label(),
                    "a sweep needs values: a list `a, b, c` or a range `1..5` (`0..100:10`)".into(),
                );
                continue;
            }
            let mut typed = Vec::new();
            for v in &values {
                let mut m = base.clone();
                m.insert(p.name.clone(), Value::String(v.clone()));
                match self.template.validate(&m) {
                    Ok(vals) => typed.push(vals.get(&p.name).cloned().unwrap_or(Value::Null)),
                    Err(errs) => {
                        if let Some(e) = errs.0.into_iter().find(|e| e.param == p.name) {
                            errors.insert(f.label(), format!("{v}: {}", e.message));
                        }
                    }
                }
            }
            points.insert(p.name.clone(), typed);
        }
        (points, errors)
    }

    /// How many tasks the form makes (1 without sweeps).
    pub fn points(&self) -> usize {
        self.fields
            .iter()
            .filter(|f| f.sweep)
            .map(|f| sweep_values(&f.text).len().max(1))
            .product()
    }

    /// Validates everything (on every keystroke).
    fn check(&mut self) {
        self.errors.clear();
        self.preview.clear();
        let values = self.values();
        match self.template.render(&values) {
            Ok(r) => self.preview = r.files.into_iter().collect(),
            Err(matterstack_templates::TemplateError::Validation(errs)) => {
                for e in errs.0 {
                    let label = self
                        .fields
                        .iter()
                        .find(|f| matches!(&f.kind, FieldKind::Param(p) if p.name == e.param))
                        .map_or(e.param.clone(), Field::label);
                    self.errors.insert(label, e.message);
                }
            }
            Err(e) => {
                self.errors.insert("template".into(), e.to_string());
            }
        }
        let (_, sweep_errors) = self.sweeps();
        self.errors.extend(sweep_errors);
        let id = self.field(|k| matches!(k, FieldKind::Id)).to_string();
        if let Err(e) = matterstack_core::model::ids::check_id("task id", &id) {
            self.errors.insert("task id".into(), e);
        }
        let cores = self.field(|k| matches!(k, FieldKind::Cores));
        if !cores.parse::<u32>().is_ok_and(|c| c >= 1) {
            self.errors.insert(
                "cores".into(),
                format!("cores \"{cores}\" is not a whole number of at least 1"),
            );
        }
        let wt = self.field(|k| matches!(k, FieldKind::Walltime)).to_string();
        if !wt.is_empty() {
            if let Err(e) = matterstack_core::model::resources::parse_walltime_secs(&wt) {
                self.errors
                    .insert("walltime".into(), format!("walltime \"{wt}\": {e}"));
            }
        }
        if self.field(FieldKind::is_operator) == "slurm"
            && self.field(|k| matches!(k, FieldKind::Cluster)).is_empty()
        {
            self.errors.insert(
                "cluster".into(),
                "no cluster: add one with `matterstack cluster add`".into(),
            );
        }
    }

    /// Handles a key.
    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        let shown = self.shown();
        let pos = shown.iter().position(|i| *i == self.at).unwrap_or(0);
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc => return Outcome::Cancelled,
            KeyCode::Char('s') if ctrl => return self.submit(),
            KeyCode::Char('w') if ctrl => {
                let f = &mut self.fields[self.at];
                if matches!(f.kind, FieldKind::Param(_)) {
                    f.sweep = !f.sweep;
                }
            }
            KeyCode::Up | KeyCode::BackTab => {
                self.at = shown[pos.saturating_sub(1)];
            }
            KeyCode::Down | KeyCode::Tab => {
                self.at = shown[(pos + 1).min(shown.len() - 1)];
            }
            KeyCode::Enter => {
                if pos + 1 == shown.len() {
                    return self.submit();
                }
                self.at = shown[pos + 1];
            }
            KeyCode::Left | KeyCode::Right => {
                let picks = self.picks(&self.fields[self.at]);
                let f = &mut self.fields[self.at];
                let mut opts = f.options(&self.clusters);
                if opts.is_empty() {
                    opts = picks;
                }
                if !opts.is_empty() && !f.sweep {
                    let n = opts.len();
                    let right = key.code == KeyCode::Right;
                    let next = match opts.iter().position(|o| *o == f.text) {
                        Some(i) if right => (i + 1) % n,
                        Some(i) => (i + n - 1) % n,
                        None if right => 0,
                        None => n - 1,
                    };
                    f.text = opts[next].clone();
                }
            }
            KeyCode::Backspace => {
                let f = &mut self.fields[self.at];
                if f.options(&self.clusters).is_empty() || f.sweep {
                    f.text.pop();
                }
            }
            KeyCode::Char(c) if !ctrl => {
                let f = &mut self.fields[self.at];
                if f.options(&self.clusters).is_empty() || f.sweep {
                    f.text.push(c);
                }
            }
            _ => {}
        }
        self.check();
        Outcome::Editing
    }

    fn submit(&mut self) -> Outcome {
        self.check();
        if !self.errors.is_empty() {
            return Outcome::Editing;
        }
        let get = |k: fn(&FieldKind) -> bool| self.field(k).to_string();
        let operator = get(FieldKind::is_operator);
        let operator_is_slurm = operator == "slurm";
        let walltime = get(|k| matches!(k, FieldKind::Walltime));
        let partition = get(|k| matches!(k, FieldKind::Partition));
        let (sweep, _) = self.sweeps();
        let mut params = self.values();
        for k in sweep.keys() {
            params.remove(k);
        }
        // A file parameter names a file the task needs: it becomes an input.
        let inputs: Vec<String> = self
            .fields
            .iter()
            .filter(|f| matches!(&f.kind, FieldKind::Param(p) if p.kind == ParamType::File))
            .filter(|f| !f.text.is_empty())
            .map(|f| f.text.clone())
            .collect();
        Outcome::Submit(Box::new(TaskDraft {
            id: get(|k| matches!(k, FieldKind::Id)),
            template: self.template.name().to_string(),
            params,
            sweep,
            inputs,
            cluster: (operator == "slurm").then(|| get(|k| matches!(k, FieldKind::Cluster))),
            operator,
            cores: get(|k| matches!(k, FieldKind::Cores)).parse().unwrap_or(1),
            walltime: Some(walltime).filter(|w| !w.is_empty()),
            partition: Some(partition).filter(|p| !p.is_empty() && operator_is_slurm),
        }))
    }
}

impl FieldKind {
    fn is_operator(&self) -> bool {
        matches!(self, FieldKind::Operator)
    }
}

/// The values of a sweep field: `a, b, c`, or an integer range `1..5`
/// (inclusive) with an optional step (`0..100:10`).
pub fn sweep_values(text: &str) -> Vec<String> {
    let t = text.trim();
    if let Some((a, rest)) = t.split_once("..") {
        let (b, step) = rest.split_once(':').unwrap_or((rest, "1"));
        if let (Ok(a), Ok(b), Ok(step)) = (
            a.trim().parse::<i64>(),
            b.trim().parse::<i64>(),
            step.trim().parse::<i64>(),
        ) {
            if step > 0 && a <= b && (b - a) / step < 10_000 {
                return (0..=(b - a) / step)
                    .map(|i| (a + i * step).to_string())
                    .collect();
            }
        }
    }
    t.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// A value as the form's text.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(text_of).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}
