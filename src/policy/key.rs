//! What a policy can see of a client: its public source address and port, and (for
//! policies whose memory lives in the client, like cookies) which user it is; and
//! which of these a hash policy keys on.

use std::fmt::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use super::{Affinity, Args, Param, SpecError};

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

    /// The network the address is in: its /24 (IPv4) or /64 (IPv6).
    pub fn prefix(self) -> Addr {
        if self.is_v4() {
            Addr(self.0 & !0xff)
        } else {
            Addr(self.0 & !(u64::MAX as u128))
        }
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
    /// Which of the user's concurrent connections carries the request.
    pub connection: u8,
    /// The request opens that connection (its first, or the first after it
    /// closed): a per-connection balancer places it afresh.
    pub new_connection: bool,
}

/// What a hash policy hashes: the `key` parameter. A product that can only hash one
/// thing accepts only that; the others accept what their configuration can express.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    /// The full source address (/32, /128).
    Source,
    /// The source network, /24 for IPv4 and /64 for IPv6: survives renumbering
    /// inside the network, and puts a whole network on one server.
    Prefix,
    /// Source address and port: a new key for every connection, so no affinity
    /// beyond one connection.
    SourcePort,
    /// A session id the application hands out and the client sends back (a header or
    /// cookie value): survives address changes.
    Session,
}

impl Key {
    pub const ALL: [Key; 4] = [Key::Source, Key::Prefix, Key::SourcePort, Key::Session];

    pub fn name(self) -> &'static str {
        match self {
            Key::Source => "source",
            Key::Prefix => "prefix",
            Key::SourcePort => "source_port",
            Key::Session => "session",
        }
    }

    /// The `key` parameter for a policy that accepts every choice.
    pub const PARAM: Param = Param {
        name: "key",
        default: "source",
        help: "what is hashed: source (address), prefix (/24 or /64), source_port, session (session id)",
    };

    /// Reads the `key` parameter, accepting the choices in `allowed`.
    pub fn read(args: &mut Args, allowed: &[Key]) -> Result<Key, SpecError> {
        let names: Vec<&str> = allowed.iter().map(|k| k.name()).collect();
        Ok(allowed[args.choice("key", &names)?])
    }

    /// Which events break affinity on this key.
    pub fn affinity(self) -> Affinity {
        match self {
            Key::Session => Affinity::Client,
            _ => Affinity::Address,
        }
    }

    /// The key as 128 bits, for lbsim's own hashes: the address itself for
    /// `Source`, so those mappings do not depend on the choice being available.
    pub fn bits(self, c: &Client) -> u128 {
        match self {
            Key::Source => c.addr.0,
            Key::Prefix => c.addr.prefix().0,
            // The port fills bits that are zero in an IPv4-mapped address.
            Key::SourcePort => c.addr.0 ^ ((c.port as u128) << 112),
            Key::Session => SESSION_TAG | c.user as u128,
        }
    }

    /// The key as an address, for products that hash the binary address.
    /// Only `Source` and `Prefix` have one.
    pub fn addr(self, c: &Client) -> Addr {
        match self {
            Key::Prefix => c.addr.prefix(),
            _ => c.addr,
        }
    }

    /// The key as text, the way a product that hashes a request variable sees it:
    /// `192.168.1.10`, `192.168.1.0`, `192.168.1.10:40000`, `s0000002a`.
    pub fn text<'b>(self, c: &Client, buf: &'b mut KeyText) -> &'b [u8] {
        buf.len = 0;
        if c.addr.is_v4() && self != Key::Session {
            // Digit by digit: through the formatting machinery an address costs
            // over 100 ns, several times the rest of a pick.
            for (i, &octet) in self.addr(c).octets()[12..].iter().enumerate() {
                if i > 0 {
                    buf.push(b'.');
                }
                buf.decimal(octet as u32);
            }
            if self == Key::SourcePort {
                buf.push(b':');
                buf.decimal(c.port as u32);
            }
            return &buf.bytes[..buf.len];
        }
        // The longest text, an IPv6 address with a port, fits in the buffer.
        let _ = match self {
            Key::Source => write!(buf, "{}", c.addr),
            Key::Prefix => write!(buf, "{}", c.addr.prefix()),
            Key::SourcePort => write!(buf, "{}:{}", c.addr, c.port),
            Key::Session => write!(buf, "s{:08x}", c.user),
        };
        &buf.bytes[..buf.len]
    }
}

