//! Katran's consistent hashing: a Maglev ring of 65537 slots per VIP, filled by the
//! control plane (`MaglevHash.cpp`, `MaglevHashV2.cpp`) and read by the XDP program
//! (`balancer.bpf.c`) on every packet that misses the connection table.
//!
//! - Each real's permutation comes from the hash of its address
//!   (`folly::IPAddress::hash()`) through MurmurHash3: `offset = murmur(h, 42, 0)
//!   mod M`, `skip = murmur(h, 2718281828, 2307) mod (M−1) + 1`, all in 32-bit
//!   arithmetic; the reals take turns in order of that hash.
//! - Weights, V1 (the default): a real claims `weight` slots in the first round and
//!   one per round after, so weights barely matter (2, 1, 1 gives 21847, 21845,
//!   21845 slots). V2 is proportional: a real earns `weight` credit per round and
//!   claims a slot per `max weight` of credit.
//! - A packet's slot is `jhash_2words(src, ports, 33554944) mod 65537`, `src` the
//!   IPv4 source as the packet carries it (IPv6: `jhash` of its 16 bytes, seed 512),
//!   `ports` the source and destination ports as one word. The VIP flag
//!   `F_HASH_NO_SRC_PORT` zeroes the source port: source-IP affinity (`key=source`).
//!   Without it (the default, `key=source_port`) every connection hashes afresh,
//!   so a client keeps no server beyond one connection.
//!
//! For affinity, with `key=source`: a client stays while the set of reals is
//! unchanged; removing a real moves its clients and a small share of others, adding
//! one takes about 1/(N+1) from everyone; a whole NAT behind one address lands on
//! one real.
//!
//! Modelled differently or left out:
//! - Reals are addresses; the port in a server name is ignored (two servers on one
//!   address are the same real to Katran and share a hash: they take turns in
//!   configuration order). A server name that is not an address has no folly hash;
//!   it gets a stand-in, XXH64 of the name, which no real Katran reproduces.
//! - Katran has no health checks: a real that fails is taken out by the control
//!   plane, which lbsim models as leaving the ring while down.
//! - The per-CPU LRU connection table, consulted before the ring, is not modelled:
//!   it keeps a flow (with `key=source`, every connection of a source address on
//!   the same CPU) on its old real after a ring change until the entry is evicted.
//!   `stick_table(base=katran.maglev(key=source), expire=none, size=N)` approximates
//!   one shared LRU.

use xxhash_rust::xxh64::xxh64;

use super::folly::address_hash;
use super::jhash::{jhash, jhash_2words};
use super::murmur3::murmur3_x64_64;
use crate::hash::maglev::populate;
use crate::policy::{Addr, Client, Hashing, Key, Param, PolicyInfo};
use crate::pool::{Pool, ServerId};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "katran.maglev",
    summary: "Katran: Maglev ring of 65537 (MurmurHash3 of the real's folly address hash), \
              packet hash jhash of source and ports; key=source for F_HASH_NO_SRC_PORT affinity",
    params: &[
        Param {
            name: "hash",
            default: "v1",
            help: "ring builder: v1 (MaglevHash, Katran's default; weights count in the first round only) \
                   or v2 (MaglevHashV2, slots in proportion to weight)",
        },
        Param {
            name: "key",
            default: "source_port",
            help: "source_port (Katran's default: source address and ports) \
                   or source (VIP flag F_HASH_NO_SRC_PORT: source-address affinity)",
        },
        Param {
            name: "vip_port",
            default: "80",
            help: "the VIP's port, part of the packet hash; 0 for a port-0 VIP (any port), \
                   whose destination port the BPF program zeroes before hashing",
        },
    ],
    build: |args, ctx| {
        let weighting = [Weighting::V1, Weighting::V2][args.choice("hash", &["v1", "v2"])?];
        let key = Key::read(args, &[Key::SourcePort, Key::Source])?;
        let vip_port = args.int("vip_port", 0, u16::MAX as u64)? as u16;
        let mut katran = Katran {
            weighting,
            key,
            vip_port,
            ring: Vec::new(),
        };
        katran.rebuild(ctx.pool);
        Ok(Box::new(katran))
    },
};

/// Slots in every VIP's ring: the BPF program's compile-time `RING_SIZE`.
const RING_SIZE: u32 = 65537;

