-- The inventory schema on PostgreSQL: the same tables and columns as on SQLite (migrations/sqlite),
-- with BIGINT integers, TIMESTAMPTZ times and text in "C" collation (byte order, as SQLite sorts).
-- The audit trail's times, and the checkpoint's cutoff and batch start, are TEXT on both backends:
-- they are part of the hashed record, kept exactly as written.

CREATE TABLE scans (
    id BIGSERIAL PRIMARY KEY,
    source TEXT COLLATE "C" NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    duration_ms BIGINT,
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'partial', 'failed', 'stopped')),
    tables_total BIGINT NOT NULL DEFAULT 0,
    tables_scanned BIGINT NOT NULL DEFAULT 0,
    tables_failed BIGINT NOT NULL DEFAULT 0,
    columns_scanned BIGINT NOT NULL DEFAULT 0,
    personal_columns BIGINT NOT NULL DEFAULT 0,
    error TEXT,
    detectors TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX scans_source ON scans (source, id);

CREATE TABLE scan_failures (
    scan_id BIGINT NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    schema_name TEXT COLLATE "C" NOT NULL,
    table_name TEXT COLLATE "C" NOT NULL,
    error TEXT NOT NULL,
    PRIMARY KEY (scan_id, schema_name, table_name)
);

CREATE TABLE columns (
    id BIGSERIAL PRIMARY KEY,
    source TEXT COLLATE "C" NOT NULL,
    schema_name TEXT COLLATE "C" NOT NULL,
    table_name TEXT COLLATE "C" NOT NULL,
    column_name TEXT COLLATE "C" NOT NULL,
    sql_type TEXT NOT NULL,
    row_estimate BIGINT,
    sample_method TEXT,
    sampled BIGINT NOT NULL DEFAULT 0,
    non_null BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'unknown' CHECK (status IN ('unknown', 'clean', 'personal')),
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    last_scanned TIMESTAMPTZ,
    last_scan_id BIGINT REFERENCES scans (id),
    dropped_at TIMESTAMPTZ,
    transformed BIGINT NOT NULL DEFAULT 0,
    scan_note TEXT,
    UNIQUE (source, schema_name, table_name, column_name)
);

CREATE TABLE findings (
    column_id BIGINT NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    category TEXT COLLATE "C" NOT NULL,
    detectors TEXT NOT NULL,
    matched BIGINT NOT NULL,
    share DOUBLE PRECISION NOT NULL,
    layout TEXT NOT NULL,
    name_hint TEXT,
    confidence DOUBLE PRECISION NOT NULL,
    sensitivity TEXT NOT NULL,
    examples TEXT NOT NULL,
    personal BOOLEAN NOT NULL,
    scan_id BIGINT NOT NULL REFERENCES scans (id),
    PRIMARY KEY (column_id, category)
);

CREATE TABLE scan_columns (
    scan_id BIGINT NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    column_id BIGINT NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    status TEXT NOT NULL,
    categories TEXT NOT NULL,
    transformed BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scan_id, column_id)
);

CREATE TABLE reviews (
    column_id BIGINT NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    category TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('confirmed', 'rejected')),
    reviewed_by TEXT NOT NULL,
    reviewed_at TIMESTAMPTZ NOT NULL,
    note TEXT,
    PRIMARY KEY (column_id, category)
);

CREATE TABLE review_log (
    id BIGSERIAL PRIMARY KEY,
    column_id BIGINT NOT NULL REFERENCES columns (id) ON DELETE CASCADE,
    category TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    reviewed_by TEXT NOT NULL,
    reviewed_at TIMESTAMPTZ NOT NULL,
    note TEXT
);

CREATE TABLE retention_audit (
    seq BIGSERIAL PRIMARY KEY,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    policy TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    source TEXT NOT NULL,
    table_name TEXT NOT NULL,
    action TEXT NOT NULL,
    columns TEXT NOT NULL,
    key_id TEXT,
    cutoff TEXT NOT NULL,
    batch BIGINT,
    rows_affected BIGINT NOT NULL,
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
    held BIGINT,
    filter TEXT,
    legal_hold TEXT
);

CREATE TABLE retention_checkpoint (
    policy TEXT COLLATE "C" PRIMARY KEY,
    run_id TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    last_key TEXT,
    rows_affected BIGINT NOT NULL,
    batches BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    pending_key TEXT,
    pending_rows BIGINT,
    pending_started TEXT,
    pending_cascaded TEXT,
    pending_first TEXT
);

CREATE TABLE job_runs (
    id BIGSERIAL PRIMARY KEY,
    job TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    scheduled TIMESTAMPTZ NOT NULL,
    started TIMESTAMPTZ NOT NULL,
    finished TIMESTAMPTZ,
    attempt BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    counts TEXT,
    node TEXT
);
CREATE INDEX job_runs_job ON job_runs (job, id);
