//! The workload's event loop: user arrivals, visit starts and next requests, in
//! (time, sequence) order, producing the request stream.

use rand::RngExt;

use crate::engine::time::Stamp;
use crate::engine::{Calendar, Stream, StreamRng, Time, time};
use crate::policy::key::Addr;
use crate::scenario::distribution::Sampler;
use crate::scenario::units::{Duration, Positive, Share};
use crate::scenario::{Network, Pooling, Scenario, ScriptedUser};

use super::arrivals::ArrivalProcess;
use super::connections::{Connections, Ride};
use super::network::{Net, after, egress_address, relay_egress};
use super::packed::Packed;
use super::request::{AddressChange, Request};
use super::source::RequestSource;
use super::users::{SCRIPTED, Users};

#[derive(Clone, Copy)]
enum Event {
    /// A new synthetic user arrives and starts its first visit.
    Arrival,
    /// A user starts a visit.
    Visit(u32),
    /// A user in a visit sends its next request.
    Next(u32),
}

/// Ephemeral ports a client picks from (the Linux default range).
pub const PORTS: std::ops::Range<u16> = 32_768..61_000;

/// A `[[users]]` entry, resolved for the generator; shared by its members.
struct Plan {
    user: ScriptedUser,
    think: Sampler,
}

/// One scripted user.
struct Script {
    plan: usize,
    /// The address of this user's previous request.
    last: Addr,
}

/// Generates one replication's request stream.
pub struct Workload {
    end: Time,
    calendar: Calendar<Event>,
    arrivals: Option<ArrivalProcess>,
    nets: Vec<Net>,
    /// Cumulative network shares, for drawing a new user's network.
    net_cdf: Vec<f64>,
    users: Users,
    plans: Vec<Plan>,
    scripts: Vec<Script>,
    requests: Sampler,
    think: Sampler,
    /// Synthetic think times above this many seconds are drawn again.
    think_max: Option<f64>,
    return_share: f64,
    return_after: Sampler,
    keepalive: Stamp,
    /// Several connections per user, or connection lifetimes; none otherwise.
    connections: Option<Connections>,
    service: Sampler,
    rng_arrivals: StreamRng,
    rng_sessions: StreamRng,
    rng_networks: StreamRng,
    rng_churn: StreamRng,
    rng_connections: StreamRng,
    rng_service: StreamRng,
    events: u64,
    visits: u64,
    capacity: usize,
}

impl Workload {
    pub fn new(sc: &Scenario, replication: u32) -> Workload {
        let rng = |s: Stream| s.rng(sc.seed, replication, 0);
        let mut rng_networks = rng(Stream::Networks);
        let synthetic = sc.expected_users() - sc.users.iter().map(|u| u.count as f64).sum::<f64>();
        // Without [[networks]], every user is at home with an address of its own
        // that never changes.
        let default_net = [Network::Home {
            share: Share(1.0),
            users_per_address: Positive(1.0),
            ipv6_share: Share(0.0),
            renumber_share: Share(0.0),
            renumber_every: Duration(0),
            leave_prefix: Share(0.0),
            privacy_rotation: Duration(0),
            happy_eyeballs: Share(0.0),
        }];
        let specs = if sc.networks.is_empty() {
            &default_net[..]
        } else {
            &sc.networks[..]
        };
        let nets = specs
            .iter()
            .map(|n| Net::new(n, synthetic * n.share(), &mut rng_networks))
            .collect();
        let net_cdf = specs
            .iter()
            .scan(0.0, |acc, n| {
                *acc += n.share();
                Some(*acc)
            })
            .collect();

        let mut w = Workload {
            end: sc.duration,
            calendar: calendar_for(sc),
            arrivals: sc.arrivals.clone().map(ArrivalProcess::new),
            nets,
            net_cdf,
            users: Users::with_capacity(sc.user_capacity()),
            capacity: sc.user_capacity(),
            plans: Vec::new(),
            scripts: Vec::new(),
            requests: sc.sessions.requests.get_ref().sampler(),
            think: sc.sessions.think.sampler(),
            think_max: sc.sessions.think_max.as_ref().map(|m| m.get_ref().secs()),
            return_share: sc.sessions.return_share.0,
            return_after: sc.sessions.return_after.get_ref().sampler(),
            keepalive: Stamp::from(sc.sessions.keepalive.0),
            connections: Connections::new(sc, replication),
            service: sc.serving.service.sampler(),
            rng_arrivals: rng(Stream::Arrivals),
            rng_sessions: rng(Stream::Sessions),
            rng_networks,
            rng_churn: rng(Stream::Churn),
            rng_connections: rng(Stream::Connections),
            rng_service: rng(Stream::Service),
            events: 0,
            visits: 0,
        };
        // Single scripted users come first, so their ids match journeys.csv rows.
        let mut scripted: Vec<&ScriptedUser> = sc.users.iter().collect();
        scripted.sort_by_key(|u| u.count > 1);
        for u in scripted {
            let plan = w.plans.len();
            w.plans.push(Plan {
                user: u.clone(),
                think: u.think.sampler(),
            });
            for _ in 0..u.count {
                let id = w.users.push(SCRIPTED, w.scripts.len() as u32, false, Time::MAX);
                w.scripts.push(Script { plan, last: u.address });
                for &v in &u.visits {
                    let offset = if u.spread > 0 {
                        w.rng_sessions.random_range(0..u.spread)
                    } else {
                        0
                    };
                    w.calendar.schedule(v.saturating_add(offset), Event::Visit(id));
                }
            }
        }
        if let Some(first) = w.arrivals.as_ref().and_then(|a| a.next(0, &mut w.rng_arrivals)) {
            w.calendar.schedule(first, Event::Arrival);
        }
        w
    }

