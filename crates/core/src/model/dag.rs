//! Validation of the task graph: duplicate ids, unknown dependencies and
//! every cycle, each reported by name.

use std::collections::{HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};

/// Checks a task graph given as `(id, depends_on)` pairs.
///
/// Returns one message per problem (empty when the graph is a valid DAG):
/// every duplicate id, every unknown dependency (with a suggestion when a
/// known id is close), every self-dependency and every cycle, the latter as
/// a path such as `a -> b -> c -> a`.
pub fn validate<'a, I, D>(tasks: I) -> Vec<String>
where
    I: IntoIterator<Item = (&'a str, D)>,
    D: IntoIterator<Item = &'a str>,
{
    let tasks: Vec<(&str, Vec<&str>)> = tasks
        .into_iter()
        .map(|(id, deps)| (id, deps.into_iter().collect()))
        .collect();
    let mut problems = Vec::new();
    let mut index: HashMap<&str, NodeIndex> = HashMap::new();
    let mut graph: DiGraph<&str, ()> = DiGraph::new();
    let mut reported_dup = HashSet::new();
    for (id, _) in &tasks {
        if index.contains_key(id) {
            if reported_dup.insert(*id) {
                problems.push(format!(
                    "task id \"{id}\" is declared more than once; give each [[tasks]] entry its own id"
                ));
            }
        } else {
            index.insert(id, graph.add_node(id));
        }
    }
    let mut seen_edges = HashSet::new();
    for (id, deps) in &tasks {
        let to = index[id];
        for dep in deps {
            match index.get(dep) {
                None => problems.push(unknown_dep(id, dep, index.keys().copied())),
                Some(&from) if from == to => problems.push(format!(
                    "task \"{id}\": depends_on lists itself; remove \"{id}\" from its depends_on"
                )),
                Some(&from) => {
                    if seen_edges.insert((from, to)) {
                        graph.add_edge(from, to, ());
                    }
                }
            }
        }
    }
    for scc in petgraph::algo::kosaraju_scc(&graph) {
        if scc.len() > 1 {
            let path = cycle_path(&graph, &scc);
            problems.push(format!(
                "dependency cycle: {}; remove one of these depends_on entries",
                path.join(" -> ")
            ));
        }
    }
    problems
}

/// `; did you mean "x"?` for the closest of `known`, or `; known: …`.
pub fn did_you_mean(name: &str, known: &[&str]) -> String {
    match closest(name, known.iter().copied()) {
        Some(k) => format!("; did you mean \"{k}\"?"),
        None => format!("; known tasks: {}", known.join(", ")),
    }
}

/// The "did you mean" of a name not in `known`: `; did you mean "x"?` for
/// a close one, else `; did you mean one of: a, b?` when there are a few
/// (at most 8), else nothing.
pub fn suggestion(name: &str, known: &[&str]) -> String {
    match closest(name, known.iter().copied()) {
        Some(k) => format!("; did you mean \"{k}\"?"),
        None if !known.is_empty() && known.len() <= 8 => {
            format!("; did you mean one of: {}?", known.join(", "))
        }
        None => String::new(),
    }
}

/// The closest of `known` to `name`, if one is close enough to be a typo.
fn closest<'a>(name: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .map(|k| (edit_distance(k, name), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

fn unknown_dep<'a>(id: &str, dep: &str, known: impl Iterator<Item = &'a str>) -> String {
    match closest(dep, known).map(|k| ((), k)) {
        Some((_, k)) => format!(
            "task \"{id}\": depends_on \"{dep}\" is not a task in this workspace; did you mean \"{k}\"?"
        ),
        None => format!(
            "task \"{id}\": depends_on \"{dep}\" is not a task in this workspace; declare it or remove it"
        ),
    }
}

/// A cycle through the strongly connected component `scc`, as ids, with the
/// first id repeated at the end.
fn cycle_path<'a>(graph: &DiGraph<&'a str, ()>, scc: &[NodeIndex]) -> Vec<&'a str> {
    let members: HashSet<NodeIndex> = scc.iter().copied().collect();
    // Start from the smallest id so messages are stable.
    let start = *scc
        .iter()
        .min_by_key(|n| graph[**n])
        .expect("non-empty scc");
    // Breadth-first search inside the component for the shortest way back to `start`.
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = start;
    'search: while let Some(n) = queue.pop_front() {
        let mut next: Vec<NodeIndex> = graph.neighbors(n).filter(|m| members.contains(m)).collect();
        next.sort_by_key(|m| graph[*m]);
        for m in next {
            if m == start {
                last = n;
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    let mut path = vec![graph[start]];
    let mut n = last;
    let mut back = Vec::new();
    while n != start {
        back.push(graph[n]);
        n = parent[&n];
    }
    path.extend(back.into_iter().rev());
    path.push(graph[start]);
    path
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(tasks: &[(&'static str, &[&'static str])]) -> Vec<String> {
        validate(tasks.iter().map(|(id, deps)| (*id, deps.iter().copied())))
    }

    #[test]
    fn a_valid_dag_has_no_problems() {
        assert!(check(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"])]).is_empty());
    }

    #[test]
    fn reports_every_cycle_by_name() {
        let p = check(&[
            ("a", &["c"]),
            ("b", &["a"]),
            ("c", &["b"]),
            ("x", &["y"]),
            ("y", &["x"]),
            ("ok", &[]),
        ]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().any(|m| m.contains("a -> b -> c -> a")), "{p:?}");
        assert!(p.iter().any(|m| m.contains("x -> y -> x")), "{p:?}");
    }

    #[test]
    fn reports_unknown_dependencies_with_suggestions() {
        let p = check(&[("opt", &[]), ("scf", &["otp", "nothing_like_it"])]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("\"otp\"") && p[0].contains("did you mean \"opt\""),
            "{p:?}"
        );
        assert!(p[1].contains("\"nothing_like_it\"") && !p[1].contains("did you mean"));
    }

    #[test]
    fn reports_duplicates_and_self_loops() {
        let p = check(&[("a", &[]), ("a", &[]), ("a", &[]), ("b", &["b"])]);
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("\"a\" is declared more than once"));
        assert!(p[1].contains("\"b\": depends_on lists itself"));
    }

    #[test]
    fn long_chains_do_not_overflow() {
        let ids: Vec<String> = (0..50_000).map(|i| format!("t{i}")).collect();
        let deps: Vec<Vec<&str>> = (0..50_000)
            .map(|i| {
                if i == 0 {
                    vec![]
                } else {
                    vec![ids[i - 1].as_str()]
                }
            })
            .collect();
        let p = validate(
            ids.iter()
                .map(|s| s.as_str())
                .zip(deps.iter().map(|d| d.iter().copied())),
        );
        assert!(p.is_empty());
    }

    #[test]
    fn distance() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
