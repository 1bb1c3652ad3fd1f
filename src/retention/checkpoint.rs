//! Checkpoints: after each committed batch, the policy's run id, cutoff and last key are stored so
//! that a killed run resumes with the same cutoff where it stopped. A finished run clears it.
//!
//! The source commit and the audit record live in two databases, so a batch is first saved as
//! [`PendingBatch`] (its key range end, rows and start) just before its source transaction
//! commits. A run that finds a pending batch on resume checks the source: no eligible row left in
//! the batch's key range means the commit happened, and the batch gets its audit record then.

use sqlx::{Row, SqliteConnection, SqlitePool};

use super::store::inv;
use crate::error::Result;

/// The progress of an unfinished run.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The policy name.
    pub policy: String,
    /// The run that wrote it.
    pub run_id: String,
    /// The cutoff of that run (RFC 3339), reused on resume.
    pub cutoff: String,
    /// The last key done (JSON array of the key column values), `None` before the first batch.
    pub last_key: Option<String>,
    /// Rows affected so far.
    pub rows_affected: i64,
    /// Batches committed so far.
    pub batches: i64,
    /// The batch being committed on the source when this was written, if any.
    pub pending: Option<PendingBatch>,
}

/// A batch whose source commit was under way (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingBatch {
    /// Its last key (JSON array, like [`Checkpoint::last_key`]).
    pub upto: String,
    /// Rows it deleted or updated inside its transaction.
    pub rows: i64,
    /// When it started (RFC 3339).
    pub started: String,
    /// Rows it removed or changed in other tables (JSON object per `schema.table`, as in the
    /// audit record), `None` when none.
    pub cascaded: Option<String>,
    /// Its first key (JSON array), `None` when unknown (checkpoints written before it was kept).
    pub first: Option<String>,
}

/// The checkpoint of `policy`, if a run did not finish.
pub async fn load(pool: &SqlitePool, policy: &str) -> Result<Option<Checkpoint>> {
    let row = sqlx::query(
        "SELECT policy, run_id, cutoff, last_key, rows_affected, batches, pending_key, pending_rows, \
         pending_started, pending_cascaded, pending_first FROM retention_checkpoint WHERE policy = ?",
    )
    .bind(policy)
    .fetch_optional(pool)
    .await
    .map_err(inv)?;
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
}

/// Writes (inserts or replaces) a checkpoint on `conn` (usually inside the audit transaction).
pub async fn save(conn: &mut SqliteConnection, cp: &Checkpoint) -> Result<()> {
    sqlx::query(
        "INSERT INTO retention_checkpoint (policy, run_id, cutoff, last_key, rows_affected, batches,
           pending_key, pending_rows, pending_started, pending_cascaded, pending_first, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(policy) DO UPDATE SET run_id = excluded.run_id, cutoff = excluded.cutoff,
           last_key = excluded.last_key, rows_affected = excluded.rows_affected,
           batches = excluded.batches, pending_key = excluded.pending_key,
           pending_rows = excluded.pending_rows, pending_started = excluded.pending_started,
           pending_cascaded = excluded.pending_cascaded, pending_first = excluded.pending_first,
           updated_at = excluded.updated_at",
    )
    .bind(&cp.policy)
    .bind(&cp.run_id)
    .bind(&cp.cutoff)
    .bind(&cp.last_key)
    .bind(cp.rows_affected)
    .bind(cp.batches)
    .bind(cp.pending.as_ref().map(|p| &p.upto))
    .bind(cp.pending.as_ref().map(|p| p.rows))
    .bind(cp.pending.as_ref().map(|p| &p.started))
    .bind(cp.pending.as_ref().and_then(|p| p.cascaded.as_ref()))
    .bind(cp.pending.as_ref().and_then(|p| p.first.as_ref()))
    .bind(chrono::Utc::now().to_rfc3339())
    .execute(conn)
    .await
    .map_err(inv)?;
    Ok(())
}

/// Removes the checkpoint of `policy` (the run finished).
pub async fn clear(conn: &mut SqliteConnection, policy: &str) -> Result<()> {
    sqlx::query("DELETE FROM retention_checkpoint WHERE policy = ?")
        .bind(policy)
        .execute(conn)
        .await
        .map_err(inv)?;
    Ok(())
}
