//! `lbsim validate`: a scenario checked and described, without running it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use lbsim::output;
use lbsim::pool::Presence;
use lbsim::scenario::distribution::Dist;
use lbsim::scenario::size::Size;
use lbsim::scenario::sweep::Sweep;
use lbsim::scenario::units::{Duration, written};
use lbsim::scenario::{Scenario, Sessions, Shape};

use super::common::{say, usage_error};

#[derive(Args)]
pub struct ValidateArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
}

pub fn main(a: ValidateArgs) -> ExitCode {
    validate(a.scenario)
}

fn validate(path: PathBuf) -> ExitCode {
    // A sweep is checked point by point; its first point is described.
    match Sweep::load(&path, &[], &[]) {
        Err(e) => return usage_error(e),
        Ok(Some(sweep)) => {
            let threads = rayon::current_num_threads();
            let size = sweep
                .points
                .iter()
                .map(|p| Size::of(&p.scenario, threads))
                .reduce(Size::then);
            if let Some(why) = size.and_then(|s| s.refusal()) {
                return usage_error(format!("{}: {why}", path.display()));
            }
            say(&format!(
                "{}: ok, a sweep of {} points over {}\n  size          {}\n",
                path.display(),
                sweep.points.len(),
                sweep.keys.join(", "),
                size.map_or(String::new(), |s| s.describe())
            ));
            return ExitCode::SUCCESS;
        }
        Ok(None) => {}
    }
    // A scenario without a duration or traffic of its own is still good for a replay.
    let (sc, replay_only) = match Scenario::load(&path) {
        Ok(sc) => (sc, false),
        Err(e) => match Scenario::load_for_replay(&path, &[]) {
            Ok(sc) => (sc, true),
            Err(_) => return usage_error(e),
        },
    };
    let size = Size::of(&sc, rayon::current_num_threads());
    if !replay_only && let Some(why) = size.refusal() {
        return usage_error(format!("{}: {why}", path.display()));
    }
    let count = |p: Presence| sc.servers.iter().filter(|s| s.presence == p).count();
    let initial = match count(Presence::Down) {
        0 => count(Presence::Up).to_string(),
        down => format!("{} ({down} of them down)", count(Presence::Up) + down),
    };
    let policies: Vec<&str> = sc.policies.iter().map(|p| p.text.as_str()).collect();
    let (verdict, duration, users) = if replay_only {
        (
            "ok for lbsim replay (no duration or traffic of its own, so not for lbsim run)".to_string(),
            "from the access log".to_string(),
            "the access log's clients".to_string(),
        )
    } else {
        (
            "ok".to_string(),
            format!(
                "{} s, windows of {} s",
                output::num(sc.duration as f64 / 1e9),
                output::num(sc.window as f64 / 1e9)
            ),
            format!("about {:.0} expected", sc.expected_users()),
        )
    };
    let size = if replay_only {
        String::new()
    } else {
        format!("  size          {}\n", size.describe())
    };
    let workload = if replay_only { String::new() } else { workload(&sc) };
    say(&format!(
        "{}: {verdict}\n  name          {}\n  duration      {duration}\n  users         {users}\n{workload}  servers       {initial} at start, {} pool events\n  policies      {}\n{size}",
        path.display(),
        sc.name,
        sc.changes.len(),
        policies.join(", ")
    ));
    if let Some(max) = &sc.sessions.think_max {
        say(&format!(
            "  think         drawn again above {} (think_max), as in a visit cut at that idle gap\n",
            lbsim::scenario::units::written(max.get_ref().0)
        ));
    }
    say(&sizes(&sc));
    say(&sc.operations.describe(&sc.servers));
    if let Some(ss) = &sc.operations.slow_start {
        say(&lbsim::scenario::slow_start::describe(ss, &sc.policies));
    }
    if let Some(t) = &sc.tiers {
        say(&t.describe());
    }
    ExitCode::SUCCESS
}

