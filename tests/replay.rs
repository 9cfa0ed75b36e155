//! `lbsim replay`: a real access log routed through a scenario's servers and
//! policies. The NASA-HTTP sample gives the reference figures; small logs made
//! here cover the formats, bad lines, determinism and privacy: no output may
//! hold a client's address or host name.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use tempfile::TempDir;

/// Set in CI to fail, not skip, when the reference log is missing.
const DATA_REQUIRED: &str = "LBSIM_DATA_REQUIRED";

const NASA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/data/nasa_access_log_1995-07-01_first10k.log.gz"
);

/// A replay scenario: no arrivals and no duration (the log brings both), a
/// failure and an addition inside the logs' span, and an event after it; a
/// mobile network for `--churn` (unused without it).
const SCENARIO: &str = r#"
name = "replay-test"
seed = 11
replications = 2
window = "15m"
policies = [
  "round_robin",
  "least_conn",
  "random",
  "ip_hash",
  "ip_hash(key=prefix)",
  "ring(vnodes=40)",
  "stick_table(base=least_conn, expire=20m)",
  "cookie(base=random)",
]

[sessions]
state_ttl = "20m"

[[networks]]
kind = "home"
share = 0.6

[[networks]]
kind = "mobile"
share = 0.4
switch_rate = "3/h"

[servers]
count = 3
workers = 1
service = { dist = "lognormal", median = "200ms", sigma = 0.8 }
queue_limit = 3

[[events]]
at = "1h"
action = "fail"
server = "s2"
for = "15m"

[[events]]
at = "2h"
action = "add"

[[events]]
at = "30h"
action = "remove"
server = "s1"
"#;

const FILES: [&str; 10] = [
    "comparisons.csv",
    "summary.csv",
    "summary_stats.csv",
    "timeseries.csv",
    "servers.csv",
    "server_windows.csv",
    "losses.csv",
    "events.csv",
    "run.json",
    "report.html",
];

