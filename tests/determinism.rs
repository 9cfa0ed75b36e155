//! Reproducibility: the same scenario and seed give byte-identical CSV files,
//! run after run and whatever the number of worker threads; another seed gives
//! other results.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

/// A small day with everything that draws random numbers or depends on order:
/// shaped arrivals, several networks with mobile churn, return visits, scripted
/// users with a move, a server failing and one added, load-aware and
/// table-based policies, waiting lines that drop.
const SCENARIO: &str = r#"
name = "determinism"
seed = 42
duration = "3h"
window = "20m"
replications = 2
policies = ["least_conn", "random", "ip_hash", "ring(vnodes=50)", "stick_table(base=least_conn, expire=10m)", "cookie(base=random)"]

[arrivals]
rate = "0.2/s"
diurnal = { peak_to_mean = 1.6, peak_hour = 2 }

[sessions]
think = { dist = "exponential", mean = "20s" }
state_ttl = "20m"
return_share = 0.3
return_after = { dist = "exponential", mean = "30m" }

[[networks]]
kind = "home"
share = 0.5
ipv6_share = 0.2

[[networks]]
kind = "cgnat"
share = 0.2

[[networks]]
kind = "mobile"
share = 0.3
switch_rate = "3/h"

[servers]
count = 3
workers = 1
service = { dist = "lognormal", median = "100ms", sigma = 0.8 }
queue_limit = 2

[[events]]
at = "1h"
action = "fail"
server = "s2"
for = "15m"

[[events]]
at = "2h"
action = "add"

[[users]]
name = "walker"
address = "192.0.2.10"
visits = ["30m", "2h10m"]
requests = 15
think = { dist = "exponential", mean = "40s" }
moves = [{ at = "2h12m", address = "100.64.0.7" }]

[[users]]
name = "office"
address = "203.0.113.5"
count = 20
visits = ["20m"]
spread = "2h"
"#;

const CSV_FILES: [&str; 9] = [
    "comparisons.csv",
    "summary.csv",
    "summary_stats.csv",
    "timeseries.csv",
    "servers.csv",
    "server_windows.csv",
    "losses.csv",
    "events.csv",
    "journeys.csv",
];

/// Runs the CLI into `out` (seed and thread count optional) and returns every CSV
/// file it wrote, by name.
fn run(scenario: &Path, out: &Path, seed: Option<&str>, threads: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbsim"));
    cmd.arg("run").arg(scenario).arg("--out").arg(out).arg("--quiet");
    if let Some(seed) = seed {
        cmd.args(["--seed", seed]);
    }
    match threads {
        Some(n) => cmd.env("RAYON_NUM_THREADS", n),
        None => cmd.env_remove("RAYON_NUM_THREADS"),
    };
    let output = cmd.output().expect("lbsim runs");
    assert!(
        output.status.success(),
        "lbsim run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let mut files = BTreeMap::new();
    for entry in fs::read_dir(out).expect("output folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if name.ends_with(".csv") {
            files.insert(name, fs::read(&path).expect("readable"));
        }
    }
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    let mut want = CSV_FILES.to_vec();
    want.sort_unstable();
    assert_eq!(names, want, "files written into {}", out.display());
    assert!(out.join("run.json").is_file());
    files
}

fn assert_identical(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    for (name, bytes) in a {
        assert!(bytes == &b[name], "{name} differs {what}");
    }
}

/// Data rows of a CSV file.
fn rows(csv: &[u8]) -> usize {
    csv.iter().filter(|&&b| b == b'\n').count().saturating_sub(1)
}

#[test]
fn same_seed_same_bytes_on_any_number_of_threads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("determinism.toml");
    fs::write(&scenario, SCENARIO).expect("scenario written");

    let first = run(&scenario, &dir.path().join("a"), None, None);
    // Every file has content, so comparing them compares something: 6 policies ×
    // 2 replications in the summary, a journey for the followed user in each lane.
    assert_eq!(rows(&first["summary.csv"]), 12);
    assert_eq!(
        rows(&first["journeys.csv"]),
        12 * 30,
        "two visits of 15 requests by the walker"
    );
    assert_eq!(
        rows(&first["events.csv"]),
        12 * 3,
        "fail, recover and add in every lane"
    );
    assert_eq!(rows(&first["timeseries.csv"]), 12 * 9, "3 h in windows of 20 min");

    let again = run(&scenario, &dir.path().join("b"), None, None);
    assert_identical(&first, &again, "between two identical runs");
    let one = run(&scenario, &dir.path().join("t1"), None, Some("1"));
    assert_identical(&first, &one, "with RAYON_NUM_THREADS=1");
    let two = run(&scenario, &dir.path().join("t2"), None, Some("2"));
    assert_identical(&first, &two, "with RAYON_NUM_THREADS=2");
}

#[test]
fn another_seed_gives_other_results() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario = dir.path().join("determinism.toml");
    fs::write(&scenario, SCENARIO).expect("scenario written");

    let base = run(&scenario, &dir.path().join("s42"), Some("42"), None);
    let same = run(&scenario, &dir.path().join("default"), None, None);
    // --seed 42 is the scenario's own seed: nothing changes.
    assert_identical(&base, &same, "between --seed 42 and the scenario's seed 42");

    let other = run(&scenario, &dir.path().join("s43"), Some("43"), None);
    assert_ne!(base["summary.csv"], other["summary.csv"]);
    // Not only the seed column: every lane's results differ.
    let results = |bytes: &[u8]| -> Vec<Vec<String>> {
        let mut reader = csv::Reader::from_reader(bytes);
        let header = reader.headers().expect("header").clone();
        let seed = header.iter().position(|h| h == "seed").expect("seed column");
        reader
            .records()
            .map(|r| {
                r.expect("row")
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != seed)
                    .map(|(_, f)| f.to_string())
                    .collect()
            })
            .collect()
    };
    let (a, b) = (results(&base["summary.csv"]), results(&other["summary.csv"]));
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().zip(&b).all(|(x, y)| x != y),
        "some lanes are unchanged by the seed"
    );
}
