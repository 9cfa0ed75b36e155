//! The flow tuples cloud network balancers hash to pick a backend: (source IP,
//! source port, destination IP, destination port, protocol) and its shorter forms.
//!
//! The products publish which fields they hash, not the hash itself, so lbsim
//! hashes the fields with its own XXH3. In lbsim every request reaches one frontend
//! address and port over TCP, so the destination and the protocol are the same for
//! every client: the 1-, 2- and 3-tuples keep exactly the same clients together and
//! differ only in which backend each client lands on (each tuple kind seeds the hash
//! differently). The 5-tuple adds the source port, a new one per connection, so it
//! keeps a client only for the life of one connection.

use xxhash_rust::xxh3::xxh3_64_with_seed;

use super::{Affinity, Client};

/// Which fields of a flow are hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tuple {
    /// Source IP only.
    One,
    /// Source and destination IP.
    Two,
    /// Source and destination IP and the protocol.
    Three,
    /// Source and destination IP and port, and the protocol.
    Five,
}

impl Tuple {
    /// The hash of the client's flow.
    pub fn hash(self, client: &Client) -> u64 {
        let port = if self == Tuple::Five { client.port } else { 0 };
        // The port fills bits that are zero in an IPv4-mapped address; the seed
        // stands for the constant fields of the longer tuples.
        let bits = client.addr.0 ^ ((port as u128) << 112);
        xxh3_64_with_seed(&bits.to_be_bytes(), self as u64)
    }

    /// What keeps a client on its backend: its address, or with the source port
    /// nothing beyond one connection.
    pub fn affinity(self) -> Affinity {
        match self {
            Tuple::Five => Affinity::None,
            _ => Affinity::Address,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::at;

    #[test]
    fn only_the_five_tuple_sees_the_port() {
        let (a, mut b) = (at("198.51.100.7"), at("198.51.100.7"));
        b.port += 1;
        for t in [Tuple::One, Tuple::Two, Tuple::Three] {
            assert_eq!(t.hash(&a), t.hash(&b), "{t:?}");
        }
        assert_ne!(Tuple::Five.hash(&a), Tuple::Five.hash(&b));
        assert_ne!(Tuple::Two.hash(&a), Tuple::Three.hash(&a), "each kind hashes apart");
        assert_eq!(Tuple::Five.affinity(), Affinity::None);
        assert_eq!(Tuple::Two.affinity(), Affinity::Address);
    }
}
