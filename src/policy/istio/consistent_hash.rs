//! `trafficPolicy.loadBalancer.consistentHash`: Envoy's ring hash or Maglev
//! ([`crate::policy::envoy`]) with the route hash policy Istio derives from the
//! hash key (pilot's `consistentHashToHashPolicy` and `applyRingHashLoadBalancer`).
//!
//! - The table: `maglev` gives `MAGLEV` with `tableSize` (Envoy's 65537 unless
//!   set); `ringHash` or neither gives `RING_HASH` with `minimumRingSize`, which
//!   Istio sets to 1024 when it is not given.
//! - `useSourceIp`: Envoy hashes the downstream address as text ("192.168.1.10"),
//!   so a client keeps its host until its address changes.
//! - `httpHeaderName`, `httpQueryParameterName`: the value's XXH64; lbsim's clients
//!   send their session id there, so a client keeps its host across addresses.
//! - `httpCookie {name, ttl}`: without a ttl Envoy only reads the cookie, here the
//!   application's session cookie. With one, Envoy sets the cookie when a request
//!   lacks it: its value is the hex XXH64 of the connection's remote and local
//!   addresses ("203.0.113.5:40000" then "10.0.0.1:8080"), with Max-Age ttl (a
//!   session cookie, kept for the run, when ttl is 0), and is never refreshed.
//!
//! Whatever the key, the cookie or header carries a hash, not a host: a pool
//! change moves the keys a consistent hash moves (about 1/(N+1) on an add), and a
//! host that fails hands its clients to others and takes them back on recovery.

use std::fmt::Write;
use std::net::SocketAddr;

use xxhash_rust::xxh64::{Xxh64, xxh64};

use crate::engine::DAY;
use crate::engine::time::Stamp;
use crate::policy::envoy::{RING_SIZE_LIMIT, Table, request_hash, table_size};
use crate::policy::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "istio.consistent_hash",
    summary: "Istio DestinationRule consistentHash: Envoy RING_HASH (minimumRingSize 1024) or MAGLEV over the \
              source IP, a header or query parameter, or an httpCookie Envoy generates with a ttl",
    params: &[
        Param {
            name: "hash_key",
            default: "use_source_ip",
            help: "use_source_ip, http_header_name, http_query_parameter_name (both carry the session id) or http_cookie",
        },
        Param {
            name: "ttl",
            default: "none",
            help: "httpCookie.ttl: Envoy sets the cookie when absent, living this long (0: a session cookie, kept \
                   for the run; at most 400d); \"none\": it hashes the application's session cookie",
        },
        Param {
            name: "local_address",
            default: "10.0.0.1:8080",
            help: "the address the proxy accepted connections on (a gateway pod's, or the service a sidecar \
                   intercepted); a generated cookie hashes it",
        },
        Param {
            name: "lb",
            default: "ring_hash",
            help: "ring_hash (consistentHash.ringHash, or neither) or maglev (consistentHash.maglev)",
        },
        Param {
            name: "minimum_ring_size",
            default: "1024",
            help: "ringHash.minimumRingSize (Istio sets 1024 when unset; 1 to 8388608)",
        },
        Param {
            name: "table_size",
            default: "65537",
            help: "maglev.tableSize: a prime (Envoy's 65537 when unset, at most 5000011)",
        },
    ],
    build: |args, ctx| {
        let key = args.choice(
            "hash_key",
            &[
                "use_source_ip",
                "http_header_name",
                "http_query_parameter_name",
                "http_cookie",
            ],
        )?;
        let ttl = args.duration_or_absent("ttl", COOKIE_LIFETIME_CAP)?;
        let (text, at) = args.text("local_address");
        let local: SocketAddr = text.parse().map_err(|_| {
            let form = "an address and port, e.g. 10.0.0.1:8080 or [2001:db8::1]:443";
            SpecError::at(at, format!("local_address={text}: expected {form}"))
        })?;
        let ring = args.choice("lb", &["ring_hash", "maglev"])? == 0;
        let min = args.int("minimum_ring_size", 1, RING_SIZE_LIMIT)?;
        let size = table_size(args)?;
        let input = match (key, ttl) {
            (0, _) => Input::SourceIp,
            (3, Some(ttl)) => Input::Generated(Jar::new(ttl, local.to_string(), ctx.expected_users)),
            _ => Input::Session,
        };
        let table = if ring {
            Table::ring_hash(ctx.pool, min)
        } else {
            Table::maglev(ctx.pool, size)
        };
        Ok(Box::new(ConsistentHash { input, table }))
    },
};

