//! The report of a run, a sweep or a capacity plan: charts (PNG and SVG, in
//! the folder's charts/) and report.html, all made from the folder's files, so
//! `lbsim report DIR` works on any past run as well as at the end of `lbsim run`,
//! `lbsim run --vary` and `lbsim plan`.
//!
//! Every file is written under a temporary name and renamed into place, so a
//! reader never sees a half-written chart or page.

pub mod against;
mod bars;
pub mod canvas;
pub mod charts;
pub mod data;
mod distribution;
pub mod html;
mod lines;
pub mod measure;
pub mod palette;
pub mod plan;
mod servers;
pub mod sweep;
pub mod verdict;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub use data::RunData;

/// Why a report could not be made.
#[derive(Debug)]
pub enum ReportError {
    /// The folder is missing or is not one lbsim wrote; the user can fix this.
    NotARun(PathBuf, String),
    /// A file of the run is not as lbsim writes it.
    Malformed(PathBuf, String),
    Draw(String),
    Io(PathBuf, io::Error),
}

impl ReportError {
    /// Whether the fault is in what the user asked for (exit code 2) rather than in writing.
    pub fn is_usage(&self) -> bool {
        matches!(self, ReportError::NotARun(..) | ReportError::Malformed(..))
    }
}

impl std::fmt::Display for ReportError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            ReportError::NotARun(p, why) => write!(
                f,
                "{} is not a run folder lbsim wrote ({why}); pass the --out folder of `lbsim run`, `lbsim replay` or `lbsim plan`",
                p.display()
            ),
            ReportError::Malformed(p, why) => write!(f, "{}: {why}", p.display()),
            // The usual cause is a machine without fonts: say which package gives one.
            ReportError::Draw(why) => write!(
                f,
                "{why} (chart text needs a sans-serif font found through fontconfig; on Debian: \
                 apt-get install fonts-dejavu-core)"
            ),
            ReportError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for ReportError {}

/// What a report wrote.
pub struct Written {
    pub html: PathBuf,
    pub charts: Vec<PathBuf>,
}

/// Reads the folder `dir` (a run, a sweep or a capacity plan) and writes its
/// charts and report.html into it.
pub fn write(dir: &Path) -> Result<Written, ReportError> {
    let (charts, page) = if dir.join("plan.csv").is_file() {
        let d = plan::PlanData::read(dir)?;
        let charts = plan::charts(&d).map_err(ReportError::Draw)?;
        let page = plan::page(&d, &charts);
        (charts, page)
    } else if dir.join("sweep.csv").is_file() && !dir.join("summary.csv").exists() {
        let d = sweep::SweepData::read(dir)?;
        let charts = sweep::charts(&d).map_err(ReportError::Draw)?;
        let page = sweep::page(&d, &charts);
        (charts, page)
    } else {
        let d = RunData::read(dir)?;
        let charts = charts::render_all(&d).map_err(ReportError::Draw)?;
        let page = html::render(&d, &charts);
        (charts, page)
    };
    let chart_dir = dir.join("charts");
    fs::create_dir_all(&chart_dir).map_err(|e| ReportError::Io(chart_dir.clone(), e))?;
    let mut paths = Vec::new();
    for c in &charts {
        for (ext, bytes) in [("svg", c.svg.as_bytes()), ("png", c.png.as_slice())] {
            let path = chart_dir.join(format!("{}.{ext}", c.name));
            write_atomic(&path, bytes)?;
            paths.push(path);
        }
    }
    let html = dir.join("report.html");
    write_atomic(&html, page.as_bytes())?;
    Ok(Written { html, charts: paths })
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    let io_err = |e| ReportError::Io(path.to_path_buf(), e);
    if let Err(e) = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    Ok(())
}
