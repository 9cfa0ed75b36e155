//! The report of a sweep folder, read from its sweep.csv (columns found by
//! name) and run.json (read by key): each summary metric against each varied
//! key, a line per policy with its 95% confidence band across replications; a
//! table of every point; and a sentence per policy saying how it fares across
//! the sweep.
//!
//! A grid over several keys would put a line per policy per value of the other
//! keys on one chart, which nobody can read. So each key gets its own charts,
//! taken along the slice where every other key keeps its first value (the
//! chart's title says which); the table holds every point.

use std::collections::HashMap;
use std::path::Path;

use super::against::{self, Against, Line, Point, XAxis};
use super::canvas::Chart;
use super::data::{Table, number};
use super::html::{self, escape};
use super::measure::{Measure, SWEPT};
use super::{ReportError, palette};
use crate::metrics::stats::Estimate;
use crate::scenario::units;

/// A sweep folder, read back.
pub struct SweepData {
    pub meta: serde_json::Value,
    /// The varied keys, in grid order.
    pub keys: Vec<String>,
    /// Policies in the sweep's order, which fixes each one's colour.
    pub policies: Vec<String>,
    /// Each point's value of each key, in point order.
    pub points: Vec<Vec<String>>,
    pub replications: usize,
    /// `[measure][point][policy]`: one value per replication.
    values: Vec<Vec<Vec<Vec<f64>>>>,
}

impl SweepData {
    /// Reads sweep.csv and run.json of `dir`.
    pub fn read(dir: &Path) -> Result<SweepData, ReportError> {
        let meta = super::data::json(dir, "run.json")?;
        let t = Table::read(dir, "sweep.csv")?;
        let malformed = |why: String| ReportError::Malformed(t.path.clone(), why);
        let (c_policy, c_rep, c_point) = (t.col("policy")?, t.col("replication")?, t.col("point")?);
        // The varied keys sit between `point` and the first summary metric.
        let first_metric = t.col(crate::output::csv::SUMMARY[0])?;
        let keys: Vec<String> = t
            .header
            .iter()
            .skip(c_point + 1)
            .take(first_metric.saturating_sub(c_point + 1))
            .map(str::to_string)
            .collect();
        if keys.is_empty() {
            return Err(malformed(
                "no varied key between `point` and the summary metrics".into(),
            ));
        }
        let cols: Vec<usize> = SWEPT.iter().map(|m| t.col(m.column)).collect::<Result<_, _>>()?;
        let mut policies: Vec<String> = Vec::new();
        let mut reps: Vec<String> = Vec::new();
        // Point numbers as written (from 1), and their values.
        let mut numbered: Vec<(usize, Vec<String>)> = Vec::new();
        for row in &t.rows {
            if !policies.iter().any(|p| p == &row[c_policy]) {
                policies.push(row[c_policy].to_string());
            }
            if !reps.iter().any(|r| r == &row[c_rep]) {
                reps.push(row[c_rep].to_string());
            }
            let k: usize = row[c_point]
                .parse()
                .map_err(|_| malformed(format!("point `{}` is not a whole number", &row[c_point])))?;
            if !numbered.iter().any(|(n, _)| *n == k) {
                let values = (c_point + 1..first_metric).map(|c| row[c].to_string()).collect();
                numbered.push((k, values));
            }
        }
        if policies.is_empty() {
            return Err(malformed("no rows".into()));
        }
        // Rows may come in any order (merged shards): points are put in their number's order.
        numbered.sort_by_key(|(k, _)| *k);
        let position: HashMap<usize, usize> = numbered.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect();
        let mut values = vec![vec![vec![Vec::new(); policies.len()]; numbered.len()]; SWEPT.len()];
        for row in &t.rows {
            let point = position[&row[c_point].parse::<usize>().expect("checked above")];
            let p = policies
                .iter()
                .position(|p| p == &row[c_policy])
                .expect("collected above");
            for (m, &c) in cols.iter().enumerate() {
                values[m][point][p].push(number(row, c));
            }
        }
        Ok(SweepData {
            meta,
            keys,
            policies,
            points: numbered.into_iter().map(|(_, v)| v).collect(),
            replications: reps.len(),
            values,
        })
    }

    pub fn scenario(&self) -> &str {
        self.meta.get("scenario").and_then(|v| v.as_str()).unwrap_or("sweep")
    }

    /// The estimate of measure `m` at `point` for `policy`, in the measure's shown scale.
    fn estimate(&self, m: usize, point: usize, policy: usize) -> Estimate {
        let scale = SWEPT[m].scale;
        let xs: Vec<f64> = self.values[m][point][policy].iter().map(|x| x * scale).collect();
        Estimate::of(&xs)
    }

    /// Whether measure `m` has any value (latency and utilisation need waiting lines).
    fn measured(&self, m: usize) -> bool {
        self.values[m].iter().flatten().flatten().any(|x| x.is_finite())
    }

