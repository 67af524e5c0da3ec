//! Data passing between tasks: references to upstream tasks in a task's
//! command, params, env values and `when` condition.
//!
//! A reference is written `tasks.<id>.<kind>…` (or `tasks["<id>"]…` for ids
//! with `-` or `.`), where kind is one of:
//! - `results.<field>` — the upstream's parsed results (a parser's fields,
//!   the data of a human response, or the task's own `results.json`);
//! - `files["<name>"]` — a file the upstream produced; it is copied into
//!   this task's directory when it starts and the reference renders as its
//!   name there;
//! - `status`, `exit_code`;
//! - `points`, for a swept task (`tasks.scan.points`): every point, in
//!   order, as `{id, values, status, exit_code, results}` — a gather.
//!
//! Everything here is pure: [`scan`] finds references, [`check`] validates
//! them against the workspace at `init`, and [`Context`] evaluates text and
//! conditions once the upstream values are known (at launch).
//!
//! Upstream values are data that crossed a trust boundary (a person's answer,
//! a job's `results.json`, parser output). In a command given as a string
//! (run by `sh -c`) every `{{ … }}` is therefore inserted as one shell word,
//! quoted by the one quoting function (`matterstack_templates::shell`); write
//! `{{ … | unquoted }}` to insert shell text on purpose. In an argv command, an
//! env value or a param the value is inserted as it is (an argv element is one
//! argument already).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::spec::{Command, TaskSpec};

/// What part of an upstream task is referenced.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `results.<field>` (field `None` when the whole object is used).
    Results(Option<String>),
    /// `files["name"]`.
    File(String),
    /// `status`.
    Status,
    /// `exit_code`.
    ExitCode,
    /// `points` of a sweep: `[{id, values, status, exit_code, results}]`.
    Points,
    /// Anything else (an error at `init`).
    Unknown(String),
}

/// One reference to an upstream task.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ref {
    /// The upstream task's id.
    pub task: String,
    /// What of it.
    pub kind: Kind,
}

/// Fields of a parser's results (see `matterstack_templates::parsers`).
pub const PARSER_FIELDS: &[&str] = &[
    "program",
    "version",
    "final_energy",
    "energy_unit",
    "converged",
    "normal_termination",
    "wall_time_s",
    "cpu_time_s",
    "warnings",
    "errors",
    "error",
    "values",
];

/// True when `text` may hold a reference (cheap pre-check).
pub fn mentions_tasks(text: &str) -> bool {
    text.contains("tasks")
}

/// Every reference in `text` (a template string or an expression).
pub fn scan(text: &str) -> Vec<Ref> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(pos) = text[i..].find("tasks") {
        let start = i + pos;
        i = start + 5;
        let before_ok = start == 0 || !is_ident(b[start - 1]) && b[start - 1] != b'.';
        if !before_ok || b.get(i).is_some_and(|c| is_ident(*c)) {
            continue;
        }
        let mut p = i;
        let Some(task) = accessor(text, &mut p) else {
            continue;
        };
        let kind = match accessor(text, &mut p).as_deref() {
            Some("results") => Kind::Results(accessor(text, &mut p)),
            Some("files") => match accessor(text, &mut p) {
                Some(name) => Kind::File(name),
                None => Kind::Unknown("files (give a file name: files[\"out.dat\"])".into()),
            },
            Some("status") => Kind::Status,
            Some("exit_code") => Kind::ExitCode,
            Some("points") => Kind::Points,
            Some(other) => Kind::Unknown(other.to_string()),
            None => Kind::Unknown(String::new()),
        };
        out.push(Ref { task, kind });
        i = p;
    }
    out
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Reads `.name` or `["name"]` / `['name']` at `*p`, advancing past it.
fn accessor(text: &str, p: &mut usize) -> Option<String> {
    let b = text.as_bytes();
    let mut q = *p;
    while b.get(q).is_some_and(|c| *c == b' ') {
        q += 1;
    }
    match b.get(q)? {
        b'.' => {
            let s = q + 1;
            let mut e = s;
            while b.get(e).is_some_and(|c| is_ident(*c)) {
                e += 1;
            }
            (e > s).then(|| {
                *p = e;
                text[s..e].to_string()
            })
        }
        b'[' => {
            let mut s = q + 1;
            while b.get(s).is_some_and(|c| *c == b' ') {
                s += 1;
            }
            let quote = *b.get(s)?;
            if quote != b'"' && quote != b'\'' {
                return None;
            }
            let close = text[s + 1..].find(quote as char)? + s + 1;
            let mut e = close + 1;
            while b.get(e).is_some_and(|c| *c == b' ') {
                e += 1;
            }
            (b.get(e) == Some(&b']')).then(|| {
                *p = e + 1;
                text[s + 1..close].to_string()
            })
        }
        _ => None,
    }
}

