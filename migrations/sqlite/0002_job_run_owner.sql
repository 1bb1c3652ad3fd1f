-- The node that runs an attempt: at start-up a daemon closes only its own node's abandoned runs.
ALTER TABLE job_runs ADD COLUMN node TEXT;
