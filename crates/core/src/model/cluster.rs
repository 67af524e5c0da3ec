//! Cluster profiles (`clusters.toml`): where and how tasks reach a cluster.
//! Pure: parsing and validation; loading and saving live in `app::clusters`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ids;

/// A `clusters.toml` file: `[clusters.<name>]` tables.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClustersFile {
    /// Profiles by name.
    #[serde(default)]
    pub clusters: BTreeMap<String, ClusterProfile>,
}

/// The batch scheduler of a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// SLURM (`sbatch`, `squeue`, `scancel`).
    #[default]
    Slurm,
    /// PBS Pro / Torque (`qsub`, `qstat`, `qdel`).
    Pbs,
    /// No scheduler: tasks run directly on the host (the `ssh` operator).
    None,
}

/// How commands reach the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Over SSH (the system `ssh`, one multiplexed master connection).
    #[default]
    Ssh,
    /// On this machine (a scheduler reachable without SSH).
    Local,
}

impl std::str::FromStr for Scheduler {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "slurm" => Ok(Scheduler::Slurm),
            "pbs" => Ok(Scheduler::Pbs),
            "none" => Ok(Scheduler::None),
            other => Err(format!("scheduler {other:?}: use slurm, pbs or none")),
        }
    }
}

impl std::str::FromStr for TransportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ssh" => Ok(TransportKind::Ssh),
            "local" => Ok(TransportKind::Local),
            other => Err(format!("transport {other:?}: use ssh or local")),
        }
    }
}

/// One cluster.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterProfile {
    /// Host name, address or `~/.ssh/config` alias.
    pub host: String,
    /// SSH port (default: from ssh_config, usually 22).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Remote user (default: from ssh_config or the local user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Private key file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_file: Option<String>,
    /// `ssh` (default) or `local`.
    #[serde(default)]
    pub transport: TransportKind,
    /// `slurm` (default), `pbs` or `none`.
    #[serde(default)]
    pub scheduler: Scheduler,
    /// Default partition (SLURM) or queue (PBS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// Partitions users may choose (informational; `cluster test` checks them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partitions: Vec<String>,
    /// Default QOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos: Option<String>,
    /// Default account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Lines run before every job and remote command (`module load …`,
    /// `source ~/cry23.bashrc`). Trusted: they are the user's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<String>,
    /// Remote root of per-job project directories (kept).
    pub project_root: String,
    /// Remote root of per-job scratch directories (where jobs run).
    pub scratch_root: String,
    /// Politeness limits.
    #[serde(default)]
    pub limits: Limits,
    /// A template (name, looked up like task templates) that replaces the
    /// built-in job script for this cluster: it receives `job_name`,
    /// `command` (the task wrapped in matterstack's marker protocol),
    /// `output`, `error`, `cores`, `memory`, `walltime`, `partition`, `qos`,
    /// `account`, `gres`, `constraint`, `comment` — whichever it declares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_template: Option<String>,
    /// `pro` (PBS Professional / OpenPBS, default) or `torque`, for `pbs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pbs_flavor: Option<String>,
    /// Extra `-o Key=Value` options for ssh.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_options: Vec<String>,
    /// What `cluster probe` found there, when it was run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
}

/// A cluster's partitions, QOS, accounts and modules as `cluster probe`
/// found them; `init` and `cluster test` check tasks against it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    /// When it was probed (RFC 3339, UTC).
    pub at: String,
    /// Partitions with their limits.
    #[serde(default)]
    pub partitions: Vec<matterstack_schedulers::slurm::PartitionLimits>,
    /// QOS names (empty when the cluster has no accounting to ask).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qos: Vec<String>,
    /// Accounts the user may charge (empty when unknown).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// `module avail` (empty when the cluster has no environment modules).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<String>,
}

/// What a task asks of a cluster, for [`Probe::problems`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// Partition (the task's, else the profile's default).
    pub partition: Option<&'a str>,
    /// QOS.
    pub qos: Option<&'a str>,
    /// Walltime in seconds.
    pub walltime_s: Option<u64>,
    /// The walltime as written, for messages.
    pub walltime: Option<&'a str>,
    /// Cores.
    pub cores: u32,
}

