//! Writing a run's results: tidy CSV files with the run's context on every row,
//! run.json, and the terminal comparison table.
//!
//! Files are written into a scratch folder next to the destination and moved into
//! place in one rename, so a run's folder is complete or absent, never half-written.
//! A sweep's folder grows job by job instead (see [`sweep_folder`]): each file
//! in it is written under a temporary name and renamed into place.

pub mod comparisons;
pub mod csv;
pub mod progress;
pub mod replication_stats;
pub mod run_json;
pub mod sweep;
pub mod sweep_folder;
pub mod sweep_spec;
pub mod table;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::experiment::RunResult;
use crate::scenario::Scenario;

/// Why an output folder could not be written.
#[derive(Debug)]
pub enum OutputError {
    Exists(PathBuf),
    /// The path holds a sweep that has not run all its jobs yet.
    Unfinished(PathBuf),
    /// The path holds something lbsim did not write; it is never replaced.
    NotARun(PathBuf),
    /// The path is not a sweep folder lbsim wrote, or not of the sweep asked for.
    NotTheSweep(PathBuf, String),
    /// A file of a sweep folder is not as lbsim writes it.
    Malformed(PathBuf, String),
    /// Sweep folders to merge describe different sweeps, or lack jobs.
    Merge(String),
    /// The folder cannot be made where it was asked for: checked before any work.
    Unwritable(PathBuf, io::Error),
    Io(PathBuf, io::Error),
}

