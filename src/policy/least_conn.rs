//! Least connections: the up server with the fewest requests in flight relative to
//! its weight; ties are broken at random so no server is favoured by its position.

use rand::RngExt;

use super::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "least_conn",
    summary: "fewest requests in flight per unit of weight, random tie-break; no affinity",
    params: &[],
    build: |_, ctx| Ok(Box::new(LeastConn::new(ctx.pool))),
};

pub struct LeastConn {
    /// The servers tied for the least load, gathered during the scan.
    tied: Vec<ServerId>,
}

impl LeastConn {
    pub fn new(pool: &Pool) -> LeastConn {
        LeastConn {
            tied: vec![0; pool.len()],
        }
    }
}

impl Policy for LeastConn {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let up = pool.up();
        if self.tied.len() < up.len() {
            self.tied.resize(up.len(), 0);
        }
        // a/wa < b/wb  <=>  a·wb < b·wa, in integers. Weights are at least 1, so
        // this orders the servers totally, and one scan without branches on the
        // loads finds the least loaded and gathers, in pool order, every server
        // as loaded: a less loaded one starts the gathering again.
        let (mut f, mut w) = (pool.in_flight(up[0]) as u64, pool.weight(up[0]) as u64);
        let mut ties = 0;
        for &s in up {
            let (fs, ws) = (pool.in_flight(s) as u64, pool.weight(s) as u64);
            let (this, least) = (fs * w, f * ws);
            let less = this < least;
            ties = if less { 0 } else { ties };
            (f, w) = if less { (fs, ws) } else { (f, w) };
            self.tied[ties] = s;
            ties += (this <= least) as usize;
        }
        // One draw picks uniformly among the tied servers.
        let k = if ties > 1 {
            rng.random_range(0..ties as u32) as usize
        } else {
            0
        };
        Pick::stateless(self.tied[k])
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
        let mut lc = LeastConn::new(&pool);
        assert_eq!(lc.pick(&c, 0, &pool, &mut rng).server, 1);
        pool.in_flight_mut().copy_from_slice(&[0, 0, 0]);
        let mut seen = [0u32; 3];
        for _ in 0..3000 {
            seen[lc.pick(&c, 0, &pool, &mut rng).server as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 900), "{seen:?}");
    }

    #[test]
    fn a_less_loaded_server_starts_the_ties_again() {
        // Servers 0..9 tie at one request each until server 10, with none.
        let mut pool = testing::pool(100);
        pool.in_flight_mut().fill(1);
        pool.in_flight_mut()[10] = 0;
        pool.in_flight_mut()[70] = 0;
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let c = testing::client(0);
        let mut lc = LeastConn::new(&pool);
        let mut seen = [0u32; 100];
        for _ in 0..2000 {
            seen[lc.pick(&c, 0, &pool, &mut rng).server as usize] += 1;
        }
        assert_eq!(seen[10] + seen[70], 2000, "only the least loaded");
        assert!(seen[10] > 900 && seen[70] > 900, "{seen:?}");
    }
}
