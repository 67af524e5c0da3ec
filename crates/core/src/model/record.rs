//! Tasks that come from outside the workspace file — the job records a
//! cluster keeps (`sync --into`), a planner's answer — are checked exactly
//! like a `[[tasks]]` entry of `matterstack.toml` (the same id, command,
//! resource, environment, path and operator rules of `model::spec`) before
//! anything is stored or run. A job record also names the cluster it was
//! read from: it never becomes a local task.

use super::spec::{self, CLUSTER_OPERATORS};
use super::{ids, TaskSpec};

/// Every problem of one task spec that did not come from the workspace
/// file (empty when valid): the checks `WorkspaceSpec::parse` makes on each
/// `[[tasks]]` entry, plus the checkpoint file names `init` checks. Checks
/// that span tasks (dependencies, cycles) are the caller's, on the whole
/// set (`WorkspaceSpec::problems`).
pub fn task_problems(t: &TaskSpec) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(m) = ids::check_id("task", &t.id) {
        problems.push(m);
        return problems;
    }
    spec::task_problems(t, None, &mut problems);
    for c in &t.checkpoint {
        if let Err(e) = matterstack_boundary::check_file_name(c) {
            problems.push(format!(
                "task \"{}\": checkpoint \"{c}\": {e}; name a file in the task directory",
                t.id
            ));
        }
    }
    problems
}

/// Where a job record was read from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The cluster profile's name.
    pub cluster: &'a str,
    /// The operator of that profile's scheduler (`slurm`, `pbs`, or `ssh`
    /// for a host without one).
    pub operator: &'a str,
}

/// The task a job record read back from `origin` describes, checked like a
/// workspace task and bound to that cluster: its cluster must be
/// `origin.cluster`, and its operator becomes the profile's (a record can
/// keep `ssh`, which runs on any profile's host) — never `local`, `human`
/// or `manual`. A record's command is the concrete one that ran, so a
/// template it names (and that template's params) is dropped.
///
/// Fails with every problem found, each naming the field, the value and
/// the rule.
pub fn validate_record(t: &TaskSpec, origin: Origin<'_>) -> Result<TaskSpec, Vec<String>> {
    let mut t = t.clone();
    let mut problems = Vec::new();
    if let Some(c) = &t.cluster {
        if c != origin.cluster {
            problems.push(format!(
                "task \"{}\": cluster = \"{c}\", but the record was read from cluster \"{}\"; a record only describes a job of the cluster it is on",
                t.id, origin.cluster
            ));
        }
    }
    if !(CLUSTER_OPERATORS.contains(&t.operator.as_str())
        && (t.operator == origin.operator || t.operator == "ssh"))
    {
        t.operator = origin.operator.to_string();
    }
    t.cluster = Some(origin.cluster.to_string());
    if t.command.is_some() && t.template.is_some() {
        t.template = None;
        t.params.clear();
    }
    problems.extend(task_problems(&t));
    if problems.is_empty() {
        Ok(t)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: Origin<'static> = Origin {
        cluster: "hpc",
        operator: "slurm",
    };

    fn task(extra: &str) -> TaskSpec {
        toml::from_str(&format!(
            "id = \"a\"\ncommand = \"echo hi\"\noperator = \"slurm\"\ncluster = \"hpc\"\n{extra}"
        ))
        .unwrap()
    }

    fn problems(t: &TaskSpec) -> String {
        validate_record(t, ORIGIN).unwrap_err().join("\n")
    }

    #[test]
    fn f2_a_record_is_checked_like_a_workspace_task() {
        let mut t = task("env = { \"A;B\" = \"x\" }");
        assert!(
            problems(&t).contains("\"A;B\" is invalid"),
            "{}",
            problems(&t)
        );
        t = task("inputs = [\"/etc/passwd\"]");
        assert!(problems(&t).contains("\"/etc/passwd\" is an absolute path"));
        t = task("outputs = [\"../../.ssh/authorized_keys\"]");
        assert!(problems(&t).contains("outputs:"), "{}", problems(&t));
        t = task("checkpoint = [\"../x.cpt\"]");
        assert!(problems(&t).contains("checkpoint \"../x.cpt\""));
        t = task("");
        t.id = "../../escape".into();
        assert!(problems(&t).contains("task id \"../../escape\""));
        t = task("partition = \"debug;rm -rf ~\"");
        assert!(problems(&t).contains("partition"));
    }

    #[test]
    fn f2_a_record_runs_where_it_was_read_from_never_locally() {
        let mut t = task("");
        t.operator = "local".into();
        t.cluster = None;
        let ok = validate_record(&t, ORIGIN).unwrap();
        assert_eq!(ok.operator, "slurm");
        assert_eq!(ok.cluster.as_deref(), Some("hpc"));
        t.operator = "human".into();
        assert_eq!(validate_record(&t, ORIGIN).unwrap().operator, "slurm");
        // ssh runs on any profile's host: kept.
        t.operator = "ssh".into();
        assert_eq!(validate_record(&t, ORIGIN).unwrap().operator, "ssh");
        // Another cluster's record is refused, naming both.
        let mut other = task("");
        other.cluster = Some("elsewhere".into());
        let p = problems(&other);
        assert!(
            p.contains("cluster = \"elsewhere\"") && p.contains("\"hpc\""),
            "{p}"
        );
    }

    #[test]
    fn a_resolved_template_task_keeps_its_concrete_command() {
        let mut t = task("template = \"psi4/energy\"\nparams = { method = \"scf\" }");
        t.command = Some(crate::model::Command::Shell("psi4 input.dat".into()));
        let ok = validate_record(&t, ORIGIN).unwrap();
        assert_eq!(ok.template, None);
        assert!(ok.params.is_empty());
    }
}