impl OutputError {
    /// Whether the fault is in what the user asked for (exit code 2) rather than in writing.
    pub fn is_usage(&self) -> bool {
        !matches!(self, OutputError::Io(..))
    }
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            OutputError::Exists(p) => write!(
                f,
                "{} already exists: pass --force to replace it, or --out DIR to write elsewhere",
                p.display()
            ),
            OutputError::Unfinished(p) => write!(
                f,
                "{} holds an unfinished sweep: pass --resume to run its missing jobs, --force to start \
                 over, or --out DIR to write elsewhere",
                p.display()
            ),
            OutputError::NotARun(p) => write!(
                f,
                "{} is not a run folder lbsim wrote (no run.json or sweep.json), or it holds the current \
                 directory: lbsim replaces only its own output; choose another --out DIR",
                p.display()
            ),
            OutputError::NotTheSweep(p, why) => write!(f, "{}: {why}", p.display()),
            OutputError::Malformed(p, why) => write!(f, "{}: {why}", p.display()),
            OutputError::Merge(why) => f.write_str(why),
            OutputError::Unwritable(p, e) => write!(
                f,
                "{}: cannot write the output folder there ({e}); choose another with --out",
                p.display()
            ),
            OutputError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for OutputError {}

/// Fails early if `dir` exists and may not be replaced: without `force`, or when
/// it is not a folder an earlier run or sweep wrote, or when it holds the working directory.
pub fn check_destination(dir: &Path, force: bool) -> Result<(), OutputError> {
    if fs::symlink_metadata(dir).is_err() {
        return writable(dir);
    }
    if !force {
        return Err(if sweep_folder::unfinished(dir) {
            OutputError::Unfinished(dir.to_path_buf())
        } else {
            OutputError::Exists(dir.to_path_buf())
        });
    }
    let not_a_run = || OutputError::NotARun(dir.to_path_buf());
    if !dir.is_dir() || !(dir.join("run.json").is_file() || dir.join(sweep_spec::SWEEP_JSON).is_file()) {
        return Err(not_a_run());
    }
    let here = std::env::current_dir().and_then(fs::canonicalize);
    match (here, fs::canonicalize(dir)) {
        (Ok(here), Ok(there)) if !here.starts_with(&there) => Ok(()),
        _ => Err(not_a_run()),
    }
}

/// Whether a folder can be made at `dir`, which does not exist yet: a probe
/// folder is made and removed next to where it will go, in the nearest folder
/// that exists, so nothing is left behind.
fn writable(dir: &Path) -> Result<(), OutputError> {
    let unwritable = |e| OutputError::Unwritable(dir.to_path_buf(), e);
    let mut base = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    while fs::symlink_metadata(base).is_err() {
        base = base
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
    }
    if !base.is_dir() {
        return Err(unwritable(io::Error::other(format!(
            "{} is not a folder",
            base.display()
        ))));
    }
    let probe = base.join(format!(".lbsim-probe-{}", std::process::id()));
    fs::create_dir(&probe).map_err(unwritable)?;
    fs::remove_dir(&probe).map_err(unwritable)
}

/// Writes every output file of a run into `dir`, all at once. A replay passes
/// what it read from its log (`trace`), which run.json records.
pub fn write_run(
    dir: &Path,
    force: bool,
    sc: &Scenario,
    result: &RunResult,
    trace: Option<&serde_json::Value>,
) -> Result<(), OutputError> {
    let mut files: Vec<(String, Vec<u8>)> = csv::files(sc, result)
        .into_iter()
        .map(|(f, b)| (f.to_string(), b))
        .collect();
    files.push(("summary_stats.csv".into(), replication_stats::render(sc, result)));
    files.push(("comparisons.csv".into(), comparisons::render(sc, result)));
    files.push(("run.json".into(), run_json::render(sc, result, trace).into_bytes()));
    write_folder(dir, force, files)
}

/// Writes `files` (name, bytes; a name may have folders, `jobs/p0001-r0000.json`)
/// as the folder `dir`, all at once: into a scratch folder beside it, moved into
/// place in one rename.
pub fn write_folder(dir: &Path, force: bool, files: Vec<(String, Vec<u8>)>) -> Result<(), OutputError> {
    check_destination(dir, force)?;
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |e| OutputError::Io(p, e)
    };
    let name = dir
        .file_name()
        .map_or("run".into(), |n| n.to_string_lossy().into_owned());
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io_err(parent))?;
    let scratch = parent.join(format!(".{name}.partial-{}", std::process::id()));
    // Errors name the folder asked for, not the scratch one it is built in.
    if scratch.exists() {
        fs::remove_dir_all(&scratch).map_err(io_err(dir))?;
    }
    fs::create_dir(&scratch).map_err(io_err(dir))?;
    let written = (|| -> Result<(), OutputError> {
        for (file, bytes) in &files {
            let path = scratch.join(file);
            if let Some(folder) = path.parent() {
                fs::create_dir_all(folder).map_err(io_err(&dir.join(file)))?;
            }
            fs::write(&path, bytes).map_err(io_err(&dir.join(file)))?;
        }
        // The old run moves aside and is deleted only once the new one is in place.
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        let replacing = dir.exists();
        if replacing {
            fs::rename(dir, &old).map_err(io_err(dir))?;
        }
        if let Err(e) = fs::rename(&scratch, dir) {
            if replacing {
                let _ = fs::rename(&old, dir);
            }
            return Err(io_err(dir)(e));
        }
        if replacing {
            fs::remove_dir_all(&old).map_err(io_err(&old))?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = fs::remove_dir_all(&scratch);
    }
    written
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`,
/// so a reader finds the old file or the whole new one, never part of it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let name = path
        .file_name()
        .map_or("file".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    if let Err(e) = fs::write(&tmp, bytes).and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(OutputError::Io(path.to_path_buf(), e));
    }
    Ok(())
}

/// `scale × part / whole`; NaN (shown empty or "-") when `whole` is 0.
pub fn ratio(part: u64, whole: u64, scale: f64) -> f64 {
    if whole == 0 {
        f64::NAN
    } else {
        scale * part as f64 / whole as f64
    }
}

/// A number for CSV: up to 6 decimals, trailing zeros trimmed; empty for NaN.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let s = format!("{x:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

#[cfg(test)]
mod tests {
    use super::num;

    #[test]
    fn numbers_are_short_and_stable() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(2.5e-7), "0");
        assert_eq!(num(f64::NAN), "");
        assert_eq!(num(1234.56789), "1234.56789");
    }
}
