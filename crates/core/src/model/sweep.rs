//! Sweeps: a task with `sweep = { … }` becomes one task per point.
//!
//! Two forms (keys are identifiers, values are strings, numbers or booleans):
//!
//! - a grid: `sweep = { x = [0.1, 0.2], y = ["a", "b"] }` — every
//!   combination (the cartesian product), keys in alphabetical order, the
//!   first key varying slowest;
//! - a list: `sweep = { points = [{ x = 1, y = 2 }, { x = 3, y = 4 }] }` —
//!   exactly these points, every point naming the same keys (`points` cannot
//!   be mixed with grid keys).
//!
//! Each point is a task `<id>.<key>-<value>[.<key>-<value>…]` (characters
//! outside the id alphabet become `_`, a clash gets `_2`, `_3`…) with
//! `sweep_of = <id>`. In its texts — command (and argv elements), restart
//! command, env values, walltime, memory, inputs, outputs, output,
//! partition, qos, account, gres, constraint, instructions, string params —
//! `{{ key }}` (spaces optional) becomes the value; any other `{{ … }}` is
//! left as it is. In a string command a value that is not a plain word is
//! inserted shell-quoted, so write `{{ key }}` unquoted there. A task that
//! also refers to upstream values (`{{ tasks.… }}`, or has `when`), or whose
//! point has a value holding `{{`, `{%`, `{#` or `tasks`, keeps
//! `{{ key }}` in its command, env values and params: they are rendered at
//! launch with the point's values as data (so a value holding `{{`, `{%` or
//! `tasks.` is never read as a template or a reference) and quoted there like
//! every value in a string command (`model::refs`). A param whose
//! whole value is `"{{ key }}"` takes the typed value; for a template task a
//! key used in no placeholder becomes a param of the same name. Every point
//! gets `MS_SWEEP_<KEY>` (upper case) in its environment unless `env` sets it.
//!
//! `depends_on = ["scan"]` naming a swept task means all of its points (a
//! gather); a swept task's own `depends_on` is copied to every point.
//!
//! Pure: [`expand`] rewrites the parsed spec before it is validated.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::spec::{Command, TaskSpec, WorkspaceSpec};

/// Most points one task may expand to.
pub const MAX_POINTS: usize = 10_000;
/// The key of the explicit-list form.
pub const POINTS_KEY: &str = "points";
/// Longest part of a point id taken from one value.
const MAX_VALUE_IN_ID: usize = 40;

/// One point: (key, value) pairs, keys sorted.
type Point = Vec<(String, Value)>;

