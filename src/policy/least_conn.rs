//! Least connections: the up server with the fewest requests in flight relative to
//! its weight; ties are broken at random so no server is favoured by its position.

use rand::RngExt;

use super::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "least_conn",
    summary: "fewest requests in flight per unit of weight, random tie-break; no affinity",
    params: &[],
    build: |_, _| Ok(Box::new(LeastConn)),
};

pub struct LeastConn;

impl Policy for LeastConn {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        // a/wa < b/wb  <=>  a·wb < b·wa, in integers.
        let less = |a: ServerId, b: ServerId| {
            (pool.in_flight(a) as u64 * pool.weight(b) as u64).cmp(&(pool.in_flight(b) as u64 * pool.weight(a) as u64))
        };
        let mut best = pool.up()[0];
        let mut ties = 0u32;
        for &s in pool.up() {
            match less(s, best) {
                std::cmp::Ordering::Less => (best, ties) = (s, 1),
                std::cmp::Ordering::Equal => ties += 1,
                std::cmp::Ordering::Greater => {}
            }
        }
        if ties > 1 {
            // One draw picks uniformly among the tied servers.
            let k = rng.random_range(0..ties) as usize;
            best = *pool
                .up()
                .iter()
                .filter(|&&s| less(s, best).is_eq())
                .nth(k)
                .expect("k < ties");
        }
        Pick::stateless(best)
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn affinity(&self) -> Affinity {
        Affinity::None
    }

    fn wants_load(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stream;

    #[test]
    fn picks_the_least_loaded_and_spreads_ties() {
        let mut pool = testing::pool(3);
        pool.in_flight_mut().copy_from_slice(&[4, 1, 2]);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let c = testing::client(0);
        assert_eq!(LeastConn.pick(&c, 0, &pool, &mut rng).server, 1);
        pool.in_flight_mut().copy_from_slice(&[0, 0, 0]);
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            seen[LeastConn.pick(&c, 0, &pool, &mut rng).server as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 900), "{seen:?}");
    }
}
