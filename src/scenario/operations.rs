//! Pool operations that happen by themselves: health checks between a server's
//! real state and the balancer's view, and servers that fail and are repaired at
//! random (`[health_checks]`, `[[flapping]]`).

use schemars::JsonSchema;
use serde::Deserialize;
use toml::Spanned;

use super::ScenarioError;
use super::distribution::Dist;
use super::units::{Count, Duration, Share, written};
use crate::engine::time::{SECOND, Time};
use crate::pool::deploy::Rollout;
use crate::pool::health::HealthChecks;
use crate::pool::outages::Flapping;
use crate::pool::{PoolChange, Presence, Server, ServerId};

/// `[health_checks]` as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthChecksFile {
    /// HAProxy `inter` (default 2 s).
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub interval: Option<Spanned<Duration>>,
    /// HAProxy `fall` (default 3).
    #[serde(default = "HealthChecksFile::fall")]
    pub fall: Count,
    /// HAProxy `rise` (default 2).
    #[serde(default = "HealthChecksFile::rise")]
    pub rise: Count,
    /// Attempts on other hosts after a failed one (default 0).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub retries: Option<Spanned<u32>>,
    /// Envoy's `healthy_panic_threshold` as a share (default 0: no panic mode).
    #[serde(default)]
    pub panic_threshold: Option<Share>,
}

impl HealthChecksFile {
    fn fall() -> Count {
        Count(3)
    }

    fn rise() -> Count {
        Count(2)
    }
}

/// One `[[flapping]]` entry as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlappingFile {
    /// The servers that fail and recover (default: every server at the start).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub servers: Option<Spanned<Vec<Spanned<String>>>>,
    /// Time between failures.
    #[schemars(with = "Dist<Duration>")]
    pub mtbf: Spanned<Dist<Duration>>,
    /// Time to repair.
    #[schemars(with = "Dist<Duration>")]
    pub mttr: Spanned<Dist<Duration>>,
}

/// One `[[deploys]]` entry as written.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployFile {
    #[schemars(with = "Duration")]
    pub at: Spanned<Duration>,
    /// The servers replaced, in order (default: every server of the initial pool).
    #[serde(default)]
    #[schemars(with = "Option<Vec<String>>")]
    pub servers: Option<Spanned<Vec<Spanned<String>>>>,
    /// Servers taken out at once (default 1).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max_unavailable: Option<Spanned<u32>>,
    /// Servers added above the pool's size (default 0).
    #[serde(default)]
    pub max_surge: u32,
    /// From a new instance's start to its first request (default 0).
    #[serde(default)]
    pub boot: Option<Duration>,
    /// Connection draining / deregistration delay (default 300 s, AWS's).
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub drain: Option<Spanned<Duration>>,
}

/// The operations a scenario turns on.
#[derive(Clone, Debug, Default)]
pub struct Operations {
    pub health_checks: Option<HealthChecks>,
    pub flapping: Vec<Flapping>,
    /// Rolling deploys; their pool changes are already in the scenario's `changes`.
    pub deploys: Vec<Rollout>,
    /// The pool sized by a controller; its changes are decided as the run goes.
    pub autoscaling: Option<crate::pool::autoscale::Autoscaling>,
    /// Weights ramped after a server comes back.
    pub slow_start: Option<crate::pool::slow_start::SlowStart>,
}

impl Operations {
    /// Whether the scenario has none of these operations.
    pub fn is_empty(&self) -> bool {
        self.health_checks.is_none()
            && self.flapping.is_empty()
            && self.deploys.is_empty()
            && self.autoscaling.is_none()
    }

    /// Whether every replication applies the scenario's `changes` as they stand.
    pub fn changes_are_fixed(&self) -> bool {
        self.health_checks.is_none() && self.flapping.is_empty()
    }

    /// The pool changes of one replication.
    pub fn changes(&self, changes: &[PoolChange], servers: usize, run: (u64, u32, Time)) -> Vec<PoolChange> {
        crate::pool::outages::expand(changes, &self.flapping, self.health_checks.as_ref(), servers, run)
    }

