//! Timed changes to the pool: servers added, removed, failing and recovering, and,
//! with health checks, a server really stopping (`Crash`) or starting again
//! (`Restore`) before the balancer notices.

use crate::engine::Time;

use super::ServerId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolChangeKind {
    Add(ServerId),
    Remove(ServerId),
    Fail(ServerId),
    Recover(ServerId),
    /// The server takes no new sessions and is removed later (a deploy).
    Drain(ServerId),
    /// The server stops serving; the balancer still routes to it until its
    /// health checks fail (then a `Fail` follows).
    Crash(ServerId),
    /// The server serves again; the balancer routes to it once its checks pass
    /// (then a `Recover` follows).
    Restore(ServerId),
}

impl PoolChangeKind {
    pub fn server(self) -> ServerId {
        match self {
            PoolChangeKind::Add(s)
            | PoolChangeKind::Remove(s)
            | PoolChangeKind::Fail(s)
            | PoolChangeKind::Recover(s)
            | PoolChangeKind::Drain(s)
            | PoolChangeKind::Crash(s)
            | PoolChangeKind::Restore(s) => s,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            PoolChangeKind::Add(_) => "add",
            PoolChangeKind::Remove(_) => "remove",
            PoolChangeKind::Fail(_) => "fail",
            PoolChangeKind::Recover(_) => "recover",
            PoolChangeKind::Drain(_) => "drain",
            PoolChangeKind::Crash(_) => "crash",
            PoolChangeKind::Restore(_) => "restore",
        }
    }

    /// Whether the server's session state is destroyed by this change.
    pub fn wipes_state(self) -> bool {
        matches!(
            self,
            PoolChangeKind::Remove(_) | PoolChangeKind::Fail(_) | PoolChangeKind::Crash(_)
        )
    }

    /// Whether the change is the server's real health rather than the balancer's
    /// view of it: the pool's membership stays as it is.
    pub fn is_real_health(self) -> bool {
        matches!(self, PoolChangeKind::Crash(_) | PoolChangeKind::Restore(_))
    }
}

/// A change at a point in time. At equal times, changes apply before requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolChange {
    pub at: Time,
    pub kind: PoolChangeKind,
}