    fn new_user(&mut self, now: Time) -> u32 {
        let x = self.rng_networks.random::<f64>();
        let n = self.net_cdf.iter().position(|&c| x < c).unwrap_or(self.nets.len() - 1);
        let rng = &mut self.rng_networks;
        match &self.nets[n] {
            Net::Home(home) => {
                let ipv6 = rng.random::<f64>() < home.ipv6_share;
                let index = home.pool.draw(rng);
                self.users.push(n as u8, index, ipv6, Time::MAX)
            }
            Net::Cgnat { pool, .. } => {
                let index = pool.draw(rng);
                self.users.push(n as u8, index, false, Time::MAX)
            }
            Net::Enterprise {
                sites,
                egress,
                per_connection,
                ..
            } => {
                // A site in proportion to its size, so users per site follow the sizes.
                let at = rng.random::<f64>() * sites.last().expect("at least one site");
                let site = sites.partition_point(|&c| c <= at).min(sites.len() - 1) as u32;
                let u = self.users.push(n as u8, site, false, Time::MAX);
                if !per_connection {
                    self.users[u].cur = rng.random_range(0..*egress);
                }
                u
            }
            Net::Relay { pool, .. } => {
                let index = pool.draw(rng);
                self.users.push(n as u8, index, false, Time::MAX)
            }
            Net::Mobile { wifi, leave_wifi, .. } => {
                let index = wifi.draw(rng);
                let first_switch = after(now, *leave_wifi, &mut self.rng_churn);
                self.users.push(n as u8, index, false, first_switch)
            }
        }
    }

    fn start_visit(&mut self, u: u32, now: Time, out: &mut Vec<Request>) {
        self.visits += 1;
        self.users[u].remaining = match self.users[u].net {
            SCRIPTED => self.plan_of(u).user.requests,
            _ => self.requests.sample_count(&mut self.rng_sessions),
        };
        self.emit(u, now, true, out);
    }

    /// Emits the user's next request and schedules what follows it.
    fn emit(&mut self, u: u32, now: Time, opens_visit: bool, out: &mut Vec<Request>) {
        let (addr, change, ride) = self.address(u, now);
        let user = &mut self.users[u];
        user.remaining -= 1;
        let closes_visit = user.remaining == 0;
        let (port, scripted) = (user.port, user.net == SCRIPTED);
        let service = time::from_secs(self.service.sample(&mut self.rng_service));
        out.push(Request {
            time: now,
            service,
            addr,
            user: u,
            port,
            connection: ride.slot,
            new_connection: ride.closed,
            opens_visit,
            closes_visit,
            change,
        });

        if !closes_visit {
            let sampler = if scripted {
                &self.plans[self.scripts[self.users[u].home as usize].plan].think
            } else {
                &self.think
            };
            let think = match self.think_max {
                Some(max) if !scripted => below(sampler, max, &mut self.rng_sessions),
                _ => sampler.sample(&mut self.rng_sessions),
            };
            self.calendar
                .schedule(now.saturating_add(time::from_secs(think).max(1)), Event::Next(u));
        } else if !scripted && self.rng_sessions.random::<f64>() < self.return_share {
            let gap = time::from_secs(self.return_after.sample(&mut self.rng_sessions)).max(1);
            self.calendar.schedule(now.saturating_add(gap), Event::Visit(u));
        }
    }

