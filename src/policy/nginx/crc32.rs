//! CRC-32 as zlib, Ethernet and nginx compute it (IEEE 802.3: reflected polynomial
//! 0xEDB88320, initial value and final xor all ones), one table lookup per byte.
//!
//! nginx's `hash` directive hashes its key with it, and its ketama ring chains
//! unfinished CRC states, so the state is a value of its own: start it, feed it
//! bytes in pieces, finish it when the hash is wanted.

/// The CRC of every byte value, computed at compile time.
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 1 == 1 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            bit += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// A CRC-32 computation in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crc32(u32);

impl Crc32 {
    pub const fn new() -> Crc32 {
        Crc32(u32::MAX)
    }

    /// The state after `bytes` more; feeding "ab" then "c" equals feeding "abc".
    #[must_use]
    pub fn update(self, bytes: &[u8]) -> Crc32 {
        Crc32(
            bytes
                .iter()
                .fold(self.0, |c, &b| TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8)),
        )
    }

    /// The CRC of everything fed so far.
    pub fn finish(self) -> u32 {
        !self.0
    }
}

impl Default for Crc32 {
    fn default() -> Crc32 {
        Crc32::new()
    }
}

/// The CRC-32 of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    Crc32::new().update(bytes).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_check_values() {
        // The check value every CRC-32/ISO-HDLC implementation publishes.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"The quick brown fox jumps over the lazy dog"), 0x414F_A339);
        // Reference §2b: nginx's hash of the key "192.168.1.10".
        assert_eq!(crc32(b"192.168.1.10"), 260_560_567);
    }

    #[test]
    fn pieces_equal_the_whole() {
        let whole = crc32(b"10.0.0.1\x0080");
        assert_eq!(
            Crc32::new().update(b"10.0.0.1").update(&[0]).update(b"80").finish(),
            whole
        );
    }
}
