//! The SQLite store of one run (`runs/<id>/state.sqlite`). This is the only
//! module that speaks SQL.
//!
//! The database is opened in WAL mode with `synchronous=NORMAL` and foreign
//! keys on; the file is created with mode 0600. Every writing tick runs in
//! one `BEGIN IMMEDIATE` transaction ([`Store::write`]), so two processes can
//! never interleave their decisions: the second waits (busy timeout) and then
//! sees the first one's committed result.

pub mod evidence;
mod schema;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::model::{AttemptStatus, SchedulerPhase, TaskSpec, TaskStatus};
use crate::{Error, Result};

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A run's store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// The run's own row.
#[derive(Debug, Clone)]
pub struct RunRow {
    /// Run id.
    pub id: String,
    /// Absolute path of the workspace it was made from.
    pub workspace: String,
    /// Creation time, ms since the epoch.
    pub created_at: i64,
    /// `RUNNING`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// Core budget of the local operator.
    pub core_budget: u32,
}

/// What the store knows of a task.
#[derive(Debug, Clone)]
pub struct TaskRow {
    /// Task id.
    pub id: String,
    /// Current status.
    pub status: TaskStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// Automatic retries used since the last manual retry.
    pub retries_used: u32,
    /// Exit code of the last finished attempt.
    pub exit_code: Option<i32>,
    /// Why it is in its state (failure reason, skip cause).
    pub reason: Option<String>,
    /// The task's effective spec: as declared, or with upstream values
    /// resolved / a restart's overrides once recorded.
    pub spec: TaskSpec,
}

/// A short row for listings.
#[derive(Debug, Clone)]
pub struct TaskSummary {
    /// Task id.
    pub id: String,
    /// Current status.
    pub status: TaskStatus,
    /// Attempts made so far.
    pub attempts: u32,
    /// Exit code of the last finished attempt.
    pub exit_code: Option<i32>,
    /// Why it is in its state.
    pub reason: Option<String>,
    /// Parsed program results (JSON text), if the task has a parser.
    pub results: Option<String>,
    /// Its live attempt's job, while it has one.
    pub job: Option<LiveJob>,
    /// The latest attempt's scheduler job id (or process id).
    pub last_external_id: Option<String>,
    /// When the latest attempt started running (seen running by the
    /// scheduler, else launched), ms since the epoch.
    pub started_at: Option<i64>,
    /// When the latest attempt ended, ms since the epoch.
    pub ended_at: Option<i64>,
}

/// What is known of a task's live attempt: its scheduler id and what the
/// scheduler last said of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveJob {
    /// Scheduler job id (or process id), once submitted.
    pub external_id: Option<String>,
    /// Queued or running, for scheduler-backed attempts once polled.
    pub phase: Option<SchedulerPhase>,
    /// The scheduler's reason while queued.
    pub reason: Option<String>,
    /// First seen queued, ms since the epoch.
    pub queued_at: Option<i64>,
    /// Attempt recorded, ms since the epoch.
    pub created_at: i64,
}

/// One row of the change feed: a task's new status (`attempt` none) or an
/// attempt's (`QUEUED` while its job waits), as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    /// Change id (the cursor).
    pub id: i64,
    /// When, ms since the epoch.
    pub at: i64,
    /// Task id.
    pub task_id: String,
    /// Attempt number, for an attempt's change.
    pub attempt: Option<u32>,
    /// The new status.
    pub status: String,
    /// A task's reason; an attempt's reason or queue reason.
    pub detail: Option<String>,
    /// An attempt's scheduler job id (or process id), once known.
    pub job: Option<String>,
}

/// An attempt.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    /// Row id.
    pub id: i64,
    /// The task it belongs to.
    pub task_id: String,
    /// 1-based attempt number within the task.
    pub n: u32,
    /// Idempotency token; travels with the process.
    pub token: String,
    /// Operator name.
    pub operator: String,
    /// Status.
    pub status: AttemptStatus,
    /// Pid or scheduler id, once known.
    pub external_id: Option<String>,
    /// Recorded, ms since the epoch.
    pub created_at: i64,
    /// Started, ms since the epoch.
    pub started_at: Option<i64>,
    /// Ended, ms since the epoch.
    pub ended_at: Option<i64>,
    /// Exit code.
    pub exit_code: Option<i32>,
    /// Failure reason.
    pub reason: Option<String>,
    /// The attempt this one continues from (the task's previous one).
    pub parent: Option<i64>,
    /// `run` (first), `retry`, or `restart` (continues from a checkpoint).
    pub kind: String,
    /// What the scheduler last said of its job (scheduler-backed attempts).
    pub sched_phase: Option<SchedulerPhase>,
    /// The scheduler's reason while the job is queued.
    pub queue_reason: Option<String>,
    /// When the job was first seen queued, ms since the epoch.
    pub queued_at: Option<i64>,
    /// When the scheduler was first seen running the job, ms since the epoch.
    pub running_at: Option<i64>,
    /// The resources it asked for (JSON object), from the task's effective
    /// spec when it was recorded.
    pub resources: Option<String>,
}

