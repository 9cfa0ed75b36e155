//! Two balancer tiers: an L4 tier over several L7 instances of the policy under
//! test, each with its own memory, sharing the backends' session state.

use std::path::Path;

use lbsim::experiment::{LaneOutcome, RunResult};
use lbsim::metrics::LossCause;
use lbsim::scenario::Scenario;

fn run(text: &str) -> RunResult {
    let sc = Scenario::parse(text, Path::new("two_tiers.toml")).expect("valid scenario");
    lbsim::experiment::run(&sc)
}

fn lane<'a>(result: &'a RunResult, label: &str) -> &'a LaneOutcome {
    result.replications[0]
        .lanes
        .iter()
        .find(|l| l.label == label)
        .unwrap_or_else(|| panic!("no lane {label}"))
}

fn caused(lane: &LaneOutcome, cause: LossCause) -> u64 {
    lane.report.by_cause[cause.index()]
}

/// Round robin at L4 over two L7 instances X and Y, so the requests alternate:
/// a's first (1h) on X, b's (1h10s) on Y, c's (1h20s) on X, a's second (1h30s)
/// on Y. Two servers; each L7 round robin starts at the same server.
const ALTERNATING: &str = r#"
duration = "2h"
policies = [
  "stick_table(base=round_robin)",
  "haproxy.stick_table(base=round_robin)",
  "cookie(base=round_robin)",
  "ip_hash",
  "round_robin",
]

[servers]
count = 2

[tiers]
l4 = "round_robin"
instances = 2
peers = PEERS

[[users]]
name = "a"
address = "192.0.2.1"
visits = ["1h"]
requests = 2
think = { dist = "constant", value = "30s" }

[[users]]
name = "b"
address = "192.0.2.2"
visits = ["1h10s"]
requests = 1

[[users]]
name = "c"
address = "192.0.2.3"
visits = ["1h20s"]
requests = 1
"#;

/// The outcomes of user a's two requests, and the second's cause.
fn user_a(result: &RunResult, label: &str) -> (Vec<&'static str>, Option<LossCause>) {
    let steps: Vec<_> = lane(result, label).journeys.iter().filter(|s| s.user == 0).collect();
    (steps.iter().map(|s| s.outcome).collect(), steps[1].cause)
}

#[test]
fn a_stick_table_per_instance_forgets_the_clients_the_l4_tier_moves() {
    let alone = run(&ALTERNATING.replace("PEERS", "false"));
    // X stuck a to the first server; Y's round robin gave b the first and a the
    // second: a's state is on the first.
    let peers = run(&ALTERNATING.replace("PEERS", "true"));
    for table in ["stick_table(base=round_robin)", "haproxy.stick_table(base=round_robin)"] {
        assert_eq!(
            user_a(&alone, table),
            (vec!["new", "lost"], Some(LossCause::L4Remap)),
            "{table}"
        );
        let l = lane(&alone, table);
        assert_eq!(caused(l, LossCause::L4Remap), 1, "{table}");
        assert_eq!(l.report.totals.losses, 1, "{table}");
        // With peers, X's entry for a reached Y before a's second request.
        assert_eq!(user_a(&peers, table), (vec!["new", "kept"], None), "{table}");
        assert_eq!(lane(&peers, table).report.totals.losses, 0, "{table}");
    }
}

#[test]
fn hashes_and_cookies_are_unaffected_and_round_robin_was_never_sticky() {
    let result = run(&ALTERNATING.replace("PEERS", "false"));
    // The client brings its cookie to Y; every instance hashes a's address alike.
    for label in ["cookie(base=round_robin)", "ip_hash"] {
        assert_eq!(user_a(&result, label), (vec!["new", "kept"], None), "{label}");
        assert_eq!(lane(&result, label).report.totals.losses, 0, "{label}");
    }
    // Y's round robin sends a's second request to the second server, as a single
    // round robin would: a loss of having no affinity, not of the tier.
    assert_eq!(
        user_a(&result, "round_robin"),
        (vec!["new", "lost"], Some(LossCause::NotSticky))
    );
}

/// Katran with source-address affinity over four L7 instances; a fifth joins at
/// 1h. Home users on stable addresses, so only the L4 tier can move a client.
const INSTANCE_ADDED: &str = r#"
seed = 5
duration = "2h"
policies = ["ip_hash", "stick_table(base=round_robin, expire=30m)", "cookie(base=round_robin)"]

[arrivals]
rate = "1/s"

[sessions]
state_ttl = "30m"

[[networks]]
kind = "home"
share = 1
renumber_share = 0
privacy_rotation = 0

[servers]
count = 8

[tiers]
l4 = "katran.maglev(key=source)"
instances = 4
peers = PEERS

[[tiers.events]]
at = "1h"
action = "add"
"#;

#[test]
fn adding_an_l7_instance_remaps_only_stick_tables_without_peers() {
    let alone = run(&INSTANCE_ADDED.replace("PEERS", "false"));
    let table = lane(&alone, "stick_table(base=round_robin, expire=30m)");
    let lost = caused(table, LossCause::L4Remap);
    assert!(lost > 20, "{:?}", table.report.by_cause);
    assert_eq!(table.report.totals.losses, lost, "{:?}", table.report.by_cause);
    // Maglev gives the fifth instance about a fifth of the clients, whom its
    // empty table does not know.
    let remap = &table.report.remaps[0];
    assert_eq!((remap.action, remap.server.as_str()), ("add", "l7-5"));
    let share = remap.moved as f64 / remap.predictable as f64;
    assert!((0.12..0.26).contains(&share), "{share}: {remap:?}");
    for label in ["ip_hash", "cookie(base=round_robin)"] {
        let l = lane(&alone, label);
        assert_eq!(l.report.totals.losses, 0, "{label}: {:?}", l.report.by_cause);
        assert_eq!(l.report.remaps[0].moved, 0, "{label}");
    }

    let peers = run(&INSTANCE_ADDED.replace("PEERS", "true"));
    let table = lane(&peers, "stick_table(base=round_robin, expire=30m)");
    assert_eq!(table.report.totals.losses, 0, "{:?}", table.report.by_cause);
    assert_eq!(table.report.remaps[0].moved, 0);
}

#[test]
fn validate_describes_the_tiers() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two-tier.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("validate")
        .arg(&file)
        .output()
        .expect("lbsim runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for line in [
        "tiers         L4 katran.maglev(key=source) over 4 L7 instances, each running the policy with its own memory; no peers: stick tables are per instance",
        "tier event    at 12:00:00: add L7 instance l7-5",
        "tier event    at 16:00:00: remove L7 instance l7-2",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
}
