//! A trace as a request source: the log's requests, in time order, handed to the
//! policy lanes chunk by chunk like a generated workload's.
//!
//! The log gives who and when; the scenario gives the rest. Each request's work
//! is drawn from the scenario's `[servers] service` distribution on the seeded
//! service stream, and each session's source port (which only `source_port` keys
//! look at) from the sessions stream, so a replay is as deterministic as a run.
//!
//! Clients keep their logged address for the whole trace, unless churn is laid
//! over them (`--churn`): then each client is, with the share of the scenario's
//! mobile network, a phone whose logged address is its WiFi, and which moves to
//! the carrier's network and back at that network's switch rate and cellular
//! stay, exactly as a generated mobile user does. A log shows what happened
//! under the address mix of its own day; churn asks what the same visits would
//! lose if more of them came from phones.

use rand::RngExt;

use crate::engine::{Stream, StreamRng, Time, time};
use crate::policy::key::Addr;
use crate::scenario::distribution::Sampler;
use crate::scenario::{Network, Scenario};
use crate::workload::generator::PORTS;
use crate::workload::network::{Net, after};
use crate::workload::packed::Packed;
use crate::workload::users::Users;
use crate::workload::{AddressChange, Request, RequestSource};

use super::Trace;

/// A mobile network laid over the trace's clients.
struct Churn {
    net: Net,
    /// Share of clients that are phones on it.
    share: f64,
    /// Rate of leaving WiFi, per second.
    leave_wifi: f64,
    /// Each client, numbered as in the trace: on the mobile network or not.
    users: Users,
    rng_networks: StreamRng,
    rng_churn: StreamRng,
}

/// `Users::net` of a client on the mobile network, and of one that is not.
const PHONE: u8 = 0;
const FIXED: u8 = 1;

impl Churn {
    fn new(mobile: &Network, clients: usize, sc: &Scenario, replication: u32) -> Churn {
        let mut rng_networks = Stream::Networks.rng(sc.seed, replication, 0);
        let net = Net::new(mobile, clients as f64 * mobile.share(), &mut rng_networks);
        let leave_wifi = match &net {
            Net::Mobile { leave_wifi, .. } => *leave_wifi,
            _ => 0.0,
        };
        Churn {
            net,
            share: mobile.share(),
            leave_wifi,
            users: Users::with_capacity(clients),
            rng_networks,
            rng_churn: Stream::Churn.rng(sc.seed, replication, 0),
        }
    }

    /// A client's first request, at `now`: a phone starts on WiFi.
    fn arrive(&mut self, now: Time) {
        let phone = self.rng_networks.random::<f64>() < self.share;
        let first_switch = if phone {
            after(now, self.leave_wifi, &mut self.rng_churn)
        } else {
            Time::MAX
        };
        self.users
            .push(if phone { PHONE } else { FIXED }, 0, false, first_switch);
    }

    /// The address of `u`'s request at `now`, given its logged address, and
    /// whether it changed since the previous request.
    fn address(&mut self, u: u32, now: Time, logged: Addr) -> (Addr, AddressChange) {
        let user = &mut self.users[u];
        if user.net != PHONE {
            return (logged, AddressChange::None);
        }
        self.net.roam(user, now, &mut self.rng_churn);
        // The attachment, packed: a carrier address, or 0 for the logged WiFi one.
        let attached = Packed::v4(self.net.cellular_address(user).unwrap_or(0));
        let moved = user.started() && attached != user.last;
        user.last = attached;
        user.set_started();
        let addr = if attached.0 == 0 {
            logged
        } else {
            Addr::v4(attached.0 as u32)
        };
        let change = if moved {
            AddressChange::Mobility
        } else {
            AddressChange::None
        };
        (addr, change)
    }
}

/// One replication's pass over a trace.
pub struct Replay<'a> {
    trace: &'a Trace,
    /// The next request to hand out.
    next: usize,
    end: Time,
    service: Sampler,
    rng_service: StreamRng,
    rng_sessions: StreamRng,
    /// Source port of each user's current session.
    ports: Vec<u16>,
    users: u32,
    visits: u64,
    churn: Option<Churn>,
}

impl<'a> Replay<'a> {
    /// A pass over `trace` in the setting of `sc`, with the switching of the mobile
    /// network `churn` laid over its clients when given.
    pub fn new(trace: &'a Trace, sc: &Scenario, replication: u32, churn: Option<&Network>) -> Replay<'a> {
        let rng = |s: Stream| s.rng(sc.seed, replication, 0);
        Replay {
            trace,
            next: 0,
            end: sc.duration,
            service: sc.serving.service.sampler(),
            rng_service: rng(Stream::Service),
            rng_sessions: rng(Stream::Sessions),
            ports: vec![0; trace.addrs.len()],
            users: 0,
            visits: 0,
            churn: churn.map(|n| Churn::new(n, trace.addrs.len(), sc, replication)),
        }
    }
}

impl RequestSource for Replay<'_> {
    fn fill(&mut self, out: &mut Vec<Request>, until: Time, max: usize) {
        let stop = until.min(self.end);
        let target = out.len() + max;
        while out.len() < target {
            let Some(hit) = self.trace.hits.get(self.next).filter(|h| h.time < stop) else {
                return;
            };
            self.next += 1;
            let u = hit.user as usize;
            if hit.opens {
                self.visits += 1;
                self.ports[u] = self.rng_sessions.random_range(PORTS);
            }
            let logged = self.trace.addrs[u];
            let (addr, change) = match &mut self.churn {
                Some(c) => {
                    // Users are numbered by their first request.
                    if hit.user == self.users {
                        c.arrive(hit.time);
                    }
                    c.address(hit.user, hit.time, logged)
                }
                None => (logged, AddressChange::None),
            };
            self.users = self.users.max(hit.user + 1);
            out.push(Request {
                time: hit.time,
                service: time::from_secs(self.service.sample(&mut self.rng_service)),
                addr,
                user: hit.user,
                port: self.ports[u],
                connection: 0,
                // A visit opens the connection; a new address is a new flow.
                new_connection: hit.opens || change != AddressChange::None,
                opens_visit: hit.opens,
                closes_visit: hit.closes,
                change,
            });
        }
    }

    fn last_address(&self, u: u32) -> Addr {
        let cellular = self.churn.as_ref().and_then(|c| c.net.cellular_address(&c.users[u]));
        cellular.map_or(self.trace.addrs[u as usize], Addr::v4)
    }

    fn port(&self, u: u32) -> u16 {
        self.ports[u as usize]
    }

    fn expected_users(&self) -> usize {
        self.trace.addrs.len()
    }

    fn users(&self) -> u32 {
        self.users
    }

    /// One event per request line replayed.
    fn events(&self) -> u64 {
        self.next as u64
    }

    fn visits(&self) -> u64 {
        self.visits
    }
}
