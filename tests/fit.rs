//! `lbsim fit`: a population fitted to an access log must reproduce the log's own
//! statistics when its scenario's workload is generated as `lbsim run` generates it,
//! and recover the known parameters of a generated log. Bad logs are refused with
//! a located message and nothing written.

#[cfg(not(debug_assertions))]
#[path = "support/fitlog.rs"]
mod fitlog;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

#[cfg(not(debug_assertions))]
use serde_json::Value;
use tempfile::TempDir;

/// Set in CI to fail, not skip, when the reference log is missing.
#[cfg(not(debug_assertions))]
const DATA_REQUIRED: &str = "LBSIM_DATA_REQUIRED";

#[cfg(not(debug_assertions))]
const NASA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/nasa_access_log_1995-07-01_first10k.log.gz"
);

#[cfg(not(debug_assertions))]
fn nasa() -> Option<std::path::PathBuf> {
    let path = std::path::PathBuf::from(NASA);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var_os(DATA_REQUIRED).is_none(),
        "{NASA} is missing, and {DATA_REQUIRED} is set"
    );
    eprintln!("skipped: {NASA} is not here (the shared reference data sits beside the checkout)");
    None
}

fn lbsim(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("lbsim runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[cfg(not(debug_assertions))]
/// The rows of `lbsim fit --check`: (statistic, log, run).
fn rows(table: &str) -> Vec<(String, f64, f64)> {
    table
        .lines()
        .filter(|l| l.ends_with(" yes") || l.ends_with(" NO"))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let n = w.len();
            (
                w[..n - 4].join(" "),
                w[n - 4].parse().unwrap(),
                w[n - 3].parse().unwrap(),
            )
        })
        .collect()
}

#[cfg(not(debug_assertions))]
/// Fits `log` into DIR/fit.toml and checks it; returns the check's rows and fit.json.
fn fit_and_check(dir: &Path, log: &Path, flags: &[&str]) -> (Vec<(String, f64, f64)>, Value) {
    let log = log.to_str().unwrap();
    let mut args = vec!["fit", log, "--out", "fit.toml"];
    args.extend(flags);
    let o = lbsim(dir, &args);
    assert!(o.status.success(), "{}", text(&o));
    let mut args = vec!["fit", log, "--check", "fit.toml"];
    args.extend(flags);
    let o = lbsim(dir, &args);
    let table = text(&o);
    println!("{table}");
    let json = serde_json::from_str(&fs::read_to_string(dir.join("fit.json")).unwrap()).unwrap();
    (rows(&table), json)
}

#[cfg(not(debug_assertions))]
fn relative(rows: &[(String, f64, f64)], prefix: &str) -> Vec<f64> {
    rows.iter()
        .filter(|r| r.0.starts_with(prefix))
        .map(|r| (r.2 - r.1) / r.1)
        .collect()
}

#[cfg(not(debug_assertions))]
fn population() -> fitlog::Population {
    fitlog::Population {
        seed: 7,
        hourly: [
            120.0, 90.0, 80.0, 100.0, 160.0, 220.0, 260.0, 240.0, 200.0, 180.0, 150.0, 130.0,
        ]
        .iter()
        .map(|r| r * 8.0)
        .collect(),
        requests_median: 5.0,
        requests_sigma: 0.7,
        think_median_s: 12.0,
        think_sigma: 1.1,
        idle_s: 1800.0,
        return_share: 0.3,
        return_shape: 1.5,
        addresses_per_user: 1.0,
        gateways: 40,
        gateway_share: 0.3,
    }
}

#[cfg(not(debug_assertions))]
fn within(v: &Value, truth: f64) -> bool {
    let ci = v["ci95"].as_array().unwrap();
    ci[0].as_f64().unwrap() <= truth && truth <= ci[1].as_f64().unwrap()
}

