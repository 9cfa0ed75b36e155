//! HAProxy 2.6's stick table: `stick-table type ip size N expire T` with `stick on
//! src` in front of a balancing algorithm.
//!
//! A request first looks its address up (`stick match`): an entry whose server is
//! usable sends it there. Either way the entry's expiry is pushed to now + `expire`.
//! Then (`stick store-request`) HAProxy allocates a fresh entry for every request,
//! hit or not, and once the server answers (mode http; connects, in mode tcp) it
//! records the server actually used, so a client whose server went down is re-stuck
//! to the one the balancer chose and stays there when the old one returns (no
//! fail-back).
//!
//! Allocating when the table is full first evicts `size/256 + 1` entries with the
//! earliest expiry. Entries sit in an expiry queue at the date they had when queued;
//! a refreshed entry is only moved when the eviction walk reaches it, and that walk
//! gives up after `2 × batch` queue nodes. A new entry is queued at its request's
//! date but refreshed when it is recorded, so unless the server answered within the
//! same millisecond it is born stale. Hence, on a full table: every request, even a
//! hit, evicts the least recently used entry; but when the oldest queue nodes are
//! entries refreshed since, a new client finds no room and goes unrecorded. Times
//! are HAProxy's millisecond ticks: within one millisecond, order is queue order.
//! With `nopurge` a full table refuses new entries instead.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::engine::MILLISECOND;
use crate::hash::AddrMap;
use crate::policy::stick_table::{BASE, EXPIRE, SIZE};
use crate::policy::*;
use crate::pool::ServerId;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "haproxy.stick_table",
    summary: "HAProxy 2.6 stick-table type ip + stick on src: idle expiry; a full table evicts the earliest-expiring on every request",
    params: &[
        BASE,
        EXPIRE,
        SIZE,
        Param {
            name: "store_delay",
            default: "1ms",
            help: "request to recording of its entry: the server's time to first byte (mode http) or connect time (mode tcp)",
        },
        Param {
            name: "nopurge",
            default: "off",
            help: "on: a full table refuses new entries instead of evicting old ones",
        },
    ],
    build: |args, ctx| {
        let base = build(&args.policy("base")?, ctx)?;
        // HAProxy counts in milliseconds; a shorter expiry rounds up to one.
        let expire = args.duration_or_none("expire")?.map(|d| d.0.div_ceil(MILLISECOND));
        let size = args.int("size", 1, 1 << 31)? as usize;
        let store_delay = args.duration_or_none("store_delay")?.map_or(0, |d| d.0);
        let nopurge = args.choice("nopurge", &["off", "on"])? == 1;
        Ok(Box::new(StickTable {
            base,
            expire,
            size,
            store_delay,
            nopurge,
            entries: AddrMap::default(),
            queue: BinaryHeap::new(),
            queued: 0,
        }))
    },
};

/// A millisecond tick, HAProxy's unit of time.
type Tick = u64;

struct Entry {
    server: ServerId,
    /// When the entry expires (without `expire`: when it was last used).
    expire: Tick,
}

/// A place in the expiry queue: the date an entry had when queued, then the order
/// of queueing (equal dates keep it).
type Node = Reverse<(Tick, u64, Addr)>;

pub struct StickTable {
    base: Box<dyn Policy>,
    /// `expire` in ticks; `None` without `expire`.
    expire: Option<Tick>,
    size: usize,
    /// From a request to the store of its entry.
    store_delay: Time,
    nopurge: bool,
    entries: AddrMap<Entry>,
    /// One node per entry, earliest first. A node whose date differs from its
    /// entry's is stale: the entry was used since it was queued.
    queue: BinaryHeap<Node>,
    /// Nodes queued so far, to order equal dates.
    queued: u64,
}

impl StickTable {
    /// The expiry an entry gets when used at `now`.
    fn expiry(&self, now: Tick) -> Tick {
        now + self.expire.unwrap_or(0)
    }

    fn enqueue(&mut self, date: Tick, addr: Addr) {
        self.queued += 1;
        self.queue.push(Reverse((date, self.queued, addr)));
    }

