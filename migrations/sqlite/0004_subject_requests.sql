-- The register of data subject requests: identifiers only as keyed hashes (JSON), never raw.
CREATE TABLE subject_requests (
    id TEXT PRIMARY KEY,
    received_at TEXT NOT NULL,
    due_at TEXT NOT NULL,
    status TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    found INTEGER NOT NULL DEFAULT 0,
    exported INTEGER NOT NULL DEFAULT 0,
    erased INTEGER NOT NULL DEFAULT 0,
    audit_runs TEXT NOT NULL DEFAULT '[]',
    updated_at TEXT NOT NULL
);
