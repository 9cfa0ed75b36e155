//! The Maglev lookup table (Eisenbud et al., NSDI 2016, §3.4, Pseudocode Listing 1),
//! shared by every product that builds one: Envoy `MAGLEV`, Katran, IPVS `mh`.
//!
//! Each backend has its own preference list over the M slots of the table, a
//! permutation `offset + j·skip (mod M)` drawn from two hashes of its name. Backends
//! take turns claiming their most preferred slot that is still free until the table
//! is full. Because a backend's preferences do not depend on the others, removing
//! one mostly frees its own slots: the others keep almost all of theirs, so a client
//! (hashed to a slot) rarely moves unless its backend went away. With M ≫ N every
//! backend gets M/N slots, give or take one.
//!
//! The products agree on this loop and differ in three places, which the caller
//! supplies:
//! - the order of the backends (sorted by name, by hash, or in list order);
//! - how a preference is computed, including the integer width its arithmetic wraps
//!   at (Envoy uses 64 bits, Katran 32);
//! - the weighting rule: how many slots a backend claims on its turn in each round.
//!   Envoy lets a backend claim one slot in the rounds its weight earns; Katran's V1
//!   gives the whole weight in the first round and one slot after; Katran's V2 keeps
//!   a running credit; IPVS `mh` gives every backend a fixed number of `turns`.

/// A table slot nobody has claimed yet.
const FREE: u32 = u32::MAX;

/// Fills a table of `size` slots among `backends` backends and returns, per slot,
/// the index of the backend that owns it (an empty table when there are none).
///
/// - `preference(b, j)` is backend `b`'s `j`-th preferred slot (`j` = 0, 1, …): the
///   backend's permutation. It must eventually reach every slot.
/// - `turns(b, round)` is how many slots backend `b` claims when its turn comes in
///   `round` (1, 2, …); 0 skips it for that round. Over the rounds some backend must
///   keep getting turns, or the table never fills.
///
/// Backends take their turns in index order within each round; the fill stops the
/// moment the last slot is taken, even in the middle of a backend's turn.
pub fn populate(
    size: usize,
    backends: usize,
    mut preference: impl FnMut(usize, u64) -> usize,
    mut turns: impl FnMut(usize, u32) -> u32,
) -> Vec<u32> {
    if backends == 0 {
        return Vec::new();
    }
    let mut table = vec![FREE; size];
    let mut next = vec![0u64; backends];
    let mut filled = 0;
    for round in 1.. {
        for (b, next) in next.iter_mut().enumerate() {
            for _ in 0..turns(b, round) {
                let mut slot = preference(b, *next);
                while table[slot] != FREE {
                    *next += 1;
                    slot = preference(b, *next);
                }
                table[slot] = b as u32;
                *next += 1;
                filled += 1;
                if filled == size {
                    return table;
                }
            }
        }
    }
    unreachable!("the rounds never end before the table is full")
}

/// Whether `n` is prime: Maglev table sizes must be, so that every skip in
/// 1..M walks through all M slots.
pub fn is_prime(n: u64) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| !n.is_multiple_of(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Backend `id`'s permutation in the paper's form, offset and skip drawn from
    /// a hash of (id, seed).
    fn preference(id: usize, seed: u64, size: usize, j: u64) -> usize {
        let mix = |salt: u64| crate::hash::key_hash(((id as u128) << 64) | salt as u128);
        let (m, offset) = (size as u64, mix(seed) % size as u64);
        let skip = mix(seed ^ 1) % (m - 1) + 1;
        ((offset + j * skip) % m) as usize
    }

    /// A table over backends whose ids are `ids`, one slot per turn.
    fn table(size: usize, ids: &[usize], seed: u64) -> Vec<u32> {
        populate(size, ids.len(), |b, j| preference(ids[b], seed, size, j), |_, _| 1)
    }

    fn counts(table: &[u32], backends: usize) -> Vec<usize> {
        let mut c = vec![0; backends];
        for &b in table {
            c[b as usize] += 1;
        }
        c
    }

    #[test]
    fn primes() {
        let small: Vec<u64> = (0..30).filter(|&n| is_prime(n)).collect();
        assert_eq!(small, [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]);
        assert!(is_prime(65537) && is_prime(5_000_011) && !is_prime(65535));
    }

    #[test]
    fn no_backends_no_table() {
        assert!(populate(7, 0, |_, _| 0, |_, _| 1).is_empty());
    }

    #[test]
    fn one_backend_takes_every_slot() {
        assert_eq!(table(13, &[4], 5), vec![0; 13]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// One slot per backend per round: counts differ by at most one.
        #[test]
        fn equal_turns_fill_evenly(backends in 1usize..40, seed in any::<u64>()) {
            let ids: Vec<usize> = (0..backends).collect();
            let c = counts(&table(2039, &ids, seed), backends);
            let (lo, hi) = (c.iter().min().unwrap(), c.iter().max().unwrap());
            prop_assert!(hi - lo <= 1, "{c:?}");
        }

        /// Removing a backend frees its slots and the others keep most of theirs.
        /// Maglev does not promise minimal disruption: with few backends, two whose
        /// permutations run alike can trade a sixth of the table (seen at N = 5).
        #[test]
        fn removing_a_backend_keeps_most_of_the_others_slots(
            backends in 5usize..30,
            gone in any::<prop::sample::Index>(),
            seed in any::<u64>(),
        ) {
            let gone = gone.index(backends);
            let ids: Vec<usize> = (0..backends).collect();
            let survivors: Vec<usize> = ids.iter().copied().filter(|&b| b != gone).collect();
            let before = table(4093, &ids, seed);
            let after = table(4093, &survivors, seed);
            let mut moved = 0;
            for (slot, &b) in before.iter().enumerate() {
                let now = survivors[after[slot] as usize];
                if b as usize != gone && now != b as usize {
                    moved += 1;
                }
            }
            prop_assert!((moved as f64) / 4093.0 < 0.25, "{moved} survivor slots moved");
        }
    }

    /// On average, though, a removal disturbs only a few percent of the survivors'
    /// slots (the paper's Figure 9 shows the same with M = 65537).
    #[test]
    fn removals_disturb_few_slots_on_average() {
        let (mut moved, mut removals) = (0usize, 0usize);
        for seed in 0..40u64 {
            for backends in [5usize, 10, 20] {
                let ids: Vec<usize> = (0..backends).collect();
                let before = table(4093, &ids, seed);
                let gone = seed as usize % backends;
                let survivors: Vec<usize> = ids.iter().copied().filter(|&b| b != gone).collect();
                let after = table(4093, &survivors, seed);
                moved += before
                    .iter()
                    .zip(&after)
                    .filter(|&(&b, &a)| b as usize != gone && survivors[a as usize] != b as usize)
                    .count();
                removals += 1;
            }
        }
        let share = moved as f64 / (removals * 4093) as f64;
        assert!(share < 0.03, "{share} of the table moved per removal");
    }
}
