//! The workspace file, `matterstack.toml`: parsing and validation.
//!
//! Parsing is pure: [`WorkspaceSpec::parse`] takes the text and returns
//! either a spec in which every id, dependency, resource and operator is
//! valid, or [`Error::Spec`] listing every problem found. Checks that need
//! the filesystem (do input files exist?) are made by the application layer.

use std::collections::{BTreeMap, HashSet};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{dag, ids, resources};
use crate::Error;

/// Operators this build can run tasks on.
pub const OPERATORS: &[&str] = &["local", "slurm", "pbs", "ssh", "human", "manual"];
/// Operators that need a `cluster`.
pub const CLUSTER_OPERATORS: &[&str] = &["slurm", "pbs", "ssh"];
/// Operators that wait for a person (the task is WAITING_EXTERNAL).
pub const EXTERNAL_OPERATORS: &[&str] = &["human", "manual"];

/// A parsed and validated `matterstack.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WorkspaceSpec {
    /// Settings of runs made from this workspace.
    #[serde(default)]
    pub run: RunSettings,
    /// The tasks, in file order.
    #[serde(default)]
    pub tasks: Vec<TaskSpec>,
}

/// The `[run]` table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// Core budget of the local operator (default: the machine's cores).
    pub cores: Option<u32>,
    /// Free text shown by `status`.
    pub description: Option<String>,
    /// The workflow's priority among runs driven together by `submit`
    /// (higher first; default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// A campaign's planner: a program (any language, run in the workspace
    /// directory) that reads the run's state and results as JSON on stdin
    /// whenever every task is finished and prints the next tasks
    /// (`{"tasks": [...]}`) or `{"done": true}` on stdout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner: Option<Command>,
    /// Seconds a planner may take before it is killed (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub planner_timeout_s: Option<u64>,
    /// The most planner rounds (default 1000): a guard against a planner
    /// that never says done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rounds: Option<u32>,
}

/// What a task runs: a string for `sh -c`, or an argv array run directly.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Command {
    /// Run by `sh -c` in the task directory.
    Shell(String),
    /// Run directly, without a shell.
    Argv(Vec<String>),
}

