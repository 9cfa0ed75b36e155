//! Slow start against hand-computed shares: one user sends a request every 50 ms
//! for a minute to servers A and B of weight 1; B fails at 10 s and recovers at
//! 20 s. Round robin then gives B, in each stretch of the ramp, its weight's share
//! of the requests: w / (w_A + w) of them, with the weights each product's ramp
//! gives at that time.

use std::path::Path;

use lbsim::experiment::{LaneOutcome, RunResult};
use lbsim::scenario::Scenario;

fn run(policy: &str, slow_start: &str) -> RunResult {
    let text = format!(
        r#"
duration = "1m"
policies = ["{policy}", "ring"]

[servers]
names = ["A", "B"]
queueing = false

[[events]]
at = "10s"
action = "fail"
server = "B"
for = "10s"

[[users]]
name = "one"
address = "192.0.2.1"
visits = ["0s"]
requests = 1200
think = {{ dist = "constant", value = "50ms" }}

{slow_start}
"#
    );
    let sc = Scenario::parse(&text, Path::new("slow-start.toml")).expect("valid scenario");
    lbsim::experiment::run(&sc)
}

fn lane<'a>(result: &'a RunResult, label: &str) -> &'a LaneOutcome {
    result.replications[0]
        .lanes
        .iter()
        .find(|l| l.label == label)
        .expect("the lane")
}

/// Requests B served in [from, to) seconds.
fn to_b(lane: &LaneOutcome, from: f64, to: f64) -> usize {
    lane.journeys
        .iter()
        .filter(|s| s.server == "B" && (from..to).contains(&(s.time as f64 / 1e9)))
        .count()
}

fn near(actual: usize, expected: f64, slack: f64) -> bool {
    (actual as f64 - expected).abs() <= slack
}

#[test]
fn haproxy_steps_each_second_from_one_sixteenth() {
    let result = run("round_robin", "[slow_start]\nproduct = \"haproxy\"\nwindow = \"4s\"");
    let rr = lane(&result, "round_robin");
    // Effective weights (16·e + 4) / 4 = 1, 5, 9, 13 against A's 16, then 16: of 20
    // requests a second, B gets 20/17, 100/21, 180/25, 260/29, then 10.
    for (second, expected) in [(20, 1.18), (21, 4.76), (22, 7.2), (23, 8.97)] {
        let got = to_b(rr, second as f64, second as f64 + 1.0);
        assert!(near(got, expected, 1.0), "second {second}: {got}, expected {expected}");
    }
    for second in 24..60 {
        assert_eq!(to_b(rr, second as f64, second as f64 + 1.0), 10, "second {second}");
    }
    assert_eq!(to_b(rr, 10.0, 20.0), 0, "down");
}

/// B's expected requests over a ramp of steps of 100 ms (two requests each) whose
/// weight factor at step j is `factor(j)`.
fn ramped(factor: impl Fn(f64) -> f64) -> f64 {
    (0..100).map(|j| factor(j as f64)).map(|f| 2.0 * f / (1.0 + f)).sum()
}

#[test]
fn envoy_follows_the_time_factor_with_its_floor() {
    let result = run("round_robin", "[slow_start]\nproduct = \"envoy\"\nwindow = \"10s\"");
    let rr = lane(&result, "round_robin");
    // max(10%, t / 10 s) at t = 0.1·j s.
    let expected = ramped(|j| (j / 100.0).max(0.1));
    let got = to_b(rr, 20.0, 30.0);
    assert!(near(got, expected, 2.0), "{got}, expected {expected:.1}");
    assert!(near(to_b(rr, 20.0, 21.0), 20.0 * 0.1 / 1.1, 1.0), "the floor");
    assert_eq!(to_b(rr, 30.0, 40.0), 100, "full weight after the window");

    let result = run(
        "round_robin",
        "[slow_start]\nproduct = \"envoy\"\nwindow = \"10s\"\naggression = 2.0\nmin_weight_percent = 0",
    );
    let expected = ramped(|j| (j.max(0.0001) / 100.0).sqrt());
    let got = to_b(lane(&result, "round_robin"), 20.0, 30.0);
    assert!(near(got, expected, 2.0), "{got}, expected {expected:.1}");
}