/// `INIT_JHASH_SEED`: `MAX_VIPS · RING_SIZE`.
const JHASH_SEED: u32 = 512 * RING_SIZE;

/// `INIT_JHASH_SEED_V6`: `MAX_VIPS`, the seed for folding an IPv6 source.
const JHASH_SEED_V6: u32 = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Weighting {
    V1,
    V2,
}

pub struct Katran {
    weighting: Weighting,
    key: Key,
    vip_port: u16,
    /// The real of each slot; empty while no real is up.
    ring: Vec<ServerId>,
}

/// A real as the ring builder sees it (`Endpoint`).
#[derive(Clone, Copy)]
struct Endpoint {
    num: ServerId,
    weight: u32,
    hash: u64,
}

/// A real's permutation: offset and skip in 0..M (`genMaglevPermutation`).
fn permutation(hash: u64, size: u32) -> (u32, u32) {
    let offset = murmur3_x64_64(hash, 42, 0) % size as u64;
    let skip = murmur3_x64_64(hash, 2_718_281_828, 2307) % (size as u64 - 1) + 1;
    (offset as u32, skip as u32)
}

/// The ring Katran builds for `endpoints` (sorted by hash), as real numbers.
fn ring(endpoints: &[Endpoint], size: u32, weighting: Weighting) -> Vec<ServerId> {
    let perms: Vec<(u32, u32)> = endpoints.iter().map(|e| permutation(e.hash, size)).collect();
    let max_weight = endpoints.iter().map(|e| e.weight).max().unwrap_or(0);
    let mut credit = vec![0u32; endpoints.len()];
    let owners = populate(
        size as usize,
        endpoints.len(),
        // Katran's arithmetic is 32 bits wide and wraps before the modulo.
        |b, j| {
            let (offset, skip) = perms[b];
            (offset.wrapping_add((j as u32).wrapping_mul(skip)) % size) as usize
        },
        |b, round| match weighting {
            Weighting::V1 if round == 1 => endpoints[b].weight,
            Weighting::V1 => 1,
            Weighting::V2 => {
                credit[b] += endpoints[b].weight;
                if credit[b] < max_weight {
                    return 0;
                }
                credit[b] -= max_weight;
                1
            }
        },
    );
    owners.iter().map(|&b| endpoints[b as usize].num).collect()
}

/// The address of a real from its server name: "10.0.0.1:80", "[2001:db8::1]:80",
/// or a bare address.
fn real_address(name: &str) -> Option<Addr> {
    let host = match name.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') || h.starts_with('[') => {
            port.parse::<u16>().ok()?;
            h.trim_start_matches('[').trim_end_matches(']')
        }
        _ => name,
    };
    host.parse().ok()
}

/// The hash Katran keeps for a real: folly's address hash, or the stand-in for a
/// name that is not an address.
fn real_hash(name: &str) -> u64 {
    real_address(name).map_or_else(|| xxh64(name.as_bytes(), 0), address_hash)
}

/// The packet hash (`get_packet_hash`) of a client's packet to port `vip_port`,
/// with `source_port` as carried (0 under `F_HASH_NO_SRC_PORT`).
fn packet_hash(addr: Addr, source_port: u16, vip_port: u16) -> u32 {
    // `flow.ports` is the two ports in wire order, read as one little-endian word.
    let [s0, s1] = source_port.to_be_bytes();
    let [d0, d1] = vip_port.to_be_bytes();
    let ports = u32::from_le_bytes([s0, s1, d0, d1]);
    let octets = addr.octets();
    let src = if addr.is_v4() {
        u32::from_le_bytes(octets[12..].try_into().expect("4 bytes"))
    } else {
        jhash(&octets, JHASH_SEED_V6)
    };
    jhash_2words(src, ports, JHASH_SEED)
}

impl Katran {}

impl Hashing for Katran {
    fn select(&self, client: &Client, _: &Pool) -> ServerId {
        let port = if self.key == Key::SourcePort { client.port } else { 0 };
        self.ring[(packet_hash(client.addr, port, self.vip_port) % RING_SIZE) as usize]
    }