    /// The expiry task: entries whose date has passed are freed; stale nodes
    /// found on the way are queued again at their entry's date.
    fn expire_due(&mut self, now: Tick) {
        if self.expire.is_none() {
            return;
        }
        while let Some(&Reverse((date, _, addr))) = self.queue.peek() {
            if date > now {
                return;
            }
            self.queue.pop();
            let expire = self.entries[&addr].expire;
            if expire <= now {
                self.entries.remove(&addr);
            } else {
                self.enqueue(expire, addr);
            }
        }
    }

    /// Frees up to `size/256 + 1` entries, earliest date first, visiting at most
    /// twice that many queue nodes; returns how many were freed.
    fn evict(&mut self) -> usize {
        let batch = (self.size >> 8) + 1;
        let mut visits = 2 * batch;
        let mut freed = 0;
        while freed < batch && visits > 0 {
            visits -= 1;
            let Some(Reverse((date, _, addr))) = self.queue.pop() else {
                break;
            };
            let expire = self.entries[&addr].expire;
            if expire == date {
                self.entries.remove(&addr);
                freed += 1;
            } else {
                self.enqueue(expire, addr);
            }
        }
        freed
    }

    /// Records `server` for `addr` once the server answers: queued at the
    /// request's date `touched`, refreshed to the answer's.
    fn store(&mut self, addr: Addr, server: ServerId, now: Time, touched: Tick) {
        let stored = self.expiry(now.saturating_add(self.store_delay) / MILLISECOND);
        match self.entries.get_mut(&addr) {
            Some(e) => *e = Entry { server, expire: stored },
            None => {
                self.entries.insert(addr, Entry { server, expire: stored });
                self.enqueue(touched, addr);
            }
        }
    }

    fn live(&self, addr: Addr, now: Tick, pool: &Pool) -> Option<ServerId> {
        let e = self.entries.get(&addr)?;
        let alive = self.expire.is_none() || e.expire > now;
        (alive && pool.is_up(e.server)).then_some(e.server)
    }
}

