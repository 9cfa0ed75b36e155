//! Running a scenario: for each replication, one request source (the generated
//! workload, or a replayed access log) feeding one lane per policy, chunk by
//! chunk, with pool changes applied to every lane between chunks.
//! Replications and lanes run in parallel on rayon; results do not depend on the
//! number of threads, because every lane and replication owns its random streams.
//! A sweep runs as a list of [`jobs`], one per point and replication.

pub mod jobs;
pub mod lane;
pub mod progress;

use std::time::Instant;

use rayon::prelude::*;

use crate::engine::Time;
use crate::metrics::LaneReport;
use crate::pool::PoolChange;
use crate::pool::autoscale::{Scaled, Scaler};
use crate::scenario::Scenario;
use crate::workload::{Request, RequestSource, Workload};

pub use lane::{Lane, Step};
pub use progress::Progress;

/// Requests generated per chunk: large enough to amortize the hand-over to the
/// lanes, small enough to stay in cache-friendly memory.
const CHUNK: usize = 1 << 14;

/// One policy's results in one replication.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneOutcome {
    pub label: String,
    pub report: LaneReport,
    pub journeys: Vec<Step>,
}

/// One replication's results.
#[derive(Clone, Debug, PartialEq)]
pub struct Replication {
    pub index: u32,
    pub lanes: Vec<LaneOutcome>,
    /// Workload events (arrivals, visit starts, requests; for a replay, log lines).
    pub workload_events: u64,
    pub requests: u64,
    pub users: u32,
    pub visits: u64,
    /// With `[autoscaling]`: the controller's evaluations.
    pub autoscale: Option<Scaled>,
}

impl Replication {
    /// Events processed: workload events plus every request routed by every lane.
    pub fn events(&self) -> u64 {
        self.workload_events + self.requests * self.lanes.len() as u64
    }
}

/// A whole run.
pub struct RunResult {
    pub replications: Vec<Replication>,
    pub wall_secs: f64,
}

impl RunResult {
    /// Requests routed, counting each request once per lane.
    pub fn routed(&self) -> u64 {
        self.replications
            .iter()
            .map(|r| r.requests * r.lanes.len() as u64)
            .sum()
    }

    /// Events processed: workload events plus every request routed by every lane.
    pub fn events(&self) -> u64 {
        self.replications.iter().map(Replication::events).sum()
    }
}

/// Runs every replication of the scenario on its generated workload.
pub fn run(sc: &Scenario) -> RunResult {
    run_with(sc, |r| Workload::new(sc, r))
}

/// Runs every point of a sweep as its list of [`jobs`], side by side on rayon;
/// results in point order, whatever the threads, each with the whole sweep's wall time.
pub fn sweep(points: &[crate::scenario::sweep::Point]) -> Vec<RunResult> {
    let start = Instant::now();
    let list = jobs::of(points);
    let done = jobs::run(points, &list, &Progress::default(), |_, r| {
        Ok::<_, std::convert::Infallible>(r)
    });
    let mut results: Vec<RunResult> = points
        .iter()
        .map(|_| RunResult {
            replications: Vec::new(),
            wall_secs: 0.0,
        })
        .collect();
    for (job, replication) in list.iter().zip(done.unwrap_or_else(|never| match never {})) {
        results[job.point].replications.push(replication);
    }
    let wall_secs = start.elapsed().as_secs_f64();
    for r in &mut results {
        r.wall_secs = wall_secs;
    }
    results
}

/// Runs every replication of the scenario on the requests `source(replication)` makes.
pub fn run_with<S, F>(sc: &Scenario, source: F) -> RunResult
where
    S: RequestSource + Send + Sync,
    F: Fn(u32) -> S + Sync,
{
    run_watched(sc, source, &Progress::default())
}

/// [`run_with`], reporting to `progress` as it goes.
pub fn run_watched<S, F>(sc: &Scenario, source: F, progress: &Progress) -> RunResult
where
    S: RequestSource + Send + Sync,
    F: Fn(u32) -> S + Sync,
{
    let start = Instant::now();
    let replications = (0..sc.replications)
        .into_par_iter()
        .map(|r| replicate(sc, r, source(r), progress))
        .collect();
    RunResult {
        replications,
        wall_secs: start.elapsed().as_secs_f64(),
    }
}