fn nasa() -> Option<PathBuf> {
    let path = PathBuf::from(NASA);
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

fn lbsim(args: &[&str], threads: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbsim"));
    cmd.args(args);
    if let Some(n) = threads {
        cmd.env("RAYON_NUM_THREADS", n);
    }
    cmd.output().expect("lbsim runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The key that hashes host names, so that replays of one log agree.
const KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/logs/sample.key");

/// Runs a replay that must succeed, host names hashed under [`KEY`]; returns its output.
fn replay(log: &Path, scenario: &Path, out: &Path, extra: &[&str], threads: Option<&str>) -> Output {
    let mut args = vec![
        "replay",
        s(log),
        "--scenario",
        s(scenario),
        "--out",
        s(out),
        "--key-file",
        KEY,
    ];
    args.extend_from_slice(extra);
    let run = lbsim(&args, threads);
    assert!(run.status.success(), "{args:?}: {}", text(&run.stderr));
    run
}

/// Runs a replay that must be refused as bad input; returns standard error.
fn refused(args: &[&str]) -> String {
    let run = lbsim(args, None);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn write(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    fs::write(&path, bytes).expect("file written");
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut z = GzEncoder::new(Vec::new(), Compression::default());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

/// A made-up log: IPv4, IPv6 and named clients, requests in bursts with pauses
/// longer than the idle gap, several in the same second, one day.
struct Log {
    /// (seconds after midnight, client), in file order.
    requests: Vec<(u32, String)>,
    clients: Vec<String>,
}

impl Log {
    fn new() -> Log {
        let clients: Vec<String> = (0..60)
            .map(|i| match i % 3 {
                0 => format!("203.0.113.{}", 10 + i),
                1 => format!("visitor-{i}.dsl.example.net"),
                _ => format!("2001:db8:{i:x}::{:x}", i * 7 + 1),
            })
            .collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut t = 6 * 3600;
        let requests = (0..3000)
            .map(|_| {
                t += next(8) as u32;
                if next(400) == 0 {
                    t += 2400;
                }
                // Mostly a few busy clients, so sessions have several requests.
                let c = if next(3) == 0 { next(60) } else { next(12) };
                (t, clients[c as usize].clone())
            })
            .collect();
        Log { requests, clients }
    }

    fn common(&self) -> Vec<u8> {
        let mut out = String::new();
        for (t, c) in &self.requests {
            out.push_str(&format!(
                "{c} - - [10/Mar/2024:{:02}:{:02}:{:02} +0100] \"GET /p/{} HTTP/1.1\" 200 {}\n",
                t / 3600,
                t / 60 % 60,
                t % 60,
                t % 97,
                t % 5000
            ));
        }
        out.into_bytes()
    }

    /// The same requests as CSV, times alternately RFC 3339 and Unix seconds.
    fn csv(&self) -> Vec<u8> {
        // 2024-03-10T00:00:00+01:00
        let midnight = 1_710_025_200;
        let mut out = String::from("status,client,time\n");
        for (i, (t, c)) in self.requests.iter().enumerate() {
            let time = if i % 2 == 0 {
                format!("2024-03-10T{:02}:{:02}:{:02}+01:00", t / 3600, t / 60 % 60, t % 60)
            } else {
                (midnight + t).to_string()
            };
            out.push_str(&format!("200,{c},{time}\n"));
        }
        out.into_bytes()
    }
}

/// Every output file's bytes, by name; the charts as `charts/NAME`.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for e in fs::read_dir(dir).expect("output folder") {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            for (inner, bytes) in outputs(&e.path()) {
                files.insert(format!("{name}/{inner}"), bytes);
            }
        } else {
            files.insert(name, fs::read(e.path()).unwrap());
        }
    }
    files
}

/// The files of `outputs` outside charts/, whose set depends on what the run measured.
fn top_level(files: &BTreeMap<String, Vec<u8>>) -> Vec<&String> {
    files.keys().filter(|k| !k.starts_with("charts/")).collect()
}

/// run.json without what depends on the machine (wall time, speeds, threads).
fn steady_run_json(bytes: &[u8]) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).expect("run.json parses");
    let map = v.as_object_mut().unwrap();
    for k in ["wall_time_s", "events_per_s", "requests_routed_per_s", "threads"] {
        assert!(map.remove(k).is_some(), "run.json has {k}");
    }
    v
}

/// Fails if a client appears in any output file or in what the command printed.
fn assert_private(clients: &[String], dir: &Path, run: &Output) {
    let mut shown = outputs(dir);
    shown.insert("stdout".into(), run.stdout.clone());
    shown.insert("stderr".into(), run.stderr.clone());
    for (name, bytes) in &shown {
        let body = text(bytes).to_ascii_lowercase();
        for c in clients {
            assert!(!body.contains(&c.to_ascii_lowercase()), "{name} holds the client {c}");
        }
    }
}

fn summary(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("summary.csv")).expect("summary.csv");
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

