-- The inventory schema as the hand-rolled migrations left it (inventory v3, retention v4, daemon v1).
-- Every statement is IF NOT EXISTS: an inventory created before sqlx migrations was first brought to
-- that state by the legacy scripts (src/store/sqlite/legacy.rs), and this script then changes nothing.

CREATE TABLE IF NOT EXISTS scans (
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
CREATE INDEX IF NOT EXISTS scans_source ON scans (source, id);

CREATE TABLE IF NOT EXISTS scan_failures (
    scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    schema_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (scan_id, schema_name, table_name)
);

CREATE TABLE IF NOT EXISTS columns (
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
    transformed INTEGER NOT NULL DEFAULT 0,
    scan_note TEXT,
    UNIQUE (source, schema_name, table_name, column_name)
);

CREATE TABLE IF NOT EXISTS findings (
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

CREATE TABLE IF NOT EXISTS scan_columns (
    scan_id INTEGER NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    column_id INTEGER NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    categories TEXT NOT NULL,
    transformed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (scan_id, column_id)
);

CREATE TABLE IF NOT EXISTS reviews (
    column_id INTEGER NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'rejected')),
    reviewed_by TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    note TEXT,
    PRIMARY KEY (column_id, category)
);

CREATE TABLE IF NOT EXISTS review_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    column_id INTEGER NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    reviewed_by TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    note TEXT
);

CREATE TABLE IF NOT EXISTS retention_audit (
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
    hash TEXT NOT NULL,
    cascaded TEXT,
    warnings TEXT,
    key_first TEXT,
    key_last TEXT,
    held INTEGER,
    filter TEXT,
    legal_hold TEXT
);

CREATE TABLE IF NOT EXISTS retention_checkpoint (
    policy TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    last_key TEXT,
    rows_affected INTEGER NOT NULL,
    batches INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    pending_key TEXT,
    pending_rows INTEGER,
    pending_started TEXT,
    pending_cascaded TEXT,
    pending_first TEXT
);

CREATE TABLE IF NOT EXISTS job_runs (
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
CREATE INDEX IF NOT EXISTS job_runs_job ON job_runs (job, id);
