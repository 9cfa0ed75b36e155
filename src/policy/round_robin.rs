//! Round robin, weighted the smooth way (as nginx does): each pick adds every up
//! server's weight to its score, takes the highest score and subtracts the total,
//! so a server of weight 3 among weights 3,1,1 is picked 3 times in 5, spread out.

use super::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "round_robin",
    summary: "smooth weighted round robin (nginx default); no affinity at all",
    params: &[],
    build: |_, ctx| Ok(Box::new(RoundRobin::new(ctx.pool))),
};

pub struct RoundRobin {
    score: Vec<i64>,
}

impl RoundRobin {
    pub fn new(pool: &Pool) -> RoundRobin {
        RoundRobin {
            score: vec![0; pool.len()],
        }
    }

    /// The next server in the weighted rotation.
    pub fn next(&mut self, pool: &Pool) -> ServerId {
        let total = pool.total_up_weight() as i64;
        let mut best = pool.up()[0];
        let mut best_score = i64::MIN;
        for &s in pool.up() {
            let score = &mut self.score[s as usize];
            *score += pool.weight(s) as i64;
            if *score > best_score {
                best_score = *score;
                best = s;
            }
        }
        self.score[best as usize] -= total;
        best
    }
}

impl Policy for RoundRobin {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        Pick::stateless(self.next(pool))
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn pool_changed(&mut self, _: &Pool) {
        self.score.fill(0);
    }

    fn affinity(&self) -> Affinity {
        Affinity::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{Presence, Server};

    #[test]
    fn smooth_weighted_sequence() {
        let w = |n: &str, weight| Server {
            name: n.into(),
            weight,
            presence: Presence::Up,
        };
        let pool = Pool::new(vec![w("a", 5), w("b", 1), w("c", 1)]);
        let mut rr = RoundRobin::new(&pool);
        let seq: Vec<_> = (0..7).map(|_| rr.next(&pool)).collect();
        // nginx's documented smooth sequence for weights 5,1,1: a a b a c a a.
        assert_eq!(seq, [0, 0, 1, 0, 2, 0, 0]);
    }
}