/// One `[[tasks]]` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Unique id; names the directory `tasks/<id>/`.
    pub id: String,
    /// What to run. Required unless `template` is given (then the
    /// template's command is used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Command>,
    /// A template (`psi4/energy`) rendered into the task directory at init.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Template parameter values.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Output parser (`psi4`, `xtb`, `gromacs`, `crystal`, `namd`); set by
    /// the template, or by hand for a command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parser: Option<String>,
    /// The file the parser reads, relative to the task directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Ids of tasks that must complete first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Cores the task uses (counts against the core budget).
    #[serde(default = "one")]
    pub cores: u32,
    /// Memory, with units (`"4GB"`); recorded, and passed to schedulers.
    #[serde(default)]
    pub memory: Option<String>,
    /// Walltime (`"01:00:00"`, `"30m"`); the task is killed and FAILED past it.
    #[serde(default)]
    pub walltime: Option<String>,
    /// Extra environment variables.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Names of secrets (tokens, passwords) the task gets as environment
    /// variables, read from matterstack's own environment at launch. Only
    /// the names are kept: the values never reach the store, evidence,
    /// events, logs or a file on a cluster (see `docs/SECURITY.md`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_env: Vec<String>,
    /// Workspace-relative files or directories copied into the task directory.
    #[serde(default)]
    pub inputs: Vec<String>,
    /// Files produced by upstream tasks, copied into this task's directory
    /// when it starts: `{ em = ["em.gro", "topol.top"] }` (each key must be
    /// in `depends_on`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files_from: BTreeMap<String, Vec<String>>,
    /// Automatic retries after a failure.
    #[serde(default)]
    pub retries: u32,
    /// Automatic new attempts after infrastructure failures — NODE_FAIL,
    /// PREEMPTED, BOOT_FAIL, a job the scheduler lost — counted apart from
    /// `retries` (default 3; 0 turns it off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transient_retries: Option<u32>,
    /// When true, a failure does not fail the run, and dependants still run.
    #[serde(default)]
    pub allow_failure: bool,
    /// Where the task runs.
    #[serde(default = "local")]
    pub operator: String,
    /// The cluster profile (for `slurm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Partition (default: the cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// QOS (default: the cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos: Option<String>,
    /// Account (default: the cluster's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Generic resources (`gpu:1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gres: Option<String>,
    /// Node features (`--constraint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    /// Files the task produces that are fetched back (default: everything
    /// in the remote job directory).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<String>,
    /// A condition over upstream results (`tasks.opt.results.converged`);
    /// when false the task is SKIPPED (not a failure). Checked at `init`
    /// against the tasks and parser fields it names, evaluated when the task
    /// becomes ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    /// When true, a dependency skipped by its `when` counts as satisfied and
    /// this task still runs (default: it is skipped too).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_skipped: bool,
    /// Higher runs first among ready tasks (default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub priority: i32,
    /// For `operator = "human"` and `"manual"`: what the person should do
    /// (Markdown, written to `instructions.md` / the kit's README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// For `operator = "human"`: the JSON Schema the response's `data` must
    /// satisfy (default: any object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<serde_json::Value>,
    /// Files that make a checkpoint of this task (`md.cpt`); `restart`
    /// continues from them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoint: Vec<String>,
    /// The command of an attempt that continues from the checkpoint
    /// (default: the task's command).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_command: Option<Command>,
    /// A parameter sweep, expanded at parse time into one task per point
    /// (`{ x = [0.1, 0.2] }` for a grid, `{ points = [{ x = 1 }, …] }` for a
    /// list); see `model::sweep`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sweep: BTreeMap<String, serde_json::Value>,
    /// Set by the sweep expansion on each point: the id of the swept task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_of: Option<String>,
    /// Set by the sweep expansion on each point: its values
    /// (`tasks.<sweep>.points[i].values` downstream).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sweep_point: BTreeMap<String, serde_json::Value>,
    /// Set by the engine at launch, never by users, never stored: live
    /// upstream jobs on the same cluster this task's job waits for
    /// (SLURM `--dependency=afterok`).
    #[serde(skip)]
    pub after: Vec<AfterJob>,
}

/// A live upstream job on the same cluster that a chained job waits for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AfterJob {
    /// The upstream's scheduler job id.
    pub job_id: String,
    /// The upstream task.
    pub task: String,
    /// The upstream's attempt number (locates its remote directories).
    pub attempt: u32,
    /// Files of the upstream (`files_from`) the job copies from the
    /// upstream's remote project directory when it starts.
    pub files: Vec<String>,
}

fn is_zero(n: &i32) -> bool {
    *n == 0
}

fn one() -> u32 {
    1
}

fn local() -> String {
    "local".to_string()
}

impl TaskSpec {
    /// The key of the operator that runs this task: `local`, or
    /// `<operator>@<cluster>`.
    pub fn operator_key(&self) -> String {
        match &self.cluster {
            Some(c) => format!("{}@{c}", self.operator),
            None => self.operator.clone(),
        }
    }

    /// Walltime in seconds, if set (validated at parse time).
    pub fn walltime_secs(&self) -> Option<u64> {
        self.walltime
            .as_deref()
            .and_then(|w| resources::parse_walltime_secs(w).ok())
    }
}

