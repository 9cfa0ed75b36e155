//! HAProxy's map-based lookup (`hash-type map-based`, the default): a table with
//! one slot per unit of effective weight of the usable servers, and a client goes
//! to `table[hash mod length]`.
//!
//! The table is rebuilt whenever a server goes up or down, and its length changes
//! with it, so a pool change moves most clients (mod-N remapping), not just those
//! of the server that changed. Within the table, slots are dealt out like a smooth
//! weighted round robin in declaration order, so servers of weights (2,1,3)
//! interleave as [0,2,0,2,1,2].

use crate::hash::FastMod;
use crate::pool::{Pool, ServerId};

/// The lookup table of the servers usable now.
#[derive(Default)]
pub struct ServerMap {
    slots: Vec<ServerId>,
    /// The table's length as a divisor without a division.
    modulo: FastMod,
}

impl ServerMap {
    /// Rebuilds the table for the servers up now, in declaration order.
    pub fn rebuild(&mut self, pool: &Pool) {
        // Weights are divided by their greatest common divisor over the whole
        // configuration (down servers included). That only shortens the table: the
        // table of weights scaled by g is the short one repeated g times.
        let gcd = pool.configured().iter().fold(0, |g, &s| gcd(g, pool.weight(s))).max(1);
        let up = pool.up();
        let eweights: Vec<u32> = up.iter().map(|&s| pool.weight(s) / gcd).collect();
        self.slots.clear();
        self.slots.extend(deal(&eweights).into_iter().map(|i| up[i]));
        self.modulo = FastMod::new(self.slots.len().max(1) as u64);
    }

    /// The server for a hash: `hash mod tot`, one load.
    pub fn get(&self, hash: u32) -> ServerId {
        self.slots[self.modulo.of(hash as u64) as usize]
    }
}

/// Deals one slot per unit of weight: at each slot every server earns its weight,
/// and the first with the most whole table lengths earned takes the slot and pays
/// one table length. Returns positions in `eweights`.
fn deal(eweights: &[u32]) -> Vec<usize> {
    let tot: i64 = eweights.iter().map(|&w| w as i64).sum();
    let mut score = vec![0i64; eweights.len()];
    (0..tot)
        .map(|_| {
            let (mut best, mut best_v) = (0, i64::MIN);
            for (i, &w) in eweights.iter().enumerate() {
                score[i] += w as i64;
                let v = (score[i] + tot) / tot;
                if v > best_v {
                    (best, best_v) = (i, v);
                }
            }
            score[best] -= tot;
            best
        })
        .collect()
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{named, servers};

    fn weighted(weights: &[u32]) -> Pool {
        servers(&named(weights.len(), |i| format!("s{i}")), weights, &[])
    }

    fn map(pool: &Pool) -> Vec<ServerId> {
        let mut m = ServerMap::default();
        m.rebuild(pool);
        m.slots
    }

    #[test]
    fn reference_tables() {
        assert_eq!(map(&weighted(&[1, 1, 1])), [0, 1, 2]);
        assert_eq!(map(&weighted(&[2, 1, 3])), [0, 2, 0, 2, 1, 2]);
        // Divided by their gcd of 10, the weights are 1,2,3.
        assert_eq!(map(&weighted(&[10, 20, 30])), [0, 2, 1, 2, 1, 2]);
    }

    #[test]
    fn down_servers_leave_the_table() {
        let mut p = weighted(&[2, 4, 6]);
        assert!(p.apply(&crate::pool::PoolChangeKind::Fail(1)));
        // gcd 2 over all three: the table holds 1 + 3 slots.
        assert_eq!(map(&p), [0, 2, 2, 2]);
    }

    proptest::proptest! {
        #[test]
        fn slots_follow_weights_and_scaling_repeats_the_table(
            weights in proptest::collection::vec(1u32..=20, 1..8),
            scale in 2u32..=5,
        ) {
            let base = map(&weighted(&weights));
            let g = weights.iter().fold(0, |g, &w| gcd(g, w));
            for (s, &w) in weights.iter().enumerate() {
                let slots = base.iter().filter(|&&x| x == s as ServerId).count() as u32;
                proptest::prop_assert_eq!(slots, w / g);
            }
            // Without the gcd division, scaled weights deal the same table repeated.
            let eweights: Vec<u32> = weights.iter().map(|w| w / g).collect();
            let scaled: Vec<u32> = eweights.iter().map(|w| w * scale).collect();
            proptest::prop_assert_eq!(deal(&scaled), deal(&eweights).repeat(scale as usize));
        }
    }
}
