//! A run folder read back from its files (run.json and the CSV files, columns
//! found by name), so a report can be made for any past run, not only the one
//! just simulated. Replications are averaged: charts show the mean of each value.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::ReportError;

/// One CSV file: its header and rows, read whole.
pub(super) struct Table {
    pub path: PathBuf,
    pub header: csv::StringRecord,
    pub rows: Vec<csv::StringRecord>,
}

impl Table {
    pub fn read(dir: &Path, file: &str) -> Result<Table, ReportError> {
        let path = dir.join(file);
        let bad = |e: csv::Error| ReportError::Malformed(path.clone(), e.to_string());
        let mut reader = csv::Reader::from_path(&path).map_err(bad)?;
        let header = reader.headers().map_err(bad)?.clone();
        let rows = reader.records().collect::<Result<Vec<_>, _>>().map_err(bad)?;
        Ok(Table { path, header, rows })
    }

    /// The position of column `name`; a file without it is not one lbsim wrote.
    pub fn col(&self, name: &str) -> Result<usize, ReportError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ReportError::Malformed(self.path.clone(), format!("no column `{name}`")))
    }
}

/// The JSON file `file` of folder `dir` (run.json or plan.json), read by key
/// later so that fields added or dropped by other versions do not matter.
pub(super) fn json(dir: &Path, file: &str) -> Result<serde_json::Value, ReportError> {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).map_err(|_| ReportError::NotARun(dir.to_path_buf(), format!("no {file}")))?;
    serde_json::from_str(&text).map_err(|e| ReportError::Malformed(path, e.to_string()))
}

/// A cell as a number; empty cells (NaN in the run) and text read as NaN.
pub(super) fn number(row: &csv::StringRecord, col: usize) -> f64 {
    row.get(col).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN)
}

/// Sums of finite values and their count, for a mean over replications.
#[derive(Clone, Copy, Default)]
struct Mean(f64, u32);

impl Mean {
    fn add(&mut self, x: f64) {
        if x.is_finite() {
            self.0 += x;
            self.1 += 1;
        }
    }

    fn get(self) -> f64 {
        if self.1 == 0 { f64::NAN } else { self.0 / self.1 as f64 }
    }
}

/// A grid of means: `[row][column]`.
fn means(grid: Vec<Vec<Mean>>) -> Vec<Vec<f64>> {
    grid.into_iter()
        .map(|r| r.into_iter().map(Mean::get).collect())
        .collect()
}

/// The summary metrics a report compares, one value per replication.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub sessions_lost_pct: Vec<f64>,
    pub losses_per_1k: Vec<f64>,
    pub users_affected_pct: Vec<f64>,
    pub requests_max_mean: Vec<f64>,
    pub p99_ms: Vec<f64>,
    /// Requests dropped or unroutable, in percent (NaN for folders written without the column).
    pub not_served_pct: Vec<f64>,
}

/// A loss cause as losses.csv names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    pub name: String,
    pub detail: String,
}

/// A pool change, as events.csv lists it (once, though every lane records it).
#[derive(Clone, Debug, PartialEq)]
pub struct PoolEvent {
    pub at_s: f64,
    pub clock: String,
    pub action: String,
    pub server: String,
}

/// One evaluation of the autoscaler, as autoscale.csv lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ScalePoint {
    pub time_s: f64,
    pub serving: f64,
    pub requested: f64,
    pub requests_per_s: f64,
}

