//! What the subcommands share: the flags of a run, where its results go, and how
//! failures become messages and exit codes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use lbsim::output::{self, OutputError};
use lbsim::scenario::Scenario;
use lbsim::scenario::size::Size;
use lbsim::{experiment, report};

/// What `run`, `replay` and `plan` share: where results go, and what to override.
#[derive(Args)]
pub struct RunFlags {
    /// Output folder [default: output/<scenario name>; for a sweep, output/<scenario name>-sweep;
    /// for a replay, output/<scenario name>-replay; for a plan, output/<scenario name>-plan].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Override the scenario's seed.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Override the number of replications.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub replications: Option<u32>,
    /// Run these policies instead of the scenario's (repeatable), e.g. 'stick_table(expire=10m)'.
    #[arg(long = "policy", value_name = "SPEC")]
    pub policies: Vec<String>,
    /// Compare every other policy against this one in comparisons.csv and under the
    /// table [default: the first policy]; written as in the scenario or --policy.
    #[arg(long, value_name = "POLICY")]
    pub baseline: Option<String>,
    /// Replace the output folder if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not write charts/ and report.html (make them later with `lbsim report DIR`).
    #[arg(long)]
    pub no_report: bool,
    /// Run (or plan) even when it is estimated to need more than 8 GiB of memory or
    /// more than 5 billion request routings (requests × policies × replications).
    #[arg(long)]
    pub allow_large: bool,
}

/// Refuses a run estimated beyond the limits, unless `--allow-large`.
pub fn within_limits(path: &Path, size: Size, flags: &RunFlags) -> Result<(), ExitCode> {
    match size.refusal() {
        Some(why) if !flags.allow_large => Err(usage_error(format!("{}: {why}", path.display()))),
        _ => Ok(()),
    }
}

/// Refuses `--baseline` where no comparisons are written (`what`: a sweep, a plan).
pub fn no_baseline(flags: &RunFlags, what: &str) -> Result<(), ExitCode> {
    match flags.baseline {
        Some(_) => Err(usage_error(format!(
            "--baseline chooses what comparisons.csv compares against, and {what} writes no comparisons"
        ))),
        None => Ok(()),
    }
}

/// Bad input: the user can fix it.
pub fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// The scenario at `path` with the command line's overrides.
pub fn scenario(path: &Path, flags: &RunFlags, replay: bool) -> Result<Scenario, ExitCode> {
    let loaded = if replay {
        Scenario::load_for_replay(path, &flags.policies)
    } else {
        Scenario::load_with_policies(path, &flags.policies)
    };
    let mut sc = loaded.map_err(usage_error)?;
    sc.seed = flags.seed.unwrap_or(sc.seed);
    sc.replications = flags.replications.unwrap_or(sc.replications);
    if let Some(b) = &flags.baseline {
        sc.set_baseline(b).map_err(usage_error)?;
    }
    Ok(sc)
}

/// The output folder, checked before any work is done.
pub fn destination(sc: &Scenario, flags: &RunFlags) -> Result<PathBuf, ExitCode> {
    let dir = flags
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("output").join(&sc.name));
    output::check_destination(&dir, flags.force).map_err(usage_error)?;
    Ok(dir)
}

/// An output error: the user's to fix (exit code 2) or the machine's.
pub fn output_error(e: OutputError) -> ExitCode {
    if e.is_usage() {
        return usage_error(e);
    }
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

/// Writes the report of the folder `dir` unless `no_report`; the results (`written`) are in place whatever happens.
pub fn report_into(dir: &Path, no_report: bool, written: &str) -> Result<(), ExitCode> {
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

/// Writes a run's files and prints its table.
pub fn finish(
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
            match output::comparisons::text(sc, result) {
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

/// Writes to standard output; a closed pipe (`lbsim ... | head`) is not an error.
pub fn say(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
