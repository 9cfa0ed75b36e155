//! Each kind of network, generated alone, shows the statistics it was configured
//! with: users per public address, address changes at the configured rates, and
//! the configured share of renumberings leaving the /24.
//!
//! Changes are only visible at requests, so rates are checked against what the
//! configuration predicts for the requests actually sent: for every pair of
//! consecutive requests of one user, the chance that its address changed between
//! them.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use lbsim::engine::{HOUR, MINUTE, SECOND, Time};
use lbsim::policy::Addr;
use lbsim::scenario::Scenario;
use lbsim::workload::{AddressChange, Request, RequestSource, Workload};

/// Every request of a scenario's one replication.
fn requests(networks: &str, hours: u64) -> Vec<Request> {
    let text = format!(
        r#"
seed = 11
duration = "{hours}h"
policies = ["ip_hash"]

[arrivals]
rate = "2/s"

[sessions]
requests = {{ dist = "lognormal", median = 7, sigma = 0.84 }}
think = {{ dist = "exponential", mean = "30s" }}
return_share = 0.6
return_after = {{ dist = "exponential", mean = "3h" }}

{networks}

[servers]
count = 4
"#
    );
    let sc = Scenario::parse(&text, Path::new("population.toml")).expect("valid scenario");
    let mut out = Vec::new();
    Workload::new(&sc, 0).fill(&mut out, Time::MAX, usize::MAX);
    out
}

/// Consecutive requests of the same user: (earlier, later).
fn pairs(rs: &[Request]) -> Vec<(Request, Request)> {
    let mut last: HashMap<u32, Request> = HashMap::new();
    let mut out = Vec::new();
    for r in rs {
        if let Some(prev) = last.insert(r.user, *r) {
            out.push((prev, *r));
        }
    }
    out
}

/// Users over distinct addresses, counting each user at its first request.
fn users_per_address(rs: &[Request]) -> f64 {
    let mut seen = HashSet::new();
    let mut addrs = HashSet::new();
    for r in rs {
        if seen.insert(r.user) {
            addrs.insert(r.addr);
        }
    }
    seen.len() as f64 / addrs.len() as f64
}

fn secs(t: Time) -> f64 {
    t as f64 / SECOND as f64
}

fn slash24(a: Addr) -> u128 {
    a.0 >> 8
}

