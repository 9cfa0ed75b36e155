//! A lane: one policy with its own copy of the servers, fed the shared request
//! stream. Everything a lane changes is its own, so lanes run side by side.

use crate::engine::{Stream, StreamRng, Time};
use crate::metrics::tally::Remap;
use crate::metrics::{LaneReport, LossCause, Tally, Unserved};
use crate::policy::{self, BuildContext, Client, Memory, Policy, Spec};
use crate::pool::flight::InFlight;
use crate::pool::health::Health;
use crate::pool::queue::{Admission, Queues};
use crate::pool::slow_start::{Ramps, Reach};
use crate::pool::state::{Prior, SessionStates};
use crate::pool::store::SessionStore;
use crate::pool::{Pool, PoolChange, PoolChangeKind, Presence, ServerId};
use crate::scenario::Scenario;
use crate::workload::{Request, RequestSource};

/// How many requests ahead a lane starts loading a user's state: enough for
/// memory to answer while the requests between are routed.
const PREFETCH_AHEAD: usize = 16;

/// One request of a followed (scripted) user, for journeys.csv.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub user: u32,
    pub time: Time,
    pub addr: String,
    /// The server, or empty when the request was not served.
    pub server: String,
    /// "new", "kept", "lost", "dropped", "unroutable" or "failed" (sent to a
    /// failed server the balancer still routes to).
    pub outcome: &'static str,
    pub cause: Option<LossCause>,
}

pub struct Lane {
    pub label: String,
    policy: Box<dyn Policy>,
    pool: Pool,
    queues: Option<Queues>,
    /// Each server's service speed, when some server's is not 1.
    speeds: Option<Vec<f64>>,
    flight: Option<Flight>,
    states: SessionStates,
    /// Where session state lives when the policy keeps it off the servers.
    store: Option<SessionStore>,
    rng: StreamRng,
    tally: Tally,
    /// Users with ids below this are followed request by request.
    followed: u32,
    pub journeys: Vec<Step>,
    /// Requests before this are routed, building up state, but not measured.
    warmup: Time,
    measuring: bool,
    /// Each server's service time given during the warm-up, left out of utilisation.
    warmup_busy: Vec<Time>,
    /// With health checks: which servers have really failed, beside the pool's view.
    health: Option<Health>,
    /// With deploys or autoscaling: per server, whether it drained and left (its
    /// state went with it).
    drained: Option<Vec<bool>>,
    /// What a loss on a draining or drained server is put down to.
    drain_cause: LossCause,
    /// What a remap by a pool change is put down to: under an autoscaler, every
    /// pool change is a scale event.
    remap_cause: LossCause,
    /// With slow start, when the policy follows it: the servers whose weights ramp.
    ramps: Option<Ramps>,
}

/// Who counts the requests in flight a load-aware policy reads.
enum Flight {
    /// The lane, for the one balancer.
    Lane(InFlight),
    /// Each L7 instance of two tiers, its own.
    Tiers,
}

/// Attempts on other hosts a request may make at most (Envoy's retry budget is
/// per cluster; a few attempts are what configurations use).
pub const MAX_RETRIES: u32 = 10;