/// Browsers keep a cookie at most 400 days, whatever its Max-Age (RFC 6265bis).
const COOKIE_LIFETIME_CAP: u64 = 400 * DAY;

/// What the route's hash policy hashes.
enum Input {
    /// `connection_properties.source_ip`.
    SourceIp,
    /// A header, query parameter or application cookie carrying the session id.
    Session,
    /// A cookie Envoy generates.
    Generated(Jar),
}

/// The cookies Envoy generated, by user: the request hash each one gives (the
/// XXH64 of its value) and, with a ttl, when it was set.
struct Jar {
    ttl: Option<Stamp>,
    /// The local address as Envoy writes it, the second half of a cookie's seed.
    local: String,
    hash: Vec<Option<u64>>,
    set_at: Vec<Stamp>,
}

impl Jar {
    fn new(ttl: u64, local: String, users: usize) -> Jar {
        let ttl = (ttl > 0).then(|| Stamp::from(ttl));
        Jar {
            ttl,
            local,
            hash: Vec::with_capacity(users),
            set_at: Vec::with_capacity(if ttl.is_some() { users } else { 0 }),
        }
    }

    /// The request hash of the cookie user `u`'s browser still sends.
    fn cookie(&self, u: usize, now: Time) -> Option<u64> {
        let hash = (*self.hash.get(u)?)?;
        let fresh = self.ttl.is_none_or(|ttl| Stamp::from(now).since(self.set_at[u]) < ttl);
        fresh.then_some(hash)
    }

    /// The request hash of the cookie Envoy would set on the client's connection:
    /// XXH64 of the 16 lowercase hex digits of XXH64(remote + local address).
    fn generated(&self, client: &Client) -> u64 {
        let mut remote = KeyText::default();
        // "ip:port", or "[ip]:port" for IPv6, as Envoy's asString writes them.
        let _ = write!(remote, "{}", SocketAddr::new(client.addr.ip(), client.port));
        let mut seed = Xxh64::new(0);
        seed.update(remote.as_bytes());
        seed.update(self.local.as_bytes());
        let mut hex = KeyText::default();
        let _ = write!(hex, "{:016x}", seed.digest());
        xxh64(hex.as_bytes(), 0)
    }

    fn set(&mut self, u: usize, hash: u64, now: Time) {
        if u >= self.hash.len() {
            self.hash.resize(u + 1, None);
            if self.ttl.is_some() {
                self.set_at.resize(u + 1, Stamp(0));
            }
        }
        self.hash[u] = Some(hash);
        if self.ttl.is_some() {
            self.set_at[u] = Stamp::from(now);
        }
    }
}

pub struct ConsistentHash {
    input: Input,
    table: Table,
}

impl Policy for ConsistentHash {
    fn pick(&mut self, client: &Client, now: Time, _: &Pool, _: &mut StreamRng) -> Pick {
        let (hash, memory) = match &mut self.input {
            Input::SourceIp => (request_hash(Key::Source, client), Memory::None),
            Input::Session => (request_hash(Key::Session, client), Memory::None),
            Input::Generated(jar) => {
                let u = client.user as usize;
                match jar.cookie(u, now) {
                    Some(hash) => (hash, Memory::Hit),
                    None => {
                        let hash = jar.generated(client);
                        jar.set(u, hash, now);
                        (hash, Memory::Miss)
                    }
                }
            }
        };
        Pick {
            server: self.table.host(hash),
            memory,
        }
    }

    fn peek(&self, client: &Client, now: Time, _: &Pool) -> Option<ServerId> {
        let hash = match &self.input {
            Input::SourceIp => request_hash(Key::Source, client),
            Input::Session => request_hash(Key::Session, client),
            Input::Generated(jar) => jar
                .cookie(client.user as usize, now)
                .unwrap_or_else(|| jar.generated(client)),
        };
        Some(self.table.host(hash))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.table.rebuild(pool);
    }

