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
//!
//! A rule whose list does not hold the address neither matches nor reaps, so lbsim
//! indexes which lists hold each address and runs only their rules: usually one,
//! since an address only joins a list through the random split, when no list
//! holds it fresh. The split itself evaluates the rules one by one, as the kernel
//! does, so a new client costs up to n random numbers.

use std::collections::VecDeque;

use rand::Rng;

use super::endpoints;
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
    /// Which lists hold each address, so that a request visits only those instead of
    /// every endpoint's rule.
    holders: AddrMap<Holders>,
}

/// The lists an address is in: how many, and one of them.
#[derive(Clone, Copy)]
struct Holders {
    count: u32,
    one: ServerId,
}

impl Iptables {
    pub fn new(pool: &Pool, timeout: Time, list_size: usize) -> Iptables {
        let mut p = Iptables {
            timeout,
            list_size,
            endpoints: Vec::new(),
            thresholds: Vec::new(),
            lists: (0..pool.len()).map(|_| Recent::default()).collect(),
            holders: AddrMap::default(),
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

    /// The endpoint rule `--rcheck --seconds T --reap` on `ep`'s list: whether `addr`
    /// matches, reaping one stale entry when the address is in the list.
    fn rcheck(&mut self, ep: ServerId, addr: Addr, now: Time) -> bool {
        let list = &mut self.lists[ep as usize];
        let Some(stamp) = list.stamp(addr) else {
            return false;
        };
        let matched = fresh(stamp, now, self.timeout);
        if let Some(gone) = list.reap(now, self.timeout) {
            self.unlisted(ep, gone);
        }
        matched
    }

    /// `--set` on `ep`'s list.
    fn set(&mut self, ep: ServerId, addr: Addr, now: Time) {
        let (added, evicted) = self.lists[ep as usize].set(addr, now, self.list_size);
        if let Some(gone) = evicted {
            self.unlisted(ep, gone);
        }
        if added {
            self.holders
                .entry(addr)
                .and_modify(|h| h.count += 1)
                .or_insert(Holders { count: 1, one: ep });
        }
    }

    /// Records that `ep`'s list no longer holds `addr`.
    fn unlisted(&mut self, ep: ServerId, addr: Addr) {
        let h = self.holders.get_mut(&addr).expect("a listed address has holders");
        h.count -= 1;
        if h.count == 0 {
            self.holders.remove(&addr);
        } else if h.one == ep {
            let lists = &self.lists;
            h.one = (0..lists.len() as ServerId)
                .find(|&s| lists[s as usize].stamp(addr).is_some())
                .expect("another list holds the address");
        }
    }

    /// The lists holding `addr`, in rule order: usually one, found without a scan.
    fn holding(&self, addr: Addr) -> impl Iterator<Item = ServerId> + '_ {
        let h = self.holders.get(&addr).copied();
        let single = h.filter(|h| h.count == 1).map(|h| h.one);
        let scan = h.is_some_and(|h| h.count > 1);
        single.into_iter().chain(
            self.endpoints
                .iter()
                .copied()
                .filter(move |&ep| scan && self.lists[ep as usize].stamp(addr).is_some()),
        )
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
        let addr = client.addr;
        // Only the rules of lists holding the address can match or reap, and the
        // first match wins. Mostly one list holds it; otherwise every rule runs.
        let matched = match self.holders.get(&addr).copied() {
            None => None,
            Some(h) if h.count == 1 => self.rcheck(h.one, addr, now).then_some(h.one),
            Some(_) => (0..self.endpoints.len()).find_map(|i| {
                let ep = self.endpoints[i];
                self.rcheck(ep, addr, now).then_some(ep)
            }),
        };
        let (server, memory) = match matched {
            Some(ep) => (ep, Memory::Hit),
            None => (self.endpoints[self.split(rng)], Memory::Miss),
        };
        self.set(server, addr, now);
        Pick { server, memory }
    }

    fn peek(&self, client: &Client, now: Time, _: &Pool) -> Option<ServerId> {
        self.holding(client.addr).find(|&ep| {
            self.lists[ep as usize]
                .stamp(client.addr)
                .is_some_and(|s| fresh(s, now, self.timeout))
        })
    }

    fn pool_changed(&mut self, pool: &Pool) {
        endpoints(pool, &mut self.endpoints);
        for s in 0..self.lists.len() as ServerId {
            if !pool.is_up(s) {
                for addr in self.lists[s as usize].clear() {
                    self.unlisted(s, addr);
                }
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

    /// `--set`: refreshes the address, or adds it, evicting the least recent if the
    /// list is full. Returns whether it was added, and the address evicted.
    fn set(&mut self, addr: Addr, now: Time, capacity: usize) -> (bool, Option<Addr>) {
        let added = !self.entries.contains_key(&addr);
        let evicted = if added && self.entries.len() >= capacity {
            self.oldest().map(|(a, _)| {
                self.entries.remove(&a);
                a
            })
        } else {
            None
        };
        self.sets += 1;
        self.entries.insert(addr, (now, self.sets));
        self.order.push_back((self.sets, addr));
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order.retain(|(n, a)| entries.get(a).is_some_and(|e| e.1 == *n));
        }
        (added, evicted)
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

    /// `--reap`: deletes the least recently set entry if it is stale; returns it.
    fn reap(&mut self, now: Time, timeout: Time) -> Option<Addr> {
        let (a, t) = self.oldest()?;
        if fresh(t, now, timeout) {
            return None;
        }
        self.entries.remove(&a);
        Some(a)
    }

    /// Empties the list, returning the addresses it held.
    fn clear(&mut self) -> Vec<Addr> {
        self.order.clear();
        self.entries.drain().map(|(a, _)| a).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SECOND, Stream};
    use crate::policy::testing::{built, client, pool_with_spare};
    use crate::pool::PoolChangeKind;
    use proptest::prelude::*;
    use rand::Rng;

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

    /// xt_recent and the rules as plainly as possible: every endpoint's rule runs in
    /// order against a list kept least recent first.
    struct Plain {
        timeout: Time,
        capacity: usize,
        endpoints: Vec<ServerId>,
        lists: Vec<Vec<(Addr, Time)>>,
    }

    impl Plain {
        fn set(&mut self, ep: ServerId, addr: Addr, now: Time) {
            let list = &mut self.lists[ep as usize];
            match list.iter().position(|e| e.0 == addr) {
                Some(i) => {
                    list.remove(i);
                }
                None if list.len() >= self.capacity => {
                    list.remove(0);
                }
                None => {}
            }
            list.push((addr, now));
        }

        fn pick(&mut self, addr: Addr, now: Time, rng: &mut StreamRng) -> Pick {
            for i in 0..self.endpoints.len() {
                let (ep, t) = (self.endpoints[i], self.timeout);
                let list = &mut self.lists[ep as usize];
                let Some(e) = list.iter().find(|e| e.0 == addr) else {
                    continue;
                };
                let matched = now - e.1 <= t;
                if now - list[0].1 > t {
                    list.remove(0);
                }
                if matched {
                    self.set(ep, addr, now);
                    return Pick {
                        server: ep,
                        memory: Memory::Hit,
                    };
                }
            }
            let n = self.endpoints.len();
            let j = (0..n - 1)
                .find(|&i| rng.next_u32() & 0x7fff_ffff < threshold(n - i))
                .unwrap_or(n - 1);
            let server = self.endpoints[j];
            self.set(server, addr, now);
            Pick {
                server,
                memory: Memory::Miss,
            }
        }
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
        fn indexed_lists_pick_as_the_plain_rules_do(
            n in 1usize..5,
            capacity in 1usize..6,
            steps in prop::collection::vec((0u32..12, 0u64..40, 0usize..12), 1..300),
        ) {
            let mut p = pool_with_spare(n, 0);
            let timeout = 30;
            let mut fast = Iptables::new(&p, timeout, capacity);
            let mut plain = Plain {
                timeout,
                capacity,
                endpoints: fast.endpoints.clone(),
                lists: vec![Vec::new(); n],
            };
            let (mut r1, mut r2) = (Stream::Policy.rng(2, 0, 0), Stream::Policy.rng(2, 0, 0));
            let mut now = 0;
            for (c, dt, event) in steps {
                now += dt;
                // Now and then a server fails (taking its list with it) or recovers.
                if event < n {
                    let s = event as ServerId;
                    let change = if !p.is_up(s) {
                        Some(PoolChangeKind::Recover(s))
                    } else {
                        (p.up().len() > 1).then_some(PoolChangeKind::Fail(s))
                    };
                    if let Some(change) = change {
                        p.apply(&change);
                        fast.pool_changed(&p);
                        endpoints(&p, &mut plain.endpoints);
                        plain.lists[s as usize].clear();
                    }
                }
                let a = client(c).addr;
                let want = plain.pick(a, now, &mut r2);
                prop_assert_eq!(fast.pick(&client(c), now, &p, &mut r1), want);
                for (s, list) in plain.lists.iter().enumerate() {
                    prop_assert_eq!(fast.lists[s].entries.len(), list.len());
                }
            }
            for c in 0..12 {
                let want = plain.endpoints.iter().copied().find(|&ep| {
                    plain.lists[ep as usize].iter().any(|e| e.0 == client(c).addr && now - e.1 <= timeout)
                });
                prop_assert_eq!(fast.peek(&client(c), now, &p), want);
            }
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
