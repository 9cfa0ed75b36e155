//! IPVS persistence (`ipvsadm -p TIMEOUT -M NETMASK`): connection templates
//! (`ip_vs_sched_persist()` in `ip_vs_core.c`, `ip_vs_check_template()` and
//! `ip_vs_conn_expire()` in `ip_vs_conn.c`).
//!
//! A new connection from a client whose network (address & netmask) has a live
//! template goes to the template's server, as long as that server is still in the
//! service; otherwise the scheduler picks one and a new template records it. The
//! template's timer is re-armed to `timeout` on each new connection. When it fires
//! while connections of the client are still in the kernel's connection table, it is
//! re-armed by 60 s instead, and keeps that shorter timeout from then on. Closed TCP
//! connections stay in the table for their TIME_WAIT (2 minutes), so a template
//! outlives its last connection by at least that: with a short timeout (kube-proxy's
//! `timeoutSeconds: 10`) a client keeps its server for over two minutes
//! (kubernetes#89358).
//!
//! lbsim sees requests, not connections: each request is one new connection (as
//! with HTTP/1.0 or a closed keep-alive), opened when the request starts and
//! lingering `time_wait` after that (the request's own duration, seconds at most,
//! is left out next to the 120 s).
//!
//! A template whose server was deleted and added back (before the client returned)
//! is valid again: the kernel keeps the deleted server in its trash while templates
//! point at it and revives it on re-add, so the client fails back. A quiesced
//! (weight 0) server still holds its templates unless
//! `net.ipv4.vs.expire_quiescent_template=1` (which kube-proxy sets); without it IPVS
//! keeps sending the server's persistent clients to it, which lbsim cannot model for a
//! failed server, so a base scheduler with `on_fail=quiesce` needs
//! `expire_quiescent=on`.

use crate::policy::aged::AgedTable;

use super::*;
use crate::engine::SECOND;
use crate::policy::{Affinity, Memory, Pick, Policy, Spec, StreamRng, Time, build};
use crate::pool::{Pool, ServerId};

/// `ipvsadm -p` accepts 1 s to 31 days.
const MAX_TIMEOUT: u64 = 86_400 * 31;

/// The re-arm step of a template whose connections outlive its timer.
const REARM: Time = 60 * SECOND;

pub const INFO: PolicyInfo = PolicyInfo {
    name: "ipvs.persistence",
    summary: "IPVS persistence templates (ipvsadm -p): a client network keeps its server until `timeout` after its last connection",
    params: &[
        Param {
            name: "base",
            default: "ipvs.rr",
            help: "the service's scheduler, for clients without a live template",
        },
        Param {
            name: "timeout",
            default: "360",
            help: "persistence timeout in seconds (ipvsadm -p; 360 when given without a value), 1 to 2678400",
        },
        Param {
            name: "netmask",
            default: "32",
            help: "template granularity for IPv4 clients, as a prefix length 0 to 32 (ipvsadm -M 255.255.255.255)",
        },
        Param {
            name: "netmask6",
            default: "128",
            help: "template granularity for IPv6 clients, as a prefix length 1 to 128",
        },
        Param {
            name: "time_wait",
            default: "120",
            help: "seconds a finished connection stays in IPVS's table and keeps its template alive (TCP TIME_WAIT), 0 to 86400",
        },
        Param {
            name: "expire_quiescent",
            default: "off",
            help: "net.ipv4.vs.expire_quiescent_template: drop templates of weight-0 servers (off, on); needed with a base on_fail=quiesce",
        },
    ],
    build: |args, ctx| {
        let base_spec = args.policy("base")?;
        let timeout = args.int("timeout", 1, MAX_TIMEOUT)? * SECOND;
        let netmask = args.int("netmask", 0, 32)? as u32;
        let netmask6 = args.int("netmask6", 1, 128)? as u32;
        let time_wait = args.int("time_wait", 0, 86_400)? * SECOND;
        if !read_flag(args, "expire_quiescent")? && quiesces(&base_spec) {
            return Err(args.invalid("expire_quiescent",
                "expire_quiescent=off with a base that quiesces failed servers: IPVS would keep sending their persistent clients to them, which lbsim cannot model; set expire_quiescent=on",
            ));
        }
        let base = build(&base_spec, ctx)?;
        Ok(Box::new(Persistence::new(base, timeout, netmask, netmask6, time_wait)))
    },
};

