//! The results of a sweep: each job's rows (one per policy of one point's
//! replication), and from all of them, in job order, sweep.csv — one row per
//! point, policy and replication, with each varied key as a column before the
//! summary metrics of summary.csv — and run.json. The per-point files of an
//! ordinary run are not written: sweep.csv holds every point's summary, and a
//! point worth a closer look is one `lbsim run` away.
//!
//! sweep.csv and run.json are made only from job results as their files hold
//! them, by [`assemble`], whether the jobs ran just now, in an earlier
//! interrupted run, or on other machines: so a resumed or merged sweep is byte
//! for byte the sweep run in one go. run.json therefore holds only what the
//! results determine; wall time and speed go to the terminal.

use ::csv::Writer;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::csv::{SUMMARY, summary_values};
use super::num;
use super::sweep_spec::SweepSpec;
use crate::experiment::Replication;
use crate::experiment::jobs::Job;
use crate::metrics::stats::Estimate;
use crate::scenario::sweep::Point;

/// Columns before the varied keys.
const LEADING: [&str; 5] = ["scenario", "policy", "replication", "seed", "point"];

/// What one job leaves behind: its sweep.csv rows and its event count.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobResult {
    /// The point, counting from 1 as sweep.csv does.
    pub point: usize,
    pub replication: u32,
    /// Events processed, for run.json's total.
    pub events: u64,
    /// The job's sweep.csv rows, one per policy.
    pub rows: Vec<Vec<String>>,
}

impl JobResult {
    /// The result of `job`, which ran `point`'s scenario as `replication`.
    pub fn of(job: &Job, point: &Point, replication: &Replication) -> JobResult {
        let sc = &point.scenario;
        let rows = replication
            .lanes
            .iter()
            .map(|lane| {
                let mut row = vec![
                    sc.name.clone(),
                    lane.label.clone(),
                    replication.index.to_string(),
                    sc.seed.to_string(),
                    (job.point + 1).to_string(),
                ];
                row.extend(point.values.iter().cloned());
                row.extend(summary_values(lane).into_iter().map(num));
                row.push(format!("{:016x}", lane.report.stream_checksum));
                row
            })
            .collect();
        JobResult {
            point: job.point + 1,
            replication: replication.index,
            events: replication.events(),
            rows,
        }
    }

    /// The job this is the result of.
    pub fn job(&self) -> Option<Job> {
        Some(Job {
            point: self.point.checked_sub(1)?,
            replication: self.replication,
        })
    }

    /// The job's file, one line of JSON.
    pub fn render(&self) -> Vec<u8> {
        let mut text = serde_json::to_string(self).expect("JSON of plain values");
        text.push('\n');
        text.into_bytes()
    }
}

/// sweep.csv's header for a sweep varying `keys`.
pub fn header(keys: &[String]) -> Vec<String> {
    let mut header: Vec<String> = LEADING.iter().map(|c| c.to_string()).collect();
    header.extend(keys.iter().cloned());
    header.extend(SUMMARY.iter().map(|c| c.to_string()));
    header
}

/// sweep.csv and run.json of the sweep `spec` from the results of all its jobs, in job order.
pub fn assemble(spec: &SweepSpec, results: &[JobResult]) -> [(String, Vec<u8>); 2] {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record(header(&spec.sweep_keys)).expect("in-memory write");
    for row in results.iter().flat_map(|r| &r.rows) {
        w.write_record(row).expect("in-memory write");
    }
    let csv = w.into_inner().expect("in-memory flush");
    let replications = spec.grid.first().map(|p| p.replications);
    let value = json!({
        "lbsim_version": spec.lbsim_version,
        "scenario": spec.scenario,
        "scenario_file": spec.scenario_file,
        "scenario_xxh3": spec.scenario_xxh3,
        "sweep_keys": spec.sweep_keys,
        "points": spec.points,
        "jobs": spec.jobs,
        // Per point, unless the sweep varies it; then the job count tells the total.
        "replications": replications.filter(|&n| spec.grid.iter().all(|p| p.replications == n)),
        "events": results.iter().map(|r| r.events).sum::<u64>(),
    });
    let run_json = serde_json::to_string_pretty(&value).expect("JSON of plain values") + "\n";
    [
        ("sweep.csv".to_string(), csv),
        ("run.json".to_string(), run_json.into_bytes()),
    ]
}

/// The terminal view: sessions lost % per point and policy (mean ± 95% half-width
/// over replications), from the results of all jobs in job order.
pub fn text(keys: &[String], results: &[JobResult]) -> String {
    let lost = LEADING.len()
        + keys.len()
        + SUMMARY
            .iter()
            .position(|c| *c == "sessions_lost_pct")
            .expect("a summary column");
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut head = vec!["point".to_string()];
    head.extend(keys.iter().cloned());
    head.extend(["policy".into(), "sessions lost %".into()]);
    rows.push(head);
    for point in results.chunk_by(|a, b| a.point == b.point) {
        // Each policy's row of every replication, in the order of the first.
        let mut policies: Vec<(&[String], Vec<f64>)> = Vec::new();
        for row in point.iter().flat_map(|r| &r.rows) {
            let x = row.get(lost).and_then(|c| c.parse().ok()).unwrap_or(f64::NAN);
            match policies.iter_mut().find(|(r, _)| r[1] == row[1]) {
                Some((_, xs)) => xs.push(x),
                None => policies.push((row, vec![x])),
            }
        }
        for (row, xs) in policies {
            let mut line = vec![row[4].clone()];
            line.extend(row[LEADING.len()..LEADING.len() + keys.len()].iter().cloned());
            line.push(row[1].clone());
            line.push(Estimate::of(&xs).show(2));
            rows.push(line);
        }
    }
    super::table::columns(&rows, |_, _| false, false)
}
