//! The scenario file format, as serde reads it. Unknown keys are rejected
//! everywhere, so a typo is an error with its line and column, never ignored.

use schemars::JsonSchema;
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
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Names the run and its output folder; defaults to the file name.
    #[schemars(with = "Option<String>")]
    pub name: Option<Spanned<String>>,
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time from midnight of day one. Required for `lbsim run`; a replay
    /// takes its duration from the trace.
    #[schemars(with = "Option<Duration>")]
    pub duration: Option<Spanned<Duration>>,
    #[serde(default = "one")]
    pub replications: Count,
    /// Requests before this time are routed but not measured (default 0).
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub warmup: Option<Spanned<Duration>>,
    /// Width of the time-series windows.
    #[serde(default)]
    #[schemars(with = "Option<Duration>")]
    pub window: Option<Spanned<Duration>>,
    /// Policy specifications, e.g. `["ip_hash", "ring(vnodes=160)"]`.
    #[schemars(with = "Vec<String>")]
    pub policies: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub arrivals: Option<Arrivals>,
    #[serde(default)]
    pub sessions: Sessions,
    #[schemars(with = "Option<Vec<Network>>")]
    pub networks: Option<Spanned<Vec<Network>>>,
    pub servers: Servers,
    #[serde(default)]
    pub events: Vec<PoolEvent>,
    #[serde(default)]
    pub users: Vec<ScriptedUser>,
    #[serde(default)]
    #[schemars(with = "Option<super::operations::HealthChecksFile>")]
    pub health_checks: Option<Spanned<super::operations::HealthChecksFile>>,
    #[serde(default)]
    pub flapping: Vec<super::operations::FlappingFile>,
    #[serde(default)]
    pub deploys: Vec<super::operations::DeployFile>,
    #[serde(default)]
    #[schemars(with = "Option<super::autoscaling::AutoscalingFile>")]
    pub autoscaling: Option<Spanned<super::autoscaling::AutoscalingFile>>,
    #[serde(default)]
    pub slow_start: Option<super::slow_start::SlowStartFile>,
    /// An L4 tier in front of several L7 instances of the policy under test.
    #[serde(default)]
    #[schemars(with = "Option<super::tiers::TiersFile>")]
    pub tiers: Option<Spanned<super::tiers::TiersFile>>,
}

/// New users arriving as a Poisson process, optionally shaped over the day.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// Mean arrival rate of new users (the daily mean when shaped).
    pub rate: Rate,
    /// A sinusoid over 24 hours.
    #[schemars(with = "Option<Diurnal>")]
    pub diurnal: Option<Spanned<Diurnal>>,
    /// Or the shape as 24 values, one per hour from midnight, rescaled to a mean
    /// of 1 so that `rate` stays the daily mean.
    #[schemars(with = "Option<Vec<f64>>")]
    pub hourly: Option<Spanned<Vec<f64>>>,
    /// Flash crowds: the rate multiplied over an interval, on top of the shape.
    #[serde(default)]
    #[schemars(with = "Vec<Flash>")]
    pub flash: Vec<Spanned<Flash>>,
}

/// A flash crowd: `multiplier` times the usual arrival rate from `at` for `for`.
#[derive(Debug, Deserialize, JsonSchema, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Flash {
    pub at: Duration,
    #[serde(rename = "for")]
    pub lasting: Duration,
    pub multiplier: Positive,
}

#[derive(Debug, Deserialize, JsonSchema, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Diurnal {
    /// Peak rate over mean rate, from 1 (flat) to 2 (zero at the trough).
    pub peak_to_mean: f64,
    /// Hour of the peak, 0 to 24.
    pub peak_hour: f64,
}

