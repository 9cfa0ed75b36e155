//! The workload's event loop: user arrivals, visit starts and next requests, in
//! (time, sequence) order, producing the request stream.

use rand::RngExt;

use crate::engine::{Calendar, Stream, StreamRng, Time, time};
use crate::policy::key::Addr;
use crate::scenario::distribution::Sampler;
use crate::scenario::units::{Positive, Share};
use crate::scenario::{Network, Scenario, ScriptedUser};

use super::arrivals::ArrivalProcess;
use super::network::{Net, after};
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
    return_share: f64,
    return_after: Sampler,
    service: Sampler,
    rng_arrivals: StreamRng,
    rng_sessions: StreamRng,
    rng_networks: StreamRng,
    rng_churn: StreamRng,
    rng_service: StreamRng,
    events: u64,
    visits: u64,
    expected_users: usize,
}

impl Workload {
    pub fn new(sc: &Scenario, replication: u32) -> Workload {
        let rng = |s: Stream| s.rng(sc.seed, replication, 0);
        let mut rng_networks = rng(Stream::Networks);
        let synthetic = sc.expected_users() - sc.users.iter().map(|u| u.count as f64).sum::<f64>();
        // Without [[networks]], every user is at home with an address of its own.
        let default_net = [Network::Home {
            share: Share(1.0),
            users_per_address: Positive(1.0),
            ipv6_share: Share(0.0),
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

        let expected_users = sc.expected_users().ceil() as usize;
        let mut w = Workload {
            end: sc.duration,
            // One-second buckets over about four minutes hold nearly all think
            // times; return visits, hours away, wait beyond the ring.
            calendar: Calendar::new(time::SECOND, 256),
            arrivals: sc.arrivals.clone().map(ArrivalProcess::new),
            nets,
            net_cdf,
            users: Users::with_capacity(expected_users + 16),
            expected_users,
            plans: Vec::new(),
            scripts: Vec::new(),
            requests: sc.sessions.requests.get_ref().sampler(),
            think: sc.sessions.think.sampler(),
            return_share: sc.sessions.return_share.0,
            return_after: sc.sessions.return_after.get_ref().sampler(),
            service: sc.serving.service.sampler(),
            rng_arrivals: rng(Stream::Arrivals),
            rng_sessions: rng(Stream::Sessions),
            rng_networks,
            rng_churn: rng(Stream::Churn),
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
        match &self.nets[n] {
            Net::Home { pool, ipv6_share } => {
                let ipv6 = self.rng_networks.random::<f64>() < *ipv6_share;
                let home = pool.draw(&mut self.rng_networks);
                self.users.push(n as u8, home, ipv6, Time::MAX)
            }
            Net::Cgnat { pool } => {
                let home = pool.draw(&mut self.rng_networks);
                self.users.push(n as u8, home, false, Time::MAX)
            }
            Net::Mobile { wifi, leave_wifi, .. } => {
                let home = wifi.draw(&mut self.rng_networks);
                let first_switch = after(now, *leave_wifi, &mut self.rng_churn);
                self.users.push(n as u8, home, false, first_switch)
            }
        }
    }

    fn start_visit(&mut self, u: u32, now: Time, out: &mut Vec<Request>) {
        self.visits += 1;
        let i = u as usize;
        self.users.remaining[i] = match self.users.net[i] {
            SCRIPTED => self.plan_of(u).user.requests,
            _ => self.requests.sample_count(&mut self.rng_sessions),
        };
        self.users.port[i] = self.rng_sessions.random_range(PORTS);
        self.emit(u, now, true, out);
    }

    /// Emits the user's next request and schedules what follows it.
    fn emit(&mut self, u: u32, now: Time, opens_visit: bool, out: &mut Vec<Request>) {
        let i = u as usize;
        let (addr, change) = self.address(u, now);
        self.users.remaining[i] -= 1;
        let closes_visit = self.users.remaining[i] == 0;
        let service = time::from_secs(self.service.sample(&mut self.rng_service));
        out.push(Request {
            time: now,
            service,
            addr,
            user: u,
            port: self.users.port[i],
            opens_visit,
            closes_visit,
            change,
        });

        let scripted = self.users.net[i] == SCRIPTED;
        if !closes_visit {
            let sampler = if scripted { self.plan_of(u).think } else { self.think };
            let think = sampler.sample(&mut self.rng_sessions);
            self.calendar
                .schedule(now.saturating_add(time::from_secs(think).max(1)), Event::Next(u));
        } else if !scripted && self.rng_sessions.random::<f64>() < self.return_share {
            let gap = time::from_secs(self.return_after.sample(&mut self.rng_sessions)).max(1);
            self.calendar.schedule(now.saturating_add(gap), Event::Visit(u));
        }
    }

    /// The user's address now, and why it differs from its previous request's.
    fn address(&mut self, u: u32, now: Time) -> (Addr, AddressChange) {
        let i = u as usize;
        match self.users.net[i] {
            SCRIPTED => {
                let plan = &self.plan_of(u).user;
                let addr = plan
                    .moves
                    .iter()
                    .rev()
                    .find(|m| m.0 <= now)
                    .map_or(plan.address, |m| m.1);
                let script = &mut self.scripts[self.users.home[i] as usize];
                let change = if addr == script.last {
                    AddressChange::None
                } else {
                    AddressChange::Scripted
                };
                script.last = addr;
                (addr, change)
            }
            n => {
                let change = if self.nets[n as usize].roam(&mut self.users, u, now, &mut self.rng_churn) {
                    AddressChange::Mobility
                } else {
                    AddressChange::None
                };
                (self.last_address(u), change)
            }
        }
    }

    /// The `[[users]]` entry of a scripted user.
    fn plan_of(&self, u: u32) -> &Plan {
        &self.plans[self.scripts[self.users.home[u as usize] as usize].plan]
    }
}

impl RequestSource for Workload {
    fn fill(&mut self, out: &mut Vec<Request>, until: Time, max: usize) {
        let stop = until.min(self.end);
        let target = out.len() + max;
        while out.len() < target {
            match self.calendar.peek_time() {
                Some(t) if t < stop => {}
                _ => return,
            }
            let (now, event) = self.calendar.pop().expect("peeked");
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
                Event::Visit(u) if self.users.remaining[u as usize] > 0 => self
                    .calendar
                    .schedule(now.saturating_add(time::SECOND), Event::Visit(u)),
                Event::Visit(u) => self.start_visit(u, now, out),
                Event::Next(u) => self.emit(u, now, false, out),
            }
        }
    }

    fn last_address(&self, u: u32) -> Addr {
        let i = u as usize;
        let home = self.users.home[i];
        match (self.users.net[i], self.nets.get(self.users.net[i] as usize)) {
            (SCRIPTED, _) => self.scripts[home as usize].last,
            (_, Some(Net::Home { pool, .. })) if self.users.ipv6(u) => pool.v6(home),
            (_, Some(Net::Home { pool, .. } | Net::Cgnat { pool })) => pool.v4(home),
            (_, Some(Net::Mobile { cellular, .. })) if self.users.last_on_cell(u) => {
                cellular.v4(self.users.last_cell[i])
            }
            (_, Some(Net::Mobile { wifi, .. })) => wifi.v4(home),
            (_, None) => unreachable!("every user has a network"),
        }
    }

    fn port(&self, u: u32) -> u16 {
        self.users.port[u as usize]
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
        self.expected_users
    }
}