    /// Lines for `lbsim validate`.
    pub fn describe(&self, servers: &[Server]) -> String {
        let mut out = String::new();
        if let Some(a) = &self.autoscaling {
            out += &super::autoscaling::describe(a);
        }
        if let Some(h) = &self.health_checks {
            let panic = if h.panic_threshold > 0.0 {
                format!(
                    ", panic below {}% healthy",
                    crate::output::num(h.panic_threshold * 100.0)
                )
            } else {
                String::new()
            };
            out += &format!(
                "  health checks every {}: down after {} failed, up after {} passed; retries on another host: {}{panic}\n",
                written(h.interval),
                h.fall,
                h.rise,
                h.retries,
            );
        }
        for d in &self.deploys {
            out += &format!(
                "  deploy        at {}: {} servers replaced, {} unavailable and {} surge at a time, {} s boot, {} s drain\n",
                crate::engine::time::clock(d.at),
                d.old.len(),
                d.max_unavailable,
                d.max_surge,
                crate::output::num(d.boot as f64 / 1e9),
                crate::output::num(d.drain as f64 / 1e9),
            );
        }
        for f in &self.flapping {
            let names: Vec<&str> = f.servers.iter().map(|&s| servers[s as usize].name.as_str()).collect();
            let secs = |x: f64| written(((x * 1e3).round() * 1e6) as Time);
            out += &format!(
                "  flapping      {}: up {}, then down {} on average\n",
                names.join(", "),
                secs(f.mtbf_mean),
                secs(f.mttr_mean),
            );
        }
        out
    }
}

/// Reads the sections against the servers; `err` places a message at a file offset.
pub(super) fn resolve(
    checks: Option<&Spanned<HealthChecksFile>>,
    flapping: &[FlappingFile],
    servers: &[Server],
    scripted_failures: &[ServerId],
    err: &dyn Fn(usize, String) -> ScenarioError,
) -> Result<Operations, ScenarioError> {
    let health_checks = match checks {
        None => None,
        Some(h) => {
            let interval = match &h.get_ref().interval {
                Some(i) if i.get_ref().0 == 0 => {
                    return Err(err(
                        i.span().start,
                        "interval must be longer than 0, e.g. \"2s\" (HAProxy's default)".into(),
                    ));
                }
                Some(i) => i.get_ref().0,
                None => 2 * SECOND,
            };
            let h = h.get_ref();
            let retries = h.retries.as_ref().map_or(0, |r| *r.get_ref());
            if retries > crate::experiment::lane::MAX_RETRIES {
                let at = h.retries.as_ref().map_or(0, |r| r.span().start);
                return Err(err(
                    at,
                    format!(
                        "retries = {retries}: at most {} retries on other hosts",
                        crate::experiment::lane::MAX_RETRIES
                    ),
                ));
            }
            Some(HealthChecks {
                interval,
                fall: h.fall.0,
                rise: h.rise.0,
                retries,
                panic_threshold: h.panic_threshold.map_or(0.0, |s| s.0),
            })
        }
    };
    let mut taken: Vec<bool> = vec![false; servers.len()];
    let mut out = Vec::new();
    for f in flapping {
        let list: Vec<ServerId> = match &f.servers {
            None => (0..servers.len() as ServerId)
                .filter(|&s| servers[s as usize].presence == crate::pool::Presence::Up)
                .collect(),
            Some(names) => {
                if names.get_ref().is_empty() {
                    return Err(err(
                        names.span().start,
                        "servers is empty: name at least one server, or leave the key out for all".into(),
                    ));
                }
                let mut ids = Vec::new();
                for n in names.get_ref() {
                    let Some(i) = servers.iter().position(|s| s.name == *n.get_ref()) else {
                        let known: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
                        return Err(err(
                            n.span().start,
                            format!("unknown server {:?}; servers are: {}", n.get_ref(), known.join(", ")),
                        ));
                    };
                    if servers[i].presence != crate::pool::Presence::Up {
                        return Err(err(
                            n.span().start,
                            format!(
                                "server {:?} is not up at the start: only servers of the initial pool can flap",
                                n.get_ref()
                            ),
                        ));
                    }
                    ids.push(i as ServerId);
                }
                ids
            }
        };
        let at = f.servers.as_ref().map_or(f.mtbf.span().start, |n| n.span().start);
        for &s in &list {
            if std::mem::replace(&mut taken[s as usize], true) {
                return Err(err(
                    at,
                    format!(
                        "server {:?} is in two [[flapping]] entries: give it one",
                        servers[s as usize].name
                    ),
                ));
            }
            if scripted_failures.contains(&s) {
                return Err(err(
                    at,
                    format!(
                        "server {:?} flaps and also has a `fail` event: give it one or the other",
                        servers[s as usize].name
                    ),
                ));
            }
        }
        for d in [&f.mtbf, &f.mttr] {
            if d.get_ref().scale() <= 0.0 {
                return Err(err(d.span().start, "expected a distribution of durations longer than 0, e.g. { dist = \"exponential\", mean = \"6h\" }".into()));
            }
        }
        out.push(Flapping {
            servers: list,
            mtbf: f.mtbf.get_ref().sampler(),
            mttr: f.mttr.get_ref().sampler(),
            mtbf_mean: f.mtbf.get_ref().mean(),
            mttr_mean: f.mttr.get_ref().mean(),
        });
    }
    Ok(Operations {
        health_checks,
        flapping: out,
        deploys: Vec::new(),
        autoscaling: None,
        slow_start: None,
    })
}

