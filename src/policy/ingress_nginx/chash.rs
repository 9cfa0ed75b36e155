//! `resty.chash`, the consistent hash of lua-resty-balancer that ingress-nginx's
//! Lua balancer uses for `upstream-hash-by` and for balanced cookie affinity.
//!
//! Each node gets 160 points per unit of weight: starting from the unfinished
//! CRC-32 state of its id (`crc32(id) xor 0xffffffff`), point i is that state fed
//! the previous point's four bytes, little-endian (0 for the first), then finished:
//! nginx's ketama chaining, with the whole id hashed instead of host, NUL, port.
//! A key goes to the first point at or after `crc32(key)`, wrapping to the first.
//!
//! ingress-nginx gives every endpoint weight 1 and names it `address:port`; the
//! ring holds the endpoints that are ready (lbsim's servers that are up) and is
//! rebuilt whenever they change. So adding an endpoint to N takes about 1/(N+1) of
//! the keys, all onto it, and removing one moves only its own keys.

use crate::hash::ring_index::RingIndex;
use crate::policy::nginx::crc32::Crc32;
use crate::pool::{Pool, ServerId};

/// Points per unit of weight (`CONSISTENT_POINTS`).
const POINTS_PER_WEIGHT: u32 = 160;

#[derive(Default)]
pub struct Chash {
    /// Point values, ascending, and the node owning each.
    points: Vec<u32>,
    owners: Vec<ServerId>,
    index: RingIndex,
}

impl Chash {
    /// The ring over the pool's up servers, each an endpoint of weight 1.
    pub fn endpoints(pool: &Pool) -> Chash {
        Chash::over(pool.up().iter().map(|&s| (pool.name(s), 1, s)))
    }

    /// The ring over `(id, weight, server)` nodes.
    fn over<'a>(nodes: impl Iterator<Item = (&'a str, u32, ServerId)>) -> Chash {
        let mut ring: Vec<(u32, ServerId)> = Vec::new();
        for (id, weight, s) in nodes {
            let base = Crc32::new().update(id.as_bytes());
            let mut prev = 0u32;
            for _ in 0..POINTS_PER_WEIGHT * weight {
                prev = base.update(&prev.to_le_bytes()).finish();
                ring.push((prev, s));
            }
        }
        // Equal points keep node order; the C sort's order for them is its own,
        // and an equal point's arc is empty either way.
        ring.sort_by_key(|&(p, _)| p);
        let (points, owners): (Vec<u32>, Vec<ServerId>) = ring.into_iter().unzip();
        let index = RingIndex::new(&points);
        Chash { points, owners, index }
    }

    /// The node of a key whose CRC-32 is `hash` (`_find_id`).
    pub fn find(&self, hash: u32) -> ServerId {
        self.owners[self.index.successor(&self.points, hash)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::nginx::crc32::crc32;
    use crate::policy::testing::{built, client, pool_with_spare, servers};
    use crate::policy::{Key, KeyText};
    use crate::pool::PoolChangeKind;

    #[test]
    fn matches_lua_resty_balancer() {
        // lua-resty-balancer t/chash.t, TEST 1: server1 weight 10, server2 2, server3 1;
        // keys "1" to "100000".
        let chash = Chash::over([("server1", 10, 0), ("server2", 2, 1), ("server3", 1, 2)].into_iter());
        assert_eq!(chash.points.len(), 2080);
        let mut counts = [0; 3];
        for i in 1..=100_000u32 {
            counts[chash.find(crc32(i.to_string().as_bytes())) as usize] += 1;
        }
        assert_eq!(counts, [77_075, 14_743, 8_182]);
    }

    #[test]
    fn with_nginx_style_ids_it_agrees_with_nginx_hash_consistent() {
        // t/chash.t, TEST 2: ids "host\0port" put the points where nginx's ketama
        // puts them, so both send every key to the same server.
        let names = ["127.0.0.1:1985", "127.0.0.1:1986", "127.0.0.1:1987"];
        let weights = [2, 2, 1];
        let ids: Vec<String> = names.iter().map(|n| n.replace(':', "\0")).collect();
        let chash = Chash::over((0..3).map(|i| (ids[i].as_str(), weights[i], i as ServerId)));
        let pool = servers(&names, &weights, &[]);
        let nginx = built("nginx.hash(consistent=on)", &pool);
        let mut text = KeyText::default();
        for i in 0..3000 {
            let c = client(i);
            let want = nginx.peek(&c, 0, &pool).unwrap();
            assert_eq!(chash.find(crc32(Key::Source.text(&c, &mut text))), want, "client {i}");
        }
    }

    #[test]
    fn endpoints_weigh_the_same_whatever_their_weight() {
        let pool = servers(&["10.0.0.1:80", "10.0.0.2:80"], &[5, 1], &[]);
        let chash = Chash::endpoints(&pool);
        assert_eq!(chash.points.len(), 320);
        assert_eq!(chash.owners.iter().filter(|&&s| s == 0).count(), 160);
    }

    #[test]
    fn an_added_endpoint_takes_keys_only_for_itself() {
        let mut pool = pool_with_spare(6, 1);
        let before = Chash::endpoints(&pool);
        assert!(pool.apply(&PoolChangeKind::Add(6)));
        let after = Chash::endpoints(&pool);
        let mut moved = 0;
        for k in 0..20_000u32 {
            let h = crc32(&k.to_le_bytes());
            let (was, now) = (before.find(h), after.find(h));
            assert!(was == now || now == 6, "key {k}: {was} -> {now}");
            moved += (was != now) as u32;
        }
        let share = moved as f64 / 20_000.0;
        assert!((share - 1.0 / 7.0).abs() < 0.05, "moved {share}");
    }
}
