//! Hash functions behind the hash-based policies.
//!
//! lbsim's own policies (`ip_hash`, `ring`, `jump`, ...) use XXH3-64, a fast, well-mixed,
//! seedless hash whose output is fixed by its specification, so a client maps to
//! the same server on every machine and in every release.

pub mod maglev;
pub mod ring_index;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::policy::key::Addr;

/// The hash of a client key (see [`crate::policy::Key::bits`]): XXH3-64 of its 16
/// bytes, so an address key hashes its address (IPv4 in its mapped form).
pub fn key_hash(bits: u128) -> u64 {
    xxh3_64(&bits.to_be_bytes())
}

/// Mixes a 64-bit value so that every input bit affects every output bit: the
/// MurmurHash3 finalizer. Cheap enough to run per server per request.
pub fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// The hash of a server's `index`-th point on a ring: XXH3-64 of "name#index".
/// Built once per pool change, never per request.
pub fn point_hash(name: &str, index: u32) -> u64 {
    xxh3_64(format!("{name}#{index}").as_bytes())
}

/// `x mod d` for a divisor fixed when a table is built, by multiplications instead
/// of a division (Lemire, Kaser and Kurz, "Faster remainder by direct computation",
/// 2019): a 64-bit division costs as much as the rest of a table lookup.
#[derive(Clone, Copy, Debug)]
pub struct FastMod {
    d: u64,
    m: u128,
}

impl Default for FastMod {
    /// Modulo 1, for a table not built yet.
    fn default() -> FastMod {
        FastMod::new(1)
    }
}

impl FastMod {
    pub fn new(d: u64) -> FastMod {
        assert!(d > 0, "a divisor");
        FastMod {
            d,
            m: (u128::MAX / d as u128).wrapping_add(1),
        }
    }

    /// `x % d`, exact for every 64-bit `x`.
    pub fn of(self, x: u64) -> u64 {
        let low = self.m.wrapping_mul(x as u128);
        let bottom = ((low as u64) as u128 * self.d as u128) >> 64;
        let top = (low >> 64) * self.d as u128;
        ((bottom + top) >> 64) as u64
    }
}

/// A map keyed by client address, for policy tables. Its hasher is seedless, so
/// iteration order (and anything derived from it) is the same on every run.
pub type AddrMap<V> = HashMap<Addr, V, BuildHasherDefault<AddrHasher>>;

/// Hashes an address (a `u128`) with two rounds of the MurmurHash3 finalizer: one
/// multiply-xorshift chain instead of a streaming hash, for per-request lookups.
#[derive(Clone, Copy, Default)]
pub struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxh3_64_with_seed(bytes, self.0);
    }

    fn write_u128(&mut self, v: u128) {
        self.0 = fmix64(self.0 ^ v as u64 ^ fmix64((v >> 64) as u64));
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_pinned() {
        // XXH3 is specified; these values (checked against the reference XXH3
        // implementation) must never change, or every published mapping would shift.
        let addr: Addr = "192.168.1.1".parse().unwrap();
        assert_eq!(key_hash(addr.0), PINNED_ADDR);
        assert_eq!(point_hash("s1", 7), PINNED_POINT);
    }

    #[test]
    fn addr_hasher_spreads_consecutive_addresses() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        // A CGNAT block is consecutive addresses: their hashes must differ in the
        // top bits (hashbrown's control bytes) and the low bits (its buckets).
        let build = BuildHasherDefault::<AddrHasher>::default();
        let hashes: Vec<u64> = (0..4096u32)
            .map(|i| build.hash_one(Addr::v4(0x6440_0000 + i)))
            .collect();
        let top: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        let low: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 4095).collect();
        assert_eq!(top.len(), 128);
        assert!(low.len() > 2500, "{} distinct low-bit buckets of 4096", low.len());
    }

    proptest::proptest! {
        #[test]
        fn fast_mod_is_the_remainder(x: u64, d in 1u64..) {
            proptest::prop_assert_eq!(FastMod::new(d).of(x), x % d);
        }
    }

    #[test]
    fn fast_mod_at_the_edges() {
        for d in [1, 2, 7, 65_537, u32::MAX as u64, u64::MAX] {
            for x in [0, 1, d - 1, d, u64::MAX, u64::MAX - 1] {
                assert_eq!(FastMod::new(d).of(x), x % d, "{x} mod {d}");
            }
        }
    }

    const PINNED_ADDR: u64 = 15_781_114_344_540_006_689;
    const PINNED_POINT: u64 = 6_396_908_086_709_949_090;
}
