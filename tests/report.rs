//! The report of a run: every chart is a valid PNG and SVG of a sensible size,
//! report.html holds every chart inline and nothing from outside the file, the
//! same folder gives the same bytes, and a folder lbsim did not write is refused
//! with exit code 2, naming it.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

mod pictures;
use pictures::check_charts;

/// Two hours with waiting lines (so latency and utilisation are measured), a
/// server failing and coming back, one joining, and two replications.
const QUEUEING: &str = r#"
name = "report-test"
seed = 3
duration = "2h"
window = "10m"
replications = 2
policies = ["round_robin", "ip_hash", "ring(vnodes=50)", "cookie(base=least_conn)"]

[arrivals]
rate = "0.3/s"

[[networks]]
kind = "mobile"
share = 0.5
switch_rate = "2/h"

[[networks]]
kind = "home"
share = 0.5

[servers]
count = 3
workers = 2
service = { dist = "lognormal", median = "80ms", sigma = 0.5 }
queue_limit = 20

[[events]]
at = "30m"
action = "fail"
server = "s2"
for = "20m"

[[events]]
at = "1h30m"
action = "add"
"#;

/// A pure routing study: no latency measured, so no latency charts.
const NO_QUEUEING: &str = r#"
name = "report-plain"
duration = "1h"
window = "15m"
policies = ["ip_hash", "cookie"]

[arrivals]
rate = "0.5/s"

[servers]
count = 2
queueing = false
"#;

const ALWAYS: [&str; 6] = [
    "sessions_lost_over_time",
    "losses_by_cause",
    "imbalance_over_time",
    "server_load",
    "server_load_busiest_window",
    "server_load_distribution",
];
const WITH_EVENTS: [&str; 1] = ["sessions_moved_per_pool_change"];
const WITH_LATENCY: [&str; 2] = ["latency_p99_over_time", "server_utilisation"];

fn lbsim(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .args(args)
        .output()
        .expect("lbsim runs")
}

/// Runs `scenario` into `dir/out` and returns the output folder.
fn run(dir: &Path, scenario: &str, extra: &[&str]) -> std::path::PathBuf {
    let file = dir.join("scenario.toml");
    fs::write(&file, scenario).unwrap();
    let out = dir.join("out");
    let mut args = vec!["run", file.to_str().unwrap(), "--out", out.to_str().unwrap(), "--quiet"];
    args.extend_from_slice(extra);
    let done = lbsim(&args);
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    out
}

#[test]
fn every_chart_is_a_valid_png_and_svg_and_the_page_holds_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), QUEUEING, &[]);
    let names: Vec<&str> = ALWAYS
        .iter()
        .chain(&WITH_EVENTS)
        .chain(&WITH_LATENCY)
        .copied()
        .collect();
    check_charts(&out, &names);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    // A capacity report: the answer first, the best value of each column marked,
    // charts under the question they answer, no raw run.json keys.
    let answer = html.find("<p class=\"answer\">Deploy ").expect("the answer paragraph");
    assert!(
        answer < html.find("<table>").unwrap(),
        "the answer comes before the table"
    );
    assert!(
        html.matches("<td class=\"best\">").count() >= 5,
        "a best value per column"
    );
    assert!(html.contains("<h2>How many sessions does each policy lose, when, and why?</h2>"));
    assert!(html.contains("<dd>2 h</dd>"), "the duration in human units");
    assert!(!html.contains("duration_s"), "no raw keys");
    assert!(html.contains("@media print"), "a print stylesheet");
    for policy in ["round_robin", "ip_hash", "ring(vnodes=50)", "cookie(base=least_conn)"] {
        assert!(html.contains(policy), "{policy} in report.html");
    }
    assert!(html.contains("report-test"), "the scenario's name");
    // Two replications: mean ± half-width, and a verdict per policy.
    assert!(html.contains(" ± "), "confidence half-widths");
    assert_eq!(html.matches("<li><b>").count(), 4, "one verdict per policy");
    assert!(html.contains("round_robin</b> loses "), "verdicts say what is lost");
}

#[test]
fn without_waiting_lines_there_are_no_latency_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), NO_QUEUEING, &[]);
    check_charts(&out, &ALWAYS);
}

/// One user on one long-lived connection to A; B joins and A is removed while
/// the connection is open. Both lanes lose the one session; IPVS's default
/// `expire_nodest_conn = 0` also drops a request.
const DEAD_CONNECTION: &str = r#"
name = "report-dead-connection"
duration = "11h"
policies = ["per_connection(base=ipvs.mh, dead_server=drop)", "per_connection(base=ipvs.mh)"]

[servers]
names = ["A"]
queueing = false

[[events]]
at = 36005
action = "add"
server = "B"

