//! nginx `hash $remote_addr`: the CRC-32 of a text key picks a server by weight
//! from the configured list, the way Perl's Cache::Memcached places keys.
//!
//! The sum of bits 16 to 30 of the CRC, taken modulo the total weight, walks the
//! list. A server marked down keeps its place; its clients hash again with the try
//! number written before the key ("1192.168.1.10", "2192.168.1.10", ...) and the
//! sum carries on, so only they move. Adding or removing a server changes the total
//! weight and remaps most clients, as `ip_hash` does, but on the whole address, so
//! one network spreads over the servers. After 21 misses, round robin.
//!
//! With `consistent=on` the same directive builds a ketama ring instead; see
//! [`super::ketama`].

use super::crc32::Crc32;
use super::ketama::{Ketama, MAX_POINTS, POINTS_PER_WEIGHT};
use super::key_bytes::{KeyBytes, decimal};
use super::{Rehashed, Tries};
use crate::policy::{Affinity, Client, Key, Param, PolicyInfo, SpecError};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "nginx.hash",
    summary: "nginx hash on a text key ($remote_addr by default): CRC-32 mod the configured weight with 21 rehashes \
              then round robin, or a ketama ring (160 points per unit of weight) with consistent=on",
    params: &[
        Param {
            help: "what is hashed, as nginx's variables print it: source ($remote_addr), prefix (/24 or /64 \
                   network address), source_port ($remote_addr:$remote_port), session (a session id)",
            ..Key::PARAM
        },
        Param {
            name: "consistent",
            default: "off",
            help: "off: Cache::Memcached-style hash mod total weight; on: ketama ring (`hash $key consistent`)",
        },
        Param {
            name: "binary",
            default: "off",
            help: "on: the address as its 4 or 16 bytes (`hash $binary_remote_addr`) instead of its text; key=source only",
        },
    ],
    build: |args, ctx| {
        let key = Key::read(args, &Key::ALL)?;
        let weights: u64 = ctx.pool.servers().iter().map(|s| s.weight as u64).sum();
        let points = weights * POINTS_PER_WEIGHT as u64;
        // Every declared server may be configured at once: its ring must fit.
        let choices: &[&str] = if points <= MAX_POINTS { &["off", "on"] } else { &["off"] };
        let consistent = args.choice("consistent", choices).map_err(|e| {
            if points <= MAX_POINTS {
                return e;
            }
            let message = format!(
                "{}; consistent=on needs {POINTS_PER_WEIGHT} ring points per unit of weight, {points} for a total \
                 weight of {weights}: at most {MAX_POINTS}",
                e.message
            );
            SpecError::at(e.offset, message)
        })? == 1;
        let binary = args.choice("binary", &["off", "on"])? == 1;
        if binary && key != Key::Source {
            return Err(args.invalid(
                "binary",
                "binary=on: $binary_remote_addr is the whole address; use key=source",
            ));
        }
        Ok(if consistent {
            Box::new(Ketama::new(ctx.pool, key, binary))
        } else {
            Box::new(Rehashed::new(Hash { key, binary }, ctx.pool))
        })
    },
};

/// The CRC of try `attempt`'s key: the key itself first, then the try number in
/// decimal followed by the key.
fn try_crc(attempt: u32, key: &[u8]) -> u32 {
    let crc = match attempt {
        0 => Crc32::new(),
        n => Crc32::new().update(decimal(n, &mut [0; 10])),
    };
    crc.update(key).finish()
}

/// The tries of plain `hash`: a running sum of CRC-derived parts, the first of
/// the key, then of the try number followed by the key.
pub struct Hash {
    key: Key,
    binary: bool,
}

impl Tries for Hash {
    fn positions(&self, client: &Client) -> impl Iterator<Item = u64> {
        let mut bytes = KeyBytes::default();
        let text = bytes.hashed(self.key, self.binary, client);
        let mut key = [0u8; 64];
        key[..text.len()].copy_from_slice(text);
        let len = text.len();
        (0..).scan(0u64, move |sum, attempt| {
            *sum += ((try_crc(attempt, &key[..len]) >> 16) & 0x7fff) as u64;
            Some(*sum)
        })
    }

    fn affinity(&self) -> Affinity {
        self.key.affinity()
    }
}

