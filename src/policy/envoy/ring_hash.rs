//! Envoy `RING_HASH`: a ketama ring (`ring_hash_lb.cc`).
//!
//! Every healthy host gets points `XXH64("<host>_<i>")` for i = 0, 1, … in
//! proportion to its normalized weight, scaled so that the lightest host gets a
//! whole number of points and the ring has at least `minimum_ring_size` of them
//! (at most `maximum_ring_size`). A request goes to the first point at or after its
//! hash, wrapping to the first point.
//!
//! For affinity: a client stays on its host while the healthy set is unchanged.
//! Adding a host to N moves about 1/(N+1) of the clients, all onto the new host;
//! removing or failing one moves only its own clients. Because the scale is set by
//! the lightest host, a pool change that alters the smallest weight (or the
//! number of hosts, with the default minimum of 1024) changes every host's point
//! count, yet points are prefixes of the same sequence per host, so most clients
//! still stay. With few points per host the arcs are uneven: at 1024 points over
//! 100 hosts (about 10 each) a host's share varies by roughly ±30 %.

use std::fmt::Write;

use xxhash_rust::xxh64::xxh64;

use super::*;
use crate::engine::{StreamRng, Time};
use crate::hash::ring_index::RingIndex;
use crate::policy::{Affinity, Pick, Policy};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "envoy.ring_hash",
    summary: "Envoy RING_HASH: ketama ring of XXH64(\"host_i\") points over healthy hosts, \
              request hash XXH64 of the key text; optional bounded load",
    params: &[MINIMUM_RING_SIZE, MAXIMUM_RING_SIZE, HASH_BALANCE_FACTOR, KEY],
    build: |args, ctx| {
        let min = args.int(MINIMUM_RING_SIZE.name, 1, RING_SIZE_LIMIT)?;
        let max = args.int(MAXIMUM_RING_SIZE.name, 1, RING_SIZE_LIMIT)?;
        if min > max {
            return Err(args.invalid(
                MINIMUM_RING_SIZE.name,
                format!("minimum_ring_size={min} is above maximum_ring_size={max}"),
            ));
        }
        let bounded = balance_factor(args)?;
        let key = Key::read(args, &Key::ALL)?;
        Ok(Box::new(RingHash::new(ctx.pool, min as f64, max as f64, key, bounded)))
    },
};

const MINIMUM_RING_SIZE: Param = Param {
    name: "minimum_ring_size",
    default: "1024",
    help: "fewest points on the ring (Envoy's default 1024; at most 8388608)",
};

const MAXIMUM_RING_SIZE: Param = Param {
    name: "maximum_ring_size",
    default: "8388608",
    help: "most points on the ring (Envoy's default and limit, 8388608)",
};

/// Envoy's validation limit for both ring sizes: 8M entries.
pub const RING_SIZE_LIMIT: u64 = 8 * 1024 * 1024;

pub struct RingHash {
    min: f64,
    max: f64,
    key: Key,
    /// Point hashes, ascending, and the host of each point.
    points: Vec<u64>,
    hosts: Vec<ServerId>,
    index: RingIndex,
    bounded: Option<BoundedLoad>,
    /// Scratch for the bounded-load shuffle.
    order: Vec<u32>,
}

impl RingHash {
    pub(super) fn new(pool: &Pool, min: f64, max: f64, key: Key, bounded: Option<BoundedLoad>) -> RingHash {
        let mut ring = RingHash {
            min,
            max,
            key,
            points: Vec::new(),
            hosts: Vec::new(),
            index: RingIndex::default(),
            bounded,
            order: Vec::new(),
        };
        ring.pool_changed(pool);
        ring
    }

    /// ketama's lookup: the first point at or after `h`, wrapping to the first.
    pub(super) fn home(&self, h: u64) -> ServerId {
        self.hosts[self.index.successor(&self.points, h)]
    }
}

/// The ring's points for `hosts` (normalized weights, smallest `min_weight`), as
/// `RingHashLoadBalancer::Ring::Ring` builds them: (hash, host), sorted by hash.
fn build(pool: &Pool, hosts: &[(ServerId, f64)], min_weight: f64, min: f64, max: f64) -> Vec<(u64, ServerId)> {
    let scale = ((min_weight * min).ceil() / min_weight).min(max);
    let mut points = Vec::with_capacity(scale.ceil() as usize);
    let mut key = String::new();
    // Running sums across all hosts, so fractional shares add up to whole points.
    let (mut current, mut target) = (0.0f64, 0.0f64);
    for &(s, w) in hosts {
        target += scale * w;
        key.clear();
        key.push_str(pool.name(s));
        key.push('_');
        let stem = key.len();
        let mut i = 0u64;
        while current < target {
            key.truncate(stem);
            let _ = write!(key, "{i}");
            points.push((xxh64(key.as_bytes(), 0), s));
            i += 1;
            current += 1.0;
        }
    }
    // Equal hashes (none in practice) keep host order; Envoy's std::sort leaves
    // their order unspecified.
    points.sort_by_key(|&(h, _)| h);
    points
}

