//! The `lbsim` command line: reads the arguments and hands each subcommand to its
//! module in `cli/`. The library does the work.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Writes summary.csv, summary_stats.csv (mean, sd and 95% CI over the
    /// replications), comparisons.csv (each policy against the first or --baseline, paired by
    /// replication), timeseries.csv, servers.csv, server_windows.csv, losses.csv, events.csv
    /// (and journeys.csv for scripted users) and run.json into the output folder,
    /// then charts/ and report.html (unless --no-report), and prints a comparison
    /// table.
    ///
    /// A sweep (a [sweep] section or --vary) runs as jobs, one per point and
    /// replication; its folder holds sweep.json (what the sweep is), jobs/ (one
    /// file per finished job, written as it finishes), then sweep.csv and
    /// run.json once every job is in. An interrupted sweep is finished with
    /// --resume; a sweep split with --shard is joined with `lbsim merge`.
    #[command(
        after_help = "Examples:\n  lbsim run scenarios/shop-mixed.toml --policy ip_hash --policy 'ring(vnodes=160)'\n  \
                      lbsim run scenarios/capacity-sweep.toml --out runs/study --shard 2/4 --quiet --no-report\n  \
                      lbsim run scenarios/capacity-sweep.toml --out runs/study --resume"
    )]
    Run(cli::run::RunArgs),
    /// Join the folders of a sweep's shards into the folder the whole sweep writes.
    ///
    /// Checks that every DIR holds the same sweep (its sweep.json), that no job is
    /// missing and that a job found twice has the same results, then writes OUT
    /// byte for byte as `lbsim run` of the whole sweep would: sweep.json, jobs/,
    /// sweep.csv, run.json, then charts/ and report.html (unless --no-report).
    #[command(after_help = "Example:\n  \
                      for k in 1 2 3; do lbsim run scenarios/capacity-sweep.toml --shard $k/3 --out runs/$k -q; done\n  \
                      lbsim merge --out merged runs/*")]
    Merge(cli::merge::MergeArgs),
    /// Replay a real access log through a scenario's servers and policies.
    ///
    /// Reads LOG (plain or gzip-compressed), cuts each client's requests into
    /// sessions at an idle gap, and routes them through the scenario's servers,
    /// pool events and policies instead of its synthetic users. Writes the same
    /// files as `run` (without journeys; no client address or name is written
    /// anywhere), with the log's statistics in run.json, then prints a comparison
    /// table.
    #[command(
        after_help = "Example:\n  lbsim replay tests/fixtures/replay/shop-sample.log.gz --scenario scenarios/nasa-replay.toml --idle 30m --key-file tests/fixtures/logs/sample.key"
    )]
    Replay(cli::replay::ReplayArgs),
    /// Write an access log with every client replaced by a prefix-preserving stand-in.
    ///
    /// Reads LOG (any format `replay` reads, plain or gzip) and writes it line for
    /// line with each client address replaced by its Crypto-PAn image under a
    /// 32-byte key, and each host name by the address a replay gives it under that
    /// key; all else on a line is kept, malformed lines are left out. Addresses that
    /// share a /24 (or a /64) still do, and no more, so prefix keys group the
    /// anonymised log's clients as they group the original's.
    #[command(
        after_help = "Examples:\n  lbsim anonymize tests/fixtures/replay/shop-sample.log.gz --out shared.log.gz\n  \
                      lbsim anonymize tests/fixtures/logs/alb.log --key-file tests/fixtures/logs/sample.key --out alb-anon.log"
    )]
    Anonymize(cli::anonymize::AnonymizeArgs),
    /// Find, for each policy, the fewest servers that meet service-level objectives.
    ///
    /// Simulates the scenario with servers.count set to counts from --min-servers
    /// up, doubling until every policy meets every --slo (or --max-servers is
    /// reached), then halving each policy's gap. An objective is checked against the
    /// upper end of the 95% confidence interval of the mean when there are two or
    /// more replications. Writes plan.csv (every count, policy and metric) and
    /// run.json into the output folder [default: output/<scenario name>-plan], then
    /// charts/ and report.html (unless --no-report), and prints each policy's answer.
    #[command(
        after_help = "Example:\n  lbsim plan scenarios/capacity-sweep.toml --slo p99=250ms --slo utilisation=0.7 --slo loss=1%"
    )]
    Plan(cli::plan::PlanArgs),
    /// Write the charts and report.html of a run, sweep or plan folder.
    ///
    /// Reads DIR's files (any folder `lbsim run`, `lbsim replay` or `lbsim plan`
    /// wrote) and writes DIR/charts/*.png and *.svg and DIR/report.html, one
    /// self-contained page with the parameters, the comparison table, a verdict per
    /// policy and every chart. For a sweep, each metric is charted against each
    /// varied key with its 95% confidence band; for a plan, against the number of
    /// servers with the objective drawn.
    #[command(
        after_help = "Example:\n  lbsim run scenarios/seed-example.toml --no-report\n  lbsim report output/seed-example"
    )]
    Report(cli::report::ReportArgs),
    /// Check a scenario file and describe it, without running it.
    Validate(cli::validate::ValidateArgs),
    /// List every policy with its parameters and defaults.
    Policies,
    /// Print the JSON Schema of scenario files, for editors that complete and check keys.
    ///
    /// Generated from the types that read scenario files. Name it in a scenario's
    /// first line, `#:schema ./scenario.schema.json`, as taplo and Even Better TOML
    /// expect; the bundled scenarios do, beside scenarios/scenario.schema.json.
    #[command(after_help = "Example:\n  lbsim schema > scenario.schema.json")]
    Schema,
    /// Print the server a policy picks for each client address, one "IP SERVER" line each.
    ///
    /// Servers are given in configuration order, since real products hash server
    /// names or positions. Clients are routed one after another, each a new session;
    /// a line may be `IP` or `IP PORT`. With --scenario, the servers and the policy
    /// come from a scenario file, as `lbsim import` writes them from a real
    /// balancer's configuration.
    #[command(
        after_help = "Examples:\n  lbsim route --policy nginx.ip_hash --servers 10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 --down 1 192.168.1.10 8.8.8.8\n  \
                      lbsim route --scenario scenarios/seed-example.toml --policy ip_hash 192.168.1.1"
    )]
    Route(cli::route::RouteArgs),
    /// Write a scenario from a real balancer's configuration.
    ///
    /// Reads an nginx upstream, an HAProxy backend, an Envoy cluster, a Kubernetes
    /// Service or the output of `ipvsadm -Sn`, and writes a scenario with its servers
    /// (names, weights, those marked down) and the lbsim policy that picks as the
    /// product does, each value commented with the line it came from. A directive
    /// that changes routing and that lbsim does not model is an error (a warning with
    /// --lenient); the traffic is a placeholder to replace with your own or with
    /// `lbsim fit`.
    #[command(
        after_help = "Examples:\n  lbsim import tests/fixtures/import/nginx/full-nginx.conf --upstream backend --print\n  \
                      lbsim import tests/fixtures/import/haproxy/web-farm.cfg --out web.toml"
    )]
    Import(cli::import::ImportArgs),
    /// Write a scenario whose workload is estimated from a real access log.
    ///
    /// Reads LOG (Common, Combined or CSV; plain or gzip) and estimates new users per
    /// hour of day, requests per visit and think times (each distribution lbsim offers
    /// fitted by maximum likelihood, chosen by AIC, with its KS distance), return
    /// visits, users per address (from user agents or --session-field) with gateways
    /// as their own network, and address churn (from --session-field). Writes the
    /// scenario, each value commented with its method and 95% interval, and fit.json
    /// beside it. --check SCENARIO compares a scenario's generated workload with the
    /// log instead.
    #[command(
        after_help = "Examples:\n  lbsim import tests/fixtures/import/nginx/ip-hash.conf --out pool.toml\n  \
                      lbsim fit tests/fixtures/replay/shop-sample.log.gz --format combined --pool pool.toml --out shop.toml\n  \
                      lbsim fit tests/fixtures/replay/shop-sample.log.gz --print"
    )]
    Fit(cli::fit::FitArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(a) => cli::run::main(a),
        Command::Merge(a) => cli::merge::main(a),
        Command::Replay(a) => cli::replay::main(a),
        Command::Anonymize(a) => cli::anonymize::main(a),
        Command::Plan(a) => cli::plan::main(a),
        Command::Report(a) => cli::report::main(a),
        Command::Validate(a) => cli::validate::main(a),
        Command::Policies => cli::policies::main(),
        Command::Schema => cli::schema::main(),
        Command::Route(a) => cli::route::main(a),
        Command::Import(a) => cli::import::main(a),
        Command::Fit(a) => cli::fit::main(a),
    }
}
