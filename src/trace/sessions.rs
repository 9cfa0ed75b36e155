//! Cutting each client's requests into sessions.
//!
//! A log does not say when a visit ends; it only shows requests. The usual cut,
//! since Catledge and Pitkow's 1995 study of browsing, is an idle gap: a client's
//! session goes on while its requests come closer together than a timeout, and a
//! request after a longer silence starts a new one. Thirty minutes is the common
//! choice (it is what web analytics use), and the scenario's `state_ttl` usually
//! matches it, since a server forgets a session after about as long.
//!
//! The rule here: a new session starts when the gap since the client's previous
//! request *exceeds* the idle time; a request exactly the idle time after the last
//! one still belongs to its session.
//!
//! Requests are first put in time order. A log has one-second resolution and
//! requests within a second are written in the order the server finished them;
//! the sort is stable, so they keep the file's order, and a replay is the same
//! every time.

use crate::engine::Time;
use crate::policy::key::Addr;

/// One request of the trace, ready to replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    /// Since the first request of the trace.
    pub time: Time,
    pub user: u32,
    /// First request of a session.
    pub opens: bool,
    /// Last request of a session.
    pub closes: bool,
}

/// A trace cut into sessions.
pub struct Cut {
    /// Every request, in time order.
    pub hits: Vec<Hit>,
    /// Each user's address; users are numbered by their first request.
    pub addrs: Vec<Addr>,
    /// Requests per session, sorted.
    pub lengths: Vec<u32>,
}

const NONE: usize = usize::MAX;

/// Sorts `requests` (Unix nanoseconds, user id) by time and cuts every user's
/// requests into sessions at gaps longer than `idle`. `requests` is not empty.
pub fn cut(mut requests: Vec<(i64, u32)>, addrs: &[Addr], idle: Time) -> Cut {
    requests.sort_by_key(|&(t, _)| t);
    let start = requests[0].0;
    let mut renumbered = vec![u32::MAX; addrs.len()];
    let mut ordered = Vec::with_capacity(addrs.len());
    let mut last = Vec::with_capacity(addrs.len());
    let mut count: Vec<u32> = Vec::with_capacity(addrs.len());
    let mut lengths = Vec::new();
    let mut hits: Vec<Hit> = Vec::with_capacity(requests.len());
    for (t, id) in requests {
        let slot = &mut renumbered[id as usize];
        if *slot == u32::MAX {
            *slot = ordered.len() as u32;
            ordered.push(addrs[id as usize]);
            last.push(NONE);
            count.push(0);
        }
        let user = *slot;
        let u = user as usize;
        // Times sort to at least `start`, and any two fit in an i64's range.
        let time = t.abs_diff(start);
        let prev = last[u];
        let opens = prev == NONE || time - hits[prev].time > idle;
        if opens {
            if prev != NONE {
                hits[prev].closes = true;
                lengths.push(count[u]);
            }
            count[u] = 0;
        }
        count[u] += 1;
        last[u] = hits.len();
        hits.push(Hit {
            time,
            user,
            opens,
            closes: false,
        });
    }
    for (&l, &n) in last.iter().zip(&count) {
        hits[l].closes = true;
        lengths.push(n);
    }
    lengths.sort_unstable();
    Cut {
        hits,
        addrs: ordered,
        lengths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::{MINUTE, SECOND};

    const S: i64 = SECOND as i64;

    fn flags(c: &Cut) -> Vec<(u32, bool, bool)> {
        c.hits.iter().map(|h| (h.user, h.opens, h.closes)).collect()
    }

    #[test]
    fn a_gap_longer_than_idle_starts_a_session() {
        let addrs = [Addr::v4(1), Addr::v4(2)];
        // User 1 first; user 0 comes back exactly 30 minutes after, then 30m + 1s after.
        let t0 = 1_000 * S;
        let requests = vec![(t0, 1), (t0 + S, 0), (t0 + S + 1800 * S, 0), (t0 + 2 * S + 3600 * S, 0)];
        let c = cut(requests, &addrs, 30 * MINUTE);
        assert_eq!(
            flags(&c),
            [(0, true, true), (1, true, false), (1, false, true), (1, true, true)]
        );
        assert_eq!(c.addrs, [Addr::v4(2), Addr::v4(1)]);
        assert_eq!(c.lengths, [1, 1, 2]);
        assert_eq!(c.hits[3].time, 3602 * SECOND);
    }

    #[test]
    fn same_second_keeps_file_order() {
        let addrs = [Addr::v4(1), Addr::v4(2), Addr::v4(3)];
        let requests = vec![(5 * S, 2), (3 * S, 1), (5 * S, 0), (3 * S, 2)];
        let c = cut(requests, &addrs, MINUTE);
        let order: Vec<(Time, Addr)> = c.hits.iter().map(|h| (h.time, c.addrs[h.user as usize])).collect();
        assert_eq!(
            order,
            [
                (0, Addr::v4(2)),
                (0, Addr::v4(3)),
                (2 * SECOND, Addr::v4(3)),
                (2 * SECOND, Addr::v4(1)),
            ]
        );
    }
}
