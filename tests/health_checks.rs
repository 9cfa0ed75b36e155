//! Health checks against hand-computed timelines: one user sends a request every
//! second from 10:00:00 (at 36,000 s) to 36,059 s; server A really fails at
//! 36,010.5 s and is repaired 20 s later. With HAProxy's defaults (checks every 2 s,
//! down after 3 failed, up after 2 passed; A, the first server, is checked at even
//! seconds) the checks fail at 36,012, 36,014 and 36,016, so A leaves the pool at
//! 36,016; they pass at 36,032 and 36,034, so it is back at 36,034. Requests 36,011
//! to 36,015 (five) reach a dead server.

use std::path::Path;

use lbsim::experiment::{LaneOutcome, RunResult};
use lbsim::metrics::LossCause;
use lbsim::scenario::Scenario;

fn run(text: &str) -> RunResult {
    let sc = Scenario::parse(text, Path::new("health.toml")).expect("valid scenario");
    lbsim::experiment::run(&sc)
}

fn only_lane(result: &RunResult) -> &LaneOutcome {
    &result.replications[0].lanes[0]
}

fn scenario(servers: &str, policy: &str, failing: &str, checks: &str) -> String {
    format!(
        r#"
duration = "11h"
policies = ["{policy}"]

[servers]
names = [{servers}]
queueing = false

[[events]]
at = 36010.5
action = "fail"
server = "{failing}"
for = "20s"

[health_checks]
{checks}

[[users]]
name = "one"
address = "192.0.2.1"
visits = ["10h"]
requests = 60
think = {{ dist = "constant", value = "1s" }}
"#
    )
}

fn failed(lane: &LaneOutcome, panic: bool) -> u64 {
    lane.report.by_cause[LossCause::UndetectedFailure { panic }.index()]
}