[[events]]
at = 36010.5
action = "remove"
server = "A"

[[users]]
name = "one"
address = "192.0.2.1"
visits = ["10h"]
requests = 60
think = { dist = "constant", value = "1s" }
"#;

#[test]
fn on_equal_losses_the_answer_prefers_the_policy_that_answers_every_request() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), DEAD_CONNECTION, &[]);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<p class=\"answer\">Deploy per_connection(base=ipvs.mh): "),
        "{}",
        &html[html.find("<p class=\"answer\">").unwrap()..][..200]
    );
}

#[test]
fn the_same_folder_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), QUEUEING, &[]);
    let read = |out: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(out.join("charts"))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.push(("report.html".into(), fs::read(out.join("report.html")).unwrap()));
        files.sort();
        files
    };
    let first = read(&out);
    let again = lbsim(&["report", out.to_str().unwrap()]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(read(&out), first, "lbsim report rewrote other bytes");
    let leftovers: Vec<_> = fs::read_dir(&out)
        .unwrap()
        .chain(fs::read_dir(out.join("charts")).unwrap())
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn no_report_writes_only_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), NO_QUEUEING, &["--no-report"]);
    assert!(!out.join("report.html").exists() && !out.join("charts").exists());
    let made = lbsim(&["report", out.to_str().unwrap()]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    check_charts(&out, &ALWAYS);
}

#[test]
fn a_run_from_before_server_windows_csv_still_gets_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), NO_QUEUEING, &["--no-report"]);
    fs::remove_file(out.join("server_windows.csv")).unwrap();
    let made = lbsim(&["report", out.to_str().unwrap()]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let whole_run: Vec<&str> = ALWAYS
        .into_iter()
        .filter(|&c| c != "server_load_busiest_window")
        .collect();
    check_charts(&out, &whole_run);
}

#[test]
fn a_folder_lbsim_did_not_write_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-run");
    let stranger = dir.path().join("stranger");
    fs::create_dir(&stranger).unwrap();
    fs::write(stranger.join("notes.txt"), "not a run").unwrap();
    let partial = dir.path().join("partial");
    fs::create_dir(&partial).unwrap();
    fs::write(partial.join("run.json"), "{}").unwrap();
    for bad in [&missing, &stranger, &partial] {
        let out = lbsim(&["report", bad.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", bad.display());
        assert!(err.contains(bad.to_str().unwrap()), "the error names the folder: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!bad.join("report.html").exists() && !bad.join("charts").exists());
    }
}

const SWEPT: [&str; 4] = [
    "sessions_lost_pct",
    "requests_max_mean",
    "latency_p99_ms",
    "utilisation_max",
];

#[test]
fn a_sweep_charts_each_metric_against_each_key_with_the_others_held() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        NO_QUEUEING,
        &["--vary", "servers.count=2,3,5", "--vary", "sessions.state_ttl=10m,30m"],
    );
    // Without waiting lines: losses and imbalance only.
    let names: Vec<String> = ["servers_count", "sessions_state_ttl"]
        .iter()
        .flat_map(|k| SWEPT[..2].iter().map(move |m| format!("{m}_vs_{k}")))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    check_charts(&out, &names);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    // Each key's charts hold the other key at its first value, and say so.
    assert!(
        html.contains("against servers.count (at sessions.state_ttl = 10m)"),
        "slice named"
    );
    assert!(
        html.contains("against sessions.state_ttl (at servers.count = 2)"),
        "slice named"
    );
    // A row per point and policy: 6 points × 2 policies.
    assert_eq!(html.matches("<tr><td>").count(), 12, "every point and policy");
    assert_eq!(html.matches("<li><b>").count(), 2, "one verdict per policy");
    assert!(html.contains("ip_hash</b> loses "), "verdicts say what is lost");
    // Durations are placed on a time axis, in minutes.
    let svg = fs::read_to_string(out.join("charts/sessions_lost_pct_vs_sessions_state_ttl.svg")).unwrap();
    assert!(svg.contains("sessions.state_ttl (min)"), "the axis names its unit");
}

#[test]
fn a_sweep_with_waiting_lines_charts_latency_and_utilisation_and_reports_again_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), QUEUEING, &["--vary", "servers.count=2,4"]);
    let names: Vec<String> = SWEPT.iter().map(|m| format!("{m}_vs_servers_count")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    check_charts(&out, &names);
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains(" ± "), "two replications: confidence half-widths");
    assert!(
        html.contains("95% CI over 2 replications"),
        "the charts say what the bands are"
    );
    let before = fs::read(out.join("report.html")).unwrap();
    let again = lbsim(&["report", out.to_str().unwrap()]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(
        fs::read(out.join("report.html")).unwrap(),
        before,
        "same folder, same page"
    );
}
