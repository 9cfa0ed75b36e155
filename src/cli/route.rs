//! `lbsim route`: the server a policy picks for each client address.

use std::process::ExitCode;

use clap::Args;

use lbsim::route;

use super::common::{say, usage_error};

#[derive(Args)]
pub struct RouteArgs {
    /// The policy, e.g. 'haproxy.source(hash_type=consistent)'.
    #[arg(long, value_name = "SPEC")]
    pub policy: String,
    /// The servers, in configuration order.
    #[arg(long, value_name = "HOST:PORT,...")]
    pub servers: String,
    /// One weight per server, from 1 to 1000 [default: all 1].
    #[arg(long, value_name = "W,...")]
    pub weights: Option<String>,
    /// Positions of servers marked down, counting from 0.
    #[arg(long, value_name = "I,...")]
    pub down: Option<String>,
    /// Client addresses; read from standard input, one per line, when none are given.
    #[arg(value_name = "IP")]
    pub clients: Vec<String>,
}

pub fn main(a: RouteArgs) -> ExitCode {
    route(
        &a.policy,
        &a.servers,
        a.weights.as_deref(),
        a.down.as_deref(),
        a.clients,
    )
}

fn route(policy: &str, servers: &str, weights: Option<&str>, down: Option<&str>, clients: Vec<String>) -> ExitCode {
    let pool = match route::pool(servers, weights, down) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
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