impl Lane {
    /// A lane for the policy `spec` at position `index`, with per-user memory sized
    /// for `users`.
    pub fn new(sc: &Scenario, spec: &Spec, index: usize, replication: u32, followed: u32, users: usize) -> Lane {
        let mut pool = sc.initial_pool();
        // Weights are put in the ramp's units before the policy reads them.
        let ramps = sc
            .operations
            .slow_start
            .filter(|ss| ss.reach(spec) == Reach::Ramped)
            .map(|ss| Ramps::new(ss, &mut pool));
        let ctx = BuildContext {
            pool: &pool,
            expected_users: users,
        };
        let mut policy = match &sc.tiers {
            None => policy::build(spec, &ctx),
            Some(t) => policy::tier::Tiered::new(&t.l4, Pool::new(t.instances.clone()), spec, t.peers, &ctx)
                .map(|t| Box::new(t) as Box<dyn Policy>),
        }
        .expect("policies are checked when the scenario is read");
        let queues = sc
            .serving
            .queueing
            .then(|| Queues::new(&sc.serving.workers, sc.serving.queue_limit));
        let flight = match (policy.wants_load(), policy.tiers_mut().is_some()) {
            (false, _) => None,
            (true, false) => Some(Flight::Lane(InFlight::default())),
            (true, true) => Some(Flight::Tiers),
        };
        let store = policy
            .session_store()
            .map(|latency| SessionStore::new(latency, sc.sessions.state_ttl.0));
        Lane {
            store,
            label: spec.text.clone(),
            states: SessionStates::new(pool.len(), sc.sessions.state_ttl.0, users),
            rng: Stream::Policy.rng(sc.seed, replication, index as u64),
            tally: Tally::new(&pool, sc.duration, sc.window),
            policy,
            pool,
            queues,
            speeds: sc.serving.speeds.clone(),
            flight,
            followed,
            journeys: Vec::new(),
            warmup: sc.warmup,
            measuring: sc.warmup == 0,
            warmup_busy: Vec::new(),
            health: sc.operations.health_checks.map(|hc| Health::new(hc, sc.servers.len())),
            drained: (!sc.operations.deploys.is_empty() || sc.operations.autoscaling.is_some())
                .then(|| vec![false; sc.servers.len()]),
            drain_cause: if sc.operations.autoscaling.is_some() {
                LossCause::Autoscale
            } else {
                LossCause::Deploy
            },
            remap_cause: if sc.operations.autoscaling.is_some() {
                LossCause::Autoscale
            } else {
                LossCause::PoolRemap
            },
            ramps,
        }
    }

    /// Starts measuring once the warm-up is over, before anything at `now` is counted.
    #[inline(always)]
    fn measure_from(&mut self, now: Time) {
        if !self.measuring && now >= self.warmup {
            self.start_measuring();
        }
    }

    /// Once, at the first request after the warm-up: the tally starts counting.
    #[cold]
    #[inline(never)]
    fn start_measuring(&mut self) {
        self.measuring = true;
        self.roll_to(self.warmup);
        let open = self.states.start_measuring();
        self.tally.start_measuring(self.warmup, &self.pool, open);
        if let Some(q) = &self.queues {
            self.warmup_busy = q.busy_by(self.warmup);
            let w = self.tally.current_window();
            q.busy_into(self.warmup, self.tally.busy_mark(w));
        }
    }

    /// Advances the tally to the window holding `now`, marking the service time
    /// given by the start of each window passed (nothing arrived in between, so
    /// what the queues hold is known).
    fn roll_to(&mut self, now: Time) {
        let from = self.tally.current_window();
        self.tally.roll_to(now, &self.pool);
        if let Some(q) = &self.queues {
            for w in from + 1..=self.tally.current_window() {
                let start = self.tally.window_start(w);
                q.busy_into(start, self.tally.busy_mark(w));
            }
        }
    }

    pub fn route_all(&mut self, requests: &[Request]) {
        for (i, r) in requests.iter().enumerate() {
            if let Some(ahead) = requests.get(i + PREFETCH_AHEAD) {
                self.states.prefetch(ahead.user);
            }
            self.route(r);
        }
    }

