//! Writing a run's results: tidy CSV files with the run's context on every row,
//! run.json, and the terminal comparison table.
//!
//! Files are written into a scratch folder next to the destination and moved into
//! place in one rename, so a run's folder is complete or absent, never half-written.

pub mod comparisons;
pub mod csv;
pub mod progress;
pub mod replication_stats;
pub mod run_json;
pub mod sweep;
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
    /// The path holds something lbsim did not write; it is never replaced.
    NotARun(PathBuf),
    Io(PathBuf, io::Error),
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            OutputError::Exists(p) => write!(
                f,
                "{} already exists: pass --force to replace it, or --out DIR to write elsewhere",
                p.display()
            ),
            OutputError::NotARun(p) => write!(
                f,
                "{} is not a run folder lbsim wrote (no run.json), or it holds the current directory: \
                 lbsim replaces only its own output; choose another --out DIR",
                p.display()
            ),
            OutputError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for OutputError {}

/// Fails early if `dir` exists and may not be replaced: without `force`, or when
/// it is not a folder an earlier run wrote, or when it holds the working directory.
pub fn check_destination(dir: &Path, force: bool) -> Result<(), OutputError> {
    if fs::symlink_metadata(dir).is_err() {
        return Ok(());
    }
    if !force {
        return Err(OutputError::Exists(dir.to_path_buf()));
    }
    let not_a_run = || OutputError::NotARun(dir.to_path_buf());
    if !dir.is_dir() || !dir.join("run.json").is_file() {
        return Err(not_a_run());
    }
    let here = std::env::current_dir().and_then(fs::canonicalize);
    match (here, fs::canonicalize(dir)) {
        (Ok(here), Ok(there)) if !here.starts_with(&there) => Ok(()),
        _ => Err(not_a_run()),
    }
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

/// Writes `files` (name, bytes) as the folder `dir`, all at once: into a
/// scratch folder beside it, moved into place in one rename.
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
    if scratch.exists() {
        fs::remove_dir_all(&scratch).map_err(io_err(&scratch))?;
    }
    fs::create_dir(&scratch).map_err(io_err(&scratch))?;
    let written = (|| -> Result<(), OutputError> {
        for (file, bytes) in &files {
            let path = scratch.join(file);
            fs::write(&path, bytes).map_err(io_err(&path))?;
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
