//! The scenarios shipped in scenarios/: every one validates, and the seed example
//! shows what its comments promise, person by person.

use std::path::{Path, PathBuf};
use std::process::Command;

use lbsim::engine::time::{HOUR, MINUTE, Time};
use lbsim::experiment::{LaneOutcome, Step};
use lbsim::metrics::LossCause;
use lbsim::policy::{self, BuildContext, Client, spec};
use lbsim::scenario::Scenario;
use lbsim::workload::AddressChange;

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

#[test]
fn every_shipped_scenario_validates() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "{files:?}");
    for file in &files {
        let out = Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .arg("validate")
            .arg(file)
            .output()
            .expect("lbsim runs");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "{}: {stderr}", file.display());
        assert!(stdout.starts_with(&format!("{}: ok", file.display())), "{stdout}");
    }
}

#[test]
fn validate_says_where_each_workload_default_comes_from() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("defaults.toml");
    std::fs::write(
        &file,
        "duration = \"1h\"\npolicies = [\"ip_hash\"]\n[arrivals]\nrate = \"1/s\"\n[servers]\ncount = 2\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("validate")
        .arg(&file)
        .output()
        .expect("lbsim runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for said in [
        "flat over the day (default: no measured diurnal curve",
        "exponential, mean 30s (default: NASA-HTTP 1995 measured a median of 29 s",
        "30m after a visit's last request (default: the usual 30 min session timeout",
        "0% of visits (default: no measured share exists",
        "mean 4h (default: no measured delay exists",
    ] {
        assert!(stdout.contains(said), "{said:?} in\n{stdout}");
    }
}

/// The seed example, run once through the library.
struct SeedExample {
    scenario: Scenario,
    lanes: Vec<LaneOutcome>,
}

impl SeedExample {
    fn run() -> SeedExample {
        let scenario = Scenario::load(&scenarios_dir().join("seed-example.toml")).expect("seed example loads");
        let mut result = lbsim::experiment::run(&scenario);
        assert_eq!(result.replications.len(), 1);
        let lanes = result.replications.remove(0).lanes;
        SeedExample { scenario, lanes }
    }

    fn lane(&self, label: &str) -> &LaneOutcome {
        self.lanes
            .iter()
            .find(|l| l.label == label)
            .unwrap_or_else(|| panic!("no lane {label}"))
    }

    /// A followed user's requests under one policy: journeys number the scripted
    /// users of count 1 in file order.
    fn journey(&self, label: &str, name: &str) -> Vec<&Step> {
        let index = self
            .scenario
            .users
            .iter()
            .filter(|u| u.count == 1)
            .position(|u| u.name == name)
            .unwrap_or_else(|| panic!("no followed user {name}")) as u32;
        let steps: Vec<&Step> = self.lane(label).journeys.iter().filter(|s| s.user == index).collect();
        assert!(!steps.is_empty(), "{name} has no requests under {label}");
        assert!(steps.windows(2).all(|w| w[0].time <= w[1].time), "journey out of order");
        steps
    }
}

fn first_at_or_after<'a>(steps: &[&'a Step], t: Time) -> &'a Step {
    steps
        .iter()
        .find(|s| s.time >= t)
        .unwrap_or_else(|| panic!("no request after {t}"))
}

#[test]
fn seed_example_tells_its_story() {
    let ex = SeedExample::run();

    // User 1 comes back at 13:00 to the same server, and the cart is still there.
    let user1 = ex.journey("ip_hash", "user-1");
    let second_visit = first_at_or_after(&user1, 13 * HOUR);
    assert_eq!(user1[0].outcome, "new");
    assert_eq!(second_visit.outcome, "kept", "{second_visit:?}");
    assert!(
        user1.iter().all(|s| s.server == user1[0].server && s.cause.is_none()),
        "{user1:#?}"
    );

    // The commuter's phone leaves WiFi at 08:33: the next request comes from the
    // new address, lands elsewhere and loses the cart; a cookie keeps it.
    let commuter = ex.journey("ip_hash", "commuter");
    let moved = first_at_or_after(&commuter, 8 * HOUR + 33 * MINUTE);
    assert_eq!(moved.addr, "100.64.12.35");
    assert_eq!(moved.outcome, "lost", "{moved:?}");
    assert_eq!(moved.cause, Some(LossCause::AddressChanged(AddressChange::Scripted)));
    assert_eq!(moved.cause.map(LossCause::name), Some("address_changed"));
    assert!(
        commuter
            .iter()
            .filter(|s| s.time < moved.time)
            .all(|s| s.outcome != "lost")
    );
    assert!(ex.journey("cookie", "commuter").iter().all(|s| s.outcome != "lost"));

    // Server D joins at 14:00 in the middle of the afternoon shopper's visit: the
    // hash sends the shopper elsewhere and the cart is lost; a cookie keeps it.
    let shopper = ex.journey("ip_hash", "afternoon-shopper");
    assert!(shopper[0].time < 14 * HOUR);
    let remapped = first_at_or_after(&shopper, 14 * HOUR);
    assert_eq!(remapped.outcome, "lost", "{remapped:?}");
    assert_eq!(remapped.cause, Some(LossCause::PoolRemap));
    assert!(
        shopper
            .iter()
            .filter(|s| s.time < remapped.time)
            .all(|s| s.outcome != "lost")
    );
    assert!(
        ex.journey("cookie", "afternoon-shopper")
            .iter()
            .all(|s| s.outcome != "lost")
    );
    let event = &ex.lane("ip_hash").report.remaps[0];
    assert_eq!((event.at, event.action, event.server.as_str()), (14 * HOUR, "add", "D"));
}

#[test]
fn seed_example_office_overloads_one_server() {
    let ex = SeedExample::run();
    let office = ex.scenario.users.iter().find(|u| u.name == "office").expect("office");
    assert_eq!(office.count, 300);

    // Where the office's one address hashes before server D joins.
    let pool = ex.scenario.initial_pool();
    let ip_hash = policy::build(
        &spec::parse("ip_hash", 0).expect("spec"),
        &BuildContext {
            pool: &pool,
            expected_users: 0,
        },
    )
    .expect("ip_hash builds");
    let client = Client {
        user: 0,
        addr: office.address,
        port: 40_000,
        connection: 0,
        new_connection: true,
    };
    let server = ip_hash.peek(&client, 0, &pool).expect("a hash is predictable") as usize;

    let report = &ex.lane("ip_hash").report;
    let requests: Vec<f64> = report.servers.iter().map(|s| s.requests as f64).collect();
    let mean = requests.iter().sum::<f64>() / requests.len() as f64;
    assert!(
        requests[server] > 1.3 * mean,
        "office server {} has {} requests, mean {mean}: {requests:?}",
        report.servers[server].name,
        requests[server]
    );
    assert!(
        requests.iter().all(|&r| r <= requests[server]),
        "the office's server is the busiest: {requests:?}"
    );
    // A cookie placing each colleague by itself spreads them.
    let cookie = &ex.lane("cookie").report;
    assert!(report.requests_spread.max_over_mean > cookie.requests_spread.max_over_mean + 0.1);
}