    /// The user's address now, why it differs from its previous request's, and
    /// the connection the request rides. A request after `keepalive` of silence
    /// on its connection, after the connection's lifetime, or from a new address,
    /// opens a new connection with a new source port.
    fn address(&mut self, u: u32, now: Time) -> (Addr, AddressChange, Ride) {
        let stamp = Stamp::from(now);
        let user = self.users[u];
        let ride = match &mut self.connections {
            Some(c) => c.ride(u, stamp, self.keepalive),
            None => Ride {
                slot: 0,
                closed: !user.started() || stamp.since(user.seen) > self.keepalive,
            },
        };
        let new_conn = ride.closed;
        let (addr, change) = match user.net {
            SCRIPTED => self.scripted_address(u, now),
            n => {
                let (packed, why) = self.synthetic_address(u, n as usize, now, new_conn);
                let user = &mut self.users[u];
                let change = if user.started() && packed != user.last {
                    why
                } else {
                    AddressChange::None
                };
                user.last = packed;
                (self.nets[n as usize].unpack(packed, u), change)
            }
        };
        let user = &mut self.users[u];
        let moved = change != AddressChange::None;
        let ride = Ride {
            closed: new_conn || moved,
            ..ride
        };
        if ride.closed {
            user.port = self.rng_connections.random_range(PORTS);
            if let Some(c) = &mut self.connections {
                c.open(u, ride, user.port, stamp, moved);
            }
        } else if let Some(c) = &self.connections {
            user.port = c.port(u, ride.slot);
        }
        user.seen = stamp;
        user.set_started();
        (addr, change, ride)
    }

    fn scripted_address(&mut self, u: u32, now: Time) -> (Addr, AddressChange) {
        let plan = &self.plan_of(u).user;
        let addr = plan
            .moves
            .iter()
            .rev()
            .find(|m| m.0 <= now)
            .map_or(plan.address, |m| m.1);
        let script = &mut self.scripts[self.users[u].home as usize];
        let change = if addr == script.last {
            AddressChange::None
        } else {
            AddressChange::Scripted
        };
        script.last = addr;
        (addr, change)
    }

    /// A synthetic user's public address for a request at `now`, and what would
    /// have changed it.
    fn synthetic_address(&mut self, u: u32, n: usize, now: Time, new_conn: bool) -> (Packed, AddressChange) {
        let rng = &mut self.rng_connections;
        let user = &mut self.users[u];
        match &self.nets[n] {
            Net::Home(home) => {
                if !user.ipv6() {
                    return (Packed::v4(home.v4_at(user.home, now)), AddressChange::Renumbering);
                }
                if new_conn {
                    user.set_conn_v4(rng.random::<f64>() < home.happy_eyeballs);
                }
                let last = user.last;
                let packed = if user.conn_v4() {
                    Packed::v4(home.v4_at(user.home, now))
                } else if new_conn || !last.is_v6() {
                    Packed::v6(user.home, home.privacy_generation(u, now))
                } else {
                    // An open connection keeps its address until it closes.
                    last
                };
                let why = match (packed.is_v6(), last.is_v6()) {
                    (a, b) if a != b => AddressChange::AddressFamily,
                    (true, _) => AddressChange::Privacy,
                    (false, _) => AddressChange::Renumbering,
                };
                (packed, why)
            }
            Net::Cgnat {
                pool,
                pooling,
                mapping_timeout,
            } => {
                let idle = Stamp::from(now).since(user.seen);
                let released = *pooling == Pooling::Arbitrary || idle > Stamp::from(*mapping_timeout);
                if new_conn && user.started() && released {
                    user.home = pool.draw(rng);
                }
                (Packed::v4(pool.v4(user.home)), AddressChange::NatPool)
            }
            Net::Enterprise {
                egress,
                per_connection,
                pool,
                ..
            } => {
                if new_conn && *per_connection {
                    user.cur = rng.random_range(0..*egress);
                }
                let addr = egress_address(pool, user.home, user.cur);
                (Packed::v4(addr), AddressChange::ProxyEgress)
            }
            Net::Relay { pool, rotate_every } => {
                if new_conn {
                    match *rotate_every {
                        0 if user.started() => user.home = pool.draw(rng),
                        0 => {}
                        every => user.home = relay_egress(pool, every, u, now),
                    }
                }
                (Packed::v4(pool.v4(user.home)), AddressChange::ProxyEgress)
            }
            net @ Net::Mobile { wifi, .. } => {
                net.roam(user, now, &mut self.rng_churn);
                let addr = net.cellular_address(user).unwrap_or_else(|| wifi.v4(user.home));
                (Packed::v4(addr), AddressChange::Mobility)
            }
        }
    }

