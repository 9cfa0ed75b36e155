//! Envoy's consistent-hash load balancers, as configured in a cluster's `lb_policy`:
//! `RING_HASH` (ketama) and `MAGLEV`, each optionally with bounded loads.
//!
//! What the two share, and what this folder models:
//! - The request hash is XXH64 (seed 0) of text: a `source_ip` hash policy hashes
//!   the client address as text ("192.168.1.10"); header and cookie policies hash
//!   the value, which lbsim models as the session key. Any `key` can be hashed.
//! - A host's own key is its address text "ip:port" (or the hostname with
//!   `use_hostname_for_hashing`); in lbsim, the server name as given.
//! - Tables are built over the healthy hosts only, with weights normalized to sum
//!   to 1; any change of membership or health rebuilds them.
//! - Left out: panic mode (below 50 % healthy, Envoy builds over all hosts,
//!   unhealthy included) cannot be expressed, since a pick must return a server
//!   that is up; priorities, localities and retries (the hash is mutated per
//!   attempt) are single-valued in lbsim; with no hash policy at all Envoy picks
//!   at random, which the `random` policy covers.

mod bounded_load;
mod maglev;
mod mt19937;
mod ring_hash;

use xxhash_rust::xxh64::xxh64;

use super::{Args, Client, Key, KeyText, Param, Policy, PolicyInfo, SpecError};
use crate::pool::{Pool, ServerId};
use bounded_load::BoundedLoad;
use maglev::Maglev;
use ring_hash::RingHash;

pub use maglev::table_size;
pub use ring_hash::RING_SIZE_LIMIT;

pub const POLICIES: &[PolicyInfo] = &[ring_hash::INFO, maglev::INFO];

/// A cluster's consistent-hash table, for products that configure Envoy (Istio's
/// DestinationRule) or that lbsim stands in for with Envoy's tables: where a
/// request hash goes. Rebuilt over the healthy hosts whenever the pool changes.
pub struct Table(Kind);

enum Kind {
    Ring(RingHash),
    Maglev(Maglev),
}

impl Table {
    /// `RING_HASH` with `minimum_ring_size` and Envoy's default maximum.
    pub fn ring_hash(pool: &Pool, minimum_ring_size: u64) -> Table {
        let max = RING_SIZE_LIMIT as f64;
        Table(Kind::Ring(RingHash::new(
            pool,
            minimum_ring_size as f64,
            max,
            Key::Source,
            None,
        )))
    }

    /// `MAGLEV` with a table of `size` slots (a prime, see [`table_size`]).
    pub fn maglev(pool: &Pool, size: u64) -> Table {
        Table(Kind::Maglev(Maglev::new(pool, size, Key::Source, None)))
    }

    /// The host a request with hash `h` goes to.
    pub fn host(&self, h: u64) -> ServerId {
        match &self.0 {
            Kind::Ring(r) => r.home(h),
            Kind::Maglev(m) => m.home(h),
        }
    }

    pub fn rebuild(&mut self, pool: &Pool) {
        match &mut self.0 {
            Kind::Ring(r) => r.pool_changed(pool),
            Kind::Maglev(m) => m.pool_changed(pool),
        }
    }
}

const KEY: Param = Param {
    name: "key",
    default: "source",
    help: "what the hash policy hashes, as text: source (connection_properties source_ip), \
           prefix (/24 or /64), source_port (ip:port), session (a header or cookie value)",
};

const HASH_BALANCE_FACTOR: Param = Param {
    name: "hash_balance_factor",
    default: "0",
    help: "bounded load: cap each host at this percent of the average load (100 or more; 0 = off)",
};

/// The largest `hash_balance_factor` accepted; Envoy has none, but a cap of 10⁶ %
/// is already no cap at all.
const MAX_BALANCE_FACTOR: u64 = 1_000_000;

/// Reads `hash_balance_factor`: 0 (off) or 100 and above, as Envoy's validation
/// requires; `None` when off.
fn balance_factor(args: &mut Args) -> Result<Option<BoundedLoad>, SpecError> {
    let f = args.int(HASH_BALANCE_FACTOR.name, 0, MAX_BALANCE_FACTOR)?;
    match f {
        0 => Ok(None),
        100.. => Ok(Some(BoundedLoad::new(f as u32))),
        _ => Err(args.invalid(
            HASH_BALANCE_FACTOR.name,
            format!("hash_balance_factor={f}: expected 0 (off) or a whole number from 100 to {MAX_BALANCE_FACTOR}"),
        )),
    }
}

/// The request hash: XXH64 of the key as text, seed 0 (`HashUtil::xxHash64`).
pub fn request_hash(key: Key, client: &Client) -> u64 {
    let mut text = KeyText::default();
    xxh64(key.text(client, &mut text), 0)
}

/// Where a request with hash `h` goes when the table or ring lands on `home`:
/// `home`, or with bounded loads the first host of the hash's shuffle that is not
/// overloaded. `order` is scratch for the shuffle.
fn settle(home: ServerId, h: u64, bounded: Option<&BoundedLoad>, pool: &Pool, order: &mut Vec<u32>) -> ServerId {
    match bounded {
        Some(b) => b.choose(home, h, pool, order),
        None => home,
    }
}

/// The healthy hosts in host-set order with weights normalized to sum to 1
/// (`normalizeHostWeights`), and the smallest and largest normalized weight.
fn normalized_weights(pool: &Pool) -> (Vec<(ServerId, f64)>, f64, f64) {
    let sum = pool.total_up_weight() as f64;
    let hosts: Vec<(ServerId, f64)> = pool.up().iter().map(|&s| (s, pool.weight(s) as f64 / sum)).collect();
    let min = hosts.iter().map(|h| h.1).fold(1.0, f64::min);
    let max = hosts.iter().map(|h| h.1).fold(0.0, f64::max);
    (hosts, min, max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::built;
    use crate::policy::testing::servers;
    use crate::policy::{BuildContext, build, spec};

    #[test]
    fn source_ip_hash_is_xxh64_of_the_address_text() {
        let c = Client {
            user: 0,
            addr: "192.168.1.10".parse().unwrap(),
            port: 40_000,
            connection: 0,
            new_connection: true,
        };
        assert_eq!(request_hash(Key::Source, &c), 12_224_816_532_541_719_634);
    }

    /// Servers named as `lbsim route --servers` names them, all up, weight 1.
    pub(super) fn named(names: &[&str]) -> Pool {
        servers(names, &[], &[])
    }

    #[test]
    fn balance_factor_must_be_off_or_at_least_100() {
        let pool = named(&["a:1", "b:1"]);
        for name in ["envoy.ring_hash", "envoy.maglev"] {
            let text = format!("{name}(hash_balance_factor=50)");
            let spec = spec::parse(&text, 0).unwrap();
            let ctx = BuildContext {
                pool: &pool,
                expected_users: 1,
            };
            let err = build(&spec, &ctx).err().expect("50 is rejected");
            assert_eq!(err.offset, text.find("50").unwrap());
            assert!(err.message.contains("hash_balance_factor=50") && err.message.contains("from 100"));
            assert!(built(&format!("{name}(hash_balance_factor=100)"), &pool).wants_load());
            assert!(!built(name, &pool).wants_load());
        }
    }
}