    fn rebuild(&mut self, pool: &Pool) {
        let mut endpoints: Vec<Endpoint> = pool
            .up()
            .iter()
            .map(|&s| Endpoint {
                num: s,
                weight: pool.weight(s),
                hash: real_hash(pool.name(s)),
            })
            .collect();
        // Equal hashes keep configuration order; Katran's std::sort leaves it open.
        endpoints.sort_by_key(|e| e.hash);
        self.ring = ring(&endpoints, RING_SIZE, self.weighting);
    }

    fn key(&self) -> Key {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{built, client, moved_share};
    use crate::pool::{PoolChangeKind, Presence, Server};
    use proptest::prelude::*;

    fn endpoints(weights: &[u32]) -> Vec<Endpoint> {
        (0..weights.len())
            .map(|i| Endpoint {
                num: i as ServerId,
                weight: weights[i],
                hash: i as u64,
            })
            .collect()
    }

    fn counts(ring: &[ServerId], n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for &s in ring {
            c[s as usize] += 1;
        }
        c
    }

    #[test]
    fn permutation_check_value() {
        assert_eq!(permutation(0, 65537), (22292, 48325));
    }

    #[test]
    fn small_ring_check_value() {
        assert_eq!(ring(&endpoints(&[1, 1, 1]), 7, Weighting::V1), [2, 1, 0, 1, 2, 0, 0]);
    }

    #[test]
    fn weights_in_v1_and_v2() {
        // CHHelpersTest: V1 with weights 2, 1, 1 nearly ignores them (max − min = 2);
        // V2 is proportional.
        let v1 = counts(&ring(&endpoints(&[2, 1, 1]), RING_SIZE, Weighting::V1), 3);
        assert_eq!(v1, [21847, 21845, 21845]);
        let v2 = counts(&ring(&endpoints(&[2, 1, 1]), RING_SIZE, Weighting::V2), 3);
        assert_eq!(v2, [32769, 16384, 16384]);
        // CHHelpersTest: equal weights differ by at most one slot.
        let even = counts(&ring(&endpoints(&[1; 10]), RING_SIZE, Weighting::V1), 10);
        assert!(even.iter().max().unwrap() - even.iter().min().unwrap() <= 1);
    }

    fn reals(names: &[&str]) -> Pool {
        Pool::new(
            names
                .iter()
                .map(|n| Server {
                    name: n.to_string(),
                    weight: 1,
                    presence: Presence::Up,
                })
                .collect(),
        )
    }

    fn route(pool: &Pool, spec: &str, src: &str, port: u16) -> String {
        let p = built(spec, pool);
        let c = Client {
            user: 0,
            addr: src.parse().unwrap(),
            port,
            connection: 0,
            new_connection: true,
        };
        pool.name(p.peek(&c, 0, pool).unwrap()).to_string()
    }

    #[test]
    fn katran_test_fixtures() {
        // katran/lib/testing/fixtures/KatranBaseTestFixtures.h, with the VIPs and
        // reals of KatranTestProvision.cpp (weight 1): the real each packet from
        // 192.168.1.1:31337 (or fc00:2::1:31337) is encapsulated to by the BPF
        // program. These check folly's IPv4 and IPv6 hashes, the permutation, the
        // ring and the packet hash end to end.
        let v4 = reals(&["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        let v6 = reals(&["fc00::1", "fc00::2", "fc00::3"]);
        // "packet to UDP/TCP based v4 VIP (and v4 real)": 10.200.1.1:80.
        assert_eq!(route(&v4, "katran.maglev", "192.168.1.1", 31337), "10.0.0.3");
        // "(and v4 real; any dst ports)": port-0 VIP 10.200.1.2 (the packet's port 42
        // is zeroed before hashing).
        assert_eq!(
            route(&v4, "katran.maglev(vip_port=0)", "192.168.1.1", 31337),
            "10.0.0.2"
        );
        // "packet to TCP based v4 VIP (and v6 real)": 10.200.1.3:80.
        assert_eq!(route(&v6, "katran.maglev", "192.168.1.1", 31337), "fc00::1");
        // "packet to TCP based v6 VIP (and v6 real)": fc00:1::1:80.
        assert_eq!(route(&v6, "katran.maglev", "fc00:2::1", 31337), "fc00::3");
        // "dst port hashing only" (F_HASH_DPORT_ONLY, VIP 10.200.1.4): the source is
        // zeroed and both port halves are the destination port, 42.
        let mut k = Katran {
            weighting: Weighting::V1,
            key: Key::Source,
            vip_port: 42,
            ring: Vec::new(),
        };
        k.rebuild(&v4);
        let slot = packet_hash(Addr::v4(0), 42, 42) % RING_SIZE;
        assert_eq!(v4.name(k.ring[slot as usize]), "10.0.0.2");
    }

    #[test]
    fn source_key_ignores_the_port() {
        let pool = reals(&["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"]);
        let p = built("katran.maglev(key=source)", &pool);
        let at = |port| p.peek(&Client { port, ..client(5) }, 0, &pool);
        assert!((1..200).all(|port| at(port) == at(0)));
        let q = built("katran.maglev", &pool);
        let servers: std::collections::HashSet<_> = (1..200)
            .map(|port| q.peek(&Client { port, ..client(5) }, 0, &pool))
            .collect();
        assert_eq!(servers.len(), 4, "source_port spreads one address's connections");
    }

    #[test]
    fn server_names_to_real_addresses() {
        assert_eq!(real_address("10.0.0.1:80"), "10.0.0.1".parse().ok());
        assert_eq!(real_address("10.0.0.1"), "10.0.0.1".parse().ok());
        assert_eq!(real_address("[fc00::1]:80"), "fc00::1".parse().ok());
        assert_eq!(real_address("fc00::1"), "fc00::1".parse().ok());
        assert_eq!(real_address("web1"), None);
        assert_eq!(real_address("web1:80"), None);
        assert_eq!(real_hash("10.0.0.1:80"), real_hash("10.0.0.1:8080"));
    }

    fn ip_pool(weights: &[u32], spare: usize) -> Pool {
        Pool::new(
            (0..weights.len() + spare)
                .map(|i| Server {
                    name: format!("10.3.{}.{}:80", i / 250, i % 250 + 1),
                    weight: weights.get(i).copied().unwrap_or(1),
                    presence: if i < weights.len() {
                        Presence::Up
                    } else {
                        Presence::Absent
                    },
                })
                .collect(),
        )
    }

    fn slot_counts(weighting: Weighting, pool: &Pool) -> Vec<usize> {
        let mut k = Katran {
            weighting,
            key: Key::Source,
            vip_port: 80,
            ring: Vec::new(),
        };
        k.rebuild(pool);
        counts(&k.ring, pool.len())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10))]

        /// V2 gives each real slots in proportion to its weight (within 1 % and a
        /// slot); V1 gives every real the same share but for its first-round extra.
        #[test]
        fn slots_follow_the_weighting(weights in prop::collection::vec(1u32..=6, 2..25)) {
            let pool = ip_pool(&weights, 0);
            let total: u32 = weights.iter().sum();
            let v2 = slot_counts(Weighting::V2, &pool);
            let v1 = slot_counts(Weighting::V1, &pool);
            let n = weights.len() as f64;
            for (i, &w) in weights.iter().enumerate() {
                let want = 65537.0 * w as f64 / total as f64;
                prop_assert!((v2[i] as f64 - want).abs() <= want * 0.01 + 1.0, "v2 real {}: {} slots, want {}", i, v2[i], want);
                let even = (65537.0 - total as f64) / n + w as f64;
                prop_assert!((v1[i] as f64 - even).abs() <= 1.0, "v1 real {}: {} slots, want {}", i, v1[i], even);
            }
        }

        /// Removing a real moves all its clients and few others; adding one moves
        /// about 1/(N+1).
        #[test]
        fn minimal_disruption(n in 4usize..24, gone in any::<prop::sample::Index>()) {
            let gone = gone.index(n) as ServerId;
            let spec = "katran.maglev(key=source)";
            let pool = ip_pool(&vec![1; n], 1);
            let p = built(spec, &pool);
            let owned = (0..10_000).filter(|&i| p.peek(&client(i), 0, &pool) == Some(gone)).count() as f64 / 10_000.0;
            let moved = moved_share(spec, pool.clone(), 10_000, PoolChangeKind::Remove(gone));
            prop_assert!(moved >= owned && moved < owned + 0.05, "moved {}, owned {}", moved, owned);
            let added = moved_share(spec, pool, 10_000, PoolChangeKind::Add(n as ServerId));
            let want = 1.0 / (n + 1) as f64;
            prop_assert!((added - want).abs() < want * 0.25 + 0.02, "added: moved {}, expected {}", added, want);
        }
    }
}
