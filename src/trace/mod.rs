//! Replaying a real access log through a scenario's servers and policies.
//!
//! # What a log knows
//!
//! A web server's access log has one line per request: who sent it, when, what
//! was asked and how it went. For load balancing, two fields matter. The client
//! (an address, or a host name where the server looked addresses up) is what
//! source-address affinity keys on; the time says how requests of one client
//! follow each other, which is what makes a session. Everything else (the URL,
//! the status, the size) does not change where a balancer sends a request, and a
//! log does not say how long each request kept its server busy.
//!
//! # From lines to users and sessions
//!
//! Each line is read into a time and a client ([`log`] for the NCSA formats,
//! [`alb`], [`elb`], [`haproxy`] and [`nginx_json`] for load balancers' and
//! nginx's own, [`clock`] for their times); the format is told from the first
//! lines unless given ([`detect`]). Lines that do not fit the format are counted
//! and the first few reported by number, and by column where the format tells
//! (`read`). Each distinct client is one user, with one address ([`clients`]).
//! Requests are put in time order and each user's are cut into sessions where
//! the user was idle longer than the idle gap, 30 minutes unless told
//! ([`sessions`]). A session is a visit: the unit the simulator counts as lost
//! when a request finds its state on another server.
//!
//! # What the scenario adds
//!
//! The scenario brings the servers and their pool events, the policies, how
//! servers serve (workers, queues, service times) and how long they keep session
//! state (`state_ttl`). Its synthetic population (`[arrivals]`, `[[users]]`) is
//! left out: the log is the population; its `[[networks]]` serve only to lay a
//! mobile network's churn over the log's clients when asked. Time 0 is the first
//! request, and the run lasts until the end of the last request's second (the
//! log's resolution), which replaces the scenario's `duration`; pool events at or
//! after that are not reached. Service times are drawn from the scenario's
//! distribution on its seeded streams ([`source`]), so one log, scenario and seed
//! give the same results every time, on any number of threads.
//!
//! # Logs are personal data
//!
//! An address or host name identifies a person's machine. A replay writes none:
//! results are per policy and per server, messages about bad lines give line
//! numbers and what is wrong but never the line, and no journeys are written.
//! Host names are hashed under a key made for each run unless one is given
//! ([`clients`]); `lbsim anonymize` ([`crate::privacy`]) writes a log to share.

pub mod alb;
mod aws;
pub mod clients;
pub mod clock;
pub mod detect;
pub mod elb;
pub(crate) mod fields;
pub mod haproxy;
pub mod labels;
pub(crate) mod lines;
pub mod log;
pub mod nginx_json;
pub(crate) mod read;
pub mod sessions;
pub mod source;

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::engine::time::{self, SECOND, Time};
use crate::policy::key::Addr;
use crate::scenario::{Network, Scenario};

pub use labels::Label;
pub use log::Format;
pub use read::{Parsed, Reading, read_labelled};
pub use source::Replay;

use sessions::Hit;

/// A line that did not fit the format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed {
    pub line: u64,
    /// Where on the line it goes wrong (1-based, in bytes), where the format tells.
    pub column: Option<usize>,
    /// Which part is wrong.
    pub why: &'static str,
}

/// Why a log could not be replayed.
#[derive(Debug)]
pub enum TraceError {
    Open(PathBuf, std::io::Error),
    /// Reading failed (a damaged gzip stream, say), at a line when known.
    Read(PathBuf, Option<u64>, String),
    /// A CSV log without `time` and `client` columns.
    Header(PathBuf),
    /// A line fits more than one format.
    Ambiguous {
        path: PathBuf,
        line: u64,
        fits: Vec<Format>,
    },
    /// A CSV log without the column asked for by name.
    Field {
        path: PathBuf,
        name: String,
        columns: Vec<String>,
    },
    /// Not one line fits the format.
    Empty {
        path: PathBuf,
        format: Format,
        malformed: u64,
        first: Option<Malformed>,
    },
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TraceError::Open(p, e) => write!(f, "{}: cannot read the access log: {e}", p.display()),
            TraceError::Read(p, Some(line), e) => write!(f, "{}:{line}: cannot read the access log: {e}", p.display()),
            TraceError::Read(p, None, e) => write!(f, "{}: cannot read the access log: {e}", p.display()),
            TraceError::Header(p) => write!(
                f,
                "{}:1: expected a header row naming a `time` and a `client` column, e.g. time,client",
                p.display()
            ),
            TraceError::Ambiguous { path, line, fits } => write!(
                f,
                "{}:{line}: cannot tell the log's format: the line fits {}; give --format",
                path.display(),
                fits.iter().map(|f| f.name()).collect::<Vec<_>>().join(" and ")
            ),
            TraceError::Field { path, name, columns } => write!(
                f,
                "{}:1: no column named {name:?} in the header; the columns are: {}",
                path.display(),
                columns.join(", ")
            ),
            TraceError::Empty {
                path,
                format,
                malformed,
                first,
            } => match first {
                Some(m) => write!(
                    f,
                    "{}: no valid line: all {malformed} lines are malformed; the first is {}",
                    path.display(),
                    m.show(path, *format)
                ),
                None => write!(f, "{}: the access log has no request lines", path.display()),
            },
        }
    }
}

