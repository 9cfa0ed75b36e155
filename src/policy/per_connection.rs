//! Connection-level picking: the base policy places a connection when it opens,
//! and every later request on that connection goes where the connection went,
//! whatever the base policy would say now. This is what layer-4 balancers do:
//!
//! - Linux IPVS keeps a connection entry per flow and forwards its packets to the
//!   entry's real server; the scheduler only sees new connections (ipvsadm(8),
//!   "connection table").
//! - Katran keeps an LRU table of flows, so an established flow stays on its real
//!   when the Maglev ring changes (katran README, "connection table").
//! - kube-proxy's iptables and nftables modes DNAT the first packet of a flow and
//!   conntrack keeps the rest on that endpoint.
//!
//! A connection whose server has failed or been removed is broken. By default
//! the request opens a new connection, placed by the base policy, as a client
//! that notices at once and reconnects does (Katran and conntrack entries to a
//! gone backend; IPVS with `expire_nodest_conn = 1`, which kube-proxy's IPVS
//! mode sets). With `dead_server=drop`, the request is lost and only the next one
//! reconnects: IPVS with `expire_nodest_conn = 0`, its default, keeps the entry
//! of a deleted real server and silently drops its packets until the client
//! gives up on the connection (ipvs-sysctl.rst). A draining server keeps its
//! connections, as IPVS keeps those of a weight-0 real server.
//!
//! The table holds one server per user and connection slot, grown as users come;
//! a policy without this wrapper keeps nothing of the kind.

use super::*;
use crate::pool::Presence;

pub const INFO: PolicyInfo = PolicyInfo {
    name: spec::PER_CONNECTION,
    summary: "connection-level picking: the base policy places each new connection, its later requests follow it (IPVS, Katran, conntrack)",
    params: &[
        Param {
            name: "base",
            default: "round_robin",
            help: "policy that places a connection when it opens",
        },
        Param {
            name: "dead_server",
            default: "reconnect",
            help: "a request on a connection whose server failed or was removed: reconnect (placed anew by base), or drop (lost, the next request reconnects: IPVS expire_nodest_conn=0)",
        },
    ],
    build: |args, ctx| {
        let base = build(&args.policy("base")?, ctx)?;
        let drops = args.choice("dead_server", &["reconnect", "drop"])? == 1;
        Ok(Box::new(PerConnection {
            base,
            drops,
            stride: 1,
            servers: Vec::with_capacity(ctx.expected_users),
        }))
    },
};

/// No connection in this slot.
const NONE: u32 = u32::MAX;

pub struct PerConnection {
    base: Box<dyn Policy>,
    /// Whether a request on a connection to a gone server is lost (IPVS
    /// `expire_nodest_conn = 0`) rather than reconnected.
    drops: bool,
    /// Slots per user: the highest connection index seen, plus one.
    stride: usize,
    /// Per user and slot, the server its open connection went to.
    servers: Vec<ServerId>,
}

impl PerConnection {
    /// The table slot of `client`'s open connection, if it has one.
    fn slot(&self, client: &Client) -> Option<usize> {
        if client.new_connection || client.connection as usize >= self.stride {
            return None;
        }
        let i = client.user as usize * self.stride + client.connection as usize;
        self.servers.get(i).is_some_and(|&s| s != NONE).then_some(i)
    }

    /// Where `client`'s open connection is, if it has one on a server that still
    /// serves it.
    fn open(&self, client: &Client, pool: &Pool) -> Option<ServerId> {
        let s = self.servers[self.slot(client)?];
        serves(pool, s).then_some(s)
    }

    fn hold(&mut self, client: &Client, s: ServerId) {
        let slot = client.connection as usize;
        if slot >= self.stride {
            // Lay the table out again with room for this many connections per user.
            let wider = slot + 1;
            let users = self.servers.len() / self.stride;
            let mut servers = vec![NONE; users * wider];
            for (u, row) in self.servers.chunks(self.stride).enumerate() {
                servers[u * wider..u * wider + self.stride].copy_from_slice(row);
            }
            (self.servers, self.stride) = (servers, wider);
        }
        let i = client.user as usize * self.stride + slot;
        if self.servers.len() <= i {
            self.servers.resize((client.user as usize + 1) * self.stride, NONE);
        }
        self.servers[i] = s;
    }
}

/// Whether a connection to `s` still reaches a server that answers.
fn serves(pool: &Pool, s: ServerId) -> bool {
    matches!(pool.presence(s), Presence::Up | Presence::Draining)
}

