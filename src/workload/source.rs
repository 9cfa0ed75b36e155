//! Where a replication's requests come from. The experiment asks a source for
//! chunks of requests in time order and, at a pool change, where each user's
//! requests come from; it does not care whether the users were generated
//! ([`Workload`](super::Workload)) or read from an access log (`trace`).

use crate::engine::Time;
use crate::policy::key::Addr;

use super::Request;

/// A time-ordered stream of requests, shared by every policy lane of a replication.
pub trait RequestSource {
    /// Appends up to `max` requests with time before `until` (and before the end of
    /// the run), in time order.
    fn fill(&mut self, out: &mut Vec<Request>, until: Time, max: usize);

    /// The address the user's latest request came from.
    fn last_address(&self, u: u32) -> Addr;

    /// The source port of the user's current (or latest) visit.
    fn port(&self, u: u32) -> u16;

    /// Which of the user's concurrent connections its latest request rode.
    fn connection(&self, _u: u32) -> u8 {
        0
    }

    /// Users the whole run is expected to have, for sizing per-user memory up front.
    fn expected_users(&self) -> usize;

    /// Users seen so far.
    fn users(&self) -> u32;

    /// Events processed so far (for a generator: arrivals, visit starts, requests).
    fn events(&self) -> u64;

    /// Visits started so far.
    fn visits(&self) -> u64;
}
