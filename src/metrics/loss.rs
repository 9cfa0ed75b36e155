//! Session loss and its causes.
//!
//! A loss is a request that lands on a server without its session's live state
//! while that state is still alive elsewhere, or that finds its state destroyed
//! with its server. Each loss gets exactly one cause, checked in this order:
//!
//! 1. the state's server failed or was removed: `server_gone`;
//! 2. the policy keeps no affinity at all: `not_sticky`;
//! 3. the policy keys on the address and the client's address changed since its
//!    previous request: `address_changed` (with why: mobility, a scripted move);
//! 4. the pool changed since the state was last used and the key now maps
//!    elsewhere: `pool_remap`;
//! 5. the policy's memory (table entry, cookie) expired or was evicted:
//!    `affinity_expired`;
//! 6. otherwise the policy moved the client for load (a request dropped at a
//!    full queue left the memory pointing elsewhere): `load_spill`.
//!
//! A request that is not served at all fails its user whatever the state: it is
//! a loss of its own, `not_served`, split into `dropped` (a full waiting line
//! turned it away), `unroutable` (no server was up) and `dead_connection` (it
//! rode a connection to a gone server that the balancer drops, as IPVS does).
//!
//! A rolling deploy's losses are `deploy`: the state was on a server being
//! replaced, and the request went elsewhere while it drained or came after it went.
//!
//! Under `[autoscaling]` the same losses on a server scaled in are `autoscale`.
//!
//! Under connection-level picking (`per_connection`), a request that rides an
//! open connection to one server while the user's state is live on another (a
//! newer connection of the same user went there after a pool change) is
//! `split_connections`: the user's connections are split across two servers, and
//! each request on the other one moves the state back. It comes before every
//! other check, since the policy did not place the request at all.
//!
//! With health checks, a request sent to a server that has failed but is still in
//! the pool (its checks have not failed `fall` times yet, or panic routes to every
//! host) fails: `undetected_failure`, with `panic` as its detail in the second case.
//!
//! Under `[tiers]`, a loss that would be put down to the policy's memory or to load
//! (5 and 6), on a request the L4 tier sent to another L7 instance than the one
//! before, is `l4_remap`: the new instance did not know the client.

use crate::policy::{Affinity, Memory};
use crate::workload::AddressChange;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossCause {
    ServerGone,
    NotSticky,
    AddressChanged(AddressChange),
    PoolRemap,
    AffinityExpired,
    LoadSpill,
    NotServed(Unserved),
    /// The server holding the state was replaced by a deploy: the request went
    /// elsewhere while it drained, or came after it was gone.
    Deploy,
    /// The server holding the state was scaled in by the autoscaler: the request
    /// went elsewhere while it drained, or came after it was gone.
    Autoscale,
    /// The request went to a failed server the balancer still routes to.
    UndetectedFailure {
        panic: bool,
    },
    /// The request rode an open connection to a server other than the one
    /// holding the state, which a newer connection of the same user reached.
    SplitConnections,
    /// The L4 tier sent the request to another L7 instance, whose memory did not
    /// place it where the state is.
    L4Remap,
}

/// Why a request was not served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unserved {
    /// A full waiting line turned it away.
    Dropped,
    /// No server was up.
    Unroutable,
    /// It rode an open connection to a server that failed or was removed, and
    /// the balancer dropped it (IPVS `expire_nodest_conn = 0`).
    DeadConnection,
}

impl Unserved {
    pub fn name(self) -> &'static str {
        match self {
            Unserved::Dropped => "dropped",
            Unserved::Unroutable => "unroutable",
            Unserved::DeadConnection => "dead_connection",
        }
    }
}

