//! kube-proxy's nftables mode with ClientIP affinity (`writeServiceToEndpointRules`
//! in `pkg/proxy/nftables/proxier.go`; `nft_dynset.c`, `nft_numgen.c`).
//!
//! Each endpoint has a set `affinity-…` of client addresses with `flags
//! dynamic,timeout` and `timeout T`; the Service chain tries
//! `ip saddr @affinity-X goto endpoint-X` for each endpoint in order, and each
//! endpoint chain does `update @affinity-X { ip saddr }`, which adds the address or
//! pushes its expiry to T from now. An element is gone once its expiry is reached.
//! Unlike the iptables lists, the sets have no size limit, so a busy endpoint keeps
//! every client for the whole timeout. A client in no set goes to
//! `numgen random mod n`: endpoint `⌊r·n / 2^32⌋` for a random 32-bit r. Sets of
//! endpoints that leave are deleted at the next sync.
//!
//! An address enters a set only through `numgen`, that is when no set holds it, so
//! at any time it lives in at most one set: lbsim keeps one map of address →
//! (endpoint, expiry) instead of a set per endpoint, and the first-match order of
//! the rules never has two candidates.

use std::collections::VecDeque;

use rand::Rng;

use super::endpoints;
use crate::hash::AddrMap;
use crate::policy::{Addr, Affinity, Client, Memory, Pick, Policy, StreamRng, Time};
use crate::pool::{Pool, ServerId};

pub struct Nftables {
    timeout: Time,
    endpoints: Vec<ServerId>,
    /// Every live element: address → (endpoint whose set holds it, expiry).
    elements: AddrMap<(ServerId, Time)>,
    /// Every update as (expiry, address), soonest first, to drop expired elements.
    by_expiry: VecDeque<(Time, Addr)>,
}

impl Nftables {
    pub fn new(pool: &Pool, timeout: Time) -> Nftables {
        let mut p = Nftables {
            timeout,
            endpoints: Vec::new(),
            elements: AddrMap::default(),
            by_expiry: VecDeque::new(),
        };
        p.pool_changed(pool);
        p
    }

    /// `update @affinity-X { ip saddr }`.
    fn update(&mut self, ep: ServerId, addr: Addr, now: Time) {
        let expiry = now.saturating_add(self.timeout);
        self.elements.insert(addr, (ep, expiry));
        self.by_expiry.push_back((expiry, addr));
        if self.by_expiry.len() > 2 * self.elements.len() + 1024 {
            let elements = &self.elements;
            self.by_expiry
                .retain(|(t, a)| elements.get(a).is_some_and(|e| e.1 == *t));
        }
    }

    /// Drops the elements whose expiry has come, as the sets' garbage collection does.
    fn purge(&mut self, now: Time) {
        while let Some(&(t, a)) = self.by_expiry.front() {
            if t > now {
                return;
            }
            self.by_expiry.pop_front();
            if self.elements.get(&a).is_some_and(|e| e.1 == t) {
                self.elements.remove(&a);
            }
        }
    }
}

/// `numgen random mod n`: the kernel's `reciprocal_scale(r, n)`.
pub fn numgen(r: u32, n: usize) -> usize {
    ((r as u64 * n as u64) >> 32) as usize
}

impl Policy for Nftables {
    fn pick(&mut self, client: &Client, now: Time, _: &Pool, rng: &mut StreamRng) -> Pick {
        self.purge(now);
        let (server, memory) = match self.elements.get(&client.addr) {
            Some(&(ep, _)) => (ep, Memory::Hit),
            None => (
                self.endpoints[numgen(rng.next_u32(), self.endpoints.len())],
                Memory::Miss,
            ),
        };
        self.update(server, client.addr, now);
        Pick { server, memory }
    }

    fn peek(&self, client: &Client, now: Time, _: &Pool) -> Option<ServerId> {
        self.elements.get(&client.addr).filter(|e| e.1 > now).map(|e| e.0)
    }

    fn pool_changed(&mut self, pool: &Pool) {
        endpoints(pool, &mut self.endpoints);
        self.elements.retain(|_, e| pool.is_up(e.0));
    }

    fn affinity(&self) -> Affinity {
        Affinity::Address
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SECOND, Stream};
    use crate::policy::testing::{built, client, pool_with_spare};
    use crate::pool::PoolChangeKind;

    #[test]
    fn numgen_scales_the_random_number() {
        assert_eq!(numgen(0, 3), 0);
        assert_eq!(numgen(0x5555_5555, 3), 0);
        assert_eq!(numgen(0x5555_5556, 3), 1);
        assert_eq!(numgen(0xaaaa_aaab, 3), 2);
        assert_eq!(numgen(u32::MAX, 3), 2);
        assert_eq!(numgen(u32::MAX, 1), 0);
    }

    #[test]
    fn no_size_limit_and_an_exclusive_expiry() {
        let p = pool_with_spare(2, 0);
        let mut policy = built("k8s.client_ip(mode=nftables, timeout=60)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let firsts: Vec<_> = (0..500)
            .map(|i| policy.pick(&client(i), 0, &p, &mut rng).server)
            .collect();
        let at = 60 * SECOND - 1;
        for (i, &s) in firsts.iter().enumerate() {
            assert_eq!(policy.peek(&client(i as u32), at, &p), Some(s), "client {i}");
        }
        // Refreshed at 60 s − 1 ns, so alive until 120 s − 1 ns but not at 120 s.
        let first = policy.pick(&client(0), at, &p, &mut rng);
        assert_eq!(first.memory, Memory::Hit);
        assert_eq!(policy.peek(&client(0), 2 * at, &p), Some(first.server));
        assert_eq!(policy.peek(&client(0), at + 60 * SECOND, &p), None);
        assert_eq!(policy.pick(&client(1), 60 * SECOND, &p, &mut rng).memory, Memory::Miss);
    }

    #[test]
    fn new_clients_split_evenly_and_expired_elements_go() {
        let p = pool_with_spare(3, 0);
        let mut policy = Nftables::new(&p, 10 * SECOND);
        let mut rng = Stream::Policy.rng(5, 0, 0);
        let mut counts = [0usize; 3];
        for i in 0..30_000 {
            counts[policy.pick(&client(i), 0, &p, &mut rng).server as usize] += 1;
        }
        for c in counts {
            assert!((c as f64 / 30_000.0 - 1.0 / 3.0).abs() < 0.015, "{counts:?}");
        }
        policy.pick(&client(0), 10 * SECOND, &p, &mut rng);
        assert_eq!(policy.elements.len(), 1);
    }

    #[test]
    fn a_leaving_endpoint_takes_its_set() {
        let mut p = pool_with_spare(2, 0);
        let mut policy = Nftables::new(&p, 100 * SECOND);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let first = policy.pick(&client(1), 0, &p, &mut rng).server;
        p.apply(&PoolChangeKind::Fail(first));
        policy.pool_changed(&p);
        assert_eq!(policy.pick(&client(1), 1, &p, &mut rng).server, 1 - first);
        p.apply(&PoolChangeKind::Recover(first));
        policy.pool_changed(&p);
        assert_eq!(policy.peek(&client(1), 2, &p), Some(1 - first));
        assert_eq!(policy.elements.len(), 1);
    }
}
