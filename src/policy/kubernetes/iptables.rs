//! kube-proxy's iptables mode with ClientIP affinity (`writeServiceToEndpointRules`
//! in `pkg/proxy/iptables/proxier.go`, the `recent` match of
//! `net/netfilter/xt_recent.c`, the `statistic` match of `xt_statistic.c`).
//!
//! The Service chain first tries each endpoint in order with
//! `-m recent --name KUBE-SEP-X --rcheck --seconds T --reap -j KUBE-SEP-X`, and each
//! endpoint chain does `-m recent --name KUBE-SEP-X --set` before its DNAT. So:
//! - each endpoint keeps a list of client addresses with the time each was last
//!   `--set`, at most 100 of them (`ip_list_tot`); a new address in a full list
//!   evicts the least recently set one, however fresh it is. A busy endpoint thus
//!   forgets its older clients long before `timeoutSeconds`.
//! - `--rcheck --seconds T` matches an address set at most T seconds ago; the first
//!   endpoint whose list matches wins.
//! - `--reap` runs when the checked address is in the list: it deletes the list's
//!   least recently set entry if that one is stale (at most one per check).
//! - Only a new connection reaches the nat table, so affinity is refreshed per new
//!   connection. lbsim counts every request as one.
//!
//! A client no list matches takes the random split: rule i of n matches with
//! probability `1/(n−i)`, written `%0.10f` by kube-proxy, turned into
//! `lround(2^31 · p)` by iptables, and compared by the kernel with a fresh
//! `get_random_u32() & 0x7fffffff` per rule; the last rule always matches. lbsim
//! draws those numbers from the policy's random stream, so the split has exactly
//! the product's rounded probabilities.
//!
//! When an endpoint goes away its rules go, and its list with them (`xt_recent`
//! frees a list when no rule names it); if it comes back its list starts empty.

use std::collections::VecDeque;

use rand::Rng;

use super::client_ip::endpoints;
use crate::hash::AddrMap;
use crate::policy::{Addr, Affinity, Client, Memory, Pick, Policy, StreamRng, Time};
use crate::pool::{Pool, ServerId};

pub struct Iptables {
    timeout: Time,
    list_size: usize,
    endpoints: Vec<ServerId>,
    /// The `statistic` thresholds of the random rules, one per endpoint but the last.
    thresholds: Vec<u32>,
    /// Each server's `recent` list.
    lists: Vec<Recent>,
}

impl Iptables {
    pub fn new(pool: &Pool, timeout: Time, list_size: usize) -> Iptables {
        let mut p = Iptables {
            timeout,
            list_size,
            endpoints: Vec::new(),
            thresholds: Vec::new(),
            lists: (0..pool.len()).map(|_| Recent::default()).collect(),
        };
        p.pool_changed(pool);
        p
    }

    /// The endpoint position the random rules send a new client to.
    fn split(&self, rng: &mut StreamRng) -> usize {
        self.thresholds
            .iter()
            .position(|&t| rng.next_u32() & 0x7fff_ffff < t)
            .unwrap_or(self.endpoints.len() - 1)
    }
}

/// The `statistic --probability` threshold of a rule that picks 1 of `k`: kube-proxy
/// prints `1/k` with 10 decimals, iptables scales it by 2^31 and rounds half away
/// from zero (`lround`).
pub fn threshold(k: usize) -> u32 {
    let printed = format!("{:.10}", 1.0 / k as f64);
    let p: f64 = printed.parse().expect("a printed number reads back");
    (p * 2_147_483_648.0).round() as u32
}

impl Policy for Iptables {
    fn pick(&mut self, client: &Client, now: Time, _: &Pool, rng: &mut StreamRng) -> Pick {
        let (timeout, addr) = (self.timeout, client.addr);
        for &ep in &self.endpoints {
            let list = &mut self.lists[ep as usize];
            if let Some(stamp) = list.stamp(addr) {
                let matched = fresh(stamp, now, timeout);
                list.reap(now, timeout);
                if matched {
                    list.set(addr, now, self.list_size);
                    return Pick {
                        server: ep,
                        memory: Memory::Hit,
                    };
                }
            }
        }
        let server = self.endpoints[self.split(rng)];
        self.lists[server as usize].set(addr, now, self.list_size);
        Pick {
            server,
            memory: Memory::Miss,
        }
    }

    fn peek(&self, client: &Client, now: Time, _: &Pool) -> Option<ServerId> {
        self.endpoints.iter().copied().find(|&ep| {
            self.lists[ep as usize]
                .stamp(client.addr)
                .is_some_and(|s| fresh(s, now, self.timeout))
        })
    }

