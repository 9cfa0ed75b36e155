//! The kernel's list of real servers of one virtual service (`svc->destinations`),
//! and what the health checker does to it.
//!
//! The list order matters: `sh` fills its buckets walking it, `mh` lets its entries
//! claim slots in turn, `rr` rotates through it. Every `ipvsadm -a` inserts at the
//! **head** (`list_add_rcu` in `__ip_vs_update_dest`), so the list runs newest
//! first. lbsim's configuration order is the order the servers were added one by one
//! (an `ipvsadm -a` script, or keepalived adding its `real_server` blocks at start),
//! so servers configured a, b, c are listed c, b, a; a server added later, or added
//! again after the health checker deleted it, goes in front of all of them.
//!
//! A server's identity for hashing is its address and port, read from its name
//! (`10.0.0.1:80`, `[2001:db8::1]:80`; a bare address takes port 80, standing in for
//! the virtual service's port that `ipvsadm -r ADDR` inherits). A name that is no
//! address at all (`web1`) stands for 10.0.0.0 + its position + 1, port 80: the
//! numbering a test network would give it.

use std::net::{IpAddr, SocketAddr};

use super::addr_fold;
use crate::policy::{Addr, Args, Param, SpecError};
use crate::pool::{Pool, Presence, ServerId};

/// What the health checker does with a real server that fails its check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFail {
    /// Deletes it (`ipvsadm -d`, keepalived's default): schedulers rebuild their
    /// tables without it, and on recovery it is added again, at the head.
    Remove,
    /// Sets its weight to 0 (keepalived `inhibit_on_failure`, ldirectord's default
    /// `quiescent=yes`): it keeps its place in the list and in the tables; schedulers
    /// treat it as unavailable, and hashing schedulers need their fallback flag to
    /// send its clients elsewhere.
    Quiesce,
}

impl OnFail {
    pub const PARAM: Param = Param {
        name: "on_fail",
        default: "remove",
        help: "what the health checker does with a failed server: remove (ipvsadm -d, keepalived's default; re-added at the head on recovery) or quiesce (weight 0 in place: keepalived inhibit_on_failure, ldirectord quiescent=yes)",
    };

    pub fn read(args: &mut Args) -> Result<OnFail, SpecError> {
        Ok([OnFail::Remove, OnFail::Quiesce][args.choice("on_fail", &["remove", "quiesce"])?])
    }
}

/// The destination list of one virtual service.
pub struct Dests {
    on_fail: OnFail,
    /// Every declared server, in the order it is added when it joins.
    add_order: Vec<ServerId>,
    /// The kernel's list, newest first.
    list: Vec<ServerId>,
    listed: Vec<bool>,
}

impl Dests {
    /// The list after the servers present at start were added one by one: in
    /// configuration order, or (`by_name`) sorted by name, as kube-proxy sorts endpoints.
    pub fn new(pool: &Pool, on_fail: OnFail, by_name: bool) -> Dests {
        let mut add_order: Vec<ServerId> = (0..pool.len() as ServerId).collect();
        if by_name {
            add_order.sort_by(|&a, &b| pool.name(a).cmp(pool.name(b)));
        }
        let mut dests = Dests {
            on_fail,
            add_order,
            list: Vec::with_capacity(pool.len()),
            listed: vec![false; pool.len()],
        };
        dests.sync(pool);
        dests
    }

    /// Whether `s` belongs in the service: up, or (quiescing) still configured.
    fn member(&self, pool: &Pool, s: ServerId) -> bool {
        match self.on_fail {
            OnFail::Remove => pool.is_up(s),
            OnFail::Quiesce => matches!(pool.servers()[s as usize].presence, Presence::Up | Presence::Down),
        }
    }