    fn route(&mut self, r: &Request) {
        let (u, now) = (r.user, r.time);
        self.measure_from(now);
        self.roll_to(now);
        let new_user = self.states.first_sight(u);
        let prior = self.states.prior(u, now);
        if r.opens_visit {
            self.states.open_visit(u);
        }
        self.tally.request(r, new_user);
        if self.pool.up().is_empty() {
            self.tally.unroutable();
            self.not_served(r, Unserved::Unroutable);
            return;
        }
        if let Some(Flight::Lane(f)) = &mut self.flight {
            f.retire(self.pool.in_flight_mut(), now);
        }
        let pick = self.policy.pick(&r.client(), now, &self.pool, &mut self.rng);
        if pick.memory == Memory::DeadConnection {
            return self.not_served(r, Unserved::DeadConnection);
        }
        let mut s = pick.server;
        if let Some(h) = &self.health
            && h.is_dead(s)
        {
            match self.retry(r, s) {
                Some(other) => s = other,
                None => return self.failed(r, s),
            }
        }
        // A draining server keeps the sessions a balancer remembers (nginx and
        // HAProxy `drain`: only requests bound to it); hashes have already moved on,
        // and a request on an open connection stays on that connection's server.
        if let Prior::Live(h) = prior
            && h != s
            && !matches!(pick.memory, Memory::None | Memory::Connection)
            && self.pool.presence(h) == Presence::Draining
        {
            s = h;
        }
        // A faster server does the same work in less time; a store's round trip
        // keeps the worker busy whatever its speed, so it counts as service too.
        let work = match &self.speeds {
            Some(v) => (r.service as f64 / v[s as usize]).round() as Time,
            None => r.service,
        };
        let service = work + self.store.as_ref().map_or(0, |st| st.latency);
        let (response, finish) = match &mut self.queues {
            Some(q) => match q.admit(s, now, service) {
                Admission::Served { wait, finish } => (Some(wait.saturating_add(service)), finish),
                Admission::Dropped => {
                    self.tally.dropped();
                    self.not_served(r, Unserved::Dropped);
                    return;
                }
            },
            None => (None, now.saturating_add(service)),
        };
        match &mut self.flight {
            None => {}
            Some(Flight::Lane(f)) => f.start(self.pool.in_flight_mut(), s, finish),
            Some(Flight::Tiers) => self.tiers().started(s, finish),
        }

        if let Some(st) = &mut self.store {
            st.touch(u, now);
        }
        let cause = match prior {
            Prior::Fresh => None,
            // Every server reads the state from the store.
            _ if self.store.is_some() => None,
            Prior::Gone => Some(self.gone_cause(u)),
            Prior::Live(h) if h == s => None,
            Prior::Live(h) if self.pool.presence(h) == Presence::Draining => Some(self.drain_cause),
            Prior::Live(_) => {
                let remapped = self.states.remapped(u);
                let change = self.states.change_since_served(u, r.change);
                match LossCause::attribute(self.policy.affinity(), change, remapped, pick.memory) {
                    LossCause::PoolRemap => Some(self.remap_cause),
                    // The L4 tier sent the client to an instance that did not know it.
                    LossCause::AffinityExpired | LossCause::LoadSpill if self.policy.moved_tier() => {
                        Some(LossCause::L4Remap)
                    }
                    c => Some(c),
                }
            }
        };
        if let Some(c) = cause {
            let (first_in_visit, first_for_user) = self.states.mark_lost(u);
            self.tally.loss(c, first_in_visit, first_for_user);
        }
        self.follow_session(u, s, r.closes_visit);
        // A user whose key a pool change moved, kept here by its open connection
        // (or back here by it, its state split), still moves when that connection
        // closes: the remap stays pending.
        let pending = pick.memory == Memory::Connection
            && (self.states.remapped(u) || cause == Some(LossCause::SplitConnections));
        self.states.serve(u, s, now);
        if pending {
            self.states.mark_remapped(u);
        }
        self.tally.served(s, response);
        if u < self.followed {
            let outcome = match (prior, cause) {
                (_, Some(_)) => "lost",
                (Prior::Live(_), None) => "kept",
                _ => "new",
            };
            self.step(r, self.pool.name(s).to_string(), outcome, cause);
        }
    }

    /// Why `u`'s state is gone: its server left in a deploy, or failed or was removed.
    fn gone_cause(&self, u: u32) -> LossCause {
        let deployed = |h: ServerId| self.drained.as_ref().is_some_and(|d| d[h as usize]);
        match self.states.holder(u) {
            Some(h) if deployed(h) => self.drain_cause,
            _ => LossCause::ServerGone,
        }
    }

