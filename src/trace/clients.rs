//! Clients: who sent each request, as a user id and the address a balancer sees.
//!
//! A log names a client by its address, or by a host name when the server looked
//! addresses up (as NCSA httpd and Apache's `HostnameLookups` did). A name stands
//! for one address just as an address does, so it gets one: a keyed hash of the
//! name (ASCII letters folded to lower case, as DNS compares them) into
//! 240.0.0.0/4, the IPv4 block reserved for future use, where no real client can
//! be. Every policy that keys on the address then sees one steady address per name.
//! The key is a secret ([`Secret`]), made afresh for each run unless one is
//! given, so that no one can tell from a name which address it got (and so where
//! it was routed) without the key; the same key gives the same addresses every
//! time, and `lbsim anonymize` writes a name as its address under the key it is
//! given. The hash is AES-128 under the key, of a 128-bit XXH3 digest of the
//! name. What the hash cannot give back is the name's network:
//! named clients land in random /24s, so prefix keys treat each as a network of
//! its own, and two names in one real network are never grouped. Two names may
//! share an address when their hashes meet in the block's 2^28 addresses (about
//! n²/2^29 pairs among n names): for the policies that is a small NAT; they stay
//! two users.
//!
//! Users are the distinct client strings: one user per address or name, each in
//! its own sessions. An address and the name it resolves to are two users.

use std::collections::HashMap;

use aes::Aes128;
use xxhash_rust::xxh3::xxh3_128;

use crate::policy::key::Addr;
use crate::privacy::Secret;
use crate::privacy::cryptopan::encrypt;

/// 240.0.0.0/4: reserved (RFC 1112, RFC 6890), never a real client's source.
const NAME_BLOCK: u32 = 0xf000_0000;

/// The address a host name stands for under the key `cipher`, given the name
/// in lower case.
pub fn name_address(folded: &str, cipher: &Aes128) -> Addr {
    let hash = (encrypt(cipher, xxh3_128(folded.as_bytes())) >> 96) as u32;
    Addr::v4(NAME_BLOCK | (hash & !NAME_BLOCK))
}

/// `name` with ASCII letters in lower case, as DNS compares names, into `folded`.
pub fn fold(name: &str, folded: &mut String) {
    folded.clear();
    folded.extend(name.chars().map(|c| c.to_ascii_lowercase()));
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Key {
    Addr(Addr),
    /// A 128-bit hash of the folded name: no need to keep the names themselves.
    Name(u128),
}

/// The clients of a log, numbered in order of first appearance.
pub struct Clients {
    ids: HashMap<Key, u32>,
    /// Each client's address, by id.
    pub addrs: Vec<Addr>,
    /// Clients known by a host name rather than an address.
    pub named: u32,
    folded: String,
    /// Keys the hash of names.
    cipher: Aes128,
}

impl Clients {
    /// No clients yet; host names will be hashed under `key`.
    pub fn new(key: &Secret) -> Clients {
        Clients {
            ids: HashMap::new(),
            addrs: Vec::new(),
            named: 0,
            folded: String::new(),
            cipher: key.cipher(),
        }
    }

    /// The id of `client`, numbering it if it is new.
    pub fn id(&mut self, client: &str) -> u32 {
        let key = match client.parse::<std::net::IpAddr>() {
            Ok(ip) => Key::Addr(ip.into()),
            Err(_) => {
                fold(client, &mut self.folded);
                Key::Name(xxh3_128(self.folded.as_bytes()))
            }
        };
        let next = self.addrs.len() as u32;
        let id = *self.ids.entry(key).or_insert(next);
        if id == next {
            let addr = match key {
                Key::Addr(a) => a,
                Key::Name(_) => {
                    self.named += 1;
                    name_address(&self.folded, &self.cipher)
                }
            };
            self.addrs.push(addr);
        }
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> Secret {
        Secret::new([byte; 32])
    }

    #[test]
    fn names_become_steady_reserved_addresses() {
        let mut c = Clients::new(&key(7));
        let id = c.id("PiWeba3y.Prodigy.COM");
        c.id("piweba4y.prodigy.com");
        let a = c.addrs[id as usize];
        assert_eq!(a, name_address("piweba3y.prodigy.com", &key(7).cipher()));
        assert_ne!(a, c.addrs[1]);
        assert!(a.is_v4() && a.octets()[12] >= 240, "{a}");
        // Pinned: a change would move every named client of results published
        // with their key.
        assert_eq!(a.to_string(), PINNED);
        // Another key, another address.
        assert_ne!(a, name_address("piweba3y.prodigy.com", &key(8).cipher()));
    }

    const PINNED: &str = "244.101.98.57";

    #[test]
    fn one_user_per_address_or_name() {
        let mut c = Clients::new(&key(7));
        let ids: Vec<u32> = [
            "10.0.0.1",
            "host.example",
            "HOST.example",
            "10.0.0.1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ]
        .iter()
        .map(|x| c.id(x))
        .collect();
        assert_eq!(ids, [0, 1, 1, 0, 2, 0]);
        assert_eq!((c.addrs.len(), c.named), (3, 1));
        assert_eq!(c.addrs[0].to_string(), "10.0.0.1");
        assert_eq!(c.addrs[2].to_string(), "2001:db8::1");
    }
}
