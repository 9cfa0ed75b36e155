//! FCFS service at each server: c workers and a waiting line, solved on arrival.
//!
//! With first-come-first-served service, a request's start time is fixed the moment
//! it arrives: it takes the worker that frees up first. So no service events are
//! needed; each server keeps its workers' next-free times in a small binary heap
//! (stored flat for all servers) and the start times of requests still waiting.

use std::collections::VecDeque;

use crate::engine::Time;

use super::ServerId;

/// What happened to a request at its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Served: it waited `wait` and finishes at `finish`.
    Served { wait: Time, finish: Time },
    /// The waiting line was full.
    Dropped,
}

/// The workers and waiting lines of every server in a lane.
pub struct Queues {
    /// Server s's workers are `free_at[first[s]..first[s + 1]]`.
    first: Vec<usize>,
    /// Each server's min-heap of next-free times, one slot per worker.
    free_at: Vec<Time>,
    /// Start times of requests still waiting, per server (non-decreasing under FCFS).
    waiting: Vec<VecDeque<Time>>,
    limit: Option<usize>,
    /// Total service time given, per server (for utilisation).
    busy: Vec<Time>,
}

impl Queues {
    /// Queues for servers with `workers[s]` workers each.
    pub fn new(workers: &[u32], limit: Option<u32>) -> Queues {
        let first = std::iter::once(0)
            .chain(workers.iter().scan(0, |end, &w| {
                *end += w as usize;
                Some(*end)
            }))
            .collect::<Vec<_>>();
        Queues {
            free_at: vec![0; first[workers.len()]],
            first,
            waiting: (0..workers.len()).map(|_| VecDeque::new()).collect(),
            limit: limit.map(|l| l as usize),
            busy: vec![0; workers.len()],
        }
    }

    fn heap(&self, s: usize) -> &[Time] {
        &self.free_at[self.first[s]..self.first[s + 1]]
    }

    /// Admits a request arriving at `now` needing `service` of work.
    pub fn admit(&mut self, s: ServerId, now: Time, service: Time) -> Admission {
        let s = s as usize;
        let line = &mut self.waiting[s];
        while line.front().is_some_and(|&start| start <= now) {
            line.pop_front();
        }
        let heap = &mut self.free_at[self.first[s]..self.first[s + 1]];
        let start = heap[0].max(now);
        // Only a request that has to wait needs room in the line.
        if start > now && self.limit.is_some_and(|l| line.len() >= l) {
            return Admission::Dropped;
        }
        let finish = start.saturating_add(service);
        heap[0] = finish;
        sift_down(heap);
        if start > now {
            line.push_back(start);
        }
        self.busy[s] = self.busy[s].saturating_add(service);
        Admission::Served {
            wait: start - now,
            finish,
        }
    }

    /// Work assigned to server `s` that is not done by `now`: each worker is busy
    /// without a break from `now` until its next-free time.
    fn unfinished(&self, s: usize, now: Time) -> Time {
        self.heap(s).iter().map(|&f| f.saturating_sub(now)).sum()
    }

    /// A failed or removed server loses its queue at `now`: the work in it is
    /// abandoned and does not count as busy time.
    pub fn reset(&mut self, s: ServerId, now: Time) {
        let s = s as usize;
        self.busy[s] -= self.unfinished(s, now);
        self.free_at[self.first[s]..self.first[s + 1]].fill(0);
        self.waiting[s].clear();
    }

    /// Service time actually given by `end`, per server.
    pub fn busy_by(&self, end: Time) -> Vec<Time> {
        let mut out = vec![0; self.busy.len()];
        self.busy_into(end, &mut out);
        out
    }

    /// `busy_by(end)` written into `out`, one slot per server, allocating nothing.
    /// `end` must not precede the latest arrival admitted.
    pub fn busy_into(&self, end: Time, out: &mut [Time]) {
        for (s, o) in out.iter_mut().enumerate() {
            *o = self.busy[s] - self.unfinished(s, end);
        }
    }

    /// Each server's workers.
    pub fn workers(&self) -> Vec<u32> {
        self.first.windows(2).map(|w| (w[1] - w[0]) as u32).collect()
    }
}

/// Restores the min-heap property after the root grew.
fn sift_down(heap: &mut [Time]) {
    let mut i = 0;
    loop {
        let (l, r) = (2 * i + 1, 2 * i + 2);
        let mut m = i;
        if l < heap.len() && heap[l] < heap[m] {
            m = l;
        }
        if r < heap.len() && heap[r] < heap[m] {
            m = r;
        }
        if m == i {
            return;
        }
        heap.swap(i, m);
        i = m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_workers_fcfs() {
        let mut q = Queues::new(&[2], None);
        assert_eq!(q.admit(0, 0, 10), Admission::Served { wait: 0, finish: 10 });
        assert_eq!(q.admit(0, 1, 10), Admission::Served { wait: 0, finish: 11 });
        // Both busy: waits for the first to free at 10.
        assert_eq!(q.admit(0, 2, 5), Admission::Served { wait: 8, finish: 15 });
        // Next free is 11.
        assert_eq!(q.admit(0, 3, 1), Admission::Served { wait: 8, finish: 12 });
        assert_eq!(q.busy_by(20), [26]);
        // At 12 one worker is done and the other has 3 of its last 5 to go.
        assert_eq!(q.busy_by(12), [23]);
    }

    #[test]
    fn no_line_still_serves_idle_workers() {
        let mut q = Queues::new(&[2], Some(0));
        assert!(matches!(q.admit(0, 0, 10), Admission::Served { wait: 0, .. }));
        assert!(matches!(q.admit(0, 1, 10), Admission::Served { wait: 0, .. }));
        assert_eq!(q.admit(0, 2, 10), Admission::Dropped);
    }

    #[test]
    fn abandoned_work_is_not_busy_time() {
        let mut q = Queues::new(&[1], None);
        q.admit(0, 0, 10);
        q.admit(0, 0, 10);
        q.reset(0, 4);
        assert_eq!(q.busy_by(100), [4]);
    }

    #[test]
    fn servers_of_different_sizes_keep_their_own_workers() {
        let mut q = Queues::new(&[1, 3], None);
        assert_eq!(q.workers(), [1, 3]);
        assert_eq!(q.admit(0, 0, 10), Admission::Served { wait: 0, finish: 10 });
        assert_eq!(q.admit(0, 0, 10), Admission::Served { wait: 10, finish: 20 });
        for _ in 0..3 {
            assert_eq!(q.admit(1, 0, 10), Admission::Served { wait: 0, finish: 10 });
        }
        assert_eq!(q.admit(1, 0, 10), Admission::Served { wait: 10, finish: 20 });
        assert_eq!(q.busy_by(5), [5, 15]);
    }

    #[test]
    fn full_line_drops() {
        let mut q = Queues::new(&[1], Some(1));
        assert!(matches!(q.admit(0, 0, 100), Admission::Served { .. }));
        assert!(matches!(q.admit(0, 1, 100), Admission::Served { wait: 99, .. }));
        assert_eq!(q.admit(0, 2, 100), Admission::Dropped);
        // Once the waiting request starts, there is room again.
        assert!(matches!(q.admit(0, 150, 100), Admission::Served { .. }));
    }
}