/// Everything a report shows, for one run folder.
pub struct RunData {
    /// run.json as written.
    pub meta: serde_json::Value,
    /// Policies in the run's order, which fixes each one's colour.
    pub policies: Vec<String>,
    pub replications: usize,
    /// Per policy.
    pub summary: Vec<Summary>,
    /// Start of each window, in seconds.
    pub windows: Vec<f64>,
    pub window_s: f64,
    pub duration_s: f64,
    /// `[policy][window]` means over replications.
    pub sessions_lost: Vec<Vec<f64>>,
    pub requests_max_mean: Vec<Vec<f64>>,
    pub p99_ms: Vec<Vec<f64>>,
    pub causes: Vec<Cause>,
    /// `[policy][cause]`: losses per 1,000 requests, and losses.
    pub cause_per_1k: Vec<Vec<f64>>,
    pub cause_losses: Vec<Vec<f64>>,
    pub servers: Vec<String>,
    /// `[policy][server]`.
    pub load_vs_fair: Vec<Vec<f64>>,
    pub utilisation: Vec<Vec<f64>>,
    /// The window with the most requests, and in it `[policy][server]` load over
    /// fair share; `None` for run folders written before server_windows.csv.
    pub busiest: Option<Busiest>,
    pub events: Vec<PoolEvent>,
    /// `[policy][event]`: live sessions each pool change moved to another server,
    /// mean over replications; NaN where the policy's picks cannot be foreseen
    /// (load-aware), so nothing is known to have moved.
    pub event_moved: Vec<Vec<f64>>,
    /// The autoscaler's evaluations in the first replication; empty for runs
    /// without `[autoscaling]`.
    pub autoscale: Vec<ScalePoint>,
}

/// Each server's load over its fair share in the run's busiest window.
pub struct Busiest {
    pub clock: String,
    pub load_vs_fair: Vec<Vec<f64>>,
}

/// The window with the most requests in `t` (server_windows.csv; every policy
/// sees the same requests, so the sum over rows ranks windows the same way) and
/// each server's mean load over fair share in it.
fn busiest_window(
    t: &Table,
    servers: &[String],
    policies: usize,
    policy_of: impl Fn(&Table, &csv::StringRecord) -> Result<usize, ReportError>,
) -> Result<Option<Busiest>, ReportError> {
    let (c_start, c_clock, c_server, c_requests, c_load) = (
        t.col("window_start_s")?,
        t.col("clock")?,
        t.col("server")?,
        t.col("requests")?,
        t.col("load_vs_fair")?,
    );
    let mut per_window: Vec<(f64, String, f64)> = Vec::new();
    for row in &t.rows {
        let start = number(row, c_start);
        match per_window.iter_mut().find(|w| w.0 == start) {
            Some(w) => w.2 += number(row, c_requests),
            None => per_window.push((start, row[c_clock].to_string(), number(row, c_requests))),
        }
    }
    // The earliest of equally busy windows, whatever the row order.
    let Some((start, clock, _)) = per_window
        .into_iter()
        .filter(|w| w.2.is_finite())
        .max_by(|a, b| a.2.total_cmp(&b.2).then(b.0.total_cmp(&a.0)))
    else {
        return Ok(None);
    };
    let mut load = vec![vec![Mean::default(); servers.len()]; policies];
    for row in t.rows.iter().filter(|r| number(r, c_start) == start) {
        let p = policy_of(t, row)?;
        if let Some(s) = servers.iter().position(|s| s == &row[c_server]) {
            load[p][s].add(number(row, c_load));
        }
    }
    Ok(Some(Busiest {
        clock,
        load_vs_fair: means(load),
    }))
}

/// The first replication's rows of autoscale.csv.
fn scale_points(t: &Table) -> Result<Vec<ScalePoint>, ReportError> {
    let (c_rep, c_time, c_serving, c_requested, c_rate) = (
        t.col("replication")?,
        t.col("time_s")?,
        t.col("serving")?,
        t.col("requested")?,
        t.col("requests_per_s")?,
    );
    let Some(first) = t.rows.first().map(|r| r[c_rep].to_string()) else {
        return Ok(Vec::new());
    };
    Ok(t.rows
        .iter()
        .filter(|r| r[c_rep] == *first)
        .map(|r| ScalePoint {
            time_s: number(r, c_time),
            serving: number(r, c_serving),
            requested: number(r, c_requested),
            requests_per_s: number(r, c_rate),
        })
        .collect())
}