impl Policy for RingHash {
    fn pick(&mut self, client: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        let h = request_hash(self.key, client);
        Pick::stateless(settle(self.home(h), h, self.bounded.as_ref(), pool, &mut self.order))
    }

    fn peek(&self, client: &Client, _: Time, pool: &Pool) -> Option<ServerId> {
        let h = request_hash(self.key, client);
        Some(settle(self.home(h), h, self.bounded.as_ref(), pool, &mut Vec::new()))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        let (hosts, min_weight, _) = normalized_weights(pool);
        let points = build(pool, &hosts, min_weight, self.min, self.max);
        self.points = points.iter().map(|p| p.0).collect();
        self.hosts = points.iter().map(|p| p.1).collect();
        self.index = RingIndex::new(&self.points);
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
    use crate::policy::testing::servers;
    use crate::policy::testing::{built, client, moved_share};
    use crate::pool::{PoolChangeKind, Presence, Server};
    use proptest::prelude::*;

    fn ports(from: u32, n: u32) -> Vec<String> {
        (from..from + n).map(|p| format!("127.0.0.1:{p}")).collect()
    }

    fn weighted(names: &[String], weights: &[u32]) -> Pool {
        servers(names, weights, &[])
    }

    fn ring(pool: &Pool, min: f64, max: f64) -> RingHash {
        RingHash::new(pool, min, max, Key::Source, None)
    }

    /// Server names of a ring, in ring order, as (port, point).
    fn listing(pool: &Pool, r: &RingHash) -> Vec<(String, u64)> {
        r.hosts
            .iter()
            .zip(&r.points)
            .map(|(&s, &p)| (pool.name(s).rsplit(':').next().unwrap().to_string(), p))
            .collect()
    }

    #[test]
    fn basic_ring_matches_envoy() {
        // ring_hash_lb_test.cc "Basic": 127.0.0.1:90..95, minimum_ring_size 12.
        let pool = named(&ports(90, 6).iter().map(String::as_str).collect::<Vec<_>>());
        let r = ring(&pool, 12.0, RING_SIZE_LIMIT as f64);
        let expected = [
            ("94", 833437586790550860),
            ("92", 928266305478181108),
            ("90", 1033482794131418490),
            ("95", 3551244743356806947),
            ("93", 3851675632748031481),
            ("91", 5583722120771150861),
            ("91", 6311230543546372928),
            ("93", 7700377290971790572),
            ("95", 13144177310400110813),
            ("92", 13444792449719432967),
            ("94", 15516499411664133160),
            ("90", 16117243373044804889),
        ];
        let expected: Vec<(String, u64)> = expected.iter().map(|&(p, h)| (p.to_string(), h)).collect();
        assert_eq!(listing(&pool, &r), expected);
        assert_eq!(r.home(0), 4);
        assert_eq!(r.home(u64::MAX), 4);
        assert_eq!(r.home(3551244743356806947), 5);
        assert_eq!(r.home(3551244743356806948), 3);
        assert_eq!(r.home(16117243373044804880), 0);
    }

    #[test]
    fn hostname_ring_matches_envoy() {
        // "BasicWithHostname": hosts keyed "90".."95".
        let pool = named(&["90", "91", "92", "93", "94", "95"]);
        let r = ring(&pool, 12.0, RING_SIZE_LIMIT as f64);
        let ports: Vec<&str> = r.hosts.iter().map(|&s| pool.name(s)).collect();
        assert_eq!(
            ports,
            ["95", "95", "93", "94", "93", "92", "90", "92", "91", "90", "91", "94"]
        );
        assert_eq!(r.points[0], 1975508444536362413);
        assert_eq!(r.points[11], 15364271037087512980);
        assert_eq!(r.home(0), 5);
        assert_eq!(r.home(u64::MAX), 5);
        assert_eq!(r.home(7225015537174310577), 2);
        assert_eq!(r.home(6803900775736438537), 3);
    }

    #[test]
    fn uneven_hosts_match_envoy() {
        // "UnevenHosts": 2 hosts, minimum 3: two points each, ring of 4.
        let pool = named(&["127.0.0.1:80", "127.0.0.1:81"]);
        let r = ring(&pool, 3.0, RING_SIZE_LIMIT as f64);
        assert_eq!(
            r.points,
            [
                5454692015285649509,
                7859399908942313493,
                13838424394637650569,
                16064866803292627174
            ]
        );
        assert_eq!(r.hosts, [0, 1, 0, 1]);
        let pool = named(&["127.0.0.1:81", "127.0.0.1:82"]);
        let r = ring(&pool, 3.0, RING_SIZE_LIMIT as f64);
        assert_eq!(
            r.points,
            [
                7859399908942313493,
                8241336090459785962,
                12882406409176325258,
                16064866803292627174
            ]
        );
        assert_eq!(r.hosts, [0, 1, 1, 0]);
    }

    #[test]
    fn weighted_rings_match_envoy() {
        // "HostWeightedTinyRing": weights 1, 2, 3 on a ring of exactly 6.
        let pool = weighted(&ports(90, 3), &[1, 2, 3]);
        let r = ring(&pool, 6.0, 6.0);
        for (h, s) in [
            (928266305478181108u64, 2),
            (4443673547860492590, 2),
            (5583722120771150861, 1),
            (6311230543546372928, 1),
            (13444792449719432967, 2),
            (16117243373044804889, 0),
        ] {
            assert_eq!(r.home(h), s, "hash {h}");
        }
        // "HostWeightedLargeRing": minimum 6144, 6000 evenly spaced hashes.
        let r = ring(&pool, 6144.0, RING_SIZE_LIMIT as f64);
        assert_eq!(r.points.len(), 6144);
        let mut counts = [0; 3];
        for i in 0..6000u64 {
            counts[r.home(i * (u64::MAX / 6000)) as usize] += 1;
        }
        assert_eq!(counts, [987, 1932, 3081]);
        // "LargeFractionalScale": 2 hosts on exactly 1023 points: 512 and 511.
        let pool = weighted(&ports(90, 2), &[1, 1]);
        let r = ring(&pool, 1023.0, 1023.0);
        assert_eq!(r.hosts.iter().filter(|&&s| s == 0).count(), 512);
        let mut counts = [0; 2];
        for i in 0..1023u64 {
            counts[r.home(i * (u64::MAX / 1023)) as usize] += 1;
        }
        assert_eq!(counts, [526, 497]);
        // "SmallFractionalScale": 4 hosts on exactly 2 points: two hosts are absent.
        let pool = weighted(&ports(90, 4), &[1, 1, 1, 1]);
        let r = ring(&pool, 2.0, 2.0);
        assert_eq!(r.points.len(), 2);
    }

    #[test]
    fn three_equal_hosts_get_342_points_each() {
        let pool = named(&["a:1", "b:1", "c:1"]);
        let r = ring(&pool, 1024.0, RING_SIZE_LIMIT as f64);
        assert_eq!(r.points.len(), 1026);
        assert!((0..3).all(|s| r.hosts.iter().filter(|&&h| h == s).count() == 342));
    }

    #[test]
    fn size_bounds_are_checked() {
        let pool = named(&["a:1"]);
        let spec =
            crate::policy::spec::parse("envoy.ring_hash(minimum_ring_size=20, maximum_ring_size=10)", 0).unwrap();
        let ctx = crate::policy::BuildContext {
            pool: &pool,
            expected_users: 1,
        };
        let err = crate::policy::build(&spec, &ctx).err().unwrap();
        assert_eq!(err.offset, "envoy.ring_hash(minimum_ring_size=".len());
        assert!(err.message.contains("above maximum_ring_size=10"), "{}", err.message);
        let spec = crate::policy::spec::parse("envoy.ring_hash(minimum_ring_size=0)", 0).unwrap();
        let err = crate::policy::build(&spec, &ctx).err().unwrap();
        assert!(err.message.contains("from 1 to 8388608"), "{}", err.message);
    }

    #[test]
    fn picks_only_healthy_hosts() {
        let mut pool = named(&["a:1", "b:1", "c:1", "d:1"]);
        let mut p = built("envoy.ring_hash", &pool);
        assert!(pool.apply(&PoolChangeKind::Fail(2)));
        p.pool_changed(&pool);
        assert!((0..2000).all(|i| p.peek(&client(i), 0, &pool) != Some(2)));
    }

    fn ip_pool(n: usize, spare: usize) -> Pool {
        weighted_ip_pool(&vec![1; n], spare)
    }

    fn weighted_ip_pool(weights: &[u32], spare: usize) -> Pool {
        Pool::new(
            (0..weights.len() + spare)
                .map(|i| Server {
                    name: format!("10.1.{}.{}:8080", i / 250, i % 250 + 1),
                    weight: weights.get(i).copied().unwrap_or(weights[weights.len() - 1]),
                    presence: if i < weights.len() {
                        Presence::Up
                    } else {
                        Presence::Absent
                    },
                })
                .collect(),
        )
    }

    /// A light anchor host (weight 1) and `n` hosts of weight 200: with
    /// `minimum_ring_size=1` every heavy host gets exactly 200 points whatever the
    /// number of hosts, so the ring changes only by the points of the host that
    /// comes or goes.
    fn anchored(n: usize, spare: usize) -> Pool {
        let mut weights = vec![1];
        weights.extend(std::iter::repeat_n(200, n));
        weighted_ip_pool(&weights, spare)
    }

    const ANCHORED: &str = "envoy.ring_hash(minimum_ring_size=1)";

    #[test]
    fn rescaling_moves_more_than_the_failed_hosts_clients() {
        // With the default minimum of 1024, 3 hosts have 342 points each and 2 have
        // 512: the survivors gain points, and about a third of the new ring is new
        // points, half of them another survivor's. So besides the failed host's
        // clients (a third), about (2/3)·(1/3)·(1/2) ≈ 0.11 of the clients move.
        let pool = ip_pool(3, 0);
        let p = built("envoy.ring_hash", &pool);
        let owned: Vec<u32> = (0..20_000)
            .filter(|&i| p.peek(&client(i), 0, &pool) == Some(1))
            .collect();
        let mut after = pool.clone();
        assert!(after.apply(&PoolChangeKind::Fail(1)));
        let mut q = built("envoy.ring_hash", &pool);
        q.pool_changed(&after);
        assert!(owned.iter().all(|&i| q.peek(&client(i), 0, &after) != Some(1)));
        let moved = moved_share("envoy.ring_hash", pool, 20_000, PoolChangeKind::Fail(1));
        let extra = moved - owned.len() as f64 / 20_000.0;
        assert!(
            (0.05..0.2).contains(&extra),
            "{extra} of the clients moved between survivors"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Adding one host to N moves about 1/(N+1) of the clients, all to it.
        #[test]
        fn adding_a_host_moves_about_one_over_n_plus_1(n in 3usize..24) {
            let moved = moved_share(ANCHORED, anchored(n, 1), 20_000, PoolChangeKind::Add(n as u32 + 1));
            let want = 1.0 / (n + 1) as f64;
            prop_assert!((moved - want).abs() < want * 0.3, "n={}: moved {}, expected {}", n, moved, want);
        }

        /// Failing a host moves exactly the clients it had.
        #[test]
        fn failing_a_host_moves_only_its_clients(n in 2usize..20, gone in any::<prop::sample::Index>()) {
            let gone = gone.index(n) as u32 + 1;
            let pool = anchored(n, 0);
            let p = built(ANCHORED, &pool);
            let owned = (0..5000).filter(|&i| p.peek(&client(i), 0, &pool) == Some(gone)).count();
            let moved = moved_share(ANCHORED, pool, 5000, PoolChangeKind::Fail(gone));
            prop_assert_eq!(moved, owned as f64 / 5000.0);
        }

        /// A host's share of the hash space is its arc length; with k points per host
        /// the relative spread of the shares is about 1/√k.
        #[test]
        fn balance_improves_with_ring_size(n in 10usize..40) {
            let spread = |min: f64| {
                let pool = ip_pool(n, 0);
                let r = ring(&pool, min, RING_SIZE_LIMIT as f64);
                let mut share = vec![0f64; n];
                for (i, &s) in r.hosts.iter().enumerate() {
                    let prev = if i == 0 { r.points[r.points.len() - 1] } else { r.points[i - 1] };
                    share[s as usize] += r.points[i].wrapping_sub(prev) as f64 / u64::MAX as f64;
                }
                let mean = 1.0 / n as f64;
                (share.iter().map(|x| (x / mean - 1.0).powi(2)).sum::<f64>() / n as f64).sqrt()
            };
            let (coarse, fine) = (spread(n as f64 * 8.0), spread(n as f64 * 512.0));
            prop_assert!(coarse > 0.15 && coarse < 0.6, "8 points per host: spread {}", coarse);
            prop_assert!(fine < 0.08, "512 points per host: spread {}", fine);
        }
    }
}