#[test]
fn nasa_trace_gives_the_reference_figures() {
    let Some(log) = nasa() else { return };
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let out = dir.path().join("out");
    let run = replay(&log, &scenario, &out, &["--replications", "1"], None);
    let stdout = text(&run.stdout);
    for line in [
        "  requests   10000 over 03:39:47\n",
        "  clients    936 (818 by host name)\n",
        "  sessions   1004 at an idle gap of 30m: 9.96 requests per session (median 7, 90th percentile 21)\n",
        "  malformed  0 lines\n",
    ] {
        assert!(stdout.contains(line), "no {line:?} in:\n{stdout}");
    }
    assert!(stdout.starts_with("replaying "), "{stdout}");
    assert!(text(&run.stderr).contains("note: 1 of the scenario's pool events come after the log ends"));

    let json = steady_run_json(&fs::read(out.join("run.json")).unwrap());
    let trace = &json["trace"];
    assert_eq!(
        (
            &trace["clients"],
            &trace["sessions"],
            &trace["requests"],
            &trace["malformed_lines"]
        ),
        (&936.into(), &1004.into(), &10_000.into(), &0.into())
    );
    assert!((trace["requests_per_session_mean"].as_f64().unwrap() - 9.96).abs() < 0.005);
    assert_eq!(json["duration_s"], 13_188.0);
    assert_eq!((&json["users"], &json["sessions"]), (&936.into(), &1004.into()));

    // Losses and imbalance per policy, in the same files as a synthetic run.
    assert_eq!(top_level(&outputs(&out)), {
        let mut f = FILES.to_vec();
        f.sort();
        f
    });
    let rows = summary(&out);
    assert_eq!(rows.len(), 8);
    for row in &rows {
        assert_eq!(
            (row["scenario"].as_str(), row["requests"].as_str()),
            ("replay-test-replay", "10000")
        );
        assert_eq!((row["sessions"].as_str(), row["users"].as_str()), ("1004", "936"));
        assert!(!row["sessions_lost_pct"].is_empty() && !row["requests_max_mean"].is_empty());
    }
    let lost = |p: &str| -> f64 {
        rows.iter().find(|r| r["policy"] == p).unwrap()["sessions_lost_pct"]
            .parse()
            .unwrap()
    };
    // Nothing keeps round robin's sessions; the stick table loses few.
    assert!(lost("round_robin") > 50.0 && lost("stick_table(base=least_conn, expire=20m)") < 10.0);

    let mut clients = Vec::new();
    let mut body = String::new();
    MultiGzDecoder::new(fs::File::open(&log).unwrap())
        .read_to_string(&mut body)
        .unwrap();
    for line in body.lines() {
        let c = line.split(' ').next().unwrap().to_string();
        if !clients.contains(&c) {
            clients.push(c);
        }
    }
    assert_eq!(clients.len(), 936);
    assert_private(&clients, &out, &run);
}

/// Replays `log` on one thread and on two; every output byte must agree (run.json
/// apart from timings and the thread count).
fn assert_same_on_one_or_two_threads(log: &Path, scenario: &Path, dir: &Path, extra: &[&str]) {
    let runs: Vec<BTreeMap<String, Vec<u8>>> = ["1", "2"]
        .iter()
        .map(|n| {
            let out = dir.join(format!("out-{}-{n}", extra.len()));
            let mut args = vec!["--quiet"];
            args.extend_from_slice(extra);
            replay(log, scenario, &out, &args, Some(n));
            let files = outputs(&out);
            fs::remove_dir_all(&out).unwrap();
            files
        })
        .collect();
    assert_eq!(top_level(&runs[0]).len(), FILES.len());
    for (name, bytes) in &runs[0] {
        if name == "run.json" {
            assert_eq!(steady_run_json(bytes), steady_run_json(&runs[1][name]));
        } else {
            assert!(
                bytes == &runs[1][name],
                "{}: {name} differs between 1 and 2 threads",
                log.display()
            );
        }
    }
}

#[test]
fn replay_is_identical_on_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let made = write(&dir, "access.log.gz", &gzip(&Log::new().common()));
    for log in std::iter::once(made).chain(nasa()) {
        assert_same_on_one_or_two_threads(&log, &scenario, dir.path(), &[]);
    }
}

#[test]
fn churned_replay_is_identical_on_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let log = write(&dir, "access.log", &Log::new().common());
    assert_same_on_one_or_two_threads(&log, &scenario, dir.path(), &["--churn"]);
}

#[test]
fn no_client_address_or_name_reaches_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let made = Log::new();
    // A bad line holding a client, to check that messages never quote lines.
    let mut bytes = made.common();
    bytes.extend_from_slice(b"198.51.100.77 - - [10/Mar/2024:25:00:00 +0100] \"GET /\" 200 1\n");
    let log = write(&dir, "access.log", &bytes);
    let out = dir.path().join("out");
    let run = replay(&log, &scenario, &out, &[], None);
    assert!(text(&run.stderr).contains("access.log:3001: expected Common Log Format"));
    let mut clients = made.clients.clone();
    clients.push("198.51.100.77".into());
    assert_private(&clients, &out, &run);
}