/// Expands every swept task of `spec` into its points and rewrites the
/// dependencies that name swept tasks (see the module docs).
///
/// Fails with one message per problem — each naming the task, the field,
/// the value and the fix — when a sweep is malformed: not a table of lists,
/// an empty list, a value that is not a string, number or boolean, a key
/// that is not an identifier, more than [`MAX_POINTS`] points, `points`
/// mixed with grid keys, points naming different keys, a swept id used
/// twice, `files_from` naming a swept task, or `sweep_of` written by hand.
/// On failure `spec` is left as it was.
pub fn expand(spec: &mut WorkspaceSpec) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for t in spec
        .tasks
        .iter()
        .filter(|t| t.sweep_of.is_some() || !t.sweep_point.is_empty())
    {
        problems.push(format!(
            "task \"{}\": sweep_of and sweep_point are set by matterstack on the points of a sweep; remove them",
            t.id
        ));
    }
    if spec.tasks.iter().all(|t| t.sweep.is_empty()) {
        return if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        };
    }
    let mut count: HashMap<&str, usize> = HashMap::new();
    for t in &spec.tasks {
        *count.entry(t.id.as_str()).or_default() += 1;
    }
    let mut taken: HashSet<String> = spec
        .tasks
        .iter()
        .filter(|t| t.sweep.is_empty())
        .map(|t| t.id.clone())
        .collect();
    let mut expanded: Vec<Vec<TaskSpec>> = Vec::with_capacity(spec.tasks.len());
    let mut gathers: HashMap<String, Vec<String>> = HashMap::new();
    for t in &spec.tasks {
        if t.sweep.is_empty() {
            expanded.push(vec![t.clone()]);
            continue;
        }
        if count.get(t.id.as_str()).copied().unwrap_or(0) > 1 {
            problems.push(format!(
                "task \"{}\": the id of a swept task is used by another task too; rename one",
                t.id
            ));
        }
        match points(t) {
            Err(mut p) => problems.append(&mut p),
            Ok(points) => {
                let mut out = Vec::with_capacity(points.len());
                for point in &points {
                    match make_point(t, point, &mut taken) {
                        Ok(task) => out.push(task),
                        Err(p) => {
                            problems.push(p);
                            break;
                        }
                    }
                }
                gathers.insert(t.id.clone(), out.iter().map(|p| p.id.clone()).collect());
                expanded.push(out);
            }
        }
    }
    for t in &spec.tasks {
        for up in t.files_from.keys().filter(|up| gathers.contains_key(*up)) {
            problems.push(format!(
                "task \"{}\": files_from names the swept task \"{up}\"; its points' files would overwrite each other here — name one point (e.g. \"{}\") or read them as ../<point id>/<file>",
                t.id,
                gathers[up].first().map_or("", String::as_str)
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut tasks: Vec<TaskSpec> = expanded.into_iter().flatten().collect();
    for t in &mut tasks {
        if t.depends_on.iter().any(|d| gathers.contains_key(d)) {
            let mut seen = HashSet::new();
            t.depends_on = t
                .depends_on
                .iter()
                .flat_map(|d| gathers.get(d).cloned().unwrap_or_else(|| vec![d.clone()]))
                .filter(|d| seen.insert(d.clone()))
                .collect();
        }
    }
    spec.tasks = tasks;
    Ok(())
}

/// The points of a swept task, or every problem of its `sweep` table.
fn points(t: &TaskSpec) -> Result<Vec<Point>, Vec<String>> {
    let id = &t.id;
    let mut problems = Vec::new();
    if let Some(list) = t.sweep.get(POINTS_KEY) {
        if t.sweep.len() > 1 {
            problems.push(format!(
                "task \"{id}\": sweep.points cannot be combined with other sweep keys; put every key inside the points, or use the grid form alone"
            ));
        }
        let Some(list) = list.as_array() else {
            problems.push(format!(
                "task \"{id}\": sweep.points must be a list of tables, e.g. points = [{{ x = 1, y = 2 }}]"
            ));
            return Err(problems);
        };
        if list.is_empty() {
            problems.push(format!(
                "task \"{id}\": sweep.points is an empty list; give at least one point"
            ));
        }
        if list.len() > MAX_POINTS {
            problems.push(too_many(id, &list.len().to_string()));
        }
        let mut out = Vec::with_capacity(list.len());
        let mut first_keys: Option<Vec<String>> = None;
        for (i, p) in list.iter().enumerate() {
            let field = format!("sweep.points[{i}]");
            let Some(obj) = p.as_object().filter(|o| !o.is_empty()) else {
                problems.push(format!(
                    "task \"{id}\": {field} = {} is not a table of values; write {{ x = 1, y = 2 }}",
                    short(p)
                ));
                continue;
            };
            let mut point: Point = Vec::with_capacity(obj.len());
            for (k, v) in obj {
                check_key(id, &field, k, &mut problems);
                check_scalar(id, &format!("{field}.{k}"), v, &mut problems);
                point.push((k.clone(), v.clone()));
            }
            point.sort_by(|a, b| a.0.cmp(&b.0));
            let keys: Vec<String> = point.iter().map(|(k, _)| k.clone()).collect();
            match &first_keys {
                None => first_keys = Some(keys),
                Some(first) if *first != keys => problems.push(format!(
                    "task \"{id}\": {field} names the keys [{}] but sweep.points[0] names [{}]; every point must name the same keys",
                    keys.join(", "),
                    first.join(", ")
                )),
                Some(_) => {}
            }
            out.push(point);
        }
        check_env_clash(id, first_keys.as_deref().unwrap_or(&[]), &mut problems);
        return if problems.is_empty() {
            Ok(out)
        } else {
            Err(problems)
        };
    }
    let mut axes: Vec<(&String, &Vec<Value>)> = Vec::new();
    for (k, v) in &t.sweep {
        check_key(id, "sweep", k, &mut problems);
        let field = format!("sweep.{k}");
        match v.as_array() {
            None => problems.push(format!(
                "task \"{id}\": {field} = {} is not a list; give the values as a list, e.g. {k} = [1, 2, 3]",
                short(v)
            )),
            Some(list) if list.is_empty() => problems.push(format!(
                "task \"{id}\": {field} is an empty list; give at least one value"
            )),
            Some(list) => {
                for (i, x) in list.iter().enumerate() {
                    check_scalar(id, &format!("{field}[{i}]"), x, &mut problems);
                }
                axes.push((k, list));
            }
        }
    }
    let keys: Vec<String> = t.sweep.keys().cloned().collect();
    check_env_clash(id, &keys, &mut problems);
    let total = axes
        .iter()
        .try_fold(1usize, |acc, (_, l)| acc.checked_mul(l.len()));
    match total {
        Some(n) if n <= MAX_POINTS => {}
        _ => {
            let sizes: Vec<String> = axes.iter().map(|(_, l)| l.len().to_string()).collect();
            let n = total.map_or("too many".to_string(), |n| n.to_string());
            problems.push(too_many(id, &format!("{n} ({})", sizes.join(" × "))));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut out: Vec<Point> = vec![Vec::new()];
    for (k, list) in axes {
        out = out
            .into_iter()
            .flat_map(|p| {
                list.iter().map(move |v| {
                    let mut q = p.clone();
                    q.push((k.clone(), v.clone()));
                    q
                })
            })
            .collect();
    }
    Ok(out)
}

fn too_many(id: &str, what: &str) -> String {
    format!(
        "task \"{id}\": sweep has {what} points; at most {MAX_POINTS} per task — split it into several swept tasks"
    )
}

/// A short rendering of a value for messages.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

fn is_ident(k: &str) -> bool {
    let mut c = k.chars();
    c.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_key(id: &str, field: &str, k: &str, problems: &mut Vec<String>) {
    if !is_ident(k) {
        problems.push(format!(
            "task \"{id}\": {field} key \"{k}\" is not an identifier; use letters, digits and '_', not starting with a digit"
        ));
    } else if k == POINTS_KEY && field != "sweep" {
        problems.push(format!(
            "task \"{id}\": {field} uses the reserved key \"points\"; rename it"
        ));
    }
}

fn check_scalar(id: &str, field: &str, v: &Value, problems: &mut Vec<String>) {
    if !matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
        problems.push(format!(
            "task \"{id}\": {field} = {} is not a scalar; sweep values must be strings, numbers or booleans (write dates as strings)",
            short(v)
        ));
    }
}

/// Two keys that differ only in case would set the same `MS_SWEEP_<KEY>`.
fn check_env_clash(id: &str, keys: &[String], problems: &mut Vec<String>) {
    let mut seen: HashMap<String, &str> = HashMap::new();
    for k in keys {
        if let Some(other) = seen.insert(k.to_ascii_uppercase(), k) {
            problems.push(format!(
                "task \"{id}\": sweep keys \"{other}\" and \"{k}\" differ only in case (both would set MS_SWEEP_{}); rename one",
                k.to_ascii_uppercase()
            ));
        }
    }
}

/// The value as text: strings as they are, numbers and booleans as written.
pub fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The part of a point id for one value: id characters only, no `..`.
fn id_part(v: &Value) -> String {
    let mut out = String::new();
    for c in value_text(v).chars().take(MAX_VALUE_IN_ID) {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
            c
        } else {
            '_'
        };
        if c == '.' && out.ends_with('.') {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    if out.ends_with('.') {
        out.pop();
        out.push('_');
    }
    out
}

/// The id of a point: `<id>.<key>-<value>…`, made unique against `taken`.
fn point_id(base: &str, point: &Point, taken: &mut HashSet<String>) -> String {
    let mut id = base.to_string();
    for (k, v) in point {
        id.push('.');
        id.push_str(k);
        id.push('-');
        id.push_str(&id_part(v));
    }
    let mut unique = id.clone();
    let mut n = 2;
    while taken.contains(&unique) {
        unique = format!("{id}_{n}");
        n += 1;
    }
    taken.insert(unique.clone());
    unique
}

/// One point's task: the swept task with its values filled in.
fn make_point(
    t: &TaskSpec,
    point: &Point,
    taken: &mut HashSet<String>,
) -> Result<TaskSpec, String> {
    let mut p = t.clone();
    p.sweep = BTreeMap::new();
    p.sweep_of = Some(t.id.clone());
    p.sweep_point = point.iter().cloned().collect();
    p.id = point_id(&t.id, point, taken);
    let mut used: HashSet<String> = HashSet::new();
    // Texts the engine renders again at launch take the values there, as data.
    // (`p` carries the point's values, so this is the same rule the engine uses.)
    let deferred = super::refs::needs_resolution(&p);
    let mut sub = |s: &str, shell: bool| substitute(s, point, shell, &mut used);
    let command = |c: &Command, sub: &mut dyn FnMut(&str, bool) -> String| match c {
        Command::Shell(s) => Command::Shell(sub(s, true)),
        Command::Argv(v) => Command::Argv(v.iter().map(|a| sub(a, false)).collect()),
    };
    let substituted = t.command.as_ref().map(|c| command(c, &mut sub));
    if !deferred {
        p.command = substituted;
    }
    p.restart_command = t.restart_command.as_ref().map(|c| command(c, &mut sub));
    for v in p.env.values_mut() {
        let s = sub(v, false);
        if !deferred {
            *v = s;
        }
    }
    for field in [
        &mut p.walltime,
        &mut p.memory,
        &mut p.output,
        &mut p.partition,
        &mut p.qos,
        &mut p.account,
        &mut p.gres,
        &mut p.constraint,
        &mut p.instructions,
    ]
    .into_iter()
    .flatten()
    {
        *field = sub(field, false);
    }
    for f in p.inputs.iter_mut().chain(p.outputs.iter_mut()) {
        *f = sub(f, false);
    }
    for v in p.params.values_mut() {
        let x = typed(v, point, &mut used);
        if !deferred {
            *v = x;
        }
    }
    if t.template.is_some() {
        for (k, v) in point.iter().filter(|(k, _)| !used.contains(k)) {
            if p.params.contains_key(k) {
                return Err(format!(
                    "task \"{}\": params.{k} is given and {k} is also swept; remove params.{k} or use params.{k} = \"{{{{ {k} }}}}\"",
                    t.id
                ));
            }
            p.params.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in point {
        p.env
            .entry(format!(
                "{}{}",
                crate::env_vars::MS_SWEEP_PREFIX,
                k.to_ascii_uppercase()
            ))
            .or_insert_with(|| {
                if deferred {
                    format!("{{{{ {k} }}}}")
                } else {
                    value_text(v)
                }
            });
    }
    Ok(p)
}

/// A param value with placeholders filled: a string that is exactly one
/// placeholder takes the typed value; other strings get the text.
fn typed(v: &Value, point: &Point, used: &mut HashSet<String>) -> Value {
    match v {
        Value::String(s) => {
            if let Some((k, x)) =
                placeholder_only(s).and_then(|k| point.iter().find(|(p, _)| p == k))
            {
                used.insert(k.clone());
                return x.clone();
            }
            Value::String(substitute(s, point, false, used))
        }
        Value::Array(a) => Value::Array(a.iter().map(|x| typed(x, point, used)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), typed(x, point, used)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The key when `s` is exactly `{{ key }}` (spaces allowed).
fn placeholder_only(s: &str) -> Option<&str> {
    let t = s.trim();
    let (key, len) = placeholder_at(t)?;
    (len == t.len()).then_some(key)
}

/// A `{{ ident }}` at the start of `s`: the identifier and the length.
fn placeholder_at(s: &str) -> Option<(&str, usize)> {
    let rest = s.strip_prefix("{{")?;
    let inner_start = rest.len() - rest.trim_start().len();
    let rest = rest.trim_start();
    let ident_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let ident = &rest[..ident_len];
    if !is_ident(ident) {
        return None;
    }
    let after = &rest[ident_len..];
    let ws = after.len() - after.trim_start().len();
    after[ws..].strip_prefix("}}")?;
    Some((ident, 2 + inner_start + ident_len + ws + 2))
}

/// Replaces `{{ key }}` for the point's keys; leaves every other `{{ … }}`.
/// With `shell`, values that are not plain words are shell-quoted.
fn substitute(s: &str, point: &Point, shell: bool, used: &mut HashSet<String>) -> String {
    if !s.contains("{{") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while let Some(pos) = s[i..].find("{{") {
        let start = i + pos;
        out.push_str(&s[i..start]);
        match placeholder_at(&s[start..])
            .and_then(|(k, len)| point.iter().find(|(p, _)| p == k).map(|kv| (kv, len)))
        {
            Some(((k, v), len)) => {
                used.insert(k.clone());
                let text = value_text(v);
                if shell && !is_plain_word(&text) {
                    out.push_str(&matterstack_schedulers::sh_quote(&text));
                } else {
                    out.push_str(&text);
                }
                i = start + len;
            }
            None => {
                out.push_str("{{");
                i = start + 2;
            }
        }
    }
    out.push_str(&s[i..]);
    out
}

fn is_plain_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.,:+=@%/-".contains(c))
}

#[cfg(test)]
mod tests;