/// Whether a base specification is an IPVS scheduler told to quiesce failed servers.
fn quiesces(spec: &Spec) -> bool {
    spec.name.starts_with("ipvs.") && spec.args.iter().any(|a| a.key == "on_fail" && a.value == "quiesce")
}

/// A connection template.
#[derive(Clone, Copy)]
struct Template {
    server: ServerId,
    /// The timer has fired with connections left, so the timeout is 60 s from now on.
    short: bool,
}

pub struct Persistence {
    base: Box<dyn Policy>,
    timeout: Time,
    mask4: u32,
    mask6: u128,
    /// How long a template outlives its last connection, armed with the full
    /// timeout and (after a stretch) with 60 s.
    life: [Time; 2],
    /// Templates by client network, aged by their latest connection.
    templates: AgedTable<Template>,
    /// No template lives longer than this after its last connection.
    longest: Time,
}

impl Persistence {
    pub fn new(base: Box<dyn Policy>, timeout: Time, netmask: u32, netmask6: u32, time_wait: Time) -> Persistence {
        let life = [life(timeout, time_wait), life(REARM, time_wait)];
        Persistence {
            base,
            timeout,
            mask4: u32::MAX.checked_shl(32 - netmask).unwrap_or(0),
            mask6: u128::MAX << (128 - netmask6),
            life,
            templates: AgedTable::default(),
            // Only a connection outliving the timer cuts the timeout to 60 s.
            longest: if time_wait > timeout {
                life[0].max(life[1])
            } else {
                life[0]
            },
        }
    }

    /// The template key: the client address under the netmask.
    fn network(&self, addr: Addr) -> Addr {
        if addr.is_v4() {
            Addr::v4(addr.0 as u32 & self.mask4)
        } else {
            Addr::v6(addr.0 & self.mask6)
        }
    }

    /// Whether a template whose latest connection attached at `last` is still armed.
    fn alive(&self, t: &Template, last: Time, now: Time) -> bool {
        now < last.saturating_add(self.life[t.short as usize])
    }

    /// The server a live template sends `addr` to, if its server is still in service.
    fn live(&self, net: Addr, now: Time, pool: &Pool) -> Option<ServerId> {
        self.templates
            .get(&net)
            .filter(|&(t, last)| self.alive(t, last, now) && pool.is_up(t.server))
            .map(|(t, _)| t.server)
    }

    /// Drops the templates that expired, as their timers would.
    fn purge(&mut self, now: Time) {
        if let Some(oldest_alive) = now.checked_sub(self.longest) {
            self.templates.drop_older(oldest_alive + 1);
        }
    }
}

/// How long a template armed with `timeout` outlives its last connection: its timer
/// fires `timeout` after it, and re-arms by 60 s while that connection (`time_wait`
/// long) is still in the table.
fn life(timeout: Time, time_wait: Time) -> Time {
    match time_wait.checked_sub(timeout) {
        Some(left) if left > 0 => timeout + left.div_ceil(REARM) * REARM,
        _ => timeout,
    }
}