    /// The `[[users]]` entry of a scripted user.
    fn plan_of(&self, u: u32) -> &Plan {
        &self.plans[self.scripts[self.users[u].home as usize].plan]
    }
}

/// A calendar sized to the scenario's expected request rate: about two events
/// per bucket, so that sorting a bucket when its time comes costs little, over a
/// ring of about four and a half minutes, which holds nearly all think times;
/// return visits, hours away, wait beyond it. The sizes change what the calendar
/// costs, never the order of its events.
fn calendar_for(sc: &Scenario) -> Calendar<Event> {
    const RING: Time = 1 << 38;
    let requests = sc.sessions.requests.get_ref().mean().min(1e3);
    let visits = sc.expected_users() * (1.0 + sc.sessions.return_share.0);
    let per_second = visits * requests / time::as_secs(sc.duration.max(time::SECOND));
    let width = (2.0 / per_second.max(1e-9) * time::SECOND as f64).clamp(time::MILLISECOND as f64, time::SECOND as f64);
    let width = width as Time;
    Calendar::new(width, (RING / width.next_power_of_two()) as usize)
}

/// A draw of `sampler` at most `max`, by rejection: the distribution truncated
/// at `max`. After many rejections (a bound far in the tail's wrong side) it is
/// `max` itself, so a visit always goes on.
fn below(sampler: &Sampler, max: f64, rng: &mut StreamRng) -> f64 {
    (0..1000)
        .map(|_| sampler.sample(rng))
        .find(|&t| t <= max)
        .unwrap_or(max)
}

impl RequestSource for Workload {
    fn fill(&mut self, out: &mut Vec<Request>, until: Time, max: usize) {
        let stop = until.min(self.end);
        let target = out.len() + max;
        while out.len() < target {
            let Some((now, event)) = self.calendar.pop_before(stop) else {
                return;
            };
            self.events += 1;
            match event {
                Event::Arrival => {
                    let u = self.new_user(now);
                    self.start_visit(u, now, out);
                    if let Some(next) = self.arrivals.as_ref().and_then(|a| a.next(now, &mut self.rng_arrivals)) {
                        self.calendar.schedule(next, Event::Arrival);
                    }
                }
                // A visit due while the user is still in one waits for it to end.
                Event::Visit(u) if self.users[u].remaining > 0 => self
                    .calendar
                    .schedule(now.saturating_add(time::SECOND), Event::Visit(u)),
                Event::Visit(u) => self.start_visit(u, now, out),
                Event::Next(u) => self.emit(u, now, false, out),
            }
        }
    }

    fn last_address(&self, u: u32) -> Addr {
        let user = &self.users[u];
        match user.net {
            SCRIPTED => self.scripts[user.home as usize].last,
            n => self.nets[n as usize].unpack(user.last, u),
        }
    }

    fn port(&self, u: u32) -> u16 {
        self.users[u].port
    }

    fn connection(&self, u: u32) -> u8 {
        self.connections.as_ref().map_or(0, |c| c.latest(u))
    }

    fn users(&self) -> u32 {
        self.users.len() as u32
    }

    fn events(&self) -> u64 {
        self.events
    }

    fn visits(&self) -> u64 {
        self.visits
    }

    fn expected_users(&self) -> usize {
        self.capacity
    }
}
