//! HAProxy's consistent hashing (`hash-type consistent`): a tree of 32-bit node
//! keys, 16 nodes per unit of weight, and a client goes to the node nearest its
//! hash on either side (not the next one clockwise, as in ketama).
//!
//! A server's nodes sit at `full_hash(id·4096 + j)`, where `id` is the server's
//! numeric id: the 1-based declaration position unless the configuration gives
//! ids. A server that goes down takes only its own nodes out, so only its clients
//! move; one added takes about 1/(N+1) of everyone's. But ids are positions: a
//! reload that removes a server renumbers every server declared after it and moves
//! their clients too, unless each server has a fixed `id`.
//!
//! With `hash-balance-factor f`, a server may hold at most its weighted share of
//! `ceil((requests in flight + 1)·f/100)` slots; a client whose server is full walks
//! on clockwise to the next server with room (bounded loads, Mirrokni et al.).

use super::hash::full_hash;
use crate::hash::ring_index::RingIndex;
use crate::pool::{Pool, ServerId};

/// Node key spacing between consecutive server ids: 256 weight units × 16 nodes.
const ID_RANGE: u32 = 4096;
/// Nodes per unit of weight.
pub const WEIGHT_SCALE: u32 = 16;

/// How servers get the numeric ids their node keys derive from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ids {
    /// No `id` lines: ids are positions in the configuration, reassigned on reload.
    Auto,
    /// Every server keeps the id it was first declared with (`id N` lines, or
    /// servers added and deleted at run time).
    Fixed,
}

pub struct Tree {
    ids: Ids,
    /// Node keys, sorted, and the server owning each.
    keys: Vec<u32>,
    owners: Vec<ServerId>,
    index: RingIndex,
    /// The configuration at the last reload, and each server's id from it.
    configured: Vec<ServerId>,
    id: Vec<u32>,
    /// For bounded loads: the effective weight of the servers declared before each
    /// one, as counted at the last reload. HAProxy does not recount it when servers
    /// go up or down, so it can be stale; this is kept as the product has it.
    cumulative: Vec<u32>,
    /// Total effective weight of the servers up now.
    total_weight: u32,
}

impl Tree {
    pub fn new(pool: &Pool, ids: Ids) -> Tree {
        let mut t = Tree {
            ids,
            keys: Vec::new(),
            owners: Vec::new(),
            index: RingIndex::default(),
            configured: Vec::new(),
            id: vec![0; pool.len()],
            cumulative: vec![0; pool.len()],
            total_weight: 0,
        };
        t.rebuild(pool);
        t
    }

    /// Re-reads the pool. A different set of configured servers is a reload: ids and
    /// cumulative weights are assigned afresh. A server merely going up or down keeps
    /// them and only has its nodes put in or taken out.
    pub fn rebuild(&mut self, pool: &Pool) {
        if pool.configured() != self.configured {
            self.configured = pool.configured().to_vec();
            for (pos, &s) in self.configured.iter().enumerate() {
                self.id[s as usize] = match self.ids {
                    Ids::Auto => pos as u32 + 1,
                    Ids::Fixed => s + 1,
                };
            }
            self.cumulative.fill(0);
            let mut sum = 0u32;
            for &s in pool.up() {
                self.cumulative[s as usize] = sum;
                sum = sum.wrapping_add(eweight(pool, s));
            }
        }
        self.total_weight = pool.up().iter().map(|&s| eweight(pool, s)).sum();
        let mut nodes: Vec<(u32, ServerId)> = Vec::with_capacity(self.total_weight as usize);
        for &s in pool.up() {
            let base = self.id[s as usize].wrapping_mul(ID_RANGE);
            nodes.extend((0..eweight(pool, s)).map(|j| (full_hash(base.wrapping_add(j)), s)));
        }
        // Equal keys (rare) keep declaration order, as inserting servers into the
        // tree in order does.
        nodes.sort_by_key(|&(k, _)| k);
        self.keys = nodes.iter().map(|n| n.0).collect();
        self.owners = nodes.iter().map(|n| n.1).collect();
        self.index = RingIndex::new(&self.keys);
    }