impl WorkspaceSpec {
    /// Parses and validates the text of a `matterstack.toml`.
    ///
    /// `file` is only used in messages. Fails with [`Error::Spec`] naming,
    /// for malformed TOML, the line and column; otherwise every invalid id,
    /// dependency, cycle, resource value, environment name, input path and
    /// operator, each with its fix.
    pub fn parse(text: &str, file: &Path) -> Result<WorkspaceSpec, Error> {
        let (spec, problems) = WorkspaceSpec::parse_all(text, file)?;
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(Error::Spec {
                file: file.to_path_buf(),
                problems,
            })
        }
    }

    /// [`WorkspaceSpec::parse`], returning what could be read with every
    /// problem found, so later checks (inputs, templates, clusters) can add
    /// theirs and all are reported at once. Fails only for text that is
    /// not TOML at all (with its line and column).
    pub fn parse_all(text: &str, file: &Path) -> Result<(WorkspaceSpec, Vec<String>), Error> {
        let (mut spec, mut problems) = match toml::from_str::<WorkspaceSpec>(text) {
            Ok(spec) => (spec, Vec::new()),
            Err(e) => match toml::from_str::<toml::Table>(text) {
                // Valid TOML that does not fit: read it part by part so
                // every problem is reported, not only the first.
                Ok(table) => super::lenient::parse_parts(text, table),
                Err(_) => {
                    return Err(Error::Spec {
                        file: file.to_path_buf(),
                        problems: vec![toml_message(text, &e)],
                    })
                }
            },
        };
        let swept = super::sweep::expand(&mut spec);
        let swept_ok = swept.is_ok();
        if let Err(p) = swept {
            problems.extend(p);
        }
        // References to upstream tasks become dependencies before the DAG
        // is checked (so a reference cycle is reported as a cycle). After
        // a failed sweep expansion the references are not checked (its
        // points' values are missing), the rest still is.
        if swept_ok {
            problems.extend(super::refs::check(&mut spec.tasks));
        }
        if !spec.tasks.is_empty() || problems.is_empty() {
            problems.extend(spec.problems());
        }
        Ok((spec, problems))
    }

    /// Every problem of a deserialized spec (empty when valid).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.tasks.is_empty() {
            problems.push(
                "no tasks: add at least one [[tasks]] table with an id and a command".to_string(),
            );
        }
        if self.run.cores == Some(0) {
            problems.push("[run] cores = 0: the core budget must be at least 1".to_string());
        }
        match &self.run.planner {
            Some(Command::Shell(s)) if s.trim().is_empty() => problems.push(
                "[run] planner = \"\": empty; give the program to run, e.g. planner = \"python3 planner.py\"".to_string(),
            ),
            Some(Command::Argv(v)) if v.first().is_none_or(|p| p.trim().is_empty()) => problems.push(
                format!("[run] planner = {v:?}: the array is empty or names no program; its first element is the program, e.g. planner = [\"python3\", \"planner.py\"]"),
            ),
            _ => {}
        }
        let mut bad_ids = HashSet::new();
        for t in &self.tasks {
            if let Err(m) = ids::check_id("task", &t.id) {
                problems.push(m);
                bad_ids.insert(t.id.as_str());
            }
        }
        for t in self
            .tasks
            .iter()
            .filter(|t| !bad_ids.contains(t.id.as_str()))
        {
            task_problems(t, self.run.cores, &mut problems);
        }
        problems.extend(dag::validate(
            self.tasks
                .iter()
                .map(|t| (t.id.as_str(), t.depends_on.iter().map(String::as_str))),
        ));
        problems
    }
}

