//! Azure Load Balancer distribution modes, the rule's `loadDistribution`
//! (learn.microsoft.com/azure/load-balancer/distribution-mode-concepts):
//!
//! - `Default`: a five-tuple hash (source IP and port, destination IP and port,
//!   protocol) over the healthy instances. "The algorithm provides stickiness only
//!   within a transport session": a new connection has a new source port and may
//!   go to any instance, so a visit spread over several connections is not kept.
//! - `SourceIP` ("session persistence: client IP"): the two-tuple of source and
//!   destination IP, so every connection from one address goes to one instance.
//! - `SourceIPProtocol` ("client IP and protocol"): the three-tuple; the same
//!   clients as `SourceIP` in lbsim, whose requests all arrive over TCP.
//!
//! Microsoft does not publish the hash, nor which clients move when the backend
//! pool changes or an instance fails its health probe. lbsim hashes the tuple with
//! XXH3 and lets `remap` say what a pool change does: `mod_n` (the default, the
//! cautious reading) picks instance `hash mod N` among the healthy ones, so adding
//! one to N moves about N/(N+1) of the clients; `consistent` looks the hash up in a
//! Maglev table, so only about 1/(N+1) move. Backend pool members carry no weight.
//! Left out: the flow table that keeps an established connection on its instance
//! after a pool change, and the idle timeout that ends it.

use crate::hash::FastMod;
use crate::policy::envoy::Table;
use crate::policy::tuple::Tuple;
use crate::policy::*;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "azure.lb",
    summary: "Azure Load Balancer loadDistribution: Default (5-tuple, sticky within one connection), SourceIP \
              (2-tuple), SourceIPProtocol (3-tuple); Microsoft's hash is not public: XXH3 stands in, and `remap` \
              assumes what a pool change moves",
    params: &[
        Param {
            name: "distribution",
            default: "Default",
            help: "loadDistribution: Default (five-tuple), SourceIP (client IP) or SourceIPProtocol (client IP and protocol)",
        },
        Param {
            name: "remap",
            default: "mod_n",
            help: "not published, so assumed: mod_n (a pool change moves most clients) or consistent (about 1/(N+1))",
        },
    ],
    build: |args, ctx| {
        let tuple = [Tuple::Five, Tuple::Two, Tuple::Three]
            [args.choice("distribution", &["Default", "SourceIP", "SourceIPProtocol"])?];
        let consistent = args.choice("remap", &["mod_n", "consistent"])? == 1;
        let remap = if consistent {
            Remap::Consistent(Table::maglev(&ctx.pool.unweighted(), MAGLEV_SIZE))
        } else {
            Remap::ModN(FastMod::new(ctx.pool.up().len().max(1) as u64))
        };
        Ok(Box::new(AzureLb { tuple, remap }))
    },
};

/// The stand-in table's size, the Maglev paper's 65537.
const MAGLEV_SIZE: u64 = 65_537;

enum Remap {
    /// The hash modulo the number of healthy instances.
    ModN(FastMod),
    Consistent(Table),
}

pub struct AzureLb {
    tuple: Tuple,
    remap: Remap,
}

impl AzureLb {
    fn select(&self, client: &Client, pool: &Pool) -> ServerId {
        let h = self.tuple.hash(client);
        match &self.remap {
            Remap::ModN(n) => pool.up()[n.of(h) as usize],
            Remap::Consistent(table) => table.host(h),
        }
    }
}

impl Policy for AzureLb {
    fn pick(&mut self, client: &Client, _: Time, pool: &Pool, _: &mut StreamRng) -> Pick {
        Pick::stateless(self.select(client, pool))
    }

    fn peek(&self, client: &Client, _: Time, pool: &Pool) -> Option<ServerId> {
        Some(self.select(client, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        match &mut self.remap {
            Remap::ModN(n) => *n = FastMod::new(pool.up().len().max(1) as u64),
            Remap::Consistent(table) => table.rebuild(&pool.unweighted()),
        }
    }

    fn affinity(&self) -> Affinity {
        self.tuple.affinity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::{adding_moves_as_mod_n, built, client, moved_share, pool_with_spare, servers};
    use crate::pool::PoolChangeKind;

    /// Of `users` clients on 8 instances, how many land elsewhere after `change`.
    fn moved_by(text: &str, change: impl Fn(&mut Client)) -> usize {
        let pool = pool_with_spare(8, 0);
        let p = built(text, &pool);
        (0..400)
            .filter(|&u| {
                let mut c = client(u);
                let before = p.peek(&c, 0, &pool);
                change(&mut c);
                p.peek(&c, 0, &pool) != before
            })
            .count()
    }

    #[test]
    fn five_tuple_keeps_a_client_for_one_connection_only() {
        let new_connection = |c: &mut Client| c.port = c.port.wrapping_add(1);
        assert_eq!(moved_by("azure.lb", |_| {}), 0);
        let moved = moved_by("azure.lb", new_connection);
        assert!(
            (320..385).contains(&moved),
            "{moved} of 400 new connections went elsewhere"
        );
        assert_eq!(built("azure.lb", &pool_with_spare(2, 0)).affinity(), Affinity::None);
        for mode in ["SourceIP", "SourceIPProtocol"] {
            let text = format!("azure.lb(distribution={mode})");
            assert_eq!(moved_by(&text, new_connection), 0, "{mode}");
            let moved = moved_by(&text, |c| c.addr = Addr::v4(c.addr.0 as u32 ^ 0x0100_0000));
            assert!(
                (320..385).contains(&moved),
                "{mode}: {moved} of 400 moved with their address"
            );
        }
    }

    #[test]
    fn remap_says_what_a_pool_change_moves() {
        adding_moves_as_mod_n("azure.lb(distribution=SourceIP)", &[3, 8, 20], 50_000, 0.01);
        for n in [4u32, 10] {
            let text = "azure.lb(distribution=SourceIP, remap=consistent)";
            let moved = moved_share(text, pool_with_spare(n as usize, 1), 20_000, PoolChangeKind::Add(n));
            let want = 1.0 / (n + 1) as f64;
            assert!(
                moved >= want * 0.9 && moved < want + 0.04,
                "n={n}: moved {moved}, about {want}"
            );
        }
    }

    #[test]
    fn instance_weights_do_not_count() {
        let pool = servers(&["vm1", "vm2"], &[9, 1], &[]);
        for text in [
            "azure.lb(distribution=SourceIP)",
            "azure.lb(distribution=SourceIP, remap=consistent)",
        ] {
            let p = built(text, &pool);
            let on_first = (0..10_000).filter(|&u| p.peek(&client(u), 0, &pool) == Some(0)).count();
            assert!(
                (4_700..5_300).contains(&on_first),
                "{text}: {on_first} of 10000 on the weight-9 instance"
            );
        }
    }

    #[test]
    fn modes_are_spelled_as_azure_spells_them() {
        let pool = pool_with_spare(2, 0);
        let ctx = BuildContext {
            pool: &pool,
            expected_users: 1,
        };
        let e = build(&spec::parse("azure.lb(distribution=sourceip)", 0).unwrap(), &ctx)
            .err()
            .unwrap();
        assert_eq!(
            e.message,
            "distribution=sourceip: expected one of Default, SourceIP, SourceIPProtocol"
        );
    }
}
