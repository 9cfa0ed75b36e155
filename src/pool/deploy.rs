//! Rolling deploys: servers replaced by new instances a batch at a time, each old
//! one draining before it goes.
//!
//! The rollout follows a Kubernetes Deployment's `RollingUpdate` strategy
//! (`maxUnavailable`, `maxSurge`; Kubernetes documentation, *Deployments*): each
//! round takes up to `max_unavailable + max_surge` old servers. `max_unavailable`
//! of them stop taking new sessions at once and their replacements start; the
//! other `max_surge` get their replacements first and stop once those are ready.
//! A new instance takes traffic `boot` after it starts, and the next round begins
//! when the round's new instances are ready. An old server then drains for
//! `drain` before it is removed: AWS's deregistration delay (default 300 s,
//! *Target groups for your Application Load Balancers*), nginx's `drain` and
//! HAProxy's `drain` state: no new sessions, the sessions it holds are still served
//! by balancers that remember them (cookies, stick tables), until they end or the
//! delay passes.

use crate::engine::Time;

use super::{PoolChange, PoolChangeKind, ServerId};

/// One rolling deploy as the scenario gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct Rollout {
    pub at: Time,
    /// The old servers, in the order they are replaced.
    pub old: Vec<ServerId>,
    /// Their replacements, declared absent until they join.
    pub new: Vec<ServerId>,
    pub max_unavailable: u32,
    pub max_surge: u32,
    pub boot: Time,
    pub drain: Time,
}

impl Rollout {
    /// The pool changes of the rollout, in time order.
    pub fn changes(&self) -> Vec<PoolChange> {
        let mut out = Vec::new();
        let per_round = (self.max_unavailable + self.max_surge).max(1) as usize;
        let mut t = self.at;
        for (round, old) in self.old.chunks(per_round).enumerate() {
            let new = &self.new[round * per_round..round * per_round + old.len()];
            let ready = t.saturating_add(self.boot);
            for (i, (&o, &n)) in old.iter().zip(new).enumerate() {
                // The first `max_unavailable` go at once; the surge waits for its replacement.
                let stops = if i < self.max_unavailable as usize { t } else { ready };
                let change = |at, kind| PoolChange { at, kind };
                out.push(change(stops, PoolChangeKind::Drain(o)));
                out.push(change(stops.saturating_add(self.drain), PoolChangeKind::Remove(o)));
                out.push(change(ready, PoolChangeKind::Add(n)));
            }
            t = ready;
        }
        out.sort_by_key(|c| c.at);
        out
    }

    /// When the last old server is gone.
    pub fn ends(&self) -> Time {
        self.changes().iter().map(|c| c.at).max().unwrap_or(self.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SECOND;

    fn timeline(r: &Rollout) -> Vec<(u64, &'static str, ServerId)> {
        r.changes()
            .iter()
            .map(|c| (c.at / SECOND, c.kind.verb(), c.kind.server()))
            .collect()
    }

    #[test]
    fn one_at_a_time_drains_then_replaces() {
        let r = Rollout {
            at: 100 * SECOND,
            old: vec![0, 1],
            new: vec![2, 3],
            max_unavailable: 1,
            max_surge: 0,
            boot: 60 * SECOND,
            drain: 300 * SECOND,
        };
        assert_eq!(
            timeline(&r),
            [
                (100, "drain", 0),
                (160, "add", 2),
                (160, "drain", 1),
                (220, "add", 3),
                (400, "remove", 0),
                (460, "remove", 1)
            ]
        );
        assert_eq!(r.ends(), 460 * SECOND);
    }

    #[test]
    fn surge_adds_first_and_drains_when_ready() {
        let r = Rollout {
            at: 0,
            old: vec![0, 1, 2],
            new: vec![3, 4, 5],
            max_unavailable: 0,
            max_surge: 2,
            boot: 10 * SECOND,
            drain: 5 * SECOND,
        };
        assert_eq!(
            timeline(&r),
            [
                (10, "drain", 0),
                (10, "add", 3),
                (10, "drain", 1),
                (10, "add", 4),
                (15, "remove", 0),
                (15, "remove", 1),
                (20, "drain", 2),
                (20, "add", 5),
                (25, "remove", 2)
            ]
        );
    }
}