    /// Another host for a request whose pick `first` has failed, within the retry
    /// budget: the policy's next pick if it is a host not tried yet, else (a hash
    /// that keeps answering the same) the next host of the pool after the last one
    /// tried, as Envoy's ring hash steps to the next ring entry on a retry.
    fn retry(&mut self, r: &Request, first: ServerId) -> Option<ServerId> {
        let retries = self.health.as_ref()?.checks.retries as usize;
        let mut tried = [first; MAX_RETRIES as usize + 1];
        for n in 1..=retries {
            let pick = self.policy.pick(&r.client(), r.time, &self.pool, &mut self.rng).server;
            let next = if tried[..n].contains(&pick) {
                let up = self.pool.up();
                let at = up.iter().position(|&u| u == tried[n - 1]).unwrap_or(0);
                (1..up.len())
                    .map(|k| up[(at + k) % up.len()])
                    .find(|u| !tried[..n].contains(u))?
            } else {
                pick
            };
            if !self.health.as_ref().is_some_and(|h| h.is_dead(next)) {
                return Some(next);
            }
            tried[n] = next;
        }
        None
    }

    /// A request sent to a failed server the balancer still routes to: an error
    /// the user sees, counted as a loss of its own.
    fn failed(&mut self, r: &Request, s: ServerId) {
        let panic = self.health.as_ref().is_some_and(|h| h.held_down(s));
        let cause = LossCause::UndetectedFailure { panic };
        let (first_in_visit, first_for_user) = self.states.mark_lost(r.user);
        self.tally.loss(cause, first_in_visit, first_for_user);
        self.states.hold_change(r.user, r.change);
        if r.closes_visit && self.states.in_visit(r.user) {
            if let Some(h) = self.states.holder(r.user) {
                self.tally.session_off(h);
            }
            self.states.set_in_visit(r.user, false);
        }
        if r.user < self.followed {
            self.step(r, self.pool.name(s).to_string(), "failed", Some(cause));
        }
    }

    /// Moves the user's active visit onto `s` (or opens it there), and closes it
    /// after its last request.
    fn follow_session(&mut self, u: u32, s: ServerId, closes: bool) {
        if self.states.in_visit(u) {
            // An active visit's earlier request was served, so it has a holder.
            if let Some(h) = self.states.holder(u).filter(|&h| h != s) {
                self.tally.session_off(h);
                self.tally.session_on(s);
            }
        } else {
            self.tally.session_on(s);
            self.states.set_in_visit(u, true);
        }
        if closes {
            self.tally.session_off(s);
            self.states.set_in_visit(u, false);
        }
    }

    /// A request that was not served fails its user: a loss of its own cause.
    fn not_served(&mut self, r: &Request, why: Unserved) {
        let cause = LossCause::NotServed(why);
        let (first_in_visit, first_for_user) = self.states.mark_lost(r.user);
        self.tally.loss(cause, first_in_visit, first_for_user);
        self.states.hold_change(r.user, r.change);
        if r.closes_visit && self.states.in_visit(r.user) {
            if let Some(h) = self.states.holder(r.user) {
                self.tally.session_off(h);
            }
            self.states.set_in_visit(r.user, false);
        }
        if r.user < self.followed {
            self.step(r, String::new(), why.name(), Some(cause));
        }
    }

    fn step(&mut self, r: &Request, server: String, outcome: &'static str, cause: Option<LossCause>) {
        self.journeys.push(Step {
            user: r.user,
            time: r.time,
            addr: r.addr.to_string(),
            server,
            outcome,
            cause,
        });
    }

    /// Applies a pool change and measures how many live sessions it moves.
    pub fn apply(&mut self, change: &PoolChange, workload: &impl RequestSource) {
        let now = change.at;
        self.measure_from(now);
        self.roll_to(now);
        self.tally.credit_up_time(now, &self.pool);
        let (live, predictable, moved) = self.moves(now, workload, |lane| lane.change_pool(change));
        let s = change.kind.server();
        self.tally.remaps.push(Remap {
            at: now,
            action: change.kind.verb(),
            server: self.pool.name(s).to_string(),
            live,
            predictable,
            moved,
        });
    }

