//! ECMP hash-threshold, as routers spread flows over equal-cost next hops (RFC
//! 2992, "Analysis of an Equal-Cost Multi-Path Algorithm"): the flow's header
//! fields are hashed, the key space is cut into one region per next hop, and the
//! flow takes the next hop whose region holds its key. Linux does this for IPv4
//! multipath routes (`fib_select_multipath`, net/ipv4/fib_semantics.c): each
//! next hop has an upper bound, `round(cumulative weight × 2^31 / total) − 1`,
//! and a 31-bit hash takes the first next hop whose bound it does not exceed.
//!
//! Adding or removing a next hop moves every region boundary, so more flows move
//! than under a consistent hash, and how many depends on the next hop's place
//! (RFC 2992, section 4): a fourth added to three moves half the flows, and so
//! does removing the first or the last of four; removing a middle one moves a third.
//!
//! The hash itself is the vendor's: RFC 2992 names CRC-16 as an example, Linux
//! keys SipHash with a random boot secret, routers' ASICs have their own. None can
//! be reproduced, so XXH3 of the key stands in; which clients move on a change, and
//! how many, follow from the regions alone. `key=source` is Linux's
//! `fib_multipath_hash_policy = 0` (layer 3: the addresses, the destination being
//! the one VIP), `key=source_port` its policy 1 (layer 4: the 5-tuple, so every
//! new connection is hashed afresh).

use super::*;
use crate::hash::key_hash;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ecmp",
    summary: "ECMP hash-threshold (RFC 2992, Linux multipath): key space cut in weighted regions; XXH3 stands in for the vendor's hash",
    params: &[Param {
        name: "key",
        default: "source",
        help: "source (layer 3: fib_multipath_hash_policy 0) or source_port (layer 4, the 5-tuple: policy 1)",
    }],
    build: |args, ctx| {
        let mut ecmp = Ecmp {
            key: Key::read(args, &[Key::Source, Key::SourcePort])?,
            bounds: Vec::new(),
        };
        ecmp.rebuild(ctx.pool);
        Ok(Box::new(ecmp))
    },
};

pub struct Ecmp {
    key: Key,
    /// The up next hops in configuration order, each with its region's upper bound.
    bounds: Vec<(u32, ServerId)>,
}

impl Hashing for Ecmp {
    fn select(&self, client: &Client, _: &Pool) -> ServerId {
        let hash = (key_hash(self.key.bits(client)) >> 33) as u32;
        let i = self.bounds.partition_point(|&(bound, _)| bound < hash);
        self.bounds[i.min(self.bounds.len() - 1)].1
    }

    fn rebuild(&mut self, pool: &Pool) {
        let up = pool.up();
        let total: u64 = up.iter().map(|&s| pool.weight(s) as u64).sum();
        let mut w = 0u64;
        self.bounds = up
            .iter()
            .map(|&s| {
                w += pool.weight(s) as u64;
                // DIV_ROUND_CLOSEST_ULL(w << 31, total) - 1, as fib_rebalance.
                let bound = ((w << 31) + total / 2) / total;
                ((bound - 1) as u32, s)
            })
            .collect();
    }

    fn key(&self) -> Key {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{moved_share, pool, pool_with_spare, servers, shares};
    use crate::pool::PoolChangeKind;

    #[test]
    fn regions_follow_the_weights() {
        let p = servers(&["a", "b", "c"], &[1, 2, 1], &[]);
        let s = shares(built_ecmp(&p).as_ref(), &p, 40_000);
        for (got, want) in s.iter().zip([0.25, 0.5, 0.25]) {
            assert!((got - want).abs() < 0.01, "{s:?}");
        }
    }

    #[test]
    fn bounds_are_linux_fib_rebalance() {
        // Weights 1, 2, 1 over 2^31: bounds at a quarter, three quarters and the top.
        let mut e = Ecmp {
            key: Key::Source,
            bounds: Vec::new(),
        };
        e.rebuild(&servers(&["a", "b", "c"], &[1, 2, 1], &[]));
        let bounds: Vec<u32> = e.bounds.iter().map(|b| b.0).collect();
        assert_eq!(bounds, [(1 << 29) - 1, 3 * (1 << 29) - 1, (1 << 31) - 1]);
    }

    #[test]
    fn what_a_next_hop_added_or_removed_moves_depends_on_its_place() {
        // Thirds to quarters: a keeps [0, 1/4), b [1/3, 1/2), c [2/3, 3/4), so
        // 1/4 + 1/6 + 1/12 = 1/2 stay.
        let added = moved_share("ecmp", pool_with_spare(3, 1), 40_000, PoolChangeKind::Add(3));
        assert!((added - 0.5).abs() < 0.01, "{added}");
        // Quarters to thirds: the same half stays when the last or the first goes.
        for gone in [3, 0] {
            let moved = moved_share("ecmp", pool(4), 40_000, PoolChangeKind::Remove(gone));
            assert!((moved - 0.5).abs() < 0.01, "{gone}: {moved}");
        }
        // The second gone: a keeps [0, 1/4), c [1/2, 2/3), d [3/4, 1): 2/3 stay.
        let middle = moved_share("ecmp", pool(4), 40_000, PoolChangeKind::Remove(1));
        assert!((middle - 1.0 / 3.0).abs() < 0.01, "{middle}");
    }

    fn built_ecmp(p: &Pool) -> Box<dyn Policy> {
        crate::policy::testing::built("ecmp", p)
    }
}
