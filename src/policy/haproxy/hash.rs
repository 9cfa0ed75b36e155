//! The 32-bit hashes HAProxy's hash-based balancing is built from.
//!
//! `balance source` does not run the address through a hash function at all: it
//! folds the address into one 32-bit word, so by default a client's server is its
//! IPv4 address modulo the total weight. Text keys (`balance hdr(...)`, `balance
//! hash ...`) go through sdbm, the default hash function. Either may then pass
//! through Bob Jenkins' integer mix (the `avalanche` modifier), which is what
//! `hash-type consistent` applies by default and what places its tree nodes.

use crate::policy::Addr;

/// Bob Jenkins' 32-bit integer mix (`full_hash`): every input bit affects every
/// output bit, so consecutive addresses land far apart.
pub fn full_hash(a: u32) -> u32 {
    let mut a = a;
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

/// sdbm, HAProxy's default hash function for text keys: `h = h·65599 + byte`.
pub fn sdbm(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |h, &c| {
        (c as u32).wrapping_add(h << 6).wrapping_add(h << 16).wrapping_sub(h)
    })
}

/// The word `balance source` hashes: the address's 32-bit big-endian words XORed
/// together. An IPv4 address is its own value; an IPv6 address folds its four words,
/// so addresses differing only in how their words cancel out collide.
pub fn source_word(addr: Addr) -> u32 {
    if addr.is_v4() {
        return addr.0 as u32;
    }
    let a = addr.0;
    (a >> 96) as u32 ^ (a >> 64) as u32 ^ (a >> 32) as u32 ^ a as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_hash_check_values() {
        assert_eq!(full_hash(0), 0xab4e_d927);
        assert_eq!(full_hash(1), 0x3486_81b6);
        // The first tree node of the server with id 1.
        assert_eq!(full_hash(4096), 0x49c2_008b);
    }

    #[test]
    fn sdbm_is_h_times_65599_plus_byte() {
        assert_eq!(sdbm(b""), 0);
        assert_eq!(sdbm(b"a"), 97);
        assert_eq!(sdbm(b"ab"), 97u32.wrapping_mul(65_599) + 98);
        let long = b"192.168.1.10:40000";
        let by_formula = long
            .iter()
            .fold(0u32, |h, &c| h.wrapping_mul(65_599).wrapping_add(c as u32));
        assert_eq!(sdbm(long), by_formula);
    }

    #[test]
    fn source_word_folds_ipv6_words() {
        assert_eq!(source_word("192.168.1.10".parse().unwrap()), 0xc0a8_010a);
        assert_eq!(source_word("2001:db8::1".parse().unwrap()), 0x2001_0db8 ^ 1);
        // Words that cancel: both fold to the same value.
        assert_eq!(
            source_word("1:1::".parse().unwrap()),
            source_word("::1:1".parse().unwrap())
        );
    }
}