impl AttemptRow {
    /// What is known of its job while the attempt is live.
    pub fn live_job(&self) -> Option<LiveJob> {
        self.status.is_active().then(|| LiveJob {
            external_id: self.external_id.clone(),
            phase: self.sched_phase,
            reason: self.queue_reason.clone(),
            queued_at: self.queued_at,
            created_at: self.created_at,
        })
    }
}

impl Store {
    /// Creates a new store at `path` (which must not exist) holding the run
    /// and its tasks, all in one transaction.
    ///
    /// Fails if the file exists, cannot be created, or SQLite fails.
    pub fn create(path: &Path, run: &RunRow, spec_toml: &str, tasks: &[TaskSpec]) -> Result<Store> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::io("create", path, e))?;
        let mut store = Store::ready(Store::connection(path)?, path)?;
        store.write(|tx| {
            tx.execute(
                "INSERT INTO run (id, workspace, created_at, status, core_budget, spec_toml)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run.id,
                    run.workspace,
                    run.created_at,
                    run.status,
                    run.core_budget,
                    spec_toml
                ],
            )?;
            tx.insert_tasks(tasks)?;
            // Every new run gets its own identity (see `model::layout`).
            let uid = uuid::Uuid::new_v4().simple().to_string();
            tx.set_run_uid(Some(&uid[..crate::model::layout::RUN_UID_LEN]))?;
            Ok(())
        })?;
        Ok(store)
    }

    /// Opens an existing store and brings its schema up to date.
    ///
    /// Fails if the file is missing, is not a matterstack store, or a
    /// migration fails.
    pub fn open(path: &Path) -> Result<Store> {
        if !path.is_file() {
            return Err(Error::Input(format!(
                "{} does not exist: not a run directory (make one with `matterstack init`)",
                path.display()
            )));
        }
        let sql = |source| Error::Store {
            path: path.to_path_buf(),
            source,
        };
        let not_a_store = |why: &str| {
            Error::Input(format!(
                "{}: {why}, not a matterstack store; it was left as it is (a run's state.sqlite is made by `matterstack init`)",
                path.display()
            ))
        };
        let mut header = [0u8; 16];
        let n = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut header))
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            return Err(not_a_store("empty"));
        }
        if n < 16 || &header != b"SQLite format 3\0" {
            return Err(not_a_store("not an SQLite database"));
        }
        let conn = Store::connection(path)?;
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(sql)?;
        if version == 0 {
            return Err(not_a_store(
                "an SQLite database without matterstack's schema",
            ));
        }
        Store::ready(conn, path)
    }

    /// A connection to the database file at `path` that waits on locks.
    fn connection(path: &Path) -> Result<Connection> {
        let sql = |source| Error::Store {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(sql)?;
        Ok(conn)
    }

    /// Sets the connection's pragmas and brings the schema up to date.
    fn ready(mut conn: Connection, path: &Path) -> Result<Store> {
        let sql = |source| Error::Store {
            path: path.to_path_buf(),
            source,
        };
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
        )
        .map_err(sql)?;
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|e| Error::Migration {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits if it
    /// returns `Ok`; rolls back otherwise.
    pub fn write<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T, TxError>) -> Result<T> {
        self.with_tx(TransactionBehavior::Immediate, f)
    }

    /// Runs `f` in a read transaction (a consistent snapshot).
    pub fn read<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T, TxError>) -> Result<T> {
        self.with_tx(TransactionBehavior::Deferred, f)
    }

    fn with_tx<T>(
        &mut self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Tx<'_>) -> Result<T, TxError>,
    ) -> Result<T> {
        let path = self.path.clone();
        let sql = |source| Error::Store {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction_with_behavior(behavior).map_err(sql)?;
        let wrapped = Tx { tx };
        match f(&wrapped) {
            Ok(v) => {
                wrapped.tx.commit().map_err(sql)?;
                Ok(v)
            }
            Err(TxError::Sql(e)) => Err(sql(e)),
            Err(TxError::Other(e)) => Err(e),
        }
    }
}

/// An error inside a transaction: SQL, or anything else (which rolls back too).
#[derive(Debug)]
pub enum TxError {
    /// SQLite failed.
    Sql(rusqlite::Error),
    /// Something else failed.
    Other(Error),
}

impl From<rusqlite::Error> for TxError {
    fn from(e: rusqlite::Error) -> Self {
        TxError::Sql(e)
    }
}

impl From<Error> for TxError {
    fn from(e: Error) -> Self {
        TxError::Other(e)
    }
}

impl From<crate::model::state::IllegalTransition> for TxError {
    fn from(e: crate::model::state::IllegalTransition) -> Self {
        TxError::Other(e.into())
    }
}

/// A transaction on the store, with typed queries.
pub struct Tx<'c> {
    tx: rusqlite::Transaction<'c>,
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

type R<T> = std::result::Result<T, TxError>;

fn parse_status<T: std::str::FromStr<Err = String>>(s: String) -> R<T> {
    s.parse()
        .map_err(|e: String| TxError::Other(Error::Corrupt(e)))
}

