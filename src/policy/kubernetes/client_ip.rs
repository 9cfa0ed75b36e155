//! `sessionAffinity: ClientIP` (with `sessionAffinityConfig.clientIP.timeoutSeconds`,
//! 10800 by default, 1 to 86400): kube-proxy keeps each client address on one
//! endpoint for `timeout` after its last new connection, per Service port. How it
//! does so depends on its mode, and so do the ways a client loses its endpoint:
//! - `iptables` ([`super::iptables`]): an `xt_recent` list per endpoint, 100
//!   addresses each, the least recently used evicted past that, so a busy endpoint
//!   forgets clients well within the timeout; new clients split at random.
//! - `nftables` ([`super::nftables`]): a timeout set per endpoint, no size limit;
//!   new clients split at random.
//! - `ipvs`: IPVS persistence over `rr` ([`crate::policy::ipvs::persistence`]), with
//!   its 60 s re-arms and TIME_WAIT connections stretching short timeouts.
//!
//! In every mode the endpoints are the ready pods (lbsim's servers that are up),
//! in kube-proxy's order: sorted by their `IP:port` text. A pod that fails leaves the
//! endpoints and its affinity record is deleted with its rules; its clients fall
//! through to the random split (or the scheduler) and are recorded again.

use super::iptables::Iptables;
use super::nftables::Nftables;
use crate::engine::SECOND;
use crate::policy::ipvs::OnFail;
use crate::policy::ipvs::persistence::Persistence;
use crate::policy::ipvs::rr::Rr;
use crate::policy::{Param, PolicyInfo};

pub const INFO: PolicyInfo = PolicyInfo {
    name: "k8s.client_ip",
    summary: "Kubernetes sessionAffinity: ClientIP as kube-proxy programs it (iptables recent lists, nftables sets, IPVS persistence)",
    params: &[
        Param {
            name: "mode",
            default: "iptables",
            help: "kube-proxy mode: iptables, nftables or ipvs",
        },
        Param {
            name: "timeout",
            default: "10800",
            help: "timeoutSeconds: affinity lasts this long after a client's last new connection, 1 to 86400",
        },
        Param {
            name: "list_size",
            default: "100",
            help: "iptables mode: addresses each endpoint's recent list holds (xt_recent ip_list_tot), 1 to 1000000",
        },
    ],
    build: |args, ctx| {
        let mode = args.choice("mode", &["iptables", "nftables", "ipvs"])?;
        let timeout = args.int("timeout", 1, 86_400)? * SECOND;
        let list_size = args.int("list_size", 1, 1_000_000)? as usize;
        Ok(match mode {
            0 => Box::new(Iptables::new(ctx.pool, timeout, list_size)),
            1 => Box::new(Nftables::new(ctx.pool, timeout)),
            // kube-proxy: a persistent virtual service (netmask /32, /128) with `rr`,
            // expire_quiescent_template=1, real servers added in endpoint order.
            _ => Box::new(Persistence::new(
                Box::new(Rr::new(ctx.pool, OnFail::Remove, true)),
                timeout,
                32,
                128,
                IPVS_TIME_WAIT,
            )),
        })
    },
};

/// IPVS keeps a closed TCP connection for its TIME_WAIT, 2 minutes.
const IPVS_TIME_WAIT: u64 = 120 * SECOND;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stream;
    use crate::policy::testing::servers;
    use crate::policy::testing::{built, client};
    use crate::policy::{BuildContext, Memory, Pick, build, spec};
    use crate::pool::Pool;

    fn named(names: &[&str]) -> Pool {
        servers(names, &[], &[])
    }

    #[test]
    fn ipvs_mode_is_persistence_over_rr_in_reverse_endpoint_order() {
        let p = named(&["10.0.0.2:80", "10.0.0.10:80", "10.0.0.1:80"]);
        let mut policy = built("k8s.client_ip(mode=ipvs, timeout=10)", &p);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        // Added as .10, .1, .2, so the list (newest first) is .2, .1, .10.
        let firsts: Vec<_> = (0..3)
            .map(|i| policy.pick(&client(i), 0, &p, &mut rng).server)
            .collect();
        assert_eq!(firsts, [0, 2, 1]);
        // timeoutSeconds 10, yet the TIME_WAIT connection keeps the template for 130 s.
        assert_eq!(
            policy.pick(&client(0), 129 * SECOND, &p, &mut rng),
            Pick {
                server: 0,
                memory: Memory::Hit
            }
        );
    }

    #[test]
    fn parameters_are_checked() {
        let p = named(&["a:1", "b:1"]);
        let err = |text: &str| {
            let s = spec::parse(text, 0).unwrap();
            let ctx = BuildContext {
                pool: &p,
                expected_users: 1,
            };
            build(&s, &ctx).err().unwrap().message
        };
        assert_eq!(
            err("k8s.client_ip(timeout=86401)"),
            "timeout=86401: expected a whole number from 1 to 86400"
        );
        assert_eq!(
            err("k8s.client_ip(timeout=0)"),
            "timeout=0: expected a whole number from 1 to 86400"
        );
        assert_eq!(
            err("k8s.client_ip(mode=userspace)"),
            "mode=userspace: expected one of iptables, nftables, ipvs"
        );
        assert!(err("k8s.client_ip(list_size=0)").contains("from 1 to 1000000"));
    }
}