#[cfg(not(debug_assertions))]
#[test]
fn nasa_fit_reproduces_the_logs_statistics() {
    let Some(log) = nasa() else { return };
    let dir = TempDir::new().unwrap();
    let (rows, json) = fit_and_check(dir.path(), &log, &[]);
    assert_eq!(json["sessions"], 1004);
    // Requests per session: mean, median and 90th percentile within 5%. The log's
    // own histogram wins on AIC here, so the run draws the log's session lengths.
    assert_eq!(json["requests_per_session"]["chosen"]["dist"], "empirical", "{json}");
    for stat in [
        "requests/session mean",
        "requests/session median",
        "requests/session p90",
    ] {
        assert!(relative(&rows, stat)[0].abs() <= 0.05, "{stat}: {rows:?}");
    }
    let hours = relative(&rows, "sessions/hour");
    assert_eq!(hours.len(), 4, "{rows:?}");
    assert!(hours.iter().all(|d| d.abs() <= 0.05), "{rows:?}");
    assert!(relative(&rows, "distinct addresses")[0].abs() <= 0.05, "{rows:?}");
    // The imbalance, as the mean over placements of the clients' networks, within
    // 0.05 (the log's own placement is one draw, about ±0.08 around it).
    let imbalance = rows.iter().find(|r| r.0.starts_with("nginx.ip_hash")).unwrap();
    assert!((imbalance.2 - imbalance.1).abs() <= 0.05, "{rows:?}");
}

