//! Servers that differ: per-server workers and service speed. Hand-computed
//! cases: utilisation follows the work each server is given over its own
//! workers, M/M/c holds server by server, and load-aware routing favours the
//! server that finishes sooner.

use std::path::Path;

use lbsim::metrics::stats::Estimate;
use lbsim::scenario::Scenario;

/// Mean response time of an M/M/c queue at arrival rate `lambda` and service
/// rate `mu` per worker, from the Erlang C probability of waiting.
fn erlang_c_response(c: u32, lambda: f64, mu: f64) -> f64 {
    let a = lambda / mu;
    let mut term = 1.0;
    let mut below = 0.0;
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    let wait_prob = top / (below + top);
    wait_prob / (f64::from(c) * mu - lambda) + 1.0 / mu
}

fn scenario(policy: &str, rate: f64, servers: &str, replications: u32) -> Scenario {
    let text = format!(
        r#"
seed = 5
duration = "2h"
replications = {replications}
policies = ["{policy}"]

[arrivals]
rate = "{rate}/s"

[sessions]
requests = {{ dist = "constant", value = 1 }}

[servers]
names = ["slow", "fast"]
{servers}
service = {{ dist = "exponential", mean = "1s" }}
"#
    );
    Scenario::parse(&text, Path::new("differ.toml")).expect("valid scenario")
}

#[test]
fn a_server_twice_as_fast_is_half_as_busy_under_round_robin() {
    // 2/s split evenly: 1/s of 1 s work over 4 workers is 25% busy; at speed 2, 12.5%.
    let sc = scenario("round_robin", 2.0, "workers = 4\nspeeds = [1, 2]", 5);
    let result = lbsim::experiment::run(&sc);
    let (mut slow, mut fast, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for r in &result.replications {
        let s = &r.lanes[0].report.servers;
        assert!(s[0].requests.abs_diff(s[1].requests) <= 1, "round robin alternates");
        slow.push(s[0].utilisation);
        fast.push(s[1].utilisation);
        ratio.push(s[1].utilisation / s[0].utilisation);
    }
    let (slow, fast, ratio) = (Estimate::of(&slow), Estimate::of(&fast), Estimate::of(&ratio));
    assert!((slow.mean - 0.25).abs() <= slow.half_width.max(0.005), "slow: {slow:?}");
    assert!(
        (fast.mean - 0.125).abs() <= fast.half_width.max(0.003),
        "fast: {fast:?}"
    );
    assert!(
        (ratio.mean - 0.5).abs() <= ratio.half_width.max(0.01),
        "fast / slow: {ratio:?}"
    );
}

#[test]
fn each_server_is_its_own_m_m_c_queue() {
    // Random routing thins the Poisson arrivals into two Poisson streams of λ/2:
    // "slow" is M/M/2 with μ = 1, "fast" M/M/8 with μ = 2 (speed 2 halves the work).
    let lambda = 3.0;
    let sc = scenario("random", lambda, "worker_counts = [2, 8]\nspeeds = [1, 2]", 10);
    let want_w = 0.5 * erlang_c_response(2, lambda / 2.0, 1.0) + 0.5 * erlang_c_response(8, lambda / 2.0, 2.0);
    let result = lbsim::experiment::run(&sc);
    let (mut w, mut slow, mut fast) = (Vec::new(), Vec::new(), Vec::new());
    for r in &result.replications {
        let report = &r.lanes[0].report;
        w.push(report.latency.mean);
        slow.push(report.servers[0].utilisation);
        fast.push(report.servers[1].utilisation);
    }
    let (w, slow, fast) = (Estimate::of(&w), Estimate::of(&slow), Estimate::of(&fast));
    assert!(w.half_width < 0.05 * want_w, "interval too wide: {w:?}");
    assert!((w.mean - want_w).abs() <= w.half_width, "W = {w:?}, Erlang C {want_w}");
    // ρ = λ/(cμ): 1.5/2 and 1.5/16.
    assert!((slow.mean - 0.75).abs() <= slow.half_width.max(0.01), "slow: {slow:?}");
    assert!(
        (fast.mean - 0.09375).abs() <= fast.half_width.max(0.003),
        "fast: {fast:?}"
    );
}

#[test]
fn least_conn_sends_more_to_the_server_that_finishes_sooner() {
    // With the same weight, least connections evens out requests in flight; a
    // server three times as fast holds each one a third as long, so takes more.
    let sc = scenario("least_conn", 8.0, "workers = 16\nspeeds = [1, 3]", 1);
    let result = lbsim::experiment::run(&sc);
    let s = &result.replications[0].lanes[0].report.servers;
    let share = s[1].requests as f64 / (s[0].requests + s[1].requests) as f64;
    assert!(share > 0.6, "the fast server's share is {share}");
    // The same pool with equal servers splits evenly.
    let even = lbsim::experiment::run(&scenario("least_conn", 8.0, "workers = 16", 1));
    let e = &even.replications[0].lanes[0].report.servers;
    let even_share = e[1].requests as f64 / (e[0].requests + e[1].requests) as f64;
    assert!((even_share - 0.5).abs() < 0.02, "equal servers: {even_share}");
}

#[test]
fn added_and_replacement_servers_keep_their_size() {
    // "fast" is replaced by a deploy: its replacement is as fast. "extra" joins
    // at speed 2 with 4 workers. Under round robin each ends up half as busy as
    // "slow" per unit of time up.
    let text = r#"
seed = 5
duration = "2h"
replications = 3
policies = ["round_robin"]

[arrivals]
rate = "3/s"

[sessions]
requests = { dist = "constant", value = 1 }

[servers]
names = ["slow", "fast"]
workers = 4
speeds = [1, 2]
service = { dist = "exponential", mean = "1s" }

[[events]]
at = "10m"
action = "add"
server = "extra"
speed = 2

[[deploys]]
at = "20m"
servers = ["fast"]
drain = "1s"
"#;
    let sc = Scenario::parse(text, Path::new("sizes.toml")).expect("valid scenario");
    let result = lbsim::experiment::run(&sc);
    let mut ratios = (Vec::new(), Vec::new());
    for r in &result.replications {
        let s = &r.lanes[0].report.servers;
        let by = |name: &str| s.iter().find(|x| x.name == name).expect("server reported").utilisation;
        ratios.0.push(by("extra") / by("slow"));
        ratios.1.push(by("fast.v2") / by("slow"));
    }
    for (what, r) in [("extra", ratios.0), ("fast.v2", ratios.1)] {
        let e = Estimate::of(&r);
        assert!((e.mean - 0.5).abs() <= e.half_width.max(0.03), "{what} / slow: {e:?}");
    }
}
