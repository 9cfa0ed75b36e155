//! A shared session store (Redis, Memcached, a database) that every server reads a
//! user's state from: any server can serve any request, so no session is lost to
//! routing. What it costs is what this counts: the sessions it must hold at once,
//! which sizes it. Its latency is added to every request by the lane.

use std::collections::VecDeque;

use crate::engine::time::{Stamp, Time};

pub struct SessionStore {
    /// Added to every request: a read of the state before, a write after.
    pub latency: Time,
    ttl: Stamp,
    /// Users whose state is alive, and the most at any moment.
    live: u64,
    peak: u64,
    /// (expiry, user) for every request, in time order. An entry expires its user
    /// only if no later request refreshed the state.
    expiries: VecDeque<(Stamp, u32)>,
    /// Each user's current expiry (0: no live state).
    expiry: Vec<Stamp>,
}

impl SessionStore {
    pub fn new(latency: Time, ttl: Time) -> SessionStore {
        SessionStore {
            latency,
            ttl: Stamp::from(ttl),
            live: 0,
            peak: 0,
            expiries: VecDeque::new(),
            expiry: Vec::new(),
        }
    }

    /// Records a request of user `u` at `now`, which reads and refreshes its state.
    pub fn touch(&mut self, u: u32, now: Time) {
        let now = Stamp::from(now);
        while let Some(&(at, v)) = self.expiries.front() {
            if at > now {
                break;
            }
            self.expiries.pop_front();
            if self.expiry[v as usize] == at {
                self.expiry[v as usize] = Stamp(0);
                self.live -= 1;
            }
        }
        let i = u as usize;
        if self.expiry.len() <= i {
            self.expiry.resize(i + 1, Stamp(0));
        }
        if self.expiry[i] == Stamp(0) {
            self.live += 1;
            self.peak = self.peak.max(self.live);
        }
        // A state touched at `now` is gone at exactly `now + ttl`, as on a server.
        let at = Stamp(now.0.saturating_add(self.ttl.0).max(1));
        self.expiry[i] = at;
        self.expiries.push_back((at, u));
    }

    /// The most sessions the store held at once.
    pub fn peak(&self) -> u64 {
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SECOND;

    #[test]
    fn counts_states_alive_at_once() {
        let mut st = SessionStore::new(0, 10 * SECOND);
        st.touch(0, 0);
        st.touch(1, SECOND);
        st.touch(0, 5 * SECOND);
        assert_eq!((st.live, st.peak()), (2, 2));
        // User 1 expired at 11 s; user 0, refreshed at 5 s, lives until 15 s.
        st.touch(2, 12 * SECOND);
        assert_eq!((st.live, st.peak()), (2, 2));
        st.touch(3, 15 * SECOND);
        assert_eq!(st.live, 2, "user 0 gone at exactly its ttl");
        st.touch(4, 16 * SECOND);
        assert_eq!((st.live, st.peak()), (3, 3));
    }
}