/// Reads the `[[deploys]]` entries: each replaced server gets a successor named
/// `NAME.vK` (K counting deploys from 2), declared absent until it joins; returns
/// each rollout with the offset of its `at`, for messages.
pub(super) fn rollouts(
    deploys: &[DeployFile],
    servers: &mut Vec<(Server, usize)>,
    duration: Time,
    err: &dyn Fn(usize, String) -> ScenarioError,
) -> Result<Vec<(Rollout, usize)>, ScenarioError> {
    let mut out = Vec::new();
    // The servers a deploy replaces by default: the initial pool, as earlier
    // deploys left it.
    let mut current: Vec<ServerId> = (0..servers.len() as ServerId)
        .filter(|&s| servers[s as usize].0.presence == Presence::Up)
        .collect();
    for (k, d) in deploys.iter().enumerate() {
        let at = d.at.get_ref().0;
        let offset = d.at.span().start;
        let drain = d.drain.as_ref().map_or(300 * SECOND, |x| x.get_ref().0);
        if at >= duration {
            return Err(err(
                offset,
                "this deploy is not before the end of the run: make `at` smaller than `duration`".into(),
            ));
        }
        if let Some(x) = &d.drain
            && x.get_ref().0 >= duration
        {
            return Err(err(
                x.span().start,
                format!(
                    "a drain of {} s is not shorter than the run ({} s): give a shorter drain, e.g. \"300s\" (AWS's default)",
                    crate::output::num(x.get_ref().0 as f64 / 1e9),
                    crate::output::num(duration as f64 / 1e9)
                ),
            ));
        }
        let max_unavailable = d.max_unavailable.as_ref().map_or(1, |m| *m.get_ref());
        if max_unavailable + d.max_surge == 0 {
            let at = d.max_unavailable.as_ref().map_or(offset, |m| m.span().start);
            return Err(err(
                at,
                "max_unavailable and max_surge cannot both be 0: nothing could be replaced (Kubernetes refuses it too)"
                    .into(),
            ));
        }
        let old: Vec<ServerId> = match &d.servers {
            None => current.clone(),
            Some(names) if names.get_ref().is_empty() => {
                return Err(err(
                    names.span().start,
                    "servers is empty: name at least one server, or leave the key out for all".into(),
                ));
            }
            Some(names) => {
                let mut ids = Vec::new();
                for n in names.get_ref() {
                    let Some(i) = servers.iter().position(|(s, _)| s.name == *n.get_ref()) else {
                        let known: Vec<&str> = servers.iter().map(|(s, _)| s.name.as_str()).collect();
                        return Err(err(
                            n.span().start,
                            format!("unknown server {:?}; servers are: {}", n.get_ref(), known.join(", ")),
                        ));
                    };
                    if ids.contains(&(i as ServerId)) {
                        return Err(err(n.span().start, format!("server {:?} is listed twice", n.get_ref())));
                    }
                    ids.push(i as ServerId);
                }
                ids
            }
        };
        let mut new = Vec::with_capacity(old.len());
        for &o in &old {
            let (old_server, _) = &servers[o as usize];
            let name = format!("{}.v{}", old_server.name, k + 2);
            if servers.iter().any(|(s, _)| s.name == name) {
                return Err(err(
                    offset,
                    format!(
                        "the replacement of {:?} would be named {name:?}, which is taken",
                        old_server.name
                    ),
                ));
            }
            let weight = old_server.weight;
            new.push(servers.len() as ServerId);
            servers.push((
                Server {
                    name,
                    weight,
                    presence: Presence::Absent,
                },
                offset,
            ));
        }
        for c in current.iter_mut() {
            if let Some(i) = old.iter().position(|o| o == c) {
                *c = new[i];
            }
        }
        out.push((
            Rollout {
                at,
                old,
                new,
                max_unavailable,
                max_surge: d.max_surge,
                boot: d.boot.map_or(0, |b| b.0),
                drain,
            },
            offset,
        ));
    }
    Ok(out)
}
