//! `load-balance: round_robin`, ingress-nginx's default: resty.roundrobin over
//! endpoints of weight 1, so plain rotation in the order of its node table, which
//! starts at a random endpoint every time the endpoints change. Each nginx worker
//! keeps its own rotation; lbsim models one.

use rand::RngExt;

use crate::policy::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ingress_nginx.round_robin",
    summary: "ingress-nginx's default load-balance: rotation over the endpoints (weights ignored) from a random one; no affinity",
    params: &[],
    build: |_, _| Ok(Box::new(RoundRobin { next: None })),
};

pub struct RoundRobin {
    /// The position of the next endpoint; drawn at random after each change.
    next: Option<usize>,
}

impl Policy for RoundRobin {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let up = pool.up();
        let i = self.next.unwrap_or_else(|| rng.random_range(0..up.len())) % up.len();
        self.next = Some(i + 1);
        Pick::stateless(up[i])
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn pool_changed(&mut self, _: &Pool) {
        self.next = None;
    }

    fn affinity(&self) -> Affinity {
        Affinity::None
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::Stream;
    use crate::policy::testing::{built, client, servers};

    #[test]
    fn rotates_over_endpoints_ignoring_weights() {
        let pool = servers(&["a:1", "b:1", "c:1"], &[5, 1, 1], &[]);
        let mut rr = built("ingress_nginx.round_robin", &pool);
        let mut rng = Stream::Policy.rng(3, 0, 0);
        let picks: Vec<u32> = (0..9).map(|_| rr.pick(&client(0), 0, &pool, &mut rng).server).collect();
        let first = picks[0];
        let want: Vec<u32> = (0..9).map(|i| (first + i) % 3).collect();
        assert_eq!(picks, want);
    }
}
