//! The capacity planner: on a queue whose answer theory gives, it finds it; its
//! files and charts are valid and the same on any number of threads; bad
//! objectives and scenarios it cannot vary are refused with exit code 2 before
//! anything is written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod pictures;
use pictures::check_charts;

/// Poisson arrivals of one-request visits at λ = 24/s, exponential service of
/// mean 100 ms (μ = 10/s) on one worker per server: with N servers sharing the
/// load evenly each is busy ρ = λ / (N μ) = 2.4 / N of the time. The planner
/// judges the worst window; one window of the whole run keeps theory's answer.
const QUEUE: &str = r#"
name = "plan-queue"
seed = 11
duration = "10m"
window = "10m"
replications = 3
policies = ["round_robin", "least_conn"]

[arrivals]
rate = "24/s"

[sessions]
requests = { dist = "constant", value = 1 }

[servers]
count = 1
workers = 1
service = { dist = "exponential", mean = "100ms" }
"#;

const LAMBDA: f64 = 24.0;
const MU: f64 = 10.0;

fn lbsim(dir: &Path, scenario: &str, args: &[&str], threads: &str) -> (Output, PathBuf) {
    let file = dir.join("queue.toml");
    fs::write(&file, scenario).unwrap();
    let out = dir.join(format!("plan-{threads}"));
    let output = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .arg("plan")
        .arg(&file)
        .args(["--out", out.to_str().unwrap(), "--quiet"])
        .args(args)
        .env("RAYON_NUM_THREADS", threads)
        .output()
        .expect("lbsim runs");
    (output, out)
}

/// plan.csv's rows as maps from column to cell.
fn rows(out: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(out.join("plan.csv")).unwrap();
    let header = r.headers().unwrap().clone();
    r.records()
        .map(|row| {
            let row = row.unwrap();
            header
                .iter()
                .map(str::to_string)
                .zip(row.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

#[test]
fn finds_the_fewest_servers_theory_gives_for_a_utilisation_objective() {
    let dir = tempfile::tempdir().unwrap();
    let (done, out) = lbsim(dir.path(), QUEUE, &["--slo", "utilisation=0.7"], "2");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    // ρ = 2.4 / N ≤ 0.7 first holds at N = 4 (ρ = 0.6; at N = 3, ρ = 0.8).
    let want = (LAMBDA / (MU * 0.7)).ceil() as u64;
    assert_eq!(want, 4);
    let json: serde_json::Value = serde_json::from_slice(&fs::read(out.join("run.json")).unwrap()).unwrap();
    for f in json["fewest"].as_array().unwrap() {
        assert_eq!(f["servers"].as_u64(), Some(want), "{f}");
    }
    // Doubling 1, 2, 4, then 3 between the last miss and the first hit.
    assert_eq!(json["evaluated_servers"], serde_json::json!([1, 2, 3, 4]));
    for row in rows(&out)
        .iter()
        .filter(|r| r["metric"] == "utilisation_max_worst_window")
    {
        let n: f64 = row["servers"].parse().unwrap();
        let mean: f64 = row["mean"].parse().unwrap();
        // The busiest server of a stable queue is near ρ; an overloaded one is always busy.
        let rho = (LAMBDA / (n * MU)).min(1.0);
        assert!(
            (mean - rho).abs() < 0.03,
            "{n} servers: utilisation {mean}, theory {rho}"
        );
        assert_eq!(row["met"], (n >= 4.0).to_string(), "{row:?}");
    }
    check_charts(
        &out,
        &[
            "servers_needed",
            "latency_p99_ms_worst_window_vs_servers",
            "utilisation_max_worst_window_vs_servers",
            "sessions_lost_pct_vs_servers",
            "not_served_pct_vs_servers",
        ],
    );
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<b>round_robin</b> needs 4 servers"),
        "the answer in words"
    );
    assert!(html.contains("with 3 it misses the objective on busiest server&#39;s utilisation"));
}

#[test]
fn the_same_plan_on_one_or_two_threads_gives_the_same_bytes_and_force_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--slo",
        "p99=1500ms",
        "--slo",
        "loss=1%",
        "--max-servers",
        "6",
        "--no-report",
    ];
    let read = |threads: &str, force: bool| -> Vec<Vec<u8>> {
        let mut args = args.to_vec();
        if force {
            args.push("--force");
        }
        let (done, out) = lbsim(dir.path(), QUEUE, &args, threads);
        assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
        assert!(
            !out.join("report.html").exists() && !out.join("charts").exists(),
            "--no-report"
        );
        ["plan.csv", "run.json"]
            .iter()
            .map(|f| fs::read(out.join(f)).unwrap())
            .collect()
    };
    let one = read("1", false);
    assert_eq!(read("2", false), one);
    // A plan folder is lbsim's own: --force replaces it.
    assert_eq!(read("1", true), one);
}

/// Two hours of the queue above: 12/s in the first and 36/s in the second
/// (hourly multipliers 0.5 and 1.5 of the daily mean of 24/s), one window each.
fn two_hours() -> String {
    let mut hourly = vec!["1.0"; 24];
    hourly[0] = "0.5";
    hourly[1] = "1.5";
    QUEUE
        .replace(
            "duration = \"10m\"\nwindow = \"10m\"",
            "duration = \"2h\"\nwindow = \"1h\"",
        )
        .replace(
            "rate = \"24/s\"",
            &format!("rate = \"24/s\"\nhourly = [{}]", hourly.join(", ")),
        )
}

#[test]
fn an_autoscaler_range_spans_the_quiet_and_the_busy_hour_as_theory_gives() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--slo", "utilisation=0.7", "--autoscale", "--no-report"];
    let (done, out) = lbsim(dir.path(), &two_hours(), &args, "2");
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    // ρ = λ / (N μ) ≤ 0.7: at 12/s from N = 2 (ρ = 0.6; 1.2 at N = 1), at 36/s
    // from N = 6 (ρ = 0.6; 0.72 at N = 5).
    let json: serde_json::Value = serde_json::from_slice(&fs::read(out.join("run.json")).unwrap()).unwrap();
    for f in json["fewest"].as_array().unwrap() {
        assert_eq!(f["servers"], 6, "{f}");
        let a = &f["autoscale"];
        assert_eq!((a["min"].as_u64(), a["max"].as_u64()), (Some(2), Some(6)), "{f}");
        assert_eq!(a["server_hours"].as_f64(), Some(8.0), "{f}");
        assert_eq!(a["fixed_server_hours"].as_f64(), Some(12.0), "{f}");
    }
    let windows = fs::read_to_string(out.join("plan_windows.csv")).unwrap();
    let needs: Vec<&str> = windows.lines().skip(1).map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(needs, ["2", "6", "2", "6"], "{windows}");
    // The same bytes on one thread.
    let (again, one) = lbsim(dir.path(), &two_hours(), &args, "1");
    assert!(again.status.success());
    for f in ["plan.csv", "run.json", "plan_windows.csv"] {
        assert_eq!(fs::read(out.join(f)).unwrap(), fs::read(one.join(f)).unwrap(), "{f}");
    }
    // Without --autoscale, no range and no plan_windows.csv; the report draws
    // the needs over time only with them.
    let (plain, folder) = lbsim(
        dir.path(),
        &two_hours(),
        &["--slo", "utilisation=0.7", "--no-report", "--force"],
        "2",
    );
    assert!(plain.status.success());
    assert!(!folder.join("plan_windows.csv").exists());
    let (drawn, folder) = lbsim(
        dir.path(),
        &two_hours(),
        &["--slo", "utilisation=0.7", "--autoscale", "--force"],
        "2",
    );
    assert!(drawn.status.success());
    check_charts(
        &folder,
        &[
            "servers_needed",
            "servers_needed_over_time",
            "latency_p99_ms_worst_window_vs_servers",
            "utilisation_max_worst_window_vs_servers",
            "sessions_lost_pct_vs_servers",
            "not_served_pct_vs_servers",
        ],
    );
}

