//! A run's task graph in layers, for the faces' DAG views: layer 0 holds
//! the tasks with no dependencies; every other task sits one layer below
//! its deepest dependency.

use std::collections::HashMap;

use serde::Serialize;

use super::Run;
use crate::Result;

/// One task in the graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphNode {
    /// Task id.
    pub id: String,
    /// Its operator key (`local`, `slurm@hpc`…).
    pub operator: String,
    /// What it depends on.
    pub deps: Vec<String>,
    /// Its layer (0: no dependencies).
    pub layer: usize,
}

/// The layered graph, nodes in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Graph {
    /// Every task.
    pub nodes: Vec<GraphNode>,
    /// How many layers.
    pub layers: usize,
}

impl Graph {
    /// Layers `tasks` (`(id, operator, deps)`, in declaration order, acyclic
    /// as `init` checked; an unknown dependency counts as none).
    pub fn layered(tasks: Vec<(String, String, Vec<String>)>) -> Graph {
        let at: HashMap<&str, usize> = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.0.as_str(), i))
            .collect();
        let mut layer: Vec<Option<usize>> = vec![None; tasks.len()];
        // Iterative depth-first: a dependency's layer before its dependant's.
        for start in 0..tasks.len() {
            let mut stack = vec![(start, false)];
            while let Some((i, expanded)) = stack.pop() {
                if layer[i].is_some() {
                    continue;
                }
                let deps: Vec<usize> = tasks[i]
                    .2
                    .iter()
                    .filter_map(|d| at.get(d.as_str()).copied())
                    .collect();
                if expanded || deps.iter().all(|d| layer[*d].is_some()) {
                    let l = deps
                        .iter()
                        .filter_map(|d| layer[*d])
                        .map(|l| l + 1)
                        .max()
                        .unwrap_or(0);
                    layer[i] = Some(l);
                } else {
                    stack.push((i, true));
                    stack.extend(
                        deps.into_iter()
                            .filter(|d| layer[*d].is_none())
                            .map(|d| (d, false)),
                    );
                }
            }
        }
        let nodes: Vec<GraphNode> = tasks
            .into_iter()
            .zip(layer)
            .map(|((id, operator, deps), l)| GraphNode {
                id,
                operator,
                deps,
                layer: l.unwrap_or(0),
            })
            .collect();
        let layers = nodes.iter().map(|n| n.layer + 1).max().unwrap_or(0);
        Graph { nodes, layers }
    }
}

impl Run {
    /// The run's task graph in layers.
    ///
    /// Fails on store errors.
    pub fn graph(&mut self) -> Result<Graph> {
        let tasks = self.store().read(|tx| tx.graph())?;
        Ok(Graph::layered(tasks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_sits_below_its_deepest_dependency() {
        let t = |id: &str, deps: &[&str]| {
            (
                id.to_string(),
                "local".to_string(),
                deps.iter().map(|d| d.to_string()).collect(),
            )
        };
        let g = Graph::layered(vec![
            t("report", &["a", "c"]),
            t("a", &[]),
            t("b", &["a"]),
            t("c", &["b"]),
        ]);
        let layer = |id: &str| g.nodes.iter().find(|n| n.id == id).unwrap().layer;
        assert_eq!(
            (layer("a"), layer("b"), layer("c"), layer("report")),
            (0, 1, 2, 3)
        );
        assert_eq!(g.layers, 4);
    }
}