    /// Runs `change` on the lane and marks the live sessions it moves: those the
    /// policy sends elsewhere after it and, per connection, those whose next
    /// connection goes elsewhere (their open ones hide it until they close).
    /// Returns the live sessions, the ones the policy could place, and the moved.
    fn moves(&mut self, now: Time, workload: &impl RequestSource, change: impl FnOnce(&mut Lane)) -> (u64, u64, u64) {
        let client = |u: u32| latest_client(workload, u);
        let fresh = |u: u32| Client {
            new_connection: true,
            ..client(u)
        };
        let per_connection = self.policy.per_connection();
        let live: Vec<u32> = (0..self.states.users())
            .filter(|&u| self.states.is_live(u, now))
            .collect();
        let before: Vec<Option<ServerId>> = live.iter().map(|&u| self.peek(&client(u), now)).collect();
        let keyed: Vec<Option<ServerId>> = match per_connection {
            true => live.iter().map(|&u| self.peek(&fresh(u), now)).collect(),
            false => Vec::new(),
        };
        change(self);
        let (mut predictable, mut moved) = (0, 0);
        for (&u, b) in live.iter().zip(&before) {
            if let Some(b) = b {
                predictable += 1;
                if self.peek(&client(u), now) != Some(*b) {
                    moved += 1;
                    self.states.mark_remapped(u);
                }
            }
        }
        for (&u, k) in live.iter().zip(&keyed) {
            if k.is_some() && self.peek(&fresh(u), now) != *k {
                self.states.mark_remapped(u);
            }
        }
        (live.len() as u64, predictable, moved)
    }

    /// The pool change itself, as the balancer, its health checks, its slow start
    /// and the servers' state see it.
    fn change_pool(&mut self, change: &PoolChange) {
        let now = change.at;
        let s = change.kind.server();
        if let (Some(d), PoolChangeKind::Remove(_)) = (&mut self.drained, change.kind) {
            d[s as usize] = self.pool.presence(s) == Presence::Draining;
        }
        let was_up = self.pool.is_up(s);
        let applied = match (&mut self.health, change.kind) {
            (Some(h), PoolChangeKind::Crash(_) | PoolChangeKind::Restore(_)) => {
                h.set_dead(s, matches!(change.kind, PoolChangeKind::Crash(_)));
                true
            }
            // Panic already routes to it: the checks passing change nothing there.
            (Some(h), PoolChangeKind::Recover(_)) if h.held_down(s) => {
                h.checks_pass(s);
                true
            }
            (Some(h), PoolChangeKind::Remove(_)) => {
                h.checks_pass(s);
                self.pool.apply(&change.kind)
            }
            _ => self.pool.apply(&change.kind),
        };
        debug_assert!(applied, "pool changes are checked when the scenario is read");
        if let Some(r) = &mut self.ramps {
            match change.kind {
                // A server coming back into the balancer's rotation: not one panic
                // mode already routed to.
                PoolChangeKind::Add(_) | PoolChangeKind::Recover(_) if !was_up && self.pool.is_up(s) => {
                    r.start(s, now, &mut self.pool)
                }
                PoolChangeKind::Remove(_) | PoolChangeKind::Fail(_) | PoolChangeKind::Drain(_) => {
                    r.stop(s, now, &mut self.pool)
                }
                _ => r.update(now, &mut self.pool),
            }
        }
        if let Some(h) = &mut self.health {
            for m in h.panic_moves(&self.pool) {
                self.pool.apply(&m);
            }
        }
        if change.kind.wipes_state() {
            // State kept in a store survives its server; visits move on from it.
            if self.store.is_none() {
                self.states.wipe(s, now);
                self.states.end_visits_on(s);
                self.tally.sessions_gone(s);
            }
            if let Some(q) = &mut self.queues {
                q.reset(s, now);
            }
            match &mut self.flight {
                None => {}
                Some(Flight::Lane(f)) => f.abandon(self.pool.in_flight_mut(), s),
                Some(Flight::Tiers) => self.tiers().abandon(s),
            }
        }
        if !change.kind.is_real_health() {
            self.policy.pool_changed(&self.pool);
        }
    }

    /// When this lane's next slow-start step is due (never without ramps).
    pub fn next_weight_step(&self) -> Time {
        self.ramps.as_ref().map_or(Time::MAX, Ramps::next)
    }