/// Each server's workers and speed, when the servers are not all alike.
fn sizes(sc: &Scenario) -> String {
    let w = &sc.serving.workers;
    if sc.serving.speeds.is_none() && w.iter().all(|&x| x == w[0]) {
        return String::new();
    }
    let each: Vec<String> = sc
        .servers
        .iter()
        .enumerate()
        .map(|(s, server)| {
            let speed = sc.serving.speeds.as_ref().map_or(1.0, |v| v[s]);
            format!("{} {} workers at speed {}", server.name, w[s], output::num(speed))
        })
        .collect();
    format!("  server sizes  {} (service time divided by speed)\n", each.join(", "))
}

/// A distribution of durations as a sentence fragment: "exponential, mean 30 s".
fn dist(d: &Dist<Duration>) -> String {
    let t = |v: &Duration| written(v.0);
    match d {
        Dist::Constant { value } => format!("constant {}", t(value)),
        Dist::Exponential { mean } => format!("exponential, mean {}", t(mean)),
        Dist::Lognormal { median, sigma } => format!("lognormal, median {}, sigma {}", t(median), sigma.0),
        Dist::Pareto { scale, shape } => format!("Pareto, scale {}, shape {}", t(scale), shape.0),
        Dist::Weibull { scale, shape } => format!("Weibull, scale {}, shape {}", t(scale), shape.0),
        Dist::Empirical(e) => {
            let secs = |s: f64| written(lbsim::engine::time::from_secs(s));
            format!(
                "empirical over {} values, median {}, mean {}",
                e.count(),
                secs(d.scale()),
                secs(d.mean())
            )
        }
    }
}

/// The arrivals and visits, each with where its value comes from when it is
/// lbsim's default (README, scenario reference, notes 11 to 14).
fn workload(sc: &Scenario) -> String {
    let default = Sessions::default();
    let s = &sc.sessions;
    let from = |given: bool, source: &str| {
        if given {
            " (as given)".to_string()
        } else {
            format!(" (default: {source})")
        }
    };
    let shape = match sc.arrivals.as_ref().map(|a| &a.shape) {
        None => "none (scripted users only)".to_string(),
        Some(Shape::Flat) => "flat over the day (default: no measured diurnal curve exists in lbsim's sources; \
                              give diurnal or hourly from your own logs)"
            .to_string(),
        Some(Shape::Sinusoid {
            peak_to_mean,
            peak_hour,
        }) => format!(
            "sinusoid, peak {peak_to_mean}× the mean at {peak_hour} h (as given; no measured curve exists, \
             a peak/mean of 1.5-2.5 is the usual assumption)"
        ),
        Some(Shape::Hourly(_)) => "24 hourly multipliers (as given)".to_string(),
    };
    let think = dist(&s.think)
        + &from(
            s.think != default.think,
            "NASA-HTTP 1995 measured a median of 29 s between requests 5 s or more apart in a visit; \
             TPC-W uses 7 s, SURGE a Pareto with shape 1.5",
        );
    let ttl = format!("{} after a visit's last request", written(s.state_ttl.0))
        + &from(
            s.state_ttl != default.state_ttl,
            "the usual 30 min session timeout, after Catledge & Pitkow's measured 25.5 min",
        );
    let returns = format!(
        "{:.0}% of visits{}, after {}{}",
        s.return_share.0 * 100.0,
        from(
            s.return_share != default.return_share,
            "no measured share exists; 0 keeps every visit a new user's"
        ),
        dist(s.return_after.get_ref()),
        from(
            s.return_after.get_ref() != default.return_after.get_ref(),
            "no measured delay exists; 4 h is an assumption to sweep"
        )
    );
    format!(
        "  arrivals      {shape}\n  think time    {think}\n  state kept    {ttl}\n  returns       {returns}\n{}",
        connections(s)
    )
}

/// The users' connections, when a scenario gives them several or a lifetime.
fn connections(s: &Sessions) -> String {
    let n = *s.connections.get_ref();
    if n == 1 && s.connection_lifetime.is_none() {
        return String::new();
    }
    let life = s.connection_lifetime.as_ref().map_or(String::new(), |l| {
        format!(", or after a lifetime of {}", dist(l.get_ref()))
    });
    format!(
        "  connections   {n} per user, taken in turn, each closing after {} idle (keepalive){life}\n",
        written(s.keepalive.0)
    )
}
