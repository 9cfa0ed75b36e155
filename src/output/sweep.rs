//! The output of a sweep: sweep.csv, one row per point, policy and replication,
//! with each varied key as a column before the summary metrics of summary.csv;
//! and a run.json describing the sweep. The per-point files of an ordinary run
//! are not written: sweep.csv holds every point's summary, and a point worth a
//! closer look is one `lbsim run` away.

use ::csv::Writer;
use serde_json::json;

use super::csv::{SUMMARY, summary_values};
use super::{num, ratio};
use crate::experiment::RunResult;
use crate::metrics::stats::Estimate;
use crate::scenario::sweep::Sweep;

/// sweep.csv.
pub fn render(sweep: &Sweep, results: &[RunResult]) -> Vec<u8> {
    let mut w = Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = vec!["scenario", "policy", "replication", "seed", "point"];
    header.extend(sweep.keys.iter().map(String::as_str));
    header.extend(SUMMARY);
    w.write_record(&header).expect("in-memory write");
    for (k, (point, result)) in sweep.points.iter().zip(results).enumerate() {
        let sc = &point.scenario;
        for rep in &result.replications {
            for lane in &rep.lanes {
                let mut row = vec![
                    sc.name.clone(),
                    lane.label.clone(),
                    rep.index.to_string(),
                    sc.seed.to_string(),
                    (k + 1).to_string(),
                ];
                row.extend(point.values.iter().cloned());
                row.extend(summary_values(lane).into_iter().map(num));
                row.push(format!("{:016x}", lane.report.stream_checksum));
                w.write_record(&row).expect("in-memory write");
            }
        }
    }
    w.into_inner().expect("in-memory flush")
}

/// run.json of a sweep: what was varied, over how many points, and how fast.
pub fn run_json(sweep: &Sweep, results: &[RunResult], wall_secs: f64) -> String {
    let first = &sweep.points[0].scenario;
    let events: u64 = results.iter().map(RunResult::events).sum();
    let value = json!({
        "lbsim_version": env!("CARGO_PKG_VERSION"),
        "scenario": first.name,
        "scenario_file": first.path.display().to_string(),
        "scenario_xxh3": first.source_hash,
        "sweep_keys": sweep.keys,
        "points": sweep.points.len(),
        "threads": rayon::current_num_threads(),
        "wall_time_s": wall_secs,
        "events": events,
        "events_per_s": if wall_secs > 0.0 { events as f64 / wall_secs } else { 0.0 },
    });
    serde_json::to_string_pretty(&value).expect("JSON of plain values") + "\n"
}

/// The terminal view: sessions lost % per point and policy (mean ± 95% half-width
/// over replications).
pub fn text(sweep: &Sweep, results: &[RunResult]) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["point".to_string()];
    header.extend(sweep.keys.iter().cloned());
    header.extend(["policy".into(), "sessions lost %".into()]);
    rows.push(header);
    for (k, (point, result)) in sweep.points.iter().zip(results).enumerate() {
        let Some(first) = result.replications.first() else {
            continue;
        };
        for (i, lane) in first.lanes.iter().enumerate() {
            let xs: Vec<f64> = result
                .replications
                .iter()
                .map(|r| {
                    ratio(
                        r.lanes[i].report.totals.visits_lost,
                        r.lanes[i].report.totals.visits,
                        100.0,
                    )
                })
                .collect();
            let e = Estimate::of(&xs);
            let mut row = vec![(k + 1).to_string()];
            row.extend(point.values.iter().cloned());
            row.push(lane.label.clone());
            row.push(match (e.mean.is_finite(), e.half_width.is_finite()) {
                (false, _) => "-".into(),
                (true, false) => format!("{:.2}", e.mean),
                (true, true) => format!("{:.2} ± {:.2}", e.mean, e.half_width),
            });
            rows.push(row);
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|j| rows.iter().map(|r| r[j].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
