//! What a SLURM cluster offers, from `sinfo`: partitions with their limits.

use serde::{Deserialize, Serialize};

use super::duration::parse_slurm_duration;

/// The `sinfo` command whose output [`parse_sinfo_partitions`] reads: one
/// line per partition and node group, `|`-separated (name with `*` on the
/// default, time limit, nodes, CPUs per node, memory per node in MB, GRES,
/// availability).
pub const SINFO_PARTITIONS: &str = "sinfo -h -a -o '%P|%l|%D|%c|%m|%G|%a'";

/// One partition and its limits as `sinfo` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionLimits {
    /// Partition name.
    pub name: String,
    /// The cluster's default partition.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
    /// Longest walltime in seconds (`None`: unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_time_s: Option<u64>,
    /// Nodes in the partition.
    pub nodes: u32,
    /// CPUs of its largest node.
    pub cpus_per_node: u32,
    /// Memory of its largest node, MB.
    pub memory_mb_per_node: u64,
    /// Generic resources (`gpu:a100:4`), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gres: Option<String>,
    /// False when the partition is down, drained or inactive.
    pub up: bool,
}

/// Reads [`SINFO_PARTITIONS`] output; lines that do not parse are skipped,
/// and a partition listed over several node groups is merged (nodes
/// summed, the largest node kept).
pub fn parse_sinfo_partitions(text: &str) -> Vec<PartitionLimits> {
    let mut out: Vec<PartitionLimits> = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.trim().split('|').collect();
        let [name, time, nodes, cpus, mem, gres, avail] = f.as_slice() else {
            continue;
        };
        if name.is_empty() {
            continue;
        }
        // `2+` means "2 or more" across the group: keep the number.
        let num = |s: &str| s.trim_end_matches('+').trim().parse::<u64>().ok();
        let default = name.ends_with('*');
        let p = PartitionLimits {
            name: name.trim_end_matches('*').to_string(),
            default,
            max_time_s: parse_slurm_duration(time),
            nodes: num(nodes).unwrap_or(0).min(u32::MAX as u64) as u32,
            cpus_per_node: num(cpus).unwrap_or(0).min(u32::MAX as u64) as u32,
            memory_mb_per_node: num(mem).unwrap_or(0),
            gres: Some(gres.trim())
                .filter(|g| !g.is_empty() && *g != "(null)")
                .map(str::to_string),
            up: *avail == "up",
        };
        match out.iter_mut().find(|q| q.name == p.name) {
            Some(q) => {
                q.nodes = q.nodes.saturating_add(p.nodes);
                q.cpus_per_node = q.cpus_per_node.max(p.cpus_per_node);
                q.memory_mb_per_node = q.memory_mb_per_node.max(p.memory_mb_per_node);
                q.gres = q.gres.take().or(p.gres);
                q.up |= p.up;
                q.default |= p.default;
            }
            None => out.push(p),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_with_limits_default_and_groups_merged() {
        let text = "debug*|infinite|1|2|23593|(null)|up\n\
                    short|10:00|1|2|23593|(null)|up\n\
                    gpu|2-00:00:00|4|64|512000|gpu:a100:4|up\n\
                    gpu|2-00:00:00|2|128+|1024000|gpu:a100:8|up\n\
                    old|1:00:00|3|8|16000|(null)|down\n\
                    garbage line\n";
        let p = parse_sinfo_partitions(text);
        assert_eq!(p.len(), 4);
        assert!(p[0].default && p[0].max_time_s.is_none() && p[0].name == "debug");
        assert_eq!(p[1].max_time_s, Some(600));
        assert_eq!(
            (p[2].nodes, p[2].cpus_per_node, p[2].memory_mb_per_node),
            (6, 128, 1_024_000)
        );
        assert_eq!(p[2].gres.as_deref(), Some("gpu:a100:4"));
        assert_eq!(p[2].max_time_s, Some(2 * 86400));
        assert!(!p[3].up);
    }
}
