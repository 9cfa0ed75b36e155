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

/// The cookies of every user, by user id, as parallel arrays: the server named
/// (plus one; 0 = no cookie), and only the times a lifetime needs: when it was set
/// (for `max_age`) and when it was last sent (for `idle`). A cookie with no
/// lifetime costs 4 bytes per user.
#[derive(Default)]
struct Jar {
    server: Vec<u32>,
    set_at: Vec<Stamp>,
    used_at: Vec<Stamp>,
}

pub struct Cookie {
    base: Box<dyn Policy>,
    max_age: Option<Stamp>,
    idle: Option<Stamp>,
    jar: Jar,
}

impl Cookie {
    pub fn new(base: Box<dyn Policy>, max_age: Option<Time>, idle: Option<Time>, ctx: &BuildContext) -> Cookie {
        let room = |needed: bool| if needed { ctx.expected_users } else { 0 };
        Cookie {
            base,
            max_age: max_age.map(Stamp::from),
            idle: idle.map(Stamp::from),
            jar: Jar {
                server: Vec::with_capacity(room(true)),
                set_at: Vec::with_capacity(room(max_age.is_some())),
                used_at: Vec::with_capacity(room(idle.is_some())),
            },
        }
    }

    fn valid(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        let u = client.user as usize;
        let server = *self.jar.server.get(u)?;
        let now = Stamp::from(now);
        let fresh = self.max_age.is_none_or(|age| now.since(self.jar.set_at[u]) < age)
            && self.idle.is_none_or(|idle| now.since(self.jar.used_at[u]) < idle);
        (server > 0 && fresh && pool.is_up(server - 1)).then(|| server - 1)
    }

    /// Records that user `u`'s cookie was sent at `now`.
    fn used(&mut self, u: usize, now: Time) {
        if self.idle.is_some() {
            self.jar.used_at[u] = Stamp::from(now);
        }
    }

    /// Sets user `u`'s cookie to name `server`, at `now`.
    fn set(&mut self, u: usize, server: ServerId, now: Time) {
        if u >= self.jar.server.len() {
            self.jar.server.resize(u + 1, 0);
            if self.max_age.is_some() {
                self.jar.set_at.resize(u + 1, Stamp(0));
            }
            if self.idle.is_some() {
                self.jar.used_at.resize(u + 1, Stamp(0));
            }
        }
        self.jar.server[u] = server + 1;
        if self.max_age.is_some() {
            self.jar.set_at[u] = Stamp::from(now);
        }
        self.used(u, now);
    }
}

impl Policy for Cookie {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        if let Some(server) = self.valid(client, now, pool) {
            self.used(client.user as usize, now);
            return Pick {
                server,
                memory: Memory::Hit,
            };
        }
        let server = self.base.pick(client, now, pool, rng).server;
        self.set(client.user as usize, server, now);
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

    fn weights_changed(&mut self, pool: &Pool) {
        self.base.weights_changed(pool);
    }

    /// The client carries the cookie another instance set or read: every
    /// instance of the balancer sees the same one on the next request.
    fn remember(&mut self, client: &Client, pick: Pick, _: Option<u64>, now: Time) {
        let u = client.user as usize;
        match pick.memory {
            Memory::Hit if u < self.jar.server.len() => self.used(u, now),
            _ => self.set(u, pick.server, now),
        }
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