#[test]
fn malformed_lines_are_counted_and_the_first_five_reported() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let good = Log::new().common();
    let mut lines: Vec<&[u8]> = good.split_inclusive(|&c| c == b'\n').collect();
    let bad: [&[u8]; 7] = [
        b"garbage\n",
        b"\xff\xfe binary noise\n",
        b"1.2.3.4 - - [10/Mar/2024:06:00:00] \"GET /\" 200 1\n",
        b"1.2.3.4 - - [10/Mar/2024:06:00:00 +0100] \"GET /\" 200\n",
        b"1.2.3.4 - - [10/Mar/2024:06:00:00 +0100] \"GET /\n",
        b"1.2.3.4 - -\n",
        b"1.2.3.4 - - [31/Feb/2024:06:00:00 +0100] \"GET /\" 200 1\n",
    ];
    // Bad lines at 1-based lines 2, 4, ..., 14; a blank line, not counted, at 15.
    for (i, b) in bad.iter().enumerate() {
        lines.insert(2 * i + 1, b);
    }
    lines.insert(14, b"\n");
    let log = write(&dir, "access.log", &lines.concat());
    let out = dir.path().join("out");
    let run = replay(&log, &scenario, &out, &[], None);
    let err = text(&run.stderr);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning: ")).collect();
    let at = |n: u32| {
        format!(
            "warning: {}:{n}: expected Common Log Format: HOST IDENT USER [TIME] \"REQUEST\" STATUS BYTES (",
            log.display()
        )
    };
    assert_eq!(warnings.len(), 6, "{err}");
    for (w, n) in warnings.iter().zip([2, 4, 6, 8, 10]) {
        assert!(w.starts_with(&at(n)), "{w:?} is not about line {n}");
    }
    assert_eq!(warnings[5], "warning: 2 more malformed lines skipped");
    assert!(text(&run.stdout).contains("  requests   3000 over"));
    assert!(text(&run.stdout).contains("  malformed  7 lines\n"));
    let json = steady_run_json(&fs::read(out.join("run.json")).unwrap());
    assert_eq!(json["trace"]["malformed_lines"], 7);
    assert_eq!(
        json["trace"]["first_malformed_lines"],
        serde_json::json!([2, 4, 6, 8, 10])
    );
}

#[test]
fn a_log_without_a_valid_line_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let out = dir.path().join("out");
    let cases: [(&str, &[u8], &str); 4] = [
        ("empty.log", b"", "empty.log: the access log has no request lines"),
        (
            "bad.log",
            b"\nnot a log line\nnor this\n",
            "bad.log: no valid line: all 2 lines are malformed; the first is ",
        ),
        ("bad.gz", &[0x1f, 0x8b, 8, 0, 0], "bad.gz:1: cannot read the access log"),
        ("missing.log", b"", "missing.log: cannot read the access log"),
    ];
    for (name, bytes, expected) in cases {
        let log = if name == "missing.log" {
            dir.path().join(name)
        } else {
            write(&dir, name, bytes)
        };
        let err = refused(&["replay", s(&log), "--scenario", s(&scenario), "--out", s(&out)]);
        assert!(err.starts_with(&format!("error: {}", dir.path().display())), "{err}");
        assert!(err.contains(expected), "no {expected:?} in {err}");
        assert!(!out.exists(), "{name}: a refused replay wrote {}", out.display());
    }
    let err = refused(&[
        "replay",
        s(&dir.path().join("bad.log")),
        "--scenario",
        s(&scenario),
        "--out",
        s(&out),
    ]);
    assert!(err.contains("bad.log:2: expected Common Log Format"), "{err}");
}

#[test]
fn gzip_plain_and_csv_logs_of_the_same_requests_agree() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let made = Log::new();
    let logs = [
        (write(&dir, "access.log", &made.common()), "common"),
        // A name that does not say it is compressed: the magic bytes do.
        (write(&dir, "access.dat", &gzip(&made.common())), "common"),
        (write(&dir, "access.csv", &made.csv()), "csv"),
    ];
    let summaries: Vec<Vec<u8>> = logs
        .iter()
        .enumerate()
        .map(|(i, (log, format))| {
            let out = dir.path().join(format!("out-{i}"));
            replay(log, &scenario, &out, &["--format", format, "--quiet"], None);
            fs::read(out.join("summary.csv")).unwrap()
        })
        .collect();
    assert!(
        summaries.iter().all(|s| *s == summaries[0]),
        "the same requests gave different results"
    );
}

