//! summary_stats.csv: what the replications of a run say together.
//!
//! Replications are independent runs of the same system, so each summary metric
//! is a sample of size N. For every policy and metric this file gives the sample
//! mean, its standard deviation and the half-width of the 95% confidence interval
//! of the mean (Student t with N − 1 degrees of freedom): the true mean lies in
//! `mean ± ci95_half_width` with 95% confidence. summary.csv keeps the
//! per-replication rows these come from.
//!
//! The file is long rather than wide, one row per policy and metric, so a new
//! metric is a new row and any tool can pivot it.

use ::csv::Writer;

use super::csv::{SUMMARY, summary_values};
use super::num;
use crate::experiment::RunResult;
use crate::metrics::stats::Estimate;
use crate::scenario::Scenario;

pub const HEADER: [&str; 9] = [
    "scenario",
    "policy",
    "replications",
    "seed",
    "metric",
    "n",
    "mean",
    "sd",
    "ci95_half_width",
];

/// Each policy's summary metrics over the replications: `[policy][replication][metric]`.
pub fn samples(result: &RunResult) -> Vec<Vec<Vec<f64>>> {
    let Some(first) = result.replications.first() else {
        return Vec::new();
    };
    (0..first.lanes.len())
        .map(|i| {
            result
                .replications
                .iter()
                .map(|r| summary_values(&r.lanes[i]))
                .collect()
        })
        .collect()
}

/// summary_stats.csv. `n` counts the replications where the metric had a value
/// (a latency without queueing, or a share of nothing, has none); sd and the
/// half-width are empty below two.
pub fn render(sc: &Scenario, result: &RunResult) -> Vec<u8> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record(HEADER).expect("in-memory write");
    let Some(first) = result.replications.first() else {
        return w.into_inner().expect("in-memory flush");
    };
    for (lane, reps) in first.lanes.iter().zip(samples(result)) {
        for (m, metric) in SUMMARY.iter().enumerate().take(reps[0].len()) {
            let xs: Vec<f64> = reps.iter().map(|v| v[m]).collect();
            let e = Estimate::of(&xs);
            w.write_record([
                sc.name.clone(),
                lane.label.clone(),
                result.replications.len().to_string(),
                sc.seed.to_string(),
                metric.to_string(),
                e.n.to_string(),
                num(e.mean),
                num(e.sd),
                num(e.half_width),
            ])
            .expect("in-memory write");
        }
    }
    w.into_inner().expect("in-memory flush")
}
