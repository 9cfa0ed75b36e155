//! Session state on the servers: which server holds each user's state (its login,
//! its cart), and whether that state is still alive.
//!
//! State lives on the server that served the user's latest request and dies after
//! `ttl` without a request (at exactly `ttl` idle it is gone), or at once when that
//! server fails or is removed. Both are decided lazily from two numbers per user
//! (holder, last touch) and one per server (the time before which everything it
//! held is gone): no timers. Times here are kept to the millisecond, in 32 bits,
//! which keeps a lane at 8 bytes per user.

use crate::engine::prefetch::prefetch;
use crate::engine::time::{Stamp, Time};
use crate::workload::AddressChange;

use super::ServerId;

const VISIT_LOST: u32 = 1 << 31;
const EVER_LOST: u32 = 1 << 30;
const IN_VISIT: u32 = 1 << 29;
const SEEN: u32 = 1 << 28;
/// Three bits: an address change carried by a request that was not served.
const PENDING_SHIFT: u32 = 25;
const PENDING: u32 = 0b111 << PENDING_SHIFT;
/// A pool change moved this user's key to another server since it was served.
const REMAPPED: u32 = 1 << 24;
const SERVER: u32 = REMAPPED - 1;

/// What a request finds of its user's state before it is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prior {
    /// No state, or it expired after `ttl` idle: nothing to lose.
    Fresh,
    /// Live state on this server.
    Live(ServerId),
    /// The state died with its server (failed or removed) while still within `ttl`.
    Gone,
}

/// Per-user session state for one lane.
pub struct SessionStates {
    /// Holder server + 1 (0: none) in the low bits, flags in the high bits.
    holder: Vec<u32>,
    touched: Vec<Stamp>,
    /// Per server: state touched before this stamp was destroyed.
    wiped_before: Vec<Stamp>,
    ttl: Stamp,
}

impl SessionStates {
    pub fn new(servers: usize, ttl: Time, users: usize) -> SessionStates {
        SessionStates {
            holder: Vec::with_capacity(users),
            touched: Vec::with_capacity(users),
            wiped_before: vec![Stamp(0); servers],
            ttl: Stamp::from(ttl),
        }
    }

