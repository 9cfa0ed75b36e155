//! M/M/c against Erlang C: one server with c = 8 workers, Poisson arrivals of
//! one-request visits, exponential service with mean 1 s. The simulated mean
//! response time must match the closed form within a Student-t 95% interval
//! across replications, and the interval must be narrow enough to mean something.

use std::path::Path;

use lbsim::metrics::stats::Estimate;
use lbsim::scenario::Scenario;

const WORKERS: u32 = 8;

/// Mean response time W of an M/M/c queue with offered load `a` = λ/μ, from the
/// Erlang C probability of waiting: W = C(c, a) / (cμ − λ) + 1/μ.
fn erlang_c_response(c: u32, a: f64, mu: f64) -> f64 {
    // Sum of a^k / k! for k < c, and a^c / c!, built term by term.
    let mut term = 1.0;
    let mut below = 0.0;
    for k in 0..c {
        below += term;
        term *= a / f64::from(k + 1);
    }
    let top = term * f64::from(c) / (f64::from(c) - a);
    let wait_prob = top / (below + top);
    wait_prob / (f64::from(c) * mu - a * mu) + 1.0 / mu
}

fn mmc(rate: f64, duration: &str) -> Scenario {
    let text = format!(
        r#"
seed = 11
duration = "{duration}"
replications = 10
policies = ["round_robin"]

[arrivals]
rate = "{rate}/s"

[sessions]
requests = {{ dist = "constant", value = 1 }}

[servers]
names = ["mmc"]
workers = {WORKERS}
service = {{ dist = "exponential", mean = "1s" }}
queueing = true
"#
    );
    Scenario::parse(&text, Path::new("mmc.toml")).expect("valid M/M/c scenario")
}

/// Runs M/M/8 at arrival rate `rate` (μ = 1/s) and checks the mean response time
/// against Erlang C and the utilisation against ρ = λ/(cμ).
fn check(rate: f64, duration: &str) {
    let want = erlang_c_response(WORKERS, rate, 1.0);
    let rho = rate / f64::from(WORKERS);
    let result = lbsim::experiment::run(&mmc(rate, duration));
    let (mut means, mut utils) = (Vec::new(), Vec::new());
    for r in &result.replications {
        let report = &r.lanes[0].report;
        assert_eq!(report.totals.dropped, 0, "no queue limit: nothing may be dropped");
        assert_eq!(report.totals.served, report.totals.requests);
        means.push(report.latency.mean);
        utils.push(report.servers[0].utilisation);
    }
    let w = Estimate::of(&means);
    assert_eq!(w.n, 10);
    // Narrow enough that a 3% error in W would not pass unnoticed.
    assert!(
        w.half_width < 0.03 * want,
        "interval too wide to test anything: {w:?} vs W = {want}"
    );
    assert!(
        (w.mean - want).abs() <= w.half_width,
        "M/M/8 at λ = {rate}/s: simulated W = {} ± {}, Erlang C W = {want}",
        w.mean,
        w.half_width
    );
    let u = Estimate::of(&utils);
    assert!(
        (u.mean - rho).abs() <= u.half_width,
        "utilisation {} ± {}, expected ρ = {rho}",
        u.mean,
        u.half_width
    );
}

#[test]
fn erlang_c_formula_matches_tables() {
    // Published M/M/8 values: ρ = 0.8 gives W = 1.286, ρ = 0.9 gives W = 1.877.
    assert!((erlang_c_response(8, 6.4, 1.0) - 1.286).abs() < 5e-4);
    assert!((erlang_c_response(8, 7.2, 1.0) - 1.877).abs() < 5e-4);
    // c = 1 reduces to M/M/1: W = 1 / (μ − λ).
    assert!((erlang_c_response(1, 0.5, 1.0) - 2.0).abs() < 1e-12);
}

#[test]
fn mm8_at_rho_0_8_matches_erlang_c() {
    check(6.4, "6h");
}

#[test]
fn mm8_at_rho_0_9_matches_erlang_c() {
    // Near saturation the waiting time is strongly autocorrelated: twice the run
    // length keeps the interval within 3% of W.
    check(7.2, "12h");
}

#[test]
fn queue_limit_zero_still_serves_requests_that_need_not_wait() {
    // One request every 10 s on average for 8 workers busy 1 s each: the chance
    // that all 8 are busy (Erlang B) is about 1e-13, so nothing should be dropped.
    let text = r#"
duration = "1h"
policies = ["round_robin"]

[arrivals]
rate = "0.1/s"

[sessions]
requests = { dist = "constant", value = 1 }

[servers]
names = ["mmc"]
workers = 8
service = { dist = "exponential", mean = "1s" }
queue_limit = 0
"#;
    let sc = Scenario::parse(text, Path::new("no-waiting.toml")).expect("valid scenario");
    let totals = lbsim::experiment::run(&sc).replications[0].lanes[0].report.totals;
    assert!(totals.requests > 200, "{totals:?}");
    assert_eq!(totals.dropped, 0, "{totals:?}");
}

#[test]
fn an_overloaded_server_is_at_most_fully_busy() {
    // Twice the work one worker can do: utilisation counts work done, so it
    // approaches 1 and never passes it, whatever is left in the queue at the end.
    let text = r#"
duration = "1h"
policies = ["round_robin"]
[arrivals]
rate = "2/s"
[sessions]
requests = { dist = "constant", value = 1 }
[servers]
count = 1
workers = 1
service = { dist = "exponential", mean = "1s" }
"#;
    let sc = Scenario::parse(text, Path::new("overload.toml")).expect("valid scenario");
    let u = lbsim::experiment::run(&sc).replications[0].lanes[0].report.servers[0].utilisation;
    assert!((0.99..=1.0).contains(&u), "utilisation {u}");
}
