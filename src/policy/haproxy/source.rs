//! HAProxy `balance source`: the client's address picks the server, through the
//! map-based table (the default) or the consistent tree.
//!
//! By default there is no hash function at all: the key is the IPv4 address as a
//! number (IPv6: its four words XORed), looked up in a table whose length is the
//! total weight. Consecutive addresses therefore rotate over the servers, a NAT pool
//! of sequential addresses spreads perfectly, a single NAT address pins everyone
//! behind it to one server, and any server going up or down moves most clients.
//! `hash-type consistent` adds the avalanche mix and a tree, so that a pool change
//! moves only the clients of the server that changed.
//!
//! The `key` choices are what a configuration can make HAProxy hash: the address
//! (`balance source`), its /24 or /64 (`tcp-request connection set-src
//! src,ipmask(24,64)` before `balance source`), and text keys through `balance
//! hdr(...)`: "address:port" (`http-request set-header X-Src %[src]:%[src_port]`)
//! or a session id the client sends in a header, hashed with sdbm, the default
//! hash function.

use super::chash::{Ids, Tree};
use super::hash::{full_hash, sdbm, source_word};
use super::map::ServerMap;
use crate::policy::*;
use crate::pool::ServerId;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "haproxy.source",
    summary: "HAProxy balance source: address mod total weight via its weighted map, or its consistent tree",
    params: &[
        Param {
            name: "hash_type",
            default: "map-based",
            help: "map-based (table of total-weight slots; any change remaps most clients) or consistent (16 tree nodes per weight unit)",
        },
        Param {
            name: "avalanche",
            default: "default",
            help: "full_hash mix of the key: default (off for map-based, on for consistent, as HAProxy), on, off",
        },
        Param {
            name: "hash_balance_factor",
            default: "0",
            help: "consistent only: 0 (off) or above 100: a server holds at most this % of its weighted share of requests in flight",
        },
        Param {
            name: "ids",
            default: "auto",
            help: "consistent only: server ids behind the node keys are auto (positions, renumbered on reload) or fixed (`id` lines)",
        },
        Param {
            help: "source (balance source), prefix (set-src src,ipmask(24,64) first), source_port or session (balance hdr(...) over \"ip:port\" or a session id, sdbm)",
            ..Key::PARAM
        },
    ],
    build: |args, ctx| {
        super::check_weights(ctx.pool)?;
        let consistent = args.choice("hash_type", &["map-based", "consistent"])? == 1;
        let avalanche = match args.choice("avalanche", &["default", "on", "off"])? {
            0 => consistent,
            i => i == 1,
        };
        let factor = read_factor(args)?;
        let ids = [Ids::Auto, Ids::Fixed][args.choice("ids", &["auto", "fixed"])?];
        if !consistent {
            if factor != 0 {
                let message =
                    format!("hash_balance_factor={factor}: HAProxy applies it only with hash_type=consistent");
                return Err(args.invalid("hash_balance_factor", message));
            }
            if ids == Ids::Fixed {
                let message = "ids=fixed: server ids place nodes only with hash_type=consistent".to_string();
                return Err(args.invalid("ids", message));
            }
        }
        let key = Key::read(args, &Key::ALL)?;
        let lookup = if consistent {
            Lookup::Consistent {
                tree: Tree::new(ctx.pool, ids),
                factor,
            }
        } else {
            let mut map = ServerMap::default();
            map.rebuild(ctx.pool);
            Lookup::Map(map)
        };
        Ok(Box::new(Source { key, avalanche, lookup }))
    },
};

const MAX_FACTOR: u64 = 1_000_000;

/// `hash_balance_factor`: 0 (off) or above 100, as HAProxy's parser demands.
fn read_factor(args: &mut Args) -> Result<u32, SpecError> {
    if let Ok(off) = args.int("hash_balance_factor", 0, 0) {
        return Ok(off as u32);
    }
    args.int("hash_balance_factor", 101, MAX_FACTOR)
        .map(|f| f as u32)
        .map_err(|e| SpecError::at(e.offset, e.message.replacen("expected a", "expected 0 (off) or a", 1)))
}

enum Lookup {
    Map(ServerMap),
    /// `factor` 0 is plain consistent hashing.
    Consistent {
        tree: Tree,
        factor: u32,
    },
}