#[test]
fn bad_objectives_and_unvariable_scenarios_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let form = "expected p99=DURATION (e.g. p99=250ms), utilisation=FRACTION (0-1, e.g. utilisation=0.7), \
                loss=PERCENT (e.g. loss=2%) or unserved=PERCENT (e.g. unserved=0.1%)";
    let named = QUEUE.replace("count = 1", "names = [\"a\", \"b\"]");
    let plain = QUEUE.replace("workers = 1", "workers = 1\nqueueing = false");
    let scaled = QUEUE.to_string() + "\n[autoscaling]\nproduct = \"kubernetes-hpa\"\ntarget = 0.6\nmin = 1\nmax = 4\n";
    let cases: [(&str, &[&str], &str); 10] = [
        (QUEUE, &["--slo", "p99=fast"], "--slo p99=fast: not a duration; "),
        (QUEUE, &["--slo", "utilisation=70"], "--slo utilisation=70: a fraction"),
        (QUEUE, &["--slo", "loss=2"], "--slo loss=2: a percentage ending in %"),
        (QUEUE, &["--slo", "speed=1"], "--slo speed=1: expected"),
        (QUEUE, &["--slo", "loss=1%", "--slo", "loss=2%"], "both bound loss"),
        (&named, &["--slo", "loss=1%"], "[servers] names its servers"),
        (&plain, &["--slo", "p99=1s"], "queueing = false"),
        (
            &scaled,
            &["--slo", "loss=1%"],
            "has an [autoscaling] section, which sizes the pool itself",
        ),
        // Exponential service of mean 100 ms alone has p99 = 100 ms × ln 100 = 460.5 ms.
        (
            QUEUE,
            &["--slo", "p99=300ms"],
            "cannot be met at any server count: the service time alone",
        ),
        (QUEUE, &["--slo", "p99=300ms"], "has p99 460.5 ms"),
    ];
    for (scenario, args, says) in cases {
        let (done, out) = lbsim(dir.path(), scenario, args, "2");
        let err = String::from_utf8_lossy(&done.stderr);
        assert_eq!(done.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
        if says.starts_with("--slo") && !says.contains("both") {
            assert!(err.contains(form), "{args:?} names the expected form: {err}");
        }
    }
    assert!(
        fs::read_to_string(dir.path().join("queue.toml")).is_ok(),
        "the scenario is left alone"
    );
}
