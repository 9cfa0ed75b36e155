//! Policies: how the balancer picks a server for each request.
//!
//! A policy is a key (what identifies the client), a selector (a hash or a
//! load-aware choice) and optionally a memory (a table or a cookie). Each family
//! lives in its own file behind the [`Policy`] trait; [`registry`] names them for
//! scenario files and the command line.
//!
//! The textbook families live here. Each product a user deploys has a folder whose
//! policies are named after it (`nginx.ip_hash`, `envoy.maglev`) and pick exactly
//! what that product picks.

pub mod aged;
pub mod bounded_load;
pub mod cookie;
pub mod ecmp;
pub mod ip_hash;
pub mod jump;
pub mod key;
pub mod least_conn;
pub mod multi_probe;
pub mod p2c;
pub mod per_connection;
pub mod random;
pub mod rendezvous;
pub mod ring;
pub mod round_robin;
pub mod session_store;
pub mod spec;
pub mod stick_table;
pub mod tier;
pub mod tuple;

pub mod aws;
pub mod azure;
pub mod envoy;
pub mod gcp;
pub mod haproxy;
pub mod ingress_nginx;
pub mod ipvs;
pub mod istio;
pub mod katran;
pub mod kubernetes;
pub mod nginx;

use crate::engine::{StreamRng, Time};
use crate::pool::{Pool, ServerId};

pub use key::{Addr, Client, Key, KeyText};
pub use spec::{Args, Param, Spec, SpecError};

/// What a policy remembers a client by, which decides which events break affinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affinity {
    /// No affinity: every request is placed afresh.
    None,
    /// Derived from the source address: an address change moves the client.
    Address,
    /// Held by the client itself (a cookie): address changes do not matter.
    Client,
}

/// Whether a policy's memory (table entry, cookie) placed this request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// The policy has no memory; the selector alone decided.
    None,
    /// A live entry placed the request.
    Hit,
    /// No live entry: new client, or its entry expired or was evicted.
    Miss,
    /// The request rode a connection already open to this server
    /// ([`per_connection`]): the policy did not place it.
    Connection,
    /// The request rode an open connection to a server that failed or was
    /// removed, and the balancer dropped it (IPVS `expire_nodest_conn = 0`):
    /// `server` names the gone server, and the request is not served.
    DeadConnection,
}

/// A policy's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pick {
    pub server: ServerId,
    pub memory: Memory,
}

impl Pick {
    pub fn stateless(server: ServerId) -> Pick {
        Pick {
            server,
            memory: Memory::None,
        }
    }
}

/// A load-balancing policy. Callers guarantee at least one server is up.
pub trait Policy: Send {
    /// Chooses the server for a request at `now`, updating any memory.
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick;

    /// Where a request from `client` would go now, without side effects; `None`
    /// where the answer depends on chance or load.
    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId>;

    /// Called after the pool's membership or health changed.
    fn pool_changed(&mut self, _pool: &Pool) {}

    /// Called after a slow-start step changed up servers' weights and nothing
    /// else: a policy that keeps weights of its own (a tree, a table of sums)
    /// re-reads them; one that reads the pool's at each pick has nothing to do.
    fn weights_changed(&mut self, _pool: &Pool) {}

    fn affinity(&self) -> Affinity;

    /// Whether the policy reads requests in flight (the lane then tracks them).
    fn wants_load(&self) -> bool {
        false
    }

    /// With a shared session store, the store's latency per request: session
    /// state then lives in the store, not on the servers.
    fn session_store(&self) -> Option<Time> {
        None
    }

    /// Whether the policy places connections rather than requests
    /// ([`per_connection`]): a pool change then moves a user's open connections
    /// only when they close.
    fn per_connection(&self) -> bool {
        false
    }

    /// Another instance of the same balancer made `pick` for `client` at `now`:
    /// records it as that instance's memory did, for memory that instances share
    /// (HAProxy `peers` pushing stick-table entries, a cookie the client carries).
    /// `cookie` is the value of a cookie carrying a generated key that the pick
    /// set ([`Policy::issued`]). A policy without such memory ignores it.
    fn remember(&mut self, _client: &Client, _pick: Pick, _cookie: Option<u64>, _now: Time) {}

    /// The value of the cookie with a generated key that this policy has given
    /// `client` (ingress-nginx's balanced key, Envoy's generated cookie), which
    /// any instance of the balancer reads back; None for a policy that issues
    /// none.
    fn issued(&self, _client: &Client) -> Option<u64> {
        None
    }

    /// The two balancer tiers, when this policy is them.
    fn tiers_mut(&mut self) -> Option<&mut tier::Tiered> {
        None
    }

