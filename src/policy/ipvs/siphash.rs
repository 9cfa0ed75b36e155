//! SipHash (Aumasson & Bernstein), as the Linux kernel uses it for `hsiphash`.
//!
//! `hsiphash` is the kernel's fast, "insecure" hash for hash tables. On 64-bit
//! kernels it is SipHash-1-3 (one compression round per 8-byte word, three
//! finalization rounds) with two 64-bit key words, truncated to its low 32 bits;
//! 32-bit kernels run HalfSipHash-1-3 instead, which gives other values. IPVS `mh`
//! hashes a 4-byte number with it, read in the CPU's byte order (little-endian on
//! x86 and arm64), so lbsim models a 64-bit little-endian kernel.

/// SipHash with `C` compression and `D` finalization rounds of `data` under `key`.
pub fn siphash<const C: usize, const D: usize>(key: [u64; 2], data: &[u8]) -> u64 {
    let mut v = init(key);
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let m = u64::from_le_bytes(word.try_into().expect("chunks of 8 bytes"));
        absorb::<C>(&mut v, m);
    }
    // The last word holds the leftover bytes and, in its top byte, the length.
    let mut last = (data.len() as u64) << 56;
    for (i, &b) in words.remainder().iter().enumerate() {
        last |= (b as u64) << (8 * i);
    }
    absorb::<C>(&mut v, last);
    finish::<D>(v)
}

/// The kernel's `hsiphash` of a 4-byte value on a 64-bit little-endian machine.
pub fn hsiphash_u32(value: u32, key: [u64; 2]) -> u32 {
    let mut v = init(key);
    absorb::<1>(&mut v, (4 << 56) | value as u64);
    finish::<3>(v) as u32
}

fn init(key: [u64; 2]) -> [u64; 4] {
    [
        0x736f_6d65_7073_6575 ^ key[0],
        0x646f_7261_6e64_6f6d ^ key[1],
        0x6c79_6765_6e65_7261 ^ key[0],
        0x7465_6462_7974_6573 ^ key[1],
    ]
}

fn absorb<const C: usize>(v: &mut [u64; 4], m: u64) {
    v[3] ^= m;
    for _ in 0..C {
        round(v);
    }
    v[0] ^= m;
}

fn finish<const D: usize>(mut v: [u64; 4]) -> u64 {
    v[2] ^= 0xff;
    for _ in 0..D {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference key 00 01 02 … 0f of the SipHash paper and its test vectors.
    const REFERENCE_KEY: [u64; 2] = [0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908];

    #[test]
    fn siphash_2_4_reference_vectors() {
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(siphash::<2, 4>(REFERENCE_KEY, &[]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash::<2, 4>(REFERENCE_KEY, &msg[..4]), 0xcf27_94e0_2771_87b7);
        // The example worked through in the paper's appendix.
        assert_eq!(siphash::<2, 4>(REFERENCE_KEY, &msg), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn siphash_1_3_matches_cpython() {
        // CPython hashes bytes with SipHash-1-3; with PYTHONHASHSEED=0 its key is zero,
        // so hash(b"abcd") = -2030606670787596663, i.e. 0xe3d1d5fdd52aae89.
        assert_eq!(siphash::<1, 3>([0, 0], b"abcd"), 0xe3d1_d5fd_d52a_ae89);
        assert_eq!(siphash::<1, 3>([0, 0], b"hello world, siphash"), 0x968e_8130_4724_9cf5);
    }

    #[test]
    fn hsiphash_is_siphash_1_3_of_four_bytes() {
        for v in [0u32, 1, 0x0a00_0051, 0xdead_beef, u32::MAX] {
            for key in [[0, 0], [2_654_435_761, 2_654_435_761], [1, u64::MAX]] {
                assert_eq!(hsiphash_u32(v, key), siphash::<1, 3>(key, &v.to_le_bytes()) as u32);
            }
        }
    }

    #[test]
    fn hsiphash_with_the_ipvs_mh_keys() {
        // Computed by an independent SipHash-1-3 implementation (checked against the
        // reference 2-4 vectors and CPython) for the keys of ip_vs_mh.c.
        let (h1, h2) = ([2_654_435_761; 2], [2_654_446_892; 2]);
        assert_eq!(hsiphash_u32(0x0a00_0001 + 80, h1), 1_134_300_350);
        assert_eq!(hsiphash_u32(0x0a00_0001 + 80, h2), 2_545_146_951);
        assert_eq!(hsiphash_u32(0xc0a8_010a, h1), 3_588_839_862);
        assert_eq!(hsiphash_u32(0, h1), 492_468_162);
        assert_eq!(hsiphash_u32(u32::MAX, h2), 4_149_874_525);
    }
}
