//! Linux IPVS `mh`, Maglev hashing (`net/netfilter/ipvs/ip_vs_mh.c`, Linux ≥ 4.18).
//!
//! A lookup table of M slots (M prime, 4093 by default) is filled as in the Maglev
//! paper: each server has a permutation of the slots, from an offset and a skip
//! hashed from its address and port, and the servers take turns claiming their next
//! free slot. IPVS differs from the paper in three ways that change the table:
//! - the hash is the kernel's `hsiphash` (SipHash-1-3 on 64-bit) of one 32-bit
//!   number, `port + address`, under two fixed keys;
//! - a server claims `turns` slots in a row before the next one's turn, with
//!   `turns = (weight / gcd) >> rshift` so that the largest is below 2^(index/2);
//! - the turns go in the order of the destination list, newest first.
//!
//! A client goes to slot `hsiphash(port + address) mod M`. Deleting a server refills
//! the table, but Maglev keeps most slots where they were: only the deleted server's
//! clients and a few others move. A quiesced server (weight 0) keeps its slots (the
//! table uses its last non-zero weight); with `mh-fallback` its clients probe
//! `hsiphash(port + address + offset)` for offsets counting up from their slot.
//! Without the flag IPVS drops them, which lbsim cannot model, so quiescing requires
//! `fallback=on`.
//!
//! The fallback gives up after M probes that all land on quiesced servers, and IPVS
//! then refuses the connection. That needs nearly every server quiesced (each probe
//! misses with the quiesced share of the table); lbsim sends such a client to the
//! newest available server instead, the one place it departs from the product.

use super::dests::endpoint;
use super::siphash::hsiphash_u32;
use super::*;
use crate::hash::FastMod;
use crate::policy::Hashing;
use crate::pool::{Pool, ServerId};

/// The table sizes the kernel offers, `CONFIG_IP_VS_MH_TAB_INDEX` 8 to 17.
pub const PRIMES: [u32; 10] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131_071];
const PRIME_NAMES: [&str; 10] = [
    "251", "509", "1021", "2039", "4093", "8191", "16381", "32749", "65521", "131071",
];

/// `generate_hash_secret()`: fixed keys, so every kernel builds the same table.
const HASH1: [u64; 2] = [2_654_435_761, 2_654_435_761];
const HASH2: [u64; 2] = [2_654_446_892, 2_654_446_892];

/// An empty slot.
const NONE: ServerId = ServerId::MAX;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ipvs.mh",
    summary: "Linux IPVS Maglev hashing: SipHash permutations, weighted turns in list order; few clients move on a change",
    params: &[
        PORT_KEY,
        Param {
            name: "fallback",
            default: "off",
            help: "mh-fallback: rehash with growing offsets when a slot's server is quiesced (off, on); required with on_fail=quiesce",
        },
        OnFail::PARAM,
        Param {
            name: "table_size",
            default: "4093",
            help: "slots M, one of the kernel's primes 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071",
        },
    ],
    build: |args, ctx| {
        let key = read_port_key(args)?;
        let fallback = read_flag(args, "fallback")?;
        let on_fail = OnFail::read(args)?;
        let index = args.choice("table_size", &PRIME_NAMES)?;
        if on_fail == OnFail::Quiesce && !fallback {
            return Err(args.invalid("fallback",
                "fallback=off with on_fail=quiesce: IPVS would drop the clients of a quiesced server, which lbsim cannot model; set fallback=on",
            ));
        }
        Ok(Box::new(Mh::new(ctx.pool, key, on_fail, index)))
    },
};

/// A server's walk through the slots while the table fills.
struct Setup {
    skip: u32,
    next: u32,
    turns: u32,
}

pub struct Mh {
    dests: Dests,
    key: Key,
    size: u32,
    /// `size` as a divisor without a division.
    modulo: FastMod,
    /// `IP_VS_MH_TAB_BITS`: the largest turns stay below 2^tab_bits.
    tab_bits: u32,
    /// Each server's (folded address, port), which its permutation is hashed from.
    endpoints: Vec<(u32, u16)>,
    lookup: Vec<ServerId>,
}

impl Mh {
    /// A table of `PRIMES[index]` slots.
    pub fn new(pool: &Pool, key: Key, on_fail: OnFail, index: usize) -> Mh {
        let mut mh = Mh {
            dests: Dests::new(pool, on_fail, false),
            key,
            size: PRIMES[index],
            modulo: FastMod::new(PRIMES[index] as u64),
            tab_bits: (index as u32 + 8) / 2,
            endpoints: (0..pool.len() as ServerId).map(|s| endpoint(pool.name(s), s)).collect(),
            lookup: vec![NONE; PRIMES[index] as usize],
        };
        mh.populate(pool);
        mh
    }

    fn hash(value: u32, key: [u64; 2]) -> u32 {
        hsiphash_u32(value, key)
    }