    /// The index of the node nearest `hash`: of the first node at or after it and
    /// the one before that (both wrapping around), the closer; the earlier on a tie.
    fn nearest(&self, hash: u32) -> usize {
        let n = self.keys.len();
        let next = self.index.successor(&self.keys, hash);
        let prev = if next == 0 { n - 1 } else { next - 1 };
        let dp = hash.wrapping_sub(self.keys[prev]);
        let dn = self.keys[next].wrapping_sub(hash);
        if dp <= dn { prev } else { next }
    }

    /// The server for `hash`. Callers guarantee a server is up.
    pub fn get(&self, hash: u32) -> ServerId {
        self.owners[self.nearest(hash)]
    }

    /// The server for `hash` under `hash-balance-factor` `factor`: from the nearest
    /// node, clockwise to the first server below its slot count.
    pub fn get_bounded(&self, hash: u32, pool: &Pool, factor: u32) -> ServerId {
        let served = (0..pool.len() as ServerId).fold(0u32, |sum, s| sum.wrapping_add(pool.in_flight(s)));
        let total_slots = served.wrapping_add(1).wrapping_mul(factor).wrapping_add(99) / 100;
        let per_weight = total_slots / self.total_weight;
        let remainder = total_slots % self.total_weight;
        // HAProxy computes in unsigned 32 bits; so does this.
        let eligible = |s: ServerId| {
            let (w, cum) = (eweight(pool, s), self.cumulative[s as usize]);
            let share = |c: u32| c.wrapping_mul(remainder) / self.total_weight;
            let slots = w
                .wrapping_mul(per_weight)
                .wrapping_add(share(cum.wrapping_add(w)).wrapping_sub(share(cum)))
                .max(1);
            pool.in_flight(s) < slots
        };
        let mut i = self.nearest(hash);
        let mut wrapped = false;
        while !eligible(self.owners[i]) {
            i += 1;
            if i == self.keys.len() {
                // Around the whole tree without room anywhere: HAProxy stops at its last node.
                if wrapped {
                    return self.owners[i - 1];
                }
                wrapped = true;
                i = 0;
            }
        }
        self.owners[i]
    }

    /// The slot count a server is held to, for tests of the bound.
    #[cfg(test)]
    pub fn slots(&self, pool: &Pool, s: ServerId, factor: u32) -> u32 {
        let served: u32 = (0..pool.len() as ServerId).map(|s| pool.in_flight(s)).sum();
        let total_slots = ((served + 1) * factor).div_ceil(100);
        let (per_weight, remainder) = (total_slots / self.total_weight, total_slots % self.total_weight);
        let (w, cum) = (eweight(pool, s), self.cumulative[s as usize]);
        (w * per_weight + (cum + w) * remainder / self.total_weight - cum * remainder / self.total_weight).max(1)
    }

    #[cfg(test)]
    pub fn keys_of(&self, s: ServerId) -> Vec<u32> {
        let mut k: Vec<u32> = (0..self.keys.len())
            .filter(|&i| self.owners[i] == s)
            .map(|i| self.keys[i])
            .collect();
        k.sort_unstable();
        k
    }
}

