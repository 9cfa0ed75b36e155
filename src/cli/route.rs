//! `lbsim route`: the server a policy picks for each client address.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use lbsim::pool::Pool;
use lbsim::route;
use lbsim::scenario::Scenario;

use super::common::{say, usage_error};

#[derive(Args)]
pub struct RouteArgs {
    /// The policy, e.g. 'haproxy.source(hash_type=consistent)' [default with --scenario: its one policy].
    #[arg(long, value_name = "SPEC", required_unless_present = "scenario")]
    pub policy: Option<String>,
    /// The servers, in configuration order.
    #[arg(long, value_name = "HOST:PORT,...", required_unless_present = "scenario")]
    pub servers: Option<String>,
    /// One weight per server, from 1 to 1000 [default: all 1].
    #[arg(long, value_name = "W,...", requires = "servers")]
    pub weights: Option<String>,
    /// Positions of servers marked down, counting from 0.
    #[arg(long, value_name = "I,...", requires = "servers")]
    pub down: Option<String>,
    /// Take the servers (names, weights, those down at the start) and the policy from
    /// a scenario file, such as one `lbsim import` wrote.
    #[arg(long, value_name = "FILE", conflicts_with = "servers")]
    pub scenario: Option<PathBuf>,
    /// Client addresses; read from standard input, one per line, when none are given.
    #[arg(value_name = "IP")]
    pub clients: Vec<String>,
}

pub fn main(a: RouteArgs) -> ExitCode {
    let (policy, pool) = match (&a.scenario, &a.servers) {
        (Some(path), _) => match from_scenario(path, a.policy) {
            Ok(found) => found,
            Err(e) => return usage_error(e),
        },
        (None, Some(servers)) => match route::pool(servers, a.weights.as_deref(), a.down.as_deref()) {
            Ok(pool) => (a.policy.unwrap_or_default(), pool),
            Err(e) => return usage_error(e),
        },
        (None, None) => unreachable!("clap requires --servers or --scenario"),
    };
    route(&policy, pool, a.clients)
}

/// The scenario's servers at the start and its policy (or `policy` instead).
fn from_scenario(path: &Path, policy: Option<String>) -> Result<(String, Pool), String> {
    let given: Vec<String> = policy.into_iter().collect();
    let sc = Scenario::load_for_replay(path, &given).map_err(|e| e.to_string())?;
    match &sc.policies[..] {
        [one] => Ok((one.text.clone(), Pool::new(sc.servers.clone()))),
        many => {
            let names: Vec<&str> = many.iter().map(|p| p.text.as_str()).collect();
            Err(format!(
                "{}: the scenario has {} policies ({}); choose one with --policy SPEC",
                path.display(),
                many.len(),
                names.join(", ")
            ))
        }
    }
}

fn route(policy: &str, pool: Pool, clients: Vec<String>) -> ExitCode {
    // Every client is read and checked before the first line is printed.
    let (lines, source) = if clients.is_empty() {
        let lines: Result<Vec<String>, _> = std::io::stdin().lines().collect();
        match lines {
            Ok(l) => (l, "stdin"),
            Err(e) => return usage_error(format!("stdin: {e}")),
        }
    } else {
        (clients, "argument")
    };
    let mut parsed = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match route::client(line) {
            Ok(c) => parsed.push(c),
            Err(e) => return usage_error(format!("{source} {}: {e}", i + 1)),
        }
    }
    let mut router = match route::Router::new(policy, pool, parsed.len()) {
        Ok(r) => r,
        Err(e) => return usage_error(e),
    };
    let mut out = String::new();
    for (addr, port) in parsed {
        let server = router.route(addr, port);
        out.push_str(&format!("{addr} {server}\n"));
    }
    say(&out);
    ExitCode::SUCCESS
}