fn within(got: f64, want: f64, tolerance: f64, what: &str) {
    assert!(
        (got - want).abs() <= tolerance * want,
        "{what}: measured {got:.4}, configured {want:.4}"
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical: runs under cargo test --release")]
fn home_nat_renumbers_on_schedule_and_half_leave_the_prefix() {
    // Sharing is a property of households, seen where addresses stay put.
    let still = requests(
        r#"[[networks]]
kind = "home"
share = 1
users_per_address = 1.5
renumber_share = 0"#,
        12,
    );
    within(users_per_address(&still), 1.5, 0.03, "users per address");
    let rs = requests(
        r#"[[networks]]
kind = "home"
share = 1
renumber_share = 0.5
renumber_every = "2h"
leave_prefix = 0.5"#,
        24,
    );
    let (mut expected, mut seen, mut left) = (0.0, 0.0, 0.0);
    for (a, b) in pairs(&rs) {
        // At most one renumbering between requests less than a period apart.
        if b.time - a.time >= 2 * HOUR {
            continue;
        }
        // Half the households renumber, each at a random phase of its 2 h period.
        expected += 0.5 * secs(b.time - a.time) / 7200.0;
        if b.change == AddressChange::Renumbering {
            seen += 1.0;
            left += (slash24(a.addr) != slash24(b.addr)) as u32 as f64;
        }
    }
    assert!(seen > 2_000.0, "{seen} renumberings");
    within(seen, expected, 0.05, "renumberings between requests");
    within(left / seen, 0.5, 0.06, "share of renumberings leaving the /24");
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical: runs under cargo test --release")]
fn cgnat_pools_pair_subscribers_until_their_mappings_time_out() {
    let paired = requests(
        r#"[[networks]]
kind = "cgnat"
share = 1
users_per_address = 250
mapping_timeout = "20m""#,
        12,
    );
    within(users_per_address(&paired), 250.0, 0.05, "users per address");
    for (a, b) in pairs(&paired) {
        let idle = b.time - a.time;
        if idle <= 20 * MINUTE {
            assert_eq!(
                b.addr, a.addr,
                "a paired subscriber keeps its address while its mappings live"
            );
        }
    }
    let after_timeout = pairs(&paired)
        .iter()
        .filter(|(a, b)| b.time - a.time > 20 * MINUTE)
        .count();
    let moved = paired.iter().filter(|r| r.change == AddressChange::NatPool).count();
    // After a timeout the next connection draws again from a pool of hundreds.
    assert!(after_timeout > 1_000, "{after_timeout} returns after the timeout");
    within(
        moved as f64,
        after_timeout as f64,
        0.02,
        "re-picks after the mapping timeout",
    );

    let arbitrary = requests(
        r#"[[networks]]
kind = "cgnat"
share = 1
pooling = "arbitrary""#,
        6,
    );
    // Every new connection (a new source port) may leave from another address.
    let (mut new_conns, mut moved) = (0, 0);
    for (a, b) in pairs(&arbitrary) {
        if b.port != a.port {
            new_conns += 1;
            moved += (b.addr != a.addr) as u32;
        }
    }
    assert!(new_conns > 5_000, "{new_conns} new connections");
    within(
        moved as f64 / new_conns as f64,
        1.0,
        0.02,
        "new connections on another address",
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical: runs under cargo test --release")]
fn proxy_farms_are_heavy_tailed_and_spread_connections_over_their_egress() {
    let rs = requests(
        r#"[[networks]]
kind = "enterprise"
share = 1
users_per_site = { dist = "pareto", scale = 10, shape = 1.2 }
egress_addresses = 4"#,
        6,
    );
    // Users per site (the egress /24): mean 60 for Pareto(10, 1.2), heavy tail.
    let mut per_site: HashMap<u128, HashSet<u32>> = HashMap::new();
    for r in &rs {
        per_site.entry(slash24(r.addr)).or_default().insert(r.user);
    }
    let mut sizes: Vec<usize> = per_site.values().map(HashSet::len).collect();
    sizes.sort_unstable();
    let median = sizes[sizes.len() / 2] as f64;
    let max = *sizes.last().unwrap() as f64;
    assert!(max > 20.0 * median, "heavy tail: largest site {max}, median {median}");
    // Each new connection picks one of 4 egress addresses: 3 in 4 change.
    let (mut new_conns, mut moved) = (0, 0);
    for (a, b) in pairs(&rs) {
        if b.port != a.port {
            new_conns += 1;
            moved += (b.change == AddressChange::ProxyEgress) as u32;
            assert_eq!(
                slash24(a.addr),
                slash24(b.addr),
                "a site's egress addresses share a /24"
            );
        }
    }
    within(
        moved as f64 / new_conns as f64,
        0.75,
        0.04,
        "new connections on another egress",
    );
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical: runs under cargo test --release")]
fn phones_switch_between_wifi_and_cellular_at_the_configured_rate() {
    let rs = requests(
        r#"[[networks]]
kind = "mobile"
share = 1
switch_rate = "2/h"
cellular_stay = { dist = "exponential", mean = "10m" }"#,
        12,
    );
    // Alternating exponential WiFi (mean 30 min) and cellular (mean 10 min) spells,
    // starting on WiFi when the user arrives: at t after arrival the phone is on
    // WiFi with probability 3/4 + 1/4·e^(−(a+b)t), and switches at rate a on WiFi,
    // b on cellular.
    let (a_rate, b_rate) = (1.0 / 1800.0, 1.0 / 600.0);
    let rate = |t: f64| {
        let wifi = 0.75 + 0.25 * (-(a_rate + b_rate) * t).exp();
        a_rate * wifi + b_rate * (1.0 - wifi)
    };
    let mut arrived: HashMap<u32, Time> = HashMap::new();
    for r in &rs {
        arrived.entry(r.user).or_insert(r.time);
    }
    let (mut expected, mut seen) = (0.0, 0.0);
    for (a, b) in pairs(&rs) {
        let dt = secs(b.time - a.time);
        if dt < 120.0 {
            expected += rate(secs(a.time - arrived[&a.user])) * dt;
            seen += (b.change == AddressChange::Mobility) as u32 as f64;
        }
    }
    assert!(seen > 500.0, "{seen} switches seen");
    within(seen, expected, 0.1, "WiFi/cellular changes between close requests");
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical: runs under cargo test --release")]
fn ipv6_privacy_addresses_rotate_for_new_connections_and_happy_eyeballs_flips_family() {
    let rs = requests(
        r#"[[networks]]
kind = "home"
share = 1
ipv6_share = 1
renumber_share = 0
privacy_rotation = "1h"
happy_eyeballs = 0.1"#,
        12,
    );
    let (mut expected, mut rotations, mut conns, mut v4_conns) = (0.0, 0.0, 0, 0);
    // When each user's current connection opened: its address was chosen then.
    let mut opened: HashMap<u32, Time> = HashMap::new();
    for (a, b) in pairs(&rs) {
        let since = *opened.entry(a.user).or_insert(a.time);
        // Within the 75 s keep-alive the connection stays open.
        if b.time - a.time <= 75 * SECOND {
            assert_eq!(
                (a.addr, a.port),
                (b.addr, b.port),
                "an open connection keeps its address"
            );
            continue;
        }
        opened.insert(b.user, b.time);
        conns += 1;
        v4_conns += b.addr.is_v4() as u32;
        if !a.addr.is_v4() && !b.addr.is_v4() {
            expected += (secs(b.time - since) / 3600.0).min(1.0);
            rotations += (b.change == AddressChange::Privacy) as u32 as f64;
            assert_eq!(a.addr.prefix(), b.addr.prefix(), "a rotation keeps the /64");
        }
    }
    within(rotations, expected, 0.06, "temporary-address rotations");
    within(v4_conns as f64 / conns as f64, 0.1, 0.1, "connections over IPv4");
    let flips = rs.iter().filter(|r| r.change == AddressChange::AddressFamily).count();
    assert!(flips > 1_000, "{flips} family switches");
}

#[test]
#[cfg_attr(debug_assertions, ignore = "statistical: runs under cargo test --release")]
fn relay_egress_rotates_on_schedule_at_new_connections() {
    let rs = requests(
        r#"[[networks]]
kind = "relay"
share = 1
users_per_address = 1000
rotate_every = "10m""#,
        12,
    );
    within(users_per_address(&rs), 1000.0, 0.05, "users per address");
    let (mut expected, mut seen) = (0.0, 0.0);
    let mut opened: HashMap<u32, Time> = HashMap::new();
    for (a, b) in pairs(&rs) {
        let since = *opened.entry(a.user).or_insert(a.time);
        if b.time - a.time <= 75 * SECOND {
            assert_eq!(a.addr, b.addr, "an open connection keeps its egress");
            continue;
        }
        opened.insert(b.user, b.time);
        // A new egress once the user's 10-minute period has turned since the
        // connection before opened.
        expected += (secs(b.time - since) / 600.0).min(1.0);
        seen += (b.change == AddressChange::ProxyEgress) as u32 as f64;
    }
    within(seen, expected, 0.05, "egress rotations");
}