    /// Refills the table (`ip_vs_mh_permutate` + `ip_vs_mh_populate`).
    fn populate(&mut self, pool: &Pool) {
        self.lookup.fill(NONE);
        let m = self.size;
        let list = self.dests.list();
        // Turns come from each server's last non-zero weight, which is its configured
        // weight: quiescing a server does not change the table.
        let gcd = list.iter().map(|&s| pool.weight(s)).fold(0, gcd);
        if gcd == 0 {
            return;
        }
        let most = list.iter().map(|&s| pool.weight(s)).max().unwrap_or(0) / gcd;
        let rshift = (32 - most.leading_zeros()).saturating_sub(self.tab_bits);
        let mut setup: Vec<Setup> = list
            .iter()
            .map(|&s| {
                let (addr, port) = self.endpoints[s as usize];
                let v = addr.wrapping_add(port as u32);
                let w = pool.weight(s);
                Setup {
                    skip: Self::hash(v, HASH2) % (m - 1) + 1,
                    next: Self::hash(v, HASH1) % m,
                    turns: ((w / gcd) >> rshift).max((w != 0) as u32),
                }
            })
            .collect();
        let mut taken = vec![false; m as usize];
        let mut filled = 0;
        'fill: loop {
            for (i, d) in setup.iter_mut().enumerate() {
                // A server claims `turns` slots in a row, each the next free one on its walk.
                for _ in 0..d.turns {
                    while taken[d.next as usize] {
                        d.next += d.skip;
                        if d.next >= m {
                            d.next -= m;
                        }
                    }
                    taken[d.next as usize] = true;
                    self.lookup[d.next as usize] = list[i];
                    filled += 1;
                    if filled == m {
                        break 'fill;
                    }
                }
            }
        }
    }

    /// A hash's slot, `hash mod M`.
    fn slot(&self, hash: u32) -> u32 {
        self.modulo.of(hash as u64) as u32
    }
}

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Hashing for Mh {
    fn select(&self, client: &Client, pool: &Pool) -> ServerId {
        let v = client_value(self.key, client);
        let ihash = self.slot(Self::hash(v, HASH1));
        let s = self.lookup[ihash as usize];
        // Deleted servers are not in the table, so only a quiesced one is unavailable.
        if self.dests.on_fail() == OnFail::Remove || pool.is_up(s) {
            return s;
        }
        // Quiescing requires the fallback.
        (0..self.size)
            .map(|k| {
                let offset = (k + ihash) % self.size;
                self.lookup[self.slot(Self::hash(offset.wrapping_add(v), HASH1)) as usize]
            })
            .find(|&s| pool.is_up(s))
            .or_else(|| self.dests.list().iter().copied().find(|&s| pool.is_up(s)))
            .expect("pick is only called with a server up")
    }

    fn rebuild(&mut self, pool: &Pool) {
        self.dests.sync(pool);
        self.populate(pool);
    }

    fn key(&self) -> Key {
        self.key
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::weighted;
    use super::*;
    use crate::policy::testing::{built, client, moved_share, pool_with_spare};
    use crate::pool::PoolChangeKind;
    use proptest::prelude::*;

    fn table(p: &Pool, m: u32) -> Vec<ServerId> {
        let index = PRIMES.iter().position(|&x| x == m).unwrap();
        Mh::new(p, Key::Source, OnFail::Remove, index).lookup
    }

    fn counts(t: &[ServerId], n: usize) -> Vec<usize> {
        (0..n)
            .map(|s| t.iter().filter(|&&x| x == s as ServerId).count())
            .collect()
    }

    fn digits(t: &[ServerId]) -> String {
        t.iter().map(|s| s.to_string()).collect()
    }

    // Expected tables from an independent model of ip_vs_mh.c (SipHash-1-3 checked
    // against the reference vectors), servers 10.0.0.1:80, .2, .3 added in that order.

    #[test]
    fn tables_match_an_independent_calculation() {
        let t = table(&weighted(&[1, 1, 1]), 251);
        assert_eq!(digits(&t[..24]), "110000111000111111220000");
        assert_eq!(counts(&t, 3), [83, 84, 84]);
        let t = table(&weighted(&[1, 1, 1]), 4093);
        assert_eq!(digits(&t[..24]), "011220122001100211002122");
        assert_eq!(counts(&t, 3), [1364, 1364, 1365]);
    }

    #[test]
    fn weighted_tables_match_an_independent_calculation() {
        let t = table(&weighted(&[1, 2, 3]), 4093);
        assert_eq!(digits(&t[..24]), "211222122001110212202222");
        assert_eq!(counts(&t, 3), [682, 1364, 2047]);
        // 1000/500/1 on M = 251 (tab_bits 4): rshift 6 gives turns 15, 7 and 1.
        let t = table(&weighted(&[1000, 500, 1]), 251);
        assert_eq!(digits(&t[..24]), "000000111000101111000000");
        assert_eq!(counts(&t, 3), [163, 77, 11]);
    }

    #[test]
    fn lookups_match_an_independent_calculation() {
        let clients = [
            "192.168.1.10",
            "10.1.2.3",
            "172.16.0.1",
            "8.8.8.8",
            "203.0.113.77",
            "127.0.0.1",
            "100.64.0.5",
            "1.2.3.4",
        ];
        let cases = [
            ("ipvs.mh(table_size=251)", 0, [1, 2, 0, 0, 2, 1, 2, 1]),
            (
                "ipvs.mh(table_size=251, key=source_port)",
                40_000,
                [0, 1, 0, 1, 1, 2, 2, 0],
            ),
            ("ipvs.mh", 40_000, [0, 0, 0, 1, 1, 0, 0, 1]),
            ("ipvs.mh(key=source_port)", 40_000, [0, 1, 1, 2, 1, 0, 0, 0]),
        ];
        let p = weighted(&[1, 1, 1]);
        for (spec, port, want) in cases {
            let mh = built(spec, &p);
            let got: Vec<ServerId> = clients
                .iter()
                .map(|c| {
                    let c = Client {
                        user: 0,
                        addr: c.parse().unwrap(),
                        port,
                        connection: 0,
                        new_connection: true,
                    };
                    mh.peek(&c, 0, &p).unwrap()
                })
                .collect();
            assert_eq!(got, want, "{spec}");
        }
    }

    #[test]
    fn table_size_must_be_a_kernel_prime() {
        let p = pool_with_spare(3, 0);
        let s = crate::policy::spec::parse("ipvs.mh(table_size=100)", 0).unwrap();
        let ctx = crate::policy::BuildContext {
            pool: &p,
            expected_users: 1,
        };
        let e = crate::policy::build(&s, &ctx).err().unwrap();
        assert_eq!(
            e.message,
            "table_size=100: expected one of 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071"
        );
        let s = crate::policy::spec::parse("ipvs.mh(on_fail=quiesce)", 0).unwrap();
        assert!(crate::policy::build(&s, &ctx).is_err(), "quiesce needs the fallback");
    }

    #[test]
    fn quiescing_with_fallback_moves_only_the_failed_servers_clients() {
        let spec = "ipvs.mh(on_fail=quiesce, fallback=on)";
        let p = pool_with_spare(8, 0);
        let mh = built(spec, &p);
        let owned = (0..20_000).filter(|&i| mh.peek(&client(i), 0, &p) == Some(5)).count();
        let moved = moved_share(spec, pool_with_spare(8, 0), 20_000, PoolChangeKind::Fail(5));
        assert_eq!(moved, owned as f64 / 20_000.0);
    }

    #[test]
    fn fallback_exhausted_goes_to_the_newest_available_server() {
        // 300 servers on 251 slots: some hold no slot, so with every slot's server
        // quiesced the probes find nothing and IPVS would refuse the connection.
        let mut p = pool_with_spare(300, 0);
        let mut mh = Mh::new(&p, Key::Source, OnFail::Quiesce, 0);
        let holders: std::collections::HashSet<ServerId> = mh.lookup.iter().copied().collect();
        for s in holders {
            p.apply(&PoolChangeKind::Fail(s));
        }
        mh.rebuild(&p);
        let newest_up = *mh.dests.list().iter().find(|&&s| p.is_up(s)).unwrap();
        assert_eq!(mh.select(&client(1), &p), newest_up);
    }

    proptest! {

        #[test]
        fn equal_weights_balance_within_one_slot(n in 1usize..60, index in 0usize..5) {
            let t = Mh::new(&pool_with_spare(n, 0), Key::Source, OnFail::Remove, index).lookup;
            let c = counts(&t, n);
            prop_assert!(c.iter().max().unwrap() - c.iter().min().unwrap() <= 1, "{:?}", c);
        }

        #[test]
        fn slots_follow_turns(weights in prop::collection::vec(1u32..=60, 1..10)) {
            // On M = 4093 (tab_bits 6) these weights need no shift: turns = weight / gcd.
            let t = table(&weighted(&weights), 4093);
            let g = weights.iter().copied().fold(0, gcd);
            let turns: Vec<u32> = weights.iter().map(|w| w / g).collect();
            let rounds = 4093 / turns.iter().sum::<u32>() as usize;
            for (s, c) in counts(&t, weights.len()).into_iter().enumerate() {
                let per_round = turns[s] as usize;
                prop_assert!((rounds * per_round..=(rounds + 1) * per_round).contains(&c), "{} {:?}", s, weights);
            }
        }

        #[test]
        fn removing_a_server_moves_few_others(n in 4usize..40, gone in 0usize..40) {
            let gone = (gone % n) as ServerId;
            let before = Mh::new(&pool_with_spare(n, 0), Key::Source, OnFail::Remove, 4).lookup;
            let mut p = pool_with_spare(n, 0);
            p.apply(&PoolChangeKind::Fail(gone));
            let after = Mh::new(&p, Key::Source, OnFail::Remove, 4).lookup;
            prop_assert!(after.iter().all(|&s| s != gone));
            let kept: Vec<_> = before.iter().zip(&after).filter(|(b, _)| **b != gone).collect();
            let disturbed = kept.iter().filter(|(b, a)| b != a).count() as f64 / kept.len() as f64;
            // Maglev moves a little more than the removed server's share, never a mod-N remap.
            prop_assert!(disturbed < 0.06, "n={} disturbed {}", n, disturbed);
        }
    }
}
