//! A cooperative stop request, checked by long jobs between batches and tables so that the work in
//! flight commits before the process exits (SIGTERM, SIGINT, daemon shutdown).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Cloneable flag: [`Stop::request`] on any clone is seen by all.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// A flag that is not raised.
    pub fn new() -> Self {
        Stop::default()
    }
    /// Asks every holder to stop at the next safe point.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// True once a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
