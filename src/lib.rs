//! datawarden: finds personal data in company databases and enforces retention periods on it.
//!
//! The layout follows the two data flows:
//!
//! - scan: [`config`] -> [`sources`] (one dialect per backend) -> [`detect`] -> [`classify`]
//!   -> [`inventory`] (store, review, drift, exports)
//! - enforce: [`config`] -> [`retention`] (policy -> plan -> actions -> execute -> audit)
//!
//! [`daemon`] runs both on cron schedules.

pub mod classify;
pub mod config;
pub mod daemon;
pub mod demo;
pub mod detect;
pub mod error;
pub mod inventory;
pub mod progress;
pub mod report;
pub mod retention;
pub mod scan;
pub mod schedule;
pub mod shell;
pub mod sources;
pub mod stop;
pub mod store;
pub mod subject;
pub mod transformed;

pub use error::{Error, Result};
