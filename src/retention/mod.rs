//! Retention enforcement: policy -> plan (cutoff, preflight, dry run) -> actions (delete, encrypt,
//! pseudonymize, mask, nullify) -> execute (key-ordered batches, one transaction each, checkpoints)
//! -> audit (hash-chained trail in the inventory store).

pub mod audit;
pub mod checkpoint;
pub mod clock;
pub mod crypto;
pub mod execute;
pub mod keys;
pub mod mask;
pub mod plan;
pub mod pseudonym;
pub mod sql;

pub use execute::{run_policy, Outcome, Preview, RunOptions, RunReport};