    fn pool_changed(&mut self, pool: &Pool) {
        endpoints(pool, &mut self.endpoints);
        for (s, list) in self.lists.iter_mut().enumerate() {
            if !pool.is_up(s as ServerId) {
                list.clear();
            }
        }
        let n = self.endpoints.len();
        self.thresholds = (0..n.saturating_sub(1)).map(|i| threshold(n - i)).collect();
    }

    fn affinity(&self) -> Affinity {
        Affinity::Address
    }
}

/// `--rcheck --seconds T`: set no longer than T ago (jiffies compare inclusively).
fn fresh(stamp: Time, now: Time, timeout: Time) -> bool {
    now.saturating_sub(stamp) <= timeout
}

/// One `xt_recent` list: addresses with their last `--set`, in least-recent order.
#[derive(Default)]
struct Recent {
    /// Address → (time of its last set, sequence number of that set).
    entries: AddrMap<(Time, u64)>,
    /// Every set as (sequence number, address), oldest first; a pair is current while
    /// its number is the address's latest, so the first current pair is the LRU entry.
    order: VecDeque<(u64, Addr)>,
    sets: u64,
}

impl Recent {
    fn stamp(&self, addr: Addr) -> Option<Time> {
        self.entries.get(&addr).map(|e| e.0)
    }

