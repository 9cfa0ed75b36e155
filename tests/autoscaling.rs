//! Autoscaling against hand-computed timelines. Two servers, a Kubernetes HPA on
//! 1 request per second per server (sync every 15 s, tolerance 0.1, 300 s
//! scale-down window, 30 s to provision, 30 s drain). Two users send a request
//! every second from 0.5 s to 699.5 s; two more from 100.5 s to 299.5 s.
//!
//! - 105 s: [90, 105) held 30 + 10 requests on 2 servers, 1.33/s each: desired
//!   ceil(2 × 1.33) = 3, `auto1` joins at 135 s.
//! - 120 s: [105, 120) held 60 requests, 2/s on each of the 2 ready servers:
//!   desired ceil(2 × 2) = 4, `auto2` joins at 150 s.
//! - From 315 s the load is 2/s on 4 servers, 0.5 each: the recommendation is 2,
//!   but the window keeps the 4 of 300 s until 600 s, when `auto2` and `auto1`
//!   (newest first) start draining; they are removed at 630 s.

use std::path::Path;

use lbsim::experiment::{LaneOutcome, RunResult};
use lbsim::metrics::LossCause;
use lbsim::scenario::Scenario;

const SECOND: u64 = 1_000_000_000;

fn scenario(policy: &str, autoscaling: &str) -> String {
    let user = |name: &str, address: &str, at: &str, requests: u32| {
        format!(
            "[[users]]\nname = \"{name}\"\naddress = \"{address}\"\nvisits = [\"{at}\"]\nrequests = {requests}\nthink = {{ dist = \"constant\", value = \"1s\" }}\n"
        )
    };
    format!(
        r#"
duration = "700s"
policies = ["{policy}"]

[servers]
count = 2
queueing = false
service = {{ dist = "constant", value = "10ms" }}

[autoscaling]
metric = "requests_per_server"
target = 1
min = 1
max = 8
{autoscaling}

{}{}{}{}"#,
        user("a", "192.0.2.1", "0.5s", 700),
        user("b", "198.51.100.7", "0.5s", 700),
        user("c", "203.0.113.9", "100.5s", 200),
        user("d", "100.64.3.4", "100.5s", 200),
    )
}

fn run(text: &str) -> RunResult {
    let sc = Scenario::parse(text, Path::new("autoscale.toml")).expect("valid scenario");
    lbsim::experiment::run(&sc)
}

fn lane(result: &RunResult) -> &LaneOutcome {
    &result.replications[0].lanes[0]
}

fn events(lane: &LaneOutcome) -> Vec<(u64, &str, &str)> {
    lane.report
        .remaps
        .iter()
        .map(|e| (e.at / SECOND, e.action, e.server.as_str()))
        .collect()
}

#[test]
fn hpa_doubles_the_pool_at_the_expected_ticks_and_waits_out_the_window() {
    let result = run(&scenario("ip_hash", ""));
    assert_eq!(
        events(lane(&result)),
        [
            (135, "add", "auto1"),
            (150, "add", "auto2"),
            (600, "drain", "auto2"),
            (600, "drain", "auto1"),
            (630, "remove", "auto2"),
            (630, "remove", "auto1"),
        ]
    );
    let scaled = result.replications[0].autoscale.as_ref().expect("autoscaled");
    let at = |t: u64| scaled.samples.iter().find(|s| s.at == t * SECOND).expect("a tick");
    assert_eq!((at(105).serving, at(105).requested), (2, 3));
    assert_eq!((at(120).serving, at(120).requested), (2, 4));
    assert_eq!((at(150).serving, at(150).requested), (4, 4));
    assert!((at(105).metric - 40.0 / 15.0 / 2.0).abs() < 1e-12);
    // 2 servers for 700 s, auto1 from 105 s and auto2 from 120 s to 630 s.
    let hours = (2.0 * 700.0 + (630.0 - 105.0) + (630.0 - 120.0)) / 3600.0;
    assert!((scaled.server_hours - hours).abs() < 1e-9, "{}", scaled.server_hours);
}

