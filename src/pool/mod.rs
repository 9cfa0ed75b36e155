//! The servers behind the balancer: who is in the pool and up, what each is doing
//! (workers, queue, requests in flight), and which session state each one holds.

pub mod autoscale;
pub mod change;
pub mod deploy;
pub mod flight;
pub mod health;
pub mod outages;
pub mod queue;
pub mod slow_start;
pub mod state;
pub mod store;

pub use change::{PoolChange, PoolChangeKind};

/// A server's index in configuration order (servers added later come after).
pub type ServerId = u32;

/// Where a server is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Declared for a later `add` event; not in the pool yet.
    Absent,
    Up,
    /// Failed: in the configuration but not serving; its session state is gone.
    Down,
    /// Taken out of the pool for good.
    Removed,
    /// Being replaced: takes no new sessions, serves those it holds until it is
    /// removed (a deploy's connection draining).
    Draining,
}

/// A server as the balancer knows it.
#[derive(Clone, Debug)]
pub struct Server {
    pub name: String,
    pub weight: u32,
    pub presence: Presence,
}

/// The pool's membership and live load, as a policy sees it.
#[derive(Clone, Debug)]
pub struct Pool {
    servers: Vec<Server>,
    up: Vec<ServerId>,
    configured: Vec<ServerId>,
    in_flight: Vec<u32>,
    total_up_weight: u64,
    /// Weight units per unit of configured weight: 1, or finer while slow start
    /// ramps weights.
    weight_scale: u32,
}

impl Pool {
    pub fn new(servers: Vec<Server>) -> Pool {
        let mut pool = Pool {
            in_flight: vec![0; servers.len()],
            servers,
            up: Vec::new(),
            configured: Vec::new(),
            total_up_weight: 0,
            weight_scale: 1,
        };
        pool.reindex();
        pool
    }

    fn reindex(&mut self) {
        self.up = (0..self.servers.len() as ServerId).filter(|&s| self.is_up(s)).collect();
        self.configured = (0..self.servers.len() as ServerId)
            .filter(|&s| {
                matches!(
                    self.servers[s as usize].presence,
                    Presence::Up | Presence::Down | Presence::Draining
                )
            })
            .collect();
        self.total_up_weight = self.up.iter().map(|&s| self.servers[s as usize].weight as u64).sum();
    }

    /// Every server ever declared, by id.
    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    pub fn len(&self) -> usize {
        self.servers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.servers.is_empty()
    }

    /// The servers that can take requests now, in configuration order.
    pub fn up(&self) -> &[ServerId] {
        &self.up
    }

    /// The servers in the balancer's configuration now, up or down, in configuration
    /// order: what products that keep failed servers in their tables iterate over.
    pub fn configured(&self) -> &[ServerId] {
        &self.configured
    }

    pub fn is_up(&self, s: ServerId) -> bool {
        self.servers[s as usize].presence == Presence::Up
    }

    pub fn presence(&self, s: ServerId) -> Presence {
        self.servers[s as usize].presence
    }

    pub fn weight(&self, s: ServerId) -> u32 {
        self.servers[s as usize].weight
    }

    /// Weight units per unit of configured weight (1 unless slow start ramps).
    pub fn weight_scale(&self) -> u32 {
        self.weight_scale
    }

    /// Puts the weights in units of 1/`scale` of a configured unit.
    pub fn scale_weights(&mut self, scale: u32) {
        for s in &mut self.servers {
            s.weight = s.weight / self.weight_scale * scale;
        }
        self.weight_scale = scale;
        self.reindex();
    }

    /// Sets one server's weight, in units of [`weight_scale`](Self::weight_scale).
    pub fn set_weight(&mut self, s: ServerId, weight: u32) {
        let server = &mut self.servers[s as usize];
        if server.presence == Presence::Up {
            self.total_up_weight = self.total_up_weight - server.weight as u64 + weight as u64;
        }
        server.weight = weight;
    }

    pub fn total_up_weight(&self) -> u64 {
        self.total_up_weight
    }

    pub fn name(&self, s: ServerId) -> &str {
        &self.servers[s as usize].name
    }

    /// Requests in flight (queued or in service) on a server.
    pub fn in_flight(&self, s: ServerId) -> u32 {
        self.in_flight[s as usize]
    }

    pub(crate) fn in_flight_mut(&mut self) -> &mut [u32] {
        &mut self.in_flight
    }

    /// The same servers in the same states, each of weight 1: the pool as seen by
    /// products whose backends carry no weight.
    pub fn unweighted(&self) -> Pool {
        let mut pool = self.clone();
        for s in &mut pool.servers {
            s.weight = 1;
        }
        pool.weight_scale = 1;
        pool.reindex();
        pool
    }

    /// Applies a membership change; returns false if it changes nothing (e.g.
    /// failing a server that is already down).
    pub fn apply(&mut self, kind: &PoolChangeKind) -> bool {
        let (s, from, to) = match *kind {
            // A removed server joins again only when an autoscaler reuses its slot
            // (scripted events are checked never to re-add one).
            PoolChangeKind::Add(s) => (s, &[Presence::Absent, Presence::Removed][..], Presence::Up),
            PoolChangeKind::Remove(s) => (
                s,
                &[Presence::Up, Presence::Down, Presence::Draining][..],
                Presence::Removed,
            ),
            PoolChangeKind::Drain(s) => (s, &[Presence::Up][..], Presence::Draining),
            PoolChangeKind::Fail(s) => (s, &[Presence::Up][..], Presence::Down),
            PoolChangeKind::Recover(s) => (s, &[Presence::Down][..], Presence::Up),
            PoolChangeKind::Crash(_) | PoolChangeKind::Restore(_) => return false,
        };
        let server = &mut self.servers[s as usize];
        if !from.contains(&server.presence) {
            return false;
        }
        server.presence = to;
        self.reindex();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Pool {
        let s = |n: &str, p| Server {
            name: n.into(),
            weight: 1,
            presence: p,
        };
        Pool::new(vec![
            s("A", Presence::Up),
            s("B", Presence::Up),
            s("C", Presence::Absent),
        ])
    }

    #[test]
    fn membership_follows_changes() {
        let mut p = pool();
        assert_eq!(p.up(), &[0, 1]);
        assert!(p.apply(&PoolChangeKind::Add(2)));
        assert_eq!(p.up(), &[0, 1, 2]);
        assert!(p.apply(&PoolChangeKind::Fail(1)));
        assert_eq!(p.up(), &[0, 2]);
        assert_eq!(p.configured(), &[0, 1, 2], "a failed server stays configured");
        assert!(!p.apply(&PoolChangeKind::Fail(1)), "already down");
        assert!(p.apply(&PoolChangeKind::Recover(1)));
        assert!(p.apply(&PoolChangeKind::Remove(0)));
        assert_eq!(p.up(), &[1, 2]);
        assert_eq!(p.configured(), &[1, 2]);
        assert_eq!(p.total_up_weight(), 2);
    }

    #[test]
    fn unweighted_keeps_everything_but_the_weights() {
        let mut p = pool();
        p.servers[0].weight = 7;
        assert!(p.apply(&PoolChangeKind::Fail(1)));
        let q = p.unweighted();
        assert_eq!(
            (q.up(), q.configured(), q.total_up_weight()),
            (&[0][..], &[0, 1][..], 1)
        );
        assert_eq!(q.name(0), "A");
    }
}
