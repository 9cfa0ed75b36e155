//! Envoy's consistent hashing with bounded loads (`hash_balance_factor`, Mirrokni,
//! Thorup and Zadimoghaddam 2016), wrapped around either RING_HASH or MAGLEV.
//!
//! Each healthy host may hold `slots = ceil(ceil((active + 1) · f / 100) · w)`
//! requests (at least one), where `active` is every request in flight in the
//! cluster and `w` the host's normalized weight. When the hashed host holds more,
//! the request spills: the host indices are shuffled with a Mersenne Twister
//! seeded by the request hash, and the first host in that order that is not over
//! its slots takes it (or, if every host is over, the least overloaded one).
//!
//! For affinity this is the price of the cap: a client whose home is busy goes to a
//! host chosen by its own hash, the same one every time the same hosts are busy,
//! but not its home; with `f` near 100 most clients spill under load. The spill
//! order is per hash, not the next host on the ring, so one hot host's overflow
//! spreads over the others instead of cascading onto its neighbour.

use super::mt19937::Mt19937;
use crate::pool::{Pool, ServerId};

pub struct BoundedLoad {
    /// `hash_balance_factor`: the cap in percent of the average load (≥ 100).
    factor: u32,
    /// Healthy hosts in host-set order with their normalized weights: the order
    /// the shuffle permutes.
    hosts: Vec<(ServerId, f64)>,
    /// Normalized weight by server id (0 for hosts not in the table).
    weight: Vec<f64>,
}

impl BoundedLoad {
    pub fn new(factor: u32) -> BoundedLoad {
        BoundedLoad {
            factor,
            hosts: Vec::new(),
            weight: Vec::new(),
        }
    }

    /// Takes the healthy hosts and weights the table was built from.
    pub fn rebuild(&mut self, hosts: &[(ServerId, f64)], pool: &Pool) {
        self.hosts.clear();
        self.hosts.extend_from_slice(hosts);
        self.weight.clear();
        self.weight.resize(pool.len(), 0.0);
        for &(s, w) in hosts {
            self.weight[s as usize] = w;
        }
    }

    /// The host that takes a request whose hash `hash` lands on `home`. `order` is
    /// scratch space for the shuffle, kept by the caller so a pick allocates nothing.
    pub fn choose(&self, home: ServerId, hash: u64, pool: &Pool, order: &mut Vec<u32>) -> ServerId {
        // Envoy reads the cluster's `upstream_rq_active`: every request in flight.
        let active = (0..pool.len() as ServerId).fold(0u32, |sum, s| sum.wrapping_add(pool.in_flight(s)));
        let overload = |s: ServerId, w: f64| overload_factor(active, self.factor, pool.in_flight(s), w);
        spill(
            home,
            overload(home, self.weight[home as usize]),
            hash,
            &self.hosts,
            overload,
            order,
        )
    }
}

/// A host's requests in flight over its slots; above 1 the host is overloaded.
/// The integer arithmetic is Envoy's, 32 bits wide.
fn overload_factor(cluster_active: u32, factor: u32, host_active: u32, weight: f64) -> f64 {
    let total_slots = cluster_active.wrapping_add(1).wrapping_mul(factor).wrapping_add(99) / 100;
    let slots = ((total_slots as f64 * weight).ceil() as u32).max(1);
    host_active as f64 / slots as f64
}

/// Keeps `home` unless its `home_load` is over 1; otherwise walks the hosts in the
/// order a Fisher–Yates shuffle seeded with `hash` produces them, as
/// `BoundedLoadHashingLoadBalancer::chooseHost` does.
fn spill(
    home: ServerId,
    home_load: f64,
    hash: u64,
    hosts: &[(ServerId, f64)],
    load: impl Fn(ServerId, f64) -> f64,
    order: &mut Vec<u32>,
) -> ServerId {
    if home_load <= 1.0 {
        return home;
    }
    let mut least = (home, home_load);
    for i in Shuffle::new(hash, hosts.len(), order) {
        let (host, weight) = hosts[i];
        if host == home {
            continue;
        }
        let l = load(host, weight);
        if l <= 1.0 {
            return host;
        }
        if least.1 > l {
            least = (host, l);
        }
    }
    least.0
}

/// The host indices 0..n in the order Envoy's inside-out Fisher–Yates shuffle
/// yields them, one swap per step, so a walk that stops early draws no further.
struct Shuffle<'a> {
    rng: Mt19937,
    order: &'a mut Vec<u32>,
    step: usize,
}

