//! `folly::IPAddress::hash()`, the hash Katran stores for each real and sorts the
//! Maglev endpoints by (`KatranLb.cpp`: `ureal.updatedReal.hash = raddr.hash()`).
//!
//! - IPv4 (and IPv4-mapped IPv6): 32-bit FNV-1 of the four address bytes in
//!   network order, folly's variant that XORs each byte as a *signed* char, then
//!   `hash_combine(AF_INET = 2, fnv)`.
//! - IPv6: SpookyHash V2 (Bob Jenkins), 128 bits of the 16 bytes with seeds 0, then
//!   `hash_combine(AF_INET6 = 10, h1, h2)`.
//!
//! `hash_combine` hashes integers with `std::hash` (the identity in libstdc++ and
//! libc++) and folds them pairwise with cityhash's `Hash128to64`.

use crate::policy::Addr;

const AF_INET: u64 = 2;
const AF_INET6: u64 = 10;

/// The hash of a real's address, as Katran computes it.
pub fn address_hash(addr: Addr) -> u64 {
    if addr.is_v4() {
        let v4 = &addr.octets()[12..];
        hash_128_to_64(AF_INET, fnv32_signed(v4) as u64)
    } else {
        let (h1, h2) = spooky_v2_short16(&addr.octets());
        hash_128_to_64(AF_INET6, hash_128_to_64(h1, h2))
    }
}

/// FNV-1, 32 bits, with each byte sign-extended before the XOR
/// (`fnv32_append_byte_BROKEN`, which `fnv32_buf` still is).
fn fnv32_signed(bytes: &[u8]) -> u32 {
    bytes.iter().fold(2_166_136_261u32, |h, &b| {
        h.wrapping_mul(16_777_619) ^ (b as i8 as i32 as u32)
    })
}

/// Folds two 64-bit hashes into one (cityhash `Hash128to64`).
fn hash_128_to_64(upper: u64, lower: u64) -> u64 {
    const K_MUL: u64 = 0x9ddf_ea08_eb38_2d69;
    let mut a = (lower ^ upper).wrapping_mul(K_MUL);
    a ^= a >> 47;
    let mut b = (upper ^ a).wrapping_mul(K_MUL);
    b ^= b >> 47;
    b.wrapping_mul(K_MUL)
}

/// SpookyHash V2 `Hash128` of exactly 16 bytes with both seeds 0: the short-message
/// path with one 16-byte block and an empty tail.
fn spooky_v2_short16(bytes: &[u8; 16]) -> (u64, u64) {
    const SC_CONST: u64 = 0xdead_beef_dead_beef;
    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    // State h0..h3: the seeds, then the constant plus the block's two words.
    let mut h = [0, 0, SC_CONST.wrapping_add(word(0)), SC_CONST.wrapping_add(word(8))];
    short_mix(&mut h);
    // The length goes in the top byte; an empty tail adds the constant to h2, h3.
    h[2] = h[2].wrapping_add(SC_CONST);
    h[3] = h[3].wrapping_add(16 << 56).wrapping_add(SC_CONST);
    short_end(&mut h);
    (h[0], h[1])
}

/// `ShortMix`: twelve steps, each rotating one word, adding the next and xoring
/// the result into the one after that; the rotated word cycles h2, h3, h0, h1.
fn short_mix(h: &mut [u64; 4]) {
    for (i, r) in [50, 52, 30, 41, 54, 48, 38, 37, 62, 34, 5, 36].into_iter().enumerate() {
        let x = (i + 2) % 4;
        h[x] = h[x].rotate_left(r).wrapping_add(h[(x + 1) % 4]);
        h[(x + 2) % 4] ^= h[x];
    }
}

/// `ShortEnd`: eleven steps, each xoring one word into the next, rotating it and
/// adding it back; the rotated word cycles h2, h3, h0, h1.
fn short_end(h: &mut [u64; 4]) {
    for (i, r) in [15, 52, 26, 51, 28, 9, 47, 54, 32, 25, 63].into_iter().enumerate() {
        let x = (i + 2) % 4;
        let z = (x + 1) % 4;
        h[z] ^= h[x];
        h[x] = h[x].rotate_left(r);
        h[z] = h[z].wrapping_add(h[x]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spooky_short_check_value() {
        // folly's SpookyHashV2Test: Hash32 of the bytes 128, 129, … (16 of them),
        // seed 0, is 0xf274736c, the low half of h1.
        let bytes: [u8; 16] = std::array::from_fn(|i| 128 + i as u8);
        assert_eq!(spooky_v2_short16(&bytes).0 as u32, 0xf274_736c);
    }

    #[test]
    fn fnv_is_fnv1_with_signed_bytes() {
        // Bytes below 0x80 hash as plain FNV-1 ("a" is 0x050c5d7e); above, the
        // byte is sign-extended, so 0x80 differs from FNV-1's result.
        assert_eq!(fnv32_signed(b"a"), 0x050c_5d7e);
        let plain = 2_166_136_261u32.wrapping_mul(16_777_619) ^ 0x80;
        assert_eq!(fnv32_signed(&[0x80]), plain ^ 0xffff_ff00);
    }

    #[test]
    fn mapped_ipv6_hashes_as_ipv4() {
        let v4: Addr = "10.0.0.1".parse().unwrap();
        let v6: Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(
            address_hash(v4),
            hash_128_to_64(AF_INET, fnv32_signed(&[10, 0, 0, 1]) as u64)
        );
        assert_ne!(address_hash(v4), address_hash(v6));
    }
}
