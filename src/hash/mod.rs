//! Hash functions behind the hash-based policies.
//!
//! lbsim's own policies (`ip_hash`, `ring`) use XXH3-64, a fast, well-mixed,
//! seedless hash whose output is fixed by its specification, so a client maps to
//! the same server on every machine and in every release.

use xxhash_rust::xxh3::xxh3_64;

use crate::policy::key::Addr;

/// The hash of a client address (all 16 bytes; IPv4 in its mapped form).
pub fn addr_hash(addr: Addr) -> u64 {
    xxh3_64(&addr.octets())
}

/// The hash of a server's `index`-th point on a ring: XXH3-64 of "name#index".
/// Built once per pool change, never per request.
pub fn point_hash(name: &str, index: u32) -> u64 {
    xxh3_64(format!("{name}#{index}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_pinned() {
        // XXH3 is specified; these values (checked against the reference XXH3
        // implementation) must never change, or every published mapping would shift.
        assert_eq!(addr_hash("192.168.1.1".parse().unwrap()), PINNED_ADDR);
        assert_eq!(point_hash("s1", 7), PINNED_POINT);
    }

    const PINNED_ADDR: u64 = 15_781_114_344_540_006_689;
    const PINNED_POINT: u64 = 6_396_908_086_709_949_090;
}