#[test]
fn combined_logs_read_as_common_or_combined() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let common = Log::new().common();
    let combined: Vec<u8> = common
        .split(|&c| c == b'\n')
        .filter(|l| !l.is_empty())
        .flat_map(|l| [l, b" \"https://example.com/\" \"Mozilla/5.0 (X11; \\\"Linux\\\")\"\n"].concat())
        .collect();
    let plain = write(&dir, "common.log", &common);
    let rich = write(&dir, "combined.log", &combined);
    let mut sums = Vec::new();
    for (log, format) in [(&plain, "common"), (&rich, "common"), (&rich, "combined")] {
        let out = dir.path().join(format!("out-{}", sums.len()));
        replay(log, &scenario, &out, &["--format", format, "--quiet"], None);
        sums.push(fs::read(out.join("summary.csv")).unwrap());
    }
    assert!(sums[0] == sums[1] && sums[1] == sums[2]);
    let out = dir.path().join("out-strict");
    let err = refused(&[
        "replay",
        s(&plain),
        "--format",
        "combined",
        "--scenario",
        s(&scenario),
        "--out",
        s(&out),
    ]);
    assert!(err.contains("common.log:1: expected Combined Log Format"), "{err}");
    assert!(err.contains("(no \"REFERER\" \"USER-AGENT\" after BYTES)"), "{err}");
}

#[test]
fn csv_logs_need_time_and_client_columns() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let log = write(&dir, "hits.csv", b"when,who\n2024-03-10T06:00:00Z,10.1.2.3\n");
    let out = dir.path().join("out");
    let err = refused(&[
        "replay",
        s(&log),
        "--format",
        "csv",
        "--scenario",
        s(&scenario),
        "--out",
        s(&out),
    ]);
    assert!(
        err.contains("hits.csv:1: expected a header row naming a `time` and a `client` column"),
        "{err}"
    );
    let err = refused(&["replay", s(&log), "--format", "xml", "--scenario", s(&scenario)]);
    assert!(err.contains("expected one of: common, combined, csv"), "{err}");
}

#[test]
fn replay_scenarios_need_no_arrivals_or_duration_but_runs_do() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let err = refused(&["run", s(&scenario), "--out", s(&dir.path().join("run"))]);
    assert!(
        err.contains("missing field `duration`") && err.contains("lbsim replay"),
        "{err}"
    );
    let with_duration = format!("duration = \"48h\"\n{SCENARIO}");
    let scenario = write(&dir, "with-duration.toml", with_duration.as_bytes());
    let err = refused(&["run", s(&scenario), "--out", s(&dir.path().join("run"))]);
    assert!(err.contains("no traffic") && err.contains("lbsim replay"), "{err}");
    // A full scenario replays too: its duration gives way to the log's span.
    let log = write(&dir, "access.log", &Log::new().common());
    let out = dir.path().join("out");
    replay(&log, &scenario, &out, &["--quiet"], None);
    let json = steady_run_json(&fs::read(out.join("run.json")).unwrap());
    let span = json["trace"]["span_s"].as_f64().unwrap();
    assert_eq!(json["duration_s"].as_f64().unwrap(), span + 1.0, "{json}");
    assert!(span > 3600.0 && span < 86_400.0, "{json}");
}

#[test]
fn an_existing_output_folder_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let log = write(&dir, "access.log", &Log::new().common());
    let out = dir.path().join("out");
    replay(&log, &scenario, &out, &["--quiet"], None);
    let err = refused(&["replay", s(&log), "--scenario", s(&scenario), "--out", s(&out)]);
    assert!(err.contains("already exists: pass --force"), "{err}");
    replay(&log, &scenario, &out, &["--quiet", "--force"], None);
}

