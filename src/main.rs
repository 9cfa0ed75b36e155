//! The `lbsim` command line. The library does the work; this file only reads
//! arguments, calls it, and turns failures into messages and exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use lbsim::engine::Time;
use lbsim::experiment::jobs::{self, Job, Shard};
use lbsim::output::OutputError;
use lbsim::output::sweep::JobResult;
use lbsim::output::sweep_folder::{self, Overrides, SweepSpec};
use lbsim::plan::slo::Slo;
use lbsim::policy::registry;
use lbsim::scenario::sweep::Sweep;
use lbsim::scenario::{Network, Scenario};
use lbsim::trace::{Format, Trace};
use lbsim::{experiment, output, report, route};

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
    /// replications), comparisons.csv (each policy against the first, paired by
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
                      lbsim run study.toml --out runs/study/shard-2 --shard 2/4 --quiet --no-report\n  \
                      lbsim run study.toml --out runs/study --resume"
    )]
    Run {
        /// The scenario file (TOML).
        scenario: PathBuf,
        /// Vary a scenario key over values (repeatable; the full grid across keys),
        /// e.g. servers.count=4,8,16 or networks.2.share=0.1,0.3. With any --vary or
        /// a [sweep] section, writes sweep.csv (a row per point, policy and
        /// replication) and run.json instead of the per-run files, then charts of
        /// each metric against each key and report.html (unless --no-report).
        #[arg(long = "vary", value_name = "KEY=V1,V2,...")]
        vary: Vec<String>,
        /// Run only shard K of N of a sweep: every N-th job starting at the K-th (jobs are
        /// points × replications, in order), into output/<scenario name>-shard-K-of-N unless
        /// --out. Each job's seeds do not depend on the sharding; join the shards' folders with
        /// `lbsim merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<Shard>,
        /// Finish a sweep whose folder holds some of its jobs (an interrupted run, or a
        /// shard): check its sweep.json is this sweep, skip the jobs done, run the rest.
        #[arg(long, conflicts_with = "force")]
        resume: bool,
        #[command(flatten)]
        flags: RunFlags,
    },
    /// Join the folders of a sweep's shards into the folder the whole sweep writes.
    ///
    /// Checks that every DIR holds the same sweep (its sweep.json), that no job is
    /// missing and that a job found twice has the same results, then writes OUT
    /// byte for byte as `lbsim run` of the whole sweep would: sweep.json, jobs/,
    /// sweep.csv, run.json, then charts/ and report.html (unless --no-report).
    #[command(after_help = "Example:\n  \
                      for k in 1 2 3; do lbsim run study.toml --out runs/shard-$k --shard $k/3 --quiet --no-report; done\n  \
                      lbsim merge --out runs/merged runs/shard-*")]
    Merge {
        /// The shard folders (any folders of the sweep's jobs).
        #[arg(value_name = "DIR", required = true)]
        dirs: Vec<PathBuf>,
        /// The merged sweep's folder.
        #[arg(long, value_name = "OUT")]
        out: PathBuf,
        /// Replace OUT if it exists.
        #[arg(long)]
        force: bool,
        /// Print nothing but errors.
        #[arg(long, short)]
        quiet: bool,
        /// Do not write charts/ and report.html (make them later with `lbsim report OUT`).
        #[arg(long)]
        no_report: bool,
    },
    /// Replay a real access log through a scenario's servers and policies.
    ///
    /// Reads LOG (plain or gzip-compressed), cuts each client's requests into
    /// sessions at an idle gap, and routes them through the scenario's servers,
    /// pool events and policies instead of its synthetic users. Writes the same
    /// files as `run` (without journeys; no client address or name is written
    /// anywhere), with the log's statistics in run.json, then prints a comparison
    /// table.
    #[command(after_help = "Example:\n  lbsim replay access.log.gz --scenario scenarios/shop-mixed.toml --idle 30m")]
    Replay {
        /// The access log, plain or gzip-compressed.
        log: PathBuf,
        /// The scenario whose servers, pool events, serving and policies to use (TOML).
        #[arg(long, value_name = "FILE")]
        scenario: PathBuf,
        /// common: NCSA Common Log Format, fields after BYTES ignored (so combined logs
        /// read too); combined: also requires "REFERER" "USER-AGENT"; csv: a header row
        /// naming `time` (RFC 3339 or Unix seconds) and `client` columns, others ignored.
        #[arg(long, value_name = "FORMAT", default_value = "common", value_parser = parse_format)]
        format: Format,
        /// A client's session ends when its next request comes more than this long after
        /// its previous one.
        #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = lbsim::scenario::units::parse_duration)]
        idle: Time,
        /// Lay the scenario's mobile network over the log's clients: each is, with that
        /// network's share, a phone whose logged address is its WiFi and which switches
        /// to carrier addresses and back at the network's switch_rate and cellular_stay.
        #[arg(long)]
        churn: bool,
        #[command(flatten)]
        flags: RunFlags,
    },
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
        after_help = "Example:\n  lbsim plan scenarios/shop-mixed.toml --slo p99=500ms --slo utilisation=0.7 --replications 3"
    )]
    Plan {
        /// The scenario file (TOML), with [servers] count = N (not names or weights).
        scenario: PathBuf,
        /// An objective (repeatable, one per metric): p99=DURATION, utilisation=FRACTION
        /// (0-1, the busiest server's busy worker time) or loss=PERCENT (sessions lost).
        #[arg(long = "slo", value_name = "METRIC=LIMIT", required = true)]
        slos: Vec<String>,
        /// The fewest servers to try.
        #[arg(long, value_name = "N", default_value_t = 1)]
        min_servers: u32,
        /// The most servers to try.
        #[arg(long, value_name = "N", default_value_t = 64)]
        max_servers: u32,
        #[command(flatten)]
        flags: RunFlags,
    },
    /// Write the charts and report.html of a run, sweep or plan folder.
    ///
    /// Reads DIR's files (any folder `lbsim run`, `lbsim replay` or `lbsim plan`
    /// wrote) and writes DIR/charts/*.png and *.svg and DIR/report.html, one
    /// self-contained page with the parameters, the comparison table, a verdict per
    /// policy and every chart. For a sweep, each metric is charted against each
    /// varied key with its 95% confidence band; for a plan, against the number of
    /// servers with the objective drawn.
    #[command(after_help = "Example:\n  lbsim report output/mobile-cgnat")]
    Report {
        /// The run folder.
        dir: PathBuf,
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

/// What `run` and `replay` share: where results go, and what to override.
#[derive(Args)]
struct RunFlags {
    /// Output folder [default: output/<scenario name>; for a replay, output/<scenario name>-replay].
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
    /// Do not write charts/ and report.html (make them later with `lbsim report DIR`).
    #[arg(long)]
    no_report: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            scenario,
            vary,
            shard,
            resume,
            flags,
        } => run(&scenario, &vary, shard, resume, &flags),
        Command::Merge {
            dirs,
            out,
            force,
            quiet,
            no_report,
        } => merge(&dirs, &out, force, quiet, no_report),
        Command::Replay {
            log,
            scenario,
            format,
            idle,
            churn,
            flags,
        } => replay(&log, format, idle, churn, &scenario, &flags),
        Command::Plan {
            scenario,
            slos,
            min_servers,
            max_servers,
            flags,
        } => plan(&scenario, &slos, min_servers, max_servers, &flags),
        Command::Report { dir } => report(&dir),
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

/// The scenario at `path` with the command line's overrides.
fn scenario(path: &Path, flags: &RunFlags, replay: bool) -> Result<Scenario, ExitCode> {
    let loaded = if replay {
        Scenario::load_for_replay(path, &flags.policies)
    } else {
        Scenario::load_with_policies(path, &flags.policies)
    };
    let mut sc = loaded.map_err(usage_error)?;
    sc.seed = flags.seed.unwrap_or(sc.seed);
    sc.replications = flags.replications.unwrap_or(sc.replications);
    Ok(sc)
}

/// The output folder, checked before any work is done.
fn destination(sc: &Scenario, flags: &RunFlags) -> Result<PathBuf, ExitCode> {
    let dir = flags
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&sc.name));
    output::check_destination(&dir, flags.force).map_err(usage_error)?;
    Ok(dir)
}

