//! The report of a capacity plan, read from the plan folder's plan.csv
//! (columns found by name) and run.json (read by key): each metric against
//! the number of servers with its objective drawn as a dashed line, the answer
//! per policy, every count evaluated, and a sentence per policy.

use std::collections::HashMap;
use std::path::Path;

use super::against::{self, Against, Line, Objective, Point, XAxis};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::bars::policy_bars;
use super::canvas::{Chart, Drawn, FONT, WIDTH, encode, tick};
use super::data::{Table, number};
use super::html::{self, escape};
use super::measure::{self, Measure};
use super::{ReportError, palette};

/// One row of plan.csv.
#[derive(Clone, Copy)]
struct Cell {
    mean: f64,
    half_width: f64,
    objective: f64,
    met: Option<bool>,
}

/// A plan folder, read back.
pub struct PlanData {
    meta: serde_json::Value,
    policies: Vec<String>,
    /// Server counts evaluated, ascending.
    servers: Vec<u32>,
    /// Metric columns, in file order.
    metrics: Vec<&'static Measure>,
    cells: HashMap<(usize, u32, usize), Cell>,
    replications: usize,
    /// With `--autoscale`, plan_windows.csv: per policy, each window's start in
    /// hours and the servers it needs (NaN where the most servers tried did not do).
    windows: Option<Vec<Vec<(f64, f64)>>>,
}

impl PlanData {
    /// Reads plan.csv and run.json of `dir`.
    pub fn read(dir: &Path) -> Result<PlanData, ReportError> {
        let meta = super::data::json(dir, "run.json")?;
        let t = Table::read(dir, "plan.csv")?;
        let malformed = |why: String| ReportError::Malformed(t.path.clone(), why);
        let [c_policy, c_servers, c_reps, c_metric, c_mean, c_half, c_obj, c_met] = [
            "policy",
            "servers",
            "replications",
            "metric",
            "mean",
            "half_width",
            "objective",
            "met",
        ]
        .map(|c| t.col(c));
        let (c_policy, c_servers, c_reps, c_metric) = (c_policy?, c_servers?, c_reps?, c_metric?);
        let (c_mean, c_half, c_obj, c_met) = (c_mean?, c_half?, c_obj?, c_met?);
        let (mut policies, mut servers, mut metrics) = (Vec::<String>::new(), Vec::<u32>::new(), Vec::new());
        let mut cells = HashMap::new();
        let mut replications = 0;
        for row in &t.rows {
            if !policies.iter().any(|p| p == &row[c_policy]) {
                policies.push(row[c_policy].to_string());
            }
            let n: u32 = row[c_servers]
                .parse()
                .map_err(|_| malformed(format!("servers `{}` is not a whole number", &row[c_servers])))?;
            if !servers.contains(&n) {
                servers.push(n);
            }
            let m = measure::by_column(&row[c_metric])
                .ok_or_else(|| malformed(format!("unknown metric `{}`", &row[c_metric])))?;
            if !metrics.iter().any(|x: &&Measure| x.column == m.column) {
                metrics.push(m);
            }
            replications = replications.max(row[c_reps].parse().unwrap_or(0));
            let met = match &row[c_met] {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            };
            let p = policies
                .iter()
                .position(|p| p == &row[c_policy])
                .expect("collected above");
            let k = metrics
                .iter()
                .position(|x| x.column == m.column)
                .expect("collected above");
            let cell = Cell {
                mean: number(row, c_mean),
                half_width: number(row, c_half),
                objective: number(row, c_obj),
                met,
            };
            cells.insert((p, n, k), cell);
        }
        if policies.is_empty() {
            return Err(malformed("no rows".into()));
        }
        servers.sort_unstable();
        let windows = match dir.join("plan_windows.csv").exists() {
            false => None,
            true => Some(windows(dir, &policies)?),
        };
        Ok(PlanData {
            meta,
            policies,
            servers,
            metrics,
            cells,
            replications,
            windows,
        })
    }

    pub fn scenario(&self) -> &str {
        self.meta.get("scenario").and_then(|v| v.as_str()).unwrap_or("plan")
    }

    /// The fewest servers run.json gives for `policy`; `None` when not met.
    fn fewest(&self, policy: &str) -> Option<u32> {
        self.meta
            .get("fewest")?
            .as_array()?
            .iter()
            .find(|f| f.get("policy").and_then(|p| p.as_str()) == Some(policy))?
            .get("servers")?
            .as_u64()
            .map(|n| n as u32)
    }

    fn most_servers(&self) -> u32 {
        self.servers.last().copied().unwrap_or(0)
    }

    /// The objective on metric `k`, in stored units.
    fn objective(&self, k: usize) -> Option<f64> {
        self.cells
            .iter()
            .filter(|((_, _, m), _)| *m == k)
            .map(|(_, c)| c.objective)
            .find(|x| x.is_finite())
    }
}