#[test]
fn nginx_ramps_from_zero_and_keeps_hashes_out() {
    for policy in ["nginx.round_robin", "round_robin"] {
        let result = run(policy, "[slow_start]\nproduct = \"nginx\"\nwindow = \"10s\"");
        // t / 10 s on a scale of 100, at least one unit.
        let expected = ramped(|j| (j / 100.0).max(0.01));
        let got = to_b(lane(&result, policy), 20.0, 30.0);
        assert!(near(got, expected, 2.0), "{policy}: {got}, expected {expected:.1}");
    }
    let err = Scenario::parse(
        "duration = \"1m\"\npolicies = [\"round_robin\", \"nginx.ip_hash\"]\n[arrivals]\nrate = \"1/s\"\n\
         [servers]\ncount = 2\n[slow_start]\nproduct = \"nginx\"\nwindow = \"10s\"\n",
        Path::new("refused.toml"),
    )
    .expect_err("nginx refuses slow_start with ip_hash")
    .to_string();
    assert!(
        err.contains("refused.toml:2:29") && err.contains("nginx refuses slow_start"),
        "{err}"
    );
}

#[test]
fn policies_the_product_does_not_ramp_run_as_without_it() {
    let without = run("round_robin", "");
    let plain = lane(&without, "round_robin");
    assert_eq!(to_b(plain, 20.0, 21.0), 10, "no ramp: B at once at its share");
    for product in ["haproxy", "envoy", "nginx"] {
        let with = run(
            "round_robin",
            &format!("[slow_start]\nproduct = \"{product}\"\nwindow = \"10s\""),
        );
        // Compared as printed: utilisation is NaN without queueing.
        let printed = |r: &RunResult| format!("{:?}", lane(r, "ring"));
        assert_eq!(printed(&with), printed(&without), "{product}");
    }
}

#[test]
fn the_ramp_starts_when_the_checks_pass_or_the_server_is_added() {
    let text = |extra: &str| {
        format!(
            r#"
duration = "1m"
policies = ["round_robin"]

[servers]
names = ["A", "B"]
queueing = false

[[events]]
at = "10s"
action = "fail"
server = "B"
for = "10s"

[[events]]
at = "30s"
action = "add"
server = "C"

[[users]]
name = "one"
address = "192.0.2.1"
visits = ["0s"]
requests = 1200
think = {{ dist = "constant", value = "50ms" }}

{extra}
"#
        )
    };
    let checks = "[health_checks]\ninterval = \"2s\"\n";
    let slow = "[slow_start]\nproduct = \"haproxy\"\nwindow = \"4s\"\n";
    let served = |extra: &str| {
        let sc = Scenario::parse(&text(extra), Path::new("checks.toml")).expect("valid scenario");
        lbsim::experiment::run(&sc).replications[0].lanes[0].clone()
    };
    let first_back = |lane: &LaneOutcome| {
        lane.journeys
            .iter()
            .find(|s| s.server == "B" && s.time as f64 / 1e9 >= 20.0)
            .map(|s| s.time as f64 / 1e9)
            .expect("B serves again")
    };
    let (plain, ramped) = (served(checks), served(&format!("{checks}{slow}")));
    let (t0, t1) = (first_back(&plain), first_back(&ramped));
    assert!(t0 > 20.0, "the checks take their time: {t0}");
    // Of 20 requests in the first second back: 10 at full weight, 20/17 at 1/16.
    assert_eq!(to_b(&plain, t0, t0 + 1.0), 10);
    // Round robin's turns may put one pick more at either end of the second.
    assert!(
        to_b(&ramped, t1, t1 + 1.0) <= 3,
        "the ramp starts at the checks' verdict"
    );
    // C joins at 30 s among A and B (A at full weight, B too by then): 20/33 at 1/16.
    let to_c = |lane: &LaneOutcome| {
        lane.journeys
            .iter()
            .filter(|s| s.server == "C" && (30.0..31.0).contains(&(s.time as f64 / 1e9)))
            .count()
    };
    assert!(
        to_c(&plain) >= 6 && to_c(&ramped) <= 1,
        "{} {}",
        to_c(&plain),
        to_c(&ramped)
    );
}

