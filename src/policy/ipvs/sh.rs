//! Linux IPVS `sh`, source hashing (`net/netfilter/ipvs/ip_vs_sh.c`).
//!
//! A table of 256 buckets (`CONFIG_IP_VS_SH_TAB_BITS` = 8) is filled by walking the
//! destination list, newest first, giving each server `weight` consecutive buckets
//! (a weight-0 server still gets one) and cycling until the table is full. A client
//! goes to bucket `hash_32(port + addr, 8)`: the address times the golden ratio,
//! top 8 bits. Every add, delete or weight change refills the whole table, and since
//! the fill is a plain cycle, nearly every bucket changes owner: adding one server to
//! N moves about N/(N+1) of the clients, like `ip_hash`. Worse, a server that fails
//! and comes back is added again at the head, so the table after the recovery is not
//! the one before the failure.
//!
//! What a failure does depends on the health checker ([`OnFail`]). Deleting the
//! server refills the table (mod-N remap). Quiescing it (weight 0) leaves the table
//! alone and makes its buckets unavailable: IPVS then drops those clients unless the
//! service has `sh-fallback`, which probes the following buckets for an available
//! server, so only the failed server's clients move, and they move back when it
//! returns. lbsim cannot drop a request, so quiescing requires `fallback=on`.

use super::*;
use crate::policy::Hashing;
use crate::pool::{Pool, ServerId};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ipvs.sh",
    summary: "Linux IPVS source hashing: 256 buckets dealt out cycling through the server list; any change refills them (mod-N remap)",
    params: &[
        PORT_KEY,
        Param {
            name: "fallback",
            default: "off",
            help: "sh-fallback: probe the following buckets when a bucket's server is quiesced (off, on); required with on_fail=quiesce",
        },
        OnFail::PARAM,
        Param {
            name: "tab_bits",
            default: "8",
            help: "CONFIG_IP_VS_SH_TAB_BITS: the table has 2^tab_bits buckets (4 to 20)",
        },
    ],
    build: |args, ctx| {
        let key = read_port_key(args)?;
        let fallback = read_flag(args, "fallback")?;
        let on_fail = OnFail::read(args)?;
        let bits = args.int("tab_bits", 4, 20)? as u32;
        if on_fail == OnFail::Quiesce && !fallback {
            return Err(args.invalid("fallback",
                "fallback=off with on_fail=quiesce: IPVS would drop the clients of a quiesced server, which lbsim cannot model; set fallback=on",
            ));
        }
        if on_fail == OnFail::Quiesce && ctx.pool.len() > 1 << bits {
            return Err(args.invalid("tab_bits",
                format!(
                    "tab_bits={bits}: {} servers with on_fail=quiesce need at least as many buckets, or a failed server's clients could find no bucket of an available one",
                    ctx.pool.len()
                ),
            ));
        }
        Ok(Box::new(Sh::new(ctx.pool, key, on_fail, bits)))
    },
};

pub struct Sh {
    dests: Dests,
    key: Key,
    bits: u32,
    buckets: Vec<ServerId>,
}

impl Sh {
    pub fn new(pool: &Pool, key: Key, on_fail: OnFail, bits: u32) -> Sh {
        let mut sh = Sh {
            dests: Dests::new(pool, on_fail, false),
            key,
            bits,
            buckets: Vec::with_capacity(1 << bits),
        };
        sh.fill(pool);
        sh
    }

    /// Refills every bucket, walking the list and cycling.
    fn fill(&mut self, pool: &Pool) {
        self.buckets.clear();
        let size = 1 << self.bits;
        for &s in self.dests.list().iter().cycle() {
            let room = size - self.buckets.len();
            if room == 0 {
                break;
            }
            let turns = Dests::weight(pool, s).max(1) as usize;
            self.buckets.extend(std::iter::repeat_n(s, turns.min(room)));
        }
    }
}