#[test]
fn every_session_a_scale_event_moves_is_lost_to_autoscale() {
    let result = run(&scenario("ring(vnodes=160)", ""));
    let lane = lane(&result);
    // Nothing else moves a user: count each change of server between a user's requests.
    let mut last: std::collections::HashMap<u32, &str> = Default::default();
    let mut moves = 0;
    for s in &lane.journeys {
        if last
            .insert(s.user, s.server.as_str())
            .is_some_and(|before| before != s.server)
        {
            moves += 1;
        }
    }
    assert!(moves > 0, "the ring moves someone onto an added server");
    assert_eq!(lane.report.by_cause[LossCause::Autoscale.index()], moves);
    assert_eq!(lane.report.totals.losses, moves);
}

#[test]
fn tolerance_and_bounds_hold_the_count() {
    // A tolerance of 0.5 absorbs the 1.33 of 105 s, not the 2 of 120 s.
    let result = run(&scenario("ip_hash", "tolerance = 0.5"));
    let adds: Vec<_> = events(lane(&result)).into_iter().filter(|e| e.1 == "add").collect();
    assert_eq!(adds, [(150, "add", "auto1"), (150, "add", "auto2")]);
    // max = 3 stops at one added server.
    let result = run(&scenario("ip_hash", "").replace("max = 8", "max = 3"));
    let adds: Vec<_> = events(lane(&result)).into_iter().filter(|e| e.1 == "add").collect();
    assert_eq!(adds, [(135, "add", "auto1")]);
}

#[test]
fn aws_waits_for_three_datapoints_and_a_longer_launch() {
    let result = run(&scenario(
        "ip_hash",
        "product = \"aws-target-tracking\"\nprovisioning = \"60s\"\ndrain = \"60s\"",
    ));
    // Datapoints at 60, 120, 180 s…: [60, 120) holds 120 + 40 requests on 2 servers,
    // 1.33/s each, the first above the target; 180 s is the second, 240 s the third
    // (2/s each): capacity ceil(2 × 2) = 4, serving 60 s later.
    let adds: Vec<_> = events(lane(&result)).into_iter().filter(|e| e.1 == "add").collect();
    assert_eq!(adds, [(300, "add", "auto1"), (300, "add", "auto2")]);
}

#[test]
fn the_bundled_day_follows_its_load_whatever_the_threads() {
    let sc = Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/autoscale-diurnal.toml"))
        .expect("bundled scenario loads");
    let files = |threads| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let result = pool.install(|| lbsim::experiment::run(&sc));
        (lbsim::output::csv::files(&sc, &result), result)
    };
    let (one, result) = files(1);
    let (two, _) = files(2);
    assert_eq!(one, two, "byte-identical on 1 and 2 threads");
    let samples = &result.replications[0].autoscale.as_ref().expect("autoscaled").samples;
    let hour = |h: u64| {
        let s: Vec<_> = samples.iter().filter(|s| s.at / (3600 * SECOND) == h).collect();
        s.iter().map(|s| f64::from(s.serving)).sum::<f64>() / s.len() as f64
    };
    // The diurnal peak at 20:00 needs more servers than the trough twelve hours before.
    assert!(hour(20) > 1.5 * hour(8), "20h: {}, 8h: {}", hour(20), hour(8));
    assert!(samples.iter().all(|s| (2..=12).contains(&s.serving)));
}

#[test]
fn the_report_draws_the_servers_beside_the_load_only_when_autoscaled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let charts = |name: &str, text: String| {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, text).expect("scenario written");
        let out = dir.path().join(name);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_lbsim"))
            .args(["run", path.to_str().expect("UTF-8"), "--quiet", "--out"])
            .arg(&out)
            .output()
            .expect("lbsim runs");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let html = std::fs::read_to_string(out.join("report.html")).expect("report written");
        (
            out.join("charts/servers_over_time.svg").is_file(),
            html.contains("servers_over_time"),
        )
    };
    assert_eq!(charts("scaled", scenario("ip_hash", "")), (true, true));
    let fixed = scenario("ip_hash", "").replace(
        "[autoscaling]\nmetric = \"requests_per_server\"\ntarget = 1\nmin = 1\nmax = 8\n",
        "",
    );
    assert_eq!(charts("fixed", fixed), (false, false));
}
