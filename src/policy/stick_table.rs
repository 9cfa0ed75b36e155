//! A stick table: the balancer's own memory of which server each client address
//! was sent to (HAProxy `stick on src`, IPVS persistence, the "affinity mapping"
//! of the classic description).
//!
//! The first request of an unknown address goes through a base policy; the server
//! actually used is then recorded, and later requests from that address follow the
//! record while it lives. An entry expires after `expire` without use (every hit
//! refreshes it). When the table is full, the entries closest to expiry are
//! evicted, `size/256 + 1` at a time, as HAProxy does. If the recorded server is
//! down, the base policy picks again and the client is re-stuck to the new server.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use xxhash_rust::xxh3::Xxh3Builder;

use super::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "stick_table",
    summary: "table of source address -> server with idle expiry and a size limit; new clients via a base policy",
    params: &[
        Param { name: "base", default: "round_robin", help: "policy for addresses not in the table" },
        Param { name: "expire", default: "30m", help: "idle time after which an entry is dropped (\"none\": never)" },
        Param { name: "size", default: "1000000", help: "entries the table holds; the oldest are evicted beyond it" },
    ],
    build: |args, ctx| {
        let base = build(&args.policy("base")?, ctx)?;
        let expire = args.duration_or_none("expire")?.map(|d| d.0);
        let size = args.int("size", 1, 1 << 31)? as usize;
        Ok(Box::new(StickTable::new(base, expire, size)))
    },
};

#[derive(Clone, Copy)]
struct Entry {
    server: ServerId,
    touched: Time,
}

pub struct StickTable {
    base: Box<dyn Policy>,
    expire: Option<Time>,
    size: usize,
    entries: HashMap<Addr, Entry, Xxh3Builder>,
    /// (last use, address) for every touch; stale pairs are skipped when popped.
    by_age: BinaryHeap<Reverse<(Time, Addr)>>,
}

impl StickTable {
    pub fn new(base: Box<dyn Policy>, expire: Option<Time>, size: usize) -> StickTable {
        StickTable {
            base,
            expire,
            size,
            entries: HashMap::with_hasher(Xxh3Builder::new()),
            by_age: BinaryHeap::new(),
        }
    }

    fn expired(&self, touched: Time, now: Time) -> bool {
        self.expire.is_some_and(|e| now >= touched.saturating_add(e))
    }

    fn live(&self, addr: Addr, now: Time, pool: &Pool) -> Option<ServerId> {
        self.entries
            .get(&addr)
            .filter(|e| !self.expired(e.touched, now) && pool.is_up(e.server))
            .map(|e| e.server)
    }

    fn store(&mut self, addr: Addr, server: ServerId, now: Time) {
        if !self.entries.contains_key(&addr) && self.entries.len() >= self.size {
            self.make_room(now);
        }
        self.entries.insert(addr, Entry { server, touched: now });
        self.by_age.push(Reverse((now, addr)));
        // Stale pairs accumulate with every touch; rebuild from the live entries
        // before they outnumber them, which keeps the heap within 2x the table.
        if self.by_age.len() > 2 * self.entries.len() + 1024 {
            self.by_age = self.entries.iter().map(|(&a, e)| Reverse((e.touched, a))).collect();
        }
    }

    /// Drops the least recently used batch, and any expired entries met on the
    /// way, until there is room.
    fn make_room(&mut self, now: Time) {
        let mut batch = (self.size >> 8) + 1;
        while let Some(Reverse((touched, addr))) = self.by_age.pop() {
            if self.entries.get(&addr).map(|e| e.touched) != Some(touched) {
                continue;
            }
            self.entries.remove(&addr);
            batch = batch.saturating_sub(1);
            if batch == 0 && !self.expired(touched, now) {
                break;
            }
        }
    }
}

impl Policy for StickTable {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        if let Some(server) = self.live(client.addr, now, pool) {
            self.store(client.addr, server, now);
            return Pick { server, memory: Memory::Hit };
        }
        let server = self.base.pick(client, now, pool, rng).server;
        self.store(client.addr, server, now);
        Pick { server, memory: Memory::Miss }
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        self.live(client.addr, now, pool).or_else(|| self.base.peek(client, now, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.base.pool_changed(pool);
    }

    fn affinity(&self) -> Affinity {
        Affinity::Address
    }

    fn wants_load(&self) -> bool {
        self.base.wants_load()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{built, client, pool};
    use super::*;
    use crate::engine::{Stream, MINUTE};
    use crate::pool::PoolChangeKind;

    #[test]
    fn follows_the_record_until_idle_expiry() {
        let p = pool(3);
        let mut t = built("stick_table(expire=10m)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let c = client(1);
        let first = t.pick(&c, 0, &p, &mut rng);
        assert_eq!(first.memory, Memory::Miss);
        // Hits refresh the entry, so it outlives 10 minutes from the first request.
        for m in [5, 12, 20] {
            assert_eq!(t.pick(&c, m * MINUTE, &p, &mut rng), Pick { server: first.server, memory: Memory::Hit });
        }
        assert_eq!(t.pick(&c, 31 * MINUTE, &p, &mut rng).memory, Memory::Miss);
    }

    #[test]
    fn full_table_evicts_the_oldest() {
        let p = pool(3);
        let mut t = built("stick_table(size=4, expire=none)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        for i in 0..5 {
            t.pick(&client(i), i as u64, &p, &mut rng);
        }
        // Client 0 was evicted for client 4; the others are still there.
        assert_eq!(t.pick(&client(0), 10, &p, &mut rng).memory, Memory::Miss);
        assert_eq!(t.pick(&client(3), 11, &p, &mut rng).memory, Memory::Hit);
    }

    #[test]
    fn restick_after_failure_and_no_failback() {
        let mut p = pool(3);
        let mut t = built("stick_table", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let c = client(7);
        let first = t.pick(&c, 0, &p, &mut rng).server;
        p.apply(&PoolChangeKind::Fail(first));
        t.pool_changed(&p);
        let second = t.pick(&c, 1, &p, &mut rng);
        assert_ne!(second.server, first);
        p.apply(&PoolChangeKind::Recover(first));
        t.pool_changed(&p);
        assert_eq!(t.pick(&c, 2, &p, &mut rng), Pick { server: second.server, memory: Memory::Hit });
    }
}
