//! Crypto-PAn: prefix-preserving address anonymisation (Xu, Fan, Ammar and Moon,
//! "Prefix-Preserving IP Address Anonymization", ICNP 2002).
//!
//! The i-th bit of the anonymised address is the i-th bit of the original flipped
//! by a pseudo-random function of the bits before it: f_i(a_1 … a_{i-1}). Two
//! addresses that agree on their first k bits compute the same first k flips and
//! so agree there too; at the first bit where they differ the flip is the same,
//! so they differ there as well. The function is AES-128 under the key's first
//! 16 bytes, applied to a block made of the address's first i−1 bits followed by
//! the rest of a pad (the key's last 16 bytes, encrypted), keeping the block's
//! first bit. This is the construction of the authors' reference implementation,
//! whose published sample key and address pairs the tests check. For IPv6 the
//! same construction runs over all 128 bits, as the common implementations do;
//! their shared test pairs are checked too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use aes::Aes128;
use aes::cipher::BlockEncrypt;

use super::Secret;

/// A keyed Crypto-PAn mapping.
pub struct CryptoPan {
    cipher: Aes128,
    pad: u128,
}

impl CryptoPan {
    pub fn new(key: &Secret) -> CryptoPan {
        let cipher = key.cipher();
        let pad = encrypt(&cipher, u128::from_be_bytes(key.pad_seed()));
        CryptoPan { cipher, pad }
    }

    /// The image of the `bits`-bit address held in the top bits of `address`.
    fn map(&self, address: u128, bits: u32) -> u128 {
        let mut flips = 0u128;
        for i in 0..bits {
            // The first i bits of the address, then the pad's.
            let kept = if i == 0 { 0 } else { u128::MAX << (128 - i) };
            let block = (address & kept) | (self.pad & !kept);
            flips |= (encrypt(&self.cipher, block) >> 127) << (127 - i);
        }
        address ^ flips
    }

    pub fn v4(&self, a: Ipv4Addr) -> Ipv4Addr {
        Ipv4Addr::from((self.map(u128::from(u32::from(a)) << 96, 32) >> 96) as u32)
    }

    pub fn v6(&self, a: Ipv6Addr) -> Ipv6Addr {
        Ipv6Addr::from(self.map(u128::from(a), 128))
    }

    /// An address of either family; an IPv4-mapped IPv6 address keeps its form,
    /// with its IPv4 address anonymised, since a balancer sees it as that IPv4
    /// address.
    pub fn ip(&self, a: IpAddr) -> IpAddr {
        match a {
            IpAddr::V4(v4) => IpAddr::V4(self.v4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V6(self.v4(v4).to_ipv6_mapped()),
                None => IpAddr::V6(self.v6(v6)),
            },
        }
    }
}

/// AES-128 of one block, as a big-endian number.
pub fn encrypt(cipher: &Aes128, block: u128) -> u128 {
    let mut b = block.to_be_bytes().into();
    cipher.encrypt_block(&mut b);
    u128::from_be_bytes(b.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample key of the reference implementation's distribution.
    pub const SAMPLE_KEY: [u8; 32] = [
        21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16, 216, 152, 143, 131, 121, 121, 101, 39,
        98, 87, 76, 45, 42, 132, 34, 2,
    ];

    /// Pairs of its sample trace, raw and sanitised.
    const V4: [(&str, &str); 24] = [
        ("128.11.68.132", "135.242.180.132"),
        ("129.118.74.4", "134.136.186.123"),
        ("130.132.252.244", "133.68.164.234"),
        ("141.223.7.43", "141.167.8.160"),
        ("141.233.145.108", "141.129.237.235"),
        ("152.163.225.39", "151.140.114.167"),
        ("156.29.3.236", "147.225.12.42"),
        ("165.247.96.84", "162.9.99.234"),
        ("166.107.77.190", "160.132.178.185"),
        ("192.102.249.13", "252.138.62.131"),
        ("192.215.32.125", "252.43.47.189"),
        ("192.233.80.103", "252.25.108.8"),
        ("192.41.57.43", "252.222.221.184"),
        ("193.150.244.223", "253.169.52.216"),
        ("195.205.63.100", "255.186.223.5"),
        ("198.200.171.101", "249.199.68.213"),
        ("24.0.250.221", "100.15.198.226"),
        ("24.13.62.231", "100.2.192.247"),
        ("38.15.67.68", "64.3.66.187"),
        ("4.3.88.225", "124.60.155.63"),
        ("63.14.55.111", "95.9.215.7"),
        ("64.14.118.196", "0.255.183.58"),
        ("64.34.154.117", "0.221.154.117"),
        ("10.185.25.118", "117.161.29.118"),
    ];

    /// The IPv6 pairs the Go, Rust, C++ and JavaScript implementations share.
    const V6: [(&str, &str); 5] = [
        ("::1", "78ff:f001:9fc0:20df:8380:b1f1:704:ed"),
        ("::2", "78ff:f001:9fc0:20df:8380:b1f1:704:ef"),
        ("::ffff", "78ff:f001:9fc0:20df:8380:b1f1:704:f838"),
        ("2001:db8::1", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"),
        ("2001:db8::2", "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"),
    ];

    #[test]
    fn matches_the_published_vectors() {
        let pan = CryptoPan::new(&Secret::new(SAMPLE_KEY));
        for (raw, anon) in V4.iter().chain(&V6) {
            let raw: IpAddr = raw.parse().unwrap();
            assert_eq!(pan.ip(raw), anon.parse::<IpAddr>().unwrap(), "{raw}");
        }
    }

    #[test]
    fn prefixes_are_kept_exactly() {
        let pan = CryptoPan::new(&Secret::generate());
        let pairs: [(&str, &str, u32); 4] = [
            ("203.0.113.7", "203.0.113.200", 24),
            ("203.0.113.7", "203.0.112.7", 23),
            ("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", 64),
            ("2001:db8:1:2::1", "2001:db8:1:3::1", 63),
        ];
        for (a, b, shared) in pairs {
            let (a, b): (IpAddr, IpAddr) = (a.parse().unwrap(), b.parse().unwrap());
            let common = |x: IpAddr, y: IpAddr| match (x, y) {
                (IpAddr::V4(x), IpAddr::V4(y)) => (u32::from(x) ^ u32::from(y)).leading_zeros(),
                (IpAddr::V6(x), IpAddr::V6(y)) => (u128::from(x) ^ u128::from(y)).leading_zeros(),
                _ => unreachable!("one family"),
            };
            assert_eq!(common(a, b), shared);
            assert_eq!(common(pan.ip(a), pan.ip(b)), shared, "{a} {b}");
        }
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        let IpAddr::V4(anon) = pan.ip(v4) else { unreachable!() };
        assert_eq!(pan.ip(mapped), IpAddr::V6(anon.to_ipv6_mapped()));
    }
}
