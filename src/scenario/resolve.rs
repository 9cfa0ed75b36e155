//! From a parsed file to a [`Scenario`]: names resolved (servers, addresses,
//! policies), cross-field rules checked, every problem reported at its place.

use std::path::Path;

use toml::Spanned;
use xxhash_rust::xxh3::xxh3_64;

use super::distribution::Dist;
use super::*;
use crate::engine::time::{STAMP_RANGE, clock};
use crate::policy::{Spec, key::Addr};
use crate::pool::{PoolChange, PoolChangeKind, Presence, Server, ServerId};

/// Bounds that keep a run's memory within reason.
pub(super) const MAX_WINDOWS: u64 = 100_000;
const MAX_WORKERS: u64 = 10_000_000;
const MAX_SERVERS: u32 = 100_000;
/// Network indices are bytes, and one value marks scripted users.
const MAX_NETWORKS: usize = 254;
/// Concurrent connections per user: browsers keep up to 6 per host; a request
/// carries its connection's index in a byte.
const MAX_CONNECTIONS: u32 = 16;

/// Turns a parsed file into a [`Scenario`], reporting problems at their place.
pub(super) struct Resolver<'a> {
    pub(super) path: &'a Path,
    pub(super) source: &'a str,
    /// Read for a replay: the trace brings the traffic and the duration.
    pub(super) replay: bool,
}

