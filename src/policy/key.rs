//! What a policy can see of a client: its public source address and port, and (for
//! policies whose memory lives in the client, like cookies) which user it is.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// A public IPv4 or IPv6 address, stored as 16 bytes (IPv4 as `::ffff:a.b.c.d`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Addr(pub u128);

const V4_MAPPED: u128 = 0xffff << 32;

impl Addr {
    pub fn v4(a: u32) -> Addr {
        Addr(V4_MAPPED | a as u128)
    }

    pub fn v6(a: u128) -> Addr {
        Addr(a)
    }

    pub fn is_v4(self) -> bool {
        self.0 >> 32 == 0xffff
    }

    /// The 16 bytes in network order.
    pub fn octets(self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    pub fn ip(self) -> IpAddr {
        if self.is_v4() {
            IpAddr::V4(Ipv4Addr::from(self.0 as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(self.0))
        }
    }
}

impl From<IpAddr> for Addr {
    fn from(ip: IpAddr) -> Addr {
        match ip {
            IpAddr::V4(a) => Addr::v4(a.into()),
            IpAddr::V6(a) => Addr::v6(a.into()),
        }
    }
}

impl FromStr for Addr {
    type Err = String;
    fn from_str(s: &str) -> Result<Addr, String> {
        s.trim().parse::<IpAddr>().map(Addr::from).map_err(|_| {
            format!("invalid address {s:?}: expected an IPv4 or IPv6 address, e.g. \"192.168.1.1\" or \"2001:db8::1\"")
        })
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.ip().fmt(f)
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The client side of one request, as a load balancer sees it.
#[derive(Clone, Copy, Debug)]
pub struct Client {
    /// The user behind the request; only client-held memory (cookies) may use it.
    pub user: u32,
    pub addr: Addr,
    pub port: u16,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_and_v6_round_trip() {
        let a: Addr = "192.168.1.1".parse().unwrap();
        assert!(a.is_v4());
        assert_eq!(a.to_string(), "192.168.1.1");
        let b: Addr = "2001:db8::1".parse().unwrap();
        assert!(!b.is_v4());
        assert_eq!(b.to_string(), "2001:db8::1");
        assert!("300.1.1.1".parse::<Addr>().is_err());
    }
}
