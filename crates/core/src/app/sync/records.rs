//! The job records `sync --into` reads back from a cluster are data from
//! outside: each is checked — where it lies, its identity fields, its task
//! spec exactly like a workspace task (`model::record`) — before anything
//! is stored. A task with any bad record is skipped whole and reported
//! (field, value, why); nothing of it is written.

use std::collections::{BTreeMap, HashSet};

use crate::model::cluster::{ClusterProfile, Scheduler};
use crate::model::record::{validate_record, Origin};
use crate::model::{ids, layout, TaskSpec};
use crate::operators::slurm::{JobInfo, JobRecord};

/// Statuses a job record can carry (the job script's and matterstack's).
const STATUSES: &[&str] = &[
    "PENDING",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
];

/// The operator of a profile's scheduler.
pub(super) fn profile_operator(profile: &ClusterProfile) -> &'static str {
    match profile.scheduler {
        Scheduler::Slurm => "slurm",
        Scheduler::Pbs => "pbs",
        Scheduler::None => "ssh",
    }
}

/// The records of one run, checked.
#[derive(Debug, Default)]
pub(super) struct Checked {
    /// Accepted records, each with its checked task spec, by task id then
    /// attempt number.
    pub accepted: BTreeMap<String, Vec<(JobInfo, TaskSpec)>>,
    /// One line per skipped record: where, which field, which value, why.
    pub skipped: Vec<String>,
}

/// True when the directory `dir` (first component of a record's path) can
/// hold jobs of run `run_id`: its id alone or `<id>-<uid>`.
pub(super) fn dir_of_run(dir: &str, run_id: &str) -> bool {
    match dir.strip_prefix(run_id) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('-')
            .is_some_and(|u| layout::check_run_uid(u).is_ok()),
        None => false,
    }
}

/// Problems of one record (empty when it may be imported), and its task
/// spec bound to the cluster it was read from.
fn check_one(
    r: &JobRecord,
    j: &JobInfo,
    cluster: &str,
    origin: Origin<'_>,
) -> (Vec<String>, Option<TaskSpec>) {
    let mut p = Vec::new();
    if let Some(u) = &j.run_uid {
        if let Err(e) = layout::check_run_uid(u) {
            p.push(format!("run_uid: {e}"));
        }
    }
    if let Err(e) = ids::check_id("task", &j.task) {
        p.push(format!("task: {e}"));
    }
    if j.spec.id != j.task {
        p.push(format!(
            "spec.id = \"{}\" differs from task = \"{}\"; a record describes one task",
            j.spec.id, j.task
        ));
    }
    if j.attempt == 0 {
        p.push("attempt = 0: attempts are numbered from 1".into());
    }
    if let Err(e) = layout::check_token(&j.token) {
        p.push(format!("token: {e}"));
    }
    if !STATUSES.contains(&j.status.as_str()) {
        p.push(format!(
            "status = \"{}\" is not a job status; one of {}",
            j.status,
            STATUSES.join(", ")
        ));
    }
    if j.cluster != cluster {
        p.push(format!(
            "cluster = \"{}\", but the record was read from cluster \"{cluster}\"; sync with the profile that submitted it",
            j.cluster
        ));
    }
    // Where it lies must be the directory of the attempt it claims to be.
    let want = format!(
        "{}/{}/{}",
        layout::remote_run_dir(&j.run, j.run_uid.as_deref()),
        j.task,
        j.attempt
    );
    if r.path != want {
        p.push(format!(
            "it lies in {} but describes {want}; a record belongs to its own job directory",
            r.path
        ));
    }
    let spec = match validate_record(&j.spec, origin) {
        Ok(s) => Some(s),
        Err(problems) => {
            p.extend(problems.into_iter().map(|m| format!("spec: {m}")));
            None
        }
    };
    (p, spec)
}