/// HAProxy's consistent tree in slow start: 40 users at their own addresses, one
/// request a second each, on A and B. B comes back at 20 s with `slowstart 4s`: in
/// its tree it has the first 1, 5, 9, 13 of its 16 nodes in the seconds 20 to 23,
/// so each user is where a tree of those nodes sends it, and nodes only ever join:
/// every user that goes back to B moves once, a remap, at the recovery or a step.
#[test]
fn haproxy_consistent_tree_grows_a_server_node_by_node() {
    use lbsim::policy::{BuildContext, Client, build, spec};
    use lbsim::pool::{Pool, Presence, Server};

    let policy = "haproxy.source(hash_type=consistent)";
    let users: String = (1..=40)
        .map(|i| {
            format!(
                "[[users]]\nname = \"u{i}\"\naddress = \"198.51.100.{i}\"\nvisits = [\"0s\"]\nrequests = 60\n\
                 think = {{ dist = \"constant\", value = \"1s\" }}\n"
            )
        })
        .collect();
    let text = format!(
        "duration = \"1m\"\npolicies = [\"{policy}\"]\n[servers]\nnames = [\"A\", \"B\"]\nqueueing = false\n\
         [[events]]\nat = \"10s\"\naction = \"fail\"\nserver = \"B\"\nfor = \"10s\"\n\
         [slow_start]\nproduct = \"haproxy\"\nwindow = \"4s\"\n{users}"
    );
    let sc = Scenario::parse(&text, Path::new("tree.toml")).expect("valid scenario");
    let result = lbsim::experiment::run(&sc);
    let lane = &result.replications[0].lanes[0];

    // Where a tree with B at `b` sixteenths sends each user.
    let placed = |b: u32| -> Vec<String> {
        let mut pool = Pool::new(
            ["A", "B"]
                .map(|name| Server {
                    name: name.into(),
                    weight: 1,
                    presence: Presence::Up,
                })
                .to_vec(),
        );
        pool.scale_weights(16);
        pool.set_weight(1, b);
        let ctx = BuildContext {
            pool: &pool,
            expected_users: 40,
        };
        let tree = build(&spec::parse(policy, 0).unwrap(), &ctx).unwrap();
        (1..=40)
            .map(|i| {
                let client = Client {
                    user: 0,
                    addr: format!("198.51.100.{i}").parse().unwrap(),
                    port: 0,
                    connection: 0,
                    new_connection: true,
                };
                pool.name(tree.peek(&client, 0, &pool).unwrap()).to_string()
            })
            .collect()
    };
    let served_at = |second: u64| -> Vec<String> {
        let mut steps: Vec<_> = lane
            .journeys
            .iter()
            .filter(|s| s.time / 1_000_000_000 == second)
            .map(|s| (s.user, s.server.clone()))
            .collect();
        steps.sort();
        steps.into_iter().map(|(_, server)| server).collect()
    };
    for (second, nodes) in [(20, 1), (21, 5), (22, 9), (23, 13), (24, 16), (40, 16)] {
        assert_eq!(
            served_at(second),
            placed(nodes),
            "second {second}, B with {nodes} nodes"
        );
    }
    let on_b = served_at(40).iter().filter(|s| *s == "B").count();
    assert!(
        (5..35).contains(&on_b) && served_at(21) != served_at(24),
        "the ramp moves users: {on_b} on B"
    );
    let moved_back: u64 = lane
        .report
        .remaps
        .iter()
        .filter(|r| r.action == "recover" || r.action == "ramp")
        .map(|r| r.moved)
        .sum();
    assert_eq!(moved_back, on_b as u64);
    let lost_back: Vec<_> = lane
        .journeys
        .iter()
        .filter(|s| s.time >= 20_000_000_000 && s.outcome == "lost")
        .map(|s| s.cause.unwrap().name())
        .collect();
    assert_eq!(
        lost_back,
        vec!["pool_remap"; on_b],
        "each user moved back loses its state once"
    );
}

/// HAProxy's `balance random` draws from the consistent tree, whose nodes follow
/// the ramping weight: B's expected share of the 80 requests of its first four
/// seconds back is 22.1 (as round robin's above), not the 40 of full weight.
#[test]
fn haproxy_random_draws_from_the_ramping_weights() {
    let ramped = run("random", "[slow_start]\nproduct = \"haproxy\"\nwindow = \"4s\"");
    let plain = run("random", "");
    let (got, full) = (
        to_b(lane(&ramped, "random"), 20.0, 24.0),
        to_b(lane(&plain, "random"), 20.0, 24.0),
    );
    // A binomial's standard deviation here is about 4.
    assert!(
        near(got, 22.1, 10.0) && near(full, 40.0, 10.0),
        "{got} ramped, {full} at full weight"
    );
}
