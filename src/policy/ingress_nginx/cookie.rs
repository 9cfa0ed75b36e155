//! `nginx.ingress.kubernetes.io/affinity: cookie`: the Lua balancer's sticky
//! implementations (`balancer/sticky.lua` with `sticky_balanced.lua` or
//! `sticky_persistent.lua`), chosen by `affinity-mode`.
//!
//! A request with the cookie (INGRESSCOOKIE by default; its name changes nothing
//! lbsim measures) goes where the cookie's key leads; a request without it, or
//! whose cookie has expired in the browser, gets a new key and a new cookie. The
//! cookie is set only then, never refreshed, so it lives `max_age` (or `expires`;
//! browsers prefer Max-Age) from that first response; without either it is a
//! session cookie, which lbsim keeps for the whole run.
//!
//! - `balanced` (the default): the key is random text, `"<time>.<pid>.<random>"`,
//!   looked up on resty.chash over the endpoints. The key never changes while the
//!   cookie lives, but the ring does: scaling from c to n endpoints moves the
//!   sessions whose keys now fall on the new ones, about (n−c)/n, as the source
//!   says; an endpoint that leaves hands its sessions to its ring neighbours and
//!   takes them back when it returns.
//! - `persistent`: the key is the endpoint's own salted hash, so the cookie names
//!   the endpoint; new sessions go to a uniformly random endpoint. Nothing moves
//!   while the named endpoint is ready; when it is not, the session goes to a new
//!   random endpoint and stays there.
//!
//! `session-cookie-change-on-failure` acts on the retry after a request failed on
//! its endpoint: with `true` the retry gets a new key, with `false` (the default) it
//! tries the cookie's endpoint again. lbsim's pool takes a failed server out of the
//! endpoints at once, so persistent sessions are re-placed either way; for balanced
//! ones, lbsim assumes a session whose endpoint failed since its last request hit
//! it before the controller removed it, so with `true` it is re-keyed (and stays
//! where the new key leads when the endpoint recovers) and with `false` it keeps
//! its key (and moves back on recovery).

use std::fmt::Write;

use rand::RngExt;

use super::chash::Chash;
use crate::engine::time::Stamp;
use crate::policy::cookie::Cookie;
use crate::policy::nginx::crc32::crc32;
use crate::policy::*;
use crate::pool::Presence;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ingress_nginx.cookie",
    summary: "ingress-nginx affinity: cookie (INGRESSCOOKIE): balanced keys on resty.chash (a scale-up to n \
              moves about (n-c)/n of the sessions), persistent names the endpoint (nothing moves)",
    params: &[
        Param {
            name: "affinity_mode",
            default: "balanced",
            help: "affinity-mode: balanced (a random key on the endpoints' consistent hash) or persistent (the cookie names the endpoint)",
        },
        Param {
            name: "max_age",
            default: "none",
            help: "session-cookie-max-age: the cookie's lifetime from when it was set (\"none\": a session cookie, kept for the run)",
        },
        Param {
            name: "expires",
            default: "none",
            help: "session-cookie-expires: the same as an Expires date; max_age wins when both are given",
        },
        Param {
            name: "change_on_failure",
            default: "false",
            help: "session-cookie-change-on-failure: true gives a balanced session whose endpoint failed a new key",
        },
    ],
    build: |args, ctx| {
        let persistent = args.choice("affinity_mode", &["balanced", "persistent"])? == 1;
        let max_age = args.duration_or_none("max_age")?.map(|d| d.0);
        let expires = args.duration_or_none("expires")?.map(|d| d.0);
        let change_on_failure = args.choice("change_on_failure", &["false", "true"])? == 1;
        let lifetime = max_age.or(expires);
        Ok(if persistent {
            Box::new(Cookie::new(Box::new(AnyEndpoint), lifetime, None, ctx))
        } else {
            Box::new(Balanced::new(ctx, lifetime, change_on_failure))
        })
    },
};

/// `nodemap:random_except`: a uniformly random endpoint, whatever its weight.
struct AnyEndpoint;

impl Policy for AnyEndpoint {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let up = pool.up();
        Pick::stateless(up[rng.random_range(0..up.len())])
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn affinity(&self) -> Affinity {
        Affinity::None
    }
}

