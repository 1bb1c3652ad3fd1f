//! The inventory: what personal data lives where, with evidence, review decisions, scan history and
//! drift, stored in the store ([`Store`], [`crate::store`]) and exported as CSV, JSON or HTML ([`export`]).

pub mod coverage;
pub mod drift;
pub mod export;
pub mod model;

pub use crate::store::{ColumnFilter, SnapshotColumn, Store};
pub use coverage::{coverage, covered_by, last_runs, Coverage, CoverageState};
pub use drift::{drift, drift_all, Drift};
pub use model::{
    CategoryRecord, CategoryStatus, ColumnKey, ColumnPath, ColumnRecord, Decision, ScanRecord,
    ScanStatus,
};

#[cfg(test)]
mod tests;
