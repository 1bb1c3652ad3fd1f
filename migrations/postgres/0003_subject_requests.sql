-- The register of data subject requests: identifiers only as keyed hashes (JSON), never raw.
CREATE TABLE subject_requests (
    id TEXT COLLATE "C" PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    identifiers TEXT NOT NULL,
    found BIGINT NOT NULL DEFAULT 0,
    exported BIGINT NOT NULL DEFAULT 0,
    erased BIGINT NOT NULL DEFAULT 0,
    audit_runs TEXT NOT NULL DEFAULT '[]',
    updated_at TIMESTAMPTZ NOT NULL
);
