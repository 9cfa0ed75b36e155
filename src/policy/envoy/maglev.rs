//! Envoy `MAGLEV` (`maglev_lb.cc`): a Maglev table of `table_size` slots (prime,
//! default 65537) over the healthy hosts; a request goes to slot `hash mod M`.
//!
//! Hosts are sorted by key (address text, or hostname) so the table does not
//! depend on the order hosts arrive in; each host's permutation is
//! `offset = XXH64(key, 0) mod M`, `skip = XXH64(key, 1) mod (M−1) + 1`. Weights
//! use rounds: in round r a host claims one slot if r·w ≥ its running target, which
//! then grows by the largest weight, so the heaviest host claims one slot every
//! round and a host of half its weight every other round.
//!
//! For affinity: like the ring, only the clients of a host that goes away (or
//! about 1/(N+1) of all clients when one is added) should move, plus a small
//! share of others (a few percent at M = 65537) because slots are re-dealt.
//! Every host's share is within about 1 % of its weight share when M ≫ N, much
//! tighter than a ring with the same memory.

use super::*;
use crate::engine::{StreamRng, Time};
use crate::hash::FastMod;
use crate::hash::maglev::{is_prime, populate};
use crate::policy::{Affinity, Pick, Policy};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "envoy.maglev",
    summary: "Envoy MAGLEV: Maglev table (XXH64 permutations, hosts sorted by name) over healthy hosts, \
              request hash XXH64 of the key text; optional bounded load",
    params: &[TABLE_SIZE, HASH_BALANCE_FACTOR, KEY],
    build: |args, ctx| {
        let size = table_size(args)?;
        let bounded = balance_factor(args)?;
        let key = Key::read(args, &Key::ALL)?;
        Ok(Box::new(Maglev::new(ctx.pool, size, key, bounded)))
    },
};

const TABLE_SIZE: Param = Param {
    name: "table_size",
    default: "65537",
    help: "slots in the table; must be prime (Envoy's default 65537, at most 5000011)",
};

/// Envoy's validation limit for `table_size`.
const MAX_TABLE_SIZE: u64 = 5_000_011;

/// Reads `table_size`: a prime up to Envoy's limit.
pub fn table_size(args: &mut Args) -> Result<u64, SpecError> {
    let size = args.int(TABLE_SIZE.name, 2, MAX_TABLE_SIZE)?;
    if !is_prime(size) {
        return Err(args.invalid(
            TABLE_SIZE.name,
            format!("table_size={size}: expected a prime number from 2 to {MAX_TABLE_SIZE}, e.g. 65537"),
        ));
    }
    Ok(size)
}

pub struct Maglev {
    size: u64,
    /// `size` as a divisor without a division.
    slot: FastMod,
    key: Key,
    /// The host of each slot; empty while no host is healthy.
    table: Vec<ServerId>,
    bounded: Option<BoundedLoad>,
    /// Scratch for the bounded-load shuffle.
    order: Vec<u32>,
}

/// The table Envoy's `OriginalMaglevTable` builds for `hosts` (normalized weights,
/// largest `max_weight`), as server ids.
fn build(pool: &Pool, hosts: &[(ServerId, f64)], max_weight: f64, size: u64) -> Vec<ServerId> {
    let mut sorted = hosts.to_vec();
    sorted.sort_by(|a, b| pool.name(a.0).cmp(pool.name(b.0)));
    let walks: Vec<(u64, u64)> = sorted
        .iter()
        .map(|&(s, _)| {
            let key = pool.name(s).as_bytes();
            (xxh64(key, 0) % size, xxh64(key, 1) % (size - 1) + 1)
        })
        .collect();
    let mut target = vec![0.0f64; sorted.len()];
    let owners = populate(
        size as usize,
        sorted.len(),
        |b, j| {
            let (offset, skip) = walks[b];
            (offset.wrapping_add(skip.wrapping_mul(j)) % size) as usize
        },
        |b, round| {
            if round as f64 * sorted[b].1 < target[b] {
                return 0;
            }
            target[b] += max_weight;
            1
        },
    );
    owners.iter().map(|&b| sorted[b as usize].0).collect()
}

impl Maglev {
    pub(super) fn new(pool: &Pool, size: u64, key: Key, bounded: Option<BoundedLoad>) -> Maglev {
        let mut maglev = Maglev {
            size,
            slot: FastMod::new(size),
            key,
            table: Vec::new(),
            bounded,
            order: Vec::new(),
        };
        maglev.pool_changed(pool);
        maglev
    }

    /// The host of the slot a request hash `h` lands in.
    pub(super) fn home(&self, h: u64) -> ServerId {
        self.table[self.slot.of(h) as usize]
    }
}

impl Policy for Maglev {
    fn pick(&mut self, client: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        let h = request_hash(self.key, client);
        Pick::stateless(settle(self.home(h), h, self.bounded.as_ref(), pool, &mut self.order))
    }

    fn peek(&self, client: &Client, _: Time, pool: &Pool) -> Option<ServerId> {
        let h = request_hash(self.key, client);
        Some(settle(self.home(h), h, self.bounded.as_ref(), pool, &mut Vec::new()))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        let (hosts, _, max_weight) = normalized_weights(pool);
        self.table = build(pool, &hosts, max_weight, self.size);
        if let Some(b) = &mut self.bounded {
            b.rebuild(&hosts, pool);
        }
    }

    fn affinity(&self) -> Affinity {
        self.key.affinity()
    }

