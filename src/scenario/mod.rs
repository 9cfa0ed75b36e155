//! Scenario files: what traffic, which servers, which policies, for how long.
//!
//! A scenario is TOML with human units. [`Scenario::load`] reads it, rejects unknown
//! keys and impossible values with the line and column where they stand, and
//! resolves names (servers, addresses, policies) into the model the run uses.

pub mod autoscaling;
pub mod distribution;
pub mod error;
pub mod file;
pub mod operations;
mod resolve;
pub mod schema;
pub mod size;
pub mod slow_start;
pub mod sweep;
pub mod tiers;
pub mod units;
pub mod words;

use std::path::{Path, PathBuf};

use crate::engine::time::{self, DAY, MINUTE, Time};
use crate::policy::{self, BuildContext, Spec, SpecError, key::Addr};
use crate::pool::{Pool, PoolChange, Server};

pub use error::ScenarioError;
pub use file::{Egress, Network, Pooling, ScenarioFile, Sessions};

/// How servers serve requests.
#[derive(Debug, Clone)]
pub struct Serving {
    /// Parallel workers of each server, added and replacement servers included.
    pub workers: Vec<u32>,
    /// Each server's service speed (its service times are divided by it); None
    /// when every server's is 1, so the common case does no division.
    pub speeds: Option<Vec<f64>>,
    pub service: distribution::Dist<units::Duration>,
    pub queue_limit: Option<u32>,
    pub queueing: bool,
}

/// A user written out in the scenario, resolved.
#[derive(Debug, Clone)]
pub struct ScriptedUser {
    pub name: String,
    pub address: Addr,
    pub count: u32,
    pub visits: Vec<Time>,
    pub spread: Time,
    pub requests: u32,
    pub think: distribution::Dist<units::Duration>,
    /// (from, address), sorted by time.
    pub moves: Vec<(Time, Addr)>,
}

/// The arrival process of synthetic users: a base rate and 24 hourly multipliers
/// (or a sinusoid), from midnight.
#[derive(Debug, Clone)]
pub enum Shape {
    Flat,
    Sinusoid { peak_to_mean: f64, peak_hour: f64 },
    Hourly(Vec<f64>),
}

#[derive(Debug, Clone)]
pub struct Arrivals {
    /// New users per second (mean over a day when shaped).
    pub rate: f64,
    pub shape: Shape,
    /// Flash crowds: (from, until, multiplier).
    pub flash: Vec<(Time, Time, f64)>,
}

/// A validated scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub path: PathBuf,
    /// XXH3-64 of the file's bytes, in hex: identifies exactly what was run.
    pub source_hash: String,
    pub seed: u64,
    pub replications: u32,
    pub duration: Time,
    /// Requests before this are routed, so state builds up, but left out of
    /// every metric; always shorter than the duration.
    pub warmup: Time,
    pub window: Time,
    /// Whether the file gave `window`; otherwise it is a 96th of the duration, and
    /// follows the duration when a replay replaces it.
    pub window_given: bool,
    pub policies: Vec<Spec>,
    /// The policy every other is compared against in comparisons.csv (an index
    /// into `policies`; the first unless `--baseline` says otherwise).
    pub baseline: usize,
    pub arrivals: Option<Arrivals>,
    pub sessions: Sessions,
    pub networks: Vec<Network>,
    /// Every server ever in the pool: the initial ones up, later additions absent.
    pub servers: Vec<Server>,
    pub serving: Serving,
    /// Pool changes in time order.
    pub changes: Vec<PoolChange>,
    pub users: Vec<ScriptedUser>,
    /// Health checks and failure processes, when the scenario has them.
    pub operations: operations::Operations,
    /// With `[tiers]`: the L4 tier and its L7 instances.
    pub tiers: Option<tiers::Tiers>,
}

/// The largest scenario file read: far more than any scenario needs, so that a
/// device or a log given by mistake fails at once instead of filling memory.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The text of a scenario file, refused past [`MAX_FILE_BYTES`].
pub fn read_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(
            "larger than 1 MiB, so not a scenario file (scenarios are a few kilobytes of TOML)",
        ));
    }
    Ok(text)
}

