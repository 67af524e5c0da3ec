//! `cluster …` and `sync`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;
use matterstack_core::app::{clusters, sync};
use matterstack_core::model::cluster::{ClusterProfile, Limits, Scheduler, TransportKind};
use matterstack_core::transport::SshTransport;
use matterstack_core::Error;

use super::{ClusterAdd, ClusterCmd};

pub fn dispatch(cmd: ClusterCmd) -> Result<ExitCode> {
    match cmd {
        ClusterCmd::Add(a) => {
            let (name, replace) = (a.name.clone(), a.replace);
            let path = clusters::add(&name, profile_from(*a)?, replace)?;
            println!("added cluster {name} to {}", path.display());
            println!("check it with: matterstack cluster test {name}");
        }
        ClusterCmd::List { json } => {
            let all = clusters::load(Some(Path::new(".")))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                println!("no clusters; add one with `matterstack cluster add NAME --host …`");
            } else {
                println!(
                    "{:<16} {:<32} {:<9} PARTITION",
                    "NAME", "DESTINATION", "SCHEDULER"
                );
                for v in clusters::views(&all) {
                    println!(
                        "{:<16} {:<32} {:<9} {}",
                        v.name,
                        v.destination,
                        serde_json::to_value(v.scheduler)?.as_str().unwrap_or("-"),
                        v.partition.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        ClusterCmd::Queue { name, json } => {
            let all = clusters::load(Some(Path::new(".")))?;
            let p = clusters::get(&all, &name)?;
            let jobs = clusters::queue(&name, &p)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
            } else if jobs.is_empty() {
                println!("no jobs of yours on {name}");
            } else {
                println!(
                    "{:<10} {:<11} {:<24} {:>9} {:>9} {:<11} NAME",
                    "JOB", "STATE", "REASON", "ELAPSED", "LIMIT", "BY"
                );
                let secs = |s: Option<u64>| s.map_or("-".to_string(), |s| format!("{s}s"));
                for j in &jobs {
                    let mut reason = j.reason.clone().unwrap_or_else(|| "-".into());
                    if j.never {
                        reason.push_str(" (never starts)");
                    }
                    println!(
                        "{:<10} {:<11} {:<24} {:>9} {:>9} {:<11} {}",
                        j.job,
                        j.state,
                        reason,
                        secs(j.elapsed_secs),
                        secs(j.time_limit_secs),
                        if j.ours { "matterstack" } else { "-" },
                        j.name
                    );
                }
            }
        }
        ClusterCmd::Probe { name, json } => {
            let all = clusters::load(Some(Path::new(".")))?;
            let p = clusters::get(&all, &name)?;
            let (probe, path) = clusters::probe(&name, &p, Some(Path::new(".")))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&probe)?);
            } else {
                println!(
                    "{:<16} {:>12} {:>6} {:>6} {:>10}  GRES",
                    "PARTITION", "MAX TIME", "NODES", "CPUS", "MEM (MB)"
                );
                for q in &probe.partitions {
                    println!(
                        "{:<16} {:>12} {:>6} {:>6} {:>10}  {}{}",
                        format!("{}{}", q.name, if q.default { "*" } else { "" }),
                        q.max_time_s
                            .map(|s| matterstack_core::model::duration::duration_label(
                                s as i64 * 1000
                            ))
                            .unwrap_or_else(|| "unlimited".into()),
                        q.nodes,
                        q.cpus_per_node,
                        q.memory_mb_per_node,
                        q.gres.as_deref().unwrap_or("-"),
                        if q.up { "" } else { "  (not up)" }
                    );
                }
                let list = |v: &[String]| {
                    if v.is_empty() {
                        "none found".to_string()
                    } else {
                        v.join(", ")
                    }
                };
                println!("qos: {}", list(&probe.qos));
                println!("accounts: {}", list(&probe.accounts));
                println!(
                    "modules: {}",
                    if probe.modules.is_empty() {
                        "none found".to_string()
                    } else {
                        format!("{} (see --json)", probe.modules.len())
                    }
                );
                println!("recorded in {} at {}", path.display(), probe.at);
            }
        }
        ClusterCmd::Remove { name } => {
            let path = clusters::remove(&name)?;
            println!("removed cluster {name} from {}", path.display());
        }
        ClusterCmd::Show { name } => {
            let all = clusters::load(Some(Path::new(".")))?;
            let p = clusters::get(&all, &name)?;
            let mut one = std::collections::BTreeMap::new();
            one.insert(name.clone(), p.clone());
            print!(
                "{}",
                toml::to_string_pretty(&matterstack_core::model::cluster::ClustersFile {
                    clusters: one
                })?
            );
            if p.transport == TransportKind::Ssh {
                println!("\n# For a cluster that asks for a second factor, open the master once");
                println!("# yourself; matterstack attaches to it for as long as it lives:");
                println!("# {}", SshTransport::new(&p).master_command());
            }
        }
        ClusterCmd::Test { name, json } => {
            let all = clusters::load(Some(Path::new(".")))?;
            let p = clusters::get(&all, &name)?;
            let r = clusters::test(&name, &p)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "cluster {}: reached {} (round trip {:.1} ms)",
                    r.cluster, r.destination, r.latency_ms
                );
                println!("  scheduler: {}", r.scheduler);
                println!("  partitions: {}", r.partitions.join(", "));
                println!("  project_root {} writable", r.project_root);
                println!("  scratch_root {} writable", r.scratch_root);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn profile_from(a: ClusterAdd) -> Result<ClusterProfile> {
    let scheduler: Scheduler = a
        .scheduler
        .parse()
        .map_err(|m| Error::Input(format!("--{m}")))?;
    let transport: TransportKind = a
        .transport
        .parse()
        .map_err(|m| Error::Input(format!("--{m}")))?;
    let mut limits = Limits::default();
    if let Some(m) = a.max_jobs {
        limits.max_jobs = m;
    }
    if let Some(c) = a.commands_per_second {
        limits.commands_per_second = c;
    }
    Ok(ClusterProfile {
        host: a.host,
        port: a.port,
        user: a.user,
        identity_file: a.identity_file,
        transport,
        scheduler,
        partition: a.partition,
        partitions: Vec::new(),
        qos: a.qos,
        account: a.account,
        setup: a.setup,
        project_root: a.project_root,
        scratch_root: a.scratch_root,
        limits,
        ssh_options: a.ssh_options,
        job_template: a.job_template,
        pbs_flavor: None,
        probe: None,
    })
}

pub fn sync(cluster: &str, into: Option<&Path>, uid: Option<&str>, json: bool) -> Result<ExitCode> {
    let all = clusters::load(Some(Path::new(".")))?;
    let profile = clusters::get(&all, cluster)?;
    if let Some(dir) = into {
        let done = sync::rebuild(cluster, &profile, dir, uid)?;
        for line in &done.skipped {
            eprintln!("skipped: {line}");
        }
        println!(
            "rebuilt {} attempts from cluster {cluster}{}",
            done.attempts,
            if done.skipped.is_empty() {
                String::new()
            } else {
                format!(" ({} record problems, see above)", done.skipped.len())
            }
        );
        super::commands::remember(dir);
        println!("{}", dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let found = sync::summarize(&sync::discover(cluster, &profile)?);
    if json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        println!(
            "{:<24} {:<12} {:<20} {:>7}  {:<10} JOB",
            "RUN", "UID", "TASK", "ATTEMPT", "STATUS"
        );
        for j in &found {
            println!(
                "{:<24} {:<12} {:<20} {:>7}  {:<10} {}",
                j.run,
                j.uid.as_deref().unwrap_or("-"),
                j.task,
                j.attempt,
                j.status,
                j.scheduler_id.as_deref().unwrap_or("-")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
