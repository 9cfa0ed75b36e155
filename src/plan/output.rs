//! The files and table of a plan: plan.csv (a row per server count evaluated,
//! policy and metric: the estimate, the value held against the objective and
//! whether it is met), run.json (what was asked and the answer), with an
//! autoscaler's range plan_windows.csv (each window's need), and the terminal
//! table. Nothing depends on timing, so the same request gives the
//! same bytes.

use ::csv::Writer;
use serde_json::json;

use super::Plan;
use super::range::hours;
use super::slo::{self, Target};
use crate::engine::time;
use crate::output::num;
use crate::output::table::columns;

/// plan.csv.
pub fn csv(plan: &Plan) -> Vec<u8> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record([
        "scenario",
        "policy",
        "servers",
        "replications",
        "metric",
        "mean",
        "half_width",
        "checked",
        "objective",
        "met",
        "meets_all",
    ])
    .expect("in-memory write");
    for &servers in plan.evaluated.keys() {
        for (p, policy) in plan.policies.iter().enumerate() {
            let all = plan.meets(servers, p);
            for &t in &plan.targets {
                let e = plan.estimate(servers, p, t);
                let slo = plan.slo(t);
                w.write_record([
                    plan.scenario.name.clone(),
                    policy.clone(),
                    servers.to_string(),
                    e.n.to_string(),
                    t.column().to_string(),
                    num(e.mean),
                    num(e.half_width),
                    num(slo::checked(&e)),
                    slo.map_or(String::new(), |s| num(s.limit)),
                    slo.map_or(String::new(), |s| s.met(&e).to_string()),
                    all.to_string(),
                ])
                .expect("in-memory write");
            }
        }
    }
    w.into_inner().expect("in-memory flush")
}

/// run.json.
pub fn json(plan: &Plan) -> String {
    let sc = &plan.scenario;
    let slos: Vec<serde_json::Value> = plan
        .slos
        .iter()
        .map(|s| json!({ "metric": s.target.column(), "limit": s.limit, "given": s.text, "reads": s.describe() }))
        .collect();
    let fewest: Vec<serde_json::Value> = plan
        .policies
        .iter()
        .zip(&plan.fewest)
        .enumerate()
        .map(|(i, (p, f))| match plan.ranges.get(i) {
            None => json!({ "policy": p, "servers": f }),
            Some(r) => json!({
                "policy": p,
                "servers": f,
                "autoscale": {
                    "min": r.min,
                    "max": r.max,
                    "server_hours": r.server_hours,
                    "fixed_server_hours": fixed_hours(plan, *f),
                },
            }),
        })
        .collect();
    let value = json!({
        "lbsim_version": env!("CARGO_PKG_VERSION"),
        "scenario": sc.name,
        "scenario_file": sc.path.display().to_string(),
        "scenario_xxh3": sc.source_hash,
        "seed": sc.seed,
        "replications": sc.replications,
        "policies": plan.policies,
        "min_servers": plan.min,
        "max_servers": plan.max,
        "checked": checked_words(plan),
        "evaluated_servers": plan.evaluated.keys().collect::<Vec<_>>(),
        "slo": slos,
        "fewest": fewest,
    });
    serde_json::to_string_pretty(&value).expect("JSON of plain values") + "\n"
}

/// plan_windows.csv: the fewest servers each window needs, per policy.
pub fn windows_csv(plan: &Plan) -> Vec<u8> {
    let mut w = Writer::from_writer(Vec::new());
    w.write_record([
        "scenario",
        "policy",
        "window_start_s",
        "clock",
        "hours",
        "servers_needed",
    ])
    .expect("in-memory write");
    for (p, policy) in plan.policies.iter().enumerate() {
        for (&(start, span), need) in plan.spans.iter().zip(&plan.needs[p]) {
            w.write_record([
                plan.scenario.name.clone(),
                policy.clone(),
                num(time::as_secs(start)),
                time::clock(start),
                num(hours(span)),
                need.map_or(String::new(), |n| n.to_string()),
            ])
            .expect("in-memory write");
        }
    }
    w.into_inner().expect("in-memory flush")
}

/// Server-hours of `servers` held through the windows, when it is known.
fn fixed_hours(plan: &Plan, servers: Option<u32>) -> Option<f64> {
    servers.map(|n| f64::from(n) * plan.spans.iter().map(|s| hours(s.1)).sum::<f64>())
}

/// How the objectives were held against the estimates, in words.
pub fn checked_words(plan: &Plan) -> String {
    if plan.scenario.replications >= 2 {
        format!(
            "the upper end of the 95% confidence interval of the mean over {} replications",
            plan.scenario.replications
        )
    } else {
        "the value of the one replication".into()
    }
}

/// The terminal table: each policy's fewest servers and its metrics there.
pub fn text(plan: &Plan) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["policy".to_string(), "fewest servers".to_string()];
    if !plan.ranges.is_empty() {
        header.extend(["autoscale range".to_string(), "server-hours range / fixed".to_string()]);
    }
    header.extend(plan.targets.iter().map(|t| {
        let mark = if plan.slo(*t).is_some() { " *" } else { "" };
        format!("{}{mark}", t.column())
    }));
    rows.push(header);
    for (p, policy) in plan.policies.iter().enumerate() {
        let (answer, at) = match plan.fewest[p] {
            Some(n) => (n.to_string(), n),
            None => (format!("not met by {}", plan.max), plan.max),
        };
        let mut row = vec![policy.clone(), answer];
        if let Some(r) = plan.ranges.get(p) {
            let most = r.max.map_or(format!("more than {}", plan.max), |m| m.to_string());
            let h = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.1}"));
            row.push(format!("{}..{most}", r.min));
            row.push(format!(
                "{} / {}",
                h(r.server_hours),
                h(fixed_hours(plan, plan.fewest[p]))
            ));
        }
        for &t in &plan.targets {
            row.push(shown(plan, at, p, t));
        }
        rows.push(row);
    }
    let mut out = columns(&rows, |_, _| false, false);
    let objectives: Vec<String> = plan.slos.iter().map(|s| s.describe()).collect();
    out.push_str(&format!(
        "* objective: {}, checked against {}; metrics at the fewest servers (at {} when not met)\n",
        objectives.join(", "),
        checked_words(plan),
        plan.max
    ));
    if !plan.ranges.is_empty() {
        out.push_str(
            "autoscale range: the fewest servers of the quietest and of the busiest window, each window judged \
             on its own metrics; server-hours of a pool holding each window's need, against the fewest servers \
             held throughout\n",
        );
    }
    out
}

/// `mean ± half-width` of `t` for policy `p` at `servers`.
fn shown(plan: &Plan, servers: u32, p: usize, t: Target) -> String {
    let decimals = match t {
        Target::P99 => 0,
        Target::Utilisation => 3,
        Target::Loss | Target::Unserved => 2,
    };
    plan.estimate(servers, p, t).show(decimals)
}