    /// Whether the last pick went through another L7 instance than the client's
    /// request before it (only two tiers have more than one instance).
    fn moved_tier(&self) -> bool {
        false
    }
}

/// A policy whose choice is a function of the client's key and the pool alone: it
/// picks what it peeks and remembers nothing. Implementing this gives the whole
/// [`Policy`].
pub trait Hashing: Send {
    fn select(&self, client: &Client, pool: &Pool) -> ServerId;

    /// Rebuilds the table or ring after the pool changed.
    fn rebuild(&mut self, pool: &Pool);

    fn key(&self) -> Key;
}

impl<T: Hashing> Policy for T {
    fn pick(&mut self, client: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        Pick::stateless(self.select(client, pool))
    }

    fn peek(&self, client: &Client, _: Time, pool: &Pool) -> Option<ServerId> {
        Some(self.select(client, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.rebuild(pool);
    }

    fn affinity(&self) -> Affinity {
        self.key().affinity()
    }
}

/// What a policy needs to know when it is built.
pub struct BuildContext<'a> {
    pub pool: &'a Pool,
    /// Users expected in the run, to size per-user memory up front.
    pub expected_users: usize,
}

/// Builds a policy from its checked arguments.
pub type Builder = fn(&mut Args, &BuildContext) -> Result<Box<dyn Policy>, SpecError>;

/// A policy family as the scenario file and `lbsim policies` know it.
pub struct PolicyInfo {
    pub name: &'static str,
    /// One line on what it models.
    pub summary: &'static str,
    pub params: &'static [Param],
    pub build: Builder,
}

/// The textbook families, named after what they do.
const TEXTBOOK: &[PolicyInfo] = &[
    round_robin::INFO,
    random::INFO,
    least_conn::INFO,
    p2c::INFO,
    ip_hash::INFO,
    ring::INFO,
    jump::INFO,
    rendezvous::INFO,
    multi_probe::INFO,
    bounded_load::INFO,
    stick_table::INFO,
    cookie::INFO,
    session_store::INFO,
    per_connection::INFO,
    ecmp::INFO,
];

/// Every family, textbook first, then the products in alphabetical order.
const FAMILIES: &[&[PolicyInfo]] = &[
    TEXTBOOK,
    aws::POLICIES,
    azure::POLICIES,
    envoy::POLICIES,
    gcp::POLICIES,
    haproxy::POLICIES,
    ingress_nginx::POLICIES,
    ipvs::POLICIES,
    istio::POLICIES,
    katran::POLICIES,
    kubernetes::POLICIES,
    nginx::POLICIES,
];

/// Every policy lbsim knows, in the order `lbsim policies` lists them.
pub fn registry() -> impl Iterator<Item = &'static PolicyInfo> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// Builds a policy from its specification, checking every parameter.
pub fn build(spec: &Spec, ctx: &BuildContext) -> Result<Box<dyn Policy>, SpecError> {
    let info = registry().find(|p| p.name == spec.name).ok_or_else(|| {
        let names: Vec<_> = registry().map(|p| p.name).collect();
        let near = crate::scenario::words::nearest(&spec.name, names.iter().copied())
            .map_or(String::new(), |n| format!(" (did you mean {n:?}?)"));
        SpecError::at(
            spec.offset,
            format!(
                "unknown policy {:?}{near}; valid policies: {}",
                spec.name,
                names.join(", ")
            ),
        )
    })?;
    let mut args = Args::new(spec, info.params);
    let policy = (info.build)(&mut args, ctx)?;
    args.finish()?;
    Ok(policy)
}

#[cfg(test)]
pub(crate) mod testing {
    //! Small pools and clients for policy unit tests.
    use super::*;
    use crate::pool::{Presence, Server};

    pub fn pool(n: usize) -> Pool {
        pool_with_spare(n, 0)
    }

    /// `n` servers up and `spare` more declared for later `add` events.
    pub fn pool_with_spare(n: usize, spare: usize) -> Pool {
        Pool::new(
            (0..n + spare)
                .map(|i| Server {
                    name: format!("s{}", i + 1),
                    weight: 1,
                    presence: if i < n { Presence::Up } else { Presence::Absent },
                })
                .collect(),
        )
    }

    /// Servers named `names`, with `weights` (all 1 when empty), up but for the
    /// positions in `down`.
    pub fn servers<S: AsRef<str>>(names: &[S], weights: &[u32], down: &[usize]) -> Pool {
        Pool::new(
            names
                .iter()
                .enumerate()
                .map(|(i, n)| Server {
                    name: n.as_ref().to_string(),
                    weight: weights.get(i).copied().unwrap_or(1),
                    presence: if down.contains(&i) {
                        Presence::Down
                    } else {
                        Presence::Up
                    },
                })
                .collect(),
        )
    }