/// The texts of a task that may hold references: command (string or argv
/// elements), string params (nested), env values. `when` is separate.
pub fn texts(t: &TaskSpec) -> Vec<&str> {
    let mut out = Vec::new();
    match &t.command {
        Some(Command::Shell(s)) => out.push(s.as_str()),
        Some(Command::Argv(v)) => out.extend(v.iter().map(String::as_str)),
        None => {}
    }
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    for v in t.params.values() {
        walk(v, &mut out);
    }
    out.extend(t.env.values().map(String::as_str));
    out
}

/// Every reference a task makes (texts and `when`).
pub fn task_refs(t: &TaskSpec) -> BTreeSet<Ref> {
    let mut refs: BTreeSet<Ref> = texts(t)
        .into_iter()
        .filter(|s| s.contains("{{") || s.contains("{%"))
        .flat_map(scan)
        .collect();
    if let Some(w) = &t.when {
        refs.extend(scan(w));
    }
    refs
}

/// The longest expression (a `when`, or one `{{ … }}` / `{% … %}` of a
/// text) a workspace may hold: real ones are a line; much longer ones only
/// come from generators gone wrong or hostile input, and nest deep enough to
/// exhaust the stack of the expression compiler.
pub const MAX_EXPRESSION_LEN: usize = 1024;

/// Why `text` (a `when` or a templated text) holds an expression too long
/// to compile, if it does.
/// A bare expression (`when`, the inside of a lone `{{ … }}`) holds no
/// template delimiters; minijinja's expression lexer panics on a stray
/// `}}`, so they are refused before it sees them (found by the fuzzer).
pub fn delimiter_problem(expr: &str) -> Option<String> {
    ["{{", "}}", "{%", "%}", "{#", "#}"]
        .iter()
        .find(|d| expr.contains(**d))
        .map(|d| format!("{d:?} does not belong in an expression; write the expression bare, e.g. when = \"tasks.opt.results.converged\""))
}

pub fn expression_problem(text: &str) -> Option<String> {
    let longest = if text.contains("{{") || text.contains("{%") {
        let mut longest = 0;
        let mut rest = text;
        while let Some(i) = rest.find(['{']) {
            rest = &rest[i + 1..];
            let close = match rest.as_bytes().first() {
                Some(b'{') => "}}",
                Some(b'%') => "%}",
                _ => continue,
            };
            let end = rest.find(close).unwrap_or(rest.len());
            longest = longest.max(end);
            rest = &rest[end.min(rest.len())..];
        }
        longest
    } else {
        text.len()
    };
    (longest > MAX_EXPRESSION_LEN).then(|| {
        format!(
            "an expression of {longest} characters is longer than the {MAX_EXPRESSION_LEN} allowed; compute the value in an upstream task and refer to its result"
        )
    })
}

/// True when the task needs resolving before it runs (it references
/// upstream values, has a condition, or is a sweep point whose values look
/// like template text and so are given to the render as data, see
/// `model::sweep`).
pub fn needs_resolution(t: &TaskSpec) -> bool {
    t.when.is_some() || !task_refs(t).is_empty() || t.sweep_point.values().any(looks_like_template)
}

/// True when a value, pasted into a text, could be read as a template or a
/// reference (`{{`, `{%`, `{#` or `tasks`).
pub fn looks_like_template(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.contains("{{") || s.contains("{%") || s.contains("{#") || s.contains("tasks")
    })
}

