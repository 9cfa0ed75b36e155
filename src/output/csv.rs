//! The CSV files of a run. Every row starts with the run's context (scenario,
//! policy, replication, seed), so files from many runs can be concatenated and
//! still be read without their folder names.

use ::csv::Writer;

use super::{num, ratio};
use crate::engine::time;
use crate::experiment::{LaneOutcome, Replication, RunResult};
use crate::metrics::{LossCause, Unserved};
use crate::scenario::Scenario;

const CONTEXT: [&str; 4] = ["scenario", "policy", "replication", "seed"];

/// Builds one CSV file from a header and rows produced per lane.
fn table<F>(sc: &Scenario, result: &RunResult, header: &[&str], mut rows: F) -> Vec<u8>
where
    F: FnMut(&Replication, &LaneOutcome, &mut dyn FnMut(Vec<String>)),
{
    let mut w = Writer::from_writer(Vec::new());
    let full: Vec<&str> = CONTEXT.iter().chain(header).copied().collect();
    w.write_record(&full).expect("in-memory write");
    for rep in &result.replications {
        for lane in &rep.lanes {
            let context = [
                sc.name.clone(),
                lane.label.clone(),
                rep.index.to_string(),
                sc.seed.to_string(),
            ];
            rows(rep, lane, &mut |row| {
                w.write_record(context.iter().cloned().chain(row))
                    .expect("in-memory write");
            });
        }
    }
    w.into_inner().expect("in-memory flush")
}

fn pct(part: u64, whole: u64) -> String {
    num(ratio(part, whole, 100.0))
}

fn per_1k(part: u64, whole: u64) -> String {
    num(ratio(part, whole, 1000.0))
}

fn ms(secs: f64) -> String {
    num(secs * 1e3)
}

/// The columns of summary.csv after the run's context.
pub const SUMMARY: &[&str] = &[
    "requests",
    "served",
    "dropped",
    "unroutable",
    "sessions",
    "sessions_lost",
    "sessions_lost_pct",
    "losses",
    "losses_per_1k_requests",
    "users",
    "users_affected",
    "users_affected_pct",
    "requests_max_mean",
    "requests_cv",
    "requests_jain",
    "peak_sessions_per_weight_max_mean",
    "peak_sessions_per_weight_cv",
    "peak_sessions_per_weight_jain",
    "window_requests_max_mean_worst",
    "remap_moved_pct",
    "latency_mean_ms",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "latency_max_ms",
    "utilisation_mean",
    "utilisation_max",
    "store_sessions_peak",
    "not_served_pct",
    "latency_p99_ms_worst_window",
    "utilisation_max_worst_window",
    "stream_checksum",
];

/// The numeric summary metrics of one lane, in `SUMMARY` order (everything but
/// the stream checksum). Counts are exact in an f64 (below 2^53), so they print
/// as the integers they are; NaN marks a metric without a value.
pub fn summary_values(lane: &LaneOutcome) -> Vec<f64> {
    let r = &lane.report;
    let t = &r.totals;
    let worst_window = r
        .windows
        .iter()
        .map(|w| w.requests.max_over_mean)
        .filter(|x| x.is_finite())
        .fold(f64::NAN, f64::max);
    let (predictable, moved) = r
        .remaps
        .iter()
        .fold((0, 0), |(p, m), x| (p + x.predictable, m + x.moved));
    let utils: Vec<f64> = r
        .servers
        .iter()
        .map(|s| s.utilisation)
        .filter(|u| u.is_finite())
        .collect();
    let util_mean = if utils.is_empty() {
        f64::NAN
    } else {
        utils.iter().sum::<f64>() / utils.len() as f64
    };
    let util_max = utils.iter().copied().fold(f64::NAN, f64::max);
    let count = |n: u64| n as f64;
    vec![
        count(t.requests),
        count(t.served),
        count(t.dropped),
        count(t.unroutable),
        count(t.visits),
        count(t.visits_lost),
        ratio(t.visits_lost, t.visits, 100.0),
        count(t.losses),
        ratio(t.losses, t.requests, 1000.0),
        count(t.users),
        count(t.users_lost),
        ratio(t.users_lost, t.users, 100.0),
        r.requests_spread.max_over_mean,
        r.requests_spread.cv,
        r.requests_spread.jain,
        r.peak_sessions_per_weight.max_over_mean,
        r.peak_sessions_per_weight.cv,
        r.peak_sessions_per_weight.jain,
        worst_window,
        ratio(moved, predictable, 100.0),
        r.latency.mean * 1e3,
        r.latency.p50 * 1e3,
        r.latency.p95 * 1e3,
        r.latency.p99 * 1e3,
        r.latency.max * 1e3,
        util_mean,
        util_max,
        r.store_sessions_peak.map_or(f64::NAN, |p| p as f64),
        ratio(t.not_served(), t.requests, 100.0),
        worst(r.windows.iter().map(|w| w.p99 * 1e3)),
        worst(r.windows.iter().map(|w| w.utilisation_max)),
    ]
}

