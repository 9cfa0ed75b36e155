//! How a backend service places requests once its settings are read: spread by the
//! locality policy with no affinity, or hashed on an affinity key into a
//! consistent table. Backends carry no weight here (only `WEIGHTED_MAGLEV` has
//! weights, which its table is built with); Google's hashes are not public, so the
//! key hashes and the stand-in table are lbsim's own.

use rand::RngExt;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::engine::time::Stamp;
use crate::hash::key_hash;
use crate::policy::envoy::Table;
use crate::policy::tuple::Tuple;
use crate::policy::*;

/// Placement without affinity, as the locality policy describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spread {
    /// "Each healthy backend is selected in round robin order."
    RoundRobin,
    /// "Selects two random healthy hosts and picks the host which has fewer
    /// active requests."
    LeastRequest,
    /// "The load balancer selects a random healthy host"; also a hash table's
    /// choice for a request that carries no hash key.
    Random,
}

/// A [`Spread`] as a policy, with its rotation.
pub struct Spreading {
    spread: Spread,
    next: usize,
}

impl Spreading {
    pub fn new(spread: Spread) -> Spreading {
        Spreading { spread, next: 0 }
    }
}

impl Policy for Spreading {
    fn pick(&mut self, _: &Client, _: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let up = pool.up();
        let server = match self.spread {
            Spread::RoundRobin => {
                let s = up[self.next % up.len()];
                self.next = self.next.wrapping_add(1);
                s
            }
            Spread::LeastRequest => {
                let (a, b) = (up[rng.random_range(0..up.len())], up[rng.random_range(0..up.len())]);
                if pool.in_flight(b) < pool.in_flight(a) { b } else { a }
            }
            Spread::Random => up[rng.random_range(0..up.len())],
        };
        Pick::stateless(server)
    }

    fn peek(&self, _: &Client, _: Time, _: &Pool) -> Option<ServerId> {
        None
    }

    fn affinity(&self) -> Affinity {
        Affinity::None
    }

    fn wants_load(&self) -> bool {
        self.spread == Spread::LeastRequest
    }
}

/// What a hash-based affinity hashes.
pub enum Source {
    /// A flow tuple (the `CLIENT_IP*` settings, and NONE on a passthrough balancer).
    Flow(Tuple),
    /// `HEADER_FIELD`: a header the client sends, here its session id.
    Header,
    /// `GENERATED_COOKIE`, or `HTTP_COOKIE` (generated when absent).
    Cookie(Jar),
}

/// The cookies the balancer generated, by user: which value each holds (its
/// generation; 0 = none) and, with a TTL, when it was set.
pub struct Jar {
    ttl: Option<Stamp>,
    generation: Vec<u32>,
    set_at: Vec<Stamp>,
}

impl Jar {
    /// A jar for cookies living `ttl` (0: session cookies, kept for the run).
    pub fn new(ttl: Time, users: usize) -> Jar {
        let ttl = (ttl > 0).then(|| Stamp::from(ttl));
        Jar {
            ttl,
            generation: Vec::with_capacity(users),
            set_at: Vec::with_capacity(if ttl.is_some() { users } else { 0 }),
        }
    }

    /// The generation of the cookie user `u`'s browser still sends.
    fn cookie(&self, u: usize, now: Time) -> Option<u32> {
        let g = *self.generation.get(u)?;
        let fresh = self.ttl.is_none_or(|ttl| Stamp::from(now).since(self.set_at[u]) < ttl);
        (g > 0 && fresh).then_some(g)
    }

    /// The generation a new cookie for user `u` gets.
    fn next(&self, u: usize) -> u32 {
        self.generation.get(u).copied().unwrap_or(0) + 1
    }

    fn set(&mut self, u: usize, generation: u32, now: Time) {
        if u >= self.generation.len() {
            self.generation.resize(u + 1, 0);
            if self.ttl.is_some() {
                self.set_at.resize(u + 1, Stamp(0));
            }
        }
        self.generation[u] = generation;
        if self.ttl.is_some() {
            self.set_at[u] = Stamp::from(now);
        }
    }
}

/// The hash of user `user`'s `generation`-th cookie value.
fn cookie_hash(user: u32, generation: u32) -> u64 {
    xxh3_64_with_seed(&user.to_be_bytes(), generation as u64)
}

/// A hash-based affinity: the key's hash looked up in a consistent table.
pub struct Hashed {
    pub source: Source,
    pub table: Table,
    /// `WEIGHTED_MAGLEV`: the table keeps the backends' weights.
    pub weighted: bool,
}

impl Policy for Hashed {
    fn pick(&mut self, client: &Client, now: Time, _: &Pool, _: &mut StreamRng) -> Pick {
        let (hash, memory) = match &mut self.source {
            Source::Flow(tuple) => (tuple.hash(client), Memory::None),
            Source::Header => (key_hash(Key::Session.bits(client)), Memory::None),
            Source::Cookie(jar) => {
                let u = client.user as usize;
                match jar.cookie(u, now) {
                    Some(g) => (cookie_hash(client.user, g), Memory::Hit),
                    None => {
                        let g = jar.next(u);
                        jar.set(u, g, now);
                        (cookie_hash(client.user, g), Memory::Miss)
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
        let hash = match &self.source {
            Source::Flow(tuple) => tuple.hash(client),
            Source::Header => key_hash(Key::Session.bits(client)),
            Source::Cookie(jar) => {
                let u = client.user as usize;
                cookie_hash(client.user, jar.cookie(u, now).unwrap_or_else(|| jar.next(u)))
            }
        };
        Some(self.table.host(hash))
    }

    /// The cookie another proxy of the backend service generated.
    fn remember(&mut self, client: &Client, pick: Pick, cookie: Option<u64>, now: Time) {
        if let (Source::Cookie(jar), Memory::Miss, Some(g)) = (&mut self.source, pick.memory, cookie) {
            jar.set(client.user as usize, g as u32, now);
        }
    }

    fn issued(&self, client: &Client) -> Option<u64> {
        match &self.source {
            Source::Cookie(jar) => {
                let g = *jar.generation.get(client.user as usize)?;
                (g > 0).then_some(g as u64)
            }
            _ => None,
        }
    }

    fn pool_changed(&mut self, pool: &Pool) {
        if self.weighted {
            self.table.rebuild(pool);
        } else {
            self.table.rebuild(&pool.unweighted());
        }
    }

    fn affinity(&self) -> Affinity {
        match &self.source {
            Source::Flow(tuple) => tuple.affinity(),
            _ => Affinity::Client,
        }
    }
}
