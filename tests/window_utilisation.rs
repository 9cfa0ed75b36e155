//! Utilisation per window: on a steady queue each window's utilisation is the
//! offered load and the run's is their mean; under a daily curve the worst
//! window is busier than the day's mean, and the planner judges that window.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;

/// One-request visits at 24/s over 4 servers of one worker serving 10/s each
/// (exponential, mean 100 ms): each server is busy ρ = 24 / (4 × 10) = 0.6.
const STEADY: &str = r#"
name = "steady"
seed = 9
duration = "20m"
window = "2m"
policies = ["round_robin"]

[arrivals]
rate = "24/s"

[sessions]
requests = { dist = "constant", value = 1 }

[servers]
count = 4
workers = 1
service = { dist = "exponential", mean = "100ms" }
"#;

fn lbsim(dir: &Path, scenario: &str, args: &[&str]) {
    let file = dir.join("scenario.toml");
    fs::write(&file, scenario).unwrap();
    let done = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(args)
        .arg(&file)
        .arg("--out")
        .arg(dir.join("out"))
        .args(["--quiet", "--no-report"])
        .output()
        .expect("lbsim runs");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
}

fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    r.records()
        .map(|row| {
            header
                .iter()
                .cloned()
                .zip(row.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

fn number(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column].parse().unwrap_or_else(|_| panic!("{column} in {row:?}"))
}

#[test]
fn a_steady_queue_is_equally_busy_in_every_window() {
    let dir = tempfile::tempdir().unwrap();
    lbsim(dir.path(), STEADY, &["run"]);
    let out = dir.path().join("out");
    let windows = rows(&out.join("server_windows.csv"));
    assert_eq!(windows.len(), 10 * 4);
    for server in ["s1", "s2", "s3", "s4"] {
        let utils: Vec<f64> = windows
            .iter()
            .filter(|r| r["server"] == server)
            .map(|r| number(r, "utilisation"))
            .collect();
        for u in &utils {
            // 2 minutes hold about 720 services of 100 ms per server: sd ≈ 0.04.
            assert!((u - 0.6).abs() < 0.15, "{server}: {utils:?}");
        }
        // Windows of equal length with the server always up: the run's utilisation
        // is their mean (to the CSV's six decimals).
        let run = rows(&out.join("servers.csv"))
            .into_iter()
            .find(|r| r["server"] == server)
            .map(|r| number(&r, "utilisation"))
            .unwrap();
        let mean = utils.iter().sum::<f64>() / utils.len() as f64;
        assert!((run - mean).abs() < 1e-5, "{server}: run {run}, windows' mean {mean}");
    }
    let series = rows(&out.join("timeseries.csv"));
    let summary = &rows(&out.join("summary.csv"))[0];
    let worst = series.iter().map(|r| number(r, "utilisation_max")).fold(0.0, f64::max);
    assert_eq!(worst, number(summary, "utilisation_max_worst_window"));
    let worst_p99 = series.iter().map(|r| number(r, "latency_p99_ms")).fold(0.0, f64::max);
    assert_eq!(worst_p99, number(summary, "latency_p99_ms_worst_window"));
    assert!(worst_p99 >= number(summary, "latency_p99_ms"));
}

#[test]
fn under_a_daily_curve_the_planner_judges_the_busiest_window() {
    // The same load as a daily mean, with the evening peak at 1.8 × the mean: ρ = 0.6
    // on average but 1.08 at the peak with 4 servers, so utilisation ≤ 0.9 in every
    // window needs 24 × 1.8 / (10 × 0.9) = 4.8, that is 5 servers at least.
    let diurnal = STEADY
        .replace("duration = \"20m\"", "duration = \"24h\"")
        .replace("window = \"2m\"", "window = \"1h\"")
        .replace(
            "rate = \"24/s\"",
            "rate = \"2.4/s\"\ndiurnal = { peak_to_mean = 1.8, peak_hour = 20 }",
        )
        .replace("mean = \"100ms\"", "mean = \"1s\"");
    let dir = tempfile::tempdir().unwrap();
    lbsim(
        dir.path(),
        &diurnal,
        &["plan", "--slo", "utilisation=0.9", "--max-servers", "8"],
    );
    let plan = rows(&dir.path().join("out/plan.csv"));
    let at = |servers: &str| {
        plan.iter()
            .find(|r| r["servers"] == servers && r["metric"] == "utilisation_max_worst_window")
            .map(|r| number(r, "mean"))
    };
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("out/run.json")).unwrap()).unwrap();
    let fewest = json["fewest"][0]["servers"].as_u64().expect("met by 8");
    assert!(fewest >= 5, "{fewest} servers");
    let below = (fewest - 1).to_string();
    if let Some(u) = at(&below) {
        assert!(u > 0.9, "{below} servers: worst window {u}");
    }
}
