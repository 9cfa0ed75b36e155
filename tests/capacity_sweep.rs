//! The bundled capacity-planning sweep shows what its comment promises: a knee in
//! p99 latency and peak utilisation as servers are added, address-keyed hashes
//! needing more servers than the policies that place new clients by load, and
//! sessions lost to address changes that no number of servers removes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Mean over replications of one sweep.csv column, by policy and servers.count.
type Means = BTreeMap<(String, u32), f64>;

fn run_sweep(columns: &[&str]) -> Vec<Means> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("capacity-sweep");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/capacity-sweep.toml");
    let run = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .expect("lbsim runs");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let mut reader = csv::Reader::from_path(out.join("sweep.csv")).expect("sweep.csv");
    let header = reader.headers().expect("header").clone();
    let index = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let (policy, count) = (index("policy"), index("servers.count"));
    let wanted: Vec<usize> = columns.iter().map(|c| index(c)).collect();
    let mut sums: Vec<BTreeMap<(String, u32), (f64, u32)>> = vec![BTreeMap::new(); columns.len()];
    for record in reader.records() {
        let record = record.expect("row");
        let key = (record[policy].to_string(), record[count].parse::<u32>().expect("count"));
        for (sum, &column) in sums.iter_mut().zip(&wanted) {
            let value: f64 = record[column].parse().expect("a number");
            let entry = sum.entry(key.clone()).or_insert((0.0, 0));
            *entry = (entry.0 + value, entry.1 + 1);
        }
    }
    sums.into_iter()
        .map(|sum| sum.into_iter().map(|(k, (s, n))| (k, s / f64::from(n))).collect())
        .collect()
}

#[test]
#[cfg_attr(debug_assertions, ignore = "runs the whole sweep; cargo test --release runs it")]
fn the_capacity_sweep_has_a_knee_that_affinity_moves() {
    let means = run_sweep(&[
        "latency_p99_ms",
        "utilisation_max",
        "sessions_lost_pct",
        "not_served_pct",
    ]);
    let (p99, peak, lost, unserved) = (&means[0], &means[1], &means[2], &means[3]);
    let policies = [
        "ip_hash",
        "ring(vnodes=160)",
        "stick_table(base=least_conn, expire=30m)",
        "cookie(base=least_conn)",
    ];
    let at = |m: &Means, policy: &str, count: u32| m[&(policy.to_string(), count)];

    for policy in policies {
        // Three servers saturate: queues full, latency in seconds; ten have room.
        assert!(
            at(peak, policy, 3) > 0.99,
            "{policy}: peak utilisation {}",
            at(peak, policy, 3)
        );
        assert!(
            at(p99, policy, 3) > 1000.0,
            "{policy}: p99 on 3 servers {}",
            at(p99, policy, 3)
        );
        assert!(
            at(p99, policy, 10) < 250.0,
            "{policy}: p99 on 10 servers {}",
            at(p99, policy, 10)
        );
        assert!(
            at(peak, policy, 10) < 0.6,
            "{policy}: peak utilisation on 10 {}",
            at(peak, policy, 10)
        );
    }

    // The fewest servers whose mean p99 is at most 250 ms and busiest server at most 70% busy.
    let fewest = |policy: &str| {
        (3..=10)
            .find(|&n| at(p99, policy, n) <= 250.0 && at(peak, policy, n) <= 0.7)
            .unwrap_or_else(|| panic!("{policy} meets the objectives nowhere"))
    };
    let by_load = fewest(policies[2]).max(fewest(policies[3]));
    let by_hash = fewest(policies[0]).min(fewest(policies[1]));
    assert!(
        by_load < by_hash,
        "load-placed policies need {by_load} servers, address hashes {by_hash}"
    );

    // Sessions lost to address changes: the cookie keeps them all, so it loses
    // sessions only where requests go unserved (full queues on a saturated pool);
    // the others lose some at every size and no fewer with more servers.
    for n in 3..=10 {
        if at(unserved, policies[3], n) == 0.0 {
            assert_eq!(at(lost, policies[3], n), 0.0, "cookie loses sessions on {n} servers");
        }
    }
    assert!(at(unserved, policies[3], 3) > 0.0, "three servers turn requests away");
    assert_eq!(at(unserved, policies[3], 10), 0.0, "ten servers serve every request");
    for policy in &policies[..3] {
        assert!(at(lost, policy, 3) > 0.1, "{policy}: {}", at(lost, policy, 3));
        // From the smallest pool that serves every request on, more servers
        // only add places for a changed address to land.
        let served = (3..=10)
            .find(|&n| at(unserved, policy, n) == 0.0)
            .unwrap_or_else(|| panic!("{policy} leaves requests unserved on every size"));
        assert!(
            at(lost, policy, 10) >= at(lost, policy, served),
            "{policy} loses fewer sessions on 10 servers than on {served}"
        );
    }
}
