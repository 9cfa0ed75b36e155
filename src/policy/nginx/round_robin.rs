//! nginx's default method, smooth weighted round robin, and the per-server state
//! behind it that every other nginx method falls back on.
//!
//! Each pick adds every usable server's effective weight to its current weight,
//! takes the server with the highest current weight (the first in configuration
//! order on a tie) and subtracts the sum of the effective weights from it: weights
//! 5,1,1 give a a b a c a a. There is no affinity at all; what matters is spread.
//!
//! The state belongs to the worker, not to one method: the hashes' fallback, the
//! consistent hash choosing among servers that share a name, and least_conn's
//! tie-break all move the same current weights. It survives health changes and
//! starts afresh on a configuration reload. A failed server loses its whole
//! effective weight (nginx's passive check with the default `max_fails=1`) and,
//! once back, regains one unit each time it is considered.

use crate::engine::{StreamRng, Time};
use crate::policy::{Affinity, Client, Pick, Policy, PolicyInfo};
use crate::pool::{Pool, ServerId};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "nginx.round_robin",
    summary: "nginx's default: smooth weighted round robin over the servers up, in configuration order; no affinity",
    params: &[],
    build: |_, ctx| Ok(Box::new(RoundRobin(Smooth::new(ctx.pool)))),
};

/// nginx's current and effective weight of every server, by server id.
pub struct Smooth {
    current: Vec<i64>,
    effective: Vec<i64>,
    /// The configuration these weights belong to: a different one is a reload.
    configured: Vec<ServerId>,
    up: Vec<bool>,
}

impl Smooth {
    pub fn new(pool: &Pool) -> Smooth {
        let mut smooth = Smooth {
            current: Vec::new(),
            effective: Vec::new(),
            configured: Vec::new(),
            up: Vec::new(),
        };
        smooth.reload(pool);
        smooth
    }

    /// A new configuration: every server starts at its full weight.
    fn reload(&mut self, pool: &Pool) {
        self.current = vec![0; pool.len()];
        self.effective = (0..pool.len() as ServerId).map(|s| pool.weight(s) as i64).collect();
        self.configured = pool.configured().to_vec();
        self.up = (0..pool.len() as ServerId).map(|s| pool.is_up(s)).collect();
    }

    /// Follows a pool change; returns whether it was a reload (servers added or removed).
    pub fn pool_changed(&mut self, pool: &Pool) -> bool {
        if pool.configured() != self.configured {
            self.reload(pool);
            return true;
        }
        for s in 0..pool.len() as ServerId {
            let up = pool.is_up(s);
            if self.up[s as usize] && !up {
                self.effective[s as usize] = 0;
            }
            self.up[s as usize] = up;
        }
        false
    }

    /// One smooth weighted pick among `candidates`, taken in configuration order.
    pub fn among(&mut self, pool: &Pool, candidates: impl Iterator<Item = ServerId>) -> Option<ServerId> {
        let mut best: Option<ServerId> = None;
        let mut total = 0;
        for s in candidates {
            let i = s as usize;
            self.current[i] += self.effective[i];
            total += self.effective[i];
            let weight = pool.weight(s) as i64;
            if self.effective[i] < weight {
                // One configured unit per pick, however fine slow start makes the weights.
                self.effective[i] = (self.effective[i] + pool.weight_scale() as i64).min(weight);
            }
            if best.is_none_or(|b| self.current[i] > self.current[b as usize]) {
                best = Some(s);
            }
        }
        let best = best?;
        self.current[best as usize] -= total;
        Some(best)
    }

    /// nginx's round robin over the servers up. A lone configured server is taken
    /// as it is, without touching its weights.
    pub fn next(&mut self, pool: &Pool) -> ServerId {
        match pool.configured() {
            [only] => *only,
            _ => self
                .among(pool, pool.up().iter().copied())
                .expect("pick is only called with a server up"),
        }
    }
}

pub struct RoundRobin(Smooth);

impl Policy for RoundRobin {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        Pick::stateless(self.0.next(pool))
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
}

#[cfg(test)]
mod tests {
    use super::super::tests::weighted;
    use super::*;
    use crate::pool::PoolChangeKind;
    use proptest::prelude::*;

    fn sequence(smooth: &mut Smooth, pool: &Pool, n: usize) -> Vec<ServerId> {
        (0..n).map(|_| smooth.next(pool)).collect()
    }

    #[test]
    fn the_documented_sequence() {
        // nginx's commit introducing smooth weighting: weights 5,1,1 give a a b a c a a.
        let pool = weighted(&[5, 1, 1], &[]);
        let mut rr = Smooth::new(&pool);
        assert_eq!(sequence(&mut rr, &pool, 7), [0, 0, 1, 0, 2, 0, 0]);
        assert_eq!(sequence(&mut rr, &pool, 7), [0, 0, 1, 0, 2, 0, 0], "and it repeats");
    }

    #[test]
    fn down_servers_are_skipped_and_keep_their_place() {
        let mut pool = weighted(&[1, 1, 1], &[]);
        let mut rr = Smooth::new(&pool);
        assert_eq!(sequence(&mut rr, &pool, 2), [0, 1]);
        assert!(pool.apply(&PoolChangeKind::Fail(2)));
        assert!(!rr.pool_changed(&pool), "a health change is not a reload");
        assert_eq!(sequence(&mut rr, &pool, 4), [0, 1, 0, 1]);
    }

    #[test]
    fn a_recovered_server_ramps_its_weight_back() {
        let mut pool = weighted(&[1, 4], &[]);
        let mut rr = Smooth::new(&pool);
        assert!(pool.apply(&PoolChangeKind::Fail(1)));
        rr.pool_changed(&pool);
        assert!(pool.apply(&PoolChangeKind::Recover(1)));
        rr.pool_changed(&pool);
        // Server 1 comes back at effective weight 0 and gains one per pick: it loses the
        // first two picks that a fresh start (1,1,0,1,1) would give it, then settles.
        assert_eq!(sequence(&mut rr, &pool, 5), [0, 0, 1, 1, 1]);
        assert_eq!(sequence(&mut rr, &pool, 5), [0, 1, 1, 1, 1]);
    }

    #[test]
    fn a_reload_starts_afresh() {
        let mut pool = super::super::super::testing::pool_with_spare(2, 1);
        let mut rr = Smooth::new(&pool);
        rr.next(&pool);
        assert!(pool.apply(&PoolChangeKind::Add(2)));
        assert!(rr.pool_changed(&pool));
        assert_eq!(sequence(&mut rr, &pool, 3), [0, 1, 2]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Every full cycle of total-weight picks gives each server exactly its weight.
        #[test]
        fn a_cycle_gives_each_server_its_weight(weights in prop::collection::vec(1u32..20, 1..8)) {
            let pool = weighted(&weights, &[]);
            let mut rr = Smooth::new(&pool);
            let total: u32 = weights.iter().sum();
            let mut seen = vec![0u32; weights.len()];
            for s in sequence(&mut rr, &pool, total as usize) {
                seen[s as usize] += 1;
            }
            prop_assert_eq!(seen, weights);
        }
    }
}
