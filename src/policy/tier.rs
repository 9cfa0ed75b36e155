//! Two balancer tiers as one policy: an L4 tier (Katran, IPVS, ECMP routers)
//! picks one of several L7 balancer instances by its own policy over them, and
//! that instance picks the backend with the policy under test. Each L7 instance
//! has its own memory (stick table, round-robin position, the requests it has in
//! flight to each backend, which least connections reads), as separate HAProxy or
//! nginx processes do, except:
//!
//! - a cookie travels with the client, so every instance reads the one another
//!   instance set: a cookie naming the server, or one carrying a generated key
//!   (ingress-nginx's balanced key, a GCP generated cookie, Envoy's generated
//!   cookie), which every instance hashes onto the same backends;
//! - with `peers`, stick-table entries are pushed to every other instance as they
//!   are written (HAProxy configuration manual, 3.5 "Peers": "each instance pushes
//!   its local updates and insertions to remote peers"). The manual gives no
//!   propagation delay, and updates go out as they happen, so the sync is
//!   immediate here; an instance that starts has the whole table, as HAProxy's
//!   resync from its peers on start-up gives it.
//!
//! A new instance without peers starts with empty memory. The backends' session
//! state is shared by every instance: it is the lane's, not the policy's.

use super::*;
use crate::pool::PoolChangeKind;
use crate::pool::flight::InFlight;

