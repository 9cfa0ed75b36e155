//! nginx's `upstream` balancing methods: `ip_hash`, `hash` (plain and consistent),
//! round robin and least_conn, as nginx 1.22 picks.
//!
//! All of them sit on nginx's round-robin peer list: the `server` lines of the
//! `upstream` block in order, with the ones marked `down` (or failed) still in it.
//! The hashes walk that list by weight, so a server going down keeps every other
//! client where it was, while adding or removing a `server` line changes the total
//! weight and, for `ip_hash` and plain `hash`, remaps most clients. A hash that lands
//! on an unusable server tries again (21 tries in all) and then gives up to round
//! robin, which is where affinity is lost for good.

use crate::engine::{StreamRng, Time};
use crate::policy::{Affinity, Client, Pick, Policy};
use crate::pool::{Pool, ServerId};

pub mod crc32;
pub mod hash;
pub mod ip_hash;
pub mod ketama;
pub mod key_bytes;
pub mod least_conn;
pub mod round_robin;

use super::PolicyInfo;
use round_robin::Smooth;

pub const POLICIES: &[PolicyInfo] = &[ip_hash::INFO, hash::INFO, round_robin::INFO, least_conn::INFO];

/// Tries a hash gets before nginx falls back to round robin: the first, then 20 more.
const TRIES: u32 = 21;

/// The peer list the hashes walk: every configured server in order, each owning
/// `weight` consecutive values of `0..total_weight`, down ones included.
struct Peers {
    /// The configured servers, in configuration order.
    ids: Vec<ServerId>,
    /// Where each server's values end: the running sum of the weights.
    ends: Vec<u64>,
}

impl Peers {
    fn new(pool: &Pool) -> Peers {
        let ids = pool.configured().to_vec();
        let ends = ids
            .iter()
            .scan(0u64, |sum, &s| {
                *sum += pool.weight(s) as u64;
                Some(*sum)
            })
            .collect();
        Peers { ids, ends }
    }

    /// nginx keeps a lone peer out of hashing altogether.
    fn single(&self) -> bool {
        self.ids.len() < 2
    }

    fn total_weight(&self) -> u64 {
        self.ends.last().copied().unwrap_or(0)
    }

    /// The server owning `w` (below the total weight): nginx subtracts weights
    /// walking the list; a binary search over the running sums finds the same one.
    fn walk(&self, w: u64) -> ServerId {
        self.ids[self.ends.partition_point(|&end| end <= w)]
    }
}

/// What a hash decided: a server, or that round robin must choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    Server(ServerId),
    RoundRobin,
}

impl Choice {
    fn server(self) -> Option<ServerId> {
        match self {
            Choice::Server(s) => Some(s),
            Choice::RoundRobin => None,
        }
    }
}

/// A hash as nginx's `ip_hash` and `hash` use it: where each try lands in the
/// peer list's weight, one try after another.
trait Tries: Send {
    /// The positions of the tries, below nothing in particular: each is taken
    /// modulo the total weight.
    fn positions(&self, client: &Client) -> impl Iterator<Item = u64>;

    fn affinity(&self) -> Affinity;
}

/// A hash over the configured peers: each try walks the list by weight, a down
/// peer means another try, and after 21 tries round robin decides.
struct Rehashed<T> {
    tries: T,
    peers: Peers,
    rr: Smooth,
}

impl<T: Tries> Rehashed<T> {
    fn new(tries: T, pool: &Pool) -> Rehashed<T> {
        Rehashed {
            tries,
            peers: Peers::new(pool),
            rr: Smooth::new(pool),
        }
    }

    fn choose(&self, client: &Client, pool: &Pool) -> Choice {
        if self.peers.single() {
            return Choice::RoundRobin;
        }
        self.tries
            .positions(client)
            .take(TRIES as usize)
            .map(|w| self.peers.walk(w % self.peers.total_weight()))
            .find(|&s| pool.is_up(s))
            .map_or(Choice::RoundRobin, Choice::Server)
    }
}

impl<T: Tries> Policy for Rehashed<T> {
    fn pick(&mut self, client: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        Pick::stateless(match self.choose(client, pool) {
            Choice::Server(s) => s,
            Choice::RoundRobin => self.rr.next(pool),
        })
    }

    fn peek(&self, client: &Client, _: Time, pool: &Pool) -> Option<ServerId> {
        self.choose(client, pool).server()
    }

    fn pool_changed(&mut self, pool: &Pool) {
        if self.rr.pool_changed(pool) {
            self.peers = Peers::new(pool);
        }
    }

    fn affinity(&self) -> Affinity {
        self.tries.affinity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{named, servers};

    /// Servers `s1`, `s2`, ... with these weights; the ones in `down` are down.
    pub(super) fn weighted(weights: &[u32], down: &[usize]) -> Pool {
        servers(&named(weights.len(), |i| format!("s{}", i + 1)), weights, down)
    }

    #[test]
    fn the_walk_gives_each_server_its_weight_of_values() {
        let peers = Peers::new(&weighted(&[2, 1, 3], &[1]));
        assert_eq!(peers.total_weight(), 6, "a down server keeps its weight");
        let owners: Vec<_> = (0..6).map(|w| peers.walk(w)).collect();
        assert_eq!(owners, [0, 0, 1, 2, 2, 2]);
        assert!(!peers.single());
        assert!(Peers::new(&weighted(&[5], &[])).single());
    }
}