    fn wants_load(&self) -> bool {
        self.bounded.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::named;
    use super::*;
    use crate::policy::testing::{built, client};
    use crate::pool::{PoolChangeKind, Presence, Server};
    use proptest::prelude::*;

    fn table(pool: &Pool, size: u64) -> Vec<ServerId> {
        let (hosts, _, max_weight) = normalized_weights(pool);
        build(pool, &hosts, max_weight, size)
    }

    fn ports(weights: &[u32]) -> Pool {
        Pool::new(
            weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Server {
                    name: format!("127.0.0.1:{}", 90 + i),
                    weight,
                    presence: Presence::Up,
                })
                .collect(),
        )
    }

    #[test]
    fn tables_match_envoy() {
        // maglev_lb_test.cc "Basic": 127.0.0.1:90..95, M = 7.
        assert_eq!(table(&ports(&[1; 6]), 7), [2, 4, 0, 1, 5, 0, 3]);
        // "BasicWithHostName": the same hosts keyed "90".."95".
        let names = named(&["90", "91", "92", "93", "94", "95"]);
        assert_eq!(table(&names, 7), [2, 5, 0, 3, 4, 1, 0]);
        // "Weighted": :90 weight 1, :91 weight 2, M = 17.
        assert_eq!(
            table(&ports(&[1, 2]), 17),
            [1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1]
        );
        // "BasicStability": the table does not depend on host order.
        let reversed = named(&[
            "127.0.0.1:95",
            "127.0.0.1:94",
            "127.0.0.1:93",
            "127.0.0.1:92",
            "127.0.0.1:91",
            "127.0.0.1:90",
        ]);
        let by_port: Vec<&str> = table(&reversed, 7).iter().map(|&s| reversed.name(s)).collect();
        assert_eq!(
            by_port,
            [
                "127.0.0.1:92",
                "127.0.0.1:94",
                "127.0.0.1:90",
                "127.0.0.1:91",
                "127.0.0.1:95",
                "127.0.0.1:90",
                "127.0.0.1:93"
            ]
        );
    }

    #[test]
    fn lookup_is_hash_mod_table_size() {
        let pool = ports(&[1; 6]);
        let mut p = built("envoy.maglev(table_size=7)", &pool);
        let expected = [2, 4, 0, 1, 5, 0, 3];
        let c = client(3);
        let h = request_hash(Key::Source, &c);
        assert_eq!(p.peek(&c, 0, &pool), Some(expected[(h % 7) as usize]));
        let mut rng = crate::engine::Stream::Policy.rng(1, 0, 0);
        assert_eq!(p.pick(&c, 0, &pool, &mut rng).server, expected[(h % 7) as usize]);
    }

    #[test]
    fn table_size_must_be_prime() {
        let pool = ports(&[1, 1]);
        let text = "envoy.maglev(table_size=65536)";
        let spec = crate::policy::spec::parse(text, 0).unwrap();
        let ctx = crate::policy::BuildContext {
            pool: &pool,
            expected_users: 1,
        };
        let err = crate::policy::build(&spec, &ctx).err().unwrap();
        assert_eq!(err.offset, text.find("65536").unwrap());
        assert!(
            err.message.contains("table_size=65536: expected a prime"),
            "{}",
            err.message
        );
    }

    #[test]
    fn failed_hosts_leave_the_table() {
        let mut pool = ports(&[1; 5]);
        let mut p = built("envoy.maglev(table_size=1021)", &pool);
        assert!(pool.apply(&PoolChangeKind::Fail(1)));
        p.pool_changed(&pool);
        assert!((0..3000).all(|i| p.peek(&client(i), 0, &pool) != Some(1)));
    }

    fn ip_pool(weights: &[u32]) -> Pool {
        Pool::new(
            weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Server {
                    name: format!("10.2.{}.{}:80", i / 250, i % 250 + 1),
                    weight,
                    presence: Presence::Up,
                })
                .collect(),
        )
    }

    fn counts(t: &[ServerId], n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for &s in t {
            c[s as usize] += 1;
        }
        c
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// With M ≫ N each host's slots are within about 1 % of M·w (one slot for
        /// equal weights); weighted hosts get slots in proportion to their weights.
        #[test]
        fn slots_follow_weights(weights in prop::collection::vec(1u32..=8, 2..30)) {
            let pool = ip_pool(&weights);
            let c = counts(&table(&pool, 65537), weights.len());
            let total: u32 = weights.iter().sum();
            for (i, &w) in weights.iter().enumerate() {
                let want = 65537.0 * w as f64 / total as f64;
                prop_assert!((c[i] as f64 - want).abs() <= want * 0.01 + 1.0, "host {}: {} slots, want {}", i, c[i], want);
            }
        }

        /// Removing a host moves all of its keys and only a few percent of the others.
        #[test]
        fn removing_a_host_moves_its_share(n in 4usize..30, gone in any::<prop::sample::Index>()) {
            let gone = gone.index(n) as ServerId;
            let mut pool = ip_pool(&vec![1; n]);
            let before = table(&pool, 65537);
            assert!(pool.apply(&PoolChangeKind::Remove(gone)));
            let after = table(&pool, 65537);
            let mut others_moved = 0;
            for (b, a) in before.iter().zip(&after) {
                prop_assert_ne!(*a, gone);
                if *b != gone && a != b {
                    others_moved += 1;
                }
            }
            let moved = (before.iter().filter(|&&s| s == gone).count() + others_moved) as f64 / 65537.0;
            let share = 1.0 / n as f64;
            prop_assert!(moved >= share * 0.98 && moved < share + 0.04, "moved {} of the table, host share {}", moved, share);
        }
    }
}