/// `mean ± half-width` in the measure's shown units.
fn shown(c: Option<&Cell>, m: &Measure) -> String {
    let Some(c) = c else { return "-".into() };
    let (mean, half) = (c.mean * m.scale, c.half_width * m.scale);
    let d = m.decimals;
    match (mean.is_finite(), half.is_finite()) {
        (false, _) => "-".into(),
        (true, false) => format!("{mean:.d$}{}", m.unit),
        (true, true) => format!("{mean:.d$} ± {half:.d$}{}", m.unit),
    }
}

/// plan_windows.csv: per policy (in `policies` order), each window's start in
/// hours and the servers it needs.
fn windows(dir: &Path, policies: &[String]) -> Result<Vec<Vec<(f64, f64)>>, ReportError> {
    let t = Table::read(dir, "plan_windows.csv")?;
    let (c_policy, c_start, c_need) = (t.col("policy")?, t.col("window_start_s")?, t.col("servers_needed")?);
    let mut out = vec![Vec::new(); policies.len()];
    for row in &t.rows {
        let p = policies.iter().position(|p| p == &row[c_policy]).ok_or_else(|| {
            ReportError::Malformed(
                t.path.clone(),
                format!("policy `{}` is not in plan.csv", &row[c_policy]),
            )
        })?;
        out[p].push((number(row, c_start) / 3600.0, number(row, c_need)));
    }
    Ok(out)
}

/// With `--autoscale`: the servers each window needs, per policy, over the run:
/// the shape an autoscaler should follow, between the range's least and most.
fn needed_over_time(d: &PlanData, windows: &[Vec<(f64, f64)>]) -> Result<Chart, String> {
    let lines = d
        .policies
        .iter()
        .zip(windows)
        .enumerate()
        .map(|(p, (label, w))| Line {
            label: label.clone(),
            colour: palette::policy(p),
            points: w
                .iter()
                .map(|&(x, need)| Point {
                    x,
                    mean: need,
                    half_width: f64::NAN,
                })
                .collect(),
        })
        .collect();
    let mut chart = against::render(&Against {
        name: "servers_needed_over_time".into(),
        title: "Fewest servers each window needs on its own, per policy".into(),
        x_desc: "window start (h)".into(),
        y_desc: "servers needed".into(),
        x_axis: XAxis::Numbers { whole: false },
        y_floor: 0.0,
        y_ceiling: f64::INFINITY,
        lines,
        objective: None,
    })?;
    chart.caption = "Each window judged on its own metrics against every objective: the least and most of these \
                     are the autoscaling range, and the area under a line is the server-hours of a pool that \
                     follows the load (plan_windows.csv)."
        .into();
    Ok(chart)
}

/// The answer as a chart: the fewest servers each policy needs to meet every
/// objective at the scenario's load, or how far the search went without.
fn servers_needed(d: &PlanData) -> Result<Chart, String> {
    let needed: Vec<Option<f64>> = d.policies.iter().map(|p| d.fewest(p).map(f64::from)).collect();
    let texts: Vec<String> = needed
        .iter()
        .map(|n| match n {
            Some(n) => format!("{n}"),
            None => format!("not met with up to {}", d.most_servers()),
        })
        .collect();
    let title = "Fewest servers that meet every objective, per policy".to_string();
    let height = (140 + 34 * d.policies.len() as u32).max(320);
    let (svg, png) = encode(
        (WIDTH, height),
        "servers_needed",
        |root| draw_needed(root, &title, d, &needed, &texts),
        |root| draw_needed(root, &title, d, &needed, &texts),
    )?;
    Ok(Chart {
        name: "servers_needed".into(),
        title,
        caption: "The answer of the plan at the scenario's load: each policy's fewest servers whose metrics \
                  meet every objective (against the upper 95% bound with replications)."
            .into(),
        section: "",
        svg,
        png,
    })
}

fn draw_needed<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    d: &PlanData,
    needed: &[Option<f64>],
    texts: &[String],
) -> Drawn
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let area = root.titled(title, (FONT, 24))?;
    policy_bars(&area, &d.policies, needed, texts, "servers needed")
}