impl RunData {
    /// Reads the run folder `dir`; fails naming it when it is not one lbsim wrote.
    pub fn read(dir: &Path) -> Result<RunData, ReportError> {
        let not_a_run = |why: &str| ReportError::NotARun(dir.to_path_buf(), why.to_string());
        if !dir.is_dir() {
            return Err(not_a_run("no such folder"));
        }
        let json_path = dir.join("run.json");
        let text = fs::read_to_string(&json_path).map_err(|_| not_a_run("no run.json"))?;
        let meta: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| ReportError::Malformed(json_path.clone(), e.to_string()))?;
        for file in [
            "summary.csv",
            "timeseries.csv",
            "servers.csv",
            "losses.csv",
            "events.csv",
        ] {
            if !dir.join(file).is_file() {
                return Err(not_a_run(&format!("no {file}")));
            }
        }
        let seconds = |key: &str| meta.get(key).and_then(|v| v.as_f64()).unwrap_or(f64::NAN);

        let summary_csv = Table::read(dir, "summary.csv")?;
        let (pol, rep) = (summary_csv.col("policy")?, summary_csv.col("replication")?);
        let mut policies: Vec<String> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut reps: Vec<String> = Vec::new();
        let mut summary: Vec<Summary> = Vec::new();
        let cols = [
            summary_csv.col("sessions_lost_pct")?,
            summary_csv.col("losses_per_1k_requests")?,
            summary_csv.col("users_affected_pct")?,
            summary_csv.col("requests_max_mean")?,
            summary_csv.col("latency_p99_ms")?,
        ];
        let not_served = summary_csv.col("not_served_pct").ok();
        for row in &summary_csv.rows {
            let name = &row[pol];
            let i = *index.entry(name.to_string()).or_insert_with(|| {
                policies.push(name.to_string());
                summary.push(Summary::default());
                policies.len() - 1
            });
            if !reps.iter().any(|r| r == &row[rep]) {
                reps.push(row[rep].to_string());
            }
            let s = &mut summary[i];
            let v = cols.map(|c| number(row, c));
            s.sessions_lost_pct.push(v[0]);
            s.losses_per_1k.push(v[1]);
            s.users_affected_pct.push(v[2]);
            s.requests_max_mean.push(v[3]);
            s.p99_ms.push(v[4]);
            s.not_served_pct.push(not_served.map_or(f64::NAN, |c| number(row, c)));
        }
        if policies.is_empty() {
            return Err(ReportError::Malformed(summary_csv.path, "no rows".into()));
        }
        let policy_of = |t: &Table, row: &csv::StringRecord| -> Result<usize, ReportError> {
            let name = &row[t.col("policy")?];
            index
                .get(name)
                .copied()
                .ok_or_else(|| ReportError::Malformed(t.path.clone(), format!("policy `{name}` is not in summary.csv")))
        };
        let n = policies.len();

        let ts = Table::read(dir, "timeseries.csv")?;
        let start = ts.col("window_start_s")?;
        let mut windows: Vec<f64> = ts
            .rows
            .iter()
            .map(|r| number(r, start))
            .filter(|x| x.is_finite())
            .collect();
        windows.sort_by(f64::total_cmp);
        windows.dedup();
        let grid = || vec![vec![Mean::default(); windows.len()]; n];
        let (mut lost, mut imbalance, mut p99) = (grid(), grid(), grid());
        let (c_lost, c_imb, c_p99) = (
            ts.col("sessions_lost")?,
            ts.col("requests_max_mean")?,
            ts.col("latency_p99_ms")?,
        );
        for row in &ts.rows {
            let p = policy_of(&ts, row)?;
            let Ok(w) = windows.binary_search_by(|x| x.total_cmp(&number(row, start))) else {
                continue;
            };
            lost[p][w].add(number(row, c_lost));
            imbalance[p][w].add(number(row, c_imb));
            p99[p][w].add(number(row, c_p99));
        }

