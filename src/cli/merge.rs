//! `lbsim merge`: the shards of a sweep joined into the folder of the whole sweep.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use lbsim::output;
use lbsim::output::sweep_folder;

use super::common::{output_error, report_into, say};

#[derive(Args)]
pub struct MergeArgs {
    /// The shard folders (any folders of the sweep's jobs).
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// The merged sweep's folder.
    #[arg(long, value_name = "OUT")]
    pub out: PathBuf,
    /// Replace OUT if it exists.
    #[arg(long)]
    pub force: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Do not write charts/ and report.html (make them later with `lbsim report OUT`).
    #[arg(long)]
    pub no_report: bool,
}

pub fn main(a: MergeArgs) -> ExitCode {
    merge(&a.dirs, &a.out, a.force, a.quiet, a.no_report)
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