#[cfg(not(debug_assertions))]
#[test]
fn a_generated_logs_parameters_are_recovered_and_reproduced() {
    let dir = TempDir::new().unwrap();
    let p = population();
    let generated = fitlog::generate(&p);
    let path = dir.path().join("generated.log");
    fs::write(&path, &generated.log).unwrap();
    let (rows, json) = fit_and_check(dir.path(), &path, &["--format", "combined"]);
    let requests = &json["requests_per_session"]["chosen"];
    assert_eq!(requests["dist"], "lognormal", "{requests}");
    assert!(
        within(&requests["parameters"]["median"], p.requests_median),
        "{requests}"
    );
    assert!(within(&requests["parameters"]["sigma"], p.requests_sigma), "{requests}");
    let think = &json["think_s"]["chosen"];
    assert_eq!(think["dist"], "lognormal", "{think}");
    assert!(within(&think["parameters"]["median"], p.think_median_s), "{think}");
    assert!(within(&think["parameters"]["sigma"], p.think_sigma), "{think}");
    let returns = &json["returns"];
    let ci = |k: &str| {
        returns[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect::<Vec<_>>()
    };
    let (share, shape) = (ci("share_ci95"), ci("pareto_shape_ci95"));
    assert!(share[0] <= p.return_share && p.return_share <= share[1], "{returns}");
    assert!(shape[0] <= p.return_shape && p.return_shape <= shape[1], "{returns}");
    let gateways = &json["users_per_address"]["gateways"];
    assert_eq!(gateways["addresses"], p.gateways, "{json}");
    // Households drew addresses uniformly from a pool of m: u users occupy
    // m(1 − e^(−u/m)) of them.
    let home = &json["users_per_address"];
    let ci = home["home_ci95"].as_array().unwrap();
    let (u, m) = (generated.home_users as f64, generated.home_pool as f64);
    let expected = u / (m * (1.0 - (-u / m).exp()));
    assert!(
        ci[0].as_f64().unwrap() <= expected && expected <= ci[1].as_f64().unwrap(),
        "{home} {expected}"
    );
    let arrivals = &json["arrivals"]["hourly_ci95_per_h"];
    let covered = (0..p.hourly.len())
        .filter(|&h| {
            let ci = arrivals[h].as_array().unwrap();
            ci[0].as_f64().unwrap() <= p.hourly[h] && p.hourly[h] <= ci[1].as_f64().unwrap()
        })
        .count();
    // 95% intervals: at most one of twelve may miss by chance.
    assert!(covered >= p.hourly.len() - 1, "{arrivals}");
    // Requests per session, sessions in every hour and addresses within 5%; the
    // imbalance of ip_hash over placements of the clients' networks within 0.05.
    for (name, log, run) in &rows {
        let ok = if name.starts_with("nginx.ip_hash") {
            (run - log).abs() <= 0.05
        } else {
            ((run - log) / log).abs() <= 0.05
        };
        assert!(ok, "{name}: log {log}, run {run}\n{rows:?}");
    }
}

#[test]
fn a_log_with_no_parseable_line_is_refused_and_nothing_written() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("bad.log"), "not a log line\nnor this\n").unwrap();
    let o = lbsim(dir.path(), &["fit", "bad.log", "--out", "out.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(t.contains("bad.log:1: expected Common Log Format"), "{t}");
    assert!(!dir.path().join("out.toml").exists() && !dir.path().join("fit.json").exists());
}

#[test]
fn a_log_too_short_to_fit_is_refused_and_nothing_written() {
    let dir = TempDir::new().unwrap();
    let line = |s: u32| format!("10.0.0.1 - - [01/Jul/2026:00:00:{s:02} +0000] \"GET / HTTP/1.1\" 200 1\n");
    fs::write(dir.path().join("short.log"), (0..5).map(line).collect::<String>()).unwrap();
    let o = lbsim(dir.path(), &["fit", "short.log", "--out", "out.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(
        t.contains("short.log: too short to fit: 1 sessions and 4 think times"),
        "{t}"
    );
    assert!(!dir.path().join("out.toml").exists() && !dir.path().join("fit.json").exists());
}

#[test]
fn an_unknown_session_field_is_refused_with_the_columns() {
    let dir = TempDir::new().unwrap();
    fs::write(dir.path().join("log.csv"), "time,client,sid\n1,10.0.0.1,a\n").unwrap();
    let o = lbsim(
        dir.path(),
        &["fit", "log.csv", "--format", "csv", "--session-field", "cookie"],
    );
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    assert!(
        t.contains("log.csv:1: no column named \"cookie\" in the header; the columns are: time, client, sid"),
        "{t}"
    );
    assert!(!dir.path().join("fit-log.toml").exists() && !dir.path().join("fit.json").exists());
    let o = lbsim(dir.path(), &["fit", "log.csv", "--session-field", "sid"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--session-field names a CSV column"), "{}", text(&o));
}

/// The README's "My config, my log, what if" commands, run as written (lbsim on
/// the PATH, the checkout's tests/ in the working folder).
#[test]
fn the_readme_walk_through_runs_as_written() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let after = readme
        .split("### My config, my log, what if")
        .nth(1)
        .expect("the walk-through");
    let block = after.split("```sh\n").nth(1).unwrap().split("```").next().unwrap();
    let dir = TempDir::new().unwrap();
    let work = dir.path().join("work");
    fs::create_dir(&work).unwrap();
    std::os::unix::fs::symlink(root.join("tests"), work.join("tests")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_lbsim")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let commands: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(commands.len(), 3, "{block}");
    for c in &commands {
        let o = Command::new("sh")
            .arg("-c")
            .arg(c)
            .current_dir(&work)
            .env("PATH", &path)
            .output()
            .unwrap();
        assert!(o.status.success(), "{c}\n{}", text(&o));
    }
    let summary = fs::read_to_string(work.join("whatif/summary.csv")).unwrap();
    assert!(
        summary.contains("nginx.ip_hash") && summary.contains("ring(vnodes=160)"),
        "{summary}"
    );
    let fitted = fs::read_to_string(work.join("mine.toml")).unwrap();
    assert!(
        fitted.contains("192.0.2.14") && fitted.contains("requests = { dist ="),
        "{fitted}"
    );
}

/// With a session field, users are the ids, and ids seen from several addresses
/// become a mobile network: here 10 of 40 users go to another address for one
/// request and come back, 20 s later.
#[test]
fn a_session_field_shows_churn_as_a_mobile_network() {
    let dir = TempDir::new().unwrap();
    let mut csv = String::from("time,client,sid\n");
    for u in 0..40u32 {
        for r in 0..5u32 {
            let away = u < 10 && r == 2;
            let client = if away {
                format!("100.64.0.{u}")
            } else {
                format!("10.0.{u}.1")
            };
            csv.push_str(&format!("{},{client},s{u}\n", 1_800_000_000 + u * 60 + r * 10));
        }
    }
    fs::write(dir.path().join("log.csv"), csv).unwrap();
    let o = lbsim(
        dir.path(),
        &[
            "fit",
            "log.csv",
            "--format",
            "csv",
            "--session-field",
            "sid",
            "--out",
            "f.toml",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("fit.json")).unwrap()).unwrap();
    assert_eq!(json["churn"]["share"], 0.25, "{json}");
    assert_eq!(json["churn"]["changes"], 20, "{json}");
    assert_eq!(json["churn"]["stay_s"], 10.0, "{json}");
    let toml = fs::read_to_string(dir.path().join("f.toml")).unwrap();
    assert!(toml.contains("kind = \"mobile\"\nshare = 0.2500"), "{toml}");
}
