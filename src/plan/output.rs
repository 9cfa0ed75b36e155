//! The files and table of a plan: plan.csv (a row per server count evaluated,
//! policy and metric: the estimate, the value held against the objective and
//! whether it is met), run.json (what was asked and the answer), and the
//! terminal table. Nothing depends on timing, so the same request gives the
//! same bytes.

use ::csv::Writer;
use serde_json::json;

use super::Plan;
use super::slo::{self, Target};
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
        .map(|(p, f)| json!({ "policy": p, "servers": f }))
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