pub struct Source {
    key: Key,
    avalanche: bool,
    lookup: Lookup,
}

impl Source {
    /// The 32-bit hash HAProxy looks up for this client.
    fn hash(&self, client: &Client, pool: &Pool) -> u32 {
        // With one usable server HAProxy skips hashing; the result cannot matter.
        if pool.up().len() == 1 {
            return 0;
        }
        let h = match self.key {
            Key::Source | Key::Prefix => source_word(self.key.addr(client)),
            Key::SourcePort | Key::Session => sdbm(self.key.text(client, &mut KeyText::default())),
        };
        if self.avalanche { full_hash(h) } else { h }
    }

    fn select(&self, client: &Client, pool: &Pool) -> ServerId {
        let h = self.hash(client, pool);
        match &self.lookup {
            Lookup::Map(map) => map.get(h),
            Lookup::Consistent { tree, factor: 0 } => tree.get(h),
            Lookup::Consistent { tree, factor } => tree.get_bounded(h, pool, *factor),
        }
    }

    fn bounded(&self) -> bool {
        matches!(self.lookup, Lookup::Consistent { factor, .. } if factor > 0)
    }
}

impl Policy for Source {
    fn pick(&mut self, client: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        Pick::stateless(self.select(client, pool))
    }

    fn peek(&self, client: &Client, _: Time, pool: &Pool) -> Option<ServerId> {
        (!self.bounded()).then(|| self.select(client, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        match &mut self.lookup {
            Lookup::Map(map) => map.rebuild(pool),
            Lookup::Consistent { tree, .. } => tree.rebuild(pool),
        }
    }

    /// A ramping server's nodes go into the consistent tree as its effective
    /// weight grows (the map-based table is static and never ramps).
    fn weights_changed(&mut self, pool: &Pool) {
        self.pool_changed(pool);
    }

    fn affinity(&self) -> Affinity {
        self.key.affinity()
    }

    fn wants_load(&self) -> bool {
        self.bounded()
    }
}

#[cfg(test)]
mod tests {
    use crate::policy::testing::{named, servers};
    use proptest::prelude::*;

    use super::*;
    use crate::policy::testing::{at, built, client, moved_share, pool, pool_with_spare};
    use crate::policy::{BuildContext, build, spec};
    use crate::pool::PoolChangeKind;

    const VECTOR_CLIENTS: [&str; 7] = [
        "192.168.1.10",
        "192.168.1.200",
        "10.0.0.1",
        "172.16.5.4",
        "8.8.8.8",
        "203.0.113.7",
        "2001:db8::1",
    ];

    fn weighted(weights: &[u32]) -> Pool {
        servers(&named(weights.len(), |i| format!("s{i}")), weights, &[])
    }

    fn routes(spec: &str, p: &Pool, clients: &[&str]) -> Vec<ServerId> {
        let policy = built(spec, p);
        clients.iter().map(|c| policy.peek(&at(c), 0, p).unwrap()).collect()
    }

    fn build_error(text: &str, p: &Pool) -> SpecError {
        let spec = spec::parse(text, 0).unwrap();
        build(
            &spec,
            &BuildContext {
                pool: p,
                expected_users: 1,
            },
        )
        .err()
        .unwrap()
    }

    #[test]
    fn reference_vectors_map_based() {
        assert_eq!(
            routes("haproxy.source", &pool(3), &VECTOR_CLIENTS),
            [2, 0, 2, 2, 2, 2, 0]
        );
    }

    #[test]
    fn reference_vectors_consistent() {
        assert_eq!(
            routes("haproxy.source(hash_type=consistent)", &pool(3), &VECTOR_CLIENTS),
            [1, 0, 0, 1, 2, 1, 0]
        );
    }

    #[test]
    fn map_based_is_the_address_mod_total_weight() {
        // Weights 2,1,3 give the table [0,2,0,2,1,2]; 10.0.0.x is x mod 6 into it.
        let p = weighted(&[2, 1, 3]);
        let addrs: Vec<String> = (0..12).map(|i| format!("10.0.0.{i}")).collect();
        let addrs: Vec<&str> = addrs.iter().map(String::as_str).collect();
        let expect: Vec<ServerId> = (0..12u32)
            .map(|i| [0, 2, 0, 2, 1, 2][((0x0a00_0000 + i) % 6) as usize])
            .collect();
        assert_eq!(routes("haproxy.source", &p, &addrs), expect);
        // 10,20,30 divides down to 1,2,3: the same as weights 1,2,3.
        assert_eq!(
            routes("haproxy.source", &weighted(&[10, 20, 30]), &addrs),
            routes("haproxy.source", &weighted(&[1, 2, 3]), &addrs)
        );
    }

    #[test]
    fn avalanche_defaults_follow_the_hash_type() {
        let p = pool(5);
        let clients: Vec<String> = (0..200).map(|i| format!("10.1.{}.{}", i / 7, i * 37 % 256)).collect();
        let clients: Vec<&str> = clients.iter().map(String::as_str).collect();
        let same = |a: &str, b: &str| routes(a, &p, &clients) == routes(b, &p, &clients);
        assert!(same("haproxy.source", "haproxy.source(avalanche=off)"));
        assert!(!same("haproxy.source", "haproxy.source(avalanche=on)"));
        assert!(same(
            "haproxy.source(hash_type=consistent)",
            "haproxy.source(hash_type=consistent, avalanche=on)"
        ));
        assert!(!same(
            "haproxy.source(hash_type=consistent)",
            "haproxy.source(hash_type=consistent, avalanche=off)"
        ));
    }

    #[test]
    fn a_single_nat_address_pins_everyone_and_sequential_ones_rotate() {
        let p = pool(4);
        let s = built("haproxy.source", &p);
        let nat: Vec<ServerId> = (0..50)
            .map(|u| {
                let c = Client {
                    user: u,
                    ..at("100.64.0.1")
                };
                s.peek(&c, 0, &p).unwrap()
            })
            .collect();
        assert!(nat.iter().all(|&x| x == nat[0]));
        let pool_of_ips: Vec<ServerId> = (1..=8)
            .map(|i| s.peek(&at(&format!("100.64.0.{i}")), 0, &p).unwrap())
            .collect();
        assert_eq!(pool_of_ips, [1, 2, 3, 0, 1, 2, 3, 0]);
    }

    #[test]
    fn key_choices() {
        let p = pool(7);
        let prefix = built("haproxy.source(key=prefix)", &p);
        let in_net: Vec<ServerId> = (1..=40)
            .map(|i| prefix.peek(&at(&format!("198.51.100.{i}")), 0, &p).unwrap())
            .collect();
        assert!(in_net.iter().all(|&x| x == in_net[0]), "a whole /24 on one server");

        let session = built("haproxy.source(hash_type=consistent, key=session)", &p);
        let moving = |addr: &str| session.peek(&Client { user: 42, ..at(addr) }, 0, &p);
        assert_eq!(
            moving("10.0.0.1"),
            moving("172.16.9.9"),
            "a session id survives address changes"
        );
        assert_eq!(session.affinity(), Affinity::Client);

        let port = built("haproxy.source(key=source_port)", &p);
        let by_port: std::collections::HashSet<ServerId> = (0..50)
            .map(|i| {
                port.peek(
                    &Client {
                        port: 40_000 + i,
                        ..at("10.0.0.1")
                    },
                    0,
                    &p,
                )
                .unwrap()
            })
            .collect();
        assert!(by_port.len() > 3, "one address spreads by port");
    }

    #[test]
    fn text_keys_hash_with_sdbm() {
        // map-based, no avalanche: the server is sdbm(text) mod 3 in the table [0,1,2].
        let p = pool(3);
        let c = Client {
            user: 0x2a,
            ..at("192.168.1.10")
        };
        let session = built("haproxy.source(key=session)", &p).peek(&c, 0, &p).unwrap();
        assert_eq!(session, sdbm(b"s0000002a") % 3);
        let port = built("haproxy.source(key=source_port)", &p).peek(&c, 0, &p).unwrap();
        assert_eq!(port, sdbm(b"192.168.1.10:40000") % 3);
    }

    #[test]
    fn bad_parameters_are_named() {
        let p = pool(3);
        let e = build_error("haproxy.source(hash_type=consistent, hash_balance_factor=100)", &p);
        assert_eq!(
            e.message,
            "hash_balance_factor=100: expected 0 (off) or a whole number from 101 to 1000000"
        );
        assert_eq!(
            e.offset,
            "haproxy.source(hash_type=consistent, hash_balance_factor=".len()
        );
        let e = build_error("haproxy.source(hash_balance_factor=150)", &p);
        assert!(e.message.contains("only with hash_type=consistent"), "{}", e.message);
        assert_eq!(e.offset, "haproxy.source(hash_balance_factor=".len());
        assert!(
            build_error("haproxy.source(ids=fixed)", &p)
                .message
                .contains("ids=fixed")
        );
        assert!(
            build_error("haproxy.source(hash_type=ketama)", &p)
                .message
                .contains("map-based, consistent")
        );
        let e = build_error("haproxy.source", &weighted(&[1, 257]));
        assert!(
            e.message.contains("weight 257") && e.message.contains("0 to 256"),
            "{}",
            e.message
        );
    }

    #[test]
    fn consistent_fail_moves_only_the_failed_servers_clients() {
        let p = pool(8);
        let s = built("haproxy.source(hash_type=consistent)", &p);
        let owned = (0..20_000).filter(|&i| s.peek(&client(i), 0, &p) == Some(3)).count();
        let moved = moved_share(
            "haproxy.source(hash_type=consistent)",
            pool(8),
            20_000,
            PoolChangeKind::Fail(3),
        );
        assert_eq!(moved, owned as f64 / 20_000.0);
    }

    #[test]
    fn reload_renumbers_auto_ids_but_not_fixed_ones() {
        // Removing the first server renumbers the others: with auto ids their nodes
        // move and so do their clients; with fixed ids only server 0's clients move.
        let share = |spec: &str| moved_share(spec, pool(6), 20_000, PoolChangeKind::Remove(0));
        let owned = {
            let p = pool(6);
            let s = built("haproxy.source(hash_type=consistent)", &p);
            (0..20_000).filter(|&i| s.peek(&client(i), 0, &p) == Some(0)).count() as f64 / 20_000.0
        };
        assert_eq!(share("haproxy.source(hash_type=consistent, ids=fixed)"), owned);
        assert!(share("haproxy.source(hash_type=consistent)") > 0.6);
    }

    #[test]
    fn bounded_load_spills_clockwise_and_peeks_nothing() {
        let mut p = pool(3);
        let spec = "haproxy.source(hash_type=consistent, hash_balance_factor=150)";
        let mut s = built(spec, &p);
        assert!(s.wants_load());
        assert_eq!(s.peek(&client(1), 0, &p), None);
        let c = at("192.168.1.10");
        let home = built("haproxy.source(hash_type=consistent)", &p)
            .peek(&c, 0, &p)
            .unwrap();
        let mut rng = crate::engine::Stream::Policy.rng(1, 0, 0);
        assert_eq!(s.pick(&c, 0, &p, &mut rng).server, home);
        // 4, 4, 4 in flight: ceil(13 · 1.5) = 20 slots over weights 16, 16, 16 are
        // 6, 7, 7 by position; the home server (1) has room.
        p.in_flight_mut().copy_from_slice(&[4, 4, 4]);
        assert_eq!(s.pick(&c, 0, &p, &mut rng).server, home);
        // 2, 9, 2: ceil(14 · 1.5) = 21 slots are 7, 7, 7; the home server is full and
        // the request walks on clockwise to the owner of the next node.
        p.in_flight_mut().copy_from_slice(&[2, 9, 2]);
        let spilled = s.pick(&c, 0, &p, &mut rng).server;
        assert_ne!(spilled, home);
        let tree = Tree::new(&p, Ids::Auto);
        assert_eq!([0, 1, 2].map(|x| tree.slots(&p, x, 150)), [7, 7, 7]);
    }

    /// Clients `0..n` as consecutive IPv4 addresses.
    fn seq(i: u32) -> Client {
        Client {
            user: i,
            addr: Addr::v4(0x0a00_0000 + i),
            port: 0,
            connection: 0,
            new_connection: true,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn map_based_shares_are_exactly_the_weights(weights in prop::collection::vec(1u32..=12, 2..7)) {
            // Over consecutive addresses spanning whole tables, each server gets
            // exactly its weight's share.
            let p = weighted(&weights);
            let s = built("haproxy.source", &p);
            let total: u32 = weights.iter().sum();
            let mut counts = vec![0u32; weights.len()];
            for i in 0..total * 8 {
                counts[s.peek(&seq(i), 0, &p).unwrap() as usize] += 1;
            }
            let expect: Vec<u32> = weights.iter().map(|w| w * 8).collect();
            prop_assert_eq!(counts, expect);
        }

        #[test]
        fn map_based_remaps_most_clients_when_one_server_fails(n in 4usize..16, down in 0usize..16) {
            let down = (down % n) as ServerId;
            let p = pool(n);
            let before = built("haproxy.source", &p);
            let mut after_pool = pool(n);
            after_pool.apply(&PoolChangeKind::Fail(down));
            let after = built("haproxy.source", &after_pool);
            let (mut kept_up, mut moved) = (0, 0);
            for i in 0..4000 {
                let was = before.peek(&client(i), 0, &p).unwrap();
                if was != down {
                    kept_up += 1;
                    if after.peek(&client(i), 0, &after_pool).unwrap() != was {
                        moved += 1;
                    }
                }
            }
            // mod-N: clients of servers that stayed up move too, most of them.
            prop_assert!(moved as f64 / kept_up as f64 > 0.5, "{moved} of {kept_up}");
        }

        #[test]
        fn consistent_add_moves_about_one_over_n_plus_1_all_to_the_new_server(n in 8usize..24) {
            let mut p = pool_with_spare(n, 1);
            let mut s = built("haproxy.source(hash_type=consistent)", &p);
            let before: Vec<ServerId> = (0..8000).map(|i| s.peek(&client(i), 0, &p).unwrap()).collect();
            p.apply(&PoolChangeKind::Add(n as ServerId));
            s.pool_changed(&p);
            let mut moved = 0;
            for i in 0..8000u32 {
                let now = s.peek(&client(i), 0, &p).unwrap();
                if now != before[i as usize] {
                    prop_assert_eq!(now, n as ServerId);
                    moved += 1;
                }
            }
            // 16 nodes per server: one server's share is within about ±60% of 1/(N+1).
            let want = 8000.0 / (n + 1) as f64;
            prop_assert!((moved as f64 - want).abs() < 0.6 * want, "moved {moved}, expected about {want}");
        }

        #[test]
        fn bounded_load_never_exceeds_a_servers_slots(
            weights in prop::collection::vec(1u32..=4, 2..8),
            factor in 101u32..=300,
            ops in prop::collection::vec((any::<bool>(), 0u32..1000), 50..300),
        ) {
            let mut p = weighted(&weights);
            let spec = format!("haproxy.source(hash_type=consistent, hash_balance_factor={factor})");
            let mut s = built(&spec, &p);
            let tree = Tree::new(&p, Ids::Auto);
            let mut rng = crate::engine::Stream::Policy.rng(1, 0, 0);
            for (i, (finish, r)) in ops.into_iter().enumerate() {
                let busy: Vec<ServerId> = (0..p.len() as ServerId).filter(|&x| p.in_flight(x) > 0).collect();
                if finish && !busy.is_empty() {
                    p.in_flight_mut()[busy[r as usize % busy.len()] as usize] -= 1;
                    continue;
                }
                let chosen = s.pick(&seq(r * 7 + i as u32), 0, &p, &mut rng).server;
                let cap = tree.slots(&p, chosen, factor);
                prop_assert!(p.in_flight(chosen) < cap, "server {chosen} at {} of {cap}", p.in_flight(chosen));
                p.in_flight_mut()[chosen as usize] += 1;
            }
        }
    }

    #[test]
    fn consistent_shares_follow_weights() {
        // Ten servers of weight 1 and ten of weight 4: the heavy ones get about 80%.
        let weights: Vec<u32> = (0..20).map(|i| if i % 2 == 0 { 1 } else { 4 }).collect();
        let p = weighted(&weights);
        let s = built("haproxy.source(hash_type=consistent)", &p);
        let heavy = (0..40_000)
            .filter(|&i| s.peek(&client(i), 0, &p).unwrap() % 2 == 1)
            .count();
        let share = heavy as f64 / 40_000.0;
        assert!((share - 0.8).abs() < 0.05, "heavy share {share}");
    }
}