    /// Names from a pattern: `named(3, |i| format!("s{i}"))`.
    pub fn named(n: usize, name: impl Fn(usize) -> String) -> Vec<String> {
        (0..n).map(name).collect()
    }

    pub fn client(i: u32) -> Client {
        Client {
            user: i,
            addr: Addr::v4(0x0a00_0000 + i * 7919),
            port: 40_000,
            connection: 0,
            new_connection: true,
        }
    }

    /// A client at a written address (user 0, port 40000), for published vectors.
    pub fn at(ip: &str) -> Client {
        Client {
            user: 0,
            addr: ip.parse().unwrap(),
            port: 40_000,
            connection: 0,
            new_connection: true,
        }
    }

    pub fn built(text: &str, pool: &Pool) -> Box<dyn Policy> {
        let spec = spec::parse(text, 0).unwrap();
        build(
            &spec,
            &BuildContext {
                pool,
                expected_users: 1000,
            },
        )
        .unwrap()
    }

    /// Fails `which` and checks that exactly its clients (of the first `keys`) move:
    /// everyone else keeps their server, and nobody is still sent to it.
    pub fn failure_moves_only_its_clients(text: &str, mut p: Pool, which: ServerId, keys: u32) -> Result<(), String> {
        let mut policy = built(text, &p);
        let before: Vec<_> = (0..keys).map(|i| policy.peek(&client(i), 0, &p)).collect();
        assert!(p.apply(&crate::pool::PoolChangeKind::Fail(which)));
        policy.pool_changed(&p);
        for (i, was) in before.into_iter().enumerate() {
            let now = policy.peek(&client(i as u32), 0, &p);
            if (was != Some(which) && now != was) || now == Some(which) {
                return Err(format!(
                    "{text}: client {i} went from {was:?} to {now:?} when {which} failed"
                ));
            }
        }
        Ok(())
    }

    /// Each server's share of the first `keys` clients, by peek.
    pub fn shares(policy: &dyn Policy, p: &Pool, keys: u32) -> Vec<f64> {
        let mut seen = vec![0f64; p.len()];
        for i in 0..keys {
            seen[policy.peek(&client(i), 0, p).expect("a deterministic policy") as usize] += 1.0;
        }
        seen.iter().map(|c| c / keys as f64).collect()
    }

    /// Share of `keys` clients whose peeked server differs after `change`.
    pub fn moved_share(text: &str, mut p: Pool, keys: u32, change: crate::pool::PoolChangeKind) -> f64 {
        let mut policy = built(text, &p);
        let before: Vec<_> = (0..keys).map(|i| policy.peek(&client(i), 0, &p)).collect();
        assert!(p.apply(&change));
        policy.pool_changed(&p);
        let moved = (0..keys)
            .filter(|&i| policy.peek(&client(i), 0, &p) != before[i as usize])
            .count();
        moved as f64 / keys as f64
    }

    /// Asserts that adding a server to `n` (for each of `ns`) moves the share of
    /// `keys` clients a hash modulo the server count moves, n/(n+1), within `within`.
    pub fn adding_moves_as_mod_n(text: &str, ns: &[usize], keys: u32, within: f64) {
        for &n in ns {
            let moved = moved_share(
                text,
                pool_with_spare(n, 1),
                keys,
                crate::pool::PoolChangeKind::Add(n as u32),
            );
            let want = n as f64 / (n + 1) as f64;
            assert!(
                (moved - want).abs() < within,
                "{text}, n={n}: moved {moved}, mod-N theory {want}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_policy_lists_the_valid_ones() {
        let pool = testing::pool(3);
        let spec = spec::parse("maglevv", 4).unwrap();
        let err = build(
            &spec,
            &BuildContext {
                pool: &pool,
                expected_users: 1,
            },
        )
        .err()
        .unwrap();
        assert_eq!(err.offset, 4);
        assert!(err.message.contains("ip_hash, ring"), "{}", err.message);
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = registry().map(|p| p.name).collect();
        let all = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all);
    }

    #[test]
    fn every_default_builds() {
        let pool = testing::pool(3);
        for info in registry() {
            let spec = spec::parse(info.name, 0).unwrap();
            assert!(
                build(
                    &spec,
                    &BuildContext {
                        pool: &pool,
                        expected_users: 1
                    }
                )
                .is_ok(),
                "{}",
                info.name
            );
        }
    }
}