impl Scenario {
    /// Whether some policy picks per connection, which puts `split_connections`
    /// among the loss causes written.
    pub fn per_connection(&self) -> bool {
        self.policies
            .iter()
            .any(|p| p.name == crate::policy::spec::PER_CONNECTION)
    }

    pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::load_with_policies(path, &[])
    }

    /// Reads a scenario file, running `policies` (command-line specifications)
    /// instead of the file's own when any are given.
    pub fn load_with_policies(path: &Path, policies: &[String]) -> Result<Scenario, ScenarioError> {
        Scenario::read(path, policies, false)
    }

    /// Reads a scenario file to replay an access log through its servers and
    /// policies: it may leave out `duration` and its traffic (`[arrivals]`, `[[users]]`),
    /// which the log replaces (see [`Scenario::for_replay`]).
    pub fn load_for_replay(path: &Path, policies: &[String]) -> Result<Scenario, ScenarioError> {
        Scenario::read(path, policies, true)
    }

    fn read(path: &Path, policies: &[String], replay: bool) -> Result<Scenario, ScenarioError> {
        let source = read_file(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::parse_as(&source, path, policies, replay)
    }

    /// Reads a scenario from text; `path` is used in messages and for the default name.
    pub fn parse(source: &str, path: &Path) -> Result<Scenario, ScenarioError> {
        Scenario::parse_as(source, path, &[], false)
    }

    fn parse_as(source: &str, path: &Path, policies: &[String], replay: bool) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile = toml::from_str(source).map_err(|e| {
            let message = e.message().trim_end().to_string();
            match e.span() {
                Some(span) => ScenarioError::at(path, source, span.start, message),
                None => ScenarioError::whole(path, message),
            }
        })?;
        resolve::Resolver { path, source, replay }.resolve(file, policies)
    }

    /// Parses a policy specification and builds it against the initial pool, so
    /// every name and parameter is checked before a run starts.
    /// Makes the policy written `text` (as in `policies` or `--policy`) the
    /// baseline of comparisons.
    pub fn set_baseline(&mut self, text: &str) -> Result<(), String> {
        let squeeze = |t: &str| t.split_whitespace().collect::<String>();
        match self.policies.iter().position(|p| squeeze(&p.text) == squeeze(text)) {
            Some(i) => {
                self.baseline = i;
                Ok(())
            }
            None => {
                let names: Vec<&str> = self.policies.iter().map(|p| p.text.as_str()).collect();
                Err(format!(
                    "--baseline {text:?} is not one of this run's policies: {}",
                    names.join(", ")
                ))
            }
        }
    }

    pub fn check_policy(&self, text: &str) -> Result<Spec, SpecError> {
        let spec = policy::spec::parse(text, 0)?;
        let pool = self.initial_pool();
        policy::build(
            &spec,
            &BuildContext {
                pool: &pool,
                expected_users: 0,
            },
        )?;
        if let Some(ss) = &self.operations.slow_start {
            slow_start::check(ss, &spec)?;
        }
        Ok(spec)
    }

    /// Turns the scenario into the setting of a replayed trace that lasts `duration`:
    /// the trace's clients replace the synthetic and scripted users, and its length
    /// replaces the scenario's (a window the file did not give follows it). Servers,
    /// pool events (those before the trace ends), serving and state_ttl stay, and
    /// so do the networks, whose mobile switching a replay may lay over its clients.
    pub fn for_replay(&mut self, duration: Time) -> Result<(), String> {
        let days = duration as f64 / DAY as f64;
        if duration == 0 || duration > time::STAMP_RANGE {
            return Err(format!(
                "the log spans {days:.1} days: a replay lasts at most 49 days (session times are kept in 32-bit milliseconds)"
            ));
        }
        if !self.window_given {
            self.window = (duration / 96).max(1);
        } else if duration / self.window > resolve::MAX_WINDOWS {
            return Err(format!(
                "the log spans {days:.1} days: the scenario's window of {} s would cut it into more than {} windows; give a longer window",
                time::as_secs(self.window),
                resolve::MAX_WINDOWS
            ));
        }
        if self.warmup >= duration {
            return Err(format!(
                "the log spans {} s: the scenario's warmup of {} s must be shorter",
                time::as_secs(duration),
                time::as_secs(self.warmup)
            ));
        }
        self.duration = duration;
        self.arrivals = None;
        self.users.clear();
        Ok(())
    }

    /// The pool changes replication `replication` applies: `changes` as written,
    /// or with failure processes drawn and health checks between the servers and
    /// the balancer.
    pub fn changes_for(&self, replication: u32) -> std::borrow::Cow<'_, [PoolChange]> {
        if self.operations.changes_are_fixed() {
            return std::borrow::Cow::Borrowed(&self.changes);
        }
        std::borrow::Cow::Owned(self.operations.changes(
            &self.changes,
            self.servers.len(),
            (self.seed, replication, self.duration),
        ))
    }

    /// The pool at the start of the run.
    pub fn initial_pool(&self) -> Pool {
        Pool::new(self.servers.clone())
    }

    /// Users expected over the run (synthetic plus scripted), for sizing memory.
    pub fn expected_users(&self) -> f64 {
        let scripted: f64 = self.users.iter().map(|u| u.count as f64).sum();
        scripted
            + self
                .arrivals
                .as_ref()
                .map_or(0.0, |a| a.rate * self.mean_multiplier() * self.duration as f64 / 1e9)
    }

    /// Room for the users of a run, to size per-user arrays once: the expectation
    /// plus eight standard deviations of the Poisson count. An array that had to
    /// grow past it would double, and hold old and new copies at once.
    pub fn user_capacity(&self) -> usize {
        let expected = self.expected_users();
        (expected + 8.0 * expected.sqrt()).ceil() as usize + 64
    }

    /// Mean of the arrival-rate multiplier over the run (1 for a flat rate or whole days).
    pub fn mean_multiplier(&self) -> f64 {
        let Some(a) = &self.arrivals else { return 0.0 };
        let steps = (self.duration / MINUTE).max(1);
        (0..steps).map(|m| a.multiplier(m * MINUTE + MINUTE / 2)).sum::<f64>() / steps as f64
    }
}

