//! MurmurHash3 (Austin Appleby), the x64_128 variant run on exactly one 16-byte
//! block: Katran's `MurmurHash3_x64_64(A, B, seed)`, which draws each real's Maglev
//! permutation from two 64-bit words instead of a byte string.

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

/// The 64-bit finalizer: every input bit affects every output bit.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// MurmurHash3_x64_128 of the 16 bytes `a, b` (little-endian), returning the
/// first half of the digest (h1 + h2 after finalization).
pub fn murmur3_x64_64(a: u64, b: u64, seed: u32) -> u64 {
    let (mut h1, mut h2) = (seed as u64, seed as u64);

    let k1 = a.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
    h1 ^= k1;
    h1 = h1
        .rotate_left(27)
        .wrapping_add(h2)
        .wrapping_mul(5)
        .wrapping_add(0x52dc_e729);

    let k2 = b.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
    h2 ^= k2;
    h2 = h2
        .rotate_left(31)
        .wrapping_add(h1)
        .wrapping_mul(5)
        .wrapping_add(0x3849_5ab5);

    // The length, 16 bytes, goes into both halves before they are mixed together.
    h1 ^= 16;
    h2 ^= 16;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    fmix64(h1).wrapping_add(fmix64(h2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_reference_x64_128() {
        // The first 64 bits of MurmurHash3_x64_128 over the same 16 bytes, as the
        // independent `mmh3` package (Python) computes them.
        assert_eq!(murmur3_x64_64(0, 42, 0), 4_235_526_421_325_011_168);
        assert_eq!(
            murmur3_x64_64(0x0123_4567_89ab_cdef, 2_718_281_828, 2307),
            6_342_609_481_530_693_141
        );
        assert_eq!(murmur3_x64_64(u64::MAX, u64::MAX, u32::MAX), 493_744_196_233_510_656);
    }
}
