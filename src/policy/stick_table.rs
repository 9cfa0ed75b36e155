//! A stick table: the balancer's own memory of which server each client address
//! was sent to (HAProxy `stick on src`, IPVS persistence, the "affinity mapping"
//! of the classic description).
//!
//! The first request of an unknown address goes through a base policy; the server
//! picked is then recorded (even if that request is then dropped at a full queue),
//! and later requests from that address follow the record while it lives. An entry expires after `expire` without use (every hit
//! refreshes it). When the table is full, the entries closest to expiry are
//! evicted, `size/256 + 1` at a time, as HAProxy does. If the recorded server is
//! down, the base policy picks again and the client is re-stuck to the new server.

use super::aged::AgedTable;
use super::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "stick_table",
    summary: "table of source address -> server with idle expiry and a size limit; new clients via a base policy",
    params: &[BASE, EXPIRE, SIZE],
    build: |args, ctx| {
        let base = build(&args.policy("base")?, ctx)?;
        let expire = args.duration_or_none("expire")?.map(|d| d.0);
        let size = args.int("size", 1, 1 << 31)? as usize;
        Ok(Box::new(StickTable::new(base, expire, size)))
    },
};

/// The parameters of a stick table; product stick tables that model the same
/// three settings share them.
pub const BASE: Param = Param {
    name: "base",
    default: "round_robin",
    help: "policy for addresses not in the table",
};
pub const EXPIRE: Param = Param {
    name: "expire",
    default: "30m",
    help: "idle time after which an entry is dropped (\"none\" or 0: never)",
};
pub const SIZE: Param = Param {
    name: "size",
    default: "1000000",
    help: "entries the table holds; the oldest are evicted beyond it",
};

pub struct StickTable {
    base: Box<dyn Policy>,
    expire: Option<Time>,
    size: usize,
    /// Address to server.
    entries: AgedTable<ServerId>,
}

impl StickTable {
    pub fn new(base: Box<dyn Policy>, expire: Option<Time>, size: usize) -> StickTable {
        StickTable {
            base,
            expire,
            size,
            entries: AgedTable::default(),
        }
    }

    fn live(&self, addr: Addr, now: Time, pool: &Pool) -> Option<ServerId> {
        self.entries
            .get(&addr)
            .filter(|&(&s, touched)| !expired(self.expire, touched, now) && pool.is_up(s))
            .map(|(&s, _)| s)
    }

    /// Records the server of a client that had no live entry; a full table first
    /// evicts its `size/256 + 1` least recently used entries, as HAProxy does.
    fn insert(&mut self, addr: Addr, server: ServerId, now: Time) {
        if self.entries.get(&addr).is_none() && self.entries.len() >= self.size {
            for _ in 0..(self.size >> 8) + 1 {
                if !self.entries.evict_oldest() {
                    break;
                }
            }
        }
        self.entries.insert(addr, server, now);
    }
}

/// An entry last used at `touched` is gone at `touched + expire`.
fn expired(expire: Option<Time>, touched: Time, now: Time) -> bool {
    expire.is_some_and(|e| now >= touched.saturating_add(e))
}

impl Policy for StickTable {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        // Drops expired entries, as HAProxy's expiry task does.
        if let Some(oldest_alive) = self.expire.and_then(|e| now.checked_sub(e)) {
            self.entries.drop_older(oldest_alive + 1);
        }
        if let Some(server) = self.live(client.addr, now, pool) {
            self.entries.touch(client.addr, now);
            return Pick {
                server,
                memory: Memory::Hit,
            };
        }
        let server = self.base.pick(client, now, pool, rng).server;
        self.insert(client.addr, server, now);
        Pick {
            server,
            memory: Memory::Miss,
        }
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        self.live(client.addr, now, pool)
            .or_else(|| self.base.peek(client, now, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.base.pool_changed(pool);
    }

    fn weights_changed(&mut self, pool: &Pool) {
        self.base.weights_changed(pool);
    }

    fn remember(&mut self, client: &Client, pick: Pick, _: Option<u64>, now: Time) {
        self.insert(client.addr, pick.server, now);
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
    use crate::engine::{MINUTE, Stream};
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
            assert_eq!(
                t.pick(&c, m * MINUTE, &p, &mut rng),
                Pick {
                    server: first.server,
                    memory: Memory::Hit
                }
            );
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
        assert_eq!(
            t.pick(&c, 2, &p, &mut rng),
            Pick {
                server: second.server,
                memory: Memory::Hit
            }
        );
    }
}