impl Policy for Persistence {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        self.purge(now);
        let net = self.network(client.addr);
        let (timeout, life) = (self.timeout, self.life);
        if let Some((t, last)) = self.templates.get_mut(&net)
            && now < last.saturating_add(life[t.short as usize])
            && pool.is_up(t.server)
        {
            // Past its first expiry the timer fired with connections left: 60 s now.
            t.short |= now >= last.saturating_add(if t.short { REARM } else { timeout });
            let server = t.server;
            self.templates.touch(net, now);
            return Pick {
                server,
                memory: Memory::Hit,
            };
        }
        let server = self.base.pick(client, now, pool, rng).server;
        self.templates.insert(net, Template { server, short: false }, now);
        Pick {
            server,
            memory: Memory::Miss,
        }
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        self.live(self.network(client.addr), now, pool)
            .or_else(|| self.base.peek(client, now, pool))
    }

    fn pool_changed(&mut self, pool: &Pool) {
        self.base.pool_changed(pool);
    }

    fn weights_changed(&mut self, pool: &Pool) {
        self.base.weights_changed(pool);
    }

    fn affinity(&self) -> Affinity {
        Affinity::Address
    }

    fn wants_load(&self) -> bool {
        self.base.wants_load()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stream;
    use crate::policy::testing::{built, client, pool_with_spare};
    use crate::pool::PoolChangeKind;
    use proptest::prelude::*;

    const S: Time = SECOND;

    fn memories(spec: &str, times: &[Time]) -> Vec<Memory> {
        let p = pool_with_spare(3, 0);
        let mut policy = built(spec, &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        times
            .iter()
            .map(|&t| policy.pick(&client(1), t, &p, &mut rng).memory)
            .collect()
    }

    #[test]
    fn template_lives_timeout_after_the_last_connection() {
        use Memory::{Hit, Miss};
        let spec = "ipvs.persistence(timeout=300, time_wait=0)";
        assert_eq!(memories(spec, &[0, 299 * S, 598 * S, 898 * S]), [Miss, Hit, Hit, Miss]);
    }

    #[test]
    fn lingering_connections_stretch_a_short_timeout_in_60_s_steps() {
        use Memory::{Hit, Miss};
        // timeout 10 s, connections linger 120 s: the timer fires at 10 s, 70 s and
        // 130 s; the connection is gone by 120 s, so the template dies at 130 s.
        let spec = "ipvs.persistence(timeout=10)";
        assert_eq!(memories(spec, &[0, 129 * S]), [Miss, Hit]);
        assert_eq!(memories(spec, &[0, 130 * S]), [Miss, Miss]);
    }

    #[test]
    fn after_a_stretch_the_timeout_stays_at_60_s() {
        use Memory::{Hit, Miss};
        // timeout 100 s: fired at 100 s with the connection left, re-armed to 160 s.
        // A connection at 150 s re-arms by 60 s (not 100): 210 s, then 270 s when its
        // own connection leaves at 270 s.
        let spec = "ipvs.persistence(timeout=100)";
        assert_eq!(memories(spec, &[0, 150 * S, 269 * S]), [Miss, Hit, Hit]);
        assert_eq!(memories(spec, &[0, 150 * S, 270 * S]), [Miss, Hit, Miss]);
        // A connection before the first firing keeps the full timeout.
        assert_eq!(memories(spec, &[0, 90 * S, 219 * S]), [Miss, Hit, Hit]);
    }

    #[test]
    fn netmask_groups_clients() {
        let p = pool_with_spare(3, 0);
        let mut policy = built("ipvs.persistence(netmask=24)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let at = |s: &str| Client {
            user: 0,
            addr: s.parse().unwrap(),
            port: 1,
            connection: 0,
            new_connection: true,
        };
        let first = policy.pick(&at("192.0.2.1"), 0, &p, &mut rng).server;
        assert_eq!(
            policy.pick(&at("192.0.2.200"), 1, &p, &mut rng),
            Pick {
                server: first,
                memory: Memory::Hit
            }
        );
        assert_eq!(policy.pick(&at("192.0.3.1"), 2, &p, &mut rng).memory, Memory::Miss);
    }

    #[test]
    fn deleted_server_reschedules_and_a_revived_one_is_used_again() {
        let mut p = pool_with_spare(3, 0);
        let mut policy = built("ipvs.persistence", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let (a, b) = (client(1), client(2));
        let first_a = policy.pick(&a, 0, &p, &mut rng).server;
        let first_b = policy.pick(&b, 0, &p, &mut rng).server;
        assert_ne!(first_a, first_b);
        p.apply(&PoolChangeKind::Fail(first_a));
        policy.pool_changed(&p);
        let second = policy.pick(&a, S, &p, &mut rng);
        assert_eq!(second.memory, Memory::Miss);
        assert_ne!(second.server, first_a);
        // b's server fails and recovers while b is away: b's template still names it.
        p.apply(&PoolChangeKind::Recover(first_a));
        policy.pool_changed(&p);
        p.apply(&PoolChangeKind::Fail(first_b));
        policy.pool_changed(&p);
        p.apply(&PoolChangeKind::Recover(first_b));
        policy.pool_changed(&p);
        assert_eq!(policy.peek(&b, 2 * S, &p), Some(first_b));
        // a stays on its new server: the new template replaced the old one.
        assert_eq!(policy.pick(&a, 3 * S, &p, &mut rng).server, second.server);
    }

    #[test]
    fn default_base_is_ipvs_rr_newest_first() {
        let p = pool_with_spare(3, 0);
        let mut policy = built("ipvs.persistence", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let firsts: Vec<_> = (0..4)
            .map(|i| policy.pick(&client(i), 0, &p, &mut rng).server)
            .collect();
        assert_eq!(firsts, [2, 1, 0, 2]);
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
            crate::policy::build(&s, &ctx).err().unwrap().message
        };
        assert_eq!(
            err("ipvs.persistence(timeout=0)"),
            "timeout=0: expected a whole number from 1 to 2678400"
        );
        assert!(err("ipvs.persistence(netmask=33)").contains("from 0 to 32"));
        let quiet = err("ipvs.persistence(base=ipvs.rr(on_fail=quiesce))");
        assert!(quiet.contains("set expire_quiescent=on"), "{quiet}");
        let s = crate::policy::spec::parse(
            "ipvs.persistence(base=ipvs.rr(on_fail=quiesce), expire_quiescent=on)",
            0,
        )
        .unwrap();
        let ctx = crate::policy::BuildContext {
            pool: &p,
            expected_users: 1,
        };
        assert!(crate::policy::build(&s, &ctx).is_ok());
    }

    #[test]
    fn expired_templates_are_purged() {
        let p = pool_with_spare(3, 0);
        let mut policy = Persistence::new(built("ipvs.rr", &p), 10 * S, 32, 128, 0);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        for i in 0..100 {
            policy.pick(&client(i), 0, &p, &mut rng);
        }
        policy.pick(&client(1000), 11 * S, &p, &mut rng);
        assert_eq!(policy.templates.len(), 1);
    }

    proptest! {
        #[test]
        fn same_client_same_server_within_timeout(
            gaps in prop::collection::vec(0u64..400, 1..40),
            timeout in 1u64..400,
            time_wait in 0u64..200,
        ) {
            let p = pool_with_spare(4, 0);
            let mut policy = Persistence::new(built("ipvs.rr", &p), timeout * S, 32, 128, time_wait * S);
            let mut rng = Stream::Policy.rng(1, 0, 0);
            let c = client(9);
            let mut now = 0;
            let mut held = policy.pick(&c, now, &p, &mut rng).server;
            for gap in gaps {
                now += gap * S;
                let pick = policy.pick(&c, now, &p, &mut rng);
                if gap < timeout {
                    // Within the timeout of the last connection a template always lives.
                    prop_assert_eq!(pick, Pick { server: held, memory: Memory::Hit });
                } else if gap >= timeout.max(time_wait) + 60 {
                    prop_assert_eq!(pick.memory, Memory::Miss);
                }
                held = pick.server;
            }
        }
    }
}
