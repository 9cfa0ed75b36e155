//! Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam,
//! 2018): a ring, except that no server may take more than c times its fair share
//! of the requests in flight. A client whose ring server is full walks on to the
//! next point whose server has room. With c = 1.25 no server exceeds 125 % of the
//! mean, and a client still moves only when its server is full or the pool changes.
//! The cost to affinity is that hot moments push clients off their server: the loss
//! the report calls load spill.

use super::ring::{Ring, VNODES, read_vnodes};
use super::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "bounded_load",
    summary: "consistent hashing with bounded loads: ring, but no server above factor% of its share in flight",
    params: &[
        Param {
            name: "factor",
            default: "125",
            help: "load cap as a percentage of a server's fair share of requests in flight; above 100",
        },
        VNODES,
        Key::PARAM,
    ],
    build: |args, ctx| {
        let factor = args.int("factor", 101, 10_000)?;
        let vnodes = read_vnodes(args, ctx)?;
        let key = Key::read(args, &Key::ALL)?;
        Ok(Box::new(BoundedLoad {
            ring: Ring::new(ctx.pool, vnodes, key),
            factor,
        }))
    },
};

pub struct BoundedLoad {
    ring: Ring,
    /// c as a percentage.
    factor: u64,
}

/// The caps for placing the next request: server `s` may hold ⌈c·(m+1)·w/W⌉,
/// with m the requests in flight on the up servers and W their total weight.
pub fn capacity(pool: &Pool, factor: u64) -> impl Fn(ServerId) -> u64 {
    let in_flight: u64 = pool.up().iter().map(|&u| pool.in_flight(u) as u64).sum();
    let (room, share) = ((in_flight + 1) * factor, 100 * pool.total_up_weight());
    move |s| (room * pool.weight(s) as u64).div_ceil(share)
}

impl Policy for BoundedLoad {
    fn pick(&mut self, client: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        let start = self.ring.successor(self.ring.hash(client));
        let cap = capacity(pool, self.factor);
        // The caps sum to at least m + 1, so some server has room; one lap finds it.
        let server = (start..start + self.ring.points())
            .map(|i| self.ring.owner(i))
            .find(|&s| (pool.in_flight(s) as u64) < cap(s))
            .expect("the caps leave room for one more request");
        Pick::stateless(server)
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.ring.pool_changed(pool);
    }

    fn affinity(&self) -> Affinity {
        self.ring.key().affinity()
    }

    fn wants_load(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{built, client, pool};
    use super::*;
    use crate::engine::Stream;
    use proptest::prelude::*;
    use rand::RngExt;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn no_server_ever_exceeds_its_cap(servers in 2usize..12, factor in 101u64..300, seed: u64) {
            let mut p = pool(servers);
            let mut b = built(&format!("bounded_load(factor={factor}, vnodes=40)"), &p);
            let mut rng = Stream::Policy.rng(seed, 0, 0);
            for i in 0..3_000u32 {
                // A few hot clients, so that their servers fill up.
                let c = client(i % 7 + (i % 100 == 0) as u32 * i);
                let cap = capacity(&p, factor)(0);
                let s = b.pick(&c, 0, &p, &mut rng).server;
                p.in_flight_mut()[s as usize] += 1;
                prop_assert!(p.in_flight(s) as u64 <= cap, "server {s}: {} in flight, cap {cap}", p.in_flight(s));
                if rng.random_bool(0.4) {
                    let busy: Vec<usize> = (0..servers).filter(|&s| p.in_flight(s as u32) > 0).collect();
                    let done = busy[rng.random_range(0..busy.len())];
                    p.in_flight_mut()[done] -= 1;
                }
            }
        }
    }

    #[test]
    fn an_idle_pool_follows_the_ring() {
        let p = pool(6);
        let mut b = built("bounded_load", &p);
        let ring = built("ring", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        for i in 0..500 {
            assert_eq!(
                Some(b.pick(&client(i), 0, &p, &mut rng).server),
                ring.peek(&client(i), 0, &p)
            );
        }
    }
}
