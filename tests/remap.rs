//! How many live sessions a pool change moves, measured by the simulator at the
//! moment of an `add` event: a consistent-hash ring moves about 1/(N+1) of them,
//! mod-N source hashing about N/(N+1).

use std::path::Path;

use lbsim::metrics::tally::Remap;
use lbsim::scenario::Scenario;

/// N servers; 10 new users per second for an hour, one request each, every user
/// from its own address, state kept 12 h so every session is still live when a
/// server is added at 1 h.
fn scenario(n: u32) -> Scenario {
    let text = format!(
        r#"
seed = 5
duration = "1h1s"
policies = ["ip_hash", "ring(vnodes=160)"]

[arrivals]
rate = "10/s"

[sessions]
requests = {{ dist = "constant", value = 1 }}
state_ttl = "12h"

[servers]
count = {n}
queueing = false

[[events]]
at = "1h"
action = "add"
"#
    );
    Scenario::parse(&text, Path::new("remap.toml")).expect("valid remap scenario")
}

/// The share of live sessions the add event moved, per policy label, after
/// checking the event saw (nearly) every user's session as live and predictable.
fn moved_shares(n: u32) -> Vec<(String, f64)> {
    let result = lbsim::experiment::run(&scenario(n));
    let rep = &result.replications[0];
    rep.lanes
        .iter()
        .map(|lane| {
            let Remap {
                action,
                server,
                live,
                predictable,
                moved,
                ..
            } = match lane.report.remaps.as_slice() {
                [one] => one.clone(),
                other => panic!("{}: expected one pool change, got {other:?}", lane.label),
            };
            assert_eq!(action, "add");
            assert_eq!(server, format!("s{}", n + 1));
            // Only the users arriving in the last second are not live yet.
            let users = lane.report.totals.users;
            assert!(
                live <= users && live as f64 >= 0.99 * users as f64,
                "{}: {live} live of {users}",
                lane.label
            );
            assert!(live > 30_000, "too few sessions to measure a share: {live}");
            // Both policies are pure functions of the address: every session is predictable.
            assert_eq!(predictable, live, "{}", lane.label);
            (lane.label.clone(), moved as f64 / predictable as f64)
        })
        .collect()
}

fn share(shares: &[(String, f64)], label: &str) -> f64 {
    shares
        .iter()
        .find(|(l, _)| l == label)
        .unwrap_or_else(|| panic!("no lane {label}"))
        .1
}

fn check(n: u32) {
    let shares = moved_shares(n);
    let n = f64::from(n);

    // A key stays only if h mod N == h mod (N+1), which for uniform h happens with
    // probability 1/(N+1). Binomial sampling error with over 30,000 sessions is
    // under 0.0025, so ±0.01 is 4 standard deviations.
    let ip = share(&shares, "ip_hash");
    let want = n / (n + 1.0);
    assert!(
        (ip - want).abs() < 0.01,
        "ip_hash with N = {n}: moved {ip}, expected {want}"
    );

    // A ring moves exactly the arcs the new server takes: its share, 1/(N+1) on
    // average. With 160 points per server that share has a relative standard
    // deviation of about 1/sqrt(160) = 8% (plus about 1% of sampling error), so
    // ±30% is almost 4 standard deviations.
    let ring = share(&shares, "ring(vnodes=160)");
    let want = 1.0 / (n + 1.0);
    assert!(
        (ring - want).abs() < 0.3 * want,
        "ring with N = {n}: moved {ring}, expected {want}"
    );
}

#[test]
fn adding_a_fifth_server() {
    check(4);
}

#[test]
fn adding_a_tenth_server() {
    check(9);
}
