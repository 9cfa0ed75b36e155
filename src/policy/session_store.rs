//! A shared session store instead of affinity: servers keep no session state of
//! their own but read and write it in a store every server reaches, so a request
//! may go anywhere without losing anything. The base policy only spreads load.
//! The cost moves elsewhere: every request pays the store's round trip, and the
//! store must hold every live session at once (the run reports that peak).

use super::*;
use crate::engine::MILLISECOND;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "session_store",
    summary: "state in a shared store (Redis, a database): no affinity needed and no loss; costs latency and store size",
    params: &[
        Param {
            name: "base",
            default: "round_robin",
            help: "how requests are spread; affinity no longer matters",
        },
        Param {
            name: "latency",
            default: "1ms",
            help: "time each request spends on the store (read before, write after), added to its service",
        },
    ],
    build: |args, ctx| {
        let base = build(&args.policy("base")?, ctx)?;
        let latency = args.duration("latency", 0, 10_000 * MILLISECOND)?;
        Ok(Box::new(SessionStore { base, latency }))
    },
};

pub struct SessionStore {
    base: Box<dyn Policy>,
    latency: Time,
}

impl Policy for SessionStore {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        self.base.pick(client, now, pool, rng)
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        self.base.peek(client, now, pool)
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.base.pool_changed(pool);
    }

    fn weights_changed(&mut self, pool: &Pool) {
        self.base.weights_changed(pool);
    }

    fn remember(&mut self, client: &Client, pick: Pick, cookie: Option<u64>, now: Time) {
        self.base.remember(client, pick, cookie, now);
    }

    fn issued(&self, client: &Client) -> Option<u64> {
        self.base.issued(client)
    }

    fn affinity(&self) -> Affinity {
        self.base.affinity()
    }

    fn wants_load(&self) -> bool {
        self.base.wants_load()
    }

    fn session_store(&self) -> Option<Time> {
        Some(self.latency)
    }
}