impl Arrivals {
    /// The rate multiplier at simulated time `t` (time of day from midnight).
    pub fn multiplier(&self, t: Time) -> f64 {
        let crowd: f64 = self
            .flash
            .iter()
            .filter(|f| (f.0..f.1).contains(&t))
            .map(|f| f.2)
            .product();
        crowd * self.shape_at(t)
    }

    fn shape_at(&self, t: Time) -> f64 {
        let hour = (t % DAY) as f64 / 3.6e12;
        match &self.shape {
            Shape::Flat => 1.0,
            Shape::Sinusoid {
                peak_to_mean,
                peak_hour,
            } => 1.0 + (peak_to_mean - 1.0) * (std::f64::consts::TAU * (hour - peak_hour) / 24.0).cos(),
            Shape::Hourly(m) => m[(hour as usize).min(23)],
        }
    }

    /// A bound on the multiplier, for thinning: the shape's peak times every
    /// flash crowd, as if they all overlapped.
    pub fn peak_multiplier(&self) -> f64 {
        self.flash.iter().map(|f| f.2.max(1.0)).product::<f64>() * self.shape_peak()
    }

    fn shape_peak(&self) -> f64 {
        match &self.shape {
            Shape::Flat => 1.0,
            Shape::Sinusoid { peak_to_mean, .. } => *peak_to_mean,
            Shape::Hourly(m) => m.iter().cloned().fold(0.0, f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::HOUR;

    #[test]
    fn hourly_values_give_the_shape_and_rate_stays_the_daily_mean() {
        let hourly: Vec<String> = (0..24)
            .map(|h| if h % 2 == 0 { "1" } else { "3" }.to_string())
            .collect();
        let text = format!(
            "duration = \"24h\"\npolicies = [\"ip_hash\"]\n[arrivals]\nrate = \"1/s\"\nhourly = [{}]\n[servers]\ncount = 1\n",
            hourly.join(", ")
        );
        let sc = Scenario::parse(&text, Path::new("hourly.toml")).expect("valid scenario");
        assert!((sc.expected_users() - 86_400.0).abs() < 1.0, "{}", sc.expected_users());
        let a = sc.arrivals.as_ref().expect("arrivals");
        assert_eq!((a.multiplier(0), a.multiplier(HOUR)), (0.5, 1.5));
    }
}