    /// The cookie another Envoy generated: its value, hashed, is the same
    /// request hash here.
    fn remember(&mut self, client: &Client, pick: Pick, cookie: Option<u64>, now: Time) {
        if let (Input::Generated(jar), Memory::Miss, Some(hash)) = (&mut self.input, pick.memory, cookie) {
            jar.set(client.user as usize, hash, now);
        }
    }

    fn issued(&self, client: &Client) -> Option<u64> {
        match &self.input {
            Input::Generated(jar) => *jar.hash.get(client.user as usize)?,
            _ => None,
        }
    }

    fn affinity(&self) -> Affinity {
        match self.input {
            Input::SourceIp => Affinity::Address,
            _ => Affinity::Client,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{HOUR, MINUTE, Stream};
    use crate::policy::testing::{at, built, client, pool_with_spare, servers};
    use crate::pool::PoolChangeKind;

    /// Envoy's test hosts, 127.0.0.1:90 to :95.
    fn ports() -> Pool {
        let names: Vec<String> = (90..96).map(|p| format!("127.0.0.1:{p}")).collect();
        servers(&names, &[], &[])
    }

    #[test]
    fn source_ip_on_maglev_is_envoys_hash_on_envoys_table() {
        // maglev_lb_test.cc "Basic": M = 7 gives hosts 92,94,90,91,95,90,93; the
        // source-IP hash of 192.168.1.10 is XXH64 of its text.
        let pool = ports();
        let p = built("istio.consistent_hash(lb=maglev, table_size=7)", &pool);
        let slot = 12_224_816_532_541_719_634u64 % 7;
        assert_eq!(
            p.peek(&at("192.168.1.10"), 0, &pool),
            Some([2, 4, 0, 1, 5, 0, 3][slot as usize])
        );
    }

    #[test]
    fn istio_configures_what_envoy_would_be_given() {
        let pool = pool_with_spare(7, 0);
        let same = |istio: &str, envoy: &str| {
            let (a, b) = (built(istio, &pool), built(envoy, &pool));
            (0..3000).all(|i| a.peek(&client(i), 0, &pool) == b.peek(&client(i), 0, &pool))
        };
        assert!(same("istio.consistent_hash", "envoy.ring_hash(minimum_ring_size=1024)"));
        assert!(same(
            "istio.consistent_hash(lb=maglev)",
            "envoy.maglev(table_size=65537)"
        ));
        assert!(same(
            "istio.consistent_hash(hash_key=http_header_name, minimum_ring_size=12)",
            "envoy.ring_hash(minimum_ring_size=12, key=session)"
        ));
        assert!(same(
            "istio.consistent_hash(hash_key=http_cookie)",
            "envoy.ring_hash(key=session)"
        ));
    }

    #[test]
    fn a_generated_cookie_is_the_hex_hash_of_both_addresses() {
        let pool = ports();
        let p = built("istio.consistent_hash(hash_key=http_cookie, ttl=1h)", &pool);
        let value = format!("{:016x}", xxh64(b"192.168.1.10:4000010.0.0.1:8080", 0));
        let table = Table::ring_hash(&pool, 1024);
        assert_eq!(
            p.peek(&at("192.168.1.10"), 0, &pool),
            Some(table.host(xxh64(value.as_bytes(), 0)))
        );
        let jar = Jar::new(HOUR, "[2001:db8::1]:443".to_string(), 1);
        let value = format!("{:016x}", xxh64(b"[2001:db8::7]:40000[2001:db8::1]:443", 0));
        assert_eq!(jar.generated(&at("2001:db8::7")), xxh64(value.as_bytes(), 0));
    }

    #[test]
    fn a_generated_cookie_keeps_the_host_across_addresses_until_its_ttl() {
        let pool = pool_with_spare(8, 0);
        let mut p = built("istio.consistent_hash(hash_key=http_cookie, ttl=1h)", &pool);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut reseated = 0;
        for u in 0..200 {
            let mut c = client(u);
            let first = p.pick(&c, 0, &pool, &mut rng);
            assert_eq!(first.memory, Memory::Miss);
            c.addr = Addr::v4(0x6440_0000 + u);
            c.port = 51_000;
            assert_eq!(
                p.pick(&c, 59 * MINUTE, &pool, &mut rng),
                Pick {
                    memory: Memory::Hit,
                    ..first
                }
            );
            let renewed = p.pick(&c, HOUR, &pool, &mut rng);
            assert_eq!(renewed.memory, Memory::Miss);
            reseated += (renewed.server != first.server) as u32;
        }
        // A new cookie from a new connection is a new key: 7 in 8 land elsewhere.
        assert!(
            (150..195).contains(&reseated),
            "{reseated} of 200 moved with their new cookie"
        );
        let mut session = built("istio.consistent_hash(hash_key=http_cookie, ttl=0s)", &pool);
        let first = session.pick(&client(3), 0, &pool, &mut rng);
        assert_eq!(
            session.pick(&client(3), 1000 * HOUR, &pool, &mut rng),
            Pick {
                memory: Memory::Hit,
                ..first
            }
        );
    }

    #[test]
    fn source_ip_keeps_a_client_only_at_its_address() {
        let pool = pool_with_spare(8, 0);
        let p = built("istio.consistent_hash", &pool);
        assert_eq!(p.affinity(), Affinity::Address);
        let moved = (0..400)
            .filter(|&u| {
                let mut c = client(u);
                let home = p.peek(&c, 0, &pool);
                c.addr = Addr::v4(0x6440_0000 + u);
                p.peek(&c, 0, &pool) != home
            })
            .count();
        assert!((300..390).contains(&moved), "{moved} of 400 moved with their address");
    }

    #[test]
    fn cookies_carry_a_hash_so_pool_changes_move_their_share() {
        let mut pool = pool_with_spare(8, 1);
        let mut p = built("istio.consistent_hash(hash_key=http_cookie, ttl=1d, lb=maglev)", &pool);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let users = 20_000;
        let home: Vec<ServerId> = (0..users)
            .map(|u| p.pick(&client(u), 0, &pool, &mut rng).server)
            .collect();
        assert!(pool.apply(&PoolChangeKind::Add(8)));
        p.pool_changed(&pool);
        let now: Vec<ServerId> = (0..users).map(|u| p.peek(&client(u), MINUTE, &pool).unwrap()).collect();
        let moved = home.iter().zip(&now).filter(|(h, n)| h != n).count() as f64 / users as f64;
        let onto_new = home.iter().zip(&now).filter(|(h, n)| h != n && **n == 8).count() as f64 / users as f64;
        assert!(
            (0.10..0.15).contains(&moved) && onto_new > 0.10,
            "moved {moved}, {onto_new} onto the new host"
        );
        // A failed host's clients go elsewhere and come back when it recovers.
        assert!(pool.apply(&PoolChangeKind::Fail(home[0])));
        p.pool_changed(&pool);
        assert_ne!(p.peek(&client(0), MINUTE, &pool), Some(home[0]));
        assert!(pool.apply(&PoolChangeKind::Recover(home[0])));
        p.pool_changed(&pool);
        assert_eq!(p.peek(&client(0), MINUTE, &pool), Some(now[0]));
    }

    #[test]
    fn bad_values_are_named() {
        let pool = pool_with_spare(3, 0);
        let ctx = BuildContext {
            pool: &pool,
            expected_users: 1,
        };
        let err = |text: &str| build(&spec::parse(text, 0).unwrap(), &ctx).err().unwrap().message;
        assert!(
            err("istio.consistent_hash(lb=maglev, table_size=65536)").starts_with("table_size=65536: expected a prime")
        );
        assert_eq!(
            err("istio.consistent_hash(lb=least_request)"),
            "lb=least_request: expected one of ring_hash, maglev"
        );
        assert_eq!(
            err("istio.consistent_hash(minimum_ring_size=0)"),
            "minimum_ring_size=0: expected a whole number from 1 to 8388608"
        );
        assert_eq!(
            err("istio.consistent_hash(hash_key=http_cookie, ttl=401d)"),
            "ttl=401d: expected a duration from 0s to 400d, or \"none\""
        );
        assert!(
            err("istio.consistent_hash(local_address=gateway)")
                .starts_with("local_address=gateway: expected an address and port")
        );
    }
}