impl Policy for StickTable {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let tick = now / MILLISECOND;
        self.expire_due(tick);
        let addr = client.addr;
        // stick match: any entry is refreshed; a usable server takes the request.
        let touched = self.expiry(tick);
        let stuck = self.entries.get_mut(&addr).and_then(|e| {
            e.expire = touched;
            pool.is_up(e.server).then_some(e.server)
        });
        // stick store-request: the entry allocated for this request needs room.
        let room = self.entries.len() < self.size || (!self.nopurge && self.evict() > 0);
        let server = match stuck {
            Some(s) => s,
            None => self.base.pick(client, now, pool, rng).server,
        };
        if room {
            self.store(addr, server, now, touched);
        }
        Pick {
            server,
            memory: if stuck.is_some() { Memory::Hit } else { Memory::Miss },
        }
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        self.live(client.addr, now / MILLISECOND, pool)
            .or_else(|| self.base.peek(client, now, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.base.pool_changed(pool);
    }

    fn weights_changed(&mut self, pool: &Pool) {
        self.base.weights_changed(pool);
    }

    /// A peer's update (HAProxy configuration manual, 3.5 "Peers": each instance
    /// pushes its local updates and insertions to the remote peers): the entry is
    /// written as the local store would write it, evicting for room as a local
    /// allocation does.
    fn remember(&mut self, client: &Client, pick: Pick, _: Option<u64>, now: Time) {
        let tick = now / MILLISECOND;
        self.expire_due(tick);
        let known = self.entries.contains_key(&client.addr);
        if known || self.entries.len() < self.size || (!self.nopurge && self.evict() > 0) {
            self.store(client.addr, pick.server, now, self.expiry(tick));
        }
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
    use super::*;
    use crate::engine::{MINUTE, Stream};
    use crate::policy::testing::{built, pool};
    use crate::pool::PoolChangeKind;

    /// A client at 127.0.`net`.`host`.
    fn at(net: u8, host: u8) -> Client {
        Client {
            user: 0,
            addr: Addr::v4(u32::from_be_bytes([127, 0, net, host])),
            port: 0,
            connection: 0,
            new_connection: true,
        }
    }

    /// Drives `spec` over 3 servers with one request every 20 ms; returns each
    /// pick and the entries live afterwards as (client, server id from 1).
    fn drive(spec: &str, order: &[Client]) -> (Vec<Pick>, Vec<(Addr, u32)>) {
        let p = pool(3);
        let mut t = built(spec, &p);
        let mut rng = Stream::Policy.rng(0, 0, 0);
        let gap = 20 * MILLISECOND;
        let picks = (0..order.len())
            .map(|i| t.pick(&order[i], i as u64 * gap, &p, &mut rng))
            .collect();
        // Round robin peeks nothing: whatever is peeked is a live entry.
        let end = order.len() as u64 * gap;
        let mut live: Vec<(Addr, u32)> = order
            .iter()
            .filter_map(|c| Some((c.addr, t.peek(c, end, &p)? + 1)))
            .collect();
        live.sort();
        live.dedup();
        (picks, live)
    }

    fn hosts(live: &[(Addr, u32)], net: u8) -> Vec<u8> {
        live.iter()
            .filter(|(a, _)| a.octets()[14] == net)
            .map(|(a, _)| a.octets()[15])
            .collect()
    }

    #[test]
    fn the_sequence_checked_against_haproxy_2_6_12() {
        // tests/real_haproxy.rs sends this to HAProxy 2.6.12 (Debian 12): size 20,
        // expire 10m, balance roundrobin, backends answering after 5 ms, requests
        // 20 ms apart. `show table` then lists exactly these entries.
        let mut order: Vec<Client> = (1..=20).map(|h| at(1, h)).collect();
        order.extend([1, 3, 4].map(|h| at(1, h)));
        order.extend(
            [
                (2, 1),
                (2, 2),
                (2, 3),
                (2, 2),
                (1, 2),
                (1, 9),
                (2, 4),
                (2, 5),
                (2, 6),
                (1, 12),
                (2, 7),
            ]
            .map(|(n, h)| at(n, h)),
        );
        let spec = "haproxy.stick_table(size=20, expire=10m, store_delay=5ms)";
        let (_, live) = drive(spec, &order);
        assert_eq!(hosts(&live, 1), [1, 2, 3, 4, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
        assert_eq!(hosts(&live, 2), [1, 2, 3, 4, 6, 7]);
        let servers: Vec<u32> = live.iter().map(|e| e.1).collect();
        assert_eq!(servers, [1, 1, 3, 1, 3, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 3, 2, 2, 1, 2]);
    }

    #[test]
    fn a_hit_on_a_full_table_evicts_the_least_recently_used_other_entry() {
        let order = [at(1, 1), at(1, 2), at(1, 3), at(1, 1)];
        let (picks, live) = drive("haproxy.stick_table(size=3, store_delay=0)", &order);
        assert_eq!(picks[3].memory, Memory::Hit);
        assert_eq!(hosts(&live, 1), [1, 3]);
        // Entries born stale: the hit's walk requeues 1.1 and 1.2 and frees nothing;
        // the next request's walk finds 1.2 current at the head and frees it.
        let (_, live) = drive("haproxy.stick_table(size=3)", &order);
        assert_eq!(hosts(&live, 1), [1, 2, 3]);
        let (_, live) = drive("haproxy.stick_table(size=3)", &[&order[..], &[at(1, 3)]].concat());
        assert_eq!(hosts(&live, 1), [1, 3]);
    }

    #[test]
    fn a_new_client_behind_two_refreshed_entries_goes_unrecorded() {
        // Full table whose two oldest queue nodes were used again: the walk spends
        // its two visits requeueing them and frees nothing.
        let order = [
            at(1, 1),
            at(1, 2),
            at(1, 3),
            at(1, 4),
            at(1, 1),
            at(1, 2),
            at(2, 1),
            at(2, 2),
        ];
        let (picks, live) = drive("haproxy.stick_table(size=5)", &order);
        assert_eq!(picks.iter().filter(|p| p.memory == Memory::Hit).count(), 2);
        // 2.1 filled the fifth place; 2.2 found no room. The next new client would
        // evict 1.3, the oldest node now that 1.1 and 1.2 were requeued.
        assert_eq!(hosts(&live, 1), [1, 2, 3, 4]);
        assert_eq!(hosts(&live, 2), [1]);
        let (_, live) = drive("haproxy.stick_table(size=5)", &[&order[..], &[at(2, 3)]].concat());
        assert_eq!(hosts(&live, 1), [1, 2, 4]);
        assert_eq!(hosts(&live, 2), [1, 3]);
    }

    #[test]
    fn answers_within_the_request_millisecond_are_not_born_stale() {
        // Entries recorded in their request's millisecond are never requeued: a
        // full table evicts strictly the oldest, and no new client is refused.
        let order: Vec<Client> = (1..=8).map(|h| at(1, h)).collect();
        let (_, live) = drive("haproxy.stick_table(size=5, store_delay=0)", &order);
        assert_eq!(hosts(&live, 1), [4, 5, 6, 7, 8]);
        // Born stale (the default), each eviction costs both visits of the walk
        // but still frees the oldest.
        let (_, live) = drive("haproxy.stick_table(size=5)", &order);
        assert_eq!(hosts(&live, 1), [4, 5, 6, 7, 8]);
    }

    #[test]
    fn idle_expiry_is_refreshed_by_every_request() {
        let p = pool(3);
        let mut t = built("haproxy.stick_table(expire=10m)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let c = at(1, 1);
        let first = t.pick(&c, 0, &p, &mut rng);
        assert_eq!(first.memory, Memory::Miss);
        for m in [9, 18, 27] {
            let again = t.pick(&c, m * MINUTE, &p, &mut rng);
            assert_eq!((again.server, again.memory), (first.server, Memory::Hit));
        }
        assert_eq!(t.peek(&c, 37 * MINUTE, &p), Some(first.server));
        assert_eq!(t.pick(&c, 38 * MINUTE, &p, &mut rng).memory, Memory::Miss);
    }

    #[test]
    fn without_expire_entries_stay_until_evicted_by_last_use() {
        let p = pool(3);
        let mut t = built("haproxy.stick_table(expire=none, size=2, store_delay=0)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let day = 24 * 60 * MINUTE;
        t.pick(&at(1, 1), 0, &p, &mut rng);
        t.pick(&at(1, 2), day, &p, &mut rng);
        assert_eq!(t.pick(&at(1, 1), 2 * day, &p, &mut rng).memory, Memory::Hit);
        // Full: the hit on 1.1 evicted 1.2, used longest ago.
        assert_eq!(t.pick(&at(1, 2), 3 * day, &p, &mut rng).memory, Memory::Miss);
    }

    #[test]
    fn nopurge_refuses_new_entries_when_full() {
        let order = [at(1, 1), at(1, 2), at(1, 3), at(1, 1)];
        let (picks, live) = drive("haproxy.stick_table(size=2, nopurge=on)", &order);
        assert_eq!(hosts(&live, 1), [1, 2]);
        assert_eq!(picks[3].memory, Memory::Hit);
    }

    #[test]
    fn restick_after_failure_and_no_failback() {
        let mut p = pool(3);
        let mut t = built("haproxy.stick_table", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let c = at(1, 7);
        let first = t.pick(&c, 0, &p, &mut rng).server;
        p.apply(&PoolChangeKind::Fail(first));
        t.pool_changed(&p);
        let second = t.pick(&c, MINUTE, &p, &mut rng);
        assert_eq!(second.memory, Memory::Miss);
        assert_ne!(second.server, first);
        p.apply(&PoolChangeKind::Recover(first));
        t.pool_changed(&p);
        let third = t.pick(&c, 2 * MINUTE, &p, &mut rng);
        assert_eq!((third.server, third.memory), (second.server, Memory::Hit));
    }
}
