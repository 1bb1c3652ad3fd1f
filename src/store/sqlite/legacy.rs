//! The hand-rolled migrations of inventories created before the store moved to sqlx migrations
//! (a `schema_version` table with one version count per module). An old file is first brought to
//! the last of these versions, then the sqlx baseline (`migrations/sqlite/0001_baseline.sql`, all
//! `IF NOT EXISTS`) is recorded on top without changing anything. Never edit these scripts.

use chrono::Utc;
use sqlx::SqlitePool;

use crate::error::{Error, Result};
use crate::store::{db, WritePool};

/// One module's ordered scripts; script `i` is version `i + 1`.
struct Legacy {
    module: &'static str,
    scripts: &'static [&'static str],
}

const MODULES: [Legacy; 3] = [
    Legacy {
        module: "inventory",
        scripts: &[INVENTORY_V1, INVENTORY_V2, INVENTORY_V3],
    },
    Legacy {
        module: "retention",
        scripts: &[RETENTION_V1, RETENTION_V2, RETENTION_V3, RETENTION_V4],
    },
    Legacy {
        module: "daemon",
        scripts: &[DAEMON_V1],
    },
];

/// True when the file was created by the hand-rolled migrations.
pub(super) async fn is_legacy(pool: &SqlitePool) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'",
    )
    .fetch_one(pool)
    .await
    .map_err(db("reading the inventory's tables"))?;
    Ok(n > 0)
}

/// Applies the legacy scripts not applied yet, each in its own `BEGIN IMMEDIATE` transaction.
pub(super) async fn upgrade(pool: &SqlitePool) -> Result<()> {
    for m in &MODULES {
        for (i, script) in m.scripts.iter().enumerate() {
            let version = i as i64 + 1;
            let mut tx = pool
                .begin_write()
                .await
                .map_err(db("starting a migration"))?;
            let done: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM schema_version WHERE module = $1 AND version = $2",
            )
            .bind(m.module)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("reading schema_version"))?;
            if done.is_some() {
                continue;
            }
            sqlx::Executor::execute(&mut *tx, *script)
                .await
                .map_err(|e| {
                    Error::Inventory(format!("migration {} v{version} failed: {e}", m.module))
                })?;
            sqlx::query(
                "INSERT INTO schema_version (module, version, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(m.module)
            .bind(version)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await
            .map_err(db("recording a migration"))?;
            tx.commit().await.map_err(db("committing a migration"))?;
        }
    }
    Ok(())
}

/// The legacy bookkeeping table (created by old versions before any module's scripts).
#[cfg(test)]
pub(crate) const SCHEMA_VERSION: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
)";

pub(crate) const INVENTORY_V1: &str = "
CREATE TABLE scans (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'stopped')),
    tables_total INTEGER NOT NULL DEFAULT 0,
    tables_scanned INTEGER NOT NULL DEFAULT 0,
    tables_failed INTEGER NOT NULL DEFAULT 0,
    columns_scanned INTEGER NOT NULL DEFAULT 0,
    personal_columns INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    detectors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX scans_source ON scans (source, id);

CREATE TABLE scan_failures (
    scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    schema_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (scan_id, schema_name, table_name)
);

CREATE TABLE columns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    schema_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    sql_type TEXT NOT NULL,
    row_estimate INTEGER,
    sample_method TEXT,
    sampled INTEGER NOT NULL DEFAULT 0,
    non_null INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'clean', 'personal')),
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    last_scanned TEXT,
    last_scan_id INTEGER REFERENCES scans (id),
    dropped_at TEXT,
    UNIQUE (source, schema_name, table_name, column_name)
);

CREATE TABLE findings (
    column_id INTEGER NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    detectors TEXT NOT NULL,
    matched INTEGER NOT NULL,
    share REAL NOT NULL,
    layout TEXT NOT NULL,
    name_hint TEXT,
    confidence REAL NOT NULL,
    sensitivity TEXT NOT NULL,
    examples TEXT NOT NULL,
    personal INTEGER NOT NULL,
    scan_id INTEGER NOT NULL REFERENCES scans (id),
    PRIMARY KEY (column_id, category)
);

CREATE TABLE scan_columns (
    scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    column_id INTEGER NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    categories TEXT NOT NULL,
    PRIMARY KEY (scan_id, column_id)
);

CREATE TABLE reviews (
    column_id INTEGER NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'rejected')),
    reviewed_by TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (column_id, category)
);

CREATE TABLE review_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    column_id INTEGER NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    reviewed_by TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    note TEXT
);
";

pub(crate) const INVENTORY_V2: &str =
    "ALTER TABLE columns ADD COLUMN transformed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scan_columns ADD COLUMN transformed INTEGER NOT NULL DEFAULT 0;
";

pub(crate) const INVENTORY_V3: &str = "ALTER TABLE columns ADD COLUMN scan_note TEXT;";

pub(crate) const RETENTION_V1: &str = concat!(
    "CREATE TABLE IF NOT EXISTS retention_audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    policy TEXT NOT NULL,
    description TEXT NOT NULL,
    source TEXT NOT NULL,
    table_name TEXT NOT NULL,
    action TEXT NOT NULL,
    columns TEXT NOT NULL,
    key_id TEXT,
    cutoff TEXT NOT NULL,
    batch INTEGER,
    rows_affected INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    outcome TEXT NOT NULL,
    error TEXT,
    prev_hash TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL
);
",
    "CREATE TABLE IF NOT EXISTS retention_checkpoint (
    policy TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    last_key TEXT,
    rows_affected INTEGER NOT NULL,
    batches INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
"
);

pub(crate) const RETENTION_V2: &str =
    "ALTER TABLE retention_checkpoint ADD COLUMN pending_key TEXT;
ALTER TABLE retention_checkpoint ADD COLUMN pending_rows INTEGER;
ALTER TABLE retention_checkpoint ADD COLUMN pending_started TEXT;
";

pub(crate) const RETENTION_V3: &str = "ALTER TABLE retention_audit ADD COLUMN cascaded TEXT;
ALTER TABLE retention_audit ADD COLUMN warnings TEXT;
ALTER TABLE retention_checkpoint ADD COLUMN pending_cascaded TEXT;
";

pub(crate) const RETENTION_V4: &str = "ALTER TABLE retention_audit ADD COLUMN key_first TEXT;
ALTER TABLE retention_audit ADD COLUMN key_last TEXT;
ALTER TABLE retention_audit ADD COLUMN held INTEGER;
ALTER TABLE retention_audit ADD COLUMN filter TEXT;
ALTER TABLE retention_audit ADD COLUMN legal_hold TEXT;
ALTER TABLE retention_checkpoint ADD COLUMN pending_first TEXT;
";

pub(crate) const DAEMON_V1: &str = "CREATE TABLE job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    kind TEXT NOT NULL,
    scheduled TEXT NOT NULL,
    started TEXT NOT NULL,
    finished TEXT,
    attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    counts TEXT
);
CREATE INDEX job_runs_job ON job_runs (job, id);";
