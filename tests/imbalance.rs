//! The imbalance metric against theory: hashing W equal keys onto N servers gives
//! max/mean ≈ 1 + c_N·sqrt((N−1)/W), with c_N the expected maximum of N standard
//! normals (workload reference §4.2), times sqrt(N/(N−1)) because the N counts sum
//! to W; and a perfectly even policy scores 1 even when servers join mid-run under
//! a daily load curve.

use std::path::Path;

use lbsim::experiment;
use lbsim::scenario::Scenario;

fn run(text: &str) -> experiment::RunResult {
    experiment::run(&Scenario::parse(text, Path::new("imbalance.toml")).expect("valid scenario"))
}

#[test]
fn ip_hash_of_distinct_addresses_matches_balls_into_bins() {
    // About 10,000 users, each from its own address, one request each.
    let result = run(r#"
duration = "10000s"
replications = 12
policies = ["ip_hash"]
[arrivals]
rate = "1/s"
[sessions]
requests = { dist = "constant", value = 1 }
[servers]
count = 8
queueing = false
"#);
    // E[max of 8 standard normals].
    let c8 = 1.4236;
    let (mut measured, mut predicted) = (0.0, 0.0);
    for rep in &result.replications {
        let lane = &rep.lanes[0];
        let w = lane.report.totals.served as f64;
        measured += lane.report.requests_spread.max_over_mean;
        predicted += 1.0 + c8 * (8.0f64 / 7.0).sqrt() * (7.0 / w).sqrt();
    }
    let n = result.replications.len() as f64;
    let (measured, predicted) = (measured / n, predicted / n);
    // One replication's max/mean has a standard deviation near 0.011; over 12 the
    // mean's is near 0.003, so 0.012 is about four of them.
    assert!(
        (measured - predicted).abs() < 0.012,
        "measured {measured:.4}, theory {predicted:.4}"
    );
}

#[test]
fn even_policy_scores_one_with_late_servers_and_a_daily_curve() {
    let result = run(r#"
duration = "24h"
policies = ["round_robin", "ip_hash"]
[arrivals]
rate = "0.5/s"
diurnal = { peak_to_mean = 1.9, peak_hour = 20 }
[servers]
count = 4
queueing = false
[[events]]
at = "15h"
action = "add"
[[events]]
at = "18h05m"
action = "fail"
server = "s2"
for = "1h"
"#);
    let lanes = &result.replications[0].lanes;
    let rr = &lanes[0].report;
    // The server added at 15:00 sees the evening peak: per-second rates or raw
    // counts would call round robin unbalanced; the fair-share yardstick must not.
    assert!(rr.requests_spread.max_over_mean < 1.01, "{:?}", rr.requests_spread);
    // Windows the failure cuts into count s2 for the minutes it was up.
    let worst = rr.windows.iter().map(|w| w.requests.max_over_mean).fold(0.0, f64::max);
    assert!(worst < 1.05, "worst window {worst}");
    let late = rr.servers.iter().find(|s| s.name == "s5").expect("added server");
    assert!(late.requests as f64 > 0.3 * rr.servers[0].requests as f64);
    // Hashing is measurably less even than rotation on the same traffic.
    assert!(lanes[1].report.requests_spread.max_over_mean > rr.requests_spread.max_over_mean);
}