/// Visits: how many requests, how far apart, how long state lives, who returns.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Sessions {
    /// Requests per visit; its mean must be finite.
    #[schemars(with = "Dist<Positive>")]
    pub requests: Spanned<Dist<Positive>>,
    pub think: Dist<Duration>,
    /// Longest think time inside a visit: draws above it are drawn again, so the
    /// think time follows `think` truncated here (a fitted log's visits have no
    /// gap longer than the idle time that cut them). None: untruncated.
    #[schemars(with = "Option<Duration>")]
    pub think_max: Option<Spanned<Duration>>,
    /// Idle time after which a server forgets a session's state.
    pub state_ttl: Duration,
    /// Share of visits followed by another visit of the same user.
    pub return_share: Share,
    /// Time from the end of a visit to the start of the next.
    #[schemars(with = "Dist<Duration>")]
    pub return_after: Spanned<Dist<Duration>>,
    /// Idle time after which a connection closes; the next request opens a new
    /// one, with a new source port (and, where the network decides per
    /// connection, perhaps a new address).
    pub keepalive: Duration,
    /// Concurrent connections each user keeps, its requests taking them in turn
    /// (1: an HTTP/2 or gRPC client multiplexing one connection; browsers open up
    /// to 6 per host over HTTP/1.1). Each has its own source port and idle clock.
    #[schemars(with = "u32")]
    pub connections: Spanned<u32>,
    /// How long a connection lives at most: after it, the next request on it opens
    /// a new one (gRPC's MAX_CONNECTION_AGE, a WebSocket's session). None: a
    /// connection closes only after `keepalive` idle.
    #[schemars(with = "Option<Dist<Duration>>")]
    pub connection_lifetime: Option<Spanned<Dist<Duration>>>,
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
            think_max: None,
            state_ttl: Duration(30 * MINUTE),
            return_share: Share(0.0),
            return_after: Spanned::new(
                0..0,
                Dist::Exponential {
                    mean: Duration(4 * HOUR),
                },
            ),
            // nginx's keepalive_timeout default.
            keepalive: Duration(75 * SECOND),
            connections: Spanned::new(0..0, 1),
            connection_lifetime: None,
        }
    }
}

/// One kind of network users reach the service from, with its share of users.
/// Defaults are measured or specified values; README.md gives their sources.
#[derive(Debug, Deserialize, JsonSchema, Clone)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Network {
    /// Home broadband behind a NAT router: a few users per public address, some
    /// dual-stack over IPv6.
    Home {
        share: Share,
        #[serde(default = "Network::home_users")]
        users_per_address: Positive,
        /// Share of these users reaching the service over IPv6 (dual stack).
        #[serde(default)]
        ipv6_share: Share,
        /// Share of households whose ISP renumbers them periodically.
        #[serde(default = "Network::renumber_share")]
        renumber_share: Share,
        /// The renumbering period (0: never).
        #[serde(default = "Network::day")]
        renumber_every: Duration,
        /// Share of renumberings that leave the /24 (and the BGP prefix).
        #[serde(default = "Network::half")]
        leave_prefix: Share,
        /// IPv6 temporary-address rotation: a new address for new connections
        /// this often (0: a stable address).
        #[serde(default = "Network::day")]
        privacy_rotation: Duration,
        /// Share of a dual-stack user's connections that Happy Eyeballs sends over
        /// IPv4 instead of IPv6.
        #[serde(default)]
        happy_eyeballs: Share,
    },
    /// Carrier-grade NAT: hundreds of subscribers behind each public address of
    /// a contiguous pool.
    Cgnat {
        share: Share,
        #[serde(default = "Network::cgnat_users")]
        users_per_address: Positive,
        /// How the NAT picks the public address of a new connection.
        #[serde(default)]
        pooling: Pooling,
        /// Paired pooling: idle time after which the subscriber's mappings (its
        /// port blocks) are released, so its next connection may get another address.
        #[serde(default = "Network::mapping_timeout")]
        mapping_timeout: Duration,
    },
    /// A company site or proxy farm: many users behind a few egress addresses.
    Enterprise {
        share: Share,
        /// Users per site: heavy-tailed.
        #[serde(default = "Network::site_users")]
        users_per_site: Dist<Positive>,
        /// Egress addresses per site, consecutive in one block.
        #[serde(default = "Network::egress")]
        egress_addresses: Count,
        /// Whether each connection picks its egress afresh (the AOL proxy case)
        /// or each user keeps one.
        #[serde(default)]
        egress: Egress,
    },
    /// A VPN or privacy relay (iCloud Private Relay): many users behind shared
    /// egress addresses that rotate.
    Relay {
        share: Share,
        #[serde(default = "Network::relay_users")]
        users_per_address: Positive,
        /// How often a user's egress changes, taking effect at its next connection
        /// (0: a new egress for every connection).
        #[serde(default = "Network::relay_rotation")]
        rotate_every: Duration,
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

/// IP address pooling of a NAT (RFC 4787 section 4.1).
#[derive(Debug, Deserialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// All connections of a subscriber share one public address (the RFC 6888 default).
    #[default]
    Paired,
    /// Each new connection may leave from any address of the pool.
    Arbitrary,
}

/// How a proxy farm picks the egress address.
#[derive(Debug, Deserialize, JsonSchema, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Egress {
    #[default]
    PerConnection,
    PerUser,
}