/// The Unix time, in milliseconds, that lbsim's runs start at in balanced keys,
/// and the nginx worker's pid: both only make keys unique, so any values do.
const EPOCH_MS: u64 = 1_700_000_000_000;
const WORKER_PID: u32 = 37;

/// No cookie, in [`Balanced::key`]; a key is its CRC-32 with this bit set.
const NO_COOKIE: u64 = 0;
const HAS_COOKIE: u64 = 1 << 32;

/// No server yet, in [`Balanced::last`].
const NOWHERE: u32 = u32::MAX;

pub struct Balanced {
    chash: Chash,
    lifetime: Option<Stamp>,
    change_on_failure: bool,
    /// Per user: the CRC-32 of its cookie's key, tagged with [`HAS_COOKIE`].
    key: Vec<u64>,
    /// Per user, with a lifetime: when the cookie was set.
    set_at: Vec<Stamp>,
    /// Per user, with `change_on_failure`: the server its last request went to.
    last: Vec<u32>,
}

impl Balanced {
    fn new(ctx: &BuildContext, lifetime: Option<Time>, change_on_failure: bool) -> Balanced {
        let room = |needed: bool| if needed { ctx.expected_users } else { 0 };
        Balanced {
            chash: Chash::endpoints(ctx.pool),
            lifetime: lifetime.map(Stamp::from),
            change_on_failure,
            key: Vec::with_capacity(ctx.expected_users),
            set_at: Vec::with_capacity(room(lifetime.is_some())),
            last: Vec::with_capacity(room(change_on_failure)),
        }
    }

    /// The CRC-32 of user `u`'s key, if its browser still sends the cookie.
    fn cookie(&self, u: usize, now: Time) -> Option<u32> {
        let key = *self.key.get(u)?;
        let fresh = self
            .lifetime
            .is_none_or(|life| Stamp::from(now).since(self.set_at[u]) < life);
        (key != NO_COOKIE && fresh).then_some(key as u32)
    }

    /// Whether user `u`'s last endpoint has failed, so that with
    /// `change_on_failure` its request failed there and the retry re-keys.
    fn failed_over(&self, u: usize, pool: &Pool) -> bool {
        self.change_on_failure
            && self
                .last
                .get(u)
                .is_some_and(|&s| s != NOWHERE && pool.servers()[s as usize].presence == Presence::Down)
    }

    /// A new key's CRC-32.
    fn new_key(now: Time, rng: &mut StreamRng) -> u32 {
        let mut text = KeyText::default();
        write_key(&mut text, now, rng.random_range(1..=999_999));
        crc32(text.as_bytes())
    }

    fn set(&mut self, u: usize, hash: u32, now: Time) {
        if u >= self.key.len() {
            self.key.resize(u + 1, NO_COOKIE);
            if self.lifetime.is_some() {
                self.set_at.resize(u + 1, Stamp(0));
            }
        }
        self.key[u] = HAS_COOKIE | hash as u64;
        if self.lifetime.is_some() {
            self.set_at[u] = Stamp::from(now);
        }
    }

    fn routed(&mut self, u: usize, s: ServerId) {
        if self.change_on_failure {
            if u >= self.last.len() {
                self.last.resize(u + 1, NOWHERE);
            }
            self.last[u] = s;
        }
    }
}

/// `pick_new_upstream`'s key, `"<ngx.now() + 1>.<pid>.<math.random(999999)>"`.
/// ngx.now() has millisecond resolution and Lua prints it with `%.14g`, so the
/// fraction loses its trailing zeros (and its point when it is zero).
fn write_key(text: &mut KeyText, now: Time, random: u32) {
    let ms = EPOCH_MS + now / crate::engine::MILLISECOND + 1000;
    let (secs, mut frac, mut digits) = (ms / 1000, (ms % 1000) as u32, 3);
    while frac > 0 && frac % 10 == 0 {
        frac /= 10;
        digits -= 1;
    }
    // Under 40 bytes, well within the buffer.
    let _ = if frac == 0 {
        write!(text, "{secs}.{WORKER_PID}.{random}")
    } else {
        write!(text, "{secs}.{frac:0digits$}.{WORKER_PID}.{random}")
    };
}