pub(crate) fn task_problems(t: &TaskSpec, budget: Option<u32>, problems: &mut Vec<String>) {
    let id = &t.id;
    match (&t.command, &t.template) {
        (Some(Command::Shell(s)), None) if s.trim().is_empty() => problems.push(format!(
            "task \"{id}\": command is empty; give a shell command string or an argv array"
        )),
        (Some(Command::Argv(v)), None) if v.is_empty() || v[0].is_empty() => problems.push(format!(
            "task \"{id}\": command array is empty; its first element is the program to run"
        )),
        (None, None) if EXTERNAL_OPERATORS.contains(&t.operator.as_str()) => {}
        (None, None) => problems.push(format!(
            "task \"{id}\": no command; give command = \"…\" or template = \"psi4/energy\" (see `matterstack template list`)"
        )),
        (Some(_), Some(tpl)) => problems.push(format!(
            "task \"{id}\": both command and template = \"{tpl}\" are given; a template brings its own command, keep one"
        )),
        _ => {}
    }
    if t.template.is_none() && !t.params.is_empty() {
        problems.push(format!(
            "task \"{id}\": params are given without a template; add template = \"…\" or remove params"
        ));
    }
    if let Some(p) = &t.parser {
        if !matterstack_templates::parsers::PROGRAMS.contains(&p.as_str()) {
            problems.push(format!(
                "task \"{id}\": parser = \"{p}\" is unknown; use one of: {}",
                matterstack_templates::parsers::PROGRAMS.join(", ")
            ));
        }
        if t.output.is_none() && t.template.is_none() {
            problems.push(format!(
                "task \"{id}\": parser = \"{p}\" needs output = \"<file the program writes>\""
            ));
        }
    }
    for (up, files) in &t.files_from {
        if !t.depends_on.contains(up) {
            problems.push(format!(
                "task \"{id}\": files_from names \"{up}\", which is not in its depends_on; add it there"
            ));
        }
        for f in files {
            if let Err(e) = input_name(f) {
                problems.push(format!("task \"{id}\": files_from.{up}: {e}"));
            } else if let Err(e) = matterstack_boundary::check_file_name(f) {
                problems.push(format!("task \"{id}\": files_from.{up}: {f:?}: {e}"));
            }
        }
    }
    if let Some(o) = &t.output {
        if let Err(e) = input_name(o) {
            problems.push(format!("task \"{id}\": output: {e}"));
        }
    }
    if t.cores == 0 {
        problems.push(format!(
            "task \"{id}\": cores = 0; a task needs at least 1 core"
        ));
    }
    if let Some(b) = budget {
        if t.cores > b {
            problems.push(format!(
                "task \"{id}\": cores = {} exceeds the run's core budget [run] cores = {b}; lower it or raise the budget",
                t.cores
            ));
        }
    }
    if let Some(m) = &t.memory {
        if let Err(e) = resources::parse_memory_mb(m) {
            problems.push(format!("task \"{id}\": {e}"));
        }
    }
    if let Some(w) = &t.walltime {
        if let Err(e) = resources::parse_walltime_secs(w) {
            problems.push(format!("task \"{id}\": {e}"));
        }
    }
    for name in t.env.keys() {
        if let Err(e) = ids::check_env_name(name) {
            problems.push(format!("task \"{id}\": env: {e}"));
        }
    }
    for name in &t.secret_env {
        if let Err(e) = ids::check_env_name(name) {
            problems.push(format!("task \"{id}\": secret_env: {e}"));
        } else if t.env.contains_key(name) {
            problems.push(format!(
                "task \"{id}\": secret_env: \"{name}\" is also in env; a secret's value comes from matterstack's environment, remove it from env"
            ));
        }
    }
    let mut names = HashSet::new();
    for input in &t.inputs {
        match input_name(input) {
            Err(e) => problems.push(format!("task \"{id}\": inputs: {e}")),
            Ok(name) => {
                if !names.insert(name.clone()) {
                    problems.push(format!(
                        "task \"{id}\": inputs: two inputs are both named \"{name}\" in the task directory; rename one"
                    ));
                }
            }
        }
    }
    if CLUSTER_OPERATORS.contains(&t.operator.as_str()) && t.cluster.is_none() {
        problems.push(format!(
            "task \"{id}\": operator \"{}\" needs a cluster; add cluster = \"<name>\" (see `matterstack cluster list`)",
            t.operator
        ));
    }
    if t.cluster.is_some() && !CLUSTER_OPERATORS.contains(&t.operator.as_str()) {
        problems.push(format!(
            "task \"{id}\": cluster is set but operator is \"{}\"; set operator = \"slurm\" (or \"ssh\") or remove cluster",
            t.operator
        ));
    }
    for (field, v) in [
        ("partition", &t.partition),
        ("qos", &t.qos),
        ("account", &t.account),
        ("gres", &t.gres),
        ("constraint", &t.constraint),
    ] {
        if let Some(v) = v {
            let ok = !v.is_empty()
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-:,&|[]*".contains(c));
            if !ok {
                problems.push(format!(
                    "task \"{id}\": {field} = {v:?} has characters a scheduler does not accept; use letters, digits and . _ - : ,"
                ));
            }
        }
    }
    for out in &t.outputs {
        if let Err(e) = input_name(out) {
            problems.push(format!("task \"{id}\": outputs: {e}"));
        }
    }
    if !OPERATORS.contains(&t.operator.as_str()) {
        problems.push(format!(
            "task \"{id}\": unknown operator \"{}\"; use one of: {}",
            t.operator,
            OPERATORS.join(", ")
        ));
    }
    if t.operator == "human" {
        if t.command.is_some() || t.template.is_some() {
            problems.push(format!(
                "task \"{id}\": a human task runs no command; remove command/template and describe the decision in instructions = \"…\""
            ));
        }
        if let Some(schema) = &t.schema {
            if let Err(e) = super::response::check_schema(schema) {
                problems.push(format!("task \"{id}\": {e}"));
            }
        }
    } else if t.schema.is_some() {
        problems.push(format!(
            "task \"{id}\": schema is only used by operator = \"human\"; remove it or change the operator"
        ));
    }
}