/// Checks every task's references against the workspace and adds each
/// referenced task to the referrer's `depends_on` (a reference is a
/// dependency). Returns every problem, each naming the task, the reference
/// and the fix.
pub fn check(tasks: &mut [TaskSpec]) -> Vec<String> {
    let parsers: BTreeMap<String, Option<String>> = tasks
        .iter()
        .map(|t| {
            let p = t
                .parser
                .clone()
                .or_else(|| t.template.as_ref().map(|_| "template".to_string()));
            (t.id.clone(), p)
        })
        .collect();
    let humans: BTreeMap<String, Option<Value>> = tasks
        .iter()
        .filter(|t| t.operator == "human")
        .map(|t| (t.id.clone(), t.schema.clone()))
        .collect();
    let mut sweeps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in tasks.iter() {
        if let Some(origin) = &t.sweep_of {
            sweeps.entry(origin.clone()).or_default().push(t.id.clone());
        }
    }
    let mut problems = Vec::new();
    for t in tasks.iter_mut() {
        // Taking an upstream's files depends on it, like a reference does.
        let ups: Vec<String> = t
            .files_from
            .keys()
            .filter(|u| !t.depends_on.contains(u) && **u != t.id)
            .cloned()
            .collect();
        t.depends_on.extend(ups);
        let too_big = texts(t)
            .into_iter()
            .chain(t.when.as_deref())
            .find_map(expression_problem);
        if let Some(m) = too_big {
            // Checked first: a huge expression would exhaust the stack of
            // the expression compiler below.
            problems.push(format!("task \"{}\": {m}", t.id));
            continue;
        }
        if let Some(w) = &t.when {
            if let Some(m) = delimiter_problem(w) {
                problems.push(format!("task \"{}\": when = {w:?}: {m}", t.id));
            } else if let Err(e) = minijinja::Environment::new().compile_expression(w) {
                problems.push(format!(
                    "task \"{}\": when = {w:?} is not a valid expression: {e}",
                    t.id
                ));
            }
        }
        for r in task_refs(t) {
            let what = describe(&r);
            if r.task == t.id {
                problems.push(format!(
                    "task \"{}\": {what} refers to the task itself; refer to an upstream task",
                    t.id
                ));
                continue;
            }
            if let Some(points) = sweeps.get(&r.task) {
                if r.kind == Kind::Points {
                    for p in points {
                        if !t.depends_on.contains(p) && *p != t.id {
                            t.depends_on.push(p.clone());
                        }
                    }
                } else {
                    problems.push(format!(
                        "task \"{}\": {what}: \"{}\" is a sweep of {} points; use tasks.{}.points (each {{id, values, status, exit_code, results}}) or name one point, e.g. tasks[\"{}\"]",
                        t.id,
                        r.task,
                        points.len(),
                        r.task,
                        points[0]
                    ));
                }
                continue;
            }
            if r.kind == Kind::Points {
                problems.push(format!(
                    "task \"{}\": {what}: \"{}\" is not a sweep; points is only for swept tasks",
                    t.id, r.task
                ));
                continue;
            }
            let Some(parser) = parsers.get(&r.task) else {
                let known: Vec<&str> = parsers.keys().map(String::as_str).collect();
                problems.push(format!(
                    "task \"{}\": {what} names an unknown task \"{}\"{}",
                    t.id,
                    r.task,
                    crate::model::dag::did_you_mean(&r.task, &known)
                ));
                continue;
            };
            match &r.kind {
                Kind::File(name) => {
                    if let Err(m) = matterstack_boundary::check_file_name(name) {
                        problems.push(format!(
                            "task \"{}\": {what}: files[{name:?}] of \"{}\": {m}; name a file inside the upstream task's directory, e.g. files[\"out.dat\"]",
                            t.id, r.task
                        ));
                    }
                }
                Kind::Unknown(k) => problems.push(format!(
                    "task \"{}\": {what}: unknown field \"{k}\" of a task; use results.<field>, files[\"name\"], status or exit_code",
                    t.id
                )),
                Kind::Results(Some(field)) => {
                    if let Some(schema) = humans.get(&r.task) {
                        if let Some(props) = schema
                            .as_ref()
                            .and_then(|s| s.get("properties"))
                            .and_then(Value::as_object)
                        {
                            if !props.contains_key(field) {
                                problems.push(format!(
                                    "task \"{}\": {what}: the human task \"{}\"'s schema has no property \"{field}\" (it has: {})",
                                    t.id,
                                    r.task,
                                    props.keys().cloned().collect::<Vec<_>>().join(", ")
                                ));
                            }
                        }
                    } else if parser.is_some() && !PARSER_FIELDS.contains(&field.as_str()) {
                        problems.push(format!(
                            "task \"{}\": {what}: \"{field}\" is not a field of parsed results (fields: {}; program-specific values are under results.values)",
                            t.id,
                            PARSER_FIELDS.join(", ")
                        ));
                    }
                }
                _ => {}
            }
            if !t.depends_on.contains(&r.task) {
                t.depends_on.push(r.task.clone());
            }
        }
    }
    problems
}