/// Runs one replication on the requests of `workload`.
pub fn replicate<S: RequestSource + Send + Sync>(
    sc: &Scenario,
    replication: u32,
    mut workload: S,
    progress: &Progress,
) -> Replication {
    let followed = sc.users.iter().filter(|u| u.count == 1).count() as u32;
    let users = workload.expected_users();
    let mut lanes: Vec<Lane> = sc
        .policies
        .iter()
        .enumerate()
        .map(|(i, spec)| Lane::new(sc, spec, i, replication, followed, users))
        .collect();
    let all_changes = sc.changes_for(replication);
    let mut changes = all_changes.iter().filter(|c| c.at < sc.duration);
    let mut next_change = changes.next();
    // L7 instances added and removed, under `[tiers]`.
    let mut tier_changes = sc.tiers.iter().flat_map(|t| &t.changes).filter(|c| c.at < sc.duration);
    let mut next_tier = tier_changes.next();
    let mut scaler = sc.operations.autoscaling.as_ref().map(Scaler::new);
    // The workload stops at every pool change, at each slow-start step of a lane
    // and, with an autoscaler, at each of its evaluations and at the changes it
    // decided.
    let stop = |fixed: Option<&PoolChange>, tier: Option<&PoolChange>, scaler: &Option<Scaler>, lanes: &[Lane]| {
        let step = lanes
            .iter()
            .map(Lane::next_weight_step)
            .min()
            .filter(|&t| t < sc.duration);
        let at = fixed
            .map_or(Time::MAX, |c| c.at)
            .min(tier.map_or(Time::MAX, |c| c.at))
            .min(step.unwrap_or(Time::MAX));
        match scaler {
            None => at,
            Some(s) => {
                let decided = s
                    .next_change()
                    .map(|c| c.at)
                    .filter(|&t| t < sc.duration)
                    .unwrap_or(Time::MAX);
                let tick = Some(s.next_tick()).filter(|&t| t < sc.duration).unwrap_or(Time::MAX);
                at.min(decided).min(tick)
            }
        }
    };
    let mut until = stop(next_change, next_tier, &scaler, &lanes);
    let mut chunk: Vec<Request> = Vec::with_capacity(CHUNK);
    let mut next: Vec<Request> = Vec::with_capacity(CHUNK);
    let mut requests = 0u64;
    // Simulated time reported to `progress` so far.
    let mut reached: Time = 0;
    workload.fill(&mut chunk, until, CHUNK);
    loop {
        // A full chunk may have more behind it: generate the next one while the
        // lanes route this one. Generation never passes `until`, so a pool change
        // still finds the workload exactly at its time.
        let full = chunk.len() == CHUNK;
        next.clear();
        rayon::join(
            || {
                if full {
                    workload.fill(&mut next, until, CHUNK);
                }
            },
            || lanes.par_iter_mut().for_each(|lane| lane.route_all(&chunk)),
        );
        if let Some(s) = &mut scaler {
            s.count(chunk.iter().map(|r| r.service));
        }
        requests += chunk.len() as u64;
        let now = chunk.last().map_or(reached, |r| r.time.min(sc.duration)).max(reached);
        progress.advance(now - reached, chunk.len() as u64 * lanes.len() as u64);
        reached = now;
        if full {
            std::mem::swap(&mut chunk, &mut next);
            continue;
        }
        if until == Time::MAX {
            progress.advance(sc.duration.saturating_sub(reached), 0);
            break;
        }
        // Scripted changes first, then the L7 tier's, then the autoscaler's, then
        // its evaluation, then slow-start steps.
        let scaling = scaler
            .as_mut()
            .filter(|s| s.next_tick() == until || s.next_change().is_some_and(|c| c.at == until));
        match (
            next_change.filter(|c| c.at == until),
            next_tier.filter(|c| c.at == until),
            scaling,
        ) {
            (Some(change), _, _) => {
                lanes.par_iter_mut().for_each(|lane| lane.apply(change, &workload));
                next_change = changes.next();
            }
            (None, Some(change), _) => {
                lanes.par_iter_mut().for_each(|lane| lane.apply_tier(change, &workload));
                next_tier = tier_changes.next();
            }
            (None, None, Some(s)) => {
                if let Some(change) = s.next_change().filter(|c| c.at == until).copied() {
                    s.pop_change();
                    lanes.par_iter_mut().for_each(|lane| lane.apply(&change, &workload));
                } else {
                    s.tick();
                }
            }
            (None, None, None) => lanes
                .par_iter_mut()
                .for_each(|lane| lane.step_weights(until, &workload)),
        }
        until = stop(next_change, next_tier, &scaler, &lanes);
        chunk.clear();
        workload.fill(&mut chunk, until, CHUNK);
    }
    let scaled = scaler.map(|s| s.finish(sc.duration));
    let lanes = lanes
        .into_iter()
        .map(|lane| {
            let (label, report, journeys) = lane.finish(sc.duration);
            LaneOutcome {
                label,
                report,
                journeys,
            }
        })
        .collect();
    Replication {
        index: replication,
        lanes,
        workload_events: workload.events(),
        requests,
        users: workload.users(),
        visits: workload.visits(),
        autoscale: scaled,
    }
}