impl Hashing for Sh {
    fn select(&self, client: &Client, pool: &Pool) -> ServerId {
        let size = self.buckets.len();
        let ihash = hash_32(client_value(self.key, client), self.bits) as usize;
        let s = self.buckets[ihash];
        if pool.is_up(s) {
            return s;
        }
        // A quiesced server (a deleted one is not in the table), so the fallback is on:
        // the k-th probe is bucket (k + ihash) mod size, plus ihash again.
        (0..size)
            .map(|k| self.buckets[((k + ihash) % size + ihash) & (size - 1)])
            .find(|&s| pool.is_up(s))
            .expect("with at most as many servers as buckets, an available server holds a bucket")
    }

    fn rebuild(&mut self, pool: &Pool) {
        self.dests.sync(pool);
        self.fill(pool);
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

    const CLIENTS: [&str; 8] = [
        "192.168.1.10",
        "10.1.2.3",
        "172.16.0.1",
        "8.8.8.8",
        "203.0.113.77",
        "127.0.0.1",
        "100.64.0.5",
        "1.2.3.4",
    ];

    fn picks(spec: &str, p: &Pool, port: u16) -> Vec<ServerId> {
        let policy = built(spec, p);
        CLIENTS
            .iter()
            .map(|c| {
                let c = Client {
                    user: 0,
                    addr: c.parse().unwrap(),
                    port,
                    connection: 0,
                    new_connection: true,
                };
                policy.peek(&c, 0, p).unwrap()
            })
            .collect()
    }

    fn table(p: &Pool) -> Vec<ServerId> {
        Sh::new(p, Key::Source, OnFail::Remove, 8).buckets
    }

    #[test]
    fn fill_walks_the_list_newest_first() {
        let t = table(&weighted(&[1, 1, 1]));
        assert_eq!(&t[..6], &[2, 1, 0, 2, 1, 0]);
        let t = table(&weighted(&[2, 1, 3]));
        assert_eq!(&t[..12], &[2, 2, 2, 1, 0, 0, 2, 2, 2, 1, 0, 0]);
        let count = |s| t.iter().filter(|&&x| x == s).count();
        assert_eq!([count(0), count(1), count(2)], [84, 43, 129]);
    }

    #[test]
    fn picks_match_an_independent_calculation() {
        // Buckets 248, 2, 122, 188, 57, 154, 54, 52 for these clients; expected servers
        // (0-based configuration positions) from a separate model of ip_vs_sh.c.
        assert_eq!(picks("ipvs.sh", &weighted(&[1, 1, 1]), 0), [0, 0, 0, 0, 2, 1, 2, 1]);
        assert_eq!(picks("ipvs.sh", &weighted(&[2, 1, 3]), 0), [2, 2, 2, 2, 1, 0, 2, 0]);
        let with_port = "ipvs.sh(key=source_port)";
        assert_eq!(
            picks(with_port, &weighted(&[1, 1, 1]), 40_000),
            [2, 1, 2, 2, 0, 0, 0, 2]
        );
        assert_eq!(
            picks(with_port, &weighted(&[2, 1, 3]), 40_000),
            [2, 0, 2, 2, 0, 2, 2, 2]
        );
        assert_eq!(
            picks("ipvs.sh", &weighted(&[1, 1, 1]), 40_000),
            [0, 0, 0, 0, 2, 1, 2, 1]
        );
    }

    #[test]
    fn a_recovered_server_comes_back_at_the_head() {
        let mut p = weighted(&[1, 1, 1]);
        let mut sh = Sh::new(&p, Key::Source, OnFail::Remove, 8);
        p.apply(&PoolChangeKind::Fail(2));
        sh.rebuild(&p);
        assert_eq!(&sh.buckets[..4], &[1, 0, 1, 0]);
        p.apply(&PoolChangeKind::Recover(2));
        sh.rebuild(&p);
        assert_eq!(
            &sh.buckets[..6],
            &[2, 1, 0, 2, 1, 0],
            "same order: 2 was the newest anyway"
        );
        p.apply(&PoolChangeKind::Fail(0));
        sh.rebuild(&p);
        p.apply(&PoolChangeKind::Recover(0));
        sh.rebuild(&p);
        assert_eq!(
            &sh.buckets[..6],
            &[0, 2, 1, 0, 2, 1],
            "the oldest server is now the newest"
        );
    }

    #[test]
    fn quiescing_with_fallback_moves_only_the_failed_servers_clients() {
        let spec = "ipvs.sh(on_fail=quiesce, fallback=on)";
        let p = pool_with_spare(6, 0);
        let sh = built(spec, &p);
        let owned = (0..20_000).filter(|&i| sh.peek(&client(i), 0, &p) == Some(4)).count();
        let moved = moved_share(spec, pool_with_spare(6, 0), 20_000, PoolChangeKind::Fail(4));
        assert_eq!(moved, owned as f64 / 20_000.0);
        // Deleting the server instead refills the table: most clients move.
        assert!(moved_share("ipvs.sh", pool_with_spare(6, 0), 20_000, PoolChangeKind::Fail(4)) > 0.7);
    }

    #[test]
    fn parameters_are_checked() {
        let p = pool_with_spare(3, 0);
        let err = |spec: &str| {
            let s = crate::policy::spec::parse(spec, 0).unwrap();
            let ctx = crate::policy::BuildContext {
                pool: &p,
                expected_users: 1,
            };
            crate::policy::build(&s, &ctx).err().unwrap()
        };
        let e = err("ipvs.sh(tab_bits=21)");
        assert!(
            e.message
                .starts_with("tab_bits=21: expected a whole number from 4 to 20"),
            "{e:?}"
        );
        let e = err("ipvs.sh(on_fail=quiesce, fallback=off)");
        assert_eq!(e.offset, "ipvs.sh(on_fail=quiesce, fallback=".len());
        assert!(e.message.contains("set fallback=on"), "{e:?}");
        let e = err("ipvs.sh(key=prefix)");
        assert!(e.message.contains("expected one of source, source_port"), "{e:?}");
        let big = pool_with_spare(17, 0);
        let s = crate::policy::spec::parse("ipvs.sh(on_fail=quiesce, fallback=on, tab_bits=4)", 0).unwrap();
        let ctx = crate::policy::BuildContext {
            pool: &big,
            expected_users: 1,
        };
        assert!(crate::policy::build(&s, &ctx).is_err());
    }

    proptest! {
        #[test]
        fn buckets_follow_weights(weights in prop::collection::vec(1u32..=40, 1..12)) {
            let t = table(&weighted(&weights));
            // The fill is a cycle over the list (newest first) of `weight` buckets each.
            let listed: Vec<u32> = weights.iter().rev().copied().collect();
            let total: u32 = listed.iter().sum();
            let (rounds, rest) = (256 / total, 256 % total);
            let mut before = 0;
            for (i, &w) in listed.iter().enumerate() {
                let s = (weights.len() - 1 - i) as ServerId;
                let want = rounds * w + w.min(rest.saturating_sub(before));
                before += w;
                prop_assert_eq!(t.iter().filter(|&&x| x == s).count() as u32, want);
            }
        }

        #[test]
        fn adding_a_server_remaps_like_mod_n(n in 1usize..40) {
            let before = Sh::new(&pool_with_spare(n, 1), Key::Source, OnFail::Remove, 8).buckets;
            let mut p = pool_with_spare(n, 1);
            p.apply(&PoolChangeKind::Add(n as u32));
            let after = Sh::new(&p, Key::Source, OnFail::Remove, 8).buckets;
            let changed = before.iter().zip(&after).filter(|(a, b)| a != b).count() as f64 / 256.0;
            prop_assert!(changed >= n as f64 / (n + 1) as f64 - 0.01, "n={} changed {}", n, changed);
            let moved = moved_share("ipvs.sh", pool_with_spare(n, 1), 4000, PoolChangeKind::Add(n as u32));
            prop_assert!((moved - changed).abs() < 0.06, "clients moved {} vs buckets {}", moved, changed);
        }
    }
}
