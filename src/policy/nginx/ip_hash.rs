//! nginx `ip_hash`: the first three octets of an IPv4 client (its /24), or all 16
//! bytes of an IPv6 one, folded into a hash below 6271 that picks a server by
//! weight from the configured list.
//!
//! Every client of a /24 lands on the same server, so a CGNAT block or an office
//! network is one key: one server takes all of it. A server marked down keeps its
//! place in the list; its clients are rehashed by feeding the same bytes once more
//! into the running hash, so they move and nobody else does. Adding or removing a
//! server changes the total weight and remaps most networks. After 21 misses the
//! request goes to round robin. The key is fixed: nginx's `ip_hash` has no
//! parameters.

use super::{Rehashed, Tries};
use crate::policy::{Addr, Affinity, Client, PolicyInfo};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "nginx.ip_hash",
    summary: "nginx ip_hash: the IPv4 /24 (first 3 octets) or full IPv6 address, hashed mod the configured weight; \
              down servers rehash, 21 tries then round robin; the key is fixed",
    params: &[],
    build: |_, ctx| Ok(Box::new(Rehashed::new(IpHash, ctx.pool))),
};

/// Where nginx's hash starts for every request.
const SEED: u32 = 89;

/// One pass of the hash over the key bytes, continuing from `hash`.
fn fold(hash: u32, key: &[u8]) -> u32 {
    key.iter().fold(hash, |h, &b| (h * 113 + b as u32) % 6271)
}

/// The bytes nginx hashes: the first 3 octets of IPv4, all 16 of IPv6.
fn key_bytes(addr: &Addr) -> ([u8; 16], usize) {
    let octets = addr.octets();
    if addr.is_v4() {
        let mut key = [0; 16];
        key[..3].copy_from_slice(&octets[12..15]);
        (key, 3)
    } else {
        (octets, 16)
    }
}

/// The tries of `ip_hash`: the key bytes fed again and again into one running hash.
pub struct IpHash;

impl Tries for IpHash {
    fn positions(&self, client: &Client) -> impl Iterator<Item = u64> {
        let (key, len) = key_bytes(&client.addr);
        std::iter::successors(Some(fold(SEED, &key[..len])), move |&h| Some(fold(h, &key[..len]))).map(u64::from)
    }

    fn affinity(&self) -> Affinity {
        Affinity::Address
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::weighted;
    use super::*;
    use crate::engine::Stream;
    use crate::policy::testing::{adding_moves_as_mod_n, at, built, client, failure_moves_only_its_clients};
    use crate::pool::{Pool, ServerId};
    use proptest::prelude::*;

    const CLIENTS: [&str; 6] = [
        "192.168.1.10",
        "192.168.1.200",
        "10.0.0.1",
        "172.16.5.4",
        "8.8.8.8",
        "203.0.113.7",
    ];

    fn picks(pool: &Pool) -> Vec<ServerId> {
        let p = built("nginx.ip_hash", pool);
        CLIENTS.iter().map(|ip| p.peek(&at(ip), 0, pool).unwrap()).collect()
    }

    #[test]
    fn reference_vectors() {
        // Reference §1, from a model that matched a real nginx build.
        let first_pass: Vec<u32> = CLIENTS
            .iter()
            .map(|ip| {
                let (key, len) = key_bytes(&ip.parse().unwrap());
                fold(SEED, &key[..len])
            })
            .collect();
        assert_eq!(first_pass, [154, 154, 2565, 3526, 3023, 2592]);
        assert_eq!(picks(&weighted(&[1, 1, 1], &[])), [1, 1, 0, 1, 2, 0]);
        assert_eq!(picks(&weighted(&[2, 1, 3], &[])), [2, 2, 2, 2, 2, 0]);
        assert_eq!(picks(&weighted(&[1, 1, 1, 1], &[1])), [2, 2, 3, 2, 3, 0]);
    }

    #[test]
    fn ipv6_hashes_all_16_bytes() {
        let (key, len) = key_bytes(&"2001:db8::1".parse().unwrap());
        assert_eq!(len, 16);
        assert_eq!(key[15], 1);
        let (a, b) = (at("2001:db8::1"), at("2001:db8::2"));
        let hash = |c: &Client| {
            let (key, len) = key_bytes(&c.addr);
            fold(SEED, &key[..len])
        };
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn with_every_server_down_but_one_unreachable_by_hash_round_robin_decides() {
        // 20 servers, all down but the last: some /24s miss it 21 times in a row.
        let down: Vec<usize> = (0..19).collect();
        let pool = weighted(&[1; 20], &down);
        let mut p = built("nginx.ip_hash", &pool);
        let fallback = (0..2000).find(|&i| p.peek(&client(i), 0, &pool).is_none());
        let i = fallback.expect("some client exhausts its tries");
        let mut rng = Stream::Policy.rng(1, 0, 0);
        assert_eq!(p.pick(&client(i), 0, &pool, &mut rng).server, 19);
    }

    #[test]
    fn a_lone_server_takes_everything_by_round_robin() {
        let pool = weighted(&[3], &[]);
        let mut p = built("nginx.ip_hash", &pool);
        assert_eq!(p.peek(&at("10.0.0.1"), 0, &pool), None);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        assert_eq!(p.pick(&at("10.0.0.1"), 0, &pool, &mut rng).server, 0);
    }

    #[test]
    fn adding_a_server_remaps_most_networks() {
        adding_moves_as_mod_n("nginx.ip_hash", &[3, 8], 20_000, 0.05);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Marking a server down moves its clients and nobody else's.
        #[test]
        fn down_moves_only_that_servers_clients(
            weights in prop::collection::vec(1u32..5, 2..8),
            which in 0usize..8,
        ) {
            let which = (which % weights.len()) as ServerId;
            let moved = failure_moves_only_its_clients("nginx.ip_hash", weighted(&weights, &[]), which, 3000);
            prop_assert_eq!(moved, Ok(()));
        }

        /// Each server's share of networks follows its weight.
        #[test]
        fn shares_follow_weights(weights in prop::collection::vec(1u32..5, 2..6)) {
            let pool = weighted(&weights, &[]);
            let p = built("nginx.ip_hash", &pool);
            let mut seen = vec![0f64; weights.len()];
            let clients = 20_000u32;
            for i in 0..clients {
                // One client per /24: the unit ip_hash places.
                let c = Client { user: i, addr: Addr::v4((i + 1) << 8), port: 0, connection: 0, new_connection: true };
                seen[p.peek(&c, 0, &pool).unwrap() as usize] += 1.0;
            }
            let total: u32 = weights.iter().sum();
            for (s, w) in weights.iter().enumerate() {
                let want = *w as f64 / total as f64;
                let got = seen[s] / clients as f64;
                prop_assert!((got - want).abs() < 0.05 * want, "server {s}: {got} of clients, weight share {want}");
            }
        }
    }
}