impl<'a> Shuffle<'a> {
    fn new(hash: u64, n: usize, order: &'a mut Vec<u32>) -> Shuffle<'a> {
        order.clear();
        order.extend(0..n as u32);
        Shuffle {
            // std::mt19937 keeps its seed modulo 2³².
            rng: Mt19937::new(hash as u32),
            order,
            step: 0,
        }
    }

    /// A uniform draw in 0..k: divide by ⌊2³²/k⌋ and redraw the few values that land
    /// at k or above (no modulo bias).
    fn below(&mut self, k: u32) -> u32 {
        let bucket = (1u64 << 32) / k as u64;
        loop {
            let x = (self.rng.next_u32() as u64 / bucket) as u32;
            if x < k {
                return x;
            }
        }
    }
}

impl Iterator for Shuffle<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let i = self.step;
        if i == self.order.len() {
            return None;
        }
        let j = self.below((self.order.len() - i) as u32) as usize;
        self.order.swap(i, i + j);
        self.step += 1;
        Some(self.order[i] as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{named, servers};

    fn sequence(seed: u64, n: usize) -> Vec<usize> {
        let mut order = Vec::new();
        Shuffle::new(seed, n, &mut order).collect()
    }

    #[test]
    fn shuffle_orders_match_envoy() {
        // test/common/upstream/bounded_load_hlb_test.cc: "the random shuffle
        // sequence of 5 elements with seed 2 is 2 1 0 4 3", seed 6 "4 0 2 3 1",
        // seed 7 "0 1 4 3 2".
        assert_eq!(sequence(2, 5), [2, 1, 0, 4, 3]);
        assert_eq!(sequence(6, 5), [4, 0, 2, 3, 1]);
        assert_eq!(sequence(7, 5), [0, 1, 4, 3, 2]);
    }

    /// Hosts 0..n of equal weight, as `createHosts` makes them upstream.
    fn hosts(n: u32) -> Vec<(ServerId, f64)> {
        (0..n).map(|s| (s, 1.0 / n as f64)).collect()
    }

    /// Envoy's test predicate: the listed hosts have overload factors 1.02, 1.03, …
    /// in list order; every other host 0.5.
    fn predicate(over: &[ServerId]) -> impl Fn(ServerId, f64) -> f64 + '_ {
        move |s, _| match over.iter().position(|&o| o == s) {
            Some(i) => (102 + i) as f64 / 100.0,
            None => 0.5,
        }
    }

    fn pick(n: u32, ring: &[ServerId], hash: u64, over: &[ServerId]) -> ServerId {
        let load = predicate(over);
        let home = ring[hash as usize];
        spill(home, load(home, 0.0), hash, &hosts(n), &load, &mut Vec::new())
    }

    #[test]
    fn spills_match_envoy() {
        // The cases of bounded_load_hlb_test.cc, where the hashing balancer maps
        // hash i to ring[i].
        let ring: Vec<ServerId> = (0..5).collect();
        assert_eq!(pick(5, &ring, 1, &[]), 1, "NoHostEverOverloaded");
        assert_eq!(pick(5, &ring, 2, &[2]), 1, "OneHostOverloaded");
        assert_eq!(pick(5, &ring, 2, &[0, 1, 2]), 4, "MultipleHostOverloaded");
        let doubled: Vec<ServerId> = (0..10).map(|i| i / 2).collect();
        assert_eq!(pick(5, &doubled, 6, &[3]), 4, "MultipleHashSameHostOverloaded");
        assert_eq!(pick(5, &doubled, 7, &[3]), 0, "MultipleHashSameHostOverloaded");
        assert_eq!(
            pick(3, &ring, 0, &[1, 0, 2]),
            1,
            "AllHostsOverloaded: the least overloaded"
        );
    }

    #[test]
    fn slots_follow_envoys_integer_arithmetic() {
        // 10 in flight, factor 150: ceil(11 · 1.5) = 17 total slots; a quarter of
        // them is ceil(4.25) = 5, so 5 in flight is full and 6 is over.
        assert_eq!(overload_factor(10, 150, 5, 0.25), 1.0);
        assert!(overload_factor(10, 150, 6, 0.25) > 1.0);
        // Every host has at least one slot.
        assert_eq!(overload_factor(0, 100, 1, 1e-6), 1.0);
    }

    use crate::policy::testing::{built, client};

    use proptest::prelude::*;

    fn weighted(weights: &[u32]) -> Pool {
        servers(&named(weights.len(), |i| format!("10.4.0.{}:80", i + 1)), weights, &[])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Under any sequence of arrivals (from a few hot clients) and completions,
        /// a request never goes to a host already over its slots, so right after a
        /// pick the host holds at most slots + 1; and a client whose home is within
        /// its slots stays home.
        #[test]
        fn no_pick_exceeds_the_cap(
            weights in prop::collection::vec(1u32..=4, 2..10),
            factor in 100u32..=300,
            ring in any::<bool>(),
            steps in prop::collection::vec((0u32..6, any::<bool>()), 1..300),
        ) {
            let mut pool = weighted(&weights);
            let spec = if ring {
                format!("envoy.ring_hash(hash_balance_factor={factor})")
            } else {
                format!("envoy.maglev(table_size=1021, hash_balance_factor={factor})")
            };
            let mut p = built(&spec, &pool);
            let plain = built(if ring { "envoy.ring_hash" } else { "envoy.maglev(table_size=1021)" }, &pool);
            let mut rng = crate::engine::Stream::Policy.rng(7, 0, 0);
            let total: u32 = weights.iter().sum();
            let mut running: Vec<ServerId> = Vec::new();
            for (who, finish) in steps {
                if finish && !running.is_empty() {
                    let s = running.swap_remove(who as usize % running.len());
                    pool.in_flight_mut()[s as usize] -= 1;
                    continue;
                }
                let active: u32 = (0..pool.len() as ServerId).map(|s| pool.in_flight(s)).sum();
                let total_slots = ((active + 1) * factor).div_ceil(100);
                let slots = |s: ServerId| {
                    let w = weights[s as usize] as f64 / total as f64;
                    ((total_slots as f64 * w).ceil() as u32).max(1)
                };
                let c = client(who);
                let home = plain.peek(&c, 0, &pool).unwrap();
                let s = p.pick(&c, 0, &pool, &mut rng).server;
                prop_assert!(pool.in_flight(s) <= slots(s), "host {} had {} of {} slots", s, pool.in_flight(s), slots(s));
                if pool.in_flight(home) <= slots(home) {
                    prop_assert_eq!(s, home);
                }
                pool.in_flight_mut()[s as usize] += 1;
                running.push(s);
            }
        }
    }
}