/// Checks that an input path is relative and stays inside the workspace,
/// and returns the name it gets in the task directory.
pub fn input_name(input: &str) -> Result<String, String> {
    let p = Path::new(input);
    if input.is_empty() {
        return Err("an input path is empty".to_string());
    }
    if p.is_absolute() {
        return Err(format!(
            "\"{input}\" is an absolute path; inputs are relative to the workspace, copy the file into it"
        ));
    }
    let mut depth: i64 = 0;
    for c in p.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(format!(
                "\"{input}\" leaves the workspace; inputs must stay inside it"
            ));
        }
    }
    match p.file_name().and_then(|n| n.to_str()) {
        Some(name) if !name.starts_with(".attempts") => Ok(name.to_string()),
        _ => Err(format!("\"{input}\" does not name a file or directory")),
    }
}

/// Resolves an input against the workspace root (already checked by [`input_name`]).
pub fn input_source(root: &Path, input: &str) -> PathBuf {
    root.join(input)
}

/// Formats a TOML error as `line L, column C: message`.
pub(crate) fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("malformed TOML at line {line}, column {col}: {msg}")
        }
        None => format!("malformed TOML: {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<WorkspaceSpec, Vec<String>> {
        WorkspaceSpec::parse(text, Path::new("matterstack.toml")).map_err(|e| match e {
            Error::Spec { problems, .. } => problems,
            other => panic!("{other}"),
        })
    }

    #[test]
    fn full_example() {
        let spec = parse(
            r#"
            [run]
            cores = 4
            [[tasks]]
            id = "prep"
            command = ["python3", "prep.py", "--n", "3"]
            inputs = ["data/geom.xyz"]
            [[tasks]]
            id = "calc"
            command = "psi4 input.dat output.dat"
            depends_on = ["prep"]
            cores = 2
            memory = "4GB"
            walltime = "01:00:00"
            env = { OMP_NUM_THREADS = "2" }
            retries = 2
            allow_failure = true
            operator = "local"
            "#,
        )
        .unwrap();
        assert_eq!(spec.run.cores, Some(4));
        assert_eq!(spec.tasks.len(), 2);
        let calc = &spec.tasks[1];
        assert_eq!(
            calc.command,
            Some(Command::Shell("psi4 input.dat output.dat".into()))
        );
        assert_eq!(calc.walltime_secs(), Some(3600));
        assert_eq!(spec.tasks[0].cores, 1);
        assert_eq!(spec.tasks[0].operator, "local");
    }

    #[test]
    fn malformed_toml_names_line_and_column() {
        let p = parse("[[tasks]]\nid = \"a\"\ncommand = \"x\ncores = 1\n").unwrap_err();
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("malformed TOML at line 3, column"),
            "{p:?}"
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let p = parse("[[tasks]]\nid = \"a\"\ncommand = \"x\"\ncoers = 2\n").unwrap_err();
        assert!(p[0].contains("coers") && p[0].contains("line 4"), "{p:?}");
    }

    #[test]
    fn template_delimiters_in_a_bare_expression_are_a_problem_not_a_panic() {
        // Found by the fuzzer: minijinja's expression lexer panicked on "}}".
        for when in ["}}0", "{{ x }}", "a %} b"] {
            let p = parse(&format!(
                "[[tasks]]\nid = \"a\"\ncommand = \"x\"\nwhen = {when:?}\n"
            ))
            .unwrap_err();
            assert!(
                p.iter()
                    .any(|m| m.contains("does not belong in an expression")),
                "{p:?}"
            );
        }
    }

    #[test]
    fn files_from_implies_the_dependency() {
        let spec = parse(
            "[[tasks]]\nid = \"a\"\ncommand = \"x\"\n[[tasks]]\nid = \"b\"\ncommand = \"y\"\nfiles_from = { a = [\"out.txt\"] }\n",
        )
        .unwrap();
        assert_eq!(spec.tasks[1].depends_on, ["a"]);
        let p = parse(
            "[[tasks]]\nid = \"b\"\ncommand = \"y\"\nfiles_from = { nope = [\"out.txt\"] }\n",
        )
        .unwrap_err();
        assert!(p.iter().any(|m| m.contains("nope")), "{p:?}");
    }

    #[test]
    fn every_problem_is_listed() {
        let p = parse(
            r#"
            [[tasks]]
            id = "a/b"
            command = "x"
            [[tasks]]
            id = "c"
            command = ""
            memory = "lots"
            walltime = "soon"
            operator = "cloud"
            inputs = ["../secret", "/etc/passwd"]
            env = { "1BAD" = "x" }
            [[tasks]]
            id = "d"
            command = "x"
            operator = "human"
            depends_on = ["e"]
            [[tasks]]
            id = "f"
            command = "x"
            schema = { type = "object" }
            "#,
        )
        .unwrap_err();
        let all = p.join("\n");
        for needle in [
            "task id \"a/b\" contains a path separator",
            "task \"c\": command is empty",
            "memory \"lots\"",
            "walltime \"soon\"",
            "unknown operator \"cloud\"",
            "\"../secret\" leaves the workspace",
            "\"/etc/passwd\" is an absolute path",
            "\"1BAD\" is invalid",
            "a human task runs no command",
            "depends_on \"e\" is not a task",
            "schema is only used by operator = \"human\"",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    #[test]
    fn dotdot_id_is_rejected() {
        let p = parse("[[tasks]]\nid = \"..\"\ncommand = \"x\"\n").unwrap_err();
        assert!(p[0].contains("\"..\""), "{p:?}");
    }

    #[test]
    fn budget_is_checked() {
        let p = parse("[run]\ncores = 2\n[[tasks]]\nid = \"a\"\ncommand = \"x\"\ncores = 8\n")
            .unwrap_err();
        assert!(p[0].contains("exceeds the run's core budget"), "{p:?}");
    }

    #[test]
    fn inputs_inside_the_workspace_are_fine() {
        assert_eq!(input_name("data/x.xyz").unwrap(), "x.xyz");
        assert_eq!(input_name("a/../b.txt").unwrap(), "b.txt");
        assert!(input_name("a/../../b").is_err());
    }
}
