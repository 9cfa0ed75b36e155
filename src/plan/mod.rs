//! Capacity planning: for each policy, the fewest servers that meet a set of
//! service-level objectives (p99 latency, peak utilisation, session loss),
//! found by simulating the scenario at different server counts.
//!
//! Each count is the scenario file with `servers.count` set, made by the same
//! edit of the parsed file that sweeps use, so it is checked like any file and
//! an error names the file and the count. Every count runs every policy on the
//! same seed, so counts compare on common random numbers. Asked for an
//! autoscaler's range, it also finds the fewest servers each window needs.

pub mod output;
pub mod range;
pub mod search;
pub mod slo;

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;

use crate::engine::time::Time;
use crate::experiment;
use crate::metrics::stats::Estimate;
use crate::output::csv::{SUMMARY, summary_values};
use crate::scenario::Scenario;
use crate::scenario::size::Size;
use crate::scenario::sweep::Sweep;
use range::Range;
use slo::{Slo, Target};

/// What to plan.
pub struct Request<'a> {
    pub path: &'a Path,
    /// Policies to plan instead of the scenario's (none: the scenario's).
    pub policies: &'a [String],
    pub slos: Vec<Slo>,
    pub min: u32,
    pub max: u32,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    /// Plan even beyond the size limits (see [`crate::scenario::size`]).
    pub allow_large: bool,
    /// Also answer with an autoscaler's range (see [`range`]).
    pub autoscale: bool,
}

/// What one server count measured: `[policy][target]`, one value per replication,
/// targets in [`Target::ALL`] order; and the same per window, `[policy][window][target]`.
pub struct Measured {
    pub values: Vec<Vec<Vec<f64>>>,
    pub windows: Vec<Vec<Vec<Vec<f64>>>>,
    /// Each reported window's start and how long it lasts.
    pub spans: Vec<(Time, Time)>,
}

/// A finished plan.
pub struct Plan {
    /// The scenario at the least count evaluated: its name, file, seed and policies.
    pub scenario: Scenario,
    pub policies: Vec<String>,
    pub slos: Vec<Slo>,
    /// The targets the scenario measures (latency and utilisation need waiting lines).
    pub targets: Vec<Target>,
    pub min: u32,
    pub max: u32,
    pub evaluated: BTreeMap<u32, Measured>,
    /// Per policy: the fewest servers meeting every objective, `None` if `max` did not.
    pub fewest: Vec<Option<u32>>,
    /// Asked for an autoscaler's range: each reported window's start and span.
    pub spans: Vec<(Time, Time)>,
    /// Per policy and window, the fewest servers that window needs (empty if not asked).
    pub needs: Vec<Vec<Option<u32>>>,
    /// Per policy, the range of those needs (empty if not asked).
    pub ranges: Vec<Range>,
}

impl Plan {
    /// The estimate of `target` for policy `p` at `servers`.
    pub fn estimate(&self, servers: u32, p: usize, target: Target) -> Estimate {
        let t = Target::ALL.iter().position(|x| *x == target).expect("every target");
        Estimate::of(&self.evaluated[&servers].values[p][t])
    }

    /// The objective on `target`, if one was given.
    pub fn slo(&self, target: Target) -> Option<&Slo> {
        self.slos.iter().find(|s| s.target == target)
    }

    /// Whether policy `p` meets every objective at `servers`.
    pub fn meets(&self, servers: u32, p: usize) -> bool {
        self.slos.iter().all(|s| s.met(&self.estimate(servers, p, s.target)))
    }

    /// Whether policy `p` meets every objective in window `w` at `servers`.
    pub fn meets_in_window(&self, servers: u32, p: usize, w: usize) -> bool {
        range::window_meets(&self.slos, &self.evaluated[&servers].windows[p][w])
    }
}

/// A plan checked and ready to run.
pub struct Planner<'a> {
    req: Request<'a>,
    /// The scenario at the least count: its name, policies, and whether it queues.
    first: Scenario,
    targets: Vec<Target>,
}