    /// Follows a pool change: deletes servers that left the service and adds the
    /// newcomers, each at the head.
    pub fn sync(&mut self, pool: &Pool) {
        let member: Vec<bool> = (0..pool.len() as ServerId).map(|s| self.member(pool, s)).collect();
        self.list.retain(|&s| member[s as usize]);
        for (s, listed) in self.listed.iter_mut().enumerate() {
            *listed &= member[s];
        }
        for i in 0..self.add_order.len() {
            let s = self.add_order[i];
            if member[s as usize] && !self.listed[s as usize] {
                self.list.insert(0, s);
                self.listed[s as usize] = true;
            }
        }
    }

    /// The servers in the kernel's order, newest first.
    pub fn list(&self) -> &[ServerId] {
        &self.list
    }

    pub fn on_fail(&self) -> OnFail {
        self.on_fail
    }

    /// The weight the kernel holds now: 0 for a quiesced server.
    pub fn weight(pool: &Pool, s: ServerId) -> u32 {
        if pool.is_up(s) { pool.weight(s) } else { 0 }
    }
}

/// A server's address (folded as IPVS hashes it) and port, from its name.
pub fn endpoint(name: &str, s: ServerId) -> (u32, u16) {
    if let Ok(sa) = name.parse::<SocketAddr>() {
        return (addr_fold(Addr::from(sa.ip())), sa.port());
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return (addr_fold(Addr::from(ip)), 80);
    }
    (0x0a00_0000u32.wrapping_add(s).wrapping_add(1), 80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::testing::pool_with_spare;
    use crate::pool::{PoolChangeKind, Server};

    #[test]
    fn newest_first_and_readded_at_the_head() {
        let mut p = pool_with_spare(3, 1);
        let mut d = Dests::new(&p, OnFail::Remove, false);
        assert_eq!(d.list(), &[2, 1, 0]);
        p.apply(&PoolChangeKind::Add(3));
        d.sync(&p);
        assert_eq!(d.list(), &[3, 2, 1, 0]);
        p.apply(&PoolChangeKind::Fail(2));
        d.sync(&p);
        assert_eq!(d.list(), &[3, 1, 0]);
        p.apply(&PoolChangeKind::Recover(2));
        d.sync(&p);
        assert_eq!(d.list(), &[2, 3, 1, 0], "a recovered server is added again, in front");
    }

    #[test]
    fn quiesced_servers_keep_their_place() {
        let mut p = pool_with_spare(3, 0);
        let mut d = Dests::new(&p, OnFail::Quiesce, false);
        p.apply(&PoolChangeKind::Fail(1));
        d.sync(&p);
        assert_eq!(d.list(), &[2, 1, 0]);
        assert_eq!((Dests::weight(&p, 1), Dests::weight(&p, 2)), (0, 1));
        p.apply(&PoolChangeKind::Remove(1));
        d.sync(&p);
        assert_eq!(d.list(), &[2, 0]);
    }

    #[test]
    fn sorted_by_name_when_asked() {
        let s = |n: &str| Server {
            name: n.into(),
            weight: 1,
            presence: Presence::Up,
        };
        let p = Pool::new(vec![s("10.0.0.2:80"), s("10.0.0.10:80"), s("10.0.0.1:80")]);
        // Added as "10.0.0.10:80" < "10.0.0.1:80" < "10.0.0.2:80", so listed in reverse.
        assert_eq!(Dests::new(&p, OnFail::Remove, true).list(), &[0, 2, 1]);
    }

    #[test]
    fn endpoints_from_names() {
        assert_eq!(endpoint("10.0.0.1:80", 7), (0x0a00_0001, 80));
        assert_eq!(endpoint("[2001:db8::1]:8080", 7), (0x2001_0db8 ^ 1, 8080));
        assert_eq!(endpoint("192.168.0.9", 7), (0xc0a8_0009, 80));
        assert_eq!(endpoint("web1", 0), (0x0a00_0001, 80));
        assert_eq!(endpoint("web300", 299), (0x0a00_012c, 80));
    }
}
