//! Cookie stickiness: the balancer tells the client which server it used, and the
//! client sends that back. The memory travels with the user, not the address, so
//! it survives WiFi-to-cellular switches, renumbering and NAT re-picks.

use super::*;
use crate::engine::time::Stamp;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "cookie",
    summary: "load-balancer cookie naming the server; survives address changes; new clients via a base policy",
    params: &[
        Param {
            name: "base",
            default: "round_robin",
            help: "policy for clients without a valid cookie",
        },
        Param {
            name: "max_age",
            default: "none",
            help: "cookie lifetime from when it was set (\"none\" or 0: the whole run)",
        },
    ],
    build: |args, ctx| {
        let base = build(&args.policy("base")?, ctx)?;
        let max_age = args.duration_or_none("max_age")?.map(|d| Stamp::from(d.0));
        Ok(Box::new(Cookie {
            base,
            max_age,
            jar: Vec::with_capacity(ctx.expected_users),
        }))
    },
};

/// A cookie a client holds: the server (plus one; 0 = no cookie) and when it was set.
#[derive(Clone, Copy, Default)]
struct Held {
    server: u32,
    set_at: Stamp,
}

pub struct Cookie {
    base: Box<dyn Policy>,
    max_age: Option<Stamp>,
    /// Each user's cookie, by user id.
    jar: Vec<Held>,
}

impl Cookie {
    fn valid(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        let held = self.jar.get(client.user as usize)?;
        let fresh = self.max_age.is_none_or(|age| Stamp::from(now).since(held.set_at) < age);
        (held.server > 0 && fresh && pool.is_up(held.server - 1)).then(|| held.server - 1)
    }
}

impl Policy for Cookie {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        if let Some(server) = self.valid(client, now, pool) {
            return Pick {
                server,
                memory: Memory::Hit,
            };
        }
        let server = self.base.pick(client, now, pool, rng).server;
        let u = client.user as usize;
        if u >= self.jar.len() {
            self.jar.resize(u + 1, Held::default());
        }
        self.jar[u] = Held {
            server: server + 1,
            set_at: Stamp::from(now),
        };
        Pick {
            server,
            memory: Memory::Miss,
        }
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        self.valid(client, now, pool)
            .or_else(|| self.base.peek(client, now, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.base.pool_changed(pool);
    }

    fn affinity(&self) -> Affinity {
        Affinity::Client
    }

    fn wants_load(&self) -> bool {
        self.base.wants_load()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{built, client, pool};
    use super::*;
    use crate::engine::{HOUR, Stream};

    #[test]
    fn pin_survives_address_change_until_max_age() {
        let p = pool(5);
        let mut c = built("cookie(max_age=1h)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut u = client(3);
        let first = c.pick(&u, 0, &p, &mut rng).server;
        u.addr = Addr::v4(0x6440_0001);
        assert_eq!(
            c.pick(&u, HOUR / 2, &p, &mut rng),
            Pick {
                server: first,
                memory: Memory::Hit
            }
        );
        assert_eq!(c.pick(&u, HOUR, &p, &mut rng).memory, Memory::Miss);
    }
}
