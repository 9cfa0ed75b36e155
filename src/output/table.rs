//! The terminal comparison table: one line per policy, the numbers people compare
//! first. With several replications each cell shows mean ± 95% half-width.

use super::ratio;
use crate::experiment::RunResult;
use crate::metrics::LossCause;
use crate::metrics::stats::Estimate;

/// A column: header, and the value it shows for one lane of one replication.
struct Column {
    header: &'static str,
    value: fn(&crate::experiment::LaneOutcome) -> f64,
    decimals: usize,
}

const COLUMNS: &[Column] = &[
    Column {
        header: "sessions lost %",
        value: |l| ratio(l.report.totals.visits_lost, l.report.totals.visits, 100.0),
        decimals: 2,
    },
    Column {
        header: "losses/1k req",
        value: |l| ratio(l.report.totals.losses, l.report.totals.requests, 1000.0),
        decimals: 2,
    },
    Column {
        header: "users hit %",
        value: |l| ratio(l.report.totals.users_lost, l.report.totals.users, 100.0),
        decimals: 2,
    },
    Column {
        header: "req max/mean",
        value: |l| l.report.requests_spread.max_over_mean,
        decimals: 3,
    },
    Column {
        header: "Jain",
        value: |l| l.report.requests_spread.jain,
        decimals: 3,
    },
    Column {
        header: "p99 ms run",
        value: |l| l.report.latency.p99 * 1e3,
        decimals: 1,
    },
    // The window with the highest p99: a daily peak that the run's p99 averages away.
    Column {
        header: "p99 ms worst window",
        value: |l| {
            l.report
                .windows
                .iter()
                .map(|w| w.p99 * 1e3)
                .filter(|x| x.is_finite())
                .fold(f64::NAN, f64::max)
        },
        decimals: 1,
    },
    Column {
        header: "not served",
        value: |l| l.report.totals.not_served() as f64,
        decimals: 0,
    },
];

/// The cause behind most of lane `i`'s losses, over all replications.
fn top_cause(result: &RunResult, i: usize) -> String {
    let mut counts = [0u64; LossCause::ALL.len()];
    for r in &result.replications {
        for (c, n) in counts.iter_mut().zip(&r.lanes[i].report.by_cause) {
            *c += n;
        }
    }
    let (k, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|&(k, n)| (*n, std::cmp::Reverse(k)))
        .expect("causes");
    if *n == 0 {
        return "-".into();
    }
    let c = LossCause::ALL[k];
    match c.detail() {
        "" => c.name().to_string(),
        d => format!("{} ({d})", c.name()),
    }
}

pub fn render(result: &RunResult) -> String {
    let Some(first) = result.replications.first() else {
        return String::new();
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["policy".to_string()];
    header.extend(COLUMNS.iter().map(|c| c.header.to_string()));
    header.push("top loss cause".into());
    rows.push(header);
    for (i, lane) in first.lanes.iter().enumerate() {
        let mut row = vec![lane.label.clone()];
        for c in COLUMNS {
            let xs: Vec<f64> = result.replications.iter().map(|r| (c.value)(&r.lanes[i])).collect();
            row.push(Estimate::of(&xs).show(c.decimals));
        }
        row.push(top_cause(result, i));
        rows.push(row);
    }
    // Numbers align right; the policy and the cause, left.
    let mut out = columns(&rows, |j, n| j != 0 && j != n - 1, true);
    if first.autoscale.is_some() {
        out += &autoscaled(result);
    }
    out
}

/// The autoscaler's line under the table: the server count's range and the
/// server-hours spent, the same for every policy.
fn autoscaled(result: &RunResult) -> String {
    let scaled: Vec<_> = result
        .replications
        .iter()
        .filter_map(|r| r.autoscale.as_ref())
        .collect();
    let counts = scaled.iter().flat_map(|a| a.samples.iter().map(|s| s.serving));
    let (lo, hi) = counts.fold((u32::MAX, 0), |(lo, hi), n| (lo.min(n), hi.max(n)));
    let hours: Vec<f64> = scaled.iter().map(|a| a.server_hours).collect();
    format!(
        "\nautoscaling: {}-{} servers serving, {} server-hours\n",
        lo.min(hi),
        hi,
        Estimate::of(&hours).show(1)
    )
}

/// Lays `rows` (the first a header) out in columns two spaces apart, each as wide
/// as its widest cell; `right(j, n)` says whether column `j` of `n` aligns right,
/// and `rule` draws dashes under the header.
pub fn columns(rows: &[Vec<String>], right: impl Fn(usize, usize) -> bool, rule: bool) -> String {
    let Some(first) = rows.first() else {
        return String::new();
    };
    let widths: Vec<usize> = (0..first.len())
        .map(|j| rows.iter().map(|r| r[j].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (k, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, cell)| {
                let pad = " ".repeat(widths[j] - cell.chars().count());
                if right(j, row.len()) {
                    format!("{pad}{cell}")
                } else {
                    format!("{cell}{pad}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if k == 0 && rule {
            out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
            out.push('\n');
        }
    }
    out
}
