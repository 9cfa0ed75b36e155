//! Common random numbers: within a replication every policy lane is fed exactly
//! the same request stream, whatever the policy does with it (drops, losses,
//! pool changes), while different replications get independent streams.

use std::path::Path;
use std::sync::LazyLock;

use lbsim::experiment::Replication;
use lbsim::metrics::LaneReport;
use lbsim::scenario::Scenario;

/// Load-aware, hash-based and memory-based policies on a mixed population with
/// address churn, shared CGNAT addresses, a failing server, an added server and a
/// one-place waiting line that turns some requests away.
const SCENARIO: &str = r#"
seed = 8
duration = "2h"
replications = 2
policies = [
  "round_robin",
  "random",
  "least_conn",
  "ip_hash",
  "ring(vnodes=100)",
  "stick_table(base=least_conn, expire=20m, size=500)",
  "cookie(base=least_conn, max_age=1h)",
]

[arrivals]
rate = "0.5/s"
diurnal = { peak_to_mean = 1.5, peak_hour = 1 }

[sessions]
state_ttl = "30m"
return_share = 0.3
return_after = { dist = "exponential", mean = "20m" }

[[networks]]
kind = "home"
share = 0.5
ipv6_share = 0.3

[[networks]]
kind = "cgnat"
share = 0.2
users_per_address = 50

[[networks]]
kind = "mobile"
share = 0.3
switch_rate = "2/h"

[servers]
count = 4
workers = 1
service = { dist = "exponential", mean = "150ms" }
queue_limit = 1

[[events]]
at = "40m"
action = "fail"
server = "s2"
for = "10m"

[[events]]
at = "1h"
action = "add"
"#;

/// Run once, shared by the tests below.
static REPLICATIONS: LazyLock<Vec<Replication>> = LazyLock::new(|| {
    let sc = Scenario::parse(SCENARIO, Path::new("common-stream.toml")).expect("valid scenario");
    assert!(sc.policies.len() >= 4);
    lbsim::experiment::run(&sc).replications
});

/// What a lane saw of the stream, as opposed to what it did with it.
fn seen(r: &LaneReport) -> (u64, u64, u64, u64) {
    (r.totals.requests, r.totals.visits, r.totals.users, r.stream_checksum)
}

#[test]
fn every_lane_sees_the_same_stream() {
    assert_eq!(REPLICATIONS.len(), 2);
    for rep in REPLICATIONS.iter() {
        let first = &rep.lanes[0].report.totals;
        // The lanes' own counts agree with what the workload says it generated.
        assert_eq!(first.requests, rep.requests, "replication {}", rep.index);
        assert_eq!(first.visits, rep.visits, "replication {}", rep.index);
        assert_eq!(first.users, u64::from(rep.users), "replication {}", rep.index);
        assert!(first.requests > 10_000, "{first:?}");
        for lane in &rep.lanes {
            assert_eq!(
                seen(&lane.report),
                seen(&rep.lanes[0].report),
                "replication {}: {} saw another stream than {}",
                rep.index,
                lane.label,
                rep.lanes[0].label
            );
            // Every request is accounted for exactly once.
            let t = &lane.report.totals;
            assert_eq!(t.served + t.dropped + t.unroutable, t.requests, "{}", lane.label);
            // The waiting line is short enough to turn requests away in every lane.
            assert!(
                t.dropped > 0,
                "replication {}: {} dropped nothing",
                rep.index,
                lane.label
            );
        }
        // The lanes really ran different policies on that stream.
        let dropped: Vec<u64> = rep.lanes.iter().map(|l| l.report.totals.dropped).collect();
        let losses: Vec<u64> = rep.lanes.iter().map(|l| l.report.totals.losses).collect();
        assert!(dropped.iter().any(|&d| d != dropped[0]), "{dropped:?}");
        assert!(losses.iter().any(|&l| l != losses[0]), "{losses:?}");
    }
}

#[test]
fn replications_are_independent() {
    let (a, b) = (&REPLICATIONS[0].lanes[0].report, &REPLICATIONS[1].lanes[0].report);
    assert_ne!(a.stream_checksum, b.stream_checksum);
    let counts = |r: &LaneReport| (r.totals.requests, r.totals.visits, r.totals.users);
    assert_ne!(counts(a), counts(b));
}

#[test]
fn every_scripted_user_is_counted() {
    // Scripted users get ids in file order; the second one visits first.
    let text = r#"
duration = "3h"
policies = ["ip_hash"]

[servers]
count = 2

[[users]]
name = "late"
address = "192.0.2.1"
visits = ["2h"]
requests = 1

[[users]]
name = "early"
address = "192.0.2.2"
visits = ["1h"]
requests = 1
"#;
    let sc = Scenario::parse(text, Path::new("scripted-users.toml")).expect("valid scenario");
    let rep = &lbsim::experiment::run(&sc).replications[0];
    assert_eq!(rep.users, 2);
    assert_eq!(rep.lanes[0].report.totals.users, 2, "{:?}", rep.lanes[0].report.totals);
}