/// Checks the records of run `run_id` (identity `uid`) found on `cluster`.
pub(super) fn check(records: &[&JobRecord], cluster: &str, profile: &ClusterProfile) -> Checked {
    let origin = Origin {
        cluster,
        operator: profile_operator(profile),
    };
    let mut out = Checked::default();
    let mut bad_tasks: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut tokens = HashSet::new();
    let mut seen = HashSet::new();
    for r in records {
        let Ok(j) = &r.info else { continue };
        let (mut problems, spec) = check_one(r, j, cluster, origin);
        if !tokens.insert(j.token.clone()) {
            problems.push(format!(
                "token = \"{}\" is also another record's; every attempt has its own",
                j.token
            ));
        }
        if !seen.insert((j.task.clone(), j.attempt)) {
            problems.push(format!(
                "attempt {} of task \"{}\" is recorded twice",
                j.attempt, j.task
            ));
        }
        match spec {
            Some(spec) if problems.is_empty() => out
                .accepted
                .entry(j.task.clone())
                .or_default()
                .push((j.clone(), spec)),
            _ => bad_tasks.entry(j.task.clone()).or_default().extend(
                problems
                    .into_iter()
                    .map(|m| format!("{}/job_info.json: {m}", r.path)),
            ),
        }
    }
    for (task, problems) in bad_tasks {
        let dropped = out.accepted.remove(&task).map_or(0, |v| v.len());
        out.skipped.extend(problems);
        out.skipped.push(format!(
            "task \"{task}\" skipped ({} record(s), {dropped} of them valid): a task is imported whole or not at all",
            dropped + 1
        ));
    }
    for v in out.accepted.values_mut() {
        v.sort_by_key(|(j, _)| j.attempt);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> ClusterProfile {
        toml::from_str("host = \"login\"\nproject_root = \"/p\"\nscratch_root = \"/s\"\n").unwrap()
    }

    fn info(task: &str, attempt: u32, spec: &str) -> JobInfo {
        JobInfo {
            status: "COMPLETED".into(),
            scheduler_id: Some("7".into()),
            started_at: None,
            ended_at: None,
            exit_code: Some(0),
            schema: "matterstack.job_info/1".into(),
            run: "test".into(),
            task: task.into(),
            attempt,
            token: format!(
                "{}{attempt:02x}",
                task.bytes().map(|b| format!("{b:02x}")).collect::<String>()
            ),
            cluster: "hpc".into(),
            job_name: format!("ms.{task}.x"),
            created_at: 0,
            project_dir: String::new(),
            scratch_dir: String::new(),
            resources: serde_json::Value::Null,
            inputs: vec![],
            outputs: vec![],
            spec: toml::from_str(&format!("id = \"{task}\"\ncommand = \"true\"\n{spec}")).unwrap(),
            run_uid: Some("0123456789ab".into()),
        }
    }

    fn rec(j: JobInfo) -> JobRecord {
        JobRecord {
            path: format!("test-0123456789ab/{}/{}", j.task, j.attempt),
            info: Ok(j),
        }
    }

    #[test]
    fn f2_hostile_records_are_skipped_and_reported_good_ones_bound_to_the_cluster() {
        let good = rec(info("ok", 1, "operator = \"local\""));
        let mut dotdot = info("up", 1, "");
        dotdot.task = "../../x".into();
        dotdot.spec.id = "../../x".into();
        let dotdot = JobRecord {
            path: "test-0123456789ab/../../x/1".into(),
            info: Ok(dotdot),
        };
        let env = rec(info("env", 1, "env = { \"A;B\" = \"1\" }"));
        let abs = rec(info("abs", 1, "inputs = [\"/home/u/.ssh\"]"));
        let out = rec(info("out", 1, "outputs = [\"../../../etc/x\"]"));
        let mut other = info("other", 1, "");
        other.cluster = "elsewhere".into();
        let other = rec(other);
        // A record copied into another job's directory.
        let mut moved = rec(info("moved", 2, ""));
        moved.path = "test-0123456789ab/moved/1".into();
        let all = [&good, &dotdot, &env, &abs, &out, &other, &moved];
        let c = check(&all, "hpc", &profile());
        assert_eq!(c.accepted.keys().collect::<Vec<_>>(), ["ok"]);
        let spec = &c.accepted["ok"][0].1;
        assert_eq!(
            (spec.operator.as_str(), spec.cluster.as_deref()),
            ("slurm", Some("hpc"))
        );
        let report = c.skipped.join("\n");
        for needle in [
            "task id \"../../x\"",
            "\"A;B\" is invalid",
            "\"/home/u/.ssh\" is an absolute path",
            "task \"out\": outputs:",
            "cluster = \"elsewhere\"",
            "lies in test-0123456789ab/moved/1 but describes test-0123456789ab/moved/2",
            "task \"env\" skipped",
        ] {
            assert!(report.contains(needle), "missing {needle:?} in:\n{report}");
        }
    }

    #[test]
    fn one_bad_attempt_skips_its_whole_task() {
        let a1 = rec(info("t", 1, ""));
        let mut a2 = info("t", 2, "");
        a2.status = "WEIRD".into();
        let a2 = rec(a2);
        let c = check(&[&a1, &a2], "hpc", &profile());
        assert!(c.accepted.is_empty());
        assert!(c.skipped.join("\n").contains("status = \"WEIRD\""));
    }

    #[test]
    fn run_directories_are_recognised_with_or_without_identity() {
        assert!(dir_of_run("test", "test"));
        assert!(dir_of_run("test-0123456789ab", "test"));
        assert!(!dir_of_run("test-other", "test"));
        assert!(!dir_of_run("testing", "test"));
    }
}