impl<'a> Planner<'a> {
    /// Checks `req` before anything runs: the objectives, the range of counts,
    /// and the scenario at both ends of it.
    pub fn new(req: Request<'a>) -> Result<Planner<'a>, String> {
        slo::check(&req.slos)?;
        if req.min == 0 || req.max < req.min {
            return Err(format!(
                "--min-servers {} and --max-servers {}: expected 1 ≤ min ≤ max",
                req.min, req.max
            ));
        }
        countable(req.path)?;
        // A count the file cannot take (an event naming server s5 with 4 servers) fails now.
        let first = at(&req, req.min).map_err(|e| {
            format!("{e}\n(a scenario that names servers needs at least that many: raise --min-servers)")
        })?;
        let most = at(&req, req.max)?;
        // Doubling then halving evaluates about twice log2(max / min) + 1 counts, none
        // larger than the most.
        let rounds = 2.0 * (f64::from(req.max) / f64::from(req.min)).log2().ceil() + 1.0;
        let one = Size::of(&most, rayon::current_num_threads());
        let size = Size {
            routings: one.routings * rounds,
            ..one
        };
        if let Some(why) = size.refusal().filter(|_| !req.allow_large) {
            return Err(format!("{}: with up to {} servers, {why}", req.path.display(), req.max));
        }
        unreachable(&req, &first)?;
        let queueing = first.serving.queueing;
        if let Some(s) = req.slos.iter().find(|s| s.target.needs_queueing() && !queueing) {
            return Err(format!(
                "--slo {}: {} sets [servers] queueing = false, so requests never wait and latency and \
                 utilisation are not measured; remove that line or plan for loss only",
                s.text,
                req.path.display()
            ));
        }
        let targets = Target::ALL
            .into_iter()
            .filter(|t| queueing || !t.needs_queueing())
            .collect();
        Ok(Planner { req, first, targets })
    }

    /// The scenario at the least count.
    pub fn scenario(&self) -> &Scenario {
        &self.first
    }

    /// Searches, calling `done(servers, met)` as each count's runs finish.
    pub fn run(self, done: impl Fn(u32, &[bool])) -> Result<Plan, String> {
        let req = self.req;
        let mut plan = Plan {
            policies: self.first.policies.iter().map(|p| p.text.clone()).collect(),
            scenario: self.first,
            slos: req.slos.clone(),
            targets: self.targets,
            min: req.min,
            max: req.max,
            evaluated: BTreeMap::new(),
            fewest: Vec::new(),
            spans: Vec::new(),
            needs: Vec::new(),
            ranges: Vec::new(),
        };
        let policies = plan.policies.len();
        // The search's columns: each policy over the run, then (asked for a range)
        // each policy in each window. The windows are known once the least count
        // has run, and that run is kept for the search.
        let windows = if req.autoscale {
            let m = measure(&at(&req, req.min)?);
            plan.spans = m.spans.clone();
            plan.evaluated.insert(req.min, m);
            plan.spans.len()
        } else {
            0
        };
        let found = search::fewest(policies * (1 + windows), req.min, req.max, |counts| {
            let fresh: Vec<u32> = counts
                .iter()
                .copied()
                .filter(|c| !plan.evaluated.contains_key(c))
                .collect();
            let measured = fresh
                .par_iter()
                .map(|&c| at(&req, c).map(|sc| (c, measure(&sc))))
                .collect::<Result<Vec<_>, String>>()?;
            plan.evaluated.extend(measured);
            let mut met = Vec::new();
            for &c in counts {
                let mut row: Vec<bool> = (0..policies).map(|p| plan.meets(c, p)).collect();
                done(c, &row);
                for p in 0..policies {
                    row.extend((0..windows).map(|w| plan.meets_in_window(c, p, w)));
                }
                met.push(row);
            }
            Ok::<_, String>(met)
        })?;
        plan.fewest = found.fewest[..policies].to_vec();
        if windows > 0 {
            let spans: Vec<Time> = plan.spans.iter().map(|s| s.1).collect();
            plan.needs = found.fewest[policies..].chunks(windows).map(<[_]>::to_vec).collect();
            plan.ranges = plan.needs.iter().map(|n| Range::of(n, &spans)).collect();
        }
        Ok(plan)
    }
}

/// Refuses an objective that no number of servers can meet: with a server to
/// itself each request still takes its service time, so p99 latency cannot fall
/// below the service time's own 99th percentile.
fn unreachable(req: &Request, sc: &Scenario) -> Result<(), String> {
    let Some(slo) = req.slos.iter().find(|s| s.target == Target::P99) else {
        return Ok(());
    };
    // Service times are in seconds, objectives in ms.
    let floor = sc.serving.service.p99() * 1e3;
    if floor > slo.limit {
        return Err(format!(
            "--slo {}: cannot be met at any server count: the service time alone ({} [servers] \
             service) has p99 {}, so every count misses it; raise the objective to more than that \
             or describe a faster service",
            slo.text,
            req.path.display(),
            Target::P99.show(floor)
        ));
    }
    Ok(())
}

/// Refuses a file whose servers cannot be counted up and down: named servers,
/// or one weight, worker count or speed per server.
fn countable(path: &Path) -> Result<(), String> {
    let text =
        crate::scenario::read_file(path).map_err(|e| format!("{}: cannot read the scenario: {e}", path.display()))?;
    // A file that is not TOML is reported when it is read as a scenario.
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Ok(());
    };
    if doc.contains_key("autoscaling") {
        return Err(format!(
            "{}: has an [autoscaling] section, which sizes the pool itself; lbsim plan sizes a fixed pool \
             by servers.count: plan the file without [autoscaling] (with --autoscale to learn the min and max \
             to give it)",
            path.display()
        ));
    }
    let servers = doc.get("servers").and_then(toml::Value::as_table);
    for (key, why) in [
        ("names", "names its servers"),
        ("weights", "gives one weight per server"),
        ("worker_counts", "gives each server's workers"),
        ("speeds", "gives one speed per server"),
    ] {
        if servers.is_some_and(|s| s.contains_key(key)) {
            return Err(format!(
                "{}: [servers] {why} ({key} = [...]), so their number cannot vary; lbsim plan varies \
                 servers.count: write [servers] count = N without {key}",
                path.display()
            ));
        }
    }
    Ok(())
}

