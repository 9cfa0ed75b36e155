//! The report of a run: charts (PNG and SVG, in the run's charts/ folder) and
//! report.html, all made from the run folder's files, so `lbsim report DIR`
//! works on any past run as well as at the end of `lbsim run`.
//!
//! Every file is written under a temporary name and renamed into place, so a
//! reader never sees a half-written chart or page.

mod bars;
pub mod charts;
pub mod data;
pub mod html;
mod lines;
pub mod palette;
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
                "{} is not a run folder lbsim wrote ({why}); pass the --out folder of `lbsim run` or `lbsim replay`",
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

/// Reads the run folder `dir` and writes its charts and report.html into it.
pub fn write(dir: &Path) -> Result<Written, ReportError> {
    let d = RunData::read(dir)?;
    let charts = charts::render_all(&d).map_err(ReportError::Draw)?;
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
    write_atomic(&html, html::render(&d, &charts).as_bytes())?;
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
