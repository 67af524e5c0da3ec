//! One link per cluster per process, shared by every run the process drives:
//! the transport (so one SSH master), the token bucket on scheduler
//! commands, the resolved roots, the last queue listing and what is known
//! of the cluster's health. Runs on one cluster therefore share its limits
//! and its one scheduler query per pass ([`begin_pass`]).
//!
//! A link is keyed by the cluster's name and its whole profile: two runs
//! whose snapshots of a profile differ get separate links.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use matterstack_schedulers::politeness::TokenBucket;
use serde::Serialize;

use crate::model::cluster::{ClusterProfile, Limits};
use crate::transport::{CmdOutput, Transport, TransportError};

/// What a process knows of a cluster's reachability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Reachability {
    /// Nothing was sent to it yet.
    Unknown,
    /// The last command reached it.
    Reachable {
        /// When (ms since the epoch).
        at: i64,
    },
    /// The last command could not reach it.
    Unreachable {
        /// Since when (ms since the epoch): the first failure in a row.
        since: i64,
        /// Failures in a row.
        failures: u32,
        /// What the transport said.
        error: String,
    },
}

/// A cluster's link as faces show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkView {
    /// The cluster's name.
    pub cluster: String,
    /// Where it is (`user@host:port`, `local`).
    pub destination: String,
    /// Reachable, unreachable, or not tried.
    pub reachability: Reachability,
    /// Commands sent through this link by this process.
    pub commands: u64,
}

/// The last `squeue` listing of all the user's jobs, taken in one pass.
pub(crate) struct QueueSnapshot {
    /// The pass it was taken in.
    pub pass: u64,
    /// `squeue`'s output.
    pub text: String,
}

/// One cluster's shared state (see the module docs).
pub struct ClusterLink {
    cluster: String,
    transport: Box<dyn Transport>,
    bucket: Mutex<Option<TokenBucket>>,
    epoch: Instant,
    /// Held by the first command, so concurrent first commands do not each
    /// open their own connection before the master exists.
    first: Mutex<bool>,
    pub(crate) roots: OnceLock<(String, String)>,
    pub(crate) queue: Mutex<Option<QueueSnapshot>>,
    health: Mutex<(Reachability, u64)>,
}

impl ClusterLink {
    /// A link over `transport`, rate limited by `limits` (a private link:
    /// tests and probes; runs use [`shared`]).
    pub fn new(cluster: &str, transport: Box<dyn Transport>, limits: &Limits) -> ClusterLink {
        ClusterLink {
            cluster: cluster.to_string(),
            transport,
            // Profiles are validated, so the bucket is always valid; a bad
            // one would mean no limit rather than a crash.
            bucket: Mutex::new(TokenBucket::new(limits.commands_per_second, limits.burst).ok()),
            epoch: Instant::now(),
            first: Mutex::new(false),
            roots: OnceLock::new(),
            queue: Mutex::new(None),
            health: Mutex::new((Reachability::Unknown, 0)),
        }
    }

    /// Waits for a token of the cluster's scheduler command budget
    /// (`limits.commands_per_second`, `limits.burst`): waits, never refuses.
    pub fn take_token(&self) {
        loop {
            let wait = {
                let mut bucket = lock(&self.bucket);
                let Some(b) = bucket.as_mut() else {
                    return;
                };
                match b.try_take(self.epoch.elapsed()) {
                    Ok(()) => return,
                    Err(wait) => wait,
                }
            };
            std::thread::sleep(wait);
        }
    }

    /// The queue listing, held while a poll decides whether to reuse it.
    pub(crate) fn queue(&self) -> MutexGuard<'_, Option<QueueSnapshot>> {
        lock(&self.queue)
    }

    /// What faces show of this link.
    pub fn view(&self) -> LinkView {
        let (reachability, commands) = lock(&self.health).clone();
        LinkView {
            cluster: self.cluster.clone(),
            destination: self.transport.describe(),
            reachability,
            commands,
        }
    }

    fn through<T>(
        &self,
        f: impl FnOnce(&dyn Transport) -> Result<T, TransportError>,
    ) -> Result<T, TransportError> {
        let mut first = lock(&self.first);
        let out = if *first {
            drop(first);
            f(&*self.transport)
        } else {
            let out = f(&*self.transport);
            if out.is_ok() {
                *first = true;
            }
            drop(first);
            out
        };
        let now = crate::store::now_ms();
        let mut health = lock(&self.health);
        health.1 += 1;
        health.0 = match (&out, &health.0) {
            (Ok(_), _) => Reachability::Reachable { at: now },
            (
                Err(e),
                Reachability::Unreachable {
                    since, failures, ..
                },
            ) => Reachability::Unreachable {
                since: *since,
                failures: failures + 1,
                error: e.to_string(),
            },
            (Err(e), _) => {
                tracing::warn!(target: "matterstack::transport", cluster = %self.cluster, "unreachable: {e}");
                Reachability::Unreachable {
                    since: now,
                    failures: 1,
                    error: e.to_string(),
                }
            }
        };
        out
    }
}

impl Transport for ClusterLink {
    fn describe(&self) -> String {
        self.transport.describe()
    }

    fn exec(
        &self,
        label: &str,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CmdOutput, TransportError> {
        self.through(|t| t.exec(label, script, stdin))
    }

    fn upload_dir(&self, from: &Path, to: &str) -> Result<(), TransportError> {
        self.through(|t| t.upload_dir(from, to))
    }

    fn download(&self, from: &str, files: &[String], to: &Path) -> Result<(), TransportError> {
        self.through(|t| t.download(from, files, to))
    }
}

/// Locks `m`, going on with the data when a holder panicked (every value
/// kept here stays valid whatever a holder was doing).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

type Links = Mutex<HashMap<String, Arc<ClusterLink>>>;

fn links() -> &'static Links {
    static LINKS: OnceLock<Links> = OnceLock::new();
    LINKS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The process's link to `cluster` with `profile`, made on first use.
pub fn shared(cluster: &str, profile: &ClusterProfile) -> Arc<ClusterLink> {
    let key = format!(
        "{cluster}\u{0}{}",
        serde_json::to_string(profile).unwrap_or_default()
    );
    lock(links())
        .entry(key)
        .or_insert_with(|| {
            Arc::new(ClusterLink::new(
                cluster,
                crate::transport::for_profile(profile),
                &profile.limits,
            ))
        })
        .clone()
}

/// Every link this process has made, by cluster name.
pub fn views() -> Vec<LinkView> {
    let mut v: Vec<LinkView> = lock(links()).values().map(|l| l.view()).collect();
    v.sort_by(|a, b| (&a.cluster, &a.destination).cmp(&(&b.cluster, &b.destination)));
    v
}

static PASS: AtomicU64 = AtomicU64::new(0);

/// Starts a new pass of a driver over its runs: polls in one pass share one
/// queue listing per cluster. Outside a driver (pass 0) every poll queries.
pub fn begin_pass() -> u64 {
    crate::transport::log::record("driver", "pass");
    PASS.fetch_add(1, Ordering::SeqCst) + 1
}

/// The current pass (0: no driver).
pub(crate) fn current_pass() -> u64 {
    PASS.load(Ordering::SeqCst)
}
