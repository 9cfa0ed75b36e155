//! nginx `least_conn`: the server up with the fewest active connections per unit
//! of weight; where several tie, nginx's smooth weighted round robin among them.
//!
//! There is no affinity. Ties are the common case on a lightly loaded pool (every
//! server at zero), so it then behaves exactly like round robin, and the tie-break
//! moves the same round-robin state. lbsim's requests in flight stand for nginx's
//! connections to each server.

use super::round_robin::Smooth;
use crate::engine::{StreamRng, Time};
use crate::policy::{Affinity, Client, Pick, Policy, PolicyInfo};
use crate::pool::{Pool, ServerId};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "nginx.least_conn",
    summary: "nginx least_conn: fewest requests in flight per unit of weight, smooth weighted round robin among \
              ties; no affinity",
    params: &[],
    build: |_, ctx| Ok(Box::new(LeastConn(Smooth::new(ctx.pool)))),
};

pub struct LeastConn(Smooth);

impl Policy for LeastConn {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        if pool.configured().len() < 2 {
            return Pick::stateless(self.0.next(pool));
        }
        // conns/weight compared as conns·weight' against conns'·weight, in integers.
        let load = |s: ServerId| (pool.in_flight(s) as u64, pool.weight(s) as u64);
        let up = pool.up();
        let (mut best, mut tied) = (up[0], false);
        let (mut bc, mut bw) = load(best);
        for &s in &up[1..] {
            let (c, w) = load(s);
            if c * bw < bc * w {
                (best, bc, bw, tied) = (s, c, w, false);
            } else if c * bw == bc * w {
                tied = true;
            }
        }
        if tied {
            let ties = up.iter().copied().filter(|&s| {
                let (c, w) = load(s);
                c * bw == bc * w
            });
            best = self.0.among(pool, ties).expect("the best server ties with itself");
        }
        Pick::stateless(best)
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.0.pool_changed(pool);
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
    use super::super::tests::weighted;
    use super::*;
    use crate::engine::Stream;
    use crate::policy::testing::{built, client};

    fn picks(p: &mut Box<dyn Policy>, pool: &Pool, n: usize) -> Vec<ServerId> {
        let mut rng = Stream::Policy.rng(1, 0, 0);
        (0..n).map(|_| p.pick(&client(0), 0, pool, &mut rng).server).collect()
    }

    #[test]
    fn the_least_loaded_per_weight_wins() {
        let mut pool = weighted(&[1, 2, 1], &[]);
        let mut p = built("nginx.least_conn", &pool);
        assert!(p.wants_load());
        // 3/1, 4/2 and 3/1: server 1 has the fewest per unit of weight.
        pool.in_flight_mut().copy_from_slice(&[3, 4, 3]);
        assert_eq!(picks(&mut p, &pool, 1), [1]);
        pool.in_flight_mut().copy_from_slice(&[3, 7, 2]);
        assert_eq!(picks(&mut p, &pool, 1), [2]);
    }

    #[test]
    fn ties_take_turns_by_weight_as_round_robin_does() {
        // Nothing in flight: every server ties, and the smooth sequence for 5,1,1 follows.
        let pool = weighted(&[5, 1, 1], &[]);
        let mut p = built("nginx.least_conn", &pool);
        assert_eq!(picks(&mut p, &pool, 7), [0, 0, 1, 0, 2, 0, 0]);
    }

    #[test]
    fn only_the_tied_servers_take_turns() {
        let mut pool = weighted(&[1, 1, 1, 1], &[3]);
        pool.in_flight_mut().copy_from_slice(&[1, 0, 0, 0]);
        let mut p = built("nginx.least_conn", &pool);
        assert_eq!(
            picks(&mut p, &pool, 4),
            [1, 2, 1, 2],
            "server 0 is busier, server 3 down"
        );
    }
}