    /// A slow-start step: the ramping servers' weights grow. A policy that hashes
    /// over weights (HAProxy's consistent tree) moves to a ramping server the
    /// clients of the nodes it gains; those are measured as a pool change's are.
    pub fn step_weights(&mut self, now: Time, workload: &impl RequestSource) {
        let Some(r) = self.ramps.as_ref().filter(|r| r.due(now)) else {
            return;
        };
        let server = r.ramping_names(&self.pool);
        self.measure_from(now);
        let (live, predictable, moved) = self.moves(now, workload, |lane| {
            if let Some(r) = &mut lane.ramps {
                r.update(now, &mut lane.pool);
            }
            lane.policy.weights_changed(&lane.pool);
        });
        if moved > 0 {
            self.tally.remaps.push(Remap {
                at: now,
                action: "ramp",
                server,
                live,
                predictable,
                moved,
            });
        }
    }

    /// Adds or removes an L7 instance and measures how many live sessions the L4
    /// tier's remap moves to another backend.
    pub fn apply_tier(&mut self, change: &PoolChange, workload: &impl RequestSource) {
        let now = change.at;
        self.measure_from(now);
        self.roll_to(now);
        let client = |u: u32| latest_client(workload, u);
        let live: Vec<u32> = (0..self.states.users())
            .filter(|&u| self.states.is_live(u, now))
            .collect();
        let before: Vec<Option<ServerId>> = live.iter().map(|&u| self.peek(&client(u), now)).collect();
        let pool = &self.pool;
        let tiers = self.policy.tiers_mut().expect("tier events come with [tiers]");
        tiers.change(change.kind, pool);
        let instance = tiers.instance_name(change.kind.server()).to_string();
        let (mut predictable, mut moved) = (0, 0);
        for (&u, b) in live.iter().zip(&before) {
            if let Some(b) = b {
                predictable += 1;
                if self.peek(&client(u), now) != Some(*b) {
                    moved += 1;
                }
            }
        }
        self.tally.remaps.push(Remap {
            at: now,
            action: change.kind.verb(),
            server: instance,
            live: live.len() as u64,
            predictable,
            moved,
        });
    }

    /// The two tiers, when the lane's policy is them.
    fn tiers(&mut self) -> &mut policy::tier::Tiered {
        self.policy
            .tiers_mut()
            .expect("only two tiers count in flight per instance")
    }

    /// Where the policy would send `client` now; nowhere when no server is up.
    fn peek(&self, client: &Client, now: Time) -> Option<ServerId> {
        if self.pool.up().is_empty() {
            return None;
        }
        self.policy.peek(client, now, &self.pool)
    }

    pub fn finish(mut self, end: Time) -> (String, LaneReport, Vec<Step>) {
        self.measure_from(end);
        // The fair share of each server is measured against its configured weight.
        if let Some(r) = &self.ramps {
            r.restore(&mut self.pool);
        }
        let windows = self.tally.windows();
        let busy = self.queues.as_ref().map(|q| {
            // Windows without an arrival after the last one the tally reached.
            for w in self.tally.current_window() + 1..windows {
                let start = self.tally.window_start(w);
                q.busy_into(start, self.tally.busy_mark(w));
            }
            q.busy_into(end, self.tally.busy_mark(windows));
            let mut busy = q.busy_by(end);
            for (b, w) in busy.iter_mut().zip(&self.warmup_busy) {
                *b -= w;
            }
            (busy, q.workers())
        });
        let mut report = self
            .tally
            .finish(&self.pool, end, busy.as_ref().map(|(b, w)| (&b[..], &w[..])));
        report.store_sessions_peak = self.store.as_ref().map(SessionStore::peak);
        (self.label, report, self.journeys)
    }
}

/// User `u` as its latest request showed it, on its open connection: what a
/// pool change asks the policy about.
fn latest_client(workload: &impl RequestSource, u: u32) -> Client {
    Client {
        user: u,
        addr: workload.last_address(u),
        port: workload.port(u),
        connection: workload.connection(u),
        new_connection: false,
    }
}