impl Policy for PerConnection {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        if let Some(i) = self.slot(client) {
            let s = self.servers[i];
            if serves(pool, s) {
                return Pick {
                    server: s,
                    memory: Memory::Connection,
                };
            }
            if self.drops {
                // The client gives up on this connection: its next request opens one.
                self.servers[i] = NONE;
                return Pick {
                    server: s,
                    memory: Memory::DeadConnection,
                };
            }
        }
        let pick = self.base.pick(client, now, pool, rng);
        self.hold(client, pick.server);
        pick
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        self.open(client, pool).or_else(|| self.base.peek(client, now, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.base.pool_changed(pool);
    }

    fn weights_changed(&mut self, pool: &Pool) {
        self.base.weights_changed(pool);
    }

    /// Another L7 instance's pick: its connection is that instance's, but what
    /// the base shares (a stick table with peers, a cookie) reaches this one's.
    fn remember(&mut self, client: &Client, pick: Pick, cookie: Option<u64>, now: Time) {
        self.base.remember(client, pick, cookie, now);
    }

    fn issued(&self, client: &Client) -> Option<u64> {
        self.base.issued(client)
    }

    fn affinity(&self) -> Affinity {
        self.base.affinity()
    }

    fn wants_load(&self) -> bool {
        self.base.wants_load()
    }

    fn session_store(&self) -> Option<Time> {
        self.base.session_store()
    }

    fn per_connection(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stream;
    use crate::policy::testing::{built, client, pool_with_spare};
    use crate::pool::PoolChangeKind;

    fn on(i: u32, connection: u8, new_connection: bool) -> Client {
        Client {
            connection,
            new_connection,
            ..client(i)
        }
    }

    /// Two users, one connection each, on two servers; a third is added. Picking
    /// per request moves a user whose hash moved at once; picking per connection
    /// keeps its open connection where it was and moves only its next one.
    #[test]
    fn an_added_server_moves_only_new_connections() {
        let mut pool = pool_with_spare(2, 1);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut flat = built("ring(vnodes=160)", &pool);
        let mut conn = built("per_connection(base=ring(vnodes=160))", &pool);
        // Users whose hash the new server takes: found, not assumed.
        let before: Vec<_> = (0..200).map(|u| flat.peek(&client(u), 0, &pool).unwrap()).collect();
        for u in 0..200 {
            assert_eq!(
                conn.pick(&on(u, 0, true), 0, &pool, &mut rng).server,
                before[u as usize]
            );
        }
        assert!(pool.apply(&PoolChangeKind::Add(2)));
        flat.pool_changed(&pool);
        conn.pool_changed(&pool);
        let moved: Vec<u32> = (0..200)
            .filter(|&u| flat.peek(&client(u), 0, &pool) == Some(2))
            .collect();
        let stayed = (0..200).find(|u| !moved.contains(u)).unwrap();
        let m = moved[0];
        assert_eq!(flat.pick(&on(m, 0, false), 1, &pool, &mut rng).server, 2);
        let kept = conn.pick(&on(m, 0, false), 1, &pool, &mut rng);
        assert_eq!((kept.server, kept.memory), (before[m as usize], Memory::Connection));
        assert_eq!(conn.peek(&on(m, 0, false), 1, &pool), Some(before[m as usize]));
        // Its next connection goes where the ring now says.
        assert_eq!(conn.pick(&on(m, 0, true), 2, &pool, &mut rng).server, 2);
        assert_eq!(conn.pick(&on(m, 0, false), 3, &pool, &mut rng).server, 2);
        let s = conn.pick(&on(stayed, 0, false), 1, &pool, &mut rng).server;
        assert_eq!(s, before[stayed as usize]);
    }

    /// A user's second connection, opened after the change, lands elsewhere while
    /// its first stays: the split the lane counts.
    #[test]
    fn a_users_connections_split_across_servers_after_a_change() {
        let mut pool = pool_with_spare(2, 1);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut conn = built("per_connection(base=ring(vnodes=160))", &pool);
        let u = (0..1000)
            .find(|&u| {
                let mut p = pool.clone();
                let mut r = built("ring(vnodes=160)", &p);
                p.apply(&PoolChangeKind::Add(2));
                r.pool_changed(&p);
                r.peek(&client(u), 0, &p) == Some(2)
            })
            .unwrap();
        let a = conn.pick(&on(u, 0, true), 0, &pool, &mut rng).server;
        assert_eq!(conn.pick(&on(u, 1, true), 0, &pool, &mut rng).server, a);
        pool.apply(&PoolChangeKind::Add(2));
        conn.pool_changed(&pool);
        assert_eq!(conn.pick(&on(u, 1, true), 1, &pool, &mut rng).server, 2);
        assert_eq!(conn.pick(&on(u, 0, false), 2, &pool, &mut rng).server, a);
        assert_eq!(conn.pick(&on(u, 1, false), 3, &pool, &mut rng).server, 2);
    }

    #[test]
    fn a_connection_to_a_removed_server_reconnects() {
        let mut pool = pool_with_spare(3, 0);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut conn = built("per_connection(base=ring(vnodes=160))", &pool);
        let u = (0..100).find(|&u| conn.peek(&client(u), 0, &pool) == Some(1)).unwrap();
        conn.pick(&on(u, 0, true), 0, &pool, &mut rng);
        pool.apply(&PoolChangeKind::Remove(1));
        conn.pool_changed(&pool);
        let p = conn.pick(&on(u, 0, false), 1, &pool, &mut rng);
        assert_ne!(p.server, 1);
        assert_ne!(p.memory, Memory::Connection);
    }

    /// IPVS with `expire_nodest_conn = 0`: the request on the connection to the
    /// removed server is dropped, and the next one opens a new connection.
    #[test]
    fn a_connection_to_a_removed_server_drops_a_request_then_reconnects() {
        let mut pool = pool_with_spare(3, 0);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut conn = built("per_connection(base=ring(vnodes=160), dead_server=drop)", &pool);
        let u = (0..100).find(|&u| conn.peek(&client(u), 0, &pool) == Some(1)).unwrap();
        conn.pick(&on(u, 0, true), 0, &pool, &mut rng);
        pool.apply(&PoolChangeKind::Remove(1));
        conn.pool_changed(&pool);
        let dropped = conn.pick(&on(u, 0, false), 1, &pool, &mut rng);
        assert_eq!((dropped.server, dropped.memory), (1, Memory::DeadConnection));
        let p = conn.pick(&on(u, 0, false), 2, &pool, &mut rng);
        assert_ne!(p.server, 1);
        assert_ne!(p.memory, Memory::Connection);
        let kept = conn.pick(&on(u, 0, false), 3, &pool, &mut rng);
        assert_eq!((kept.server, kept.memory), (p.server, Memory::Connection));
    }
}
