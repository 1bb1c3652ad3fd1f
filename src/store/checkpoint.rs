//! Checkpoint statements (see [`crate::retention::checkpoint`] for what a checkpoint is).

use sqlx::Row;

use super::{db, with_db, Store};
use crate::error::Result;
use crate::retention::checkpoint::{Checkpoint, PendingBatch};

pub(super) const UPSERT: &str =
    "INSERT INTO retention_checkpoint (policy, run_id, cutoff, last_key, rows_affected, batches,
       pending_key, pending_rows, pending_started, pending_cascaded, pending_first, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (policy) DO UPDATE SET run_id = excluded.run_id, cutoff = excluded.cutoff,
       last_key = excluded.last_key, rows_affected = excluded.rows_affected,
       batches = excluded.batches, pending_key = excluded.pending_key,
       pending_rows = excluded.pending_rows, pending_started = excluded.pending_started,
       pending_cascaded = excluded.pending_cascaded, pending_first = excluded.pending_first,
       updated_at = excluded.updated_at";

/// Writes (inserts or replaces) `cp` on `conn` (a transaction of either backend).
macro_rules! save_on_conn {
    ($conn:expr, $cp:expr) => {{
        let cp: &$crate::retention::checkpoint::Checkpoint = $cp;
        let p = cp.pending.as_ref();
        sqlx::query($crate::store::checkpoint::UPSERT)
            .bind(&cp.policy)
            .bind(&cp.run_id)
            .bind(&cp.cutoff)
            .bind(&cp.last_key)
            .bind(cp.rows_affected)
            .bind(cp.batches)
            .bind(p.map(|p| &p.upto))
            .bind(p.map(|p| p.rows))
            .bind(p.map(|p| &p.started))
            .bind(p.and_then(|p| p.cascaded.as_ref()))
            .bind(p.and_then(|p| p.first.as_ref()))
            .bind(chrono::Utc::now())
            .execute($conn)
            .await
            .map_err($crate::store::db("saving the checkpoint"))
            .map(|_| ())
    }};
}

pub(super) use save_on_conn;

impl Store {
    /// The checkpoint of `policy`, if a run did not finish.
    pub async fn checkpoint(&self, policy: &str) -> Result<Option<Checkpoint>> {
        if !self.has_table("retention_checkpoint").await? {
            return Ok(None);
        }
        with_db!(self, |pool, kind| {
            let row = sqlx::query(
                "SELECT policy, run_id, cutoff, last_key, rows_affected, batches, pending_key, pending_rows, \
                 pending_started, pending_cascaded, pending_first FROM retention_checkpoint WHERE policy = $1",
            )
            .bind(policy)
            .fetch_optional(pool)
            .await
            .map_err(db("reading the checkpoint"))?;
            Ok(row.map(|r| Checkpoint {
                policy: r.get(0),
                run_id: r.get(1),
                cutoff: r.get(2),
                last_key: r.get(3),
                rows_affected: r.get(4),
                batches: r.get(5),
                pending: r.get::<Option<String>, _>(6).map(|upto| PendingBatch {
                    upto,
                    rows: r.get::<Option<i64>, _>(7).unwrap_or(0),
                    started: r.get::<Option<String>, _>(8).unwrap_or_default(),
                    cascaded: r.get(9),
                    first: r.get(10),
                }),
            }))
        })
    }

    /// Writes (inserts or replaces) a checkpoint in its own transaction (the pending-batch record
    /// saved just before a batch's source transaction commits).
    pub async fn save_checkpoint(&self, cp: &Checkpoint) -> Result<()> {
        with_db!(self, |pool, kind| save_on_conn!(pool, cp))
    }
}