/// An output error: the user's to fix (exit code 2) or the machine's.
fn output_error(e: OutputError) -> ExitCode {
    if e.is_usage() {
        return usage_error(e);
    }
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

fn run(path: &Path, vary: &[String], shard: Option<Shard>, resume: bool, flags: &RunFlags) -> ExitCode {
    match Sweep::load(path, &flags.policies, vary) {
        Err(e) => return usage_error(e),
        Ok(Some(sweep)) => return run_sweep(sweep, vary, shard, resume, flags),
        Ok(None) => {}
    }
    // A single run is written whole or not at all: there is nothing to split or resume.
    if shard.is_some() || resume {
        return usage_error(format!(
            "--shard and --resume apply to sweeps, and {} has no [sweep] section and no --vary was given",
            path.display()
        ));
    }
    let sc = match scenario(path, flags, false) {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    let dir = match destination(&sc, flags) {
        Ok(dir) => dir,
        Err(code) => return code,
    };
    let total = sc.duration * u64::from(sc.replications);
    let result = output::progress::watch(total, !flags.quiet, |p| {
        experiment::run_watched(&sc, |r| lbsim::workload::Workload::new(&sc, r), p)
    });
    finish(&sc, &result, &dir, flags, None)
}

/// Runs a sweep's jobs (those of `shard` not yet in its folder), each kept as
/// it finishes, then, once the folder holds every job, sweep.csv and run.json.
fn run_sweep(mut sweep: Sweep, vary: &[String], shard: Option<Shard>, resume: bool, flags: &RunFlags) -> ExitCode {
    // The command line overrides every point, except where the sweep varies the key.
    for p in &mut sweep.points {
        if !sweep.keys.iter().any(|k| k == "seed") {
            p.scenario.seed = flags.seed.unwrap_or(p.scenario.seed);
        }
        if !sweep.keys.iter().any(|k| k == "replications") {
            p.scenario.replications = flags.replications.unwrap_or(p.scenario.replications);
        }
    }
    let spec = SweepSpec::new(
        &sweep,
        Overrides {
            policies: flags.policies.clone(),
            seed: flags.seed,
            replications: flags.replications,
            vary: vary.to_vec(),
        },
    );
    let shard = shard.unwrap_or(Shard::WHOLE);
    let dir = flags.out.clone().unwrap_or_else(|| {
        let name = match shard {
            Shard::WHOLE => spec.scenario.clone(),
            Shard { k, n } => format!("{}-shard-{k}-of-{n}", spec.scenario),
        };
        PathBuf::from("output").join(name)
    });
    let done = match sweep_folder::open(&dir, &spec, resume, flags.force) {
        Ok(done) => done,
        Err(e) => return output_error(e),
    };
    let mine = shard.deal(jobs::of(&sweep.points));
    let todo: Vec<Job> = mine.iter().filter(|j| !done.contains(j)).copied().collect();
    if !flags.quiet && todo.len() < mine.len() {
        say(&format!(
            "{} of {} jobs already done in {}\n",
            mine.len() - todo.len(),
            mine.len(),
            dir.display()
        ));
    }
    let start = std::time::Instant::now();
    let total = todo.iter().map(|j| sweep.points[j.point].scenario.duration).sum();
    let ran = output::progress::watch(total, !flags.quiet, |p| {
        jobs::run(&sweep.points, &todo, p, |job, replication| {
            let result = JobResult::of(job, &sweep.points[job.point], &replication);
            sweep_folder::write_job(&dir, &result).map(|()| result.events)
        })
    });
    let wall = start.elapsed().as_secs_f64();
    let events: u64 = match ran {
        Ok(events) => events.iter().sum(),
        Err(e) => return output_error(e),
    };
    let speed = format!(
        "{} job{} run, {wall:.2} s wall, {:.1} M events/s",
        todo.len(),
        if todo.len() == 1 { "" } else { "s" },
        events as f64 / wall.max(1e-9) / 1e6
    );
    let results = match sweep_folder::finish(&dir, &spec) {
        Ok(Some(results)) => results,
        Ok(None) => {
            if !flags.quiet {
                say(&format!(
                    "{}: shard {shard} of a sweep of {} jobs, {speed}\n{} of its jobs are in {}; join the \
                     shards with `lbsim merge --out DIR SHARD_DIR...`\n",
                    spec.scenario,
                    spec.jobs,
                    done.len() + todo.len(),
                    dir.display()
                ));
            }
            return ExitCode::SUCCESS;
        }
        Err(e) => return output_error(e),
    };
    if let Err(code) = report_into(&dir, flags.no_report, "sweep.csv and run.json are") {
        return code;
    }
    if !flags.quiet {
        say(&format!(
            "{}: sweep of {} points over {}, {speed}\n\n{}\nresults in {}\n",
            spec.scenario,
            spec.points,
            spec.sweep_keys.join(", "),
            output::sweep::text(&spec.sweep_keys, &results),
            dir.join("sweep.csv").display()
        ));
    }
    ExitCode::SUCCESS
}

/// Joins the shard folders `dirs` into `out`.
fn merge(dirs: &[PathBuf], out: &Path, force: bool, quiet: bool, no_report: bool) -> ExitCode {
    let (spec, results) = match sweep_folder::merge(dirs, out, force) {
        Ok(merged) => merged,
        Err(e) => return output_error(e),
    };
    if let Err(code) = report_into(out, no_report, "sweep.csv and run.json are") {
        return code;
    }
    if !quiet {
        say(&format!(
            "{}: {} jobs of a sweep of {} points over {} from {} folders\n\n{}\nresults in {}\n",
            spec.scenario,
            spec.jobs,
            spec.points,
            spec.sweep_keys.join(", "),
            dirs.len(),
            output::sweep::text(&spec.sweep_keys, &results),
            out.join("sweep.csv").display()
        ));
    }
    ExitCode::SUCCESS
}

/// Writes the report of the folder `dir` unless `no_report`; the results (`written`) are in place whatever happens.
fn report_into(dir: &Path, no_report: bool, written: &str) -> Result<(), ExitCode> {
    if no_report {
        return Ok(());
    }
    report::write(dir).map(|_| ()).map_err(|e| {
        eprintln!(
            "error: {e} ({written} written; retry with `lbsim report {}`)",
            dir.display()
        );
        ExitCode::FAILURE
    })
}

/// Replays `log`, read as `format`, cut at gaps over `idle`, with `churn` or not,
/// through the scenario at `path`.
fn replay(log: &Path, format: Format, idle: Time, churn: bool, path: &Path, flags: &RunFlags) -> ExitCode {
    let mut sc = match scenario(path, flags, true) {
        Ok(sc) => sc,
        Err(code) => return code,
    };
    let mobile = sc
        .networks
        .iter()
        .find(|n| matches!(n, Network::Mobile { .. }))
        .cloned();
    let churn = match (churn, mobile) {
        (false, _) => None,
        (true, Some(n)) => Some(n),
        (true, None) => {
            return usage_error(format!(
                "--churn: {} has no [[networks]] entry with kind = \"mobile\" to take the switching from",
                path.display()
            ));
        }
    };
    // Rows of a replay's CSV files say it is one, as does its default folder.
    sc.name = format!("{}-replay", sc.name);
    let dir = match destination(&sc, flags) {
        Ok(dir) => dir,
        Err(code) => return code,
    };
    let trace = match Trace::read(log, format, idle) {
        Ok(t) => t,
        Err(e) => return usage_error(e),
    };
    if let Err(e) = sc.for_replay(trace.duration()) {
        return usage_error(format!("{}: {e}", log.display()));
    }
    if !flags.quiet {
        announce(&trace, churn.as_ref(), &sc);
    }
    let total = sc.duration * u64::from(sc.replications);
    let result = output::progress::watch(total, !flags.quiet, |p| {
        experiment::run_watched(&sc, |r| trace.replay(&sc, r, churn.as_ref()), p)
    });
    let mut json = trace.stats.to_json();
    json["churn_phone_share"] = churn.as_ref().map(Network::share).into();
    finish(&sc, &result, &dir, flags, Some(&json))
}

/// What a replay is about to route: the log's statistics, its malformed lines,
/// and the pool events it will not reach.
fn announce(trace: &Trace, churn: Option<&Network>, sc: &Scenario) {
    let stats = &trace.stats;
    let churned = churn.map_or(String::new(), |n| {
        format!(
            "  churn      {} % of clients are phones, switching as the scenario's mobile network\n",
            output::num(n.share() * 100.0)
        )
    });
    say(&format!("replaying {}{churned}\n", stats.describe()));
    for m in &stats.first_malformed {
        eprintln!("warning: {}", m.show(&stats.file, stats.format));
    }
    let unreported = stats.malformed - stats.first_malformed.len() as u64;
    if unreported > 0 {
        eprintln!("warning: {unreported} more malformed lines skipped");
    }
    let unreached = sc.changes.iter().filter(|c| c.at >= sc.duration).count();
    if unreached > 0 {
        eprintln!(
            "note: {unreached} of the scenario's pool events come after the log ends ({}) and are not applied",
            lbsim::engine::time::clock(sc.duration)
        );
    }
}

/// Writes a run's files and prints its table.
fn finish(
    sc: &Scenario,
    result: &experiment::RunResult,
    dir: &Path,
    flags: &RunFlags,
    trace: Option<&serde_json::Value>,
) -> ExitCode {
    if let Err(e) = output::write_run(dir, flags.force, sc, result, trace) {
        return output_error(e);
    }
    if let Err(code) = report_into(dir, flags.no_report, "the run's CSV files are") {
        return code;
    }
    if !flags.quiet {
        let routed = result.routed();
        say(&format!(
            "{}: {} replication(s), {} policies, {:.2} s wall, {:.1} M requests routed/s\n\n{}\n{}results in {}\n",
            sc.name,
            sc.replications,
            sc.policies.len(),
            result.wall_secs,
            routed as f64 / result.wall_secs.max(1e-9) / 1e6,
            output::table::render(result),
            match output::comparisons::text(result) {
                t if t.is_empty() => t,
                t => t + "\n",
            },
            dir.display()
        ));
        if !flags.no_report {
            say(&format!("report in {}\n", dir.join("report.html").display()));
        }
    }
    ExitCode::SUCCESS
}

/// Plans capacity for the scenario at `path`: the fewest servers per policy meeting `slos`.
fn plan(path: &Path, slos: &[String], min: u32, max: u32, flags: &RunFlags) -> ExitCode {
    let slos = match slos.iter().map(|s| Slo::parse(s)).collect::<Result<Vec<_>, _>>() {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let planner = match lbsim::plan::Planner::new(lbsim::plan::Request {
        path,
        policies: &flags.policies,
        slos,
        min,
        max,
        seed: flags.seed,
        replications: flags.replications,
    }) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let dir = flags
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(format!("{}-plan", planner.scenario().name)));
    if let Err(e) = output::check_destination(&dir, flags.force) {
        return usage_error(e);
    }
    let policies = planner.scenario().policies.len();
    let plan = match planner.run(|servers, met| {
        if !flags.quiet {
            let n = met.iter().filter(|m| **m).count();
            eprintln!("{servers} servers: {n} of {policies} policies meet every objective");
        }
    }) {
        Ok(p) => p,
        Err(e) => return usage_error(e),
    };
    let files = vec![
        ("plan.csv".to_string(), lbsim::plan::output::csv(&plan)),
        ("run.json".to_string(), lbsim::plan::output::json(&plan).into_bytes()),
    ];
    if let Err(e) = output::write_folder(&dir, flags.force, files) {
        return output_error(e);
    }
    if let Err(code) = report_into(&dir, flags.no_report, "plan.csv is") {
        return code;
    }
    if !flags.quiet {
        say(&format!(
            "{}: fewest servers per policy\n\n{}\nresults in {}\n",
            plan.scenario.name,
            lbsim::plan::output::text(&plan),
            dir.display()
        ));
    }
    ExitCode::SUCCESS
}

fn report(dir: &Path) -> ExitCode {
    match report::write(dir) {
        Ok(w) => {
            say(&format!(
                "{} charts in {}\nreport in {}\n",
                w.charts.len(),
                dir.join("charts").display(),
                w.html.display()
            ));
            ExitCode::SUCCESS
        }
        Err(e) if e.is_usage() => usage_error(e),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
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
    let initial = sc
        .servers
        .iter()
        .filter(|s| s.presence == lbsim::pool::Presence::Up)
        .count();
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

fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
        format!("expected one of: {}", names.join(", "))
    })
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
