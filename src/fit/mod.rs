//! Fitting a population to a real access log: `lbsim fit`.
//!
//! From who sent each request and when (and, where the log shows them, user agents
//! or a session id), estimate what a scenario's workload needs: new users per hour
//! of day, requests per visit and think times (each distribution lbsim offers fitted
//! by maximum likelihood and chosen by AIC), return visits, users per address with
//! gateways as their own network, and address churn where a session field shows it.
//! The result is a runnable scenario; [`check`] measures a scenario's generated
//! workload and the log on the same [`stats`], so a fit can be seen to reproduce
//! its log.

pub mod estimate;
pub mod log;
pub mod mle;
pub mod stats;
pub mod write;

use std::path::Path;

use crate::engine::Time;
use crate::policy::key::Addr;
use crate::scenario::Scenario;
use crate::workload::{Request, RequestSource, Workload};

pub use estimate::{Estimate, TooShort, estimate};
pub use log::LogRequests;
pub use stats::WorkloadStats;

/// The scenario text: the fitted workload, with the pool and policies of
/// `pool` (a scenario's text, as `lbsim import` writes it) or the default ones.
pub fn scenario_text(e: &Estimate, source: &str, name: &str, window_end: Time, pool: Option<&str>) -> String {
    let (header, workload) = write::workload(e, source);
    let duration = format!(
        "duration = \"{}s\"  # to the end of the log's last second, from midnight\n",
        window_end / crate::engine::time::SECOND
    );
    let mut text = header;
    match pool {
        None => {
            text.push_str(&format!("\nname = \"{name}\"\nseed = 1\n{duration}"));
            text.push_str(write::DEFAULT_POOL.split("\n[servers]").next().unwrap_or_default());
            text.push_str(&workload);
            text.push_str("\n[servers]");
            text.push_str(write::DEFAULT_POOL.split("\n[servers]").nth(1).unwrap_or_default());
        }
        Some(pool) => {
            let (preamble, tables) = split_pool(pool);
            text.push_str("#\n# The pool and policies below come from the --pool scenario:\n");
            text.push_str(&preamble);
            text.push_str(&duration);
            text.push_str(&workload);
            text.push_str(&tables);
        }
    }
    text
}

/// The workload sections a pool scenario's own are replaced by.
const WORKLOAD_TABLES: [&str; 4] = ["[arrivals]", "[sessions]", "[[networks]]", "[[users]]"];

/// A pool scenario's text without its workload: the lines before its first table
/// (less `duration`), and its other tables.
fn split_pool(pool: &str) -> (String, String) {
    let (mut preamble, mut tables) = (String::new(), String::new());
    let mut in_tables = false;
    let mut skipping = false;
    for line in pool.lines() {
        let t = line.trim_start();
        if t.starts_with('[') {
            in_tables = true;
            skipping = WORKLOAD_TABLES.iter().any(|w| t.starts_with(w));
        }
        if skipping {
            continue;
        }
        let out = if in_tables { &mut tables } else { &mut preamble };
        if !in_tables && (t.starts_with("duration") || t.starts_with("warmup")) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    (preamble, format!("\n{tables}"))
}

/// The statistics of `sc`'s generated workload, as `lbsim run` generates it,
/// averaged over replications 0 to `replications` − 1, in the window [`start`, `end`).
pub fn measure_run(sc: &Scenario, replications: u32, start: Time, end: Time) -> WorkloadStats {
    let idle = sc.sessions.state_ttl.0;
    let runs: Vec<WorkloadStats> = (0..replications)
        .map(|r| {
            let mut w = Workload::new(sc, r);
            let mut stream: Vec<(Time, Addr)> = Vec::new();
            let mut buf: Vec<Request> = Vec::with_capacity(1 << 14);
            loop {
                buf.clear();
                w.fill(&mut buf, sc.duration, 1 << 14);
                if buf.is_empty() {
                    break;
                }
                stream.extend(buf.iter().map(|q| (q.time, q.addr)));
            }
            stats::measure(&stream, start, end, idle)
        })
        .collect();
    WorkloadStats::average(&runs)
}

/// The log's statistics, cut at `idle`.
pub fn measure_log(log: &LogRequests, idle: Time) -> WorkloadStats {
    stats::measure(&log.stream(), log.start, log.end, idle)
}

/// A log's path as a scenario name.
pub fn name_of(path: &Path) -> String {
    let stem = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = stem.split('.').next().unwrap_or("log").to_string();
    format!(
        "fit-{}",
        stem.chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' })
            .collect::<String>()
    )
}
