//! A sweep's folder, which grows job by job so that a long study survives an
//! interruption and can be split over machines:
//!
//! ```text
//! sweep.json                 what the sweep is: scenario file and hash, flags, grid, job count
//! jobs/p0001-r0000.json      one per finished job (point 1, replication 0), written as it ends
//! sweep.csv                  every job's rows in job order, once all jobs are in
//! run.json                   written last: its presence marks a finished sweep
//! charts/, report.html       the report, unless --no-report
//! ```
//!
//! Every file is written under a temporary name and renamed into place, so a
//! job file is whole or absent. A folder with sweep.json but no run.json is an
//! unfinished sweep: `lbsim run --resume` runs its missing jobs, and `lbsim
//! merge` joins the folders of a sweep's shards. Both finish the folder through
//! [`sweep::assemble`], the same way a sweep run in one go does, so the three
//! give the same files byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::sweep::{self, JobResult};
use super::{OutputError, write_atomic, write_folder};
use crate::experiment::jobs::{self, Job};
use crate::scenario::sweep::Sweep;

/// The file that describes a sweep, and marks its folder as one.
pub const SWEEP_JSON: &str = "sweep.json";

/// The folder of job results.
const JOBS: &str = "jobs";

/// How many missing jobs an error lists before it counts the rest.
const LISTED: usize = 10;

/// Command-line flags that change a sweep's results, as given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overrides {
    pub policies: Vec<String>,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub vary: Vec<String>,
}

/// One point of the grid: its values of the varied keys and its replications.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridPoint {
    pub values: Vec<String>,
    pub replications: u32,
}

/// sweep.json: everything that decides a sweep's jobs and their results, and
/// nothing about where or how they run, so every shard writes the same one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    pub lbsim_version: String,
    pub scenario: String,
    pub scenario_file: String,
    pub scenario_xxh3: String,
    pub overrides: Overrides,
    pub sweep_keys: Vec<String>,
    pub points: usize,
    pub jobs: usize,
    pub grid: Vec<GridPoint>,
}

impl SweepSpec {
    /// The description of `sweep`, run with `overrides`.
    pub fn new(sweep: &Sweep, overrides: Overrides) -> SweepSpec {
        let first = &sweep.points[0].scenario;
        let grid: Vec<GridPoint> = sweep
            .points
            .iter()
            .map(|p| GridPoint {
                values: p.values.clone(),
                replications: p.scenario.replications,
            })
            .collect();
        SweepSpec {
            lbsim_version: env!("CARGO_PKG_VERSION").to_string(),
            scenario: first.name.clone(),
            scenario_file: first.path.display().to_string(),
            scenario_xxh3: first.source_hash.clone(),
            overrides,
            sweep_keys: sweep.keys.clone(),
            points: grid.len(),
            jobs: jobs::of(&sweep.points).len(),
            grid,
        }
    }

    /// Every job of the sweep, in order.
    pub fn job_list(&self) -> Vec<Job> {
        let replications: Vec<u32> = self.grid.iter().map(|p| p.replications).collect();
        jobs::list(&replications)
    }

    /// sweep.json's text.
    pub fn render(&self) -> Vec<u8> {
        (serde_json::to_string_pretty(self).expect("JSON of plain values") + "\n").into_bytes()
    }

    /// The sweep.json of the folder `dir`.
    pub fn read(dir: &Path) -> Result<SweepSpec, OutputError> {
        let path = dir.join(SWEEP_JSON);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(OutputError::NotTheSweep(
                    dir.to_path_buf(),
                    "not a sweep folder lbsim wrote (no sweep.json)".into(),
                ));
            }
            Err(e) => return Err(OutputError::Io(path, e)),
        };
        let bad = |why: String| OutputError::Malformed(path.clone(), format!("{why}; it is not as lbsim writes it"));
        let spec: SweepSpec = serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        if spec.points != spec.grid.len()
            || spec.jobs != spec.job_list().len()
            || spec.grid.iter().any(|p| p.values.len() != spec.sweep_keys.len())
        {
            return Err(bad("its point and job counts do not match its grid".into()));
        }
        Ok(spec)
    }

    /// The first field in which `self` and `other` differ (`overrides.seed`,
    /// `grid.3.values.1`), with its value in each: what names the sweep first,
    /// then the flags, then what follows from them.
    ///
    /// The scenario is compared by its content (`scenario_xxh3`), not by the path
    /// it was given as: `./x.toml`, `x.toml` and a copy elsewhere are one sweep.
    fn difference(&self, other: &SweepSpec) -> Option<(String, String, String)> {
        let value = |s: &SweepSpec| {
            let mut v = serde_json::to_value(s).expect("JSON of plain values");
            v["scenario_file"] = serde_json::Value::Null;
            v
        };
        let (a, b) = (value(self), value(other));
        let missing = serde_json::Value::Null;
        ["scenario", "scenario_xxh3", "overrides", "lbsim_version"]
            .iter()
            .find_map(|f| first_difference(f.to_string(), &a[f], b.get(f).unwrap_or(&missing)))
            .or_else(|| first_difference(String::new(), &a, &b))
    }
}

