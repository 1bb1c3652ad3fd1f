//! The retention tables of the inventory store (audit trail and checkpoints), registered with the
//! store's migrations as module `retention`.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::error::{Error, Result};
use crate::inventory::{Migrations, Store};

/// The retention schema: v1 creates the audit trail and the checkpoint table; v2 adds the batch
/// in flight to the checkpoint; v3 adds the side effects and warnings of audit records; v4 adds
/// the key range, held rows, filter and legal holds of audit records.
pub const MIGRATIONS: Migrations = Migrations {
    module: "retention",
    scripts: &[V1, V2, V3, V4],
};

const V1: &str = concat!(
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

/// v2: the batch whose source transaction is being committed (see [`super::checkpoint`]).
const V2: &str = "ALTER TABLE retention_checkpoint ADD COLUMN pending_key TEXT;
ALTER TABLE retention_checkpoint ADD COLUMN pending_rows INTEGER;
ALTER TABLE retention_checkpoint ADD COLUMN pending_started TEXT;
";

/// v3: rows changed in other tables by a batch (JSON object, NULL when none) and the preflight's
/// warnings (JSON array, NULL when none) of audit records; the pending batch's changed rows.
const V3: &str = "ALTER TABLE retention_audit ADD COLUMN cascaded TEXT;
ALTER TABLE retention_audit ADD COLUMN warnings TEXT;
ALTER TABLE retention_checkpoint ADD COLUMN pending_cascaded TEXT;
";

/// v4: the batch's first and last key (JSON arrays), rows held by legal holds at the start of a
/// run, and the filter and legal holds in force, of audit records (NULL when absent); the pending
/// batch's first key.
const V4: &str = "ALTER TABLE retention_audit ADD COLUMN key_first TEXT;
ALTER TABLE retention_audit ADD COLUMN key_last TEXT;
ALTER TABLE retention_audit ADD COLUMN held INTEGER;
ALTER TABLE retention_audit ADD COLUMN filter TEXT;
ALTER TABLE retention_audit ADD COLUMN legal_hold TEXT;
ALTER TABLE retention_checkpoint ADD COLUMN pending_first TEXT;
";

/// Opens (creating if needed) the inventory store at `url` with the retention tables.
pub async fn open(url: &str) -> Result<SqlitePool> {
    let store = Store::open(url).await?;
    store.ensure(&MIGRATIONS).await?;
    Ok(store.pool().clone())
}

/// Wraps a store error.
pub(crate) fn inv(e: sqlx::Error) -> Error {
    Error::Inventory(e.to_string())
}

/// Opens an existing inventory store read-only (dry runs), `None` when there is none yet.
pub async fn open_read_only(url: &str) -> Option<SqlitePool> {
    let opts = SqliteConnectOptions::from_str(url)
        .ok()?
        .read_only(true)
        .create_if_missing(false);
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .ok()
}
