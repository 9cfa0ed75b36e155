//! run.json: what was run, with which inputs, and how fast; for a replay, what
//! the log held.

use serde_json::json;

use crate::experiment::RunResult;
use crate::scenario::Scenario;

pub fn render(sc: &Scenario, result: &RunResult, trace: Option<&serde_json::Value>) -> String {
    let events = result.events();
    let routed = result.routed();
    let per_sec = |n: u64| {
        if result.wall_secs > 0.0 {
            n as f64 / result.wall_secs
        } else {
            0.0
        }
    };
    let mut value = json!({
        "lbsim_version": env!("CARGO_PKG_VERSION"),
        "scenario": sc.name,
        "scenario_file": sc.path.display().to_string(),
        "scenario_xxh3": sc.source_hash,
        "seed": sc.seed,
        "replications": sc.replications,
        "duration_s": sc.duration as f64 / 1e9,
        "warmup_s": sc.warmup as f64 / 1e9,
        "window_s": sc.window as f64 / 1e9,
        "policies": sc.policies.iter().map(|p| p.text.clone()).collect::<Vec<_>>(),
        "baseline": sc.policies.get(sc.baseline).map(|p| p.text.clone()),
        "threads": rayon::current_num_threads(),
        "wall_time_s": result.wall_secs,
        "events": events,
        "events_per_s": per_sec(events),
        "requests_routed": routed,
        "requests_routed_per_s": per_sec(routed),
        "users": result.replications.iter().map(|r| r.users as u64).sum::<u64>(),
        "sessions": result.replications.iter().map(|r| r.visits).sum::<u64>(),
    });
    if let Some(t) = trace {
        value["trace"] = t.clone();
    }
    serde_json::to_string_pretty(&value).expect("JSON of plain values") + "\n"
}
