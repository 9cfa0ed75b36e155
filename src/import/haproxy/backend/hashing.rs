//! The balancing algorithm as an lbsim policy: the load-aware ones by name, and
//! the hashes as `haproxy.source` with the parameters `hash-type`,
//! `hash-balance-factor`, the key and the servers' ids give it.

use super::{Backend, Server};
use crate::import::haproxy::balance::{self, Algorithm, HashType};
use crate::import::{ImportError, Origin};

impl Backend<'_, '_> {
    /// The balancing algorithm as an lbsim policy.
    pub(super) fn base(
        &mut self,
        algorithm: &Algorithm,
        all: &[Server],
        servers: &[&Server],
        policy_origin: &mut Vec<Origin>,
    ) -> Result<String, ImportError> {
        let note = |b: &mut Self, text: &str| b.notes.push(text.to_string());
        match algorithm {
            Algorithm::RoundRobin => note(
                self,
                "balance roundrobin: lbsim's `round_robin` (smooth weighted round robin) gives each server its \
                 weight's share in another order than HAProxy's; neither keeps any affinity.",
            ),
            Algorithm::StaticRr => note(
                self,
                "balance static-rr: lbsim's `round_robin` gives each server its weight's share, in another order.",
            ),
            Algorithm::LeastConn => note(
                self,
                "balance leastconn: lbsim's `least_conn` breaks ties at random where HAProxy takes turns.",
            ),
            Algorithm::Random { draws: 1 } => note(
                self,
                "balance random(1): lbsim's `random` draws in proportion to weight, as HAProxy does.",
            ),
            Algorithm::Random { .. } => note(
                self,
                "balance random: HAProxy draws servers in proportion to weight and keeps the least loaded; lbsim's \
                 `p2c` draws them evenly.",
            ),
            _ => {}
        }
        let source = |params: Vec<String>| {
            if params.is_empty() {
                "haproxy.source".to_string()
            } else {
                format!("haproxy.source({})", params.join(", "))
            }
        };
        Ok(match algorithm {
            Algorithm::RoundRobin | Algorithm::StaticRr => "round_robin".into(),
            Algorithm::LeastConn => "least_conn".into(),
            Algorithm::Random { draws: 1 } => "random".into(),
            Algorithm::Random { draws } => format!("p2c(choices={draws})"),
            hashed => source(self.hash_params(hashed, all, servers, policy_origin)?),
        })
    }

    /// `haproxy.source` parameters from `hash-type`, `hash-balance-factor`, the key and the ids.
    fn hash_params(
        &mut self,
        algorithm: &Algorithm,
        all: &[Server],
        servers: &[&Server],
        policy_origin: &mut Vec<Origin>,
    ) -> Result<Vec<String>, ImportError> {
        let hash = match self.hash_type {
            Some(line) => {
                policy_origin.push(self.origin(line));
                balance::hash_type(&self.file, line)?
            }
            None => HashType::default(),
        };
        let mut params = Vec::new();
        if hash.consistent {
            params.push("hash_type=consistent".to_string());
            if hash.function.is_some() && !hash.avalanche {
                params.push("avalanche=off".into());
            }
        } else if hash.avalanche {
            params.push("avalanche=on".into());
        }
        match algorithm {
            Algorithm::Source => {
                if let Some(key) = self.source_key()? {
                    params.push(format!("key={key}"));
                }
            }
            Algorithm::Session { what } => {
                params.push("key=session".into());
                self.notes.push(format!(
                    "lbsim takes {what} to carry a session id that each user keeps whatever their address \
                     (key=session); a user who sends none, or a new one, is placed afresh."
                ));
            }
            _ => params.push("key=source_port".into()),
        }
        if *algorithm != Algorithm::Source
            && let (Some(f), Some(line)) = (hash.function.as_deref().filter(|f| *f != "sdbm"), self.hash_type)
        {
            let problem = format!("hash function {f}: lbsim's haproxy.source hashes text keys with sdbm only");
            self.refusals
                .refuse(&self.file, line.at(), &problem, "hashed with sdbm instead")?;
        }
        if let Some(line) = self.factor {
            let v = line.args().first();
            let factor = v
                .and_then(|w| w.text.parse::<u32>().ok())
                .filter(|&f| f == 0 || f > 100);
            let Some(factor) = factor else {
                return Err(self.file.error(
                    v.map_or(line.at(), |w| w.at),
                    "'hash-balance-factor' expects 0 (off) or a percentage above 100",
                ));
            };
            if !hash.consistent && factor > 0 {
                self.notes.push(format!(
                    "{}: HAProxy applies it to consistent hashing only, so it changes nothing here.",
                    self.file.said(line.at(), line.end)
                ));
            } else if factor > 0 {
                policy_origin.push(self.origin(line));
                params.push(format!("hash_balance_factor={factor}"));
            }
        }
        if hash.consistent {
            self.ids(all, servers, &mut params)?;
        }
        Ok(params)
    }

    /// Checks that the consistent tree's server ids are lbsim's positions, and
    /// keeps them fixed across pool changes when the configuration fixes them.
    fn ids(&mut self, all: &[Server], active: &[&Server], params: &mut Vec<String>) -> Result<(), ImportError> {
        if let Some((key, at)) = active.iter().find_map(|s| s.params.hash_key.clone()) {
            let problem = format!("hash-key {key}: lbsim's haproxy.source places a server's nodes by its id only");
            self.refusals.refuse(&self.file, at, &problem, "placed by id instead")?;
        }
        let ids = assigned_ids(all.iter().map(|s| s.params.id.map(|(id, _)| id)));
        let active_ids = all
            .iter()
            .zip(&ids)
            .filter(|(s, _)| !s.params.backup)
            .map(|(_, &id)| id);
        for (position, (id, s)) in active_ids.zip(active).enumerate() {
            if id != position as u32 + 1 {
                let at = s.params.id.map_or(s.line.at(), |(_, at)| at);
                let problem = format!(
                    "server {} has id {id} at position {} of the active servers: the consistent tree places its \
                     nodes by id, and lbsim's haproxy.source numbers servers 1, 2, 3, ... in order",
                    s.line.args()[0].text,
                    position + 1
                );
                self.refusals
                    .refuse(&self.file, at, &problem, "numbered by position instead")?;
                return Ok(());
            }
        }
        if all.iter().any(|s| s.params.id.is_some()) {
            params.push("ids=fixed".into());
        }
        Ok(())
    }
}

/// Server ids as HAProxy assigns them in declaration order: a server without
/// `id` takes the smallest id not yet used from a counter that moves on past it.
fn assigned_ids(explicit: impl Iterator<Item = Option<u32>>) -> Vec<u32> {
    let explicit: Vec<Option<u32>> = explicit.collect();
    let used: Vec<u32> = explicit.iter().flatten().copied().collect();
    let mut taken = used.clone();
    let mut next = 1;
    explicit
        .iter()
        .map(|id| match id {
            Some(id) => *id,
            None => {
                while taken.contains(&next) {
                    next += 1;
                }
                taken.push(next);
                next += 1;
                next - 1
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_assigned_as_haproxy_does() {
        assert_eq!(assigned_ids([None, None, None].into_iter()), [1, 2, 3]);
        assert_eq!(assigned_ids([Some(2), None, None].into_iter()), [2, 1, 3]);
        assert_eq!(assigned_ids([None, Some(10), None].into_iter()), [1, 10, 2]);
    }
}
