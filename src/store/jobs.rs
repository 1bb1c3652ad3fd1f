//! Job runs: one row per attempt of a daemon job, written when it starts and when it ends, with
//! the node that runs it. The daemon reads them for catch-up after downtime; `datawarden status`
//! for the last run of every job.
//!
//! For several daemons sharing one store: each row names its node (`job_runs.node`), and
//! [`Store::close_abandoned_runs`] closes only the calling node's rows (and rows written before
//! nodes were recorded), so node names must be distinct. Who runs a fire time is decided by its
//! claim ([`super::claims`]): an attempt whose node lost the lease is closed as `lease_expired` by
//! the node that takes the run over.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{db, with_db, Store};
use crate::error::Result;

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Still going (or the process died during it; see [`History::close_abandoned`]).
    Running,
    /// Finished.
    Success,
    /// Stopped early on request; the next run continues.
    Interrupted,
    /// Returned an error.
    Failure,
    /// Panicked.
    Panic,
    /// Found still `running` when the daemon started: the process was killed during it.
    Abandoned,
    /// Its node's lease ran out (the node died or paused) and another node took the run over.
    LeaseExpired,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Running => "running",
            Outcome::Success => "success",
            Outcome::Interrupted => "interrupted",
            Outcome::Failure => "failure",
            Outcome::Panic => "panic",
            Outcome::Abandoned => "abandoned",
            Outcome::LeaseExpired => "lease_expired",
        }
    }
    fn parse(s: &str) -> Outcome {
        match s {
            "running" => Outcome::Running,
            "success" => Outcome::Success,
            "interrupted" => Outcome::Interrupted,
            "panic" => Outcome::Panic,
            "abandoned" => Outcome::Abandoned,
            "lease_expired" => Outcome::LeaseExpired,
            _ => Outcome::Failure,
        }
    }
}

/// One attempt as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// The job name.
    pub job: String,
    /// The fire time the attempt belongs to.
    pub scheduled: DateTime<Utc>,
    /// When the attempt started.
    pub started: DateTime<Utc>,
    /// When it ended (None while running).
    pub finished: Option<DateTime<Utc>>,
    /// 1 for the scheduled run, 2.. for retries.
    pub attempt: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// The error message of a failure (never a secret: errors are redacted where raised).
    pub error: Option<String>,
    /// `name=value` counts.
    pub counts: Option<String>,
}

/// The latest attempt and the latest success of one job.
#[derive(Debug, Clone, Default)]
pub struct JobHistory {
    /// The most recent attempt.
    pub last: Option<RunRecord>,
    /// The most recent successful attempt.
    pub last_success: Option<RunRecord>,
}

impl Store {
    /// Records the start of an attempt by this store's node and returns its id.
    pub async fn start_run(
        &self,
        job: &str,
        kind: &str,
        scheduled: DateTime<Utc>,
        attempt: u32,
    ) -> Result<i64> {
        with_db!(self, |pool, backend| {
            sqlx::query_scalar(
                "INSERT INTO job_runs (job, kind, scheduled, started, attempt, outcome, node) \
                 VALUES ($1, $2, $3, $4, $5, 'running', $6) RETURNING id",
            )
            .bind(job)
            .bind(kind)
            .bind(scheduled)
            .bind(Utc::now())
            .bind(attempt as i64)
            .bind(&self.node)
            .fetch_one(pool)
            .await
            .map_err(db("cannot record a job start"))
        })
    }

    /// Records the end of attempt `id` (unless a takeover already closed it as `lease_expired`).
    pub async fn finish_run(
        &self,
        id: i64,
        outcome: Outcome,
        error: Option<&str>,
        counts: Option<&str>,
    ) -> Result<()> {
        with_db!(self, |pool, kind| {
            sqlx::query(
                "UPDATE job_runs SET finished = $1, outcome = $2, error = $3, counts = $4 \
                 WHERE id = $5 AND outcome = 'running'",
            )
            .bind(Utc::now())
            .bind(outcome.as_str())
            .bind(error)
            .bind(counts)
            .bind(id)
            .execute(pool)
            .await
            .map_err(db("cannot record a job end"))?;
            Ok(())
        })
    }

    /// Marks attempts of this node left `running` by a process that died as `abandoned` (and
    /// those of rows that name no node, written before nodes were recorded); returns how many.
    /// Other nodes' runs are left alone.
    pub async fn close_abandoned_runs(&self) -> Result<u64> {
        with_db!(self, |pool, kind| {
            let r = sqlx::query(
                "UPDATE job_runs SET outcome = 'abandoned', finished = $1 \
                 WHERE outcome = 'running' AND (node = $2 OR node IS NULL)",
            )
            .bind(Utc::now())
            .bind(&self.node)
            .execute(pool)
            .await
            .map_err(db("cannot update the job history"))?;
            Ok(r.rows_affected())
        })
    }

    /// The latest attempt and latest success of every job (all nodes). Empty when the store has
    /// no job history yet.
    pub async fn latest_runs(&self) -> Result<HashMap<String, JobHistory>> {
        if !self.has_table("job_runs").await? {
            return Ok(HashMap::new());
        }
        with_db!(self, |pool, kind| {
            let rows = sqlx::query(
                "SELECT job, scheduled, started, finished, attempt, outcome, error, counts FROM job_runs
                 WHERE id IN (SELECT MAX(id) FROM job_runs GROUP BY job)
                    OR id IN (SELECT MAX(id) FROM job_runs WHERE outcome = 'success' GROUP BY job)
                 ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .map_err(db("cannot read the job history"))?;
            let mut out: HashMap<String, JobHistory> = HashMap::new();
            for row in rows {
                let rec = RunRecord {
                    job: row.get("job"),
                    scheduled: row
                        .try_get("scheduled")
                        .map_err(db("job_runs holds a bad time"))?,
                    started: row
                        .try_get("started")
                        .map_err(db("job_runs holds a bad time"))?,
                    finished: row
                        .try_get("finished")
                        .map_err(db("job_runs holds a bad time"))?,
                    attempt: row.get::<i64, _>("attempt") as u32,
                    outcome: Outcome::parse(row.get("outcome")),
                    error: row.get("error"),
                    counts: row.get("counts"),
                };
                let entry = out.entry(rec.job.clone()).or_default();
                if rec.outcome == Outcome::Success {
                    entry.last_success = Some(rec.clone());
                }
                // Rows come in id order, so the last one seen is the latest attempt.
                entry.last = Some(rec);
            }
            Ok(out)
        })
    }
}