impl Probe {
    /// What in `req` the cluster cannot give, each naming the value, the
    /// limit and the fix ("did you mean" for a misspelt partition or QOS).
    pub fn problems(&self, req: &Request<'_>) -> Vec<String> {
        let mut out = Vec::new();
        let names: Vec<&str> = self.partitions.iter().map(|p| p.name.as_str()).collect();
        let part = match req.partition {
            Some(name) => match self.partitions.iter().find(|p| p.name == name) {
                Some(p) => Some(p),
                None => {
                    out.push(format!(
                        "partition \"{name}\" does not exist on this cluster (probed {}){}",
                        self.at,
                        super::dag::suggestion(name, &names)
                    ));
                    None
                }
            },
            None => self.partitions.iter().find(|p| p.default),
        };
        if let Some(p) = part {
            if let (Some(max), Some(want)) = (p.max_time_s, req.walltime_s) {
                if want > max {
                    out.push(format!(
                        "walltime {} is over partition \"{}\"'s limit of {}; ask for at most that, or choose a partition with a longer limit{}",
                        req.walltime.unwrap_or("?"),
                        p.name,
                        matterstack_schedulers::slurm::format_slurm_time(max),
                        longer(&self.partitions, want)
                    ));
                }
            }
            if p.cpus_per_node > 0 && p.nodes > 0 {
                let most = u64::from(p.cpus_per_node) * u64::from(p.nodes);
                if u64::from(req.cores) > most {
                    out.push(format!(
                        "cores {} is more than partition \"{}\" has ({} nodes of {} CPUs)",
                        req.cores, p.name, p.nodes, p.cpus_per_node
                    ));
                }
            }
        }
        if let Some(q) = req.qos {
            if !self.qos.is_empty() && !self.qos.iter().any(|k| k == q) {
                out.push(format!(
                    "qos \"{q}\" is not one of this cluster's{}",
                    super::dag::suggestion(
                        q,
                        &self.qos.iter().map(String::as_str).collect::<Vec<_>>()
                    )
                ));
            }
        }
        out
    }
}

/// `; "long" allows it` naming partitions whose limit fits `want` seconds.
fn longer(parts: &[matterstack_schedulers::slurm::PartitionLimits], want: u64) -> String {
    let fit: Vec<&str> = parts
        .iter()
        .filter(|p| p.up && p.max_time_s.is_none_or(|m| m >= want))
        .map(|p| p.name.as_str())
        .collect();
    if fit.is_empty() {
        String::new()
    } else {
        format!(" ({} allow it)", fit.join(", "))
    }
}

/// Politeness limits of a cluster.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Jobs queued or running at once; tasks beyond wait locally.
    pub max_jobs: u32,
    /// Scheduler commands per second (token bucket rate).
    pub commands_per_second: f64,
    /// Burst of scheduler commands.
    pub burst: u32,
    /// Concurrent file transfers.
    pub concurrent_transfers: u32,
    /// Most elements in one SLURM job array (keep it at or below the
    /// cluster's `MaxArraySize`); larger sweeps are split into several arrays.
    pub max_array_size: u32,
    /// Elements of one job array running at once (`--array=…%N`); unset: no
    /// limit beyond the scheduler's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub array_parallel: Option<u32>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_jobs: 200,
            commands_per_second: 5.0,
            burst: 10,
            concurrent_transfers: 4,
            max_array_size: 1000,
            array_parallel: None,
        }
    }
}

impl ClustersFile {
    /// Parses a `clusters.toml`, validating every profile.
    ///
    /// Fails with one message per problem (TOML errors with line and column).
    pub fn parse(text: &str) -> Result<ClustersFile, Vec<String>> {
        let file: ClustersFile =
            toml::from_str(text).map_err(|e| vec![super::spec::toml_message(text, &e)])?;
        let problems: Vec<String> = file
            .clusters
            .iter()
            .flat_map(|(name, p)| p.problems(name))
            .collect();
        if problems.is_empty() {
            Ok(file)
        } else {
            Err(problems)
        }
    }
}

impl ClusterProfile {
    /// Every problem of this profile, each naming the field and the fix.
    pub fn problems(&self, name: &str) -> Vec<String> {
        let mut p = Vec::new();
        if let Err(m) = ids::check_id("cluster", name) {
            p.push(m);
        }
        let c = |field: &str, value: &str, what: &str| {
            format!("cluster \"{name}\": {field} = {value:?} {what}")
        };
        if self.host.is_empty()
            || self.host.starts_with('-')
            || self.host.contains(char::is_whitespace)
        {
            p.push(c(
                "host",
                &self.host,
                "is not a host name; give a host, address or ~/.ssh/config alias",
            ));
        }
        if let Some(u) = &self.user {
            if u.is_empty()
                || u.starts_with('-')
                || !u
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
            {
                p.push(c("user", u, "is not a user name"));
            }
        }
        for (field, root) in [
            ("project_root", &self.project_root),
            ("scratch_root", &self.scratch_root),
        ] {
            if !(root.starts_with('/') || root.starts_with("~/"))
                || root.contains("/../")
                || root.ends_with("/..")
            {
                p.push(c(
                    field,
                    root,
                    "must be an absolute path (or start with ~/) without \"..\"",
                ));
            }
        }
        if let Some(f) = &self.pbs_flavor {
            if f != "pro" && f != "torque" {
                p.push(c("pbs_flavor", f, "must be \"pro\" or \"torque\""));
            }
        }
        for opt in &self.ssh_options {
            if !opt.contains('=') || opt.starts_with('-') {
                p.push(c(
                    "ssh_options",
                    opt,
                    "must look like Key=Value (passed as -o Key=Value)",
                ));
            }
        }
        if !(self.limits.commands_per_second > 0.0 && self.limits.commands_per_second.is_finite()) {
            p.push(format!(
                "cluster \"{name}\": limits.commands_per_second = {} must be a positive number",
                self.limits.commands_per_second
            ));
        }
        if self.limits.max_jobs == 0
            || self.limits.burst == 0
            || self.limits.concurrent_transfers == 0
        {
            p.push(format!("cluster \"{name}\": limits.max_jobs, burst and concurrent_transfers must be at least 1"));
        }
        if self.limits.max_array_size == 0 || self.limits.array_parallel == Some(0) {
            p.push(format!(
                "cluster \"{name}\": limits.max_array_size and limits.array_parallel must be at least 1 (leave array_parallel unset for no limit)"
            ));
        }
        for (field, v) in [
            ("partition", &self.partition),
            ("qos", &self.qos),
            ("account", &self.account),
        ] {
            if let Some(v) = v {
                if !v
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
                    || v.is_empty()
                {
                    p.push(c(
                        field,
                        v,
                        "may only hold letters, digits, '.', '_' and '-'",
                    ));
                }
            }
        }
        p
    }