    /// `--set`: refreshes the address, or adds it, evicting the least recent if full.
    fn set(&mut self, addr: Addr, now: Time, capacity: usize) {
        if !self.entries.contains_key(&addr) && self.entries.len() >= capacity {
            self.evict_oldest();
        }
        self.sets += 1;
        self.entries.insert(addr, (now, self.sets));
        self.order.push_back((self.sets, addr));
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order.retain(|(n, a)| entries.get(a).is_some_and(|e| e.1 == *n));
        }
    }

    /// The least recently set entry, as (address, time).
    fn oldest(&mut self) -> Option<(Addr, Time)> {
        while let Some(&(n, a)) = self.order.front() {
            match self.entries.get(&a) {
                Some(&(t, latest)) if latest == n => return Some((a, t)),
                _ => {
                    self.order.pop_front();
                }
            }
        }
        None
    }

    fn evict_oldest(&mut self) {
        if let Some((a, _)) = self.oldest() {
            self.entries.remove(&a);
        }
    }

    /// `--reap`: deletes the least recently set entry if it is stale.
    fn reap(&mut self, now: Time, timeout: Time) {
        if let Some((a, t)) = self.oldest()
            && !fresh(t, now, timeout)
        {
            self.entries.remove(&a);
        }
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.order.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SECOND, Stream};
    use crate::policy::testing::{built, client, pool_with_spare};
    use crate::pool::PoolChangeKind;
    use proptest::prelude::*;

    fn new(n: usize, list_size: usize) -> (Pool, Iptables) {
        let p = pool_with_spare(n, 0);
        let policy = Iptables::new(&p, 10_800 * SECOND, list_size);
        (p, policy)
    }

    #[test]
    fn thresholds_follow_the_printed_probabilities() {
        // lround(2^31 · float("%0.10f" % (1/k))), computed independently.
        let want = [
            (2, 1_073_741_824),
            (3, 715_827_883),
            (4, 536_870_912),
            (5, 429_496_730),
            (6, 357_913_941),
            (7, 306_783_378),
            (10, 214_748_365),
            (100, 21_474_836),
            (2048, 1_048_576),
            (3000, 715_828),
            (100_000, 21_475),
        ];
        for (k, t) in want {
            assert_eq!(threshold(k), t, "1/{k}");
        }
    }

    #[test]
    fn new_clients_split_evenly() {
        let (p, mut policy) = new(4, 100_000);
        let mut rng = Stream::Policy.rng(3, 0, 0);
        let mut counts = [0usize; 4];
        for i in 0..40_000 {
            let pick = policy.pick(&client(i), 0, &p, &mut rng);
            assert_eq!(pick.memory, Memory::Miss);
            counts[pick.server as usize] += 1;
        }
        for c in counts {
            assert!((c as f64 / 40_000.0 - 0.25).abs() < 0.015, "{counts:?}");
        }
    }

    #[test]
    fn affinity_holds_for_the_timeout_after_the_last_connection() {
        let p = pool_with_spare(3, 0);
        let mut policy = built("k8s.client_ip(timeout=60)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let first = policy.pick(&client(5), 0, &p, &mut rng).server;
        let hit = Pick {
            server: first,
            memory: Memory::Hit,
        };
        assert_eq!(
            policy.pick(&client(5), 60 * SECOND, &p, &mut rng),
            hit,
            "exactly T still matches"
        );
        assert_eq!(policy.pick(&client(5), 120 * SECOND, &p, &mut rng), hit);
        assert_eq!(
            policy.pick(&client(5), 180 * SECOND + 1, &p, &mut rng).memory,
            Memory::Miss
        );
    }

    #[test]
    fn the_101st_client_evicts_the_least_recent() {
        let (p, mut policy) = new(2, 100);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut on: [Vec<u32>; 2] = [Vec::new(), Vec::new()];
        let mut i = 0;
        while on[0].len() < 100 {
            let s = policy.pick(&client(i), i as Time, &p, &mut rng).server;
            on[s as usize].push(i);
            i += 1;
        }
        let (oldest, second) = (on[0][0], on[0][1]);
        assert_eq!(policy.peek(&client(oldest), i as Time, &p), Some(0));
        // Keep adding clients until endpoint 0 takes its 101st.
        loop {
            let s = policy.pick(&client(i), i as Time, &p, &mut rng).server;
            i += 1;
            if s == 0 {
                break;
            }
        }
        assert_eq!(
            policy.peek(&client(oldest), i as Time, &p),
            None,
            "evicted within the timeout"
        );
        assert_eq!(policy.peek(&client(second), i as Time, &p), Some(0));
        assert_eq!(policy.lists[0].entries.len(), 100);
    }

    #[test]
    fn a_check_reaps_one_stale_entry() {
        let (p, mut policy) = new(1, 100);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let t = 10_800 * SECOND;
        policy.pick(&client(1), 0, &p, &mut rng);
        policy.pick(&client(2), 1, &p, &mut rng);
        policy.pick(&client(3), t, &p, &mut rng);
        // Client 3's check finds it fresh and reaps client 1, stale at t + 1.
        policy.pick(&client(3), t + 1, &p, &mut rng);
        assert_eq!(policy.lists[0].entries.len(), 2);
        // A client with no entry reaps nothing: client 2 stays although stale.
        policy.pick(&client(4), t + 2, &p, &mut rng);
        assert_eq!(policy.lists[0].entries.len(), 3);
    }

    #[test]
    fn a_leaving_endpoint_takes_its_list() {
        let (mut p, mut policy) = new(2, 100);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let first = policy.pick(&client(1), 0, &p, &mut rng).server;
        p.apply(&PoolChangeKind::Fail(first));
        policy.pool_changed(&p);
        let other = 1 - first;
        assert_eq!(
            policy.pick(&client(1), 1, &p, &mut rng),
            Pick {
                server: other,
                memory: Memory::Miss
            }
        );
        p.apply(&PoolChangeKind::Recover(first));
        policy.pool_changed(&p);
        assert!(policy.lists[first as usize].entries.is_empty());
        assert_eq!(policy.peek(&client(1), 2, &p), Some(other));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn lists_remember_the_last_100_clients_of_each_endpoint(n in 1usize..5, extra in 1usize..200) {
            let (p, mut policy) = new(n, 100);
            let mut rng = Stream::Policy.rng(7, 0, 0);
            let clients = n * 100 + extra;
            let mut on: Vec<Vec<u32>> = vec![Vec::new(); n];
            for i in 0..clients as u32 {
                let s = policy.pick(&client(i), i as Time, &p, &mut rng).server;
                on[s as usize].push(i);
            }
            // Exactly the 100 most recent clients of each endpoint keep their affinity.
            let mut lost = 0;
            for (ep, cs) in on.iter().enumerate() {
                for (k, &c) in cs.iter().enumerate() {
                    let kept = k + 100 >= cs.len();
                    let got = policy.peek(&client(c), clients as Time, &p);
                    prop_assert_eq!(got, kept.then_some(ep as ServerId));
                    lost += !kept as usize;
                }
            }
            prop_assert_eq!(lost, clients - on.iter().map(|c| c.len().min(100)).sum::<usize>());
            prop_assert!(lost >= extra);
        }

        #[test]
        fn random_split_shares_are_even(n in 1usize..10) {
            let (_, policy) = new(n, 100);
            let mut rng = Stream::Policy.rng(n as u64, 0, 0);
            let mut counts = vec![0usize; n];
            for _ in 0..6000 {
                counts[policy.split(&mut rng)] += 1;
            }
            for c in counts {
                prop_assert!((c as f64 / 6000.0 - 1.0 / n as f64).abs() < 0.03);
            }
        }
    }
}
