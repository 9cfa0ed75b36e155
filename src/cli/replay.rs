//! `lbsim replay`: a real access log through a scenario's servers and policies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use lbsim::engine::Time;
use lbsim::privacy::Secret;
use lbsim::privacy::key::KeyError;
use lbsim::scenario::{Network, Scenario};
use lbsim::trace::detect::detect;
use lbsim::trace::nginx_json::Keys;
use lbsim::trace::{Format, Reading, Trace, TraceError};
use lbsim::{experiment, output};

use super::common::{RunFlags, destination, finish, say, scenario, usage_error};

#[derive(Args)]
pub struct ReplayArgs {
    /// The access log, plain or gzip-compressed.
    pub log: PathBuf,
    /// The scenario whose servers, pool events, serving and policies to use (TOML).
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    #[command(flatten)]
    pub reading: LogArgs,
    /// The key that hashes host names into addresses: 64 hexadecimal digits, as
    /// `lbsim anonymize` prints and reads [default: a key made for this run, so
    /// results of a log with host names repeat only with a key].
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// A client's session ends when its next request comes more than this long after
    /// its previous one.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = lbsim::scenario::units::parse_duration)]
    pub idle: Time,
    /// Lay the scenario's mobile network over the log's clients: each is, with that
    /// network's share, a phone whose logged address is its WiFi and which switches
    /// to carrier addresses and back at the network's switch_rate and cellular_stay.
    #[arg(long)]
    pub churn: bool,
    #[command(flatten)]
    pub flags: RunFlags,
}

/// How to read an access log, for `replay` and `anonymize`.
#[derive(Args)]
pub struct LogArgs {
    /// common: NCSA Common Log Format, fields after BYTES ignored (so combined logs
    /// read too); combined: also requires "REFERER" "USER-AGENT"; csv: a header row
    /// naming `time` (RFC 3339 or Unix seconds) and `client` columns, others ignored;
    /// alb and elb: AWS Application and Classic Load Balancer access logs; haproxy:
    /// HAProxy's `option httplog` lines, with or without a syslog header;
    /// nginx-json: one JSON object per line (`log_format escape=json`). Without it,
    /// the format is told from the log's first lines.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub format: Option<Format>,
    /// nginx-json: the key holding the client's address.
    #[arg(long, value_name = "KEY", default_value = "remote_addr")]
    pub json_client: String,
    /// nginx-json: the key holding the time ($time_iso8601, $time_local or $msec).
    #[arg(long, value_name = "KEY", default_value = "time_iso8601")]
    pub json_time: String,
    /// nginx-json: the key holding the request line.
    #[arg(long, value_name = "KEY", default_value = "request")]
    pub json_request: String,
}

impl LogArgs {
    /// How to read `log`, its format told from its first lines unless given,
    /// host names hashed under `names`.
    pub fn reading(self, log: &Path, names: Secret) -> Result<Reading, TraceError> {
        Ok(Reading {
            format: self.format.map_or_else(|| detect(log), Ok)?,
            json: Keys {
                client: self.json_client,
                time: self.json_time,
                request: self.json_request,
            },
            names,
        })
    }
}

/// The key in `file`, or a fresh one.
pub fn key(file: Option<&Path>) -> Result<Secret, KeyError> {
    file.map_or_else(|| Ok(Secret::generate()), Secret::read)
}

pub fn main(a: ReplayArgs) -> ExitCode {
    replay(
        &a.log,
        a.reading,
        a.key_file.as_deref(),
        a.idle,
        a.churn,
        &a.scenario,
        &a.flags,
    )
}

/// Replays `log`, read as `reading` says with host names hashed under the key in
/// `key_file` (or a fresh one), cut at gaps over `idle`, with `churn` or not,
/// through the scenario at `path`.
fn replay(
    log: &Path,
    reading: LogArgs,
    key_file: Option<&Path>,
    idle: Time,
    churn: bool,
    path: &Path,
    flags: &RunFlags,
) -> ExitCode {
    let mut sc = match scenario(path, flags, true) {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    let mobile = sc
        .networks
        .iter()
        .find(|n| matches!(n, Network::Mobile { .. }))
        .cloned();
    let churn = match (churn, mobile) {
        (false, _) => None,
        (true, Some(n)) => Some(n),
        (true, None) => {
            return usage_error(format!(
                "--churn: {} has no [[networks]] entry with kind = \"mobile\" to take the switching from",
                path.display()
            ));
        }
    };
    // Rows of a replay's CSV files say it is one, as does its default folder.
    sc.name = format!("{}-replay", sc.name);
    let dir = match destination(&sc, flags) {
        Ok(dir) => dir,
        Err(code) => return code,
    };
    let names = match key(key_file) {
        Ok(k) => k,
        Err(e) => return usage_error(e),
    };
    let trace = match reading.reading(log, names).and_then(|how| Trace::read(log, &how, idle)) {
        Ok(t) => t,
        Err(e) => return usage_error(e),
    };
    if key_file.is_none() && trace.stats.named_clients > 0 && !flags.quiet {
        eprintln!("note: host names were hashed with a key made for this run; give --key-file for results that repeat");
    }
    if let Err(e) = sc.for_replay(trace.duration()) {
        return usage_error(format!("{}: {e}", log.display()));
    }
    if !flags.quiet {
        announce(&trace, churn.as_ref(), &sc);
    }
    let total = sc.duration * u64::from(sc.replications);
    let result = output::progress::watch(total, !flags.quiet, |p| {
        experiment::run_watched(&sc, |r| trace.replay(&sc, r, churn.as_ref()), p)
    });
    let mut json = trace.stats.to_json();
    json["churn_phone_share"] = churn.as_ref().map(Network::share).into();
    finish(&sc, &result, &dir, flags, Some(&json))
}

/// What a replay is about to route: the log's statistics, its malformed lines,
/// and the pool events it will not reach.
fn announce(trace: &Trace, churn: Option<&Network>, sc: &Scenario) {
    let stats = &trace.stats;
    let churned = churn.map_or(String::new(), |n| {
        format!(
            "  churn      {} % of clients are phones, switching as the scenario's mobile network\n",
            output::num(n.share() * 100.0)
        )
    });
    say(&format!("replaying {}{churned}\n", stats.describe()));
    for m in &stats.first_malformed {
        eprintln!("warning: {}", m.show(&stats.file, stats.format));
    }
    let unreported = stats.malformed - stats.first_malformed.len() as u64;
    if unreported > 0 {
        eprintln!("warning: {unreported} more malformed lines skipped");
    }
    let unreached = sc.changes.iter().filter(|c| c.at >= sc.duration).count();
    if unreached > 0 {
        eprintln!(
            "note: {unreached} of the scenario's pool events come after the log ends ({}) and are not applied",
            lbsim::engine::time::clock(sc.duration)
        );
    }
}

pub fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| format!("expected one of: {}", Format::names()))
}
