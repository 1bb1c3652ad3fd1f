//! Checkpoints: after each committed batch, the policy's run id, cutoff and last key are stored so
//! that a killed run resumes with the same cutoff where it stopped. A finished run clears it.
//!
//! The source commit and the audit record live in two databases, so a batch is first saved as
//! [`PendingBatch`] (its key range end, rows and start) just before its source transaction
//! commits. A run that finds a pending batch on resume checks the source: no eligible row left in
//! the batch's key range means the commit happened, and the batch gets its audit record then.

use crate::error::Result;
use crate::store::Store;

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
pub async fn load(store: &Store, policy: &str) -> Result<Option<Checkpoint>> {
    store.checkpoint(policy).await
}