impl Policy for Balanced {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let u = client.user as usize;
        let kept = self.cookie(u, now).filter(|_| !self.failed_over(u, pool));
        let (hash, memory) = match kept {
            Some(hash) => (hash, Memory::Hit),
            None => {
                let hash = Balanced::new_key(now, rng);
                self.set(u, hash, now);
                (hash, Memory::Miss)
            }
        };
        let server = self.chash.find(hash);
        self.routed(u, server);
        Pick { server, memory }
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        let u = client.user as usize;
        let hash = self.cookie(u, now).filter(|_| !self.failed_over(u, pool))?;
        Some(self.chash.find(hash))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.chash = Chash::endpoints(pool);
    }

    /// The key another ingress controller replica set.
    fn remember(&mut self, client: &Client, pick: Pick, cookie: Option<u64>, now: Time) {
        if let (Memory::Miss, Some(key)) = (pick.memory, cookie) {
            self.set(client.user as usize, key as u32, now);
        }
    }

    fn issued(&self, client: &Client) -> Option<u64> {
        let key = *self.key.get(client.user as usize)?;
        (key != NO_COOKIE).then_some(key as u32 as u64)
    }

    fn affinity(&self) -> Affinity {
        Affinity::Client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{HOUR, MILLISECOND, SECOND, Stream};
    use crate::policy::testing::{built, client, pool_with_spare};
    use crate::pool::PoolChangeKind;

    const USERS: u32 = 20_000;

    /// Every user's first request at time 0, then `change` applied to the pool.
    fn before_and_after(text: &str, c: usize, changes: &[PoolChangeKind]) -> (Vec<ServerId>, Vec<Option<ServerId>>) {
        let mut pool = pool_with_spare(c, 8);
        let mut p = built(text, &pool);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let before = (0..USERS)
            .map(|u| p.pick(&client(u), 0, &pool, &mut rng).server)
            .collect();
        for change in changes {
            assert!(pool.apply(change));
            p.pool_changed(&pool);
        }
        let after = (0..USERS).map(|u| p.peek(&client(u), SECOND, &pool)).collect();
        (before, after)
    }

    fn scale_up(c: usize, n: usize) -> Vec<PoolChangeKind> {
        (c..n).map(|s| PoolChangeKind::Add(s as ServerId)).collect()
    }

    #[test]
    fn balanced_scale_up_moves_about_n_minus_c_over_n() {
        for (c, n) in [(4, 8), (6, 8), (3, 4)] {
            let (before, after) = before_and_after("ingress_nginx.cookie", c, &scale_up(c, n));
            let moved = before.iter().zip(&after).filter(|(b, a)| Some(**b) != **a).count();
            for (b, a) in before.iter().zip(&after) {
                let a = a.expect("a live cookie is followed");
                assert!(a == *b || a as usize >= c, "a session moved between old endpoints");
            }
            let (share, want) = (moved as f64 / USERS as f64, (n - c) as f64 / n as f64);
            assert!(
                (share - want).abs() < 0.06,
                "{c} to {n}: moved {share}, the source says {want}"
            );
        }
    }

    #[test]
    fn persistent_scale_up_moves_nobody() {
        let text = "ingress_nginx.cookie(affinity_mode=persistent)";
        let (before, after) = before_and_after(text, 4, &scale_up(4, 8));
        assert!(before.iter().zip(&after).all(|(b, a)| Some(*b) == *a));
    }

    #[test]
    fn the_cookie_survives_address_changes_until_it_expires() {
        for mode in ["balanced", "persistent"] {
            let pool = pool_with_spare(5, 0);
            let mut p = built(
                &format!("ingress_nginx.cookie(affinity_mode={mode}, max_age=1h)"),
                &pool,
            );
            let mut rng = Stream::Policy.rng(1, 0, 0);
            let mut u = client(7);
            let first = p.pick(&u, 0, &pool, &mut rng);
            assert_eq!(first.memory, Memory::Miss);
            u.addr = "100.64.0.9".parse().unwrap();
            assert_eq!(
                p.pick(&u, HOUR - SECOND, &pool, &mut rng),
                Pick {
                    memory: Memory::Hit,
                    ..first
                }
            );
            assert_eq!(p.pick(&u, HOUR, &pool, &mut rng).memory, Memory::Miss, "{mode}");
        }
    }

    #[test]
    fn max_age_wins_over_expires_and_neither_means_a_session_cookie() {
        let pool = pool_with_spare(3, 0);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let lives = |text: &str, at: Time, rng: &mut StreamRng| {
            let mut p = built(text, &pool);
            p.pick(&client(1), 0, &pool, rng);
            p.pick(&client(1), at, &pool, rng).memory == Memory::Hit
        };
        assert!(lives(
            "ingress_nginx.cookie(expires=2h, max_age=3h)",
            150 * 60 * SECOND,
            &mut rng
        ));
        assert!(!lives("ingress_nginx.cookie(expires=2h)", 150 * 60 * SECOND, &mut rng));
        assert!(lives("ingress_nginx.cookie", 1000 * HOUR, &mut rng));
    }

    /// Where a session goes: first, while its endpoint is down, and after the
    /// endpoint recovers; `seed` draws its keys.
    fn through_a_failure(text: &str, seed: u64) -> (ServerId, ServerId, ServerId) {
        let mut pool = pool_with_spare(4, 0);
        let mut p = built(text, &pool);
        let mut rng = Stream::Policy.rng(seed, 0, 0);
        let c = client(0);
        let home = p.pick(&c, 0, &pool, &mut rng).server;
        assert!(pool.apply(&PoolChangeKind::Fail(home)));
        p.pool_changed(&pool);
        let away = p.pick(&c, SECOND, &pool, &mut rng).server;
        assert_ne!(away, home);
        assert!(pool.apply(&PoolChangeKind::Recover(home)));
        p.pool_changed(&pool);
        (home, away, p.pick(&c, 2 * SECOND, &pool, &mut rng).server)
    }

    #[test]
    fn a_recovered_endpoint_takes_back_balanced_sessions_unless_they_changed_cookie() {
        let trials = 400;
        let went_home = |text: &str| {
            (0..trials)
                .filter(|&seed| {
                    let (home, _, back) = through_a_failure(text, seed);
                    back == home
                })
                .count()
        };
        assert_eq!(
            went_home("ingress_nginx.cookie"),
            trials as usize,
            "the key led back home"
        );
        // Re-keyed on the failed request, a session goes home again only if its new
        // key falls on the recovered endpoint's arc: one chance in four.
        let rekeyed = went_home("ingress_nginx.cookie(change_on_failure=true)") as f64 / trials as f64;
        assert!((0.15..0.35).contains(&rekeyed), "{rekeyed} went home");
        // A persistent cookie was rewritten to name the new endpoint.
        assert_eq!(went_home("ingress_nginx.cookie(affinity_mode=persistent)"), 0);
    }

    #[test]
    fn keys_are_written_as_the_lua_balancer_writes_them() {
        let text = |now: Time, random: u32| {
            let mut t = KeyText::default();
            write_key(&mut t, now, random);
            String::from_utf8(t.as_bytes().to_vec()).unwrap()
        };
        assert_eq!(text(0, 123_456), "1700000001.37.123456");
        assert_eq!(text(1500 * MILLISECOND, 9), "1700000002.5.37.9");
        assert_eq!(text(1050 * MILLISECOND + 7, 9), "1700000002.05.37.9");
        assert_eq!(text(1123 * MILLISECOND, 999_999), "1700000002.123.37.999999");
    }

    #[test]
    fn bad_values_are_named() {
        let pool = pool_with_spare(2, 0);
        let ctx = BuildContext {
            pool: &pool,
            expected_users: 1,
        };
        let err = |text: &str| build(&spec::parse(text, 0).unwrap(), &ctx).err().unwrap().message;
        assert_eq!(
            err("ingress_nginx.cookie(affinity_mode=sticky)"),
            "affinity_mode=sticky: expected one of balanced, persistent"
        );
        assert_eq!(
            err("ingress_nginx.cookie(change_on_failure=yes)"),
            "change_on_failure=yes: expected one of false, true"
        );
        assert!(err("ingress_nginx.cookie(max_age=soon)").starts_with("max_age: "));
    }
}
