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
    // 3 policies × 31 metrics (every summary column but the checksum).
    assert_eq!(stats.len(), 3 * 31);
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

/// Few users, most of them phones: how many sessions a replication loses swings
/// with how many phones moved, and both address-keyed policies lose on the same
/// moves, so their results rise and fall together.
const CORRELATED: &str = r#"
seed = 11
duration = "2h"
replications = 8
policies = ["ip_hash", "ring(vnodes=100)"]

[arrivals]
rate = "0.05/s"

[sessions]
return_share = 0.5
return_after = { dist = "exponential", mean = "20m" }

[[networks]]
kind = "home"
share = 0.3

[[networks]]
kind = "mobile"
share = 0.7
switch_rate = "3/h"

# Many servers: a move rarely hashes to the same server under either policy, so
# the two lose on nearly the same moves.
[servers]
count = 50
queueing = false
"#;

#[test]
fn pairing_by_replication_narrows_the_interval_of_a_difference() {
    let sc = lbsim::scenario::Scenario::parse(CORRELATED, std::path::Path::new("correlated.toml")).expect("valid");
    let result = lbsim::experiment::run(&sc);
    let rows = lbsim::output::comparisons::against_baseline(&result, 0, "sessions_lost_pct");
    assert_eq!(rows.len(), 1);
    let (label, p) = &rows[0];
    assert_eq!(label, "ring(vnodes=100)");
    assert_eq!(p.diff.n, 8);
    assert!(
        p.diff.half_width < p.unpaired_half_width / 2.0,
        "paired ± {} vs unpaired ± {}",
        p.diff.half_width,
        p.unpaired_half_width
    );
}

/// Round robin first: it loses nearly every session whatever the phones do, so
/// the hashes' losses do not vary with its own and pairing against it gains
/// nothing; `--baseline ip_hash` compares the ring with a policy that loses on
/// the same moves, and the paired interval is the narrower.
#[test]
fn the_baseline_is_chosen_and_pairing_narrows_only_what_varies_together() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("correlated.toml");
    let text = CORRELATED.replace(
        r#"policies = ["ip_hash", "ring(vnodes=100)"]"#,
        r#"policies = ["round_robin", "ip_hash", "ring(vnodes=100)"]"#,
    );
    fs::write(&scenario, text).expect("scenario written");
    let run = |out: &str, extra: &[&str]| {
        let out = dir.path().join(out);
        let output = Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .args(["run", "--no-report", "--out"])
            .arg(&out)
            .arg(&scenario)
            .args(extra)
            .output()
            .expect("lbsim runs");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let rows = read(&out.join("comparisons.csv"));
        (String::from_utf8_lossy(&output.stdout).into_owned(), rows)
    };
    let lost = |rows: &Table, policy: &str| {
        let row = rows
            .iter()
            .find(|r| r["policy"] == policy && r["metric"] == "sessions_lost_pct")
            .unwrap_or_else(|| panic!("a row for {policy}"))
            .clone();
        let f = |k: &str| row[k].parse::<f64>().expect("number");
        (
            f("diff_ci95_half_width"),
            f("unpaired_ci95_half_width"),
            f("correlation"),
        )
    };
    let (shown, rows) = run("first", &[]);
    assert!(shown.contains("sessions lost against round_robin"), "{shown}");
    assert!(rows.iter().all(|r| r["baseline"] == "round_robin"));
    let (_, _, r) = lost(&rows, "ring(vnodes=100)");
    assert!(r.abs() < 0.7, "ring against round robin: r = {r}");
    let (shown, rows) = run("by-ip-hash", &["--baseline", "ip_hash"]);
    assert!(shown.contains("sessions lost against ip_hash"), "{shown}");
    assert!(
        rows.iter()
            .all(|r| r["baseline"] == "ip_hash" && r["policy"] != "ip_hash")
    );
    let (paired, unpaired, r) = lost(&rows, "ring(vnodes=100)");
    assert!(r > 0.9, "ring against ip_hash: r = {r}");
    assert!(paired < unpaired / 2.0, "paired ± {paired} vs unpaired ± {unpaired}");
    let bad = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(["run", "--no-report", "--baseline", "maglev"])
        .arg(&scenario)
        .output()
        .expect("lbsim runs");
    assert_eq!(bad.status.code(), Some(2));
    let message = String::from_utf8_lossy(&bad.stderr);
    assert!(message.contains("round_robin, ip_hash, ring(vnodes=100)"), "{message}");
}

#[test]
fn comparisons_csv_has_a_row_per_other_policy_and_headline_metric() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("replicated.toml");
    fs::write(&scenario, SCENARIO).expect("scenario written");
    let out = dir.path().join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(["run", "--out"])
        .arg(&out)
        .arg(&scenario)
        .output()
        .expect("lbsim runs");
    assert!(output.status.success());
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(
        shown.contains("sessions lost against ip_hash, paired over 4 replications"),
        "{shown}"
    );
    let rows = read(&out.join("comparisons.csv"));
    assert_eq!(rows.len(), 2 * 5);
    assert!(rows.iter().all(|r| r["baseline"] == "ip_hash" && r["n"] == "4"));
    let summary = read(&out.join("summary.csv"));
    let mean = |policy: &str| {
        summary
            .iter()
            .filter(|r| r["policy"] == policy)
            .map(|r| r["losses_per_1k_requests"].parse::<f64>().expect("number"))
            .sum::<f64>()
            / 4.0
    };
    let row = rows
        .iter()
        .find(|r| r["policy"] == "ring(vnodes=40)" && r["metric"] == "losses_per_1k_requests")
        .expect("row");
    let diff: f64 = row["diff_mean"].parse().expect("number");
    assert!((diff - (mean("ring(vnodes=40)") - mean("ip_hash"))).abs() < 1e-5);
}

#[test]
fn progress_covers_every_replication_once() {
    let sc = lbsim::scenario::Scenario::parse(CORRELATED, std::path::Path::new("correlated.toml")).expect("valid");
    let progress = lbsim::experiment::Progress::default();
    let result = lbsim::experiment::run_watched(&sc, |r| lbsim::workload::Workload::new(&sc, r), &progress);
    assert_eq!(progress.simulated(), sc.duration * 8);
    assert_eq!(progress.routed(), result.routed());
}