    /// The `user@host` (or `host`) destination for ssh.
    pub fn destination(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
        [clusters.hpc]
        host = "login.hpc.example.org"
        user = "alice"
        port = 22
        identity_file = "~/.ssh/id_ed25519"
        scheduler = "slurm"
        partition = "compute"
        partitions = ["compute", "gpu"]
        account = "chem-123"
        setup = ["module load crystal/23", "source ~/cry23.bashrc"]
        project_root = "/home/alice/matterstack"
        scratch_root = "/scratch/alice/matterstack"
        [clusters.hpc.limits]
        max_jobs = 50
        commands_per_second = 2.0
        array_parallel = 8
    "#;

    #[test]
    fn parses_a_full_profile() {
        let f = ClustersFile::parse(GOOD).unwrap();
        let p = &f.clusters["hpc"];
        assert_eq!(p.destination(), "alice@login.hpc.example.org");
        assert_eq!(p.scheduler, Scheduler::Slurm);
        assert_eq!(p.transport, TransportKind::Ssh);
        assert_eq!(p.limits.max_jobs, 50);
        assert_eq!(p.limits.burst, 10, "unset limits keep their defaults");
        assert_eq!(p.limits.max_array_size, 1000);
        assert_eq!(p.limits.array_parallel, Some(8));
    }

    #[test]
    fn reports_every_bad_field() {
        let bad = r#"
            [clusters."bad/name"]
            host = "-oProxyCommand=evil"
            user = "a b"
            project_root = "relative"
            scratch_root = "/s/../etc"
            partition = "x;rm"
            ssh_options = ["-F/tmp/x"]
            [clusters."bad/name".limits]
            commands_per_second = 0.0
            max_array_size = 0
        "#;
        let all = ClustersFile::parse(bad).unwrap_err().join("\n");
        for needle in [
            "cluster id \"bad/name\"",
            "host = \"-oProxyCommand=evil\"",
            "user = \"a b\"",
            "project_root = \"relative\"",
            "scratch_root = \"/s/../etc\"",
            "partition = \"x;rm\"",
            "ssh_options",
            "commands_per_second",
            "limits.max_array_size and limits.array_parallel must be at least 1",
        ] {
            assert!(all.contains(needle), "missing {needle} in {all}");
        }
    }

    #[test]
    fn unknown_keys_name_line_and_column() {
        let e =
            ClustersFile::parse("[clusters.a]\nhost = \"h\"\nprojet_root = \"/p\"\n").unwrap_err();
        assert!(
            e[0].contains("line 3") && e[0].contains("projet_root"),
            "{e:?}"
        );
    }

    #[test]
    fn a_probe_names_every_request_the_cluster_cannot_give() {
        use matterstack_schedulers::slurm::parse_sinfo_partitions;
        let probe = Probe {
            at: "2026-12-04T00:00:00Z".into(),
            partitions: parse_sinfo_partitions(
                "debug*|infinite|1|2|23593|(null)|up\nshort|10:00|1|2|23593|(null)|up\n",
            ),
            qos: vec!["normal".into(), "long".into()],
            accounts: vec![],
            modules: vec![],
        };
        let ok = Request {
            partition: Some("short"),
            walltime_s: Some(300),
            cores: 2,
            ..Request::default()
        };
        assert!(probe.problems(&ok).is_empty());
        // The default partition applies when none is named.
        assert!(probe
            .problems(&Request {
                walltime_s: Some(86_400),
                cores: 1,
                ..Request::default()
            })
            .is_empty());
        let bad = Request {
            partition: Some("short"),
            qos: Some("nromal"),
            walltime_s: Some(3600),
            walltime: Some("1h"),
            cores: 4,
        };
        let p = probe.problems(&bad).join("\n");
        assert!(
            p.contains("walltime 1h") && p.contains("00:10:00") && p.contains("debug allow"),
            "{p}"
        );
        assert!(p.contains("cores 4"), "{p}");
        assert!(p.contains("did you mean \"normal\""), "{p}");
        let typo = probe.problems(&Request {
            partition: Some("shrot"),
            cores: 1,
            ..Request::default()
        });
        assert!(typo[0].contains("did you mean \"short\""), "{typo:?}");
    }
}