#[test]
fn requests_fail_until_the_checks_notice_then_find_no_server() {
    let result = run(&scenario(r#""A""#, "round_robin", "A", ""));
    let lane = only_lane(&result);
    let t = lane.report.totals;
    assert_eq!(t.requests, 60);
    assert_eq!(failed(lane, false), 5, "36,011..36,015 reach the dead server");
    assert_eq!(t.unroutable, 18, "36,016..36,033: A is out of the pool, nothing is up");
    assert_eq!(t.served, 11 + 26, "36,000..36,010 and 36,034..36,059");
    assert_eq!(
        lane.report.by_cause[LossCause::ServerGone.index()],
        1,
        "the first request back finds its state gone with the crash"
    );
    let failed_steps: Vec<f64> = lane
        .journeys
        .iter()
        .filter(|s| s.outcome == "failed")
        .map(|s| s.time as f64 / 1e9)
        .collect();
    assert_eq!(failed_steps, [36_011.0, 36_012.0, 36_013.0, 36_014.0, 36_015.0]);
    let verbs: Vec<(f64, &str)> = lane
        .report
        .remaps
        .iter()
        .map(|e| (e.at as f64 / 1e9, e.action))
        .collect();
    assert_eq!(
        verbs,
        [
            (36_010.5, "crash"),
            (36_016.0, "fail"),
            (36_030.5, "restore"),
            (36_034.0, "recover")
        ]
    );
}

#[test]
fn a_longer_fall_lets_more_requests_fail() {
    // fall = 5 at 1 s: checks fail at 36,011 .. 36,015, down at 36,015; rise = 1
    // brings A back at the first passing check, 36,031.
    let result = run(&scenario(
        r#""A""#,
        "round_robin",
        "A",
        "interval = \"1s\"\nfall = 5\nrise = 1",
    ));
    let lane = only_lane(&result);
    assert_eq!(failed(lane, false), 4, "36,011..36,014");
    assert_eq!(lane.report.totals.unroutable, 16, "36,015..36,030");
}

#[test]
fn below_the_panic_threshold_the_dead_server_keeps_its_traffic() {
    let result = run(&scenario(r#""A""#, "round_robin", "A", "panic_threshold = 0.5"));
    let lane = only_lane(&result);
    assert_eq!(failed(lane, false), 5);
    // No healthy host: Envoy routes to all of them, so 36,016..36,030 fail at A,
    // and once A is repaired at 36,030.5 panic keeps sending it requests, which it
    // serves, before its checks pass at 36,034.
    assert_eq!(failed(lane, true), 15);
    assert_eq!(lane.report.totals.unroutable, 0);
    assert_eq!(lane.report.totals.served, 11 + 3 + 26);
}

#[test]
fn a_retry_on_another_host_saves_the_request() {
    // Find where the hash sends the user, then fail that server.
    let probe = run(&scenario(r#""A", "B""#, "ip_hash", "B", ""));
    let home = only_lane(&probe).journeys[0].server.clone();
    let other = if home == "A" { "B" } else { "A" };
    let plain = run(&scenario(r#""A", "B""#, "ip_hash", &home, ""));
    let lane = only_lane(&plain);
    // A is checked at even seconds, B at odd ones (the checks are spread over the
    // interval), so B's failure is seen a second later, at 36,017.
    let seen = if home == "A" { 5 } else { 6 };
    assert_eq!(failed(lane, false), seen, "{home} is the user's server");
    let retried = run(&scenario(r#""A", "B""#, "ip_hash", &home, "retries = 1"));
    let lane = only_lane(&retried);
    assert_eq!(failed(lane, false), 0);
    assert_eq!(lane.report.totals.served, 60);
    let detected = (36_011 + seen) * 1_000_000_000;
    let retried_on_other = lane
        .journeys
        .iter()
        .filter(|s| s.server == other && s.time < detected)
        .count() as u64;
    assert_eq!(retried_on_other, seen, "each failed pick is retried on {other}");
}

#[test]
fn flapping_servers_fail_and_recover_by_themselves() {
    let text = r#"
duration = "6h"
policies = ["ring", "cookie(base=least_conn)"]
[arrivals]
rate = "2/s"
[servers]
count = 4
queueing = false
[health_checks]
[[flapping]]
servers = ["s2", "s3"]
mtbf = { dist = "exponential", mean = "1h" }
mttr = { dist = "exponential", mean = "2m" }
"#;
    let result = run(text);
    for lane in &result.replications[0].lanes {
        let crashes = lane.report.remaps.iter().filter(|e| e.action == "crash").count();
        assert!((4..=30).contains(&crashes), "about 12 failures expected: {crashes}");
        assert!(
            failed(lane, false) > 0,
            "{}: requests reach a failed server",
            lane.label
        );
        assert!(
            lane.report.remaps.iter().all(|e| e.server == "s2" || e.server == "s3"),
            "only the flapping servers change"
        );
    }
    let again = run(text);
    for (a, b) in result.replications[0].lanes.iter().zip(&again.replications[0].lanes) {
        assert_eq!(
            (a.report.totals, a.report.by_cause, &a.report.remaps),
            (b.report.totals, b.report.by_cause, &b.report.remaps),
            "deterministic"
        );
    }
}

#[test]
fn bad_health_values_are_located() {
    let cases = [
        ("[health_checks]\nfall = 0\n", "invalid count 0"),
        ("[health_checks]\ninterval = \"0s\"\n", "interval must be longer than 0"),
        ("[health_checks]\npanic_threshold = 1.5\n", "invalid share"),
        ("[health_checks]\nretries = 11\n", "at most 10 retries"),
        (
            "[[flapping]]\nservers = [\"s9\"]\nmtbf = { dist = \"exponential\", mean = \"1h\" }\nmttr = { dist = \"exponential\", mean = \"1m\" }\n",
            "unknown server \"s9\"",
        ),
        (
            "[[flapping]]\nservers = [\"s1\"]\nmtbf = { dist = \"exponential\", mean = \"1h\" }\n",
            "missing field `mttr`",
        ),
    ];
    for (section, expected) in cases {
        let text = format!(
            "duration = \"1h\"\npolicies = [\"ring\"]\n[arrivals]\nrate = \"1/s\"\n[servers]\ncount = 2\n{section}"
        );
        let e = Scenario::parse(&text, Path::new("bad.toml"))
            .expect_err(section)
            .to_string();
        assert!(e.contains(expected), "{section}: {e}");
        assert!(e.starts_with("bad.toml:"), "located: {e}");
    }
    let both = "duration = \"1h\"\npolicies = [\"ring\"]\n[arrivals]\nrate = \"1/s\"\n[servers]\ncount = 2\n[[events]]\nat = \"10m\"\naction = \"fail\"\nserver = \"s1\"\n[[flapping]]\nservers = [\"s1\"]\nmtbf = { dist = \"exponential\", mean = \"1h\" }\nmttr = { dist = \"exponential\", mean = \"1m\" }\n";
    let e = Scenario::parse(both, Path::new("bad.toml"))
        .expect_err("both")
        .to_string();
    assert!(
        e.contains("bad.toml:12:11") && e.contains("also has a `fail` event"),
        "{e}"
    );
}