#[test]
fn churn_moves_phones_off_their_logged_address() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let log = write(&dir, "access.log", &Log::new().common());
    // Losses to address changes, per policy.
    let mobility = |extra: &[&str]| -> BTreeMap<String, u64> {
        let out = dir.path().join(format!("out-{}", extra.len()));
        let mut args = vec!["--quiet"];
        args.extend_from_slice(extra);
        replay(&log, &scenario, &out, &args, None);
        let mut r = csv::Reader::from_path(out.join("losses.csv")).unwrap();
        let mut by_policy = BTreeMap::new();
        for row in r.records() {
            let row = row.unwrap();
            if &row[4] == "address_changed" && &row[5] == "mobility" {
                *by_policy.entry(row[1].to_string()).or_default() += row[6].parse::<u64>().unwrap();
            }
        }
        by_policy
    };
    let steady = mobility(&[]);
    assert!(steady.values().all(|&n| n == 0), "{steady:?}");
    let churned = mobility(&["--churn"]);
    assert!(churned["ip_hash"] > 0, "{churned:?}");
    // A cookie travels with the client, whatever its address.
    assert_eq!(churned["cookie(base=random)"], 0, "{churned:?}");

    let without = write(
        &dir,
        "no-mobile.toml",
        SCENARIO
            .replace(
                "kind = \"mobile\"\nshare = 0.4\nswitch_rate = \"3/h\"",
                "kind = \"cgnat\"\nshare = 0.4",
            )
            .as_bytes(),
    );
    let err = refused(&["replay", s(&log), "--churn", "--scenario", s(&without)]);
    assert!(err.contains("--churn: ") && err.contains("kind = \"mobile\""), "{err}");
}

#[test]
fn bundled_nasa_scenario_shows_what_its_comments_say() {
    let Some(log) = nasa() else { return };
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/nasa-replay.toml");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    replay(&log, &scenario, &out, &["--quiet"], None);
    let rows = summary(&out);
    let value = |p: &str, column: &str| -> f64 {
        let row = rows.iter().find(|r| r["policy"] == p).expect("policy row");
        row[column].parse().unwrap()
    };
    for p in ["round_robin", "least_conn"] {
        assert!(value(p, "sessions_lost_pct") > 80.0, "{p}");
    }
    let moved = |p: &str| value(p, "remap_moved_pct");
    assert!(moved("ip_hash") > 60.0, "ip_hash moved {}", moved("ip_hash"));
    assert!((15.0..35.0).contains(&moved("ring(vnodes=160)")));
    for p in ["stick_table(base=least_conn, expire=30m)", "cookie(base=least_conn)"] {
        assert!(moved(p) < 20.0, "{p} moved {}", moved(p));
        assert!(value(p, "requests_max_mean") > value("round_robin", "requests_max_mean"));
    }
}

#[test]
fn a_log_too_long_for_the_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(&dir, "replay.toml", SCENARIO.as_bytes());
    let log = write(
        &dir,
        "long.csv",
        b"time,client\n2024-01-01T00:00:00Z,10.0.0.1\n2024-03-01T00:00:00Z,10.0.0.1\n",
    );
    let out = dir.path().join("out");
    let err = refused(&[
        "replay",
        s(&log),
        "--format",
        "csv",
        "--scenario",
        s(&scenario),
        "--out",
        s(&out),
    ]);
    assert!(
        err.contains("long.csv: the log spans 60.0 days: a replay lasts at most 49 days"),
        "{err}"
    );
    let fine = SCENARIO.replace("window = \"15m\"", "window = \"1s\"");
    let scenario = write(&dir, "fine.toml", fine.as_bytes());
    let log = write(
        &dir,
        "week.csv",
        b"time,client\n2024-01-01T00:00:00Z,10.0.0.1\n2024-01-08T00:00:00Z,10.0.0.1\n",
    );
    let err = refused(&[
        "replay",
        s(&log),
        "--format",
        "csv",
        "--scenario",
        s(&scenario),
        "--out",
        s(&out),
    ]);
    assert!(err.contains("more than 100000 windows; give a longer window"), "{err}");
    assert!(!out.exists());
}
