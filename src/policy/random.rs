//! Random: each request goes to a server drawn in proportion to its weight.

use rand::RngExt;

use super::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "random",
    summary: "weighted random choice per request; no affinity",
    params: &[],
    build: |_, ctx| Ok(Box::new(Random::new(ctx.pool))),
};

pub struct Random {
    /// Cumulative weights of the up servers, for a binary search per draw.
    cumulative: Vec<u64>,
}

impl Random {
    pub fn new(pool: &Pool) -> Random {
        let mut r = Random { cumulative: Vec::new() };
        r.pool_changed(pool);
        r
    }
}

impl Policy for Random {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let x = rng.random_range(0..pool.total_up_weight());
        let i = self.cumulative.partition_point(|&c| c <= x);
        Pick::stateless(pool.up()[i])
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.cumulative = pool
            .up()
            .iter()
            .scan(0u64, |acc, &s| {
                *acc += pool.weight(s) as u64;
                Some(*acc)
            })
            .collect();
    }

    /// HAProxy's `balance random` in slow start draws from the ramping weights.
    fn weights_changed(&mut self, pool: &Pool) {
        self.pool_changed(pool);
    }

    fn affinity(&self) -> Affinity {
        Affinity::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stream;
    use crate::pool::{Presence, Server};

    #[test]
    fn draws_follow_weights() {
        let w = |n: &str, weight| Server {
            name: n.into(),
            weight,
            presence: Presence::Up,
        };
        let pool = Pool::new(vec![w("a", 1), w("b", 3)]);
        let mut p = Random::new(&pool);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let c = testing::client(0);
        let n = 40_000;
        let b = (0..n).filter(|_| p.pick(&c, 0, &pool, &mut rng).server == 1).count();
        assert!((b as f64 / n as f64 - 0.75).abs() < 0.01);
    }
}
