//! `lbsim fit`: a scenario's workload estimated from a real access log, and the
//! check that a scenario reproduces its log.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use lbsim::engine::Time;
use lbsim::fit::{self, LogRequests, WorkloadStats};
use lbsim::output;
use lbsim::scenario::Scenario;
use lbsim::trace::{Format, Label};

use super::common::{output_error, say, usage_error};
use super::replay::parse_format;

#[derive(Args)]
pub struct FitArgs {
    /// The access log (plain or gzip-compressed).
    pub log: PathBuf,
    /// The log's format: common, combined (its user agents tell users behind one
    /// address apart) or csv.
    #[arg(long, value_name = "FORMAT", default_value = "common", value_parser = parse_format)]
    pub format: Format,
    /// CSV logs: the column holding a session cookie or user id; shows address churn.
    #[arg(long, value_name = "NAME")]
    pub session_field: Option<String>,
    /// A client's session ends after this much idle time.
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = lbsim::scenario::units::parse_duration)]
    pub idle: Time,
    /// A scenario (as `lbsim import` writes) whose pool and policies the fitted
    /// scenario takes instead of the default ones.
    #[arg(long, value_name = "FILE", conflicts_with = "check")]
    pub pool: Option<PathBuf>,
    /// Where to write the scenario [default: fit-<log name>.toml]; fit.json goes beside it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["print", "check"])]
    pub out: Option<PathBuf>,
    /// Print the scenario instead of writing it.
    #[arg(long, conflicts_with = "check")]
    pub print: bool,
    /// Replace existing files.
    #[arg(long)]
    pub force: bool,
    /// Compare SCENARIO's generated workload with the log on the fit's statistics,
    /// and exit 1 if one misses its tolerance. Writes nothing.
    #[arg(long, value_name = "SCENARIO")]
    pub check: Option<PathBuf>,
    /// --check: replications of the scenario's workload averaged.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub replications: u32,
}

pub fn main(a: FitArgs) -> ExitCode {
    let label = match (&a.session_field, a.format) {
        (Some(f), Format::Csv) => Label::Field(f.clone()),
        (Some(_), _) => return usage_error("--session-field names a CSV column: use it with --format csv"),
        (None, Format::Combined) => Label::Agent,
        (None, _) => Label::Nothing,
    };
    let log = match LogRequests::read(&a.log, a.format, &label) {
        Ok(l) => l,
        Err(e) => return usage_error(e),
    };
    if let Some(path) = &a.check {
        return check(&a.log, &log, path, a.replications);
    }
    let e = match fit::estimate(&log, a.idle, label == Label::Agent, matches!(label, Label::Field(_))) {
        Ok(e) => e,
        Err(t) => {
            return usage_error(format!(
                "{}: too short to fit: {} sessions and {} think times at an idle gap of {}; fitting needs at least {} of each",
                a.log.display(),
                t.sessions,
                t.gaps,
                lbsim::scenario::units::written(a.idle),
                fit::estimate::MIN_SESSIONS
            ));
        }
    };
    let pool = match &a.pool {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => Some(t),
            Err(err) => return usage_error(format!("{}: cannot read the pool scenario: {err}", p.display())),
        },
        None => None,
    };
    let source = a.log.display().to_string();
    let text = fit::scenario_text(&e, &source, &fit::name_of(&a.log), log.end, pool.as_deref());
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.toml", fit::name_of(&a.log))));
    if let Err(err) = Scenario::parse(&text, &out) {
        let from = a
            .pool
            .as_ref()
            .map_or(String::new(), |p| format!(" with the pool of {}", p.display()));
        return usage_error(format!("the fitted scenario{from} does not load: {err}"));
    }
    if a.print {
        say(&text);
        return ExitCode::SUCCESS;
    }
    let json_path = out.with_file_name("fit.json");
    for p in [&out, &json_path] {
        if p.exists() && !a.force {
            return usage_error(format!(
                "{} exists; pass --force to replace it, or --out FILE to write elsewhere",
                p.display()
            ));
        }
    }
    let json = serde_json::to_string_pretty(&fit::write::json(&e, &source)).unwrap_or_default() + "\n";
    for (p, bytes) in [(&out, text.as_bytes()), (&json_path, json.as_bytes())] {
        if let Err(err) = output::write_atomic(p, bytes) {
            return output_error(err);
        }
    }
    say(&format!(
        "{}: {} requests, {} users, {} sessions\nscenario in {}, estimates in {} (run it with `lbsim run {}`; check it with `lbsim fit {} --check {}`)\n",
        a.log.display(),
        e.requests,
        e.users,
        e.sessions,
        out.display(),
        json_path.display(),
        out.display(),
        a.log.display(),
        out.display()
    ));
    ExitCode::SUCCESS
}

/// Tolerances of the reproduction: relative for requests per session, sessions
/// per hour and addresses; absolute for the imbalance.
pub const RELATIVE: f64 = 0.05;
pub const IMBALANCE: f64 = 0.05;

fn check(log_path: &Path, log: &LogRequests, path: &Path, replications: u32) -> ExitCode {
    let sc = match Scenario::load(path) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let idle = sc.sessions.state_ttl.0;
    let logged = fit::measure_log(log, idle);
    let run = fit::measure_run(&sc, replications.max(1), log.start, log.end);
    let (table, ok) = compare(&logged, &run);
    say(&format!(
        "{} against {} ({} replications of its workload, window of the log, idle gap {}):\n{table}",
        log_path.display(),
        path.display(),
        replications.max(1),
        lbsim::scenario::units::written(idle)
    ));
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

/// A table of the log's and the run's statistics, and whether all are within tolerance.
fn compare(log: &WorkloadStats, run: &WorkloadStats) -> (String, bool) {
    let mut t = String::new();
    let mut ok = true;
    let _ = writeln!(
        t,
        "  {:<40} {:>10} {:>10} {:>9}  within",
        "statistic", "log", "run", "diff"
    );
    let mut row = |name: &str, l: f64, r: f64, relative: bool| {
        let diff = if relative {
            (r - l) / l.abs().max(f64::MIN_POSITIVE)
        } else {
            r - l
        };
        let tol = if relative { RELATIVE } else { IMBALANCE };
        let good = diff.abs() <= tol;
        ok &= good;
        let shown = if relative {
            format!("{:+.1}%", diff * 100.0)
        } else {
            format!("{diff:+.3}")
        };
        let _ = writeln!(
            t,
            "  {name:<40} {l:>10.3} {r:>10.3} {shown:>9}  {}",
            if good { "yes" } else { "NO" }
        );
    };
    row("requests/session mean", log.mean, run.mean, true);
    row("requests/session median", log.median, run.median, true);
    row("requests/session p90", log.p90, run.p90, true);
    for h in 0..24 {
        if let (Some(l), Some(r)) = (log.hourly[h], run.hourly[h]) {
            row(&format!("sessions/hour {h:02}h UTC"), l, r, true);
        }
    }
    row("distinct addresses", log.addresses as f64, run.addresses as f64, true);
    row(
        &format!(
            "nginx.ip_hash max/mean (8, {} placements)",
            lbsim::fit::stats::PLACEMENTS
        ),
        log.ip_hash_expected,
        run.ip_hash_expected,
        false,
    );
    let _ = writeln!(
        t,
        "  (where the clients' networks really are, one placement: log {:.3}, run {:.3})",
        log.ip_hash_peak, run.ip_hash_peak
    );
    (t, ok)
}
