//! sweep.json: what a sweep is — its scenario file and hash, the flags that
//! change its results, its grid and job count — and nothing about where or how
//! it runs, so every shard of a sweep writes the same one. Both the sweep's
//! results (sweep.csv, run.json) and its folder (jobs, resume, merge) are built
//! on it.

use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::OutputError;
use crate::experiment::jobs::{self, Job};
use crate::scenario::sweep::Sweep;

/// The file that describes a sweep, and marks its folder as one.
pub const SWEEP_JSON: &str = "sweep.json";

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
    pub(super) fn difference(&self, other: &SweepSpec) -> Option<(String, String, String)> {
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
