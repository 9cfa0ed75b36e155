//! Power of two choices (Mitzenmacher, 2001): draw two servers at random and send
//! the request to the one with fewer requests in flight. Two random looks instead of
//! a scan of every server cut the maximum load from Θ(log n / log log n) to
//! Θ(log log n), and avoid the herd that least-connections causes when several
//! balancers see the same idle server. Envoy's LEAST_REQUEST works this way (choice
//! count 2). Every request is placed afresh: no affinity.

use rand::RngExt;

use super::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "p2c",
    summary: "power of d choices (least request): fewest in flight of d random servers; no affinity",
    params: &[Param {
        name: "choices",
        default: "2",
        help: "servers drawn per request (with replacement, as Envoy draws)",
    }],
    build: |args, _| {
        Ok(Box::new(PowerOfChoices {
            choices: args.int("choices", 1, 100)? as u32,
        }))
    },
};

pub struct PowerOfChoices {
    choices: u32,
}

impl Policy for PowerOfChoices {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let up = pool.up();
        let mut best = up[rng.random_range(0..up.len())];
        for _ in 1..self.choices {
            let s = up[rng.random_range(0..up.len())];
            // Fewer in flight per unit of weight: a/wa < b/wb  <=>  a·wb < b·wa.
            if (pool.in_flight(s) as u64 * pool.weight(best) as u64)
                < (pool.in_flight(best) as u64 * pool.weight(s) as u64)
            {
                best = s;
            }
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
    use super::testing::{built, client, pool};
    use crate::engine::Stream;

    /// Places `balls` requests that never finish; returns the fullest server's count.
    fn max_load(spec: &str, servers: usize, balls: u32) -> u32 {
        let mut p = pool(servers);
        let mut policy = built(spec, &p);
        let mut rng = Stream::Policy.rng(7, 0, 0);
        for i in 0..balls {
            let s = policy.pick(&client(i), 0, &p, &mut rng).server;
            p.in_flight_mut()[s as usize] += 1;
        }
        (0..servers as u32).map(|s| p.in_flight(s)).max().unwrap()
    }

    #[test]
    fn two_choices_flatten_the_maximum_load() {
        // n balls in n bins: one choice gives about ln n / ln ln n (≈ 7 at 10⁴),
        // two give about ln ln n / ln 2 + 1 (≈ 4).
        let one = max_load("p2c(choices=1)", 10_000, 10_000);
        let two = max_load("p2c", 10_000, 10_000);
        assert!(one >= 6, "one choice: max {one}");
        assert!(two <= 4, "two choices: max {two}");
    }
}
