//! Schema migrations of the inventory database.
//!
//! Each module that keeps state in the inventory database owns an ordered list of migrations
//! ([`Migrations`]): a module name and SQL scripts. [`crate::inventory::Store::ensure`] applies the
//! scripts not yet recorded in `schema_version` for that module, in order, each in its own
//! transaction. Never edit or reorder a released script: append a new one.

/// An ordered list of migrations owned by one module.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// The owner, e.g. `inventory` or `retention`; versions are counted per owner.
    pub module: &'static str,
    /// The scripts; script `i` is version `i + 1`. A script may hold several statements.
    pub scripts: &'static [&'static str],
}

/// Bookkeeping table, created before any module's migrations.
pub(crate) const SCHEMA_VERSION: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
)";

/// The inventory's own schema.
pub const INVENTORY: Migrations = Migrations {
    module: "inventory",
    scripts: &[V1, V2, V3, V4],
};

/// v2: values datawarden wrote (envelopes, pseudonyms, masks) counted apart per column and per
/// scan snapshot ([`crate::classify::ColumnReport::transformed`]).
const V2: &str = "ALTER TABLE columns ADD COLUMN transformed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scan_columns ADD COLUMN transformed INTEGER NOT NULL DEFAULT 0;
";
/// v3: a column's scan note (detection cut short, view lineage, a view not read).
const V3: &str = "ALTER TABLE columns ADD COLUMN scan_note TEXT;";
/// v4: which evidence decided a finding (`values`, `name + values`; see
/// [`crate::classify::Finding::rule`]).
const V4: &str = "ALTER TABLE findings ADD COLUMN rule TEXT;";

/// v1: scans, columns, findings (latest evidence), per-scan snapshots (drift) and reviews.
const V1: &str = "
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
