//! Two balancer tiers as one policy: an L4 tier (Katran, IPVS, ECMP routers)
//! picks one of several L7 balancer instances by its own policy over them, and
//! that instance picks the backend with the policy under test. Each L7 instance
//! has its own memory (stick table, round-robin position),
//! as separate HAProxy or nginx processes do, except:
//!
//! - a cookie travels with the client, so every instance reads the one another
//!   instance set;
//! - with `peers`, stick-table entries are pushed to every other instance as they
//!   are written (HAProxy configuration manual, 3.5 "Peers": "each instance pushes
//!   its local updates and insertions to remote peers"). The manual gives no
//!   propagation delay, and updates go out as they happen, so the sync is
//!   immediate here; an instance that starts has the whole table, as HAProxy's
//!   resync from its peers on start-up gives it.
//!
//! A new instance without peers starts with empty memory. The backends' session
//! state is shared by every instance: it is the lane's, not the policy's. So are
//! the requests in flight a load-aware policy reads: each instance sees every
//! instance's requests, not only its own.

use super::*;
use crate::pool::PoolChangeKind;

pub struct Tiered {
    l4: Box<dyn Policy>,
    /// The L7 instances as the L4 tier's pool.
    instances: Pool,
    /// One policy per instance ever, by instance id.
    l7: Vec<Box<dyn Policy>>,
    spec: Spec,
    expected_users: usize,
    /// Whether instances share what their memory holds: a client-carried cookie,
    /// or stick tables with peers.
    shared: bool,
    /// Per user, 1 + the instance of the previous request (0: none yet).
    last: Vec<u32>,
    /// Whether the last pick changed its user's instance.
    moved: bool,
    /// The user and time of the last pick: a retry of the same request keeps `moved`.
    current: Option<(u32, Time)>,
}

impl Tiered {
    /// The L4 policy `l4` over `instances`, each running `l7`.
    pub fn new(l4: &Spec, instances: Pool, l7: &Spec, peers: bool, ctx: &BuildContext) -> Result<Tiered, SpecError> {
        let l4 = build(
            l4,
            &BuildContext {
                pool: &instances,
                expected_users: ctx.expected_users,
            },
        )?;
        let l7s = (0..instances.len())
            .map(|_| build(l7, ctx))
            .collect::<Result<Vec<_>, _>>()?;
        let shared = peers || l7s[0].affinity() == Affinity::Client;
        Ok(Tiered {
            l4,
            instances,
            l7: l7s,
            spec: l7.clone(),
            expected_users: ctx.expected_users,
            shared,
            last: Vec::new(),
            moved: false,
            current: None,
        })
    }

    /// The name of instance `i`.
    pub fn instance_name(&self, i: ServerId) -> &str {
        self.instances.name(i)
    }

    /// Adds or removes an L7 instance; the L4 tier rebuilds its table. A new
    /// instance that shares nothing starts with empty memory.
    pub fn change(&mut self, kind: PoolChangeKind, backends: &Pool) {
        let applied = self.instances.apply(&kind);
        debug_assert!(applied, "tier events are checked when the scenario is read");
        if let (PoolChangeKind::Add(i), false) = (kind, self.shared) {
            self.l7[i as usize] = build(
                &self.spec,
                &BuildContext {
                    pool: backends,
                    expected_users: self.expected_users,
                },
            )
            .expect("the policy built at the start");
        }
        self.l4.pool_changed(&self.instances);
    }
}

impl Policy for Tiered {
    fn pick(&mut self, client: &Client, now: Time, pool: &Pool, rng: &mut StreamRng) -> Pick {
        let i = self.l4.pick(client, now, &self.instances, rng).server;
        let u = client.user as usize;
        if u >= self.last.len() {
            self.last.resize(u + 1, 0);
        }
        if self.current != Some((client.user, now)) {
            self.moved = self.last[u] != 0 && self.last[u] != i + 1;
            self.current = Some((client.user, now));
        }
        self.last[u] = i + 1;
        let pick = self.l7[i as usize].pick(client, now, pool, rng);
        if self.shared && pick.memory != Memory::None {
            for (j, other) in self.l7.iter_mut().enumerate() {
                if j != i as usize {
                    other.remember(client, pick, now);
                }
            }
        }
        pick
    }

    fn peek(&self, client: &Client, now: Time, pool: &Pool) -> Option<ServerId> {
        let i = self.l4.peek(client, now, &self.instances)?;
        self.l7[i as usize].peek(client, now, pool)
    }

    fn pool_changed(&mut self, pool: &Pool) {
        for p in &mut self.l7 {
            p.pool_changed(pool);
        }
    }

    fn affinity(&self) -> Affinity {
        self.l7[0].affinity()
    }

    fn wants_load(&self) -> bool {
        self.l7[0].wants_load()
    }

    fn session_store(&self) -> Option<Time> {
        self.l7[0].session_store()
    }

    fn tiers_mut(&mut self) -> Option<&mut Tiered> {
        Some(self)
    }

    fn moved_tier(&self) -> bool {
        self.moved
    }
}