    /// The points along key `k` with every other key at its first value, in
    /// the order the key's values were given.
    fn slice(&self, k: usize) -> Vec<usize> {
        let first = &self.points[0];
        (0..self.points.len())
            .filter(|&i| (0..self.keys.len()).all(|j| j == k || self.points[i][j] == first[j]))
            .collect()
    }
}

/// Values of a key as positions on an axis, with the axis's unit: numbers,
/// durations (in s, min or h), percentages and rates (per s or per h); `None`
/// when the values are not all of one such kind.
fn positions(values: &[String]) -> Option<(Vec<f64>, String)> {
    let all = |f: &dyn Fn(&str) -> Option<f64>| values.iter().map(|v| f(v)).collect::<Option<Vec<f64>>>();
    if let Some(xs) = all(&|v| v.parse::<f64>().ok().filter(|x| x.is_finite())) {
        return Some((xs, String::new()));
    }
    if let Some(xs) = all(&|v| v.strip_suffix('%').and_then(|n| n.trim().parse().ok())) {
        return Some((xs, "%".into()));
    }
    if let Some(secs) = all(&|v| units::parse_duration(v).ok().map(|t| t as f64 / 1e9)) {
        let least = secs.iter().copied().fold(f64::INFINITY, f64::min);
        let (div, unit) = if least >= 3600.0 {
            (3600.0, "h")
        } else if least >= 60.0 {
            (60.0, "min")
        } else {
            (1.0, "s")
        };
        return Some((secs.iter().map(|s| s / div).collect(), unit.into()));
    }
    if let Some(per_s) = all(&|v| v.contains('/').then(|| units::parse_rate(v).ok()).flatten()) {
        let (mul, unit) = if per_s.iter().all(|r| *r < 1.0) {
            (3600.0, "per h")
        } else {
            (1.0, "per s")
        };
        return Some((per_s.iter().map(|r| r * mul).collect(), unit.into()));
    }
    None
}

/// A chart of measure `m` against key `k`.
fn chart(d: &SweepData, m: usize, k: usize) -> Against {
    let measure: &Measure = SWEPT[m];
    let key = &d.keys[k];
    let slice = d.slice(k);
    let shown: Vec<String> = slice.iter().map(|&i| d.points[i][k].clone()).collect();
    let (xs, x_axis, x_desc) = match positions(&shown) {
        Some((xs, unit)) => {
            let whole = xs.iter().all(|x| x.fract() == 0.0);
            let desc = if unit.is_empty() {
                key.clone()
            } else {
                format!("{key} ({unit})")
            };
            (xs, XAxis::Numbers { whole }, desc)
        }
        None => (
            (0..shown.len()).map(|i| i as f64).collect(),
            XAxis::Labels(shown),
            key.clone(),
        ),
    };
    let lines = d
        .policies
        .iter()
        .enumerate()
        .map(|(p, label)| {
            let mut points: Vec<Point> = slice
                .iter()
                .zip(&xs)
                .map(|(&i, &x)| {
                    let e = d.estimate(m, i, p);
                    Point {
                        x,
                        mean: e.mean,
                        half_width: e.half_width,
                    }
                })
                .collect();
            points.sort_by(|a, b| a.x.total_cmp(&b.x));
            Line {
                label: label.clone(),
                colour: palette::policy(p),
                points,
            }
        })
        .collect();
    let others: Vec<String> = (0..d.keys.len())
        .filter(|&j| j != k)
        .map(|j| format!("{} = {}", d.keys[j], d.points[0][j]))
        .collect();
    let mut title = format!("{} against {key}", measure.title);
    if !others.is_empty() {
        title.push_str(&format!(" (at {})", others.join(", ")));
    }
    if d.replications > 1 {
        title.push_str(&format!(", 95% CI over {} replications", d.replications));
    }
    Against {
        name: format!(
            "{}_vs_{}",
            measure.column,
            key.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ),
        title,
        x_desc,
        y_desc: measure.axis.to_string(),
        x_axis,
        y_floor: measure.floor,
        y_ceiling: measure.ceiling,
        lines,
        objective: None,
    }
}

/// Every chart: each measured metric against each key.
pub fn charts(d: &SweepData) -> Result<Vec<Chart>, String> {
    let mut out = Vec::new();
    for k in 0..d.keys.len() {
        for m in (0..SWEPT.len()).filter(|&m| d.measured(m)) {
            out.push(against::render(&chart(d, m, k))?);
        }
    }
    Ok(out)
}

