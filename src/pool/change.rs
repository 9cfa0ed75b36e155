//! Timed changes to the pool: servers added, removed, failing and recovering.

use crate::engine::Time;

use super::ServerId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolChangeKind {
    Add(ServerId),
    Remove(ServerId),
    Fail(ServerId),
    Recover(ServerId),
}

impl PoolChangeKind {
    pub fn server(self) -> ServerId {
        match self {
            PoolChangeKind::Add(s)
            | PoolChangeKind::Remove(s)
            | PoolChangeKind::Fail(s)
            | PoolChangeKind::Recover(s) => s,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            PoolChangeKind::Add(_) => "add",
            PoolChangeKind::Remove(_) => "remove",
            PoolChangeKind::Fail(_) => "fail",
            PoolChangeKind::Recover(_) => "recover",
        }
    }

    /// Whether the server's session state is destroyed by this change.
    pub fn wipes_state(self) -> bool {
        matches!(self, PoolChangeKind::Remove(_) | PoolChangeKind::Fail(_))
    }
}

/// A change at a point in time. At equal times, changes apply before requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolChange {
    pub at: Time,
    pub kind: PoolChangeKind,
}