impl std::error::Error for TraceError {}

impl Malformed {
    /// `FILE:LINE[:COLUMN]: expected FORMAT (what is wrong)`.
    pub fn show(&self, path: &Path, format: Format) -> String {
        let column = self.column.map_or(String::new(), |c| format!(":{c}"));
        format!(
            "{}:{}{column}: {} ({})",
            path.display(),
            self.line,
            format.expected(),
            self.why
        )
    }
}

/// What a log held, as reported before a replay's results.
#[derive(Clone, Debug)]
pub struct TraceStats {
    pub file: PathBuf,
    pub format: Format,
    pub idle: Time,
    pub requests: u64,
    pub clients: u64,
    /// Clients known by a host name rather than an address.
    pub named_clients: u64,
    pub sessions: u64,
    /// Requests per session: median and 90th percentile (nearest rank).
    pub median: u32,
    pub p90: u32,
    pub malformed: u64,
    pub first_malformed: Vec<Malformed>,
    /// Unix time of the first request, in seconds.
    pub start_unix_s: f64,
    /// From the first request to the last.
    pub span: Time,
}

impl TraceStats {
    pub fn mean(&self) -> f64 {
        self.requests as f64 / self.sessions as f64
    }

    /// The statistics for run.json.
    pub fn to_json(&self) -> Value {
        json!({
            "file": self.file.display().to_string(),
            "format": self.format.name(),
            "idle_s": time::as_secs(self.idle),
            "requests": self.requests,
            "clients": self.clients,
            "named_clients": self.named_clients,
            "sessions": self.sessions,
            "requests_per_session_mean": self.mean(),
            "requests_per_session_median": self.median,
            "requests_per_session_p90": self.p90,
            "malformed_lines": self.malformed,
            "first_malformed_lines": self.first_malformed.iter().map(|m| m.line).collect::<Vec<_>>(),
            "start_unix_s": self.start_unix_s,
            "span_s": time::as_secs(self.span),
        })
    }

    /// The statistics for the terminal.
    pub fn describe(&self) -> String {
        format!(
            "{} ({} log format)\n  requests   {} over {}\n  clients    {} ({} by host name)\n  sessions   {} at an idle gap of {}: {:.2} requests per session (median {}, 90th percentile {})\n  malformed  {} lines\n",
            self.file.display(),
            self.format.name(),
            self.requests,
            time::clock(self.span),
            self.clients,
            self.named_clients,
            self.sessions,
            crate::scenario::units::written(self.idle),
            self.mean(),
            self.median,
            self.p90,
            self.malformed,
        )
    }
}

/// An access log read and cut into sessions, ready to replay.
pub struct Trace {
    hits: Vec<Hit>,
    addrs: Vec<Addr>,
    pub stats: TraceStats,
}

impl Trace {
    /// Reads the log at `path` as `how` says and cuts each client's requests into
    /// sessions at gaps longer than `idle`.
    pub fn read(path: &Path, how: &Reading, idle: Time) -> Result<Trace, TraceError> {
        let format = how.format;
        let read = read::read(path, how)?;
        if read.requests.is_empty() {
            return Err(TraceError::Empty {
                path: path.to_path_buf(),
                format,
                malformed: read.malformed,
                first: read.first_malformed.first().copied(),
            });
        }
        let start = read.requests.iter().map(|r| r.0).min().unwrap_or_default();
        let cut = sessions::cut(read.requests, &read.clients.addrs, idle);
        let rank = |p: f64| cut.lengths[((p * cut.lengths.len() as f64).ceil() as usize).max(1) - 1];
        let stats = TraceStats {
            file: path.to_path_buf(),
            format,
            idle,
            requests: cut.hits.len() as u64,
            clients: cut.addrs.len() as u64,
            named_clients: read.clients.named as u64,
            sessions: cut.lengths.len() as u64,
            median: rank(0.5),
            p90: rank(0.9),
            malformed: read.malformed,
            first_malformed: read.first_malformed,
            start_unix_s: start as f64 / 1e9,
            span: cut.hits.last().map_or(0, |h| h.time),
        };
        Ok(Trace {
            hits: cut.hits,
            addrs: cut.addrs,
            stats,
        })
    }

    /// How long a replay runs: to the end of the last request's second, since log
    /// times are whole seconds.
    pub fn duration(&self) -> Time {
        self.stats.span + SECOND
    }

    /// One replication's pass over the trace, in the setting of `sc`, with the
    /// mobile network `churn` laid over its clients when given.
    pub fn replay<'a>(&'a self, sc: &Scenario, replication: u32, churn: Option<&Network>) -> Replay<'a> {
        Replay::new(self, sc, replication, churn)
    }
}
