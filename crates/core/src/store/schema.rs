//! The schema, as an ordered list of migrations (tracked in `user_version`).
//! Never edit a released migration: append a new one.

use rusqlite_migration::{Migrations, M};

const V1: &str = r#"
CREATE TABLE run (
    id          TEXT PRIMARY KEY,
    workspace   TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    status      TEXT NOT NULL,
    core_budget INTEGER NOT NULL,
    spec_toml   TEXT NOT NULL
);
CREATE TABLE tasks (
    id             TEXT PRIMARY KEY,
    seq            INTEGER NOT NULL UNIQUE,
    spec           TEXT NOT NULL,
    status         TEXT NOT NULL,
    remaining_deps INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    retries_used   INTEGER NOT NULL DEFAULT 0,
    exit_code      INTEGER,
    reason         TEXT,
    cores          INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    allow_failure  INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX tasks_by_status ON tasks(status, seq);
CREATE TABLE deps (
    task_id TEXT NOT NULL REFERENCES tasks(id),
    dep_id  TEXT NOT NULL REFERENCES tasks(id),
    PRIMARY KEY (task_id, dep_id)
) WITHOUT ROWID;
CREATE INDEX deps_by_dep ON deps(dep_id, task_id);
CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    task_id     TEXT NOT NULL REFERENCES tasks(id),
    n           INTEGER NOT NULL,
    token       TEXT NOT NULL UNIQUE,
    operator    TEXT NOT NULL,
    status      TEXT NOT NULL,
    external_id TEXT,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    ended_at    INTEGER,
    exit_code   INTEGER,
    reason      TEXT,
    parent      INTEGER REFERENCES attempts(id),
    UNIQUE (task_id, n)
);
CREATE INDEX attempts_active ON attempts(status) WHERE status IN ('CREATED', 'RUNNING');
CREATE TABLE events (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    task_id TEXT,
    message TEXT NOT NULL
);
"#;

/// Parsed program results per task (JSON), from output parsers.
const V2: &str = "ALTER TABLE tasks ADD COLUMN results TEXT;";

/// The operator key per task, so scheduling can skip what does not fit
/// without reading specs.
const V3: &str = "ALTER TABLE tasks ADD COLUMN operator TEXT NOT NULL DEFAULT 'local';
UPDATE tasks SET operator = coalesce(json_extract(spec, '$.operator'), 'local')
    || coalesce('@' || json_extract(spec, '$.cluster'), '');";

/// Workflows that think: the effective spec of a task once upstream values
/// are resolved or a restart overrides it; whether a SKIPPED task was skipped
/// by a `when` condition (not a failure); priorities; attempt kinds for
/// lineage (`run`, `retry`, `restart`); a paused run; planner rounds.
const V4: &str = "ALTER TABLE tasks ADD COLUMN resolved TEXT;
ALTER TABLE tasks ADD COLUMN skip_ok INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tasks ADD COLUMN next_kind TEXT;
ALTER TABLE attempts ADD COLUMN kind TEXT NOT NULL DEFAULT 'run';
ALTER TABLE run ADD COLUMN paused TEXT;
CREATE TABLE planner_rounds (
    n            INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    input_sha256 TEXT NOT NULL,
    output       TEXT NOT NULL,
    added        INTEGER NOT NULL
);";

/// Automatic retries after infrastructure failures (NODE_FAIL, PREEMPTED,
/// BOOT_FAIL, a job lost by the scheduler), counted apart from `retries`.
const V5: &str = "ALTER TABLE tasks ADD COLUMN transient_used INTEGER NOT NULL DEFAULT 0;";

/// Submissions that failed transiently back off per operator, with growing
/// delays that survive between steps.
const V6: &str = "CREATE TABLE backoff (
    operator   TEXT PRIMARY KEY,
    failures   INTEGER NOT NULL,
    not_before INTEGER NOT NULL,
    last_error TEXT NOT NULL
);";

/// Finding pending tasks bound for SLURM (chain candidates) without
/// scanning every pending task of a large local run.
const V7: &str = "CREATE INDEX tasks_by_status_operator ON tasks(status, operator);";

/// Whether the run has a campaign planner, recorded at `init` from the
/// parsed workspace, so an idle step never parses a large workspace text
/// (runs made before planners existed have none).
const V8: &str = "ALTER TABLE run ADD COLUMN has_planner INTEGER NOT NULL DEFAULT 0;";

/// The run's identity (`model::layout`): its remote job directories are
/// `<root>/<run-id>-<uid>/…`. Runs made before it have none (NULL) and keep
/// their old layout `<root>/<run-id>/…`.
const V9: &str = "ALTER TABLE run ADD COLUMN uid TEXT;";

