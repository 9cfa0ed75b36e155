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

    const PINNED_ADDR: u64 = 15_781_114_344_540_006_689;
    const PINNED_POINT: u64 = 6_396_908_086_709_949_090;
}