/// The first place, as a dotted path below `at`, where `a` and `b` differ, with
/// their values there shortened for a message.
fn first_difference(at: String, a: &serde_json::Value, b: &serde_json::Value) -> Option<(String, String, String)> {
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        let missing = serde_json::Value::Null;
        return a.iter().find_map(|(field, value)| {
            let path = if at.is_empty() {
                field.clone()
            } else {
                format!("{at}.{field}")
            };
            first_difference(path, value, b.get(field).unwrap_or(&missing))
        });
    }
    if let (Some(a), Some(b)) = (a.as_array(), b.as_array())
        && a.len() == b.len()
    {
        return a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (a, b))| first_difference(format!("{at}.{i}"), a, b));
    }
    let shown = |v: &serde_json::Value| {
        let text = v.to_string();
        match text.char_indices().nth(80) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text,
        }
    };
    (a != b).then(|| (at, shown(a), shown(b)))
}

/// Whether `dir` holds a sweep that has not finished.
pub fn unfinished(dir: &Path) -> bool {
    dir.join(SWEEP_JSON).is_file() && !dir.join("run.json").is_file()
}

/// Makes `dir` ready to receive the jobs of `spec` and returns those it already
/// holds. With `resume`, an existing folder must hold the same sweep; otherwise
/// it is made anew, replacing an earlier one only with `force`.
pub fn open(dir: &Path, spec: &SweepSpec, resume: bool, force: bool) -> Result<BTreeSet<Job>, OutputError> {
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |e| OutputError::Io(p, e)
    };
    let folder = dir.join(JOBS);
    if resume && fs::symlink_metadata(dir).is_ok() {
        let found = SweepSpec::read(dir).map_err(|e| match e {
            OutputError::NotTheSweep(p, why) => {
                OutputError::NotTheSweep(p, format!("{why}; --resume continues only a sweep lbsim started there"))
            }
            e => e,
        })?;
        if let Some((field, now, there)) = spec.difference(&found) {
            return Err(OutputError::NotTheSweep(
                dir.to_path_buf(),
                format!(
                    "holds a different sweep: its {SWEEP_JSON} has {field} = {there}, this run has {now}; \
                     resume with the same scenario file and flags, or pass --out DIR to write elsewhere"
                ),
            ));
        }
        fs::create_dir_all(&folder).map_err(io_err(&folder))?;
        // A job interrupted while its file was being written left only its temporary file.
        for entry in fs::read_dir(&folder).map_err(io_err(&folder))? {
            let path = entry.map_err(io_err(&folder))?.path();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name.starts_with('.') && name.contains(".partial-") {
                fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        let done: BTreeSet<Job> = read_jobs(dir, spec)?.into_keys().collect();
        // A folder that lacks jobs is unfinished, whatever files an earlier finish left.
        if done.len() < spec.jobs {
            for file in ["run.json", "sweep.csv"] {
                let path = dir.join(file);
                match fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(OutputError::Io(path, e)),
                    _ => {}
                }
            }
        }
        return Ok(done);
    }
    write_folder(dir, force, vec![(SWEEP_JSON.to_string(), spec.render())])?;
    fs::create_dir_all(&folder).map_err(io_err(&folder))?;
    Ok(BTreeSet::new())
}

/// Keeps a finished job's result in `dir`, whole or not at all.
pub fn write_job(dir: &Path, result: &JobResult) -> Result<(), OutputError> {
    let job = result.job().expect("a job result counts points from 1");
    write_atomic(&dir.join(JOBS).join(format!("{}.json", job.name())), &result.render())
}

/// Writes sweep.csv and run.json into `dir` if it holds every job of `spec`, and
/// returns the results of all jobs in order; `None` while jobs are missing.
pub fn finish(dir: &Path, spec: &SweepSpec) -> Result<Option<Vec<JobResult>>, OutputError> {
    let found = read_jobs(dir, spec)?;
    if found.len() < spec.jobs {
        return Ok(None);
    }
    let results: Vec<JobResult> = found.into_values().map(|(_, r)| r).collect();
    // run.json goes last: a folder with it is finished.
    for (name, bytes) in sweep::assemble(spec, &results) {
        write_atomic(&dir.join(name), &bytes)?;
    }
    Ok(Some(results))
}

