//! comparisons.csv and the lines under the terminal table: every policy against
//! the baseline (the scenario's first, or `--baseline`), replication by replication.
//!
//! Because all policies of a replication route the same requests, the honest
//! question is not "is B's mean inside A's interval" but "how much does B change
//! each replication's result": the mean of the per-replication differences
//! B − A and its paired-t interval. The same difference relative to A's mean
//! reads as "B loses 40% ± 3% fewer sessions than A". An `unpaired` half-width
//! beside it shows what treating the samples as independent would have given, and
//! the correlation of A and B says why the two differ: pairing narrows the
//! interval only as far as the two policies vary together.

use ::csv::Writer;

use super::csv::{SUMMARY, summary_values};
use super::num;
use crate::experiment::RunResult;
use crate::metrics::stats::Paired;
use crate::scenario::Scenario;

/// The headline metrics compared, as named in summary.csv.
pub const METRICS: [&str; 5] = [
    "sessions_lost_pct",
    "losses_per_1k_requests",
    "users_affected_pct",
    "requests_max_mean",
    "latency_p99_ms",
];

const HEADER: [&str; 15] = [
    "scenario",
    "baseline",
    "policy",
    "replications",
    "seed",
    "metric",
    "n",
    "baseline_mean",
    "policy_mean",
    "diff_mean",
    "diff_ci95_half_width",
    "unpaired_ci95_half_width",
    "correlation",
    "rel_diff_pct",
    "rel_diff_ci95_half_width_pct",
];

/// Every policy but the baseline (lane `baseline`) against it, for the summary
/// metric `metric`: (policy label, comparison).
pub fn against_baseline(result: &RunResult, baseline: usize, metric: &str) -> Vec<(String, Paired)> {
    let m = SUMMARY.iter().position(|&s| s == metric).expect("a summary metric");
    let Some(first) = result.replications.first() else {
        return Vec::new();
    };
    let sample = |i: usize| -> Vec<f64> {
        result
            .replications
            .iter()
            .map(|r| summary_values(&r.lanes[i])[m])
            .collect()
    };
    let base = sample(baseline);
    (0..first.lanes.len())
        .filter(|&i| i != baseline)
        .map(|i| (first.lanes[i].label.clone(), Paired::of(&base, &sample(i))))
        .collect()
}

/// comparisons.csv: a row per other policy and headline metric (none with a
/// single policy). Intervals are empty with one replication.
pub fn render(sc: &Scenario, result: &RunResult) -> Vec<u8> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record(HEADER).expect("in-memory write");
    let baseline = sc.policies.get(sc.baseline).map_or(String::new(), |p| p.text.clone());
    let per_metric: Vec<Vec<(String, Paired)>> = METRICS
        .iter()
        .map(|m| against_baseline(result, sc.baseline, m))
        .collect();
    let others = per_metric.first().map_or(0, Vec::len);
    for k in 0..others {
        for (metric, rows) in METRICS.iter().zip(&per_metric) {
            let (label, p) = &rows[k];
            w.write_record([
                sc.name.clone(),
                baseline.clone(),
                label.clone(),
                result.replications.len().to_string(),
                sc.seed.to_string(),
                metric.to_string(),
                p.diff.n.to_string(),
                num(p.baseline_mean),
                num(p.other_mean),
                num(p.diff.mean),
                num(p.diff.half_width),
                num(p.unpaired_half_width),
                num(p.correlation),
                num(p.relative_pct),
                num(p.relative_half_width_pct),
            ])
            .expect("in-memory write");
        }
    }
    w.into_inner().expect("in-memory flush")
}

/// The relative session-loss comparison for the terminal, with two or more
/// replications and policies; empty otherwise.
pub fn text(sc: &Scenario, result: &RunResult) -> String {
    let reps = result.replications.len();
    let rows = against_baseline(result, sc.baseline, "sessions_lost_pct");
    if reps < 2 || rows.is_empty() {
        return String::new();
    }
    let baseline = &result.replications[0].lanes[sc.baseline].label;
    let mut out = format!("sessions lost against {baseline}, paired over {reps} replications (95% CI):\n");
    let width = rows.iter().map(|(l, _)| l.chars().count()).max().unwrap_or(0);
    let mut unpaired_narrower = Vec::new();
    for (label, p) in &rows {
        let verdict = if !p.relative_pct.is_finite() {
            format!(
                "{} ± {} points (the baseline lost none)",
                signed(p.diff.mean),
                fixed(p.diff.half_width)
            )
        } else {
            let direction = if p.relative_pct < 0.0 { "fewer" } else { "more" };
            let significant = p.relative_pct.abs() > p.relative_half_width_pct;
            format!(
                "loses {}% ± {}% {direction} sessions{}",
                fixed(p.relative_pct.abs()),
                fixed(p.relative_half_width_pct),
                if significant { "" } else { " (not significant)" }
            )
        };
        out.push_str(&format!("  {label:<width$}  {verdict}\n"));
        if p.diff.half_width > p.unpaired_half_width {
            unpaired_narrower.push(format!("{label} (r = {:.2})", p.correlation));
        }
    }
    if !unpaired_narrower.is_empty() {
        out.push_str(&format!(
            "  pairing does not narrow these over {reps} replications, as they vary too little with \
             the baseline: {}; compare policies that lose for the same reasons (--baseline POLICY)\n",
            unpaired_narrower.join(", ")
        ));
    }
    out
}

fn fixed(x: f64) -> String {
    if x.is_finite() { format!("{x:.1}") } else { "-".into() }
}

fn signed(x: f64) -> String {
    if x.is_finite() { format!("{x:+.2}") } else { "-".into() }
}
