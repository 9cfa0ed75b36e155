//! A user's public address in 64 bits, so that remembering a user's last address
//! costs 8 bytes.

/// An IPv4 address, or (with the top bit set) an IPv6 /64 index and the
/// generation of the temporary interface identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Packed(pub u64);

const V6: u64 = 1 << 63;

impl Packed {
    pub fn v4(a: u32) -> Packed {
        Packed(a as u64)
    }

    pub fn v6(prefix: u32, generation: u32) -> Packed {
        Packed(V6 | ((generation as u64 & 0x7fff_ffff) << 32) | prefix as u64)
    }

    pub fn is_v6(self) -> bool {
        self.0 & V6 != 0
    }

    pub fn generation(self) -> u32 {
        ((self.0 & !V6) >> 32) as u32
    }
}
