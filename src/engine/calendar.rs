//! The future-event set: events ordered by (time, sequence number).
//!
//! The sequence number is handed out on insertion, so events scheduled for the same
//! instant run in the order they were scheduled, on every run and every machine.
//!
//! It is a calendar queue (Brown, 1988): a ring of buckets, each covering `width`
//! of simulated time (rounded up to a power of two of nanoseconds, and the ring
//! to a power of two of buckets, so that finding a bucket is a shift and a mask
//! rather than two divisions; the order of events does not depend on either). Scheduling appends to a bucket; a bucket is sorted once, when
//! its time comes, and then drained from the end. Events beyond the ring (a return
//! visit hours later) wait in a heap and move into the ring as it turns. Every pop
//! is the (time, sequence) minimum of all pending events, exactly as one heap would
//! give, at a fraction of a heap's cost per event.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::time::Time;

struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> Entry<E> {
    fn key(&self) -> (Time, u64) {
        (self.time, self.seq)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
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
        self.key().cmp(&other.key())
    }
}

/// Pending events, earliest first; ties in time keep their scheduling order.
pub struct Calendar<E> {
    /// log2 of the bucket width in nanoseconds.
    shift: u32,
    /// The ring's length less one.
    mask: u64,
    /// `ring[b % len]` holds the events of bucket b, for b in `current..current + len`.
    ring: Vec<Vec<Entry<E>>>,
    /// The bucket being drained; it is sorted latest-first once `sorted` is set.
    current: u64,
    sorted: bool,
    in_ring: usize,
    /// The time of the last popped event (to catch scheduling in the past).
    popped: Time,
    /// Events at or beyond bucket `current + ring.len()`.
    beyond: BinaryHeap<Reverse<Entry<E>>>,
    next_seq: u64,
}

impl<E> Calendar<E> {
    /// A calendar of at least `buckets` buckets of at least `width` each.
    pub fn new(width: Time, buckets: usize) -> Self {
        Self {
            shift: width.max(1).next_power_of_two().trailing_zeros(),
            mask: buckets.max(1).next_power_of_two() as u64 - 1,
            ring: (0..buckets.max(1).next_power_of_two()).map(|_| Vec::new()).collect(),
            current: 0,
            sorted: false,
            in_ring: 0,
            popped: 0,
            beyond: BinaryHeap::new(),
            next_seq: 0,
        }
    }

    fn bucket_of(&self, time: Time) -> u64 {
        time >> self.shift
    }

    fn slot(&self, bucket: u64) -> usize {
        (bucket & self.mask) as usize
    }

    /// Schedules `event` at `time`, which must not be before the last popped event.
    pub fn schedule(&mut self, time: Time, event: E) {
        debug_assert!(
            time >= self.popped,
            "event scheduled in the past: {time} < {}",
            self.popped
        );
        let entry = Entry {
            time,
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        let b = self.bucket_of(time).max(self.current);
        if b >= self.current + self.ring.len() as u64 {
            self.beyond.push(Reverse(entry));
            return;
        }
        let slot = self.slot(b);
        let bucket = &mut self.ring[slot];
        if b == self.current && self.sorted {
            // Keep the bucket being drained in latest-first order.
            let at = bucket.partition_point(|e| e.key() > entry.key());
            bucket.insert(at, entry);
        } else {
            bucket.push(entry);
        }
        self.in_ring += 1;
    }

    /// Brings the earliest pending event to the end of the current bucket.
    fn settle(&mut self) -> bool {
        loop {
            let slot = self.slot(self.current);
            if !self.ring[slot].is_empty() {
                if !self.sorted {
                    self.ring[slot].sort_unstable_by_key(|e| Reverse(e.key()));
                    self.sorted = true;
                }
                return true;
            }
            if self.in_ring == 0 {
                // Nothing in the ring: jump straight to the next waiting event.
                match self.beyond.peek() {
                    Some(Reverse(e)) => self.current = self.current.max(self.bucket_of(e.time)),
                    None => return false,
                }
            } else {
                self.current += 1;
            }
            self.sorted = false;
            let horizon = self.current + self.ring.len() as u64;
            while let Some(Reverse(e)) = self.beyond.peek() {
                let b = self.bucket_of(e.time);
                if b >= horizon {
                    break;
                }
                let Some(Reverse(e)) = self.beyond.pop() else { break };
                let slot = self.slot(b.max(self.current));
                self.ring[slot].push(e);
                self.in_ring += 1;
            }
        }
    }

    /// The earliest pending event, if it is due before `stop`.
    pub fn pop_before(&mut self, stop: Time) -> Option<(Time, E)> {
        if !self.settle() {
            return None;
        }
        let slot = self.slot(self.current);
        let bucket = &mut self.ring[slot];
        if bucket.last()?.time >= stop {
            return None;
        }
        let e = bucket.pop()?;
        self.in_ring -= 1;
        self.popped = e.time;
        Some((e.time, e.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_ties_in_scheduling_order() {
        let mut c = Calendar::new(2, 4);
        c.schedule(5, "late");
        c.schedule(1, "first");
        c.schedule(3, "tie-a");
        c.schedule(3, "tie-b");
        c.schedule(3, "tie-c");
        c.schedule(100, "beyond the ring");
        let order: Vec<_> = std::iter::from_fn(|| c.pop_before(Time::MAX)).map(|(_, e)| e).collect();
        assert_eq!(order, ["first", "tie-a", "tie-b", "tie-c", "late", "beyond the ring"]);
    }

    #[test]
    fn pops_in_time_then_sequence_order() {
        // Random schedules interleaved with pops, spanning the current bucket, the
        // ring and beyond it: every pop must be the (time, seq) minimum pending.
        for (width, buckets) in [(1, 1), (3, 4), (10, 8), (1000, 2)] {
            let mut c = Calendar::new(width, buckets);
            let mut pending: Vec<(Time, u64)> = Vec::new();
            let (mut now, mut x) = (0, 12345u64);
            for seq in 0..5000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                if x >> 62 == 0 {
                    pending.sort();
                    let want = (!pending.is_empty()).then(|| pending.remove(0));
                    let got = c.pop_before(Time::MAX);
                    assert_eq!(got, want, "width {width}, buckets {buckets}");
                    now = got.map_or(now, |(t, _)| t);
                } else {
                    let t = now + [0, 1, 7, 40, 300][((x >> 33) % 5) as usize];
                    c.schedule(t, seq);
                    pending.push((t, seq));
                }
            }
            pending.sort();
            let rest: Vec<_> = std::iter::from_fn(|| c.pop_before(Time::MAX)).collect();
            assert_eq!(rest, pending);
        }
    }
}