impl LossCause {
    /// Every cause, in report order; `index` positions a cause in this list.
    pub const ALL: [LossCause; 21] = [
        LossCause::AddressChanged(AddressChange::Mobility),
        LossCause::AddressChanged(AddressChange::Scripted),
        LossCause::AddressChanged(AddressChange::Renumbering),
        LossCause::AddressChanged(AddressChange::Privacy),
        LossCause::AddressChanged(AddressChange::NatPool),
        LossCause::AddressChanged(AddressChange::ProxyEgress),
        LossCause::AddressChanged(AddressChange::AddressFamily),
        LossCause::PoolRemap,
        LossCause::ServerGone,
        LossCause::AffinityExpired,
        LossCause::NotSticky,
        LossCause::LoadSpill,
        LossCause::NotServed(Unserved::Dropped),
        LossCause::NotServed(Unserved::Unroutable),
        LossCause::NotServed(Unserved::DeadConnection),
        LossCause::Deploy,
        LossCause::Autoscale,
        LossCause::UndetectedFailure { panic: false },
        LossCause::UndetectedFailure { panic: true },
        LossCause::SplitConnections,
        LossCause::L4Remap,
    ];

    pub fn index(self) -> usize {
        Self::ALL
            .iter()
            .position(|&c| c == self)
            .expect("every cause is listed")
    }

    /// Whether the cause only arises from pool operations (health checks, deploys,
    /// autoscaling), so losses.csv lists it only for scenarios that have them
    /// (`autoscale` only for those with `[autoscaling]`).
    pub fn is_operational(self) -> bool {
        matches!(
            self,
            LossCause::Deploy | LossCause::Autoscale | LossCause::UndetectedFailure { .. }
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            LossCause::ServerGone => "server_gone",
            LossCause::NotSticky => "not_sticky",
            LossCause::AddressChanged(_) => "address_changed",
            LossCause::PoolRemap => "pool_remap",
            LossCause::AffinityExpired => "affinity_expired",
            LossCause::LoadSpill => "load_spill",
            LossCause::NotServed(_) => "not_served",
            LossCause::Deploy => "deploy",
            LossCause::Autoscale => "autoscale",
            LossCause::UndetectedFailure { .. } => "undetected_failure",
            LossCause::SplitConnections => "split_connections",
            LossCause::L4Remap => "l4_remap",
        }
    }

    /// The finer reason, where a cause has one.
    pub fn detail(self) -> &'static str {
        match self {
            LossCause::AddressChanged(why) => why.name(),
            LossCause::NotServed(why) => why.name(),
            LossCause::UndetectedFailure { panic: true } => "panic",
            _ => "",
        }
    }

    /// Why a request whose live state is on another server went where it did.
    pub fn attribute(affinity: Affinity, change: AddressChange, pool_changed: bool, memory: Memory) -> LossCause {
        match affinity {
            _ if memory == Memory::Connection => LossCause::SplitConnections,
            Affinity::None => LossCause::NotSticky,
            Affinity::Address if change != AddressChange::None => LossCause::AddressChanged(change),
            _ if pool_changed => LossCause::PoolRemap,
            _ if memory == Memory::Miss => LossCause::AffinityExpired,
            _ => LossCause::LoadSpill,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribution_order() {
        use AddressChange::{Mobility, None as Same};
        let a = LossCause::attribute;
        assert_eq!(a(Affinity::None, Mobility, true, Memory::None), LossCause::NotSticky);
        assert_eq!(
            a(Affinity::Address, Mobility, true, Memory::Miss),
            LossCause::AddressChanged(Mobility)
        );
        assert_eq!(a(Affinity::Client, Mobility, true, Memory::Miss), LossCause::PoolRemap);
        assert_eq!(
            a(Affinity::Client, Mobility, false, Memory::Miss),
            LossCause::AffinityExpired
        );
        assert_eq!(a(Affinity::Address, Same, false, Memory::Hit), LossCause::LoadSpill);
        assert_eq!(
            a(Affinity::None, Same, true, Memory::Connection),
            LossCause::SplitConnections
        );
        for (i, c) in LossCause::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
    }
}
