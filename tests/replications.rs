//! Statistics across replications: summary_stats.csv agrees with the
//! per-replication rows of summary.csv it summarises.

use std::fs;
use std::process::Command;

const SCENARIO: &str = r#"
name = "replicated"
seed = 3
duration = "1h"
replications = 4
policies = ["ip_hash", "ring(vnodes=40)", "stick_table(base=least_conn, expire=10m)"]

[arrivals]
rate = "0.3/s"

[[networks]]
kind = "home"
share = 0.6

[[networks]]
kind = "mobile"
share = 0.4
switch_rate = "4/h"

[servers]
count = 3

[[events]]
at = "30m"
action = "fail"
server = "s1"
"#;

type Table = Vec<std::collections::HashMap<String, String>>;

fn read(path: &std::path::Path) -> Table {
    let mut r = csv::Reader::from_path(path).expect("csv");
    let header = r.headers().expect("header").clone();
    r.records()
        .map(|row| {
            let row = row.expect("row");
            header
                .iter()
                .zip(row.iter())
                .map(|(h, v)| (h.into(), v.into()))
                .collect()
        })
        .collect()
}

#[test]
fn summary_stats_are_mean_sd_and_t_interval_of_the_replications() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("replicated.toml");
    fs::write(&scenario, SCENARIO).expect("scenario written");
    let out = dir.path().join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&scenario)
        .status()
        .expect("lbsim runs");
    assert!(status.success());

    let summary = read(&out.join("summary.csv"));
    let stats = read(&out.join("summary_stats.csv"));
    // 3 policies × 28 metrics (every summary column but the checksum).
    assert_eq!(stats.len(), 3 * 28);
    for policy in ["ip_hash", "ring(vnodes=40)", "stick_table(base=least_conn, expire=10m)"] {
        let xs: Vec<f64> = summary
            .iter()
            .filter(|r| r["policy"] == policy)
            .map(|r| r["sessions_lost_pct"].parse().expect("number"))
            .collect();
        assert_eq!(xs.len(), 4);
        let mean = xs.iter().sum::<f64>() / 4.0;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        let row = stats
            .iter()
            .find(|r| r["policy"] == policy && r["metric"] == "sessions_lost_pct")
            .expect("a row per policy and metric");
        let got = |k: &str| row[k].parse::<f64>().expect("number");
        assert_eq!(row["n"], "4");
        assert_eq!(row["replications"], "4");
        // summary.csv rounds to 6 decimals, so compare to that precision.
        assert!((got("mean") - mean).abs() < 1e-5, "{policy}: {} vs {mean}", got("mean"));
        assert!((got("sd") - sd).abs() < 1e-5);
        // Student t with 3 degrees of freedom.
        assert!((got("ci95_half_width") - 3.182 * sd / 2.0).abs() < 1e-5);
    }
}
