//! What scaling up moves, for the products that document it, measured by the
//! simulator at an `add` event: ingress-nginx's balanced cookies move about
//! (n−c)/n of the live sessions and persistent ones none; Google Cloud's generated
//! cookie (a hash) moves a consistent hash's share and its strong cookie (a name)
//! none; Azure's source-IP mode moves what `remap` assumes.

use std::path::Path;

use lbsim::scenario::Scenario;

const POLICIES: [&str; 6] = [
    "ingress_nginx.cookie",
    "ingress_nginx.cookie(affinity_mode=persistent)",
    "gcp.backend_service(session_affinity=GENERATED_COOKIE, locality_lb_policy=MAGLEV)",
    "gcp.backend_service(session_affinity=STRONG_COOKIE_AFFINITY)",
    "azure.lb(distribution=SourceIP)",
    "azure.lb(distribution=SourceIP, remap=consistent)",
];

/// Four servers, a fifth at 1 h; 10 new users per second, one request each, state
/// kept 12 h, so every session is still live when the fifth server comes.
fn moved_shares() -> Vec<(String, f64)> {
    let policies: Vec<String> = POLICIES.iter().map(|p| format!("{p:?}")).collect();
    let text = format!(
        r#"
seed = 11
duration = "1h1s"
policies = [{}]

[arrivals]
rate = "10/s"

[sessions]
requests = {{ dist = "constant", value = 1 }}
state_ttl = "12h"

[servers]
count = 4
queueing = false

[[events]]
at = "1h"
action = "add"
"#,
        policies.join(", ")
    );
    let scenario = Scenario::parse(&text, Path::new("scale-up.toml")).expect("valid scenario");
    let result = lbsim::experiment::run(&scenario);
    result.replications[0]
        .lanes
        .iter()
        .map(|lane| {
            let [remap] = lane.report.remaps.as_slice() else {
                panic!("{}: one pool change expected", lane.label)
            };
            assert!(remap.live > 30_000, "{}: {} live sessions", lane.label, remap.live);
            assert_eq!(
                remap.predictable, remap.live,
                "{}: every cookie and address is followed",
                lane.label
            );
            (lane.label.clone(), remap.moved as f64 / remap.live as f64)
        })
        .collect()
}

#[test]
fn scaling_four_to_five_moves_what_each_product_documents() {
    let shares = moved_shares();
    let moved = |i: usize| shares[i].1;
    // (n − c)/n = 1/5 for balanced and for the consistent hashes; 160 points per
    // endpoint or a 65,537-slot table keep the new server's share within ±25 %.
    for i in [0, 2, 5] {
        assert!((moved(i) - 0.2).abs() < 0.05, "{}: moved {}", shares[i].0, moved(i));
    }
    assert_eq!(moved(1), 0.0, "persistent cookies name their endpoint");
    assert_eq!(moved(3), 0.0, "strong cookies name their backend");
    // A hash modulo N keeps a key only if h mod 4 = h mod 5: 1 in 5 stay.
    assert!((moved(4) - 0.8).abs() < 0.01, "mod_n: moved {}", moved(4));
}
