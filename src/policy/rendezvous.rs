//! Rendezvous hashing (highest random weight; Thaler and Ravishankar, 1998): each
//! server scores the client's key with its own hash and the highest score wins. No
//! ring and no table: removing a server moves only its clients, and adding one
//! takes exactly its share from every other. Weights use the logarithmic method
//! (Schindelhauer and Schomaker, 2005): score = −w / ln(u) with u the hash in (0, 1),
//! which gives each server a share proportional to its weight. A pick costs one
//! hash per server, so it suits pools of tens, not thousands.

use super::*;
use crate::hash::{fmix64, key_hash};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "rendezvous",
    summary: "highest random weight (HRW), weighted by the logarithmic method; removal moves only that server's clients",
    params: &[Key::PARAM],
    build: |args, ctx| {
        let mut r = Rendezvous {
            key: Key::read(args, &Key::ALL)?,
            servers: Vec::new(),
            weighted: false,
        };
        r.rebuild(ctx.pool);
        Ok(Box::new(r))
    },
};

pub struct Rendezvous {
    key: Key,
    /// Up servers with their seed (a hash of the name) and weight.
    servers: Vec<(ServerId, u64, f64)>,
    /// Whether weights differ; with equal weights the largest hash wins outright.
    weighted: bool,
}

/// A 64-bit hash as a number in (0, 1).
fn unit(h: u64) -> f64 {
    ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

impl Rendezvous {}

impl Hashing for Rendezvous {
    fn select(&self, client: &Client, _: &Pool) -> ServerId {
        let h = key_hash(self.key.bits(client));
        let score = |&(_, seed, w): &(ServerId, u64, f64)| {
            let mixed = fmix64(h ^ seed);
            if self.weighted {
                -w / unit(mixed).ln()
            } else {
                mixed as f64
            }
        };
        let mut best = (self.servers[0].0, score(&self.servers[0]));
        for s in &self.servers[1..] {
            let v = score(s);
            if v > best.1 {
                best = (s.0, v);
            }
        }
        best.0
    }

    fn rebuild(&mut self, pool: &Pool) {
        self.servers = pool
            .up()
            .iter()
            .map(|&s| {
                (
                    s,
                    xxhash_rust::xxh3::xxh3_64(pool.name(s).as_bytes()),
                    pool.weight(s) as f64,
                )
            })
            .collect();
        self.weighted = self.servers.iter().any(|s| s.2 != self.servers[0].2);
    }

    fn key(&self) -> Key {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{built, client, moved_share, pool, pool_with_spare, shares};
    use super::*;
    use crate::pool::{PoolChangeKind, Presence, Server};
    use proptest::prelude::*;

    #[test]
    fn removal_moves_only_that_servers_clients_and_adding_takes_a_fair_share() {
        let p = pool(9);
        let r = built("rendezvous", &p);
        let owned = (0..20_000).filter(|&i| r.peek(&client(i), 0, &p) == Some(4)).count();
        let moved = moved_share("rendezvous", pool(9), 20_000, PoolChangeKind::Fail(4));
        assert_eq!(moved, owned as f64 / 20_000.0);
        let added = moved_share("rendezvous", pool_with_spare(9, 1), 40_000, PoolChangeKind::Add(9));
        assert!((added - 0.1).abs() < 0.01, "moved {added}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn shares_follow_weights(weights in proptest::collection::vec(1u32..6, 2..6)) {
            let p = Pool::new(weights.iter().enumerate().map(|(i, &w)| Server {
                name: format!("s{i}"), weight: w, presence: Presence::Up,
            }).collect());
            let seen = shares(built("rendezvous", &p).as_ref(), &p, 30_000);
            let total: u32 = weights.iter().sum();
            for (got, &w) in seen.iter().zip(&weights) {
                let want = w as f64 / total as f64;
                prop_assert!((got - want).abs() < 0.02, "{seen:?} for {weights:?}");
            }
        }
    }
}