impl Network {
    fn home_users() -> Positive {
        Positive(1.5)
    }

    fn cgnat_users() -> Positive {
        // Port-block allocation, 128-port blocks, 8 per subscriber: 63 to 504 per address.
        Positive(250.0)
    }

    fn renumber_share() -> Share {
        // More than 60 % of hosts keep a fixed address (Argon et al. 2010); of the
        // rest, periodic renumbering is one of several causes.
        Share(0.2)
    }

    fn day() -> Duration {
        Duration(crate::engine::DAY)
    }

    fn half() -> Share {
        Share(0.5)
    }

    fn mapping_timeout() -> Duration {
        Duration(30 * crate::engine::MINUTE)
    }

    fn site_users() -> Dist<Positive> {
        Dist::Pareto {
            scale: Positive(10.0),
            shape: Positive(1.2),
        }
    }

    fn egress() -> Count {
        Count(4)
    }

    fn relay_users() -> Positive {
        // "Hundreds or even thousands" of users per shared address (Cloudflare, 2025).
        Positive(1000.0)
    }

    fn relay_rotation() -> Duration {
        Duration(10 * crate::engine::MINUTE)
    }

    fn switch_rate() -> Rate {
        Rate(0.5 / 3600.0)
    }

    fn cellular_stay() -> Dist<Duration> {
        // Most WiFi-cellular-WiFi round trips return within about 30 seconds.
        Dist::Exponential {
            mean: Duration(30 * crate::engine::SECOND),
        }
    }

    pub fn share(&self) -> f64 {
        match self {
            Network::Home { share, .. }
            | Network::Cgnat { share, .. }
            | Network::Enterprise { share, .. }
            | Network::Relay { share, .. }
            | Network::Mobile { share, .. } => share.0,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Network::Home { .. } => "home",
            Network::Cgnat { .. } => "cgnat",
            Network::Enterprise { .. } => "enterprise",
            Network::Relay { .. } => "relay",
            Network::Mobile { .. } => "mobile",
        }
    }
}

/// The servers at the start of the run and how they serve.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Servers {
    /// Number of servers, named s1, s2, ...
    #[schemars(with = "Option<Count>")]
    pub count: Option<Spanned<Count>>,
    /// Or their names, in configuration order.
    #[schemars(with = "Option<Vec<String>>")]
    pub names: Option<Spanned<Vec<String>>>,
    /// Weights in configuration order (default 1 each).
    #[schemars(with = "Option<Vec<Weight>>")]
    pub weights: Option<Spanned<Vec<Weight>>>,
    /// Servers configured but marked down at the start (nginx `down`, HAProxy
    /// `disabled`): in the balancer's configuration, taking no requests until a
    /// `recover` event.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub down: Vec<Spanned<String>>,
    /// Parallel workers per server.
    #[serde(default = "Servers::workers")]
    #[schemars(with = "Count")]
    pub workers: Spanned<Count>,
    /// Or each server's workers, in configuration order: a pool of mixed
    /// instance sizes (default `workers` each).
    #[schemars(with = "Option<Vec<Count>>")]
    pub worker_counts: Option<Spanned<Vec<Count>>>,
    /// Each server's service speed, in configuration order: its service times are
    /// divided by it (default 1 each). Weights only change routing; this changes
    /// how fast a server works.
    #[schemars(with = "Option<Vec<Positive>>")]
    pub speeds: Option<Spanned<Vec<Positive>>>,
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
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolEvent {
    #[schemars(with = "Duration")]
    pub at: Spanned<Duration>,
    pub action: Action,
    /// The server acted on; for `add`, the new server's name (default: the next sN).
    #[schemars(with = "Option<String>")]
    pub server: Option<Spanned<String>>,
    /// For `add`: the new server's weight.
    pub weight: Option<Weight>,
    /// For `add`: the new server's workers (default `servers.workers`).
    pub workers: Option<Count>,
    /// For `add`: the new server's service speed (default 1).
    pub speed: Option<Positive>,
    /// For `fail`: recover after this long (default: stays down).
    #[serde(rename = "for")]
    pub lasting: Option<Duration>,
}

#[derive(Debug, Deserialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Remove,
    Fail,
    Recover,
}

/// Users written out one by one, to follow named people through a run.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptedUser {
    pub name: String,
    /// Public source address at the start.
    #[schemars(with = "String")]
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

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Move {
    pub at: Duration,
    #[schemars(with = "String")]
    pub address: Spanned<String>,
}
