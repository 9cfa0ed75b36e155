//! The future-event set: events ordered by (time, sequence number).
//!
//! The sequence number is handed out on insertion, so events scheduled for the same
//! instant run in the order they were scheduled, on every run and every machine.
//!
//! Events far in the future (a user's return visit hours later) wait in a second
//! heap, so the heap touched by every request stays small and cache-resident. The
//! earlier of the two heads is taken, which gives exactly the one-heap order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::time::Time;

struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and the earliest event must come first.
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

/// Pending events, earliest first; ties in time keep their scheduling order.
pub struct Calendar<E> {
    near: BinaryHeap<Entry<E>>,
    far: BinaryHeap<Entry<E>>,
    /// Events more than this far past the last popped time go to `far`.
    horizon: Time,
    now: Time,
    next_seq: u64,
}

impl<E> Default for Calendar<E> {
    fn default() -> Self {
        Self::new(Time::MAX)
    }
}

impl<E> Calendar<E> {
    pub fn new(horizon: Time) -> Self {
        Self {
            near: BinaryHeap::new(),
            far: BinaryHeap::new(),
            horizon,
            now: 0,
            next_seq: 0,
        }
    }

    pub fn schedule(&mut self, time: Time, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { time, seq, event };
        if time.saturating_sub(self.now) > self.horizon {
            self.far.push(entry);
        } else {
            self.near.push(entry);
        }
    }

    /// The heap whose head comes first.
    fn first(&self) -> Option<&BinaryHeap<Entry<E>>> {
        match (self.near.peek(), self.far.peek()) {
            (Some(n), Some(f)) => Some(if n >= f { &self.near } else { &self.far }),
            (Some(_), None) => Some(&self.near),
            (None, Some(_)) => Some(&self.far),
            (None, None) => None,
        }
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Time> {
        self.first().and_then(|h| h.peek()).map(|e| e.time)
    }

    pub fn pop(&mut self) -> Option<(Time, E)> {
        let near_first = std::ptr::eq(self.first()?, &self.near);
        let e = if near_first { self.near.pop() } else { self.far.pop() }?;
        self.now = e.time;
        Some((e.time, e.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_ties_in_scheduling_order() {
        let mut c = Calendar::default();
        c.schedule(5, "late");
        c.schedule(1, "first");
        c.schedule(3, "tie-a");
        c.schedule(3, "tie-b");
        c.schedule(3, "tie-c");
        let order: Vec<_> = std::iter::from_fn(|| c.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["first", "tie-a", "tie-b", "tie-c", "late"]);
    }

    #[test]
    fn pops_in_time_then_sequence_order_with_far_events() {
        // Random schedules interleaved with pops, into a split calendar: every pop
        // must be the (time, seq) minimum of what is pending.
        let mut c = Calendar::new(10);
        let mut pending: Vec<(Time, u64)> = Vec::new();
        let mut x = 12345u64;
        let mut went_far = false;
        for seq in 0..5000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            if x >> 62 == 0 {
                let got = c.pop();
                pending.sort();
                let want = (!pending.is_empty()).then(|| pending.remove(0));
                assert_eq!(got, want);
            } else {
                let t = c.now + (x >> 33) % 100;
                went_far |= t - c.now > 10;
                c.schedule(t, seq);
                pending.push((t, seq));
            }
        }
        assert!(went_far);
        pending.sort();
        let rest: Vec<_> = std::iter::from_fn(|| c.pop()).collect();
        assert_eq!(rest, pending);
    }
}
