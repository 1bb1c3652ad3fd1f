//! Data subject requests (access, copy, erasure): config -> identifiers (normalized like the
//! detectors) -> inventory (which columns hold that category) -> sources (search, follow foreign
//! keys) -> export | erase (the retention planner and executor over an explicit key set: batches,
//! holds, brake, audit) ; the request register in the inventory store.

pub mod erase;
pub mod export;
pub mod find;
pub mod follow;
pub mod identifiers;
pub mod register;

pub use find::{find, FindOptions, Findings, Found};
pub use identifiers::{Identifier, Kind, SpanEraser};
