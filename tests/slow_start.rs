//! Slow start against hand-computed shares: one user sends a request every 50 ms
//! for a minute to servers A and B of weight 1; B fails at 10 s and recovers at
//! 20 s. Round robin then gives B, in each stretch of the ramp, its weight's share
//! of the requests: w / (w_A + w) of them, with the weights each product's ramp
//! gives at that time.

use std::path::Path;

use lbsim::experiment::{LaneOutcome, RunResult};
use lbsim::scenario::Scenario;

fn run(policy: &str, slow_start: &str) -> RunResult {
    let text = format!(
        r#"
duration = "1m"
policies = ["{policy}", "ring"]

[servers]
names = ["A", "B"]
queueing = false

[[events]]
at = "10s"
action = "fail"
server = "B"
for = "10s"

[[users]]
name = "one"
address = "192.0.2.1"
visits = ["0s"]
requests = 1200
think = {{ dist = "constant", value = "50ms" }}

{slow_start}
"#
    );
    let sc = Scenario::parse(&text, Path::new("slow-start.toml")).expect("valid scenario");
    lbsim::experiment::run(&sc)
}

fn lane<'a>(result: &'a RunResult, label: &str) -> &'a LaneOutcome {
    result.replications[0]
        .lanes
        .iter()
        .find(|l| l.label == label)
        .expect("the lane")
}

/// Requests B served in [from, to) seconds.
fn to_b(lane: &LaneOutcome, from: f64, to: f64) -> usize {
    lane.journeys
        .iter()
        .filter(|s| s.server == "B" && (from..to).contains(&(s.time as f64 / 1e9)))
        .count()
}

fn near(actual: usize, expected: f64, slack: f64) -> bool {
    (actual as f64 - expected).abs() <= slack
}

#[test]
fn haproxy_steps_each_second_from_one_sixteenth() {
    let result = run("round_robin", "[slow_start]\nproduct = \"haproxy\"\nwindow = \"4s\"");
    let rr = lane(&result, "round_robin");
    // Effective weights (16·e + 4) / 4 = 1, 5, 9, 13 against A's 16, then 16: of 20
    // requests a second, B gets 20/17, 100/21, 180/25, 260/29, then 10.
    for (second, expected) in [(20, 1.18), (21, 4.76), (22, 7.2), (23, 8.97)] {
        let got = to_b(rr, second as f64, second as f64 + 1.0);
        assert!(near(got, expected, 1.0), "second {second}: {got}, expected {expected}");
    }
    for second in 24..60 {
        assert_eq!(to_b(rr, second as f64, second as f64 + 1.0), 10, "second {second}");
    }
    assert_eq!(to_b(rr, 10.0, 20.0), 0, "down");
}

/// B's expected requests over a ramp of steps of 100 ms (two requests each) whose
/// weight factor at step j is `factor(j)`.
fn ramped(factor: impl Fn(f64) -> f64) -> f64 {
    (0..100).map(|j| factor(j as f64)).map(|f| 2.0 * f / (1.0 + f)).sum()
}

#[test]
fn envoy_follows_the_time_factor_with_its_floor() {
    let result = run("round_robin", "[slow_start]\nproduct = \"envoy\"\nwindow = \"10s\"");
    let rr = lane(&result, "round_robin");
    // max(10%, t / 10 s) at t = 0.1·j s.
    let expected = ramped(|j| (j / 100.0).max(0.1));
    let got = to_b(rr, 20.0, 30.0);
    assert!(near(got, expected, 2.0), "{got}, expected {expected:.1}");
    assert!(near(to_b(rr, 20.0, 21.0), 20.0 * 0.1 / 1.1, 1.0), "the floor");
    assert_eq!(to_b(rr, 30.0, 40.0), 100, "full weight after the window");

    let result = run(
        "round_robin",
        "[slow_start]\nproduct = \"envoy\"\nwindow = \"10s\"\naggression = 2.0\nmin_weight_percent = 0",
    );
    let expected = ramped(|j| (j.max(0.0001) / 100.0).sqrt());
    let got = to_b(lane(&result, "round_robin"), 20.0, 30.0);
    assert!(near(got, expected, 2.0), "{got}, expected {expected:.1}");
}

