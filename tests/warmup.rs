//! Warm-up: requests before `warmup` are routed, so session state builds up,
//! but none of them is counted.

use std::path::Path;

use lbsim::experiment;
use lbsim::scenario::Scenario;

/// One person behind ip_hash: a first visit in which the phone changes address
/// (losing the session), and a quiet second visit two hours later.
fn scenario(warmup: &str) -> String {
    format!(
        r#"
duration = "3h"
{warmup}
policies = ["ip_hash"]

[servers]
count = 4

[[users]]
name = "walker"
address = "192.0.2.10"
visits = ["5m", "2h"]
requests = 10
think = {{ dist = "constant", value = "30s" }}
moves = [{{ at = "7m", address = "100.64.0.7" }}, {{ at = "8m", address = "198.51.100.3" }}]
"#
    )
}

fn totals(text: &str) -> lbsim::metrics::tally::Totals {
    let sc = Scenario::parse(text, Path::new("warmup.toml")).expect("valid scenario");
    let result = experiment::run(&sc);
    result.replications[0].lanes[0].report.totals
}

#[test]
fn a_warmup_covering_the_early_losses_reports_none() {
    let all = totals(&scenario(""));
    assert!(all.losses > 0, "the moves lose the first visit's state");
    assert_eq!((all.requests, all.visits, all.users), (20, 2, 1));

    let later = totals(&scenario("warmup = \"1h\""));
    assert_eq!(later.losses, 0);
    assert_eq!(later.visits_lost, 0);
    assert_eq!(later.users_lost, 0);
    // Only the second visit is measured.
    assert_eq!((later.requests, later.visits, later.users), (10, 1, 1));
}

#[test]
fn losses_after_the_warmup_still_count() {
    // Warm-up ends inside the first visit, between the two moves: the second
    // move's loss counts, the visit under way counts as measured, the first does not.
    let all = totals(&scenario(""));
    let part = totals(&scenario("warmup = \"7m30s\""));
    assert!(
        part.losses > 0 && part.losses < all.losses,
        "{} of {}",
        part.losses,
        all.losses
    );
    assert_eq!((part.visits, part.visits_lost, part.users_lost), (2, 1, 1));
}

#[test]
fn a_warmup_as_long_as_the_run_is_an_error_at_its_place() {
    let err = Scenario::parse(&scenario("warmup = \"3h\""), Path::new("warmup.toml"))
        .expect_err("warmup must be shorter than the duration")
        .to_string();
    assert!(
        err.starts_with("warmup.toml:3:10: warmup of 10800 s must be shorter"),
        "{err}"
    );
}