/// Joins the folders `dirs` of one sweep's shards into the folder `out`, as the
/// sweep run in one go would have written it, all at once. Fails, writing
/// nothing, if the folders describe different sweeps, give one job different
/// results, or lack jobs between them.
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool) -> Result<(SweepSpec, Vec<JobResult>), OutputError> {
    super::check_destination(out, force)?;
    let Some(first) = dirs.first() else {
        return Err(OutputError::Merge("no sweep folders to merge".into()));
    };
    let spec = SweepSpec::read(first)?;
    let mut found: BTreeMap<Job, (Vec<u8>, JobResult, &Path)> = BTreeMap::new();
    for dir in dirs {
        let theirs = SweepSpec::read(dir)?;
        if let Some((field, a, b)) = spec.difference(&theirs) {
            return Err(OutputError::Merge(format!(
                "{} and {} hold different sweeps: {field} is {a} in the first and {b} in the second; \
                 merge only the shards of one sweep",
                first.display(),
                dir.display()
            )));
        }
        for (job, (bytes, result)) in read_jobs(dir, &spec)? {
            match found.get(&job) {
                Some((kept, _, from)) if *kept != bytes => {
                    return Err(OutputError::Merge(format!(
                        "{} has different results in {} and {}: they were not run by the same lbsim on \
                         the same sweep; rerun one of them",
                        job.describe(),
                        from.display(),
                        dir.display()
                    )));
                }
                Some(_) => {}
                None => {
                    found.insert(job, (bytes, result, dir));
                }
            }
        }
    }
    let missing: Vec<String> = spec
        .job_list()
        .iter()
        .filter(|j| !found.contains_key(j))
        .map(Job::describe)
        .collect();
    if !missing.is_empty() {
        let more = match missing.len().saturating_sub(LISTED) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        return Err(OutputError::Merge(format!(
            "jobs missing: {}{more} ({} of {} jobs found; run the shards that hold them, or finish one \
             folder with `lbsim run SCENARIO --resume --out DIR` and the sweep's flags)",
            missing[..missing.len().min(LISTED)].join(", "),
            found.len(),
            spec.jobs
        )));
    }
    let mut files = vec![(SWEEP_JSON.to_string(), spec.render())];
    let mut results = Vec::with_capacity(found.len());
    for (job, (bytes, result, _)) in found {
        files.push((format!("{JOBS}/{}.json", job.name()), bytes));
        results.push(result);
    }
    files.extend(sweep::assemble(&spec, &results));
    write_folder(out, force, files)?;
    Ok((spec, results))
}

/// The job results in `dir`'s jobs/ (file bytes and contents), each checked
/// against `spec`; a temporary file of a job being written is not one yet.
fn read_jobs(dir: &Path, spec: &SweepSpec) -> Result<BTreeMap<Job, (Vec<u8>, JobResult)>, OutputError> {
    let folder = dir.join(JOBS);
    let entries = match fs::read_dir(&folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(OutputError::Io(folder, e)),
    };
    let known: BTreeSet<Job> = spec.job_list().into_iter().collect();
    let width = sweep::header(&spec.sweep_keys).len();
    let mut found = BTreeMap::new();
    for entry in entries {
        let path = entry.map_err(|e| OutputError::Io(folder.clone(), e))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        let job = name
            .strip_suffix(".json")
            .and_then(Job::from_name)
            .filter(|j| known.contains(j))
            .ok_or_else(|| {
                OutputError::Malformed(
                    path.clone(),
                    format!(
                        "not a job of this sweep (its {} jobs are named like p0001-r0000.json for point 1, \
                         replication 0)",
                        spec.jobs
                    ),
                )
            })?;
        let bytes = fs::read(&path).map_err(|e| OutputError::Io(path.clone(), e))?;
        let result: JobResult = serde_json::from_slice(&bytes)
            .map_err(|e| OutputError::Malformed(path.clone(), format!("not a job result lbsim wrote: {e}")))?;
        if result.job() != Some(job) || result.rows.is_empty() || result.rows.iter().any(|r| r.len() != width) {
            return Err(OutputError::Malformed(
                path,
                format!("not the result of {} with the columns of this sweep", job.describe()),
            ));
        }
        found.insert(job, (bytes, result));
    }
    Ok(found)
}