/// A server's effective weight, its number of nodes in the tree: its weight times
/// 16 or, in slow start, HAProxy's ramping effective weight, which the pool holds
/// in sixteenths. A ramping server keeps its first nodes, in the order of `j`.
fn eweight(pool: &Pool, s: ServerId) -> u32 {
    (pool.weight(s) as u64 * WEIGHT_SCALE as u64 / pool.weight_scale() as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::pool;
    use crate::pool::{PoolChangeKind, Presence, Server};

    fn keys(id: u32, n: u32) -> Vec<u32> {
        let mut k: Vec<u32> = (0..n).map(|j| full_hash(id * 4096 + j)).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn sixteen_nodes_per_weight_at_full_hash_of_id_times_4096() {
        let p = Pool::new(
            [1, 2, 1]
                .iter()
                .enumerate()
                .map(|(i, &weight)| Server {
                    name: format!("s{i}"),
                    weight,
                    presence: Presence::Up,
                })
                .collect(),
        );
        let t = Tree::new(&p, Ids::Auto);
        assert_eq!(t.keys_of(0), keys(1, 16));
        assert!(t.keys_of(0).contains(&0x49c2_008b), "first node of server id 1");
        assert_eq!(t.keys_of(1), keys(2, 32));
        assert_eq!(t.keys_of(2), keys(3, 16));
    }

    #[test]
    fn the_nearest_node_on_either_side_wins() {
        let t = Tree::new(&pool(3), Ids::Auto);
        // Two neighbouring nodes of different servers, an even distance apart.
        let i = (0..t.keys.len() - 1)
            .find(|&i| t.owners[i] != t.owners[i + 1] && (t.keys[i + 1] - t.keys[i]).is_multiple_of(2))
            .unwrap();
        let (lo, hi) = (t.keys[i], t.keys[i + 1]);
        // Just past a node: that node, not the next one clockwise.
        assert_eq!(t.get(lo + 1), t.owners[i]);
        assert_eq!(t.get(hi - 1), t.owners[i + 1]);
        // Exactly halfway: the earlier one; one past it: the later one.
        let mid = lo + (hi - lo) / 2;
        assert_eq!(t.get(mid), t.owners[i]);
        assert_eq!(t.get(mid + 1), t.owners[i + 1]);
        // Below the first node, the last node is a neighbour across zero.
        let (first, last) = (t.keys[0], *t.keys.last().unwrap());
        let across = if 0u32.wrapping_sub(last) <= first {
            *t.owners.last().unwrap()
        } else {
            t.owners[0]
        };
        assert_eq!(t.get(0), across);
    }

    proptest::proptest! {
        #[test]
        fn the_range_index_finds_what_a_full_search_finds(n in 1usize..40, hashes in proptest::collection::vec(proptest::num::u32::ANY, 50)) {
            let t = Tree::new(&pool(n), Ids::Auto);
            for h in hashes.into_iter().chain([0, u32::MAX, t.keys[0], *t.keys.last().unwrap()]) {
                let next = t.keys.iter().position(|&k| k >= h).unwrap_or(0);
                let prev = (next + t.keys.len() - 1) % t.keys.len();
                let near = if h.wrapping_sub(t.keys[prev]) <= t.keys[next].wrapping_sub(h) { prev } else { next };
                proptest::prop_assert_eq!(t.nearest(h), near);
            }
        }
    }

    #[test]
    fn a_down_server_takes_out_only_its_nodes() {
        let mut p = pool(4);
        let mut t = Tree::new(&p, Ids::Auto);
        let others: Vec<Vec<u32>> = [0, 2, 3].iter().map(|&s| t.keys_of(s)).collect();
        assert!(p.apply(&PoolChangeKind::Fail(1)));
        t.rebuild(&p);
        assert!(t.keys_of(1).is_empty());
        assert_eq!([0, 2, 3].map(|s| t.keys_of(s)).to_vec(), others);
        assert!(p.apply(&PoolChangeKind::Recover(1)));
        t.rebuild(&p);
        assert_eq!(t.keys_of(1), keys(2, 16));
    }

    #[test]
    fn a_server_in_slow_start_has_its_first_nodes_only() {
        // Weights in sixteenths, as slow start keeps them: server 2 (id 2) at
        // 5/16 has the nodes of j = 0..5, the others their 16.
        let mut p = pool(3);
        p.scale_weights(16);
        p.set_weight(1, 5);
        let t = Tree::new(&p, Ids::Auto);
        assert_eq!(t.keys_of(1), keys(2, 5));
        assert_eq!((t.keys_of(0), t.keys_of(2)), (keys(1, 16), keys(3, 16)));
        assert_eq!(t.total_weight, 37);
    }

    #[test]
    fn cumulative_weights_are_counted_at_reload_only() {
        // HAProxy counts the weight declared before each server when the
        // configuration loads; a failure later leaves the counts as they were.
        let mut p = pool(3);
        let mut t = Tree::new(&p, Ids::Auto);
        assert_eq!(t.cumulative, [0, 16, 32]);
        assert!(p.apply(&PoolChangeKind::Fail(0)));
        t.rebuild(&p);
        assert_eq!(t.cumulative, [0, 16, 32]);
        assert_eq!(t.total_weight, 32);
        assert!(p.apply(&PoolChangeKind::Remove(0)));
        t.rebuild(&p);
        assert_eq!(t.cumulative, [0, 0, 16]);
    }
}