#[test]
fn nginx_ramps_from_zero_and_keeps_hashes_out() {
    for policy in ["nginx.round_robin", "round_robin"] {
        let result = run(policy, "[slow_start]\nproduct = \"nginx\"\nwindow = \"10s\"");
        // t / 10 s on a scale of 100, at least one unit.
        let expected = ramped(|j| (j / 100.0).max(0.01));
        let got = to_b(lane(&result, policy), 20.0, 30.0);
        assert!(near(got, expected, 2.0), "{policy}: {got}, expected {expected:.1}");
    }
    let err = Scenario::parse(
        "duration = \"1m\"\npolicies = [\"round_robin\", \"nginx.ip_hash\"]\n[arrivals]\nrate = \"1/s\"\n\
         [servers]\ncount = 2\n[slow_start]\nproduct = \"nginx\"\nwindow = \"10s\"\n",
        Path::new("refused.toml"),
    )
    .expect_err("nginx refuses slow_start with ip_hash")
    .to_string();
    assert!(
        err.contains("refused.toml:2:29") && err.contains("nginx refuses slow_start"),
        "{err}"
    );
}

#[test]
fn policies_the_product_does_not_ramp_run_as_without_it() {
    let without = run("round_robin", "");
    let plain = lane(&without, "round_robin");
    assert_eq!(to_b(plain, 20.0, 21.0), 10, "no ramp: B at once at its share");
    for product in ["haproxy", "envoy", "nginx"] {
        let with = run(
            "round_robin",
            &format!("[slow_start]\nproduct = \"{product}\"\nwindow = \"10s\""),
        );
        // Compared as printed: utilisation is NaN without queueing.
        let printed = |r: &RunResult| format!("{:?}", lane(r, "ring"));
        assert_eq!(printed(&with), printed(&without), "{product}");
    }
}

#[test]
fn the_ramp_starts_when_the_checks_pass_or_the_server_is_added() {
    let text = |extra: &str| {
        format!(
            r#"
duration = "1m"
policies = ["round_robin"]

[servers]
names = ["A", "B"]
queueing = false

[[events]]
at = "10s"
action = "fail"
server = "B"
for = "10s"

[[events]]
at = "30s"
action = "add"
server = "C"

[[users]]
name = "one"
address = "192.0.2.1"
visits = ["0s"]
requests = 1200
think = {{ dist = "constant", value = "50ms" }}

{extra}
"#
        )
    };
    let checks = "[health_checks]\ninterval = \"2s\"\n";
    let slow = "[slow_start]\nproduct = \"haproxy\"\nwindow = \"4s\"\n";
    let served = |extra: &str| {
        let sc = Scenario::parse(&text(extra), Path::new("checks.toml")).expect("valid scenario");
        lbsim::experiment::run(&sc).replications[0].lanes[0].clone()
    };
    let first_back = |lane: &LaneOutcome| {
        lane.journeys
            .iter()
            .find(|s| s.server == "B" && s.time as f64 / 1e9 >= 20.0)
            .map(|s| s.time as f64 / 1e9)
            .expect("B serves again")
    };
    let (plain, ramped) = (served(checks), served(&format!("{checks}{slow}")));
    let (t0, t1) = (first_back(&plain), first_back(&ramped));
    assert!(t0 > 20.0, "the checks take their time: {t0}");
    // Of 20 requests in the first second back: 10 at full weight, 20/17 at 1/16.
    assert_eq!(to_b(&plain, t0, t0 + 1.0), 10);
    // Round robin's turns may put one pick more at either end of the second.
    assert!(
        to_b(&ramped, t1, t1 + 1.0) <= 3,
        "the ramp starts at the checks' verdict"
    );
    // C joins at 30 s among A and B (A at full weight, B too by then): 20/33 at 1/16.
    let to_c = |lane: &LaneOutcome| {
        lane.journeys
            .iter()
            .filter(|s| s.server == "C" && (30.0..31.0).contains(&(s.time as f64 / 1e9)))
            .count()
    };
    assert!(
        to_c(&plain) >= 6 && to_c(&ramped) <= 1,
        "{} {}",
        to_c(&plain),
        to_c(&ramped)
    );
}