/// Every chart: the servers each policy needs, then each metric against the number of servers.
pub fn charts(d: &PlanData) -> Result<Vec<Chart>, String> {
    let mut out = vec![servers_needed(d)?];
    if let Some(w) = &d.windows {
        out.push(needed_over_time(d, w)?);
    }
    for (k, m) in d.metrics.iter().enumerate() {
        let lines = d
            .policies
            .iter()
            .enumerate()
            .map(|(p, label)| Line {
                label: label.clone(),
                colour: palette::policy(p),
                points: d
                    .servers
                    .iter()
                    .filter_map(|&n| d.cells.get(&(p, n, k)).map(|c| (n, c)))
                    .map(|(n, c)| Point {
                        x: f64::from(n),
                        mean: c.mean * m.scale,
                        half_width: c.half_width * m.scale,
                    })
                    .collect(),
            })
            .collect();
        let mut title = format!("{} against the number of servers", m.title);
        if d.replications > 1 {
            title.push_str(&format!(", 95% CI over {} replications", d.replications));
        }
        out.push(against::render(&Against {
            name: format!("{}_vs_servers", m.column),
            title,
            x_desc: "servers".into(),
            y_desc: m.axis.into(),
            x_axis: XAxis::Numbers { whole: true },
            y_floor: m.floor,
            y_ceiling: m.ceiling,
            lines,
            objective: d.objective(k).map(|o| Objective {
                y: o * m.scale,
                label: format!("objective ≤ {}{}", tick(&(o * m.scale)), m.unit),
            }),
        })?);
    }
    Ok(out)
}

/// A policy's answer in words: how many servers it needs and its metrics
/// there, and which objective the next count down misses.
pub fn sentence(d: &PlanData, p: usize) -> String {
    let policy = &d.policies[p];
    let values = |n: u32| -> String {
        let parts: Vec<String> = d
            .metrics
            .iter()
            .enumerate()
            .map(|(k, m)| format!("{} {}", m.words, shown(d.cells.get(&(p, n, k)), m)))
            .collect();
        parts.join(", ")
    };
    let missed = |n: u32| -> Vec<&str> {
        (0..d.metrics.len())
            .filter(|&k| d.cells.get(&(p, n, k)).and_then(|c| c.met) == Some(false))
            .map(|k| d.metrics[k].words)
            .collect()
    };
    match d.fewest(policy) {
        Some(n) => {
            let mut s = format!("needs {n} server{}: there {}", if n == 1 { "" } else { "s" }, values(n));
            if let Some(&below) = d.servers.iter().rev().find(|&&c| c < n) {
                s.push_str(&format!(
                    "; with {below} it misses the objective on {}",
                    missed(below).join(" and ")
                ));
            }
            s + "."
        }
        None => {
            let most = d.most_servers();
            format!(
                "is not met by {most} servers: there {}, missing the objective on {}.",
                values(most),
                missed(most).join(" and ")
            )
        }
    }
}

/// The whole page.
pub fn page(d: &PlanData, charts: &[Chart]) -> String {
    let mut out = html::open(&format!("lbsim capacity plan: {}", d.scenario()));
    let mut shown_meta = d.meta.clone();
    if let Some(map) = shown_meta.as_object_mut() {
        map.remove("slo");
        map.remove("fewest");
    }
    out.push_str("<h2>Parameters</h2>\n");
    out.push_str(&html::parameters(&shown_meta));
    out.push_str("<h2>Objectives</h2>\n<ul>\n");
    for s in d.meta.get("slo").and_then(|s| s.as_array()).into_iter().flatten() {
        let reads = s.get("reads").and_then(|r| r.as_str()).unwrap_or("");
        out.push_str(&format!("<li>{}</li>\n", escape(reads)));
    }
    out.push_str("</ul>\n");
    if let Some(words) = d.meta.get("checked").and_then(|c| c.as_str()) {
        out.push_str(&format!(
            "<p>Each objective is checked against {}.</p>\n",
            escape(words)
        ));
    }
    out.push_str("<h2>Fewest servers</h2>\n<ul>\n");
    for (p, policy) in d.policies.iter().enumerate() {
        out.push_str(&format!(
            "<li><b>{}</b> {}</li>\n",
            escape(policy),
            escape(&sentence(d, p))
        ));
    }
    out.push_str("</ul>\n<h2>Every count simulated</h2>\n<table>\n<tr><th>servers</th><th></th><th>policy</th>");
    for m in &d.metrics {
        out.push_str(&format!("<th>{}</th>", escape(m.axis)));
    }
    out.push_str("<th>meets every objective</th></tr>\n");
    for &n in &d.servers {
        for (p, policy) in d.policies.iter().enumerate() {
            out.push_str(&format!(
                "<tr><td>{n}</td>{}<td>{}</td>",
                html::swatch(p),
                escape(policy)
            ));
            let mut all = true;
            for (k, m) in d.metrics.iter().enumerate() {
                let c = d.cells.get(&(p, n, k));
                let mark = match c.and_then(|c| c.met) {
                    Some(true) => " ✓",
                    Some(false) => {
                        all = false;
                        " ✗"
                    }
                    None => "",
                };
                out.push_str(&format!("<td>{}{mark}</td>", escape(&shown(c, m))));
            }
            out.push_str(&format!("<td>{}</td></tr>\n", if all { "yes" } else { "no" }));
        }
    }
    out.push_str("</table>\n<h2>Charts</h2>\n");
    out.push_str(&html::figures(charts));
    out.push_str(html::CLOSE);
    out
}