/// The largest finite value, NaN when there is none: a metric in its worst window.
fn worst(xs: impl Iterator<Item = f64>) -> f64 {
    xs.filter(|x| x.is_finite()).fold(f64::NAN, f64::max)
}

/// The summary row of one lane, in `SUMMARY` order.
fn summary_row(lane: &LaneOutcome) -> Vec<String> {
    let mut row: Vec<String> = summary_values(lane).into_iter().map(num).collect();
    row.push(format!("{:016x}", lane.report.stream_checksum));
    row
}

/// Every CSV file of the run, by file name.
pub fn files(sc: &Scenario, result: &RunResult) -> Vec<(&'static str, Vec<u8>)> {
    let summary = table(sc, result, SUMMARY, |_, lane, row| row(summary_row(lane)));

    let timeseries = table(
        sc,
        result,
        &[
            "window_start_s",
            "clock",
            "requests",
            "served",
            "dropped",
            "sessions",
            "sessions_lost",
            "losses",
            "losses_per_1k_requests",
            "requests_max_mean",
            "requests_cv",
            "requests_jain",
            "peak_sessions_per_weight_max_mean",
            "latency_p99_ms",
            "utilisation_max",
        ],
        |_, lane, row| {
            for w in &lane.report.windows {
                let t = &w.totals;
                row(vec![
                    num(time::as_secs(w.start)),
                    time::clock(w.start),
                    t.requests.to_string(),
                    t.served.to_string(),
                    t.dropped.to_string(),
                    t.visits.to_string(),
                    t.visits_lost.to_string(),
                    t.losses.to_string(),
                    per_1k(t.losses, t.requests),
                    num(w.requests.max_over_mean),
                    num(w.requests.cv),
                    num(w.requests.jain),
                    num(w.peak_sessions_per_weight.max_over_mean),
                    ms(w.p99),
                    num(w.utilisation_max),
                ]);
            }
        },
    );

    let servers = table(
        sc,
        result,
        &[
            "server",
            "requests",
            "requests_share_pct",
            "fair_requests",
            "load_vs_fair",
            "peak_sessions",
            "up_s",
            "utilisation",
        ],
        |_, lane, row| {
            let served = lane.report.totals.served;
            for s in &lane.report.servers {
                row(vec![
                    s.name.clone(),
                    s.requests.to_string(),
                    pct(s.requests, served),
                    num(s.fair_requests),
                    num(s.requests as f64 / s.fair_requests),
                    s.peak_sessions.to_string(),
                    num(s.up_secs),
                    num(s.utilisation),
                ]);
            }
        },
    );

    let server_windows = table(
        sc,
        result,
        &[
            "window_start_s",
            "clock",
            "server",
            "requests",
            "fair_requests",
            "load_vs_fair",
            "utilisation",
        ],
        |_, lane, row| {
            for w in &lane.report.windows {
                for (s, sw) in lane.report.servers.iter().zip(&w.servers) {
                    // A server that was not up in the window has no fair share to compare with.
                    let load = if sw.fair_requests > 0.0 {
                        sw.requests as f64 / sw.fair_requests
                    } else {
                        f64::NAN
                    };
                    row(vec![
                        num(time::as_secs(w.start)),
                        time::clock(w.start),
                        s.name.clone(),
                        sw.requests.to_string(),
                        num(sw.fair_requests),
                        num(load),
                        num(sw.utilisation),
                    ]);
                }
            }
        },
    );

    let losses = table(
        sc,
        result,
        &["cause", "detail", "losses", "share_pct", "per_1k_requests"],
        |_, lane, row| {
            let r = &lane.report;
            for (i, cause) in LossCause::ALL.iter().enumerate() {
                let listed = match cause {
                    LossCause::Autoscale => sc.operations.autoscaling.is_some(),
                    LossCause::SplitConnections | LossCause::NotServed(Unserved::DeadConnection) => sc.per_connection(),
                    LossCause::L4Remap => sc.tiers.is_some(),
                    c => !c.is_operational() || !sc.operations.is_empty(),
                };
                if !listed {
                    continue;
                }
                row(vec![
                    cause.name().to_string(),
                    cause.detail().to_string(),
                    r.by_cause[i].to_string(),
                    pct(r.by_cause[i], r.totals.losses),
                    per_1k(r.by_cause[i], r.totals.requests),
                ]);
            }
        },
    );

    let events = table(
        sc,
        result,
        &[
            "at_s",
            "clock",
            "action",
            "server",
            "live_sessions",
            "predictable",
            "moved",
            "moved_pct",
        ],
        |_, lane, row| {
            for e in &lane.report.remaps {
                row(vec![
                    num(time::as_secs(e.at)),
                    time::clock(e.at),
                    e.action.to_string(),
                    e.server.clone(),
                    e.live.to_string(),
                    e.predictable.to_string(),
                    e.moved.to_string(),
                    pct(e.moved, e.predictable),
                ]);
            }
        },
    );

    let followed: Vec<&str> = sc
        .users
        .iter()
        .filter(|u| u.count == 1)
        .map(|u| u.name.as_str())
        .collect();
    let mut out = vec![
        ("summary.csv", summary),
        ("timeseries.csv", timeseries),
        ("servers.csv", servers),
        ("server_windows.csv", server_windows),
        ("losses.csv", losses),
        ("events.csv", events),
    ];
    if sc.operations.autoscaling.is_some() {
        out.push(("autoscale.csv", autoscale(sc, result)));
    }
    if !followed.is_empty() {
        let journeys = table(
            sc,
            result,
            &[
                "user", "time_s", "clock", "address", "server", "outcome", "cause", "detail",
            ],
            |_, lane, row| {
                for s in &lane.journeys {
                    row(vec![
                        followed[s.user as usize].to_string(),
                        num(time::as_secs(s.time)),
                        time::clock(s.time),
                        s.addr.clone(),
                        s.server.clone(),
                        s.outcome.to_string(),
                        s.cause.map_or("", |c| c.name()).to_string(),
                        s.cause.map_or("", |c| c.detail()).to_string(),
                    ]);
                }
            },
        );
        out.push(("journeys.csv", journeys));
    }
    out
}

/// autoscale.csv: the controller's evaluations, per replication (the same for
/// every policy).
fn autoscale(sc: &Scenario, result: &RunResult) -> Vec<u8> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record([
        "scenario",
        "replication",
        "seed",
        "time_s",
        "clock",
        "serving",
        "requested",
        "metric",
        "requests_per_s",
    ])
    .expect("in-memory write");
    for rep in &result.replications {
        let Some(a) = &rep.autoscale else { continue };
        for s in &a.samples {
            w.write_record([
                sc.name.clone(),
                rep.index.to_string(),
                sc.seed.to_string(),
                num(time::as_secs(s.at)),
                time::clock(s.at),
                s.serving.to_string(),
                s.requested.to_string(),
                num(s.metric),
                num(s.requests_per_sec),
            ])
            .expect("in-memory write");
        }
    }
    w.into_inner().expect("in-memory flush")
}
