//! The population the benchmarks run: a day of users on home (some dual-stack),
//! CGNAT, enterprise and mobile networks, 16 servers.

use std::path::Path;

use lbsim::scenario::Scenario;

pub fn population(users_per_day: f64, policies: &str, queueing: bool) -> Scenario {
    let text = format!(
        r#"
        duration = "24h"
        policies = {policies}
        [arrivals]
        rate = "{rate}/s"
        [sessions]
        return_share = 0.3
        [[networks]]
        kind = "home"
        share = 0.5
        ipv6_share = 0.3
        [[networks]]
        kind = "cgnat"
        share = 0.15
        [[networks]]
        kind = "enterprise"
        share = 0.1
        [[networks]]
        kind = "mobile"
        share = 0.25
        [servers]
        count = 16
        workers = 4
        queueing = {queueing}
        "#,
        rate = users_per_day / 86_400.0
    );
    Scenario::parse(&text, Path::new("bench.toml")).expect("bench scenario is valid")
}