/// Marks session keys, so that they never equal an address key.
const SESSION_TAG: u128 = 1 << 127;

/// A stack buffer for a key's text, so that hashing text allocates nothing.
pub struct KeyText {
    bytes: [u8; 64],
    len: usize,
}

impl Default for KeyText {
    fn default() -> KeyText {
        KeyText { bytes: [0; 64], len: 0 }
    }
}

impl KeyText {
    /// What has been written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    fn push(&mut self, b: u8) {
        self.bytes[self.len] = b;
        self.len += 1;
    }

    /// Appends `n` (below 100,000) in decimal.
    fn decimal(&mut self, mut n: u32) {
        let digits = [10, 100, 1000, 10_000].iter().take_while(|&&p| n >= p).count() + 1;
        for i in (self.len..self.len + digits).rev() {
            self.bytes[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.len += digits;
    }
}

impl Write for KeyText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or(fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_as_text() {
        let mut buf = KeyText::default();
        let c = Client {
            user: 42,
            addr: "192.168.1.10".parse().unwrap(),
            port: 40_000,
            connection: 0,
            new_connection: true,
        };
        let text = |k: Key, c: &Client, buf: &mut KeyText| String::from_utf8(k.text(c, buf).to_vec()).unwrap();
        assert_eq!(text(Key::Source, &c, &mut buf), "192.168.1.10");
        assert_eq!(text(Key::Prefix, &c, &mut buf), "192.168.1.0");
        assert_eq!(text(Key::SourcePort, &c, &mut buf), "192.168.1.10:40000");
        assert_eq!(text(Key::Session, &c, &mut buf), "s0000002a");
        let v6 = Client {
            addr: "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff".parse().unwrap(),
            ..c
        };
        assert_eq!(text(Key::Prefix, &v6, &mut buf), "2001:db8:aaaa:bbbb::");
        assert_eq!(
            text(Key::SourcePort, &v6, &mut buf),
            "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff:40000"
        );
    }

    proptest::proptest! {
        /// The digit-by-digit IPv4 text is what the formatter writes.
        #[test]
        fn v4_text_is_the_formatted_address(a: u32, port: u16) {
            let c = Client { user: 9, addr: Addr::v4(a), port, connection: 0, new_connection: true };
            let mut buf = KeyText::default();
            let (ip, net) = (std::net::Ipv4Addr::from(a), std::net::Ipv4Addr::from(a & !0xff));
            let (source, with_port, prefix) = (ip.to_string(), format!("{ip}:{port}"), net.to_string());
            proptest::prop_assert_eq!(Key::Source.text(&c, &mut buf), source.as_bytes());
            proptest::prop_assert_eq!(Key::SourcePort.text(&c, &mut buf), with_port.as_bytes());
            proptest::prop_assert_eq!(Key::Prefix.text(&c, &mut buf), prefix.as_bytes());
        }
    }

    #[test]
    fn keys_as_bits_differ_by_choice() {
        let c = Client {
            user: 7,
            addr: "10.0.0.7".parse().unwrap(),
            port: 50_000,
            connection: 0,
            new_connection: true,
        };
        let bits: std::collections::HashSet<u128> = Key::ALL.iter().map(|k| k.bits(&c)).collect();
        assert_eq!(bits.len(), 4);
        assert_eq!(Key::Source.bits(&c), c.addr.0);
    }

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
