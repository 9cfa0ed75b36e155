//! The scenario file format, as serde reads it. Unknown keys are rejected
//! everywhere, so a typo is an error with its line and column, never ignored.

use serde::Deserialize;
use toml::Spanned;

use super::distribution::Dist;
use super::units::{Count, Duration, Positive, Rate, Share, Weight};

fn default_seed() -> u64 {
    1
}

fn one() -> Count {
    Count(1)
}

/// A whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Names the run and its output folder; defaults to the file name.
    pub name: Option<Spanned<String>>,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time from midnight of day one. Required for `lbsim run`; a replay
    /// takes its duration from the trace.
    pub duration: Option<Spanned<Duration>>,
    #[serde(default = "one")]
    pub replications: Count,
    /// Width of the time-series windows.
    #[serde(default)]
    pub window: Option<Spanned<Duration>>,
    /// Policy specifications, e.g. `["ip_hash", "ring(vnodes=160)"]`.
    pub policies: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub arrivals: Option<Arrivals>,
    #[serde(default)]
    pub sessions: Sessions,
    pub networks: Option<Spanned<Vec<Network>>>,
    pub servers: Servers,
    #[serde(default)]
    pub events: Vec<PoolEvent>,
    #[serde(default)]
    pub users: Vec<ScriptedUser>,
}

/// New users arriving as a Poisson process, optionally shaped over the day.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// Mean arrival rate of new users (the daily mean when shaped).
    pub rate: Rate,
    /// A sinusoid over 24 hours.
    pub diurnal: Option<Spanned<Diurnal>>,
    /// Or the shape as 24 values, one per hour from midnight, rescaled to a mean
    /// of 1 so that `rate` stays the daily mean.
    pub hourly: Option<Spanned<Vec<f64>>>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Diurnal {
    /// Peak rate over mean rate, from 1 (flat) to 2 (zero at the trough).
    pub peak_to_mean: f64,
    /// Hour of the peak, 0 to 24.
    pub peak_hour: f64,
}

/// Visits: how many requests, how far apart, how long state lives, who returns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sessions {
    /// Requests per visit; its mean must be finite.
    pub requests: Spanned<Dist<Positive>>,
    pub think: Dist<Duration>,
    /// Idle time after which a server forgets a session's state.
    pub state_ttl: Duration,
    /// Share of visits followed by another visit of the same user.
    pub return_share: Share,
    /// Time from the end of a visit to the start of the next.
    pub return_after: Spanned<Dist<Duration>>,
}

impl Default for Sessions {
    fn default() -> Self {
        use crate::engine::time::{HOUR, MINUTE, SECOND};
        Sessions {
            // NASA-HTTP 1995, 30-minute cut: median 7, mean 9.96 requests per session.
            requests: Spanned::new(
                0..0,
                Dist::Lognormal {
                    median: Positive(7.0),
                    sigma: Positive(0.84),
                },
            ),
            think: Dist::Exponential {
                mean: Duration(30 * SECOND),
            },
            state_ttl: Duration(30 * MINUTE),
            return_share: Share(0.0),
            return_after: Spanned::new(
                0..0,
                Dist::Exponential {
                    mean: Duration(4 * HOUR),
                },
            ),
        }
    }
}

/// One kind of network users reach the service from, with its share of users.
#[derive(Debug, Deserialize, Clone)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Network {
    /// Home broadband behind a NAT router: a few users per public address.
    Home {
        share: Share,
        #[serde(default = "Network::home_users")]
        users_per_address: Positive,
        /// Share of these users reaching the service over IPv6.
        #[serde(default)]
        ipv6_share: Share,
    },
    /// Carrier-grade NAT: hundreds of subscribers behind each public address.
    Cgnat {
        share: Share,
        #[serde(default = "Network::cgnat_users")]
        users_per_address: Positive,
    },
    /// Phones switching between home WiFi and cellular (behind the carrier's CGNAT);
    /// each cellular attach gets a new public address.
    Mobile {
        share: Share,
        /// Rate of leaving WiFi for cellular.
        #[serde(default = "Network::switch_rate")]
        switch_rate: Rate,
        /// Time spent on cellular before returning to WiFi.
        #[serde(default = "Network::cellular_stay")]
        cellular_stay: Dist<Duration>,
        #[serde(default = "Network::home_users")]
        wifi_users_per_address: Positive,
        #[serde(default = "Network::cgnat_users")]
        cellular_users_per_address: Positive,
    },
}