#[cfg(test)]
mod tests {
    use super::super::key_bytes::ipv4_compatible;
    use super::super::tests::weighted;
    use super::*;
    use crate::policy::testing::{adding_moves_as_mod_n, at, built, failure_moves_only_its_clients, shares};
    use crate::policy::{Addr, KeyText};
    use crate::policy::{BuildContext, build, spec};
    use crate::pool::{Pool, ServerId};
    use proptest::prelude::*;

    fn text(key: Key, c: &Client) -> String {
        String::from_utf8(KeyBytes::default().of(key, c).to_vec()).unwrap()
    }

    #[test]
    fn keys_print_as_nginx_prints_them() {
        // nginx's ngx_inet6_ntop: longest run of two or more zero groups becomes "::",
        // the first on a tie; lowercase hex; IPv4-mapped and IPv4-compatible dotted.
        let cases = [
            ("192.168.1.10", "192.168.1.10"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
            ("2001:0:0:1:0:0:1:1", "2001::1:0:0:1:1"),
            ("2001:db8:1:2:3:4:0:5", "2001:db8:1:2:3:4:0:5"),
            ("fe80::", "fe80::"),
            ("::", "::"),
            ("::1", "::1"),
            ("::2", "::2"),
            ("::0.0.1.1", "::101"),
            ("::0.0.2.2", "::0.0.2.2"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::1.2.0.0", "::1.2.0.0"),
            ("::ffff:0:102:304", "::ffff:0:102:304"),
            ("ABCD::EF", "abcd::ef"),
        ];
        for (ip, nginx) in cases {
            assert_eq!(text(Key::Source, &at(ip)), nginx, "{ip}");
        }
        assert_eq!(text(Key::SourcePort, &at("::1.2.3.4")), "::1.2.3.4:40000");
        assert_eq!(text(Key::SourcePort, &at("10.1.2.3")), "10.1.2.3:40000");
        assert_eq!(text(Key::Prefix, &at("10.1.2.3")), "10.1.2.0");
    }

    #[test]
    fn tries_prefix_the_try_number() {
        assert_eq!(try_crc(0, b"10.0.0.1"), super::super::crc32::crc32(b"10.0.0.1"));
        assert_eq!(try_crc(1, b"10.0.0.1"), super::super::crc32::crc32(b"110.0.0.1"));
        assert_eq!(try_crc(20, b"10.0.0.1"), super::super::crc32::crc32(b"2010.0.0.1"));
    }

    #[test]
    fn observed_from_nginx() {
        // `hash $remote_addr` in nginx 1.22.1 with these client addresses set by the
        // realip module: 3 servers of weight 1; weights 2,1,3; 4 servers, the second
        // `down`. tests/real_nginx.rs checks many more against the running program.
        let clients = [
            "192.168.1.10",
            "192.168.1.200",
            "10.0.0.1",
            "172.16.5.4",
            "8.8.8.8",
            "203.0.113.7",
        ];
        let picks = |pool: &Pool| -> Vec<ServerId> {
            let p = built("nginx.hash", pool);
            clients.iter().map(|ip| p.peek(&at(ip), 0, pool).unwrap()).collect()
        };
        assert_eq!(picks(&weighted(&[1, 1, 1], &[])), [0, 0, 1, 1, 0, 1]);
        assert_eq!(picks(&weighted(&[2, 1, 3], &[])), [2, 2, 2, 2, 2, 2]);
        assert_eq!(picks(&weighted(&[1, 1, 1, 1], &[1])), [3, 3, 2, 0, 3, 2]);
    }

    #[test]
    fn binary_keys_are_the_address_bytes() {
        let mut bytes = KeyBytes::default();
        assert_eq!(bytes.hashed(Key::Source, true, &at("10.1.2.3")), [10, 1, 2, 3]);
        assert_eq!(bytes.hashed(Key::Source, true, &at("2001:db8::1")).len(), 16);
        assert_eq!(bytes.hashed(Key::Source, false, &at("10.1.2.3")), b"10.1.2.3");
        let pool = weighted(&[1, 1, 1, 1], &[]);
        let (text, binary) = (built("nginx.hash", &pool), built("nginx.hash(binary=on)", &pool));
        let differ = (0..200u32)
            .map(|i| at(&format!("10.0.{}.{}", i / 250, i % 250 + 1)))
            .filter(|c| text.peek(c, 0, &pool) != binary.peek(c, 0, &pool))
            .count();
        assert!(
            differ > 100,
            "the bytes and the text place clients independently: {differ} of 200 differ"
        );
        let ctx = BuildContext {
            pool: &pool,
            expected_users: 1,
        };
        let spec = spec::parse("nginx.hash(key=session, binary=on)", 0).unwrap();
        assert!(build(&spec, &ctx).err().unwrap().message.contains("use key=source"));
    }

    #[test]
    fn session_keys_follow_the_client() {
        let pool = weighted(&[1, 1, 1], &[]);
        let p = built("nginx.hash(key=session)", &pool);
        assert_eq!(p.affinity(), Affinity::Client);
        let a = p.peek(&at("10.0.0.1"), 0, &pool);
        assert_eq!(p.peek(&at("172.16.0.9"), 0, &pool), a, "same user, new address");
        assert_eq!(built("nginx.hash", &pool).affinity(), Affinity::Address);
    }

    #[test]
    fn a_ring_too_large_is_refused_with_the_reason() {
        let pool = weighted(&[1000; 200], &[]);
        let ctx = BuildContext {
            pool: &pool,
            expected_users: 1,
        };
        let spec = spec::parse("nginx.hash(consistent=on)", 0).unwrap();
        let err = build(&spec, &ctx).err().unwrap();
        assert_eq!(err.offset, "nginx.hash(consistent=".len());
        assert!(
            err.message.contains("32000000 for a total weight of 200000"),
            "{}",
            err.message
        );
        assert!(build(&spec::parse("nginx.hash", 0).unwrap(), &ctx).is_ok());
        let bad = build(&spec::parse("nginx.hash(consistent=yes)", 0).unwrap(), &ctx);
        assert!(bad.err().unwrap().message.contains("expected one of off"));
    }

    #[test]
    fn adding_a_server_remaps_most_clients() {
        adding_moves_as_mod_n("nginx.hash", &[3, 8], 20_000, 0.05);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Apart from the IPv4-compatible form, the key bytes are `Key::text`, so every
        /// product hashing text sees the same key.
        #[test]
        fn key_bytes_are_key_text(bits in any::<u128>(), zero_groups in any::<u8>(), v4 in any::<u32>(), port in any::<u16>()) {
            // Zeroing groups at random makes runs of zeros of every length and place.
            let mask = (0..8).filter(|g| zero_groups >> g & 1 == 1).fold(0u128, |m, g| m | 0xffff << (16 * g));
            for addr in [Addr::v4(v4), Addr::v6(bits), Addr::v6(bits & !mask)] {
                let c = Client { user: v4, addr, port, connection: 0, new_connection: true };
                for key in Key::ALL {
                    let (mut text, mut bytes) = (KeyText::default(), KeyBytes::default());
                    if !ipv4_compatible(addr) {
                        prop_assert_eq!(bytes.of(key, &c), key.text(&c, &mut text));
                    }
                }
            }
        }

        /// Marking a server down moves its clients and nobody else's.
        #[test]
        fn down_moves_only_that_servers_clients(
            weights in prop::collection::vec(1u32..5, 2..8),
            which in 0usize..8,
        ) {
            let which = (which % weights.len()) as ServerId;
            let moved = failure_moves_only_its_clients("nginx.hash", weighted(&weights, &[]), which, 3000);
            prop_assert_eq!(moved, Ok(()));
        }

        /// Each server's share of clients follows its weight.
        #[test]
        fn shares_follow_weights(weights in prop::collection::vec(1u32..5, 2..6)) {
            let pool = weighted(&weights, &[]);
            let seen = shares(built("nginx.hash", &pool).as_ref(), &pool, 20_000);
            let total: u32 = weights.iter().sum();
            for (s, w) in weights.iter().enumerate() {
                let (want, got) = (*w as f64 / total as f64, seen[s]);
                prop_assert!((got - want).abs() < 0.1 * want + 0.01, "server {s}: {got} of clients, weight share {want}");
            }
        }
    }
}
