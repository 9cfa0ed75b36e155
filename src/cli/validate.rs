//! `lbsim validate`: a scenario checked and described, without running it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use lbsim::output;
use lbsim::pool::Presence;
use lbsim::scenario::Scenario;
use lbsim::scenario::sweep::Sweep;

use super::common::{say, usage_error};

#[derive(Args)]
pub struct ValidateArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
}

pub fn main(a: ValidateArgs) -> ExitCode {
    validate(a.scenario)
}

fn validate(path: PathBuf) -> ExitCode {
    // A sweep is checked point by point; its first point is described.
    match Sweep::load(&path, &[], &[]) {
        Err(e) => return usage_error(e),
        Ok(Some(sweep)) => {
            say(&format!(
                "{}: ok, a sweep of {} points over {}\n",
                path.display(),
                sweep.points.len(),
                sweep.keys.join(", ")
            ));
            return ExitCode::SUCCESS;
        }
        Ok(None) => {}
    }
    // A scenario without a duration or traffic of its own is still good for a replay.
    let (sc, replay_only) = match Scenario::load(&path) {
        Ok(sc) => (sc, false),
        Err(e) => match Scenario::load_for_replay(&path, &[]) {
            Ok(sc) => (sc, true),
            Err(_) => return usage_error(e),
        },
    };
    let count = |p: Presence| sc.servers.iter().filter(|s| s.presence == p).count();
    let initial = match count(Presence::Down) {
        0 => count(Presence::Up).to_string(),
        down => format!("{} ({down} of them down)", count(Presence::Up) + down),
    };
    let policies: Vec<&str> = sc.policies.iter().map(|p| p.text.as_str()).collect();
    let (verdict, duration, users) = if replay_only {
        (
            "ok for lbsim replay (no duration or traffic of its own, so not for lbsim run)".to_string(),
            "from the access log".to_string(),
            "the access log's clients".to_string(),
        )
    } else {
        (
            "ok".to_string(),
            format!(
                "{} s, windows of {} s",
                output::num(sc.duration as f64 / 1e9),
                output::num(sc.window as f64 / 1e9)
            ),
            format!("about {:.0} expected", sc.expected_users()),
        )
    };
    say(&format!(
        "{}: {verdict}\n  name          {}\n  duration      {duration}\n  users         {users}\n  servers       {initial} at start, {} pool events\n  policies      {}\n",
        path.display(),
        sc.name,
        sc.changes.len(),
        policies.join(", ")
    ));
    say(&sc.operations.describe(&sc.servers));
    ExitCode::SUCCESS
}
