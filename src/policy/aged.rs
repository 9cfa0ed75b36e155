//! A table keyed by client address whose entries age: the memory of stick tables
//! and persistence templates. Each entry remembers when it was last touched, and
//! a queue of touches in time order finds the oldest entries without a scan, for
//! idle expiry and for eviction when the table is full.
//!
//! Requests arrive in time order, so the queue is in time order too. A touch
//! queues a new pair and leaves the entry's older pairs behind as stale (their
//! time no longer matches the entry's); they are skipped when reached, and the
//! queue is compacted before they outnumber the entries. Touching an entry again
//! at the same instant queues nothing, so stale pairs never pass for current ones.

use std::collections::VecDeque;

use crate::engine::Time;
use crate::hash::AddrMap;
use crate::policy::Addr;

pub struct AgedTable<V> {
    entries: AddrMap<(V, Time)>,
    by_age: VecDeque<(Time, Addr)>,
}

impl<V> Default for AgedTable<V> {
    fn default() -> Self {
        AgedTable {
            entries: AddrMap::default(),
            by_age: VecDeque::new(),
        }
    }
}

impl<V> AgedTable<V> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An entry and when it was last touched.
    pub fn get(&self, addr: &Addr) -> Option<(&V, Time)> {
        self.entries.get(addr).map(|(v, t)| (v, *t))
    }

    /// An entry, for the caller to decide whether to use it; `touch` records the use.
    pub fn get_mut(&mut self, addr: &Addr) -> Option<(&mut V, Time)> {
        self.entries.get_mut(addr).map(|(v, t)| (v, *t))
    }

    /// Records that `addr`'s entry was used at `now`.
    pub fn touch(&mut self, addr: Addr, now: Time) {
        if let Some((_, t)) = self.entries.get_mut(&addr)
            && *t != now
        {
            *t = now;
            self.queue(addr, now);
        }
    }

    /// Sets `addr`'s entry, touched at `now`.
    pub fn insert(&mut self, addr: Addr, value: V, now: Time) {
        if let Some((_, t)) = self.entries.insert(addr, (value, now))
            && t == now
        {
            return;
        }
        self.queue(addr, now);
    }

    fn queue(&mut self, addr: Addr, now: Time) {
        self.by_age.push_back((now, addr));
        if self.by_age.len() > 2 * self.entries.len() + 1024 {
            let entries = &self.entries;
            self.by_age
                .retain(|(t, a)| entries.get(a).is_some_and(|(_, at)| at == t));
        }
    }

    /// Drops every entry last touched before `cutoff`.
    pub fn drop_older(&mut self, cutoff: Time) {
        while let Some(&(t, a)) = self.by_age.front() {
            if t >= cutoff {
                return;
            }
            self.by_age.pop_front();
            if self.entries.get(&a).is_some_and(|(_, at)| *at == t) {
                self.entries.remove(&a);
            }
        }
    }

    /// Removes the least recently touched entry; false when the table is empty.
    pub fn evict_oldest(&mut self) -> bool {
        while let Some((t, a)) = self.by_age.pop_front() {
            if self.entries.get(&a).is_some_and(|(_, at)| *at == t) {
                self.entries.remove(&a);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touches_at_one_instant_queue_once_and_age_in_order() {
        let mut t = AgedTable::default();
        let (a, b, c) = (Addr::v4(1), Addr::v4(2), Addr::v4(3));
        t.insert(a, 'a', 0);
        t.insert(b, 'b', 0);
        for _ in 0..10_000 {
            t.touch(a, 0);
        }
        assert!(t.by_age.len() <= 2, "same-instant touches queue nothing");
        t.insert(c, 'c', 5);
        t.touch(a, 7);
        // b is now the least recently touched, then c, then a.
        assert!(t.evict_oldest());
        assert!(t.get(&b).is_none() && t.get(&a).is_some());
        t.drop_older(6);
        assert!(t.get(&c).is_none());
        assert_eq!(t.get(&a).map(|(v, at)| (*v, at)), Some(('a', 7)));
        assert!(t.evict_oldest() && !t.evict_oldest() && t.is_empty());
    }
}
