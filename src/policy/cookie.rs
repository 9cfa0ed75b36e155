//! Cookie stickiness: the balancer tells the client which server it used, and the
//! client sends that back. The memory travels with the user, not the address, so
//! it survives WiFi-to-cellular switches, renumbering and NAT re-picks.
//!
//! Two lifetimes, alone or together: a load-balancer cookie lives a fixed
//! `max_age` from when the balancer set it (AWS ALB's AWSALB, HAProxy `cookie
//! insert maxlife`); an application cookie lives while the application's session
//! does, so it ends after `idle` without a request (ALB `app_cookie`, HAProxy
//! `cookie prefix` on JSESSIONID). Either way, a cookie naming a server that is no
//! longer up sends the client to a new server, which the new cookie names.

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
            help: "load-balancer cookie: lifetime from when it was set (\"none\" or 0: the whole run)",
        },
        Param {
            name: "idle",
            default: "none",
            help: "application cookie: ends after this long without a request (\"none\" or 0: never)",
        },
    ],
    build: |args, ctx| {
        let base = build(&args.policy("base")?, ctx)?;
        let max_age = args.duration_or_none("max_age")?.map(|d| d.0);
        let idle = args.duration_or_none("idle")?.map(|d| d.0);
        Ok(Box::new(Cookie::new(base, max_age, idle, ctx)))
    },
};

/// A cookie a client holds: the server (plus one; 0 = no cookie), when it was set
/// and when it was last sent.
#[derive(Clone, Copy, Default)]
struct Held {
    server: u32,
    set_at: Stamp,
    used_at: Stamp,
}

pub struct Cookie {
    base: Box<dyn Policy>,
    max_age: Option<Stamp>,
    idle: Option<Stamp>,
    /// Each user's cookie, by user id.
    jar: Vec<Held>,
}

impl Cookie {
    pub fn new(base: Box<dyn Policy>, max_age: Option<Time>, idle: Option<Time>, ctx: &BuildContext) -> Cookie {
        Cookie {
            base,
            max_age: max_age.map(Stamp::from),
            idle: idle.map(Stamp::from),
            jar: Vec::with_capacity(ctx.expected_users),
        }
    }

    fn valid(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        let held = self.jar.get(client.user as usize)?;
        let now = Stamp::from(now);
        let fresh = self.max_age.is_none_or(|age| now.since(held.set_at) < age)
            && self.idle.is_none_or(|idle| now.since(held.used_at) < idle);
        (held.server > 0 && fresh && pool.is_up(held.server - 1)).then(|| held.server - 1)
    }
}

impl Policy for Cookie {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        if let Some(server) = self.valid(client, now, pool) {
            self.jar[client.user as usize].used_at = Stamp::from(now);
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
            used_at: Stamp::from(now),
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

    #[test]
    fn application_cookie_lives_while_it_is_used() {
        let p = pool(5);
        let mut c = built("cookie(idle=30m)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let u = client(3);
        assert_eq!(c.pick(&u, 0, &p, &mut rng).memory, Memory::Miss);
        // Requests 20 minutes apart keep it alive for hours; a 30-minute gap ends it.
        for k in 1..10 {
            assert_eq!(c.pick(&u, k * HOUR / 3, &p, &mut rng).memory, Memory::Hit);
        }
        assert_eq!(c.pick(&u, 3 * HOUR + HOUR / 2, &p, &mut rng).memory, Memory::Miss);
    }
}
