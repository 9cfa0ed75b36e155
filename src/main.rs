//! The `lbsim` command line. The library does the work; this file only reads
//! arguments, calls it, and turns failures into messages and exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use lbsim::policy::registry;
use lbsim::scenario::Scenario;
use lbsim::{experiment, output, route};

/// Discrete-event simulator of load-balancer affinity: how many sessions each
/// policy loses and why, how unevenly it loads the servers, and what it does to
/// tail latency — measured on your traffic before you deploy.
#[derive(Parser)]
#[command(name = "lbsim", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and compare its policies.
    ///
    /// Writes summary.csv, timeseries.csv, servers.csv, losses.csv, events.csv
    /// (and journeys.csv for scripted users) and run.json into the output folder,
    /// then prints a comparison table.
    #[command(
        after_help = "Example:\n  lbsim run scenarios/shop-mixed.toml --policy ip_hash --policy 'ring(vnodes=160)'"
    )]
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Output folder [default: output/<scenario name>].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Override the scenario's seed.
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Override the number of replications.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        replications: Option<u32>,
        /// Run these policies instead of the scenario's (repeatable), e.g. 'stick_table(expire=10m)'.
        #[arg(long = "policy", value_name = "SPEC")]
        policies: Vec<String>,
        /// Replace the output folder if it exists.
        #[arg(long)]
        force: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Check a scenario file and describe it, without running it.
    Validate { scenario: PathBuf },
    /// List every policy with its parameters and defaults.
    Policies,
    /// Print the server a policy picks for each client address, one "IP SERVER" line each.
    ///
    /// Servers are given in configuration order, since real products hash server
    /// names or positions. Clients are routed one after another, each a new session;
    /// a line may be `IP` or `IP PORT`.
    #[command(
        after_help = "Example:\n  lbsim route --policy nginx.ip_hash --servers 10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 --down 1 192.168.1.10 8.8.8.8"
    )]
    Route {
        /// The policy, e.g. 'haproxy.source(hash_type=consistent)'.
        #[arg(long, value_name = "SPEC")]
        policy: String,
        /// The servers, in configuration order.
        #[arg(long, value_name = "HOST:PORT,...")]
        servers: String,
        /// One weight per server, from 1 to 1000 [default: all 1].
        #[arg(long, value_name = "W,...")]
        weights: Option<String>,
        /// Positions of servers marked down, counting from 0.
        #[arg(long, value_name = "I,...")]
        down: Option<String>,
        /// Client addresses; read from standard input, one per line, when none are given.
        #[arg(value_name = "IP")]
        clients: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            scenario,
            out,
            seed,
            replications,
            policies,
            force,
            quiet,
        } => run(scenario, out, seed, replications, policies, force, quiet),
        Command::Validate { scenario } => validate(scenario),
        Command::Route {
            policy,
            servers,
            weights,
            down,
            clients,
        } => route(&policy, &servers, weights.as_deref(), down.as_deref(), clients),
        Command::Policies => {
            say(&describe_policies());
            ExitCode::SUCCESS
        }
    }
}

/// Bad input: the user can fix it.
fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn load(path: &Path, policies: &[String]) -> Result<Scenario, ExitCode> {
    Scenario::load_with_policies(path, policies).map_err(usage_error)
}

fn run(
    path: PathBuf,
    out: Option<PathBuf>,
    seed: Option<u64>,
    replications: Option<u32>,
    policies: Vec<String>,
    force: bool,
    quiet: bool,
) -> ExitCode {
    let mut sc = match load(&path, &policies) {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    sc.seed = seed.unwrap_or(sc.seed);
    sc.replications = replications.unwrap_or(sc.replications);
    let dir = out.unwrap_or_else(|| PathBuf::from("output").join(&sc.name));
    if let Err(e) = output::check_destination(&dir, force) {
        return usage_error(e);
    }
    let result = experiment::run(&sc);
    if let Err(e) = output::write_run(&dir, force, &sc, &result) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    if !quiet {
        let routed = result.routed();
        say(&format!(
            "{}: {} replication(s), {} policies, {:.2} s wall, {:.1} M requests routed/s\n\n{}\nresults in {}\n",
            sc.name,
            sc.replications,
            sc.policies.len(),
            result.wall_secs,
            routed as f64 / result.wall_secs.max(1e-9) / 1e6,
            output::table::render(&result),
            dir.display()
        ));
    }
    ExitCode::SUCCESS
}

fn validate(path: PathBuf) -> ExitCode {
    let sc = match load(&path, &[]) {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    let initial = sc
        .servers
        .iter()
        .filter(|s| s.presence == lbsim::pool::Presence::Up)
        .count();
    let policies: Vec<&str> = sc.policies.iter().map(|p| p.text.as_str()).collect();
    say(&format!(
        "{}: ok\n  name          {}\n  duration      {} s, windows of {} s\n  users         about {:.0} expected\n  servers       {initial} at start, {} pool events\n  policies      {}\n",
        path.display(),
        sc.name,
        output::num(sc.duration as f64 / 1e9),
        output::num(sc.window as f64 / 1e9),
        sc.expected_users(),
        sc.changes.len(),
        policies.join(", ")
    ));
    ExitCode::SUCCESS
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

/// Writes to standard output; a closed pipe (`lbsim ... | head`) is not an error.
fn say(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn describe_policies() -> String {
    let mut s =
        String::from("Policies (use as NAME or NAME(key=value, ...) in a scenario's `policies` or with --policy):\n");
    for p in registry() {
        s.push_str(&format!("\n  {}\n      {}\n", p.name, p.summary));
        for param in p.params {
            s.push_str(&format!("      {}={}  {}\n", param.name, param.default, param.help));
        }
    }
    s
}
