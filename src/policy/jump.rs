//! Jump consistent hash (Lamping and Veach, 2014): a key jumps through bucket
//! numbers with a linear congruential generator until it would land past the last
//! bucket. No table and no memory, perfectly even, and adding a bucket at the end
//! moves exactly the keys the new bucket takes, 1/(N+1) of them. The price: buckets
//! are numbers, so only the last one can leave without remapping everyone after
//! it. Here the buckets are the up servers in configuration order, each listed once
//! per unit of weight.

use super::*;
use crate::hash::key_hash;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "jump",
    summary: "jump consistent hash over the up servers in order; adding a server at the end moves 1/(N+1)",
    params: &[Key::PARAM],
    build: |args, ctx| {
        let mut j = Jump {
            key: Key::read(args, &Key::ALL)?,
            buckets: Vec::new(),
        };
        j.rebuild(ctx.pool);
        Ok(Box::new(j))
    },
};

/// The bucket of `key` among `n` buckets, as the paper defines it.
pub fn bucket(mut key: u64, n: u32) -> u32 {
    let (mut b, mut j) = (-1i64, 0i64);
    while j < n as i64 {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b as u32
}

pub struct Jump {
    key: Key,
    /// Bucket number to server: each up server once per unit of weight.
    buckets: Vec<ServerId>,
}

impl Hashing for Jump {
    fn select(&self, client: &Client, _: &Pool) -> ServerId {
        self.buckets[bucket(key_hash(self.key.bits(client)), self.buckets.len() as u32) as usize]
    }

    fn rebuild(&mut self, pool: &Pool) {
        self.buckets.clear();
        for &s in pool.up() {
            self.buckets.extend(std::iter::repeat_n(s, pool.weight(s) as usize));
        }
    }

    fn key(&self) -> Key {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{moved_share, pool_with_spare};
    use super::*;
    use crate::pool::PoolChangeKind;
    use proptest::prelude::*;

    #[test]
    fn published_vectors() {
        let rows: [(u64, [u32; 19]); 3] = [
            (1, [0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17]),
            (
                0xdead_beef,
                [0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16],
            ),
            (
                0x0ddc_0ffe_ebad_f00d,
                [0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15],
            ),
        ];
        for (key, want) in rows {
            let got: Vec<u32> = (1..=19).map(|n| bucket(key, n)).collect();
            assert_eq!(got, want, "key {key:#x}");
        }
        assert!((1..=19).all(|n| bucket(0, n) == 0));
        let pairs = [
            (1, 1, 0),
            (42, 57, 43),
            (0xDEAD_10CC, 1, 0),
            (0xDEAD_10CC, 666, 361),
            (256, 1024, 520),
            (1, 128, 55),
            (129, 128, 120),
            (128, 100_000_000, 38_172_097),
            (u64::MAX, 128, 92),
        ];
        for (key, n, want) in pairs {
            assert_eq!(bucket(key, n), want, "({key}, {n})");
        }
    }

    #[test]
    fn adding_a_server_at_the_end_moves_one_over_n_plus_1() {
        for n in [3usize, 10, 40] {
            let moved = moved_share("jump", pool_with_spare(n, 1), 60_000, PoolChangeKind::Add(n as u32));
            let want = 1.0 / (n + 1) as f64;
            assert!((moved - want).abs() < 0.01, "n={n}: moved {moved}, expected {want}");
        }
    }

    proptest! {
        #[test]
        fn growing_only_moves_keys_to_the_new_bucket(key: u64, n in 1u32..2000) {
            let (before, after) = (bucket(key, n), bucket(key, n + 1));
            prop_assert!(after == before || after == n);
        }

        #[test]
        fn buckets_are_even(n in 2u32..64, seed: u64) {
            let keys = 20_000u64;
            let mut counts = vec![0u32; n as usize];
            for i in 0..keys {
                counts[bucket(crate::hash::fmix64(seed ^ i), n) as usize] += 1;
            }
            // Binomial spread: every bucket within 6 standard deviations of keys/n.
            let mean = keys as f64 / n as f64;
            let sd = (mean * (1.0 - 1.0 / n as f64)).sqrt();
            prop_assert!(counts.iter().all(|&c| (c as f64 - mean).abs() < 6.0 * sd), "{counts:?}");
        }
    }
}