impl Resolver<'_> {
    fn err<T>(&self, offset: usize, message: impl Into<String>) -> Result<T, ScenarioError> {
        Err(ScenarioError::at(self.path, self.source, offset, message))
    }

    /// The file offset of byte `offset` of a TOML string's value whose literal
    /// spans `span`, stepping over the quotes and any escape sequences.
    fn value_offset(&self, span: std::ops::Range<usize>, offset: usize) -> usize {
        let literal = &self.source[span.clone()];
        let quote = ["\"\"\"", "'''", "\"", "'"]
            .into_iter()
            .find(|q| literal.starts_with(q))
            .unwrap_or("");
        let (mut decoded, mut chars) = (0, literal[quote.len()..].char_indices());
        while let Some((i, c)) = chars.next() {
            if decoded >= offset {
                return span.start + quote.len() + i;
            }
            decoded += match (quote.starts_with('"'), c) {
                (true, '\\') => match chars.next() {
                    Some((_, h @ ('u' | 'U'))) => {
                        let digits: String = chars
                            .by_ref()
                            .take(if h == 'u' { 4 } else { 8 })
                            .map(|(_, d)| d)
                            .collect();
                        u32::from_str_radix(&digits, 16)
                            .ok()
                            .and_then(char::from_u32)
                            .map_or(1, char::len_utf8)
                    }
                    _ => 1,
                },
                _ => c.len_utf8(),
            };
        }
        span.end
    }

    fn addr(&self, text: &Spanned<String>) -> Result<Addr, ScenarioError> {
        text.get_ref()
            .parse()
            .or_else(|e: String| self.err(text.span().start, e))
    }

    pub(super) fn resolve(&self, f: ScenarioFile, overrides: &[String]) -> Result<Scenario, ScenarioError> {
        let duration = match &f.duration {
            Some(d) if d.get_ref().0 == 0 || d.get_ref().0 > STAMP_RANGE => {
                return self.err(
                    d.span().start,
                    "duration must be longer than 0 and at most 49 days (session times are kept in 32-bit milliseconds), e.g. \"24h\"",
                );
            }
            Some(d) => d.get_ref().0,
            // The trace decides; until then, events may come at any time a run can have.
            None if self.replay => STAMP_RANGE,
            None => return self.err(0, "missing field `duration`: how long to simulate, e.g. duration = \"24h\" (`lbsim replay` takes it from the access log)"),
        };
        let warmup = match &f.warmup {
            Some(w) if f.duration.is_some() && w.get_ref().0 >= duration => {
                return self.err(
                    w.span().start,
                    format!(
                        "warmup of {} s must be shorter than the duration of {} s, e.g. warmup = \"1h\" for duration = \"24h\"",
                        crate::engine::time::as_secs(w.get_ref().0),
                        crate::engine::time::as_secs(duration)
                    ),
                );
            }
            Some(w) => w.get_ref().0,
            None => 0,
        };
        let window = match &f.window {
            Some(w) if w.get_ref().0 == 0 || (f.duration.is_some() && duration / w.get_ref().0 > MAX_WINDOWS) => {
                return self.err(
                    w.span().start,
                    format!(
                        "window must be longer than 0 and at most {MAX_WINDOWS} windows must fit the run, e.g. \"15m\""
                    ),
                );
            }
            Some(w) => w.get_ref().0,
            None => (duration / 96).max(1),
        };
        let servers = self.servers(&f)?;
        let (mut workers, mut speeds) = self.resources(&f, servers.len())?;
        let all: u64 = workers.iter().map(|&w| w as u64).sum();
        if all > MAX_WORKERS {
            let at = f
                .servers
                .worker_counts
                .as_ref()
                .map_or(f.servers.workers.span().start, |w| w.span().start);
            return self.err(
                at,
                format!(
                    "{all} workers over {} servers: at most {MAX_WORKERS} workers in all",
                    servers.len()
                ),
            );
        }
        let mut servers = servers;
        let autoscaling = match &f.autoscaling {
            None => None,
            Some(a) => {
                if !f.events.is_empty() || !f.deploys.is_empty() || !f.flapping.is_empty() {
                    return self.err(
                        a.span().start,
                        "[autoscaling] sizes the pool itself: leave out [[events]], [[deploys]] and [[flapping]]",
                    );
                }
                // An autoscaling group launches one instance type (a Deployment's
                // pod template, an Auto Scaling group's launch template).
                if f.servers.worker_counts.is_some() || f.servers.speeds.is_some() {
                    return self.err(
                        a.span().start,
                        "[autoscaling] launches servers alike: give servers.workers, not worker_counts or speeds",
                    );
                }
                let each = f.servers.workers.get_ref().0;
                let a = super::autoscaling::resolve(a, &mut servers, each, duration, &|offset, message| {
                    ScenarioError::at(self.path, self.source, offset, message)
                })?;
                workers.resize(servers.len(), each);
                speeds.resize(servers.len(), 1.0);
                Some(a)
            }
        };
        let rollouts = operations::rollouts(&f.deploys, &mut servers, duration, &|offset, message| {
            ScenarioError::at(self.path, self.source, offset, message)
        })?;
        // A replacement instance is the same size as the server it replaces.
        for (r, _) in &rollouts {
            for (&o, &n) in r.old.iter().zip(&r.new) {
                debug_assert_eq!(n as usize, workers.len());
                workers.push(workers[o as usize]);
                speeds.push(speeds[o as usize]);
            }
        }
        let speeds = speeds.iter().any(|&v| v != 1.0).then_some(speeds);
        let changes = self.changes(&f, &servers, duration, &rollouts)?;
        let servers = servers.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
        let scripted_failures: Vec<ServerId> = changes
            .iter()
            .filter_map(|c| match c.kind {
                PoolChangeKind::Fail(s) => Some(s),
                _ => None,
            })
            .collect();
        let operations = operations::resolve(
            f.health_checks.as_ref(),
            &f.flapping,
            &servers,
            &scripted_failures,
            &|offset, message| ScenarioError::at(self.path, self.source, offset, message),
        )?;
        let slow_start = f
            .slow_start
            .as_ref()
            .map(|s| {
                slow_start::resolve(s, &|offset, message| {
                    ScenarioError::at(self.path, self.source, offset, message)
                })
            })
            .transpose()?;
        let operations = operations::Operations {
            deploys: rollouts.into_iter().map(|(r, _)| r).collect(),
            autoscaling,
            slow_start,
            ..operations
        };
        let tiers = match &f.tiers {
            None => None,
            Some(t) => Some(super::tiers::resolve(
                t,
                duration,
                &|text, instances| self.l4_policy(text, instances),
                &|offset, message| ScenarioError::at(self.path, self.source, offset, message),
            )?),
        };
        let arrivals = f.arrivals.as_ref().map(|a| self.arrivals(a)).transpose()?;
        self.check_networks(&f)?;
        if let Dist::Pareto { shape, .. } = f.sessions.requests.get_ref()
            && shape.0 <= 1.0
        {
            return self.err(
                f.sessions.requests.span().start,
                format!(
                    "requests: a Pareto with shape {} has no finite mean, so visits would never end; use shape > 1",
                    shape.0
                ),
            );
        }
        if let Some(max) = &f.sessions.think_max
            && max.get_ref().0 < crate::engine::time::SECOND
        {
            return self.err(
                max.span().start,
                "think_max: expected a duration of at least 1s, the longest think time inside a visit",
            );
        }
        let connections = &f.sessions.connections;
        if !(1..=MAX_CONNECTIONS).contains(connections.get_ref()) {
            return self.err(
                connections.span().start,
                format!("connections: expected a whole number from 1 to {MAX_CONNECTIONS}, the concurrent connections a user keeps"),
            );
        }
        if let Some(life) = &f.sessions.connection_lifetime
            && life.get_ref().scale() < 1.0
        {
            return self.err(
                life.span().start,
                "connection_lifetime: a connection lives at least a second; give a scale of 1s or more",
            );
        }
        if f.sessions.return_share.0 > 0.0 && f.sessions.return_after.get_ref().scale() < 1.0 {
            return self.err(
                f.sessions.return_after.span().start,
                "return_after: a return visit comes at least a second after the visit ends; give a scale of 1s or more",
            );
        }
        let users = f.users.iter().map(|u| self.user(u)).collect::<Result<Vec<_>, _>>()?;
        if arrivals.is_none() && users.is_empty() && !self.replay {
            return Err(ScenarioError::whole(
                self.path,
                "no traffic: add an [arrivals] section (e.g. rate = \"2/s\") or [[users]]; `lbsim replay` takes its traffic from an access log instead",
            ));
        }
        let name = match &f.name {
            // The name becomes a folder under output/: one plain path component.
            Some(n)
                if n.get_ref().is_empty()
                    || [".", ".."].contains(&n.get_ref().as_str())
                    || n.get_ref().contains(['/', '\\']) =>
            {
                return self.err(
                    n.span().start,
                    format!(
                        "name {:?}: expected a plain name for the output folder, without / or \\, e.g. \"shop-study\"",
                        n.get_ref()
                    ),
                );
            }
            Some(n) => n.get_ref().clone(),
            None => self
                .path
                .file_stem()
                .map_or("scenario".into(), |s| s.to_string_lossy().into_owned()),
        };
        let mut scenario = Scenario {
            name,
            path: self.path.to_path_buf(),
            source_hash: format!("{:016x}", xxh3_64(self.source.as_bytes())),
            seed: f.seed,
            replications: f.replications.0,
            duration,
            warmup,
            window,
            window_given: f.window.is_some(),
            policies: Vec::new(),
            baseline: 0,
            arrivals,
            sessions: f.sessions,
            networks: f.networks.map(Spanned::into_inner).unwrap_or_default(),
            servers,
            serving: Serving {
                workers,
                speeds,
                service: f.servers.service,
                queue_limit: f.servers.queue_limit,
                queueing: f.servers.queueing,
            },
            changes,
            users,
            operations,
            tiers,
        };
        scenario.policies = if overrides.is_empty() {
            self.policies(&f.policies, &scenario)?
        } else {
            overrides
                .iter()
                .map(|text| {
                    scenario.check_policy(text).map_err(|e| ScenarioError::Flag {
                        flag: "--policy",
                        text: text.clone(),
                        offset: e.offset,
                        message: e.message,
                    })
                })
                .collect::<Result<_, _>>()?
        };
        Ok(scenario)
    }

    /// Initial servers (up) followed by those that `add` events bring (absent), each
    /// with the offset where it was named.
    fn servers(&self, f: &ScenarioFile) -> Result<Vec<(Server, usize)>, ScenarioError> {
        let s = &f.servers;
        let names: Vec<(String, usize)> = match (&s.names, &s.count) {
            (Some(_), Some(c)) => {
                return self.err(c.span().start, "give either servers.count or servers.names, not both");
            }
            (Some(n), None) if n.get_ref().is_empty() => {
                return self.err(n.span().start, "servers.names is empty: at least one server is needed");
            }
            (Some(n), None) => n.get_ref().iter().map(|x| (x.clone(), n.span().start)).collect(),
            (None, Some(c)) if c.get_ref().0 > MAX_SERVERS => {
                return self.err(
                    c.span().start,
                    format!("count = {}: at most {MAX_SERVERS} servers", c.get_ref().0),
                );
            }
            (None, Some(c)) => (1..=c.get_ref().0).map(|i| (format!("s{i}"), c.span().start)).collect(),
            (None, None) => {
                return Err(ScenarioError::whole(
                    self.path,
                    "[servers] needs count = N or names = [\"A\", \"B\", ...]",
                ));
            }
        };
        let weights: Vec<u32> = match &s.weights {
            Some(w) if w.get_ref().len() != names.len() => {
                return self.err(
                    w.span().start,
                    format!(
                        "{} weights for {} servers: give one weight per server",
                        w.get_ref().len(),
                        names.len()
                    ),
                );
            }
            Some(w) => w.get_ref().iter().map(|c| c.0).collect(),
            None => vec![1; names.len()],
        };
        let mut out: Vec<(Server, usize)> = names
            .into_iter()
            .zip(weights)
            .map(|((name, at), weight)| {
                (
                    Server {
                        name,
                        weight,
                        presence: Presence::Up,
                    },
                    at,
                )
            })
            .collect();
        for (i, (a, at)) in out.iter().enumerate() {
            if out[..i].iter().any(|(b, _)| b.name == a.name) {
                return self.err(*at, format!("server name {:?} appears twice", a.name));
            }
        }
        for d in &s.down {
            match out.iter_mut().find(|(srv, _)| srv.name == *d.get_ref()) {
                Some((srv, _)) => srv.presence = Presence::Down,
                None => {
                    let known: Vec<_> = out.iter().map(|(s, _)| s.name.as_str()).collect();
                    let message = format!(
                        "down: unknown server {:?}; servers are: {}",
                        d.get_ref(),
                        known.join(", ")
                    );
                    return self.err(d.span().start, message);
                }
            }
        }
        for e in f.events.iter().filter(|e| e.action == file::Action::Add) {
            let (name, at) = match &e.server {
                Some(n) => (n.get_ref().clone(), n.span().start),
                None => (format!("s{}", out.len() + 1), e.at.span().start),
            };
            if out.iter().any(|(s, _)| s.name == name) {
                return self.err(
                    at,
                    format!("cannot add server {name:?}: a server of that name already exists"),
                );
            }
            let weight = e.weight.map_or(1, |w| w.0);
            out.push((
                Server {
                    name,
                    weight,
                    presence: Presence::Absent,
                },
                at,
            ));
        }
        Ok(out)
    }

    /// Each server's workers and service speed, for the initial servers then those
    /// that `add` events bring (`count`, as [`Self::servers`] lists them).
    fn resources(&self, f: &ScenarioFile, count: usize) -> Result<(Vec<u32>, Vec<f64>), ScenarioError> {
        let s = &f.servers;
        let initial = count - f.events.iter().filter(|e| e.action == file::Action::Add).count();
        let one_each = |what: &str, given: usize, at: usize| {
            ScenarioError::at(
                self.path,
                self.source,
                at,
                format!("{given} {what} for {initial} servers: give one per server, in configuration order"),
            )
        };
        let each = s.workers.get_ref().0;
        let mut workers: Vec<u32> = match &s.worker_counts {
            // The default `workers` has an empty span: only a written one conflicts.
            Some(w) if !s.workers.span().is_empty() => {
                return self.err(
                    w.span().start,
                    "give either servers.workers or servers.worker_counts, not both",
                );
            }
            Some(w) if w.get_ref().len() != initial => {
                return Err(one_each("worker counts", w.get_ref().len(), w.span().start));
            }
            Some(w) => w.get_ref().iter().map(|c| c.0).collect(),
            None => vec![each; initial],
        };
        let mut speeds: Vec<f64> = match &s.speeds {
            Some(v) if v.get_ref().len() != initial => {
                return Err(one_each("speeds", v.get_ref().len(), v.span().start));
            }
            Some(v) => v.get_ref().iter().map(|p| p.0).collect(),
            None => vec![1.0; initial],
        };
        for e in f.events.iter().filter(|e| e.action == file::Action::Add) {
            workers.push(e.workers.map_or(each, |w| w.0));
            speeds.push(e.speed.map_or(1.0, |p| p.0));
        }
        Ok((workers, speeds))
    }

    fn changes(
        &self,
        f: &ScenarioFile,
        servers: &[(Server, usize)],
        duration: Time,
        rollouts: &[(crate::pool::deploy::Rollout, usize)],
    ) -> Result<Vec<PoolChange>, ScenarioError> {
        let initial = servers.iter().filter(|(s, _)| s.presence != Presence::Absent).count();
        let mut next_added = initial;
        // Each change with the offset of the event that made it, for messages.
        let mut changes: Vec<(PoolChange, usize)> = Vec::new();
        for e in &f.events {
            let at = e.at.get_ref().0;
            let at_offset = e.at.span().start;
            if at >= duration {
                return self.err(
                    at_offset,
                    "this event is not before the end of the run: make `at` smaller than `duration`",
                );
            }
            if e.weight.is_some() && e.action != file::Action::Add {
                return self.err(at_offset, "weight is only for action = \"add\"");
            }
            if (e.workers.is_some() || e.speed.is_some()) && e.action != file::Action::Add {
                return self.err(at_offset, "workers and speed are only for action = \"add\"");
            }
            if e.lasting.is_some() && e.action != file::Action::Fail {
                return self.err(at_offset, "for = \"...\" is only for action = \"fail\"");
            }
            let named = |what: &str| -> Result<ServerId, ScenarioError> {
                let n = e.server.as_ref().ok_or_else(|| {
                    ScenarioError::at(
                        self.path,
                        self.source,
                        at_offset,
                        format!("action = \"{what}\" needs server = \"NAME\""),
                    )
                })?;
                servers
                    .iter()
                    .position(|(s, _)| s.name == *n.get_ref())
                    .map(|i| i as ServerId)
                    .ok_or_else(|| {
                        let known: Vec<_> = servers.iter().map(|(s, _)| s.name.as_str()).collect();
                        ScenarioError::at(
                            self.path,
                            self.source,
                            n.span().start,
                            format!("unknown server {:?}; servers are: {}", n.get_ref(), known.join(", ")),
                        )
                    })
            };
            let kind = match e.action {
                file::Action::Add => {
                    next_added += 1;
                    PoolChangeKind::Add((next_added - 1) as ServerId)
                }
                file::Action::Remove => PoolChangeKind::Remove(named("remove")?),
                file::Action::Fail => PoolChangeKind::Fail(named("fail")?),
                file::Action::Recover => PoolChangeKind::Recover(named("recover")?),
            };
            changes.push((PoolChange { at, kind }, at_offset));
            if let (file::Action::Fail, Some(d)) = (e.action, e.lasting) {
                let back = PoolChange {
                    at: at.saturating_add(d.0),
                    kind: PoolChangeKind::Recover(kind.server()),
                };
                changes.push((back, at_offset));
            }
        }
        for (r, offset) in rollouts {
            changes.extend(r.changes().into_iter().map(|c| (c, *offset)));
        }
        // Stable: changes at the same time keep the file's order.
        changes.sort_by_key(|(c, _)| c.at);
        // Replay them: each must make sense in the pool as it is by then.
        let mut pool = Pool::new(servers.iter().map(|(s, _)| s.clone()).collect());
        for (c, offset) in &changes {
            let s = c.kind.server();
            let state = pool.servers()[s as usize].presence;
            if !pool.apply(&c.kind) {
                let is = match state {
                    Presence::Absent => "not added yet",
                    Presence::Up => "up",
                    Presence::Down => "down",
                    Presence::Removed => "removed",
                    Presence::Draining => "draining",
                };
                return self.err(
                    *offset,
                    format!(
                        "at {}, server {:?} is {is}: it cannot be told to {}",
                        clock(c.at),
                        pool.name(s),
                        c.kind.verb()
                    ),
                );
            }
        }
        Ok(changes.into_iter().map(|(c, _)| c).collect())
    }

    fn arrivals(&self, a: &file::Arrivals) -> Result<Arrivals, ScenarioError> {
        let shape = match (&a.diurnal, &a.hourly) {
            (Some(_), Some(h)) => return self.err(h.span().start, "give either diurnal or hourly, not both"),
            (Some(d), None) => {
                let v = d.get_ref();
                if !(1.0..=2.0).contains(&v.peak_to_mean) {
                    return self.err(d.span().start, format!("diurnal.peak_to_mean = {}: expected 1 (flat) to 2 (zero at the trough); use hourly multipliers for sharper peaks", v.peak_to_mean));
                }
                if !(0.0..=24.0).contains(&v.peak_hour) {
                    return self.err(
                        d.span().start,
                        format!("diurnal.peak_hour = {}: expected an hour from 0 to 24", v.peak_hour),
                    );
                }
                Shape::Sinusoid {
                    peak_to_mean: v.peak_to_mean,
                    peak_hour: v.peak_hour,
                }
            }
            (None, Some(h)) => {
                let m = h.get_ref();
                let mean = m.iter().sum::<f64>() / 24.0;
                if m.len() != 24 || m.iter().any(|x| !x.is_finite() || *x < 0.0) || mean <= 0.0 {
                    return self.err(
                        h.span().start,
                        format!(
                            "hourly has {} values: expected 24 non-negative values, not all zero, one per hour from midnight",
                            m.len()
                        ),
                    );
                }
                // The values give the shape; `rate` stays the daily mean.
                Shape::Hourly(m.iter().map(|x| x / mean).collect())
            }
            (None, None) => Shape::Flat,
        };
        let mut flash = Vec::new();
        for f in &a.flash {
            let v = f.get_ref();
            if v.lasting.0 == 0 || v.multiplier.0 > 1000.0 {
                return self.err(
                    f.span().start,
                    "flash crowd: expected a positive `for` and a multiplier up to 1000, e.g. { at = \"14h\", for = \"30m\", multiplier = 5 }",
                );
            }
            flash.push((v.at.0, v.at.0.saturating_add(v.lasting.0), v.multiplier.0));
        }
        Ok(Arrivals {
            rate: a.rate.per_sec(),
            shape,
            flash,
        })
    }

    fn check_networks(&self, f: &ScenarioFile) -> Result<(), ScenarioError> {
        let Some(nets) = &f.networks else { return Ok(()) };
        if nets.get_ref().len() > MAX_NETWORKS {
            return self.err(nets.span().start, format!("at most {MAX_NETWORKS} networks"));
        }
        for n in nets.get_ref() {
            if let Some(problem) = Self::network_problem(n) {
                return self.err(nets.span().start, format!("{} network: {problem}", n.kind()));
            }
        }
        let total: f64 = nets.get_ref().iter().map(Network::share).sum();
        if (total - 1.0).abs() > 1e-6 {
            return self.err(
                nets.span().start,
                format!("network shares add up to {total}: they must add up to 1"),
            );
        }
        Ok(())
    }

    /// What is wrong with a network's parameters, if anything.
    fn network_problem(n: &Network) -> Option<String> {
        use crate::engine::{MINUTE, SECOND};
        match n {
            Network::Mobile { switch_rate, .. } if switch_rate.per_sec() > 1.0 => {
                Some("switch_rate: at most one switch per second, e.g. \"0.5/h\"".into())
            }
            Network::Home { renumber_every, .. } if renumber_every.0 > 0 && renumber_every.0 < MINUTE => {
                Some("renumber_every: at least a minute (or 0 for never), e.g. \"24h\"".into())
            }
            Network::Home { privacy_rotation, .. } if privacy_rotation.0 > 0 && privacy_rotation.0 < MINUTE => {
                Some("privacy_rotation: at least a minute (or 0 for a stable address), e.g. \"1d\"".into())
            }
            Network::Enterprise { egress_addresses, .. } if !(1..=256).contains(&egress_addresses.0) => Some(format!(
                "egress_addresses = {}: expected 1 to 256 (one /24)",
                egress_addresses.0
            )),
            Network::Enterprise { users_per_site, .. } if !users_per_site.mean().is_finite() => Some(
                "users_per_site: this distribution has no finite mean, so sites cannot be sized; for a Pareto use shape > 1"
                    .into(),
            ),
            Network::Enterprise { users_per_site, .. } if users_per_site.scale() < 1.0 => {
                Some("users_per_site: a site has at least one user; give a scale of 1 or more".into())
            }
            Network::Relay { rotate_every, .. } if rotate_every.0 > 0 && rotate_every.0 < SECOND => {
                Some("rotate_every: at least a second (or 0 for every connection), e.g. \"10m\"".into())
            }
            Network::Cgnat { mapping_timeout, .. } if mapping_timeout.0 < SECOND => {
                Some("mapping_timeout: at least a second, e.g. \"30m\"".into())
            }
            _ => None,
        }
    }

    fn user(&self, u: &file::ScriptedUser) -> Result<ScriptedUser, ScenarioError> {
        let mut moves = u
            .moves
            .iter()
            .map(|m| Ok((m.at.0, self.addr(&m.address)?)))
            .collect::<Result<Vec<_>, ScenarioError>>()?;
        moves.sort_by_key(|m| m.0);
        Ok(ScriptedUser {
            name: u.name.clone(),
            address: self.addr(&u.address)?,
            count: u.count.0,
            visits: u.visits.iter().map(|v| v.0).collect(),
            spread: u.spread.0,
            requests: u.requests.0,
            think: u.think.clone(),
            moves,
        })
    }

    /// The L4 tier's policy, built over the L7 instances as its pool.
    fn l4_policy(&self, text: &Spanned<String>, instances: &[Server]) -> Result<Spec, ScenarioError> {
        let located = |e: crate::policy::SpecError| {
            ScenarioError::at(
                self.path,
                self.source,
                self.value_offset(text.span(), e.offset),
                e.message,
            )
        };
        let spec = crate::policy::spec::parse(text.get_ref(), 0).map_err(located)?;
        let pool = crate::pool::Pool::new(instances.to_vec());
        crate::policy::build(
            &spec,
            &crate::policy::BuildContext {
                pool: &pool,
                expected_users: 0,
            },
        )
        .map_err(located)?;
        Ok(spec)
    }

    fn policies(&self, list: &Spanned<Vec<Spanned<String>>>, scenario: &Scenario) -> Result<Vec<Spec>, ScenarioError> {
        if list.get_ref().is_empty() {
            return self.err(
                list.span().start,
                "policies is empty: name at least one, e.g. [\"ip_hash\", \"ring\"]",
            );
        }
        list.get_ref()
            .iter()
            .map(|text| {
                scenario.check_policy(text.get_ref()).map_err(|e| {
                    ScenarioError::at(
                        self.path,
                        self.source,
                        self.value_offset(text.span(), e.offset),
                        e.message,
                    )
                })
            })
            .collect()
    }
}
