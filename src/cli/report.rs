//! `lbsim report`: the charts and report.html of a run, sweep or plan folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use lbsim::report;

use super::common::{say, usage_error};

#[derive(Args)]
pub struct ReportArgs {
    /// The run folder.
    pub dir: PathBuf,
}

pub fn main(a: ReportArgs) -> ExitCode {
    report(&a.dir)
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
