//! How far a run has come, for a progress display: simulated time covered and
//! requests routed, summed over replications (and sweep points). Replications
//! report once per chunk of requests, with relaxed atomic adds: nothing waits for
//! the display, and the results do not depend on it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::Time;

#[derive(Debug, Default)]
pub struct Progress {
    simulated: AtomicU64,
    routed: AtomicU64,
}

impl Progress {
    /// A replication moved `simulated` further in time, routing `routed` more requests (counted once per lane).
    pub fn advance(&self, simulated: Time, routed: u64) {
        self.simulated.fetch_add(simulated, Ordering::Relaxed);
        self.routed.fetch_add(routed, Ordering::Relaxed);
    }

    /// Simulated time covered so far, over all replications.
    pub fn simulated(&self) -> Time {
        self.simulated.load(Ordering::Relaxed)
    }

    /// Requests routed so far, counting each once per lane.
    pub fn routed(&self) -> u64 {
        self.routed.load(Ordering::Relaxed)
    }
}