    /// Makes room for user `u`. Users arrive in order, so the room is there for
    /// nearly every request: the growing is kept out of the way.
    #[inline(always)]
    fn ensure(&mut self, u: u32) {
        if self.holder.len() <= u as usize {
            self.grow(u);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, u: u32) {
        let n = u as usize + 1;
        self.holder.resize(n, 0);
        self.touched.resize(n, Stamp(0));
    }

    /// Whether this is the first request of `u` this lane sees.
    #[inline]
    pub fn first_sight(&mut self, u: u32) -> bool {
        self.ensure(u);
        let h = &mut self.holder[u as usize];
        let first = *h & SEEN == 0;
        *h |= SEEN;
        first
    }

    /// Starts loading user `u`'s state, for a request a few ahead.
    #[inline]
    pub fn prefetch(&self, u: u32) {
        if let (Some(h), Some(t)) = (self.holder.get(u as usize), self.touched.get(u as usize)) {
            prefetch(h);
            prefetch(t);
        }
    }

    /// The state a request of user `u` at `now` finds.
    #[inline]
    pub fn prior(&mut self, u: u32, now: Time) -> Prior {
        self.ensure(u);
        let i = u as usize;
        let h = self.holder[i] & SERVER;
        if h == 0 || Stamp::from(now).since(self.touched[i]) >= self.ttl {
            return Prior::Fresh;
        }
        let s = h - 1;
        if self.touched[i] < self.wiped_before[s as usize] {
            Prior::Gone
        } else {
            Prior::Live(s)
        }
    }

    /// The server holding `u`'s state (its latest request's server), if any.
    pub fn holder(&self, u: u32) -> Option<ServerId> {
        let h = self.holder.get(u as usize)? & SERVER;
        (h > 0).then(|| h - 1)
    }

    /// Records that `u`'s request at `now` was served by `s`, which now holds its state.
    pub fn serve(&mut self, u: u32, s: ServerId, now: Time) {
        let i = u as usize;
        self.holder[i] = (self.holder[i] & !(SERVER | PENDING | REMAPPED)) | (s + 1);
        self.touched[i] = Stamp::from(now);
    }

    /// The address change since `u`'s state was last used: the one this request
    /// carries, or one carried by an earlier request that was not served.
    pub fn change_since_served(&self, u: u32, carried: AddressChange) -> AddressChange {
        match carried {
            AddressChange::None => AddressChange::from_code((self.holder[u as usize] & PENDING) >> PENDING_SHIFT),
            c => c,
        }
    }

    /// Records that a pool change moved `u`'s key away from where its state is.
    pub fn mark_remapped(&mut self, u: u32) {
        self.holder[u as usize] |= REMAPPED;
    }

    /// Whether a pool change moved `u`'s key since its state was last used.
    pub fn remapped(&self, u: u32) -> bool {
        self.holder[u as usize] & REMAPPED != 0
    }

    /// Remembers an address change carried by a request that was not served.
    pub fn hold_change(&mut self, u: u32, carried: AddressChange) {
        if carried == AddressChange::None {
            return;
        }
        let bits = carried.code();
        let h = &mut self.holder[u as usize];
        *h = (*h & !PENDING) | (bits << PENDING_SHIFT);
    }

    /// The server fails or leaves at `now`: everything it holds is gone.
    pub fn wipe(&mut self, s: ServerId, now: Time) {
        self.wiped_before[s as usize] = Stamp::from(now).next();
    }

    /// Whether `u`'s state is alive at `now` (for counting live sessions).
    pub fn is_live(&self, u: u32, now: Time) -> bool {
        let i = u as usize;
        let h = self.holder[i] & SERVER;
        h > 0
            && Stamp::from(now).since(self.touched[i]) < self.ttl
            && self.touched[i] >= self.wiped_before[(h - 1) as usize]
    }

    pub fn users(&self) -> u32 {
        self.holder.len() as u32
    }

    /// Marks the start of a visit; clears the visit's loss mark.
    pub fn open_visit(&mut self, u: u32) {
        self.holder[u as usize] &= !VISIT_LOST;
    }

    /// Marks a loss; returns (first loss of this visit, first loss of this user).
    pub fn mark_lost(&mut self, u: u32) -> (bool, bool) {
        let h = &mut self.holder[u as usize];
        let firsts = (*h & VISIT_LOST == 0, *h & EVER_LOST == 0);
        *h |= VISIT_LOST | EVER_LOST;
        firsts
    }

    /// Whether `u` is counted as an active session on its holder.
    pub fn in_visit(&self, u: u32) -> bool {
        self.holder[u as usize] & IN_VISIT != 0
    }

    pub fn set_in_visit(&mut self, u: u32, on: bool) {
        let h = &mut self.holder[u as usize];
        if on {
            *h |= IN_VISIT;
        } else {
            *h &= !IN_VISIT;
        }
    }

    /// Ends the warm-up: forgets which users were seen and which lost state, so
    /// users, visits and losses count from here on, and returns the visits open
    /// now, which count as measured visits since their remaining requests are.
    pub fn start_measuring(&mut self) -> u64 {
        let mut open = 0;
        for h in &mut self.holder {
            open += u64::from(*h & IN_VISIT != 0);
            *h &= !(SEEN | EVER_LOST | VISIT_LOST);
        }
        open
    }

    /// Users counted as active on server `s`, which are no longer (it went away).
    pub fn end_visits_on(&mut self, s: ServerId) {
        for h in &mut self.holder {
            if *h & IN_VISIT != 0 && *h & SERVER == s + 1 {
                *h &= !IN_VISIT;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_lives_until_ttl_or_wipe() {
        let ms = crate::engine::MILLISECOND;
        let mut st = SessionStates::new(2, 100 * ms, 4);
        assert_eq!(st.prior(0, 0), Prior::Fresh);
        st.serve(0, 1, 0);
        assert_eq!(st.prior(0, 99 * ms), Prior::Live(1));
        assert_eq!(st.prior(0, 100 * ms), Prior::Fresh);
        st.serve(0, 1, 150 * ms);
        st.wipe(1, 160 * ms);
        assert_eq!(st.prior(0, 170 * ms), Prior::Gone);
        st.serve(0, 0, 170 * ms);
        assert_eq!(st.prior(0, 180 * ms), Prior::Live(0));
    }

    #[test]
    fn change_on_an_unserved_request_is_kept_until_served() {
        let mut st = SessionStates::new(1, 100, 1);
        assert!(st.first_sight(0));
        assert!(!st.first_sight(0));
        st.hold_change(0, AddressChange::Mobility);
        assert_eq!(st.change_since_served(0, AddressChange::None), AddressChange::Mobility);
        st.serve(0, 0, 5);
        assert_eq!(st.change_since_served(0, AddressChange::None), AddressChange::None);
    }

    #[test]
    fn loss_marks_reset_per_visit() {
        let mut st = SessionStates::new(1, 100, 1);
        st.prior(0, 0);
        st.open_visit(0);
        assert_eq!(st.mark_lost(0), (true, true));
        assert_eq!(st.mark_lost(0), (false, false));
        st.open_visit(0);
        assert_eq!(st.mark_lost(0), (true, false));
    }
}
