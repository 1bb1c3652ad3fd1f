-- Claims of fire times by the daemons sharing this store: one row per (job, fire time), inserted once
-- by the node that runs it, with its lease (epoch milliseconds) and fencing epoch; and the nodes'
-- heartbeats.
CREATE TABLE job_claims (
    job TEXT NOT NULL,
    scheduled TEXT NOT NULL,
    kind TEXT NOT NULL,
    source TEXT NOT NULL,
    owner TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    lease_until INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done')),
    PRIMARY KEY (job, scheduled)
);
CREATE INDEX job_claims_live ON job_claims (state, lease_until);
CREATE TABLE nodes (
    node TEXT PRIMARY KEY,
    last_heartbeat TEXT NOT NULL
);
