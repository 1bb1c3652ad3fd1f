//! Bounded job history: finished attempts (`job_runs`) and finished claims (`job_claims`) older
//! than `[daemon] history_days` are deleted by the daemon, a few thousand rows per short
//! transaction. A per-second job adds 86,400 of each a day; without this both tables grow forever.
//!
//! What is never deleted: an attempt still `running`, a claim not `done` (its lease may be taken
//! over), and the latest attempt and latest success of every job, which catch-up and `datawarden
//! status` read (a yearly job keeps its last run). The audit chain and the scan history are not
//! touched: they are the evidence, kept as long as the inventory.
//!
//! Several nodes may prune at the same time: the deletes are idempotent, each batch selects its
//! rows again.

use chrono::{DateTime, Utc};

use super::{db, with_db, Store};
use crate::error::Result;

/// Rows deleted per transaction.
const PRUNE_BATCH: i64 = 5000;

/// What one prune deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Finished attempts deleted from `job_runs`.
    pub runs: u64,
    /// Finished claims deleted from `job_claims`.
    pub claims: u64,
}

impl Store {
    /// Deletes finished attempts that started before `before` (except the latest attempt and the
    /// latest success of each job) and finished claims of fire times before `before`.
    pub async fn prune_history(&self, before: DateTime<Utc>) -> Result<Pruned> {
        let runs = self
            .delete_in_batches(
                "DELETE FROM job_runs WHERE id IN (
                   SELECT id FROM job_runs
                    WHERE outcome <> 'running' AND started < $1
                      AND id NOT IN (SELECT MAX(id) FROM job_runs GROUP BY job)
                      AND id NOT IN (SELECT MAX(id) FROM job_runs WHERE outcome = 'success' GROUP BY job)
                    LIMIT $2)",
                "pruning old job runs",
                before,
            )
            .await?;
        let claims = self
            .delete_in_batches(
                "DELETE FROM job_claims WHERE (job, scheduled) IN (
                   SELECT job, scheduled FROM job_claims
                    WHERE state = 'done' AND scheduled < $1
                    LIMIT $2)",
                "pruning old job claims",
                before,
            )
            .await?;
        Ok(Pruned { runs, claims })
    }

    /// Runs `sql`, a DELETE of at most `$2` rows older than `$1`, one statement (one short
    /// transaction) at a time until a batch comes back short; the rows deleted.
    async fn delete_in_batches(
        &self,
        sql: &'static str,
        what: &'static str,
        before: DateTime<Utc>,
    ) -> Result<u64> {
        let mut deleted = 0;
        loop {
            let n = with_db!(self, |pool, kind| {
                sqlx::query(sql)
                    .bind(before)
                    .bind(PRUNE_BATCH)
                    .execute(pool)
                    .await
                    .map_err(db(what))
                    .map(|r| r.rows_affected())
            })?;
            deleted += n;
            if n < PRUNE_BATCH as u64 {
                return Ok(deleted);
            }
        }
    }
}
