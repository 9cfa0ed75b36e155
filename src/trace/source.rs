//! A trace as a request source: the log's requests, in time order, handed to the
//! policy lanes chunk by chunk like a generated workload's.
//!
//! The log gives who and when; the scenario gives the rest. Each request's work
//! is drawn from the scenario's `[servers] service` distribution on the seeded
//! service stream, and each session's source port (which only `source_port` keys
//! look at) from the sessions stream, so a replay is as deterministic as a run.
//! Clients keep their address for the whole trace.

use rand::RngExt;

use crate::engine::{Stream, StreamRng, Time, time};
use crate::policy::key::Addr;
use crate::scenario::Scenario;
use crate::scenario::distribution::Sampler;
use crate::workload::generator::PORTS;
use crate::workload::{AddressChange, Request, RequestSource};

use super::Trace;

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
}

impl<'a> Replay<'a> {
    pub fn new(trace: &'a Trace, sc: &Scenario, replication: u32) -> Replay<'a> {
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
            // Users are numbered by their first request.
            self.users = self.users.max(hit.user + 1);
            out.push(Request {
                time: hit.time,
                service: time::from_secs(self.service.sample(&mut self.rng_service)),
                addr: self.trace.addrs[u],
                user: hit.user,
                port: self.ports[u],
                opens_visit: hit.opens,
                closes_visit: hit.closes,
                change: AddressChange::None,
            });
        }
    }

    fn last_address(&self, u: u32) -> Addr {
        self.trace.addrs[u as usize]
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