/// The scenario with `servers` servers and the request's overrides.
fn at(req: &Request, servers: u32) -> Result<Scenario, String> {
    let vary = [format!("servers.count={servers}")];
    let sweep = match Sweep::load(req.path, req.policies, &vary) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(Scenario::load_with_policies(req.path, req.policies).err().map_or_else(
                || format!("{}: not a scenario file", req.path.display()),
                |e| e.to_string(),
            ));
        }
        // A point error names the count already.
        Err(e @ crate::scenario::ScenarioError::Point { .. }) => return Err(e.to_string()),
        Err(e) => return Err(format!("with servers.count = {servers}: {e}")),
    };
    if sweep.keys != ["servers.count"] {
        return Err(format!(
            "{}: has a [sweep] section (over {}); lbsim plan varies servers.count itself: plan a file without it",
            req.path.display(),
            sweep.keys.join(", ")
        ));
    }
    let mut sc = sweep.points.into_iter().next().expect("one point").scenario;
    sc.seed = req.seed.unwrap_or(sc.seed);
    sc.replications = req.replications.unwrap_or(sc.replications);
    Ok(sc)
}

/// Runs `sc` and keeps each policy's target metrics, per replication.
fn measure(sc: &Scenario) -> Measured {
    let result = experiment::run(sc);
    let cols: Vec<usize> = Target::ALL
        .iter()
        .map(|t| SUMMARY.iter().position(|c| *c == t.column()).expect("a summary column"))
        .collect();
    let mut values = vec![vec![Vec::new(); Target::ALL.len()]; sc.policies.len()];
    let mut windows: Vec<Vec<Vec<Vec<f64>>>> = vec![Vec::new(); sc.policies.len()];
    for rep in &result.replications {
        for (p, lane) in rep.lanes.iter().enumerate() {
            let row = summary_values(lane);
            for (t, &c) in cols.iter().enumerate() {
                values[p][t].push(row[c]);
            }
            let per_window = range::window_values(lane);
            windows[p].resize(per_window.len(), vec![Vec::new(); Target::ALL.len()]);
            for (w, v) in per_window.iter().enumerate() {
                for (t, x) in v.iter().enumerate() {
                    windows[p][w][t].push(*x);
                }
            }
        }
    }
    let starts: Vec<Time> = result.replications[0].lanes[0]
        .report
        .windows
        .iter()
        .map(|w| w.start)
        .collect();
    let spans = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            // The first window reported holds the end of the warm-up: it counts from there.
            let from = s.max(sc.warmup);
            (
                s,
                starts.get(i + 1).copied().unwrap_or(sc.duration).saturating_sub(from),
            )
        })
        .collect();
    Measured { values, windows, spans }
}