fn describe(r: &Ref) -> String {
    let tail = match &r.kind {
        Kind::Results(Some(f)) => format!("results.{f}"),
        Kind::Results(None) => "results".into(),
        Kind::File(n) => format!("files[{n:?}]"),
        Kind::Status => "status".into(),
        Kind::ExitCode => "exit_code".into(),
        Kind::Points => "points".into(),
        Kind::Unknown(k) => k.clone(),
    };
    format!("the reference tasks.{}.{tail}", r.task)
}

/// What is known of one upstream task when a dependant becomes ready.
#[derive(Debug, Clone, Default)]
pub struct Upstream {
    /// Its status (`COMPLETED`, …).
    pub status: String,
    /// Its exit code.
    pub exit_code: Option<i32>,
    /// Its results (an object, or null).
    pub results: Value,
    /// For a sweep: its points (`[{id, values, status, exit_code, results}]`).
    pub points: Option<Value>,
}

/// For a gather that hit an undefined value: which points lack which
/// `results.<key>` the texts read (`; results.energyy is missing in points
/// scan.x-1, scan.x-2 (their results have: energy)`), or `None` when no
/// point lacks one.
pub fn missing_point_results(
    texts: &[&str],
    upstream: &BTreeMap<String, Upstream>,
) -> Option<String> {
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    for text in texts {
        for (i, m) in text.match_indices(".results.") {
            let rest = &text[i + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end > 0 {
                keys.insert(&rest[..end]);
            }
        }
    }
    let mut out = Vec::new();
    for (sweep, up) in upstream {
        let Some(Value::Array(points)) = &up.points else {
            continue;
        };
        for key in &keys {
            let lacking: Vec<&str> = points
                .iter()
                .filter(|p| p["results"].get(*key).is_none())
                .filter_map(|p| p["id"].as_str())
                .collect();
            if lacking.is_empty() {
                continue;
            }
            let have: BTreeSet<&str> = points
                .iter()
                .filter_map(|p| p["results"].as_object())
                .flat_map(|o| o.keys().map(String::as_str))
                .collect();
            let shown: Vec<&str> = lacking.iter().take(5).copied().collect();
            out.push(format!(
                "results.{key} is missing in {} of {} points of \"{sweep}\" ({}{}){}",
                lacking.len(),
                points.len(),
                shown.join(", "),
                if lacking.len() > shown.len() {
                    ", …"
                } else {
                    ""
                },
                if have.is_empty() {
                    " (they have no results)".to_string()
                } else {
                    format!(
                        " (their results have: {})",
                        have.into_iter().collect::<Vec<_>>().join(", ")
                    )
                }
            ));
        }
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// Upstream values, ready to evaluate a task's texts and condition.
pub struct Context {
    env: minijinja::Environment<'static>,
    shell: minijinja::Environment<'static>,
    value: minijinja::Value,
}

impl Context {
    /// Builds the context from upstream tasks; `files` are the referenced
    /// file names per task (rendered as their name in the task directory);
    /// `point` is a swept task's own values (`{{ key }}`, see `model::sweep`).
    pub fn new(
        upstream: &BTreeMap<String, Upstream>,
        files: &BTreeMap<String, BTreeSet<String>>,
        point: &BTreeMap<String, Value>,
    ) -> Context {
        let mut tasks = Map::new();
        for (id, u) in upstream {
            let f: Map<String, Value> = files
                .get(id)
                .into_iter()
                .flatten()
                .map(|n| (n.clone(), Value::String(file_name(n).to_string())))
                .collect();
            let mut entry = serde_json::json!({
                "status": u.status,
                "exit_code": u.exit_code,
                "results": u.results,
                "files": f,
            });
            if let Some(p) = &u.points {
                entry["points"] = p.clone();
            }
            tasks.insert(id.clone(), entry);
        }
        let mut env = minijinja::Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        env.set_keep_trailing_newline(true);
        matterstack_templates::shell::add_filters(&mut env);
        let mut shell = env.clone();
        matterstack_templates::shell::make_shell(&mut shell);
        let mut top: Map<String, Value> = point.clone().into_iter().collect();
        top.insert("tasks".into(), Value::Object(tasks));
        let value = minijinja::Value::from_serialize(Value::Object(top));
        Context { env, shell, value }
    }

    /// Renders a text (left unchanged when it has no `{{`/`{%`); values are
    /// inserted as they are (argv elements, env values, params).
    pub fn render(&self, text: &str) -> Result<String, String> {
        Self::render_in(&self.env, &self.value, text)
    }

    /// Renders a string command: every `{{ … }}` becomes one shell word
    /// (`| unquoted` opts out).
    pub fn render_shell(&self, text: &str) -> Result<String, String> {
        Self::render_in(&self.shell, &self.value, text)
    }

    fn render_in(
        env: &minijinja::Environment<'static>,
        value: &minijinja::Value,
        text: &str,
    ) -> Result<String, String> {
        if !text.contains("{{") && !text.contains("{%") {
            return Ok(text.to_string());
        }
        env.render_str(text, value)
            .map_err(|e| format!("{text:?}: {}", error_chain(&e)))
    }

    /// Evaluates a condition.
    pub fn truth(&self, expr: &str) -> Result<bool, String> {
        if let Some(m) = delimiter_problem(expr) {
            return Err(format!("when = {expr:?}: {m}"));
        }
        let e = self
            .env
            .compile_expression(expr)
            .map_err(|e| format!("when = {expr:?}: {}", error_chain(&e)))?;
        e.eval(&self.value)
            .map(|v| v.is_true())
            .map_err(|e| format!("when = {expr:?}: {}", error_chain(&e)))
    }

    /// The task with every text rendered. A param whose whole value is one
    /// `{{ … }}` keeps the referenced value's type (a number stays a number).
    pub fn resolve(&self, t: &TaskSpec) -> Result<TaskSpec, String> {
        let mut out = t.clone();
        out.command = match &t.command {
            Some(Command::Shell(s)) => Some(Command::Shell(self.render_shell(s)?)),
            Some(Command::Argv(v)) => Some(Command::Argv(
                v.iter().map(|s| self.render(s)).collect::<Result<_, _>>()?,
            )),
            None => None,
        };
        for v in out.params.values_mut() {
            *v = self.value_of(v)?;
        }
        for v in out.env.values_mut() {
            *v = self.render(v)?;
        }
        Ok(out)
    }

    fn value_of(&self, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => {
                let trimmed = s.trim();
                let single = trimmed.starts_with("{{")
                    && trimmed.ends_with("}}")
                    && trimmed[2..].find("{{").is_none();
                // (A lone `{{ … }}` is at least 4 bytes: `{{` and `}}`.)
                let expr = if single {
                    &trimmed[2..trimmed.len() - 2]
                } else {
                    ""
                };
                if single && delimiter_problem(expr).is_none() {
                    let e = self
                        .env
                        .compile_expression(expr)
                        .map_err(|e| format!("{s:?}: {}", error_chain(&e)))?;
                    let r = e
                        .eval(&self.value)
                        .map_err(|e| format!("{s:?}: {}", error_chain(&e)))?;
                    serde_json::to_value(&r).map_err(|e| e.to_string())?
                } else {
                    Value::String(self.render(s)?)
                }
            }
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|x| self.value_of(x))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| Ok((k.clone(), self.value_of(x)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// The name a referenced upstream file gets in the task directory.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn error_chain(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(toml_text: &str) -> TaskSpec {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn scans_dotted_and_subscript_references() {
        let refs = scan(
            r#"run {{ tasks.opt.results.final_energy }} {{ tasks["scf-1"].files["fort.9"] }} {{tasks.a.status}}"#,
        );
        assert_eq!(
            refs,
            vec![
                Ref {
                    task: "opt".into(),
                    kind: Kind::Results(Some("final_energy".into()))
                },
                Ref {
                    task: "scf-1".into(),
                    kind: Kind::File("fort.9".into())
                },
                Ref {
                    task: "a".into(),
                    kind: Kind::Status
                },
            ]
        );
        assert!(scan("mytasks.x.results and subtasks").is_empty());
    }

    #[test]
    fn check_adds_dependencies_and_names_unknown_tasks_and_fields() {
        let mut tasks = vec![
            task("id = \"opt\"\ncommand = \"x\"\nparser = \"crystal\"\noutput = \"o\""),
            task("id = \"scf\"\ncommand = \"echo {{ tasks.opt.results.final_energy }}\""),
            task("id = \"bad\"\ncommand = \"x\"\nwhen = \"tasks.opz.results.converged\""),
            task("id = \"bad2\"\ncommand = \"x\"\nwhen = \"tasks.opt.results.energy < 0\""),
        ];
        let problems = check(&mut tasks);
        assert_eq!(tasks[1].depends_on, vec!["opt".to_string()]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("unknown task \"opz\"") && problems[0].contains("opt"));
        assert!(problems[1].contains("\"energy\" is not a field"));
    }

    #[test]
    fn resolves_texts_and_typed_params() {
        let mut up = BTreeMap::new();
        up.insert(
            "opt".to_string(),
            Upstream {
                status: "COMPLETED".into(),
                exit_code: Some(0),
                results: serde_json::json!({"final_energy": -75.5, "converged": true}),
                points: None,
            },
        );
        let mut files = BTreeMap::new();
        files.insert(
            "opt".to_string(),
            BTreeSet::from(["out/fort.34".to_string()]),
        );
        let ctx = Context::new(&up, &files, &BTreeMap::new());
        let t = task(
            "id = \"scf\"\ntemplate = \"x\"\nparams = { e = \"{{ tasks.opt.results.final_energy }}\", s = \"E={{ tasks.opt.results.final_energy }}\" }",
        );
        let r = ctx.resolve(&t).unwrap();
        assert_eq!(r.params["e"], serde_json::json!(-75.5));
        assert_eq!(r.params["s"], serde_json::json!("E=-75.5"));
        assert_eq!(
            ctx.render("cp {{ tasks.opt.files[\"out/fort.34\"] }} fort.20")
                .unwrap(),
            "cp fort.34 fort.20"
        );
        assert!(ctx
            .truth("tasks.opt.results.converged and tasks.opt.results.final_energy < -70")
            .unwrap());
        assert!(!ctx.truth("tasks.opt.results.final_energy > 0").unwrap());
        let e = ctx.render("{{ tasks.opt.results.missing }}").unwrap_err();
        assert!(e.contains("missing") || e.contains("undefined"), "{e}");
    }

    #[test]
    fn f3_an_upstream_value_is_one_shell_word_in_a_string_command_and_as_is_in_argv() {
        let mut up = BTreeMap::new();
        up.insert(
            "ask".to_string(),
            Upstream {
                status: "COMPLETED".into(),
                exit_code: Some(0),
                results: serde_json::json!({"s": "s1 $(touch pwned) `id`; it's", "n": 3}),
                points: None,
            },
        );
        let ctx = Context::new(&up, &BTreeMap::new(), &BTreeMap::new());
        let shell = task("id = \"t\"\ncommand = \"prog {{ tasks.ask.results.s }} -n {{ tasks.ask.results.n }} {{ tasks.ask.results.s | unquoted }}\"");
        let r = ctx.resolve(&shell).unwrap();
        assert_eq!(
            r.command,
            Some(Command::Shell(
                "prog 's1 $(touch pwned) `id`; it'\\''s' -n 3 s1 $(touch pwned) `id`; it's".into()
            ))
        );
        let argv = task("id = \"t\"\ncommand = [\"prog\", \"{{ tasks.ask.results.s }}\"]\nenv = { V = \"{{ tasks.ask.results.s }}\" }");
        let r = ctx.resolve(&argv).unwrap();
        assert_eq!(
            r.command,
            Some(Command::Argv(vec![
                "prog".into(),
                "s1 $(touch pwned) `id`; it's".into()
            ]))
        );
        assert_eq!(r.env["V"], "s1 $(touch pwned) `id`; it's");
    }
}