/// For a load-aware policy: the pool as each instance sees it (the backends'
/// membership, its own requests in flight) and when each of those finishes.
struct Loads {
    views: Vec<Pool>,
    flights: Vec<InFlight>,
}

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
    /// The instance of the last pick.
    instance: ServerId,
    loads: Option<Loads>,
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
        let loads = l7s[0].wants_load().then(|| Loads {
            views: vec![ctx.pool.clone(); l7s.len()],
            flights: (0..l7s.len()).map(|_| InFlight::default()).collect(),
        });
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
            instance: 0,
            loads,
        })
    }

    /// The name of instance `i`.
    pub fn instance_name(&self, i: ServerId) -> &str {
        self.instances.name(i)
    }

    /// A request the last pick's instance sent to `server`, finishing at `finish`.
    pub fn started(&mut self, server: ServerId, finish: Time) {
        if let Some(l) = &mut self.loads {
            let i = self.instance as usize;
            l.flights[i].start(l.views[i].in_flight_mut(), server, finish);
        }
    }

    /// Forgets every instance's requests to `server` (it failed).
    pub fn abandon(&mut self, server: ServerId) {
        if let Some(l) = &mut self.loads {
            for (f, v) in l.flights.iter_mut().zip(&mut l.views) {
                f.abandon(v.in_flight_mut(), server);
            }
        }
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

    /// Gives each instance's view the backends' membership and weights now,
    /// keeping the requests it has in flight.
    fn refresh_views(&mut self, pool: &Pool) {
        if let Some(l) = &mut self.loads {
            for view in &mut l.views {
                let mut fresh = pool.clone();
                fresh.in_flight_mut().copy_from_slice(view.in_flight_mut());
                *view = fresh;
            }
        }
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
        self.instance = i;
        let pick = match &mut self.loads {
            None => self.l7[i as usize].pick(client, now, pool, rng),
            Some(l) => {
                let view = &mut l.views[i as usize];
                l.flights[i as usize].retire(view.in_flight_mut(), now);
                self.l7[i as usize].pick(client, now, view, rng)
            }
        };
        if self.shared && !matches!(pick.memory, Memory::None | Memory::DeadConnection) {
            let cookie = self.l7[i as usize].issued(client);
            for (j, other) in self.l7.iter_mut().enumerate() {
                if j != i as usize {
                    other.remember(client, pick, cookie, now);
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
        self.refresh_views(pool);
    }

    fn weights_changed(&mut self, pool: &Pool) {
        for p in &mut self.l7 {
            p.weights_changed(pool);
        }
        self.refresh_views(pool);
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

    fn per_connection(&self) -> bool {
        self.l7[0].per_connection()
    }

    fn tiers_mut(&mut self) -> Option<&mut Tiered> {
        Some(self)
    }

    fn moved_tier(&self) -> bool {
        self.moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{HOUR, Stream};
    use crate::policy::testing::{client, pool, pool_with_spare};

    fn tiers(l4: &str, l7: &str, instances: Pool, p: &Pool, peers: bool) -> Tiered {
        let parse = |t: &str| spec::parse(t, 0).unwrap();
        let ctx = BuildContext {
            pool: p,
            expected_users: 100,
        };
        Tiered::new(&parse(l4), instances, &parse(l7), peers, &ctx).unwrap()
    }

    #[test]
    fn the_tiers_place_connections_when_their_instances_do() {
        let p = pool(3);
        assert!(tiers("katran.maglev", "per_connection(base=stick_table)", pool(2), &p, false).per_connection());
        assert!(!tiers("katran.maglev", "stick_table", pool(2), &p, false).per_connection());
    }

    #[test]
    fn each_instance_counts_only_what_it_sent() {
        // Round robin at L4: requests alternate between the two instances. None
        // finishes, so each instance's least connections spreads its own four
        // requests over the four servers, whatever the other sent.
        let p = pool(4);
        let mut t = tiers("round_robin", "least_conn", pool(2), &p, false);
        let mut rng = Stream::Policy.rng(1, 0, 0);
        let mut sent = [Vec::new(), Vec::new()];
        for k in 0..8 {
            let s = t.pick(&client(k), k as Time, &p, &mut rng).server;
            t.started(s, HOUR);
            sent[t.instance as usize].push(s);
        }
        for mut servers in sent {
            servers.sort_unstable();
            assert_eq!(servers, [0, 1, 2, 3]);
        }
    }

    #[test]
    fn an_added_instance_knows_the_table_only_with_peers() {
        let p = pool(3);
        // A wrapper passes what peers push on to the table it wraps.
        for (l7, peers) in [
            ("stick_table", false),
            ("stick_table", true),
            ("per_connection(base=stick_table)", false),
            ("per_connection(base=stick_table)", true),
        ] {
            // One instance up, a second declared for the add.
            let mut t = tiers("ecmp", l7, pool_with_spare(1, 1), &p, peers);
            let mut rng = Stream::Policy.rng(1, 0, 0);
            let clients: Vec<_> = (0..300).map(client).collect();
            for c in &clients {
                t.pick(c, 0, &p, &mut rng);
            }
            t.change(PoolChangeKind::Add(1), &p);
            // ECMP gives the new instance the upper half of the key space.
            let moved: Vec<_> = clients
                .iter()
                .filter(|c| t.l4.peek(c, 0, &t.instances) == Some(1))
                .collect();
            assert!((100..200).contains(&moved.len()), "{}", moved.len());
            // Round robin peeks nothing: only a table entry answers.
            let known = moved.iter().filter(|c| t.peek(c, 0, &p).is_some()).count();
            assert_eq!(known, if peers { moved.len() } else { 0 }, "{l7}, peers = {peers}");
        }
    }

    /// A cookie carrying a generated key is the client's: the instance the L4
    /// tier moves it to reads the key another instance set, and hashes it onto
    /// the same backend.
    #[test]
    fn a_generated_cookie_reads_the_same_on_every_instance() {
        let p = pool(4);
        for l7 in [
            "ingress_nginx.cookie",
            "gcp.backend_service(load_balancer=application, session_affinity=GENERATED_COOKIE, locality_lb_policy=MAGLEV)",
            "istio.consistent_hash(hash_key=http_cookie, ttl=1h)",
        ] {
            let mut t = tiers("ecmp", l7, pool_with_spare(1, 1), &p, false);
            let mut rng = Stream::Policy.rng(1, 0, 0);
            let clients: Vec<_> = (0..300).map(client).collect();
            let first: Vec<_> = clients.iter().map(|c| t.pick(c, 0, &p, &mut rng)).collect();
            assert!(first.iter().all(|f| f.memory == Memory::Miss), "{l7}");
            t.change(PoolChangeKind::Add(1), &p);
            let mut moved = 0;
            for (c, f) in clients.iter().zip(&first) {
                let again = t.pick(c, 1, &p, &mut rng);
                moved += usize::from(t.instance == 1);
                assert_eq!((again.server, again.memory), (f.server, Memory::Hit), "{l7}");
            }
            assert!((100..200).contains(&moved), "{l7}: {moved} moved to the new instance");
        }
    }
}
