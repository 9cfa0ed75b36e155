//! From a parsed file to a [`Scenario`]: names resolved (servers, addresses,
//! policies), cross-field rules checked, every problem reported at its place.

use std::path::Path;

use toml::Spanned;
use xxhash_rust::xxh3::xxh3_64;

use super::distribution::Dist;
use super::*;
use crate::engine::time::STAMP_RANGE;
use crate::policy::{self, BuildContext, Spec, key::Addr, spec};
use crate::pool::{PoolChange, PoolChangeKind, Presence, Server, ServerId};

/// Turns a parsed file into a [`Scenario`], reporting problems at their place.
pub(super) struct Resolver<'a> {
    pub(super) path: &'a Path,
    pub(super) source: &'a str,
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

    pub(super) fn resolve(&self, f: ScenarioFile) -> Result<Scenario, ScenarioError> {
        let duration = f.duration.get_ref().0;
        if duration == 0 || duration > STAMP_RANGE {
            return self.err(
                f.duration.span().start,
                "duration must be longer than 0 and at most 49 days (session times are kept in 32-bit milliseconds), e.g. \"24h\"",
            );
        }
        let window = match &f.window {
            Some(w) if w.get_ref().0 == 0 => {
                return self.err(w.span().start, "window must be longer than 0, e.g. \"15m\"");
            }
            Some(w) => w.get_ref().0,
            None => (duration / 96).max(1),
        };
        let servers = self.servers(&f)?;
        let changes = self.changes(&f, &servers)?;
        let servers = servers.into_iter().map(|(s, _)| s).collect::<Vec<_>>();
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
        let users = f.users.iter().map(|u| self.user(u)).collect::<Result<Vec<_>, _>>()?;
        if arrivals.is_none() && users.is_empty() {
            return Err(ScenarioError::whole(
                self.path,
                "no traffic: add an [arrivals] section (e.g. rate = \"2/s\") or [[users]]",
            ));
        }
        let name = f.name.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map_or("scenario".into(), |s| s.to_string_lossy().into_owned())
        });
        let mut scenario = Scenario {
            name,
            path: self.path.to_path_buf(),
            source_hash: format!("{:016x}", xxh3_64(self.source.as_bytes())),
            seed: f.seed,
            replications: f.replications.0,
            duration,
            window,
            policies: Vec::new(),
            arrivals,
            sessions: f.sessions,
            networks: f.networks.map(Spanned::into_inner).unwrap_or_default(),
            servers,
            serving: Serving {
                workers: f.servers.workers.0,
                service: f.servers.service,
                queue_limit: f.servers.queue_limit,
                queueing: f.servers.queueing,
            },
            changes,
            users,
        };
        scenario.policies = self.policies(&f.policies, &scenario)?;
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

    fn changes(&self, f: &ScenarioFile, servers: &[(Server, usize)]) -> Result<Vec<PoolChange>, ScenarioError> {
        let initial = servers.iter().filter(|(s, _)| s.presence == Presence::Up).count();
        let mut next_added = initial;
        let mut changes = Vec::new();
        for e in &f.events {
            let at = e.at.get_ref().0;
            let at_offset = e.at.span().start;
            if e.weight.is_some() && e.action != file::Action::Add {
                return self.err(at_offset, "weight is only for action = \"add\"");
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
            changes.push(PoolChange { at, kind });
            if let (file::Action::Fail, Some(d)) = (e.action, e.lasting) {
                changes.push(PoolChange {
                    at: at + d.0,
                    kind: PoolChangeKind::Recover(kind.server()),
                });
            }
        }
        // Stable: changes at the same time keep the file's order.
        changes.sort_by_key(|c| c.at);
        Ok(changes)
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
                if m.len() != 24 || m.iter().any(|x| !x.is_finite() || *x < 0.0) {
                    return self.err(
                        h.span().start,
                        format!(
                            "hourly has {} values: expected 24 non-negative multipliers, one per hour from midnight",
                            m.len()
                        ),
                    );
                }
                Shape::Hourly(m.clone())
            }
            (None, None) => Shape::Flat,
        };
        Ok(Arrivals {
            rate: a.rate.per_sec(),
            shape,
        })
    }

    fn check_networks(&self, f: &ScenarioFile) -> Result<(), ScenarioError> {
        let Some(nets) = &f.networks else { return Ok(()) };
        let total: f64 = nets.get_ref().iter().map(Network::share).sum();
        if (total - 1.0).abs() > 1e-6 {
            return self.err(
                nets.span().start,
                format!("network shares add up to {total}: they must add up to 1"),
            );
        }
        Ok(())
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
            think: u.think,
            moves,
        })
    }

    fn policies(&self, list: &Spanned<Vec<Spanned<String>>>, scenario: &Scenario) -> Result<Vec<Spec>, ScenarioError> {
        if list.get_ref().is_empty() {
            return self.err(
                list.span().start,
                "policies is empty: name at least one, e.g. [\"ip_hash\", \"ring\"]",
            );
        }
        let pool = scenario.initial_pool();
        let ctx = BuildContext {
            pool: &pool,
            expected_users: 0,
        };
        list.get_ref()
            .iter()
            .map(|text| {
                let place = |e: spec::SpecError| {
                    ScenarioError::at(
                        self.path,
                        self.source,
                        self.value_offset(text.span(), e.offset),
                        e.message,
                    )
                };
                let spec = spec::parse(text.get_ref(), 0).map_err(place)?;
                policy::build(&spec, &ctx).map_err(place)?;
                Ok(spec)
            })
            .collect()
    }
}
