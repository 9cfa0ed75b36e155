//! Connection-level picking through whole runs: a hand-worked case of two users
//! across an added server, and the bundled long-lived-streams scenario, whose
//! split connections appear only when connections are placed, on any number of
//! threads alike.

use std::path::Path;

use lbsim::engine::time::{MINUTE, SECOND, Time};
use lbsim::experiment::{LaneOutcome, Step};
use lbsim::metrics::{LossCause, Unserved};
use lbsim::policy::{self, BuildContext, Client, spec};
use lbsim::scenario::Scenario;

const REQUEST_LEVEL: &str = "ipvs.mh";
const CONNECTION_LEVEL: &str = "per_connection(base=ipvs.mh)";

/// Two scripted users on two servers, a third added at 10 min. Each has a visit of
/// 20 requests 30 s apart from 5 min 10 s (its connection never idles past the
/// 75 s keepalive, so one connection carries it), then a second visit at 30 min,
/// over a new connection, its state (30 min ttl) still alive.
fn scenario(mover: &str, stayer: &str) -> String {
    format!(
        r#"name = "two-users"
seed = 3
duration = "40m"
policies = ["{REQUEST_LEVEL}", "{CONNECTION_LEVEL}"]

[servers]
names = ["10.0.0.1:80", "10.0.0.2:80"]

[[events]]
at = "10m"
action = "add"
server = "10.0.0.3:80"

[[users]]
name = "mover"
address = "{mover}"
visits = ["5m10s", "30m"]
requests = 20
think = {{ dist = "constant", value = "30s" }}

[[users]]
name = "stayer"
address = "{stayer}"
visits = ["5m10s", "30m"]
requests = 20
think = {{ dist = "constant", value = "30s" }}
"#
    )
}

/// An address the added server takes from IPVS Maglev and one it leaves, with
/// the server each is on before the change: found from the policy, so the
/// expectations below follow from connection handling alone.
fn addresses() -> ((String, String), (String, String)) {
    let sc = Scenario::parse(&scenario("192.0.2.1", "192.0.2.2"), Path::new("t.toml")).expect("valid");
    let mut pool = sc.initial_pool();
    let ctx = BuildContext {
        pool: &pool,
        expected_users: 2,
    };
    let mut mh = policy::build(&spec::parse(REQUEST_LEVEL, 0).expect("spec"), &ctx).expect("builds");
    let at = |i: u32| Client {
        user: 0,
        addr: format!("192.0.2.{i}").parse().expect("address"),
        port: 40_000,
        connection: 0,
        new_connection: true,
    };
    let before: Vec<u32> = (1..=250).map(|i| mh.peek(&at(i), 0, &pool).expect("a hash")).collect();
    assert!(pool.apply(&sc.changes[0].kind));
    mh.pool_changed(&pool);
    let after: Vec<u32> = (1..=250).map(|i| mh.peek(&at(i), 0, &pool).expect("a hash")).collect();
    let name = |s: u32| pool.name(s).to_string();
    let find = |moves: bool| {
        let i = (0..250)
            .find(|&i| (after[i] != before[i]) == moves)
            .expect("such an address");
        assert!(!moves || after[i] == 2, "a move goes to the added server");
        (format!("192.0.2.{}", i + 1), name(before[i]))
    };
    (find(true), find(false))
}

fn lane<'a>(lanes: &'a [LaneOutcome], label: &str) -> &'a LaneOutcome {
    lanes.iter().find(|l| l.label == label).expect("lane")
}

/// User `u`'s requests as (minutes from the start, server, outcome, cause).
fn journey(lane: &LaneOutcome, u: u32) -> Vec<(f64, &str, &str, Option<LossCause>)> {
    let steps: Vec<&Step> = lane.journeys.iter().filter(|s| s.user == u).collect();
    assert_eq!(steps.len(), 40, "two visits of 20 requests");
    steps
        .iter()
        .map(|s| (s.time as f64 / MINUTE as f64, s.server.as_str(), s.outcome, s.cause))
        .collect()
}

/// Time of request `k` (0-based) of a visit starting at `start`.
fn at(start: Time, k: u64) -> f64 {
    (start + k * 30 * SECOND) as f64 / MINUTE as f64
}

#[test]
fn an_added_server_moves_a_request_at_once_and_a_connection_when_it_closes() {
    let ((mover, old), (stayer, home)) = addresses();
    let sc = Scenario::parse(&scenario(&mover, &stayer), Path::new("t.toml")).expect("valid");
    let mut result = lbsim::experiment::run(&sc);
    let lanes = result.replications.remove(0).lanes;
    let new = "10.0.0.3:80";
    let (visit1, visit2) = (5 * MINUTE + 10 * SECOND, 30 * MINUTE);
    let pool_remap = Some(LossCause::PoolRemap);

    // Per request: the first request after 10 min goes to the new server and
    // loses the state; the rest of the visit and the next one stay there.
    let flat = journey(lane(&lanes, REQUEST_LEVEL), 0);
    for (k, step) in flat.iter().enumerate() {
        let k = k as u64;
        let (time, server, outcome, cause) = match k {
            0 => (at(visit1, 0), old.as_str(), "new", None),
            1..=9 => (at(visit1, k), old.as_str(), "kept", None),
            10 => (at(visit1, 10), new, "lost", pool_remap),
            11..=19 => (at(visit1, k), new, "kept", None),
            _ => (at(visit2, k - 20), new, "kept", None),
        };
        assert_eq!(*step, (time, server, outcome, cause), "per request, request {k}");
    }

    // Per connection: the open connection keeps the whole first visit on the old
    // server; the second visit's new connection moves, losing the state there.
    let conn = journey(lane(&lanes, CONNECTION_LEVEL), 0);
    for (k, step) in conn.iter().enumerate() {
        let k = k as u64;
        let (time, server, outcome, cause) = match k {
            0 => (at(visit1, 0), old.as_str(), "new", None),
            1..=19 => (at(visit1, k), old.as_str(), "kept", None),
            20 => (at(visit2, 0), new, "lost", pool_remap),
            _ => (at(visit2, k - 20), new, "kept", None),
        };
        assert_eq!(*step, (time, server, outcome, cause), "per connection, request {k}");
    }

    // The user the new server did not take stays put either way.
    for label in [REQUEST_LEVEL, CONNECTION_LEVEL] {
        let j = journey(lane(&lanes, label), 1);
        assert!(j.iter().all(|s| s.1 == home && s.3.is_none()), "{label}: {j:?}");
    }

    // At the change, per request one of the two live sessions moves; per
    // connection none does.
    let moved = |label| {
        let r = &lane(&lanes, label).report.remaps[0];
        (r.live, r.moved)
    };
    assert_eq!(moved(REQUEST_LEVEL), (2, 1));
    assert_eq!(moved(CONNECTION_LEVEL), (2, 0));
}