impl Network {
    fn home_users() -> Positive {
        Positive(1.5)
    }

    fn cgnat_users() -> Positive {
        // Port-block allocation, 128-port blocks, 8 per subscriber: 63 to 504 per address.
        Positive(250.0)
    }

    fn switch_rate() -> Rate {
        Rate(0.5 / 3600.0)
    }

    fn cellular_stay() -> Dist<Duration> {
        Dist::Exponential {
            mean: Duration(10 * crate::engine::MINUTE),
        }
    }

    pub fn share(&self) -> f64 {
        match self {
            Network::Home { share, .. } | Network::Cgnat { share, .. } | Network::Mobile { share, .. } => share.0,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Network::Home { .. } => "home",
            Network::Cgnat { .. } => "cgnat",
            Network::Mobile { .. } => "mobile",
        }
    }
}

/// The servers at the start of the run and how they serve.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Servers {
    /// Number of servers, named s1, s2, ...
    pub count: Option<Spanned<Count>>,
    /// Or their names, in configuration order.
    pub names: Option<Spanned<Vec<String>>>,
    /// Weights in configuration order (default 1 each).
    pub weights: Option<Spanned<Vec<Weight>>>,
    /// Parallel workers per server.
    #[serde(default = "Servers::workers")]
    pub workers: Spanned<Count>,
    /// Work per request.
    #[serde(default = "Servers::service")]
    pub service: Dist<Duration>,
    /// Requests that may wait per server; more are dropped. None: unlimited.
    pub queue_limit: Option<u32>,
    /// Off: pure routing. Nothing waits and no latency is measured; service times
    /// still decide how long requests count as in flight for load-aware policies.
    #[serde(default = "Servers::queueing")]
    pub queueing: bool,
}

impl Servers {
    fn workers() -> Spanned<Count> {
        Spanned::new(0..0, Count(16))
    }

    fn service() -> Dist<Duration> {
        Dist::Exponential {
            mean: Duration(50 * crate::engine::MILLISECOND),
        }
    }

    fn queueing() -> bool {
        true
    }
}

/// A timed change to the pool.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolEvent {
    pub at: Spanned<Duration>,
    pub action: Action,
    /// The server acted on; for `add`, the new server's name (default: the next sN).
    pub server: Option<Spanned<String>>,
    /// For `add`: the new server's weight.
    pub weight: Option<Weight>,
    /// For `fail`: recover after this long (default: stays down).
    #[serde(rename = "for")]
    pub lasting: Option<Duration>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Remove,
    Fail,
    Recover,
}

/// Users written out one by one, to follow named people through a run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedUser {
    pub name: String,
    /// Public source address at the start.
    pub address: Spanned<String>,
    /// Identical users behind the same address (an office NAT); only a single
    /// user's requests are written to journeys.csv.
    #[serde(default = "one")]
    pub count: Count,
    /// Start time of each visit, from midnight of day one.
    pub visits: Vec<Duration>,
    /// Each copy of a group starts each visit at a uniform offset within this.
    #[serde(default)]
    pub spread: Duration,
    #[serde(default = "ScriptedUser::requests")]
    pub requests: Count,
    #[serde(default = "ScriptedUser::think")]
    pub think: Dist<Duration>,
    /// Address changes: from `at` on, the user's requests come from `address`.
    #[serde(default)]
    pub moves: Vec<Move>,
}

impl ScriptedUser {
    fn requests() -> Count {
        Count(10)
    }

    fn think() -> Dist<Duration> {
        Dist::Constant {
            value: Duration(30 * crate::engine::SECOND),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Move {
    pub at: Duration,
    pub address: Spanned<String>,
}
