//! Bob Jenkins' lookup3 hash as the Linux kernel's `jhash.h` has it (and Katran's
//! BPF program copies): the hash of a packet's source, ports and seed that picks a
//! slot of the Maglev ring.

const INITVAL: u32 = 0xdead_beef;

/// Mixes three words reversibly (lookup3 `mix`), between 12-byte blocks.
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c) ^ c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c) ^ c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a) ^ a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b) ^ b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

/// Final avalanche of three words into `c` (lookup3 `final`).
fn finish(mut a: u32, mut b: u32, mut c: u32) -> u32 {
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(14));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(11));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(25));
    c ^= b;
    c = c.wrapping_sub(b.rotate_left(16));
    a ^= c;
    a = a.wrapping_sub(c.rotate_left(4));
    b ^= a;
    b = b.wrapping_sub(a.rotate_left(14));
    c ^= b;
    c.wrapping_sub(b.rotate_left(24))
}

/// `jhash(key, length, initval)`: words are read little-endian, as on x86.
pub fn jhash(key: &[u8], initval: u32) -> u32 {
    let start = INITVAL.wrapping_add(key.len() as u32).wrapping_add(initval);
    let (mut a, mut b, mut c) = (start, start, start);
    let word = |k: &[u8], i: usize| {
        let mut w = [0u8; 4];
        let end = k.len().min(i + 4);
        if i < end {
            w[..end - i].copy_from_slice(&k[i..end]);
        }
        u32::from_le_bytes(w)
    };
    let mut k = key;
    while k.len() > 12 {
        a = a.wrapping_add(word(k, 0));
        b = b.wrapping_add(word(k, 4));
        c = c.wrapping_add(word(k, 8));
        mix(&mut a, &mut b, &mut c);
        k = &k[12..];
    }
    if k.is_empty() {
        return c;
    }
    // The last 1..=12 bytes, zero-padded.
    finish(
        a.wrapping_add(word(k, 0)),
        b.wrapping_add(word(k, 4)),
        c.wrapping_add(word(k, 8)),
    )
}

/// `jhash_2words(a, b, initval)`: two words and a seed, one final mix.
pub fn jhash_2words(a: u32, b: u32, initval: u32) -> u32 {
    let seed = initval.wrapping_add(INITVAL).wrapping_add(2 << 2);
    finish(a.wrapping_add(seed), b.wrapping_add(seed), seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup3_check_values() {
        // The self-test values printed by lookup3.c's driver for hashlittle(),
        // which jhash() equals on little-endian machines.
        assert_eq!(jhash(b"", 0), 0xdead_beef);
        assert_eq!(jhash(b"", 0xdead_beef), 0xbd5b_7dde);
        assert_eq!(jhash(b"Four score and seven years ago", 0), 0x1777_0551);
        assert_eq!(jhash(b"Four score and seven years ago", 1), 0xcd62_8161);
    }

    #[test]
    fn two_words_is_the_three_word_final_mix() {
        // jhash_2words(a, b, s) is lookup3's final on (a, b, 0) seeded with s + 8:
        // the same as hashing the two words as 8 bytes, whose seed adds the length.
        let (a, b) = (0x0101_a8c0u32, 0x5000_697au32);
        let bytes: Vec<u8> = [a.to_le_bytes(), b.to_le_bytes()].concat();
        assert_eq!(jhash_2words(a, b, 77), jhash(&bytes, 77));
    }
}
