//! `lbsim plan`: the fewest servers per policy that meet service-level objectives.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use lbsim::output;
use lbsim::plan::slo::Slo;

use super::common::{RunFlags, no_baseline, output_error, report_into, say, usage_error};

#[derive(Args)]
pub struct PlanArgs {
    /// The scenario file (TOML), with [servers] count = N (not names or weights).
    pub scenario: PathBuf,
    /// An objective (repeatable, one per metric): p99=DURATION, utilisation=FRACTION
    /// (0-1, the busiest server's busy worker time), loss=PERCENT (sessions lost,
    /// requests not served included) or unserved=PERCENT (requests dropped or unroutable).
    #[arg(long = "slo", value_name = "METRIC=LIMIT", required = true)]
    pub slos: Vec<String>,
    /// The fewest servers to try.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub min_servers: u32,
    /// The most servers to try.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub max_servers: u32,
    /// Also answer with a range for an autoscaler: the fewest servers each window
    /// of the run needs, their least and most, and the server-hours of a pool
    /// that follows them (plan_windows.csv).
    #[arg(long)]
    pub autoscale: bool,
    #[command(flatten)]
    pub flags: RunFlags,
}

pub fn main(a: PlanArgs) -> ExitCode {
    plan(&a, &a.flags)
}

/// Plans capacity for the scenario at `path`: the fewest servers per policy meeting `slos`.
fn plan(a: &PlanArgs, flags: &RunFlags) -> ExitCode {
    let path = a.scenario.as_path();
    if let Err(code) = no_baseline(flags, "a plan") {
        return code;
    }
    let slos = match a.slos.iter().map(|s| Slo::parse(s)).collect::<Result<Vec<_>, _>>() {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let planner = match lbsim::plan::Planner::new(lbsim::plan::Request {
        path,
        policies: &flags.policies,
        slos,
        min: a.min_servers,
        max: a.max_servers,
        seed: flags.seed,
        replications: flags.replications,
        allow_large: flags.allow_large,
        autoscale: a.autoscale,
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
    let mut files = vec![
        ("plan.csv".to_string(), lbsim::plan::output::csv(&plan)),
        ("run.json".to_string(), lbsim::plan::output::json(&plan).into_bytes()),
    ];
    if !plan.ranges.is_empty() {
        files.push(("plan_windows.csv".to_string(), lbsim::plan::output::windows_csv(&plan)));
    }
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