#[test]
fn long_lived_streams_split_only_per_connection_on_any_threads() {
    let sc = Scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/long-lived-streams.toml"))
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

    let split = LossCause::SplitConnections.index();
    let lanes = &result.replications[0].lanes;
    for l in lanes {
        let r = &l.report;
        let remap = &r.remaps[0];
        if l.label.starts_with("per_connection") {
            // Nobody moves at the change, and split users lose request after request.
            assert_eq!(remap.moved, 0, "{}", l.label);
            assert!(r.by_cause[split] > 10 * r.totals.visits_lost, "{}: {r:?}", l.label);
        } else {
            assert!(remap.moved * 10 > remap.live, "{}: {remap:?}", l.label);
            assert_eq!(r.by_cause[split], 0, "{}", l.label);
        }
    }
}

/// One user, a request a second from 10 h over one connection, and what happens
/// to the pool (a deploy, a removal).
fn one_user(policy: &str, pool_section: &str) -> String {
    format!(
        r#"duration = "11h"
policies = ["{policy}"]

[servers]
names = ["A", "B"]
queueing = false

{pool_section}

[[users]]
name = "one"
address = "192.0.2.1"
visits = ["10h"]
requests = 60
think = {{ dist = "constant", value = "1s" }}
"#
    )
}

#[test]
fn a_draining_server_keeps_its_open_connections_until_it_goes() {
    let run = |deploy: &str| {
        let text = one_user("per_connection(base=ip_hash)", deploy);
        let sc = Scenario::parse(&text, Path::new("deploy.toml")).expect("valid");
        lbsim::experiment::run(&sc).replications.remove(0).lanes.remove(0)
    };
    let home = run("").journeys[0].server.clone();
    // A deploy at 36,010.5 s replaces its server with a 20 s drain (removed at
    // 36,030.5 s).
    let lane = run(&format!(
        "[[deploys]]\nat = 36010.5\nservers = [\"{home}\"]\nboot = \"5s\"\ndrain = \"20s\"\n"
    ));
    // 36,000..36,030 on the draining server; at 36,031 it is gone, the connection
    // with it, and the reconnection finds the state gone.
    let on_home = lane.journeys.iter().filter(|s| s.server == home).count();
    assert_eq!(on_home, 31);
    let lost: Vec<_> = lane.journeys.iter().filter(|s| s.outcome == "lost").collect();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(
        (lost[0].time, lost[0].cause),
        (36_031 * SECOND, Some(LossCause::Deploy))
    );
}

/// The user's server is removed at 36,010.5 s. Reconnecting, the request at
/// 36,011 opens a connection elsewhere and finds the state gone. With IPVS's
/// `expire_nodest_conn = 0` the connection entry stays and that request is
/// dropped; the client gives up on the connection and the one at 36,012
/// reconnects, to find the state gone.
#[test]
fn ipvs_drops_the_request_on_a_connection_to_a_removed_server() {
    let run = |policy: &str, events: &str| {
        let sc = Scenario::parse(&one_user(policy, events), Path::new("remove.toml")).expect("valid");
        lbsim::experiment::run(&sc).replications.remove(0).lanes.remove(0)
    };
    let home = run("ip_hash", "").journeys[0].server.clone();
    let removal = format!("[[events]]\nat = 36010.5\naction = \"remove\"\nserver = \"{home}\"\n");
    let lost = |policy: &str| {
        let lane = run(policy, &removal);
        let steps: Vec<_> = lane
            .journeys
            .iter()
            .filter(|s| s.cause.is_some())
            .map(|s| (s.time / SECOND, s.outcome, s.cause.expect("a cause")))
            .collect();
        (steps, lane.report.by_cause)
    };
    let gone = LossCause::ServerGone;
    let dead = LossCause::NotServed(Unserved::DeadConnection);
    let (reconnect, _) = lost("per_connection(base=ip_hash)");
    assert_eq!(reconnect, [(36_011, "lost", gone)]);
    let (drop, by_cause) = lost("per_connection(base=ip_hash, dead_server=drop)");
    assert_eq!(drop, [(36_011, "dead_connection", dead), (36_012, "lost", gone)]);
    assert_eq!((by_cause[dead.index()], by_cause[gone.index()]), (1, 1));
}
