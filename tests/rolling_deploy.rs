//! Rolling deploys against hand-computed timelines: one user sends a request every
//! second from 36,000 s to 36,059 s. A deploy at 36,010.5 s replaces the user's
//! server (found by a probe run) with `max_unavailable = 1`, a 5 s boot and a 20 s
//! drain: the server drains from 36,010.5 (no new sessions), its replacement
//! `NAME.v2` joins at 36,015.5, and it is removed at 36,030.5.

use std::path::Path;

use lbsim::experiment::{LaneOutcome, RunResult};
use lbsim::metrics::LossCause;
use lbsim::scenario::Scenario;

fn run(text: &str) -> RunResult {
    let sc = Scenario::parse(text, Path::new("deploy.toml")).expect("valid scenario");
    lbsim::experiment::run(&sc)
}

fn scenario(policy: &str, deploy: &str) -> String {
    format!(
        r#"
duration = "11h"
policies = ["{policy}"]

[servers]
names = ["A", "B"]
queueing = false

{deploy}

[[users]]
name = "one"
address = "192.0.2.1"
visits = ["10h"]
requests = 60
think = {{ dist = "constant", value = "1s" }}
"#
    )
}

fn lane(result: &RunResult) -> &LaneOutcome {
    &result.replications[0].lanes[0]
}

fn caused(lane: &LaneOutcome, cause: LossCause) -> u64 {
    lane.report.by_cause[cause.index()]
}

fn deployed(policy: &str, drain: &str) -> RunResult {
    let home = lane(&run(&scenario(policy, ""))).journeys[0].server.clone();
    run(&scenario(
        policy,
        &format!("[[deploys]]\nat = 36010.5\nservers = [\"{home}\"]\nboot = \"5s\"\ndrain = \"{drain}\"\n"),
    ))
}

#[test]
fn a_cookie_keeps_its_session_on_the_draining_server_until_it_goes() {
    let result = deployed("cookie(base=round_robin)", "20s");
    let lane = lane(&result);
    let home = lane.journeys[0].server.clone();
    let on_home = lane.journeys.iter().filter(|s| s.server == home).count();
    assert_eq!(on_home, 31, "36,000..36,030: the drain serves the remembered session");
    assert_eq!(lane.report.totals.served, 60);
    assert_eq!(
        caused(lane, LossCause::Deploy),
        1,
        "36,031 finds the state gone with {home}"
    );
    assert_eq!(lane.report.totals.losses, 1);
    let lost = lane.journeys.iter().find(|s| s.outcome == "lost").expect("one loss");
    assert_eq!(lost.time, 36_031_000_000_000);
    let verbs: Vec<(f64, &str)> = lane
        .report
        .remaps
        .iter()
        .map(|e| (e.at as f64 / 1e9, e.action))
        .collect();
    assert_eq!(verbs, [(36_010.5, "drain"), (36_015.5, "add"), (36_030.5, "remove")]);
    assert!(lane.report.remaps[1].server.ends_with(".v2"));
}

#[test]
fn a_hash_moves_the_session_as_soon_as_the_drain_starts() {
    let result = deployed("ip_hash", "20s");
    let lane = lane(&result);
    let lost: Vec<_> = lane.journeys.iter().filter(|s| s.outcome == "lost").collect();
    assert_eq!(
        lost[0].time, 36_011_000_000_000,
        "the first request after the drain starts"
    );
    assert_eq!(lost[0].cause, Some(LossCause::Deploy));
    assert_eq!(caused(lane, LossCause::Deploy), 1);
    // The replacement joining may remap the key once more, as any added server.
    assert!(lane.report.totals.losses <= 2, "{:?}", lane.report.totals);
}

#[test]
fn without_a_drain_the_remembered_session_is_lost_at_once() {
    let result = deployed("cookie(base=round_robin)", "0s");
    let lane = lane(&result);
    let lost = lane.journeys.iter().find(|s| s.outcome == "lost").expect("one loss");
    assert_eq!((lost.time, lost.cause), (36_011_000_000_000, Some(LossCause::Deploy)));
}

#[test]
fn a_session_store_survives_the_deploy() {
    let result = deployed("session_store(base=round_robin)", "20s");
    assert_eq!(lane(&result).report.totals.losses, 0);
}

#[test]
fn bad_deploy_values_are_located() {
    let cases = [
        (
            "[[deploys]]\nat = \"30m\"\ndrain = \"2h\"\n",
            "bad.toml:10:9",
            "is not shorter than the run",
        ),
        (
            "[[deploys]]\nat = \"30m\"\nmax_unavailable = 0\n",
            "bad.toml:10:19",
            "cannot both be 0",
        ),
        (
            "[[deploys]]\nat = \"30m\"\nservers = [\"s7\"]\n",
            "bad.toml:10:12",
            "unknown server \"s7\"",
        ),
        (
            "[[deploys]]\nat = \"2h\"\n",
            "bad.toml:9:6",
            "not before the end of the run",
        ),
    ];
    for (section, place, expected) in cases {
        let text = format!(
            "duration = \"1h\"\npolicies = [\"ring\"]\n[arrivals]\nrate = \"1/s\"\n[servers]\ncount = 2\n\n{section}"
        );
        let e = Scenario::parse(&text, Path::new("bad.toml"))
            .expect_err(section)
            .to_string();
        assert!(e.contains(expected) && e.contains(place), "{section}: {e}");
    }
}