/// What the scheduler last said of a live attempt's job (`QUEUED` with its
/// reason, or `RUNNING`) and when it was first seen queued and running, so `status`
/// and `explain` can tell a queued job from a running one.
const V10: &str = "ALTER TABLE attempts ADD COLUMN sched_phase TEXT;
ALTER TABLE attempts ADD COLUMN queue_reason TEXT;
ALTER TABLE attempts ADD COLUMN queued_at INTEGER;
ALTER TABLE attempts ADD COLUMN running_at INTEGER;";

/// The resources each attempt asked for (JSON: cores, memory, walltime,
/// partition, qos, account, gres, constraint), copied from the task's
/// effective spec when the attempt is recorded, so a retry with another
/// partition shows both.
const V11: &str = "ALTER TABLE attempts ADD COLUMN resources TEXT;";

/// The change feed (`Tx::changes_since`): every task and attempt transition,
/// recorded by triggers, so no code path can forget one and a face can follow
/// a run by reading only what is new (by rowid, cheap on any run size).
const V12: &str = "CREATE TABLE changes (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,
    task_id TEXT NOT NULL,
    attempt INTEGER,
    status  TEXT NOT NULL,
    detail  TEXT
);
CREATE TRIGGER change_task_new AFTER INSERT ON tasks BEGIN
    INSERT INTO changes (at, task_id, attempt, status, detail)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), NEW.id, NULL, NEW.status, NULL);
END;
CREATE TRIGGER change_task AFTER UPDATE OF status ON tasks WHEN NEW.status IS NOT OLD.status BEGIN
    INSERT INTO changes (at, task_id, attempt, status, detail)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), NEW.id, NULL, NEW.status, NEW.reason);
END;
CREATE TRIGGER change_attempt_new AFTER INSERT ON attempts BEGIN
    INSERT INTO changes (at, task_id, attempt, status, detail)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), NEW.task_id, NEW.n, NEW.status, NULL);
END;
CREATE TRIGGER change_attempt AFTER UPDATE OF status, sched_phase ON attempts
WHEN (CASE WHEN NEW.status IN ('CREATED', 'RUNNING') AND NEW.sched_phase = 'QUEUED'
           THEN 'QUEUED' ELSE NEW.status END)
  IS NOT (CASE WHEN OLD.status IN ('CREATED', 'RUNNING') AND OLD.sched_phase = 'QUEUED'
               THEN 'QUEUED' ELSE OLD.status END) BEGIN
    INSERT INTO changes (at, task_id, attempt, status, detail)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), NEW.task_id, NEW.n,
            CASE WHEN NEW.status IN ('CREATED', 'RUNNING') AND NEW.sched_phase = 'QUEUED'
                 THEN 'QUEUED' ELSE NEW.status END,
            coalesce(NEW.reason, NEW.queue_reason, NEW.external_id));
END;";

/// The change feed keeps an attempt's job id apart from its reason (a face
/// shows both): `changes.job`, filled by the attempt triggers.
const V13: &str = "ALTER TABLE changes ADD COLUMN job TEXT;
DROP TRIGGER change_attempt_new;
DROP TRIGGER change_attempt;
CREATE TRIGGER change_attempt_new AFTER INSERT ON attempts BEGIN
    INSERT INTO changes (at, task_id, attempt, status, detail, job)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), NEW.task_id, NEW.n,
            NEW.status, NULL, NEW.external_id);
END;
CREATE TRIGGER change_attempt AFTER UPDATE OF status, sched_phase ON attempts
WHEN (CASE WHEN NEW.status IN ('CREATED', 'RUNNING') AND NEW.sched_phase = 'QUEUED'
           THEN 'QUEUED' ELSE NEW.status END)
  IS NOT (CASE WHEN OLD.status IN ('CREATED', 'RUNNING') AND OLD.sched_phase = 'QUEUED'
               THEN 'QUEUED' ELSE OLD.status END) BEGIN
    INSERT INTO changes (at, task_id, attempt, status, detail, job)
    VALUES (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER), NEW.task_id, NEW.n,
            CASE WHEN NEW.status IN ('CREATED', 'RUNNING') AND NEW.sched_phase = 'QUEUED'
                 THEN 'QUEUED' ELSE NEW.status END,
            coalesce(NEW.reason, NEW.queue_reason), NEW.external_id);
END;";

/// All migrations, oldest first.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up(V4),
        M::up(V5),
        M::up(V6),
        M::up(V7),
        M::up(V8),
        M::up(V9),
        M::up(V10),
        M::up(V11),
        M::up(V12),
        M::up(V13),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