impl Tx<'_> {
    /// The run row.
    pub fn run(&self) -> R<RunRow> {
        Ok(self.query_row(
            "SELECT id, workspace, created_at, status, core_budget FROM run",
            [],
            |r| {
                Ok(RunRow {
                    id: r.get(0)?,
                    workspace: r.get(1)?,
                    created_at: r.get(2)?,
                    status: r.get(3)?,
                    core_budget: r.get(4)?,
                })
            },
        )?)
    }

    /// The run's identity (none for a run made before identities existed).
    pub fn run_uid(&self) -> R<Option<String>> {
        Ok(self.query_row("SELECT uid FROM run", [], |r| r.get(0))?)
    }

    /// Sets the run's identity (`sync` gives a rebuilt run the one its jobs
    /// on the cluster carry).
    pub fn set_run_uid(&self, uid: Option<&str>) -> R<()> {
        self.execute("UPDATE run SET uid = ?1", params![uid])?;
        Ok(())
    }

    /// The workspace spec the run was made from (its `matterstack.toml` text).
    pub fn spec_toml(&self) -> R<String> {
        Ok(self.query_row("SELECT spec_toml FROM run", [], |r| r.get(0))?)
    }

    /// Records whether the run has a campaign planner (at `init`).
    pub fn set_has_planner(&self, yes: bool) -> R<()> {
        self.execute("UPDATE run SET has_planner = ?1", params![yes])?;
        Ok(())
    }

    /// The workspace text, if the run has a campaign planner.
    pub fn planner_spec_toml(&self) -> R<Option<String>> {
        Ok(self
            .query_row("SELECT spec_toml FROM run WHERE has_planner", [], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// True when the run has a planner that has not said it is done: the
    /// run is not finished even when every task is.
    pub fn planner_pending(&self) -> R<bool> {
        Ok(self.query_row(
            "SELECT has_planner AND NOT EXISTS (
                 SELECT 1 FROM planner_rounds WHERE json_extract(output, '$.done') = 1)
             FROM run",
            [],
            |r| r.get(0),
        )?)
    }

    /// Sets the run's status if it changed; returns whether it did.
    pub fn set_run_status(&self, status: &str) -> R<bool> {
        Ok(self.execute(
            "UPDATE run SET status = ?1 WHERE status <> ?1",
            params![status],
        )? > 0)
    }

    /// Adds tasks (validated by the caller; ids new to the run), after the
    /// existing ones. A task whose dependencies are all satisfied already
    /// (COMPLETED, or FAILED with `allow_failure`) starts READY.
    pub fn insert_tasks(&self, tasks: &[TaskSpec]) -> R<()> {
        let first: i64 =
            self.query_row("SELECT coalesce(max(seq) + 1, 0) FROM tasks", [], |r| {
                r.get(0)
            })?;
        let now = now_ms();
        let mut ins = self.prepare(
            "INSERT INTO tasks (id, seq, spec, status, remaining_deps, cores, retries,
                                allow_failure, updated_at, operator, priority)
             VALUES (?1, ?2, ?3, 'PENDING', 0, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for (i, t) in tasks.iter().enumerate() {
            let spec = serde_json::to_string(t).map_err(|e| Error::Corrupt(e.to_string()))?;
            ins.execute(params![
                t.id,
                first + i as i64,
                spec,
                t.cores,
                t.retries,
                t.allow_failure,
                now,
                t.operator_key(),
                t.priority
            ])?;
        }
        let mut dep =
            self.prepare("INSERT OR IGNORE INTO deps (task_id, dep_id) VALUES (?1, ?2)")?;
        for t in tasks {
            for d in &t.depends_on {
                dep.execute(params![t.id, d])?;
            }
        }
        self.execute(
            "UPDATE tasks SET remaining_deps = (
                 SELECT count(*) FROM deps d JOIN tasks u ON u.id = d.dep_id
                 WHERE d.task_id = tasks.id
                   AND NOT (u.status = 'COMPLETED' OR (u.status = 'FAILED' AND u.allow_failure)
                            OR (u.status = 'SKIPPED' AND u.skip_ok AND coalesce(tasks.spec ->> '$.allow_skipped', 0)))
             ) WHERE seq >= ?1",
            params![first],
        )?;
        self.execute(
            "UPDATE tasks SET status = 'READY' WHERE seq >= ?1 AND remaining_deps = 0",
            params![first],
        )?;
        Ok(())
    }

    /// The spec a task was declared with (before upstream values were
    /// resolved or a restart changed it).
    pub fn declared_spec(&self, id: &str) -> R<Option<TaskSpec>> {
        let spec: Option<String> = self
            .query_row("SELECT spec FROM tasks WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?;
        spec.map(|s| {
            serde_json::from_str(&s).map_err(|e| TxError::Other(Error::Corrupt(e.to_string())))
        })
        .transpose()
    }

    /// Records the effective spec of a task (upstream values resolved, or a
    /// restart's overrides), or forgets it (`None`: back to the declared one).
    pub fn set_resolved(&self, id: &str, spec: Option<&TaskSpec>) -> R<()> {
        let json = spec
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| Error::Corrupt(e.to_string()))?;
        self.prepare_cached("UPDATE tasks SET resolved = ?2 WHERE id = ?1")?
            .execute(params![id, json])?;
        // Scheduling reads cores and the operator key from their columns:
        // keep them those of the effective spec.
        let effective = match spec {
            Some(s) => Some(s.clone()),
            None => self.declared_spec(id)?,
        };
        if let Some(s) = effective {
            self.prepare_cached("UPDATE tasks SET cores = ?2, operator = ?3 WHERE id = ?1")?
                .execute(params![id, s.cores, s.operator_key()])?;
        }
        Ok(())
    }

    /// Marks a SKIPPED task as skipped by a condition (not a failure).
    pub fn set_skip_ok(&self, id: &str, ok: bool) -> R<()> {
        self.prepare_cached("UPDATE tasks SET skip_ok = ?2 WHERE id = ?1")?
            .execute(params![id, ok])?;
        Ok(())
    }

    /// True when a SKIPPED task was skipped by a condition (not a failure).
    pub fn skip_ok(&self, id: &str) -> R<bool> {
        Ok(self
            .prepare_cached("SELECT skip_ok FROM tasks WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?
            .unwrap_or(false))
    }

    /// Sets the kind (`restart`, …) of the task's next attempt.
    pub fn set_next_kind(&self, id: &str, kind: Option<&str>) -> R<()> {
        self.prepare_cached("UPDATE tasks SET next_kind = ?2 WHERE id = ?1")?
            .execute(params![id, kind])?;
        Ok(())
    }

    /// When anything last happened in the run (its latest event), ms
    /// since the epoch.
    pub fn last_activity(&self) -> R<Option<i64>> {
        Ok(self.query_row("SELECT max(at) FROM events", [], |r| r.get(0))?)
    }

    /// Changes after `cursor` (a change id; 0 for all), oldest first, at
    /// most `limit`. One indexed range read: cheap however large the run.
    pub fn changes_since(&self, cursor: i64, limit: usize) -> R<Vec<ChangeRow>> {
        let mut st = self.prepare_cached(
            "SELECT id, at, task_id, attempt, status, detail, job FROM changes
             WHERE id > ?1 ORDER BY id LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![cursor, limit as i64], |r| {
                Ok(ChangeRow {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    task_id: r.get(2)?,
                    attempt: r.get(3)?,
                    status: r.get(4)?,
                    detail: r.get(5)?,
                    job: r.get(6)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The id of the latest change (0 when none): a cursor that skips the
    /// history.
    pub fn last_change(&self) -> R<i64> {
        Ok(self.query_row("SELECT coalesce(max(id), 0) FROM changes", [], |r| r.get(0))?)
    }

    /// Why the run is paused, or `None` when it is not.
    pub fn paused(&self) -> R<Option<String>> {
        Ok(self.query_row("SELECT paused FROM run", [], |r| r.get(0))?)
    }

    /// Pauses the run with a reason, or resumes it (`None`).
    pub fn set_paused(&self, reason: Option<&str>) -> R<()> {
        self.execute("UPDATE run SET paused = ?1", params![reason])?;
        Ok(())
    }

    /// Records one planner round: what it was given (hash) and what it said.
    pub fn insert_planner_round(&self, input_sha256: &str, output: &str, added: usize) -> R<i64> {
        self.execute(
            "INSERT INTO planner_rounds (at, input_sha256, output, added) VALUES (?1, ?2, ?3, ?4)",
            params![now_ms(), input_sha256, output, added as i64],
        )?;
        Ok(self.last_insert_rowid())
    }

    /// Planner rounds so far, oldest first: `(n, output)`.
    pub fn planner_rounds(&self) -> R<Vec<(i64, String)>> {
        let mut st = self.prepare("SELECT n, output FROM planner_rounds ORDER BY n")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Every dependency edge `(task, its dependency)`, and every task's
    /// operator key, in declaration order: `(id, operator, deps)`.
    pub fn graph(&self) -> R<Vec<(String, String, Vec<String>)>> {
        let mut st = self.prepare("SELECT id, operator FROM tasks ORDER BY seq")?;
        let mut tasks: Vec<(String, String, Vec<String>)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, Vec::new())))?
            .collect::<Result<_, _>>()?;
        let at: std::collections::HashMap<String, usize> = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.0.clone(), i))
            .collect();
        let mut st = self.prepare("SELECT task_id, dep_id FROM deps ORDER BY rowid")?;
        let edges: Vec<(String, String)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (t, d) in edges {
            if let Some(&i) = at.get(&t) {
                tasks[i].2.push(d);
            }
        }
        Ok(tasks)
    }

    /// One task, or `None`.
    pub fn task(&self, id: &str) -> R<Option<TaskRow>> {
        let row = self
            .query_row(
                "SELECT id, status, attempts, retries_used, exit_code, reason,
                        coalesce(resolved, spec)
                 FROM tasks WHERE id = ?1",
                params![id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(id, st, attempts, retries_used, exit_code, reason, spec)| {
                Ok(TaskRow {
                    id,
                    status: parse_status(st)?,
                    attempts,
                    retries_used,
                    exit_code,
                    reason,
                    spec: serde_json::from_str(&spec)
                        .map_err(|e| TxError::Other(Error::Corrupt(e.to_string())))?,
                })
            },
        )
        .transpose()
    }

    /// READY tasks by priority, then declaration order, at most `limit`, as
    /// `(id, cores, operator key)` — without reading their specs.
    pub fn ready_tasks(&self, limit: usize) -> R<Vec<(String, u32, String)>> {
        let mut st = self.prepare_cached(
            "SELECT id, cores, operator FROM tasks WHERE status = 'READY'
             ORDER BY priority DESC, seq LIMIT ?1",
        )?;
        let rows = st
            .query_map(params![limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Sets a task's status, exit code and reason.
    pub fn set_task(
        &self,
        id: &str,
        status: TaskStatus,
        exit_code: Option<i32>,
        reason: Option<&str>,
    ) -> R<()> {
        self.prepare_cached(
            "UPDATE tasks SET status = ?2, exit_code = ?3, reason = ?4, updated_at = ?5
             WHERE id = ?1",
        )?
        .execute(params![id, status.as_str(), exit_code, reason, now_ms()])?;
        Ok(())
    }

    /// Records a task's parsed results (JSON text).
    pub fn set_results(&self, id: &str, json: &str) -> R<()> {
        self.prepare_cached("UPDATE tasks SET results = ?2 WHERE id = ?1")?
            .execute(params![id, json])?;
        Ok(())
    }

    /// A task's recorded results (JSON text), if any.
    pub fn results(&self, id: &str) -> R<Option<String>> {
        Ok(self
            .prepare_cached("SELECT results FROM tasks WHERE id = ?1")?
            .query_row(params![id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    /// Marks one dependency of `id` satisfied; returns how many remain.
    pub fn satisfy_one(&self, id: &str) -> R<u32> {
        self.prepare_cached(
            "UPDATE tasks SET remaining_deps = max(remaining_deps - 1, 0) WHERE id = ?1",
        )?
        .execute(params![id])?;
        Ok(self.query_row(
            "SELECT remaining_deps FROM tasks WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?)
    }

    /// Counts one more automatic retry of a task.
    pub fn bump_retries_used(&self, id: &str) -> R<()> {
        self.prepare_cached("UPDATE tasks SET retries_used = retries_used + 1 WHERE id = ?1")?
            .execute(params![id])?;
        Ok(())
    }

    /// Counts one more retry after an infrastructure failure; returns the
    /// count so far.
    pub fn bump_transient_used(&self, id: &str) -> R<u32> {
        self.prepare_cached("UPDATE tasks SET transient_used = transient_used + 1 WHERE id = ?1")?
            .execute(params![id])?;
        Ok(self.query_row(
            "SELECT transient_used FROM tasks WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?)
    }

    /// Infrastructure-failure retries used so far.
    pub fn transient_used(&self, id: &str) -> R<u32> {
        Ok(self.query_row(
            "SELECT transient_used FROM tasks WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?)
    }

    /// Operators whose submissions are backing off at `now`:
    /// `key → (failures, not_before, last error)`.
    pub fn backoffs(&self, now: i64) -> R<BTreeMap<String, (u32, i64, String)>> {
        let mut st = self.prepare_cached(
            "SELECT operator, failures, not_before, last_error FROM backoff WHERE not_before > ?1",
        )?;
        let rows = st
            .query_map(params![now], |r| {
                Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Failed submissions to `key` in a row so far.
    pub fn backoff_failures(&self, key: &str) -> R<u32> {
        Ok(self
            .prepare_cached("SELECT failures FROM backoff WHERE operator = ?1")?
            .query_row(params![key], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Records one more failed submission to `key`, holding submissions
    /// until `not_before`.
    pub fn note_backoff(&self, key: &str, not_before: i64, error: &str) -> R<()> {
        self.prepare_cached(
            "INSERT INTO backoff (operator, failures, not_before, last_error) VALUES (?1, 1, ?2, ?3)
             ON CONFLICT(operator) DO UPDATE SET failures = failures + 1,
                 not_before = excluded.not_before, last_error = excluded.last_error",
        )?
        .execute(params![key, not_before, error])?;
        Ok(())
    }

    /// Forgets the failures of `key` (a submission went through).
    pub fn clear_backoff(&self, key: &str) -> R<()> {
        self.prepare_cached("DELETE FROM backoff WHERE operator = ?1")?
            .execute(params![key])?;
        Ok(())
    }

    /// PENDING tasks bound for a SLURM cluster (candidates for submission
    /// ahead of their dependencies), by priority then declaration order.
    pub fn chain_candidates(&self, limit: usize) -> R<Vec<(String, String)>> {
        let mut st = self.prepare_cached(
            "SELECT id, operator FROM tasks INDEXED BY tasks_by_status_operator
             WHERE status = 'PENDING' AND operator >= 'slurm@' AND operator < 'slurm@\x7f'
             ORDER BY priority DESC, seq LIMIT ?1",
        )?;
        let rows = st
            .query_map(params![limit as i64], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The points of a sweep, in declaration order.
    pub fn sweep_points(&self, origin: &str) -> R<Vec<String>> {
        let mut st = self
            .prepare_cached("SELECT id FROM tasks WHERE spec ->> '$.sweep_of' = ?1 ORDER BY seq")?;
        let ids = st
            .query_map(params![origin], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Unsatisfied dependencies of a task.
    pub fn remaining_deps(&self, id: &str) -> R<u32> {
        Ok(self.query_row(
            "SELECT remaining_deps FROM tasks WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?)
    }

    /// RUNNING tasks (jobs submitted ahead, held by the scheduler) with a
    /// dependency that can no longer succeed, and that dependency.
    pub fn held_with_failed_dependency(&self) -> R<Vec<(String, String)>> {
        let mut st = self.prepare_cached(
            "SELECT t.id, min(u.id) FROM tasks t
               JOIN deps d ON d.task_id = t.id JOIN tasks u ON u.id = d.dep_id
             WHERE t.status = 'RUNNING' AND t.remaining_deps > 0
               AND (u.status = 'CANCELLED'
                    OR (u.status = 'FAILED' AND NOT u.allow_failure)
                    OR (u.status = 'SKIPPED'
                        AND NOT (u.skip_ok AND coalesce(t.spec ->> '$.allow_skipped', 0))))
             GROUP BY t.id",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Resets the automatic retry counter (on a manual retry).
    pub fn reset_retries_used(&self, id: &str) -> R<()> {
        self.execute(
            "UPDATE tasks SET retries_used = 0, transient_used = 0 WHERE id = ?1",
            params![id],
        )?;
        Ok(())
    }

    /// Marks one dependency of each dependant of `id` as satisfied and
    /// returns the dependants that are PENDING with nothing left to wait for.
    pub fn satisfy_dependants(&self, id: &str) -> R<Vec<String>> {
        self.prepare_cached(
            "UPDATE tasks SET remaining_deps = remaining_deps - 1
             WHERE id IN (SELECT task_id FROM deps WHERE dep_id = ?1)",
        )?
        .execute(params![id])?;
        let mut st = self.prepare_cached(
            "SELECT t.id FROM deps d JOIN tasks t ON t.id = d.task_id
             WHERE d.dep_id = ?1 AND t.status = 'PENDING' AND t.remaining_deps = 0",
        )?;
        let ids = st
            .query_map(params![id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Direct dependants of `id` with their status.
    pub fn dependants(&self, id: &str) -> R<Vec<(String, TaskStatus)>> {
        let mut st = self.prepare_cached(
            "SELECT t.id, t.status FROM deps d JOIN tasks t ON t.id = d.task_id WHERE d.dep_id = ?1",
        )?;
        let rows: Vec<(String, String)> = st
            .query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(id, s)| Ok((id, parse_status(s)?)))
            .collect()
    }

    /// Recounts the unsatisfied dependencies of `id` (a dependency is
    /// satisfied when COMPLETED, or FAILED with `allow_failure`) and returns
    /// the new count.
    pub fn recount_deps(&self, id: &str) -> R<u32> {
        self.execute(
            "UPDATE tasks SET remaining_deps = (
                 SELECT count(*) FROM deps d JOIN tasks t ON t.id = d.dep_id
                 WHERE d.task_id = ?1
                   AND NOT (t.status = 'COMPLETED' OR (t.status = 'FAILED' AND t.allow_failure)
                            OR (t.status = 'SKIPPED' AND t.skip_ok
                                AND coalesce(tasks.spec ->> '$.allow_skipped', 0)))
             ) WHERE id = ?1",
            params![id],
        )?;
        Ok(self.query_row(
            "SELECT remaining_deps FROM tasks WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?)
    }

    /// Records a new attempt (status CREATED) and returns its row id.
    /// Bumps the task's attempt count.
    pub fn insert_attempt(
        &self,
        task_id: &str,
        n: u32,
        token: &str,
        operator: &str,
        parent: Option<i64>,
    ) -> R<i64> {
        // Lineage: an attempt continues from the task's previous one; its
        // kind is `run` (first), `retry`, or what was asked (`restart`).
        self.prepare_cached(
            "INSERT INTO attempts (task_id, n, token, operator, status, created_at, parent, kind,
                                   resources)
             VALUES (?1, ?2, ?3, ?4, 'CREATED', ?5,
                     coalesce(?6, (SELECT max(id) FROM attempts WHERE task_id = ?1)),
                     coalesce((SELECT next_kind FROM tasks WHERE id = ?1),
                              CASE WHEN ?2 > 1 THEN 'retry' ELSE 'run' END),
                     (SELECT json_object('cores', s ->> '$.cores', 'memory', s ->> '$.memory',
                                         'walltime', s ->> '$.walltime',
                                         'partition', s ->> '$.partition', 'qos', s ->> '$.qos',
                                         'account', s ->> '$.account', 'gres', s ->> '$.gres',
                                         'constraint', s ->> '$.constraint',
                                         'params', json(s -> '$.params'))
                      FROM (SELECT coalesce(resolved, spec) AS s FROM tasks WHERE id = ?1)))",
        )?
        .execute(params![task_id, n, token, operator, now_ms(), parent])?;
        let id = self.last_insert_rowid();
        self.prepare_cached("UPDATE tasks SET attempts = ?2, next_kind = NULL WHERE id = ?1")?
            .execute(params![task_id, n])?;
        Ok(id)
    }

    /// Updates an attempt; `None` fields keep their value.
    #[allow(clippy::too_many_arguments)]
    pub fn update_attempt(
        &self,
        id: i64,
        status: AttemptStatus,
        external_id: Option<&str>,
        started_at: Option<i64>,
        ended_at: Option<i64>,
        exit_code: Option<i32>,
        reason: Option<&str>,
    ) -> R<()> {
        self.prepare_cached(
            "UPDATE attempts SET status = ?2,
                external_id = coalesce(?3, external_id),
                started_at = coalesce(?4, started_at),
                ended_at = coalesce(?5, ended_at),
                exit_code = coalesce(?6, exit_code),
                reason = coalesce(?7, reason)
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            status.as_str(),
            external_id,
            started_at,
            ended_at,
            exit_code,
            reason
        ])?;
        Ok(())
    }

    /// Records what the scheduler says of attempt `id`'s job: queued (with
    /// its reason) or running; `at` is kept as the first time it was seen
    /// in that phase.
    pub fn set_sched_phase(
        &self,
        id: i64,
        phase: SchedulerPhase,
        reason: Option<&str>,
        at: i64,
    ) -> R<()> {
        self.prepare_cached(
            "UPDATE attempts SET sched_phase = ?2, queue_reason = ?3,
                queued_at = CASE WHEN ?2 = 'QUEUED' THEN coalesce(queued_at, ?4) ELSE queued_at END,
                running_at = CASE WHEN ?2 = 'RUNNING' THEN coalesce(running_at, ?4) ELSE running_at END
             WHERE id = ?1",
        )?
        .execute(params![id, phase.as_str(), reason, at])?;
        Ok(())
    }

    /// Attempts that may still have a live process (CREATED or RUNNING).
    pub fn active_attempts(&self) -> R<Vec<AttemptRow>> {
        self.attempts_where("status IN ('CREATED', 'RUNNING')", params![])
    }

    /// Every attempt of a task, oldest first.
    pub fn attempts_of(&self, task_id: &str) -> R<Vec<AttemptRow>> {
        self.attempts_where("task_id = ?1 ORDER BY n", params![task_id])
    }

    /// The latest attempt of a task.
    pub fn last_attempt(&self, task_id: &str) -> R<Option<AttemptRow>> {
        Ok(self
            .attempts_where("task_id = ?1 ORDER BY n DESC LIMIT 1", params![task_id])?
            .pop())
    }

    fn attempts_where(&self, clause: &str, p: &[&dyn rusqlite::ToSql]) -> R<Vec<AttemptRow>> {
        let mut st = self.prepare_cached(&format!(
            "SELECT id, task_id, n, token, operator, status, external_id, created_at,
                    started_at, ended_at, exit_code, reason, parent, kind,
                    sched_phase, queue_reason, queued_at, running_at, resources
             FROM attempts WHERE {clause}"
        ))?;
        let rows = st
            .query_map(p, |r| {
                Ok((
                    AttemptRow {
                        id: r.get(0)?,
                        task_id: r.get(1)?,
                        n: r.get(2)?,
                        token: r.get(3)?,
                        operator: r.get(4)?,
                        status: AttemptStatus::Created,
                        external_id: r.get(6)?,
                        created_at: r.get(7)?,
                        started_at: r.get(8)?,
                        ended_at: r.get(9)?,
                        exit_code: r.get(10)?,
                        reason: r.get(11)?,
                        parent: r.get(12)?,
                        kind: r.get(13)?,
                        sched_phase: r
                            .get::<_, Option<String>>(14)?
                            .as_deref()
                            .and_then(SchedulerPhase::parse),
                        queue_reason: r.get(15)?,
                        queued_at: r.get(16)?,
                        running_at: r.get(17)?,
                        resources: r.get(18)?,
                    },
                    r.get::<_, String>(5)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter()
            .map(|(mut a, s)| {
                a.status = parse_status(s)?;
                Ok(a)
            })
            .collect()
    }

    /// Cores held by live attempts of operator `key`.
    pub fn cores_in_use(&self, key: &str) -> R<u32> {
        Ok(self.query_row(
            "SELECT coalesce(sum(t.cores), 0) FROM attempts a JOIN tasks t ON t.id = a.task_id
             WHERE a.status IN ('CREATED', 'RUNNING') AND a.operator = ?1",
            params![key],
            |r| r.get(0),
        )?)
    }

    /// Live attempts of operator `key`.
    pub fn active_count(&self, key: &str) -> R<u32> {
        Ok(self.query_row(
            "SELECT count(*) FROM attempts WHERE status IN ('CREATED', 'RUNNING') AND operator = ?1",
            params![key],
            |r| r.get(0),
        )?)
    }

    /// True while some task is PENDING, READY or RUNNING.
    pub fn has_unfinished(&self) -> R<bool> {
        Ok(self.query_row(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE status IN ('PENDING', 'READY', 'RUNNING', 'WAITING_EXTERNAL'))",
            [],
            |r| r.get(0),
        )?)
    }

    /// True while some task is RUNNING.
    pub fn has_running(&self) -> R<bool> {
        Ok(self.query_row(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE status = 'RUNNING')",
            [],
            |r| r.get(0),
        )?)
    }

    /// True when tasks wait for people and nothing else can move: none is
    /// READY or RUNNING, at least one is WAITING_EXTERNAL.
    pub fn only_waiting_external(&self) -> R<bool> {
        Ok(self.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM tasks WHERE status IN ('READY', 'RUNNING'))
                AND EXISTS (SELECT 1 FROM tasks WHERE status = 'WAITING_EXTERNAL')",
            [],
            |r| r.get(0),
        )?)
    }

    /// True if some task ended in a way that fails the run.
    pub fn has_unsuccessful(&self) -> R<bool> {
        Ok(self.query_row(
            "SELECT EXISTS (SELECT 1 FROM tasks WHERE status = 'CANCELLED')
                 OR EXISTS (SELECT 1 FROM tasks WHERE status = 'SKIPPED' AND NOT skip_ok)
                 OR EXISTS (SELECT 1 FROM tasks WHERE status = 'FAILED' AND NOT allow_failure)",
            [],
            |r| r.get(0),
        )?)
    }

    /// Number of tasks in each status (only statuses present).
    pub fn counts(&self) -> R<BTreeMap<String, u64>> {
        let mut st = self.prepare_cached("SELECT status, count(*) FROM tasks GROUP BY status")?;
        let m = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .map(|r| r.map(|(s, n)| (s, n as u64)))
            .collect::<Result<_, _>>()?;
        Ok(m)
    }

    /// Every task, in declaration order.
    pub fn task_summaries(&self) -> R<Vec<TaskSummary>> {
        self.task_summaries_page(0, None)
    }

    /// Where task `id` stands in declaration order (0-based), if it exists.
    pub fn task_position(&self, id: &str) -> R<Option<usize>> {
        let pos: Option<i64> = self
            .query_row(
                "SELECT (SELECT count(*) FROM tasks u WHERE u.seq < t.seq) FROM tasks t WHERE t.id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(pos.map(|p| p as usize))
    }

    /// [`Tx::task_summaries`] from the `offset`-th task in declaration
    /// order, at most `limit` of them (a page of a large run).
    pub fn task_summaries_page(&self, offset: usize, limit: Option<usize>) -> R<Vec<TaskSummary>> {
        // One row per task: its live attempt (if any) is the latest one.
        let mut st = self.prepare_cached(
            "SELECT t.id, t.status, t.attempts, t.exit_code, t.reason, t.results,
                    a.status IN ('CREATED', 'RUNNING'), a.external_id, a.sched_phase,
                    a.queue_reason, a.queued_at, a.created_at,
                    coalesce(a.running_at, a.started_at), a.ended_at
             FROM tasks t LEFT JOIN attempts a
               ON a.task_id = t.id AND a.n = t.attempts
             ORDER BY t.seq LIMIT ?1 OFFSET ?2",
        )?;
        let limit = limit.map_or(-1, |l| l as i64);
        let rows: Vec<(TaskSummary, String)> = st
            .query_map(params![limit, offset as i64], |r| {
                let job = match r.get::<_, Option<bool>>(6)? {
                    None | Some(false) => None,
                    Some(true) => Some(LiveJob {
                        external_id: r.get(7)?,
                        phase: r
                            .get::<_, Option<String>>(8)?
                            .as_deref()
                            .and_then(SchedulerPhase::parse),
                        reason: r.get(9)?,
                        queued_at: r.get(10)?,
                        created_at: r.get(11)?,
                    }),
                };
                let t = TaskSummary {
                    id: r.get(0)?,
                    status: TaskStatus::Pending,
                    attempts: r.get(2)?,
                    exit_code: r.get(3)?,
                    reason: r.get(4)?,
                    results: r.get(5)?,
                    last_external_id: r.get(7)?,
                    started_at: r.get(12)?,
                    ended_at: r.get(13)?,
                    job,
                };
                Ok((t, r.get(1)?))
            })?
            .collect::<Result<_, _>>()?;
        rows.into_iter()
            .map(|(mut t, s)| {
                t.status = parse_status(s)?;
                Ok(t)
            })
            .collect()
    }

    /// How many live attempts wait in a scheduler's queue.
    pub fn queued_count(&self) -> R<u64> {
        let n: i64 = self
            .prepare_cached(
                "SELECT count(*) FROM attempts
                 WHERE status IN ('CREATED', 'RUNNING') AND sched_phase = 'QUEUED'",
            )?
            .query_row([], |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Ids of tasks in one of `statuses`.
    pub fn task_ids_with_status(&self, statuses: &[TaskStatus]) -> R<Vec<String>> {
        let list = statuses
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let mut st = self.prepare(&format!(
            "SELECT id FROM tasks WHERE status IN ({list}) ORDER BY seq"
        ))?;
        let ids = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Appends to the run's event log.
    pub fn event(&self, task_id: Option<&str>, message: &str) -> R<()> {
        self.prepare_cached("INSERT INTO events (at, task_id, message) VALUES (?1, ?2, ?3)")?
            .execute(params![now_ms(), task_id, message])?;
        Ok(())
    }

    /// The last `limit` events, oldest first.
    pub fn events(&self, limit: usize) -> R<Vec<(i64, Option<String>, String)>> {
        let mut st = self.prepare(
            "SELECT at, task_id, message FROM (SELECT * FROM events ORDER BY id DESC LIMIT ?1)
             ORDER BY id",
        )?;
        let rows = st
            .query_map(params![limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests;
