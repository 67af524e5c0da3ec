//! Reading a `matterstack.toml` that does not deserialize in one go: each
//! part on its own, so every unknown key (with a "did you mean") and every
//! bad value of every task is reported at once, and the tasks that do read
//! are still checked by the later passes.

use serde::Deserialize;

use super::spec::{RunSettings, TaskSpec, WorkspaceSpec};

/// The parts of `text` that deserialize, and a problem for each that does
/// not. `text` must be valid TOML (the caller reports a syntax error with
/// its line and column).
pub fn parse_parts(text: &str, table: toml::Table) -> (WorkspaceSpec, Vec<String>) {
    let mut problems = Vec::new();
    let mut spec = WorkspaceSpec {
        run: RunSettings::default(),
        tasks: Vec::new(),
    };
    for (key, value) in table {
        match key.as_str() {
            "run" => {
                if let Some(r) = read::<RunSettings>(value, "[run]", text, None, &mut problems) {
                    spec.run = r;
                }
            }
            "tasks" => {
                let toml::Value::Array(items) = value else {
                    problems.push(
                        "tasks must be a list of [[tasks]] tables, each with an id and a command"
                            .to_string(),
                    );
                    continue;
                };
                for (i, item) in items.into_iter().enumerate() {
                    let name = match item.get("id").and_then(|v| v.as_str()) {
                        Some(id) => format!("task \"{id}\""),
                        None => format!("tasks[{i}]"),
                    };
                    let id = item.get("id").and_then(|v| v.as_str()).map(str::to_string);
                    match read::<TaskSpec>(item, &name, text, Some(i), &mut problems) {
                        Some(t) => spec.tasks.push(t),
                        // A stand-in keeps its dependants from being
                        // reported as depending on a task that is not there.
                        None => spec.tasks.extend(id.and_then(placeholder)),
                    }
                }
            }
            other => problems.push(format!(
                "unknown table or key \"{other}\" at the top level (a workspace file has [run] and [[tasks]]){}",
                super::dag::suggestion(other, &["run", "tasks"])
            )),
        }
    }
    (spec, problems)
}

/// A task that only has an id and a no-op command.
fn placeholder(id: String) -> Option<TaskSpec> {
    let mut t = toml::Table::new();
    t.insert("id".into(), toml::Value::String(id));
    t.insert("command".into(), toml::Value::String("true".into()));
    TaskSpec::deserialize(toml::Value::Table(t)).ok()
}

/// Deserializes one part, dropping (and reporting) unknown keys one by one
/// so the rest is still read; `None` when a value is of the wrong type.
fn read<T: for<'de> Deserialize<'de>>(
    mut value: toml::Value,
    name: &str,
    text: &str,
    task_index: Option<usize>,
    problems: &mut Vec<String>,
) -> Option<T> {
    // At most as many rounds as the part has keys.
    let rounds = value.as_table().map_or(1, |t| t.len() + 1);
    for _ in 0..rounds {
        match T::deserialize(value.clone()) {
            Ok(t) => return Some(t),
            Err(e) => {
                let msg = e.message().trim().to_string();
                if let Some((key, expected)) = unknown_field(&msg) {
                    let known: Vec<&str> = expected.iter().map(String::as_str).collect();
                    let hint = super::dag::suggestion(&key, &known);
                    problems.push(format!(
                        "{name}: unknown key \"{key}\"{}{hint}",
                        line_of(text, &key, task_index)
                            .map(|l| format!(" at line {l}"))
                            .unwrap_or_default()
                    ));
                    if let Some(t) = value.as_table_mut() {
                        t.remove(&key);
                        continue;
                    }
                }
                problems.push(format!("{name}: {msg}"));
                return None;
            }
        }
    }
    None
}

/// From serde's "unknown field `x`, expected one of `a`, `b`": the key
/// and the known ones.
fn unknown_field(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), expected))
}

/// The line of `key = …` in the `task_index`-th `[[tasks]]` table (or
/// anywhere, for other parts), when it can be found.
fn line_of(text: &str, key: &str, task_index: Option<usize>) -> Option<usize> {
    let mut table: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if t.starts_with("[[tasks]]") {
            table = Some(table.map_or(0, |i| i + 1));
            continue;
        }
        let is_key = t
            .strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='));
        if is_key && (task_index.is_none() || table == task_index) {
            return Some(n + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unknown_key_and_bad_value_of_every_task_at_once() {
        let text = "[[tasks]]\nid = \"a\"\noperater = \"slurm\"\ncommand = \"x\"\n[[tasks]]\nid = \"b\"\ncommand = \"y\"\ncores = \"many\"\ncoers = 2\n[[tasks]]\nid = \"c\"\ncommand = \"z\"\n[runn]\n";
        let table: toml::Table = toml::from_str(text).unwrap();
        let (spec, p) = parse_parts(text, table);
        let all = p.join("\n");
        assert!(
            all.contains(
                "task \"a\": unknown key \"operater\" at line 3; did you mean \"operator\"?"
            ),
            "{all}"
        );
        assert!(
            all.contains("task \"b\": unknown key \"coers\" at line 9; did you mean \"cores\"?"),
            "{all}"
        );
        assert!(all.contains("task \"b\": invalid type"), "{all}");
        assert!(
            all.contains("\"runn\"") && all.contains("did you mean \"run\""),
            "{all}"
        );
        assert_eq!(p.len(), 4, "{all}");
        // The tasks that read are kept for the later checks.
        let ids: Vec<&str> = spec.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"], "b as a stand-in");
    }
}