/// A policy's fortunes across the sweep, in words: the range of its losses
/// and where they are fewest, then the ranges of its other metrics.
pub fn sentence(d: &SweepData, p: usize) -> String {
    let range = |m: usize| -> Option<(f64, f64, usize)> {
        let means: Vec<(usize, f64)> = (0..d.points.len())
            .map(|i| (i, d.estimate(m, i, p).mean))
            .filter(|(_, x)| x.is_finite())
            .collect();
        let lo = means.iter().min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)))?;
        let hi = means.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
        Some((lo.1, hi, lo.0))
    };
    let span = |lo: f64, hi: f64, m: &Measure| {
        let dec = m.decimals;
        if format!("{lo:.dec$}") == format!("{hi:.dec$}") {
            format!("{lo:.dec$}{}", m.unit)
        } else {
            format!("{lo:.dec$}–{hi:.dec$}{}", m.unit)
        }
    };
    let over = if d.keys.len() == 1 {
        let first = &d.points[0][0];
        let last = &d.points[d.points.len() - 1][0];
        format!("across {} {first}–{last}", d.keys[0])
    } else {
        format!("across the {} points", d.points.len())
    };
    let at = |i: usize| -> String {
        if d.keys.len() == 1 {
            d.points[i][0].clone()
        } else {
            let pairs: Vec<String> = d
                .keys
                .iter()
                .zip(&d.points[i])
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            pairs.join(", ")
        }
    };
    let mut parts = Vec::new();
    match range(0) {
        Some((_, 0.0, _)) => parts.push(format!("loses no sessions {over}")),
        Some((lo, hi, best)) => parts.push(format!(
            "loses {} of sessions {over}; fewest losses at {}",
            span(lo, hi, SWEPT[0]),
            at(best)
        )),
        None => {}
    }
    for (m, words) in [
        (1, "busiest server at"),
        (2, "p99 latency over the run"),
        (3, "busiest server utilised, averaged over the run,"),
    ] {
        if let Some((lo, hi, _)) = range(m) {
            let tail = if m == 1 { " its fair share" } else { "" };
            parts.push(format!("{words} {}{tail}", span(lo, hi, SWEPT[m])));
        }
    }
    if parts.is_empty() {
        return "served no requests".into();
    }
    parts.join("; ") + "."
}

/// The whole page.
pub fn page(d: &SweepData, charts: &[Chart]) -> String {
    let mut out = html::open(&format!("lbsim sweep report: {}", d.scenario()));
    out.push_str("<h2>Parameters</h2>\n");
    out.push_str(&html::parameters(&d.meta));
    out.push_str("<h2>Verdicts</h2>\n<ul>\n");
    for (p, policy) in d.policies.iter().enumerate() {
        out.push_str(&format!(
            "<li><b>{}</b> {}</li>\n",
            escape(policy),
            escape(&sentence(d, p))
        ));
    }
    out.push_str("</ul>\n<h2>Every point</h2>\n");
    if d.replications > 1 {
        out.push_str(&format!(
            "<p>Each cell is the mean over {} replications ± the 95% confidence half-width.</p>\n",
            d.replications
        ));
    }
    let measured: Vec<usize> = (0..SWEPT.len()).filter(|&m| d.measured(m)).collect();
    out.push_str("<table>\n<tr><th>point</th>");
    for k in &d.keys {
        out.push_str(&format!("<th>{}</th>", escape(k)));
    }
    out.push_str("<th></th><th>policy</th>");
    for &m in &measured {
        out.push_str(&format!("<th>{}</th>", escape(SWEPT[m].axis)));
    }
    out.push_str("</tr>\n");
    for (i, values) in d.points.iter().enumerate() {
        for (p, policy) in d.policies.iter().enumerate() {
            out.push_str(&format!("<tr><td>{}</td>", i + 1));
            for v in values {
                out.push_str(&format!("<td>{}</td>", escape(v)));
            }
            out.push_str(&format!("{}<td>{}</td>", html::swatch(p), escape(policy)));
            for &m in &measured {
                out.push_str(&format!(
                    "<td>{}</td>",
                    escape(&d.estimate(m, i, p).show(SWEPT[m].decimals))
                ));
            }
            out.push_str("</tr>\n");
        }
    }
    out.push_str("</table>\n<h2>Charts</h2>\n");
    out.push_str(&html::figures(charts));
    out.push_str(html::CLOSE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn values_become_positions_in_their_unit() {
        assert_eq!(
            positions(&strings(&["4", "8", "16"])),
            Some((vec![4.0, 8.0, 16.0], String::new()))
        );
        assert_eq!(
            positions(&strings(&["5m", "30m", "2h"])),
            Some((vec![5.0, 30.0, 120.0], "min".into()))
        );
        assert_eq!(
            positions(&strings(&["1/h", "6/h"])),
            Some((vec![1.0, 6.0], "per h".into()))
        );
        assert_eq!(
            positions(&strings(&["10%", "25%"])),
            Some((vec![10.0, 25.0], "%".into()))
        );
        assert_eq!(positions(&strings(&["ip_hash", "4"])), None);
    }
}