        let lc = Table::read(dir, "losses.csv")?;
        let (c_name, c_detail, c_losses, c_per_1k) = (
            lc.col("cause")?,
            lc.col("detail")?,
            lc.col("losses")?,
            lc.col("per_1k_requests")?,
        );
        let mut causes: Vec<Cause> = Vec::new();
        for row in &lc.rows {
            let c = Cause {
                name: row[c_name].to_string(),
                detail: row[c_detail].to_string(),
            };
            if !causes.contains(&c) {
                causes.push(c);
            }
        }
        let (mut per_1k, mut losses) = (
            vec![vec![Mean::default(); causes.len()]; n],
            vec![vec![Mean::default(); causes.len()]; n],
        );
        for row in &lc.rows {
            let p = policy_of(&lc, row)?;
            let k = causes
                .iter()
                .position(|c| c.name == row[c_name] && c.detail == row[c_detail])
                .expect("collected above");
            per_1k[p][k].add(number(row, c_per_1k));
            losses[p][k].add(number(row, c_losses));
        }

        let sv = Table::read(dir, "servers.csv")?;
        let (c_server, c_load, c_util) = (sv.col("server")?, sv.col("load_vs_fair")?, sv.col("utilisation")?);
        let mut servers: Vec<String> = Vec::new();
        for row in &sv.rows {
            if !servers.iter().any(|s| s == &row[c_server]) {
                servers.push(row[c_server].to_string());
            }
        }
        let (mut load, mut util) = (
            vec![vec![Mean::default(); servers.len()]; n],
            vec![vec![Mean::default(); servers.len()]; n],
        );
        for row in &sv.rows {
            let p = policy_of(&sv, row)?;
            let s = servers
                .iter()
                .position(|s| s == &row[c_server])
                .expect("collected above");
            load[p][s].add(number(row, c_load));
            util[p][s].add(number(row, c_util));
        }

        let busiest = if dir.join("server_windows.csv").is_file() {
            busiest_window(&Table::read(dir, "server_windows.csv")?, &servers, n, policy_of)?
        } else {
            None
        };

        let ev = Table::read(dir, "events.csv")?;
        let (c_at, c_clock, c_action, c_srv) =
            (ev.col("at_s")?, ev.col("clock")?, ev.col("action")?, ev.col("server")?);
        let mut events: Vec<PoolEvent> = Vec::new();
        for row in &ev.rows {
            let e = PoolEvent {
                at_s: number(row, c_at),
                clock: row[c_clock].to_string(),
                action: row[c_action].to_string(),
                server: row[c_srv].to_string(),
            };
            if e.at_s.is_finite() && !events.contains(&e) {
                events.push(e);
            }
        }
        events.sort_by(|a, b| a.at_s.total_cmp(&b.at_s));
        let (c_live, c_predictable, c_moved) = (ev.col("live_sessions")?, ev.col("predictable")?, ev.col("moved")?);
        let mut moved = vec![vec![Mean::default(); events.len()]; n];
        for row in &ev.rows {
            let at = number(row, c_at);
            let Some(k) = events
                .iter()
                .position(|e| e.at_s == at && e.action == row[c_action] && e.server == row[c_srv])
            else {
                continue;
            };
            let foreseen = number(row, c_predictable) > 0.0 || number(row, c_live) == 0.0;
            moved[policy_of(&ev, row)?][k].add(if foreseen { number(row, c_moved) } else { f64::NAN });
        }

        let autoscale = if dir.join("autoscale.csv").is_file() {
            scale_points(&Table::read(dir, "autoscale.csv")?)?
        } else {
            Vec::new()
        };

        Ok(RunData {
            autoscale,
            policies,
            replications: reps.len(),
            summary,
            window_s: seconds("window_s"),
            duration_s: seconds("duration_s"),
            meta,
            windows,
            sessions_lost: means(lost),
            requests_max_mean: means(imbalance),
            p99_ms: means(p99),
            causes,
            cause_per_1k: means(per_1k),
            cause_losses: means(losses),
            servers,
            load_vs_fair: means(load),
            utilisation: means(util),
            busiest,
            events,
            event_moved: means(moved),
        })
    }

    /// Whether the run measured latency (queueing on): charts of it are skipped otherwise.
    pub fn has_latency(&self) -> bool {
        self.p99_ms.iter().flatten().any(|x| x.is_finite())
    }

    pub fn scenario(&self) -> &str {
        self.meta.get("scenario").and_then(|v| v.as_str()).unwrap_or("run")
    }
}
