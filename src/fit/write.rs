//! The fitted population as scenario text, each value with its method and 95%
//! interval in a comment, and as fit.json.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::engine::time::{self, SECOND};
use crate::scenario::units::written;

use super::estimate::{Estimate, GATEWAY_AGENTS_PER_HOUR};
use super::mle::{Family, Fit, Model};

/// The pool and policies written when no `--pool` is given: a placeholder, marked so.
pub const DEFAULT_POOL: &str = r#"# --- Default pool and policies: NOT from the log. Replace them, or fit with
# --- `--pool FILE` to take them from a scenario `lbsim import` wrote.
policies = ["nginx.ip_hash", "ring(vnodes=160)", "least_conn"]

[servers]  # default pool, not from the log
count = 8
"#;

/// A distribution in scenario syntax; `seconds` for durations.
fn dist(fit: &Fit, seconds: bool) -> String {
    let value = |v: f64| {
        if seconds {
            format!("\"{}ms\"", (v * 1000.0).round().max(1.0))
        } else {
            format!("{v:.4}")
        }
    };
    match &fit.model {
        Model::Family { family, params: p, .. } => match family {
            Family::Exponential => format!("{{ dist = \"exponential\", mean = {} }}", value(p[0])),
            Family::Lognormal => format!(
                "{{ dist = \"lognormal\", median = {}, sigma = {:.4} }}",
                value(p[0]),
                p[1]
            ),
            Family::Weibull | Family::Pareto => format!(
                "{{ dist = \"{}\", scale = {}, shape = {:.4} }}",
                family.name(),
                value(p[0]),
                p[1]
            ),
        },
        Model::Histogram { counts, .. } => {
            let list = |f: &dyn Fn(&(f64, u64)) -> String| counts.iter().map(f).collect::<Vec<_>>().join(", ");
            format!(
                "{{ dist = \"empirical\", values = [{}], weights = [{}] }}",
                list(&|c| c.0.to_string()),
                list(&|c| c.1.to_string())
            )
        }
    }
}

/// The uncertainty of a fit: each parameter's interval, or a histogram's CDF band.
fn intervals(fit: &Fit) -> String {
    match &fit.model {
        Model::Family { family, intervals, .. } => family
            .parameters()
            .iter()
            .zip(intervals)
            .map(|(n, (lo, hi))| format!("{n} {lo:.4}..{hi:.4}"))
            .collect::<Vec<_>>()
            .join(", "),
        Model::Histogram { band, .. } => format!("the log's own CDF ±{band:.4} (Dvoretzky–Kiefer–Wolfowitz)"),
    }
}

fn table(fits: &[Fit]) -> String {
    fits.iter()
        .map(|f| format!("{} AIC {:.1} KS {:.4}", f.name(), f.aic, f.ks))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The workload part: top-level keys, then [arrivals], [sessions], [[networks]].
pub fn workload(e: &Estimate, source: &str) -> (String, String) {
    let mut top = String::new();
    let _ = writeln!(
        top,
        "# Workload fitted by `lbsim fit` to {source}: {} requests, {} users, {} addresses, {} sessions",
        e.requests, e.users, e.addresses, e.sessions
    );
    let _ = writeln!(
        top,
        "# (cut at an idle gap of {}). Each value: how it was estimated, and its 95% interval.",
        written(e.idle)
    );
    let _ = writeln!(
        top,
        "# Times are from midnight UTC of the log's first day; the run covers the log's window."
    );
    let mut w = String::new();
    let a = &e.arrivals;
    let _ = writeln!(
        w,
        "\n[arrivals]  # new users: first visits per hour of day / hours the log covers (Poisson 95% intervals below)"
    );
    let _ = writeln!(w, "rate = \"{:.6}/s\"  # the daily mean of the hourly rates", a.rate());
    let hourly: Vec<String> = a.hourly.iter().map(|r| format!("{:.2}", r * 3600.0)).collect();
    let _ = writeln!(
        w,
        "hourly = [{}]  # new users per hour, from 00:00 UTC; 0 where the log does not reach",
        hourly.join(", ")
    );
    for h in 0..24 {
        if a.exposure[h] > 0 {
            let _ = writeln!(
                w,
                "#   {h:02}h: {} new users over {:.2} h: {:.1}/h (95% {:.1}..{:.1})",
                a.new_users[h],
                a.exposure[h] as f64 / 3.6e12,
                a.hourly[h] * 3600.0,
                a.intervals[h].0 * 3600.0,
                a.intervals[h].1 * 3600.0
            );
        }
    }
    let r = e.requests_fit();
    let t = &e.think[0];
    let _ = writeln!(w, "\n[sessions]");
    let _ = writeln!(
        w,
        "# requests per session: maximum likelihood of the rounded distribution, or the log's own histogram;\n#   lowest AIC with a finite mean;"
    );
    let _ = writeln!(
        w,
        "#   95%: {}; KS {:.4}. All: {}",
        intervals(r),
        r.ks,
        table(&e.lengths)
    );
    let _ = writeln!(w, "requests = {}", dist(r, false));
    let _ = writeln!(
        w,
        "# think time: maximum likelihood of whole seconds (±0.5 s), truncated at the idle gap; lowest AIC;"
    );
    let _ = writeln!(
        w,
        "#   95%: {} (seconds); KS {:.4}. All: {}",
        intervals(t),
        t.ks,
        table(&e.think)
    );
    let _ = writeln!(w, "think = {}", dist(t, true));
    let _ = writeln!(
        w,
        "think_max = \"{}\"  # the idle gap: the log's visits have no longer gap inside",
        written(e.idle)
    );
    let _ = writeln!(
        w,
        "state_ttl = \"{}\"  # the idle gap the log was cut at",
        written(e.idle)
    );
    match &e.returns {
        Some(ret) => {
            let _ = writeln!(
                w,
                "# return visits: share s and Pareto delay (scale = idle gap, shape α) by maximum likelihood,"
            );
            let _ = writeln!(
                w,
                "#   {} returns seen, {} silences cut short by the log's end counted as censored;",
                ret.observed, ret.censored
            );
            let _ = writeln!(
                w,
                "#   95%: share {:.4}..{:.4}, shape {:.4}..{:.4}",
                ret.share_ci.0, ret.share_ci.1, ret.shape_ci.0, ret.shape_ci.1
            );
            let _ = writeln!(w, "return_share = {:.4}", ret.share);
            let _ = writeln!(
                w,
                "return_after = {{ dist = \"pareto\", scale = \"{}\", shape = {:.4} }}",
                written(e.idle),
                ret.shape
            );
        }
        None => {
            let _ = writeln!(w, "# return visits: none in the log (share 0)");
        }
    }
    w.push_str(&networks(e));
    (top, w)
}

fn networks(e: &Estimate) -> String {
    let mut w = String::new();
    let (home_share, home_upa, home_ci) = match &e.sharing {
        Some(s) => {
            let gw = s.gateways.as_ref().map_or(0.0, |g| g.0);
            (1.0 - gw, s.home.0, Some(s.home.1))
        }
        None => (1.0, 1.0, None),
    };
    if let Some(c) = &e.churn {
        let _ = writeln!(
            w,
            "\n# Address churn, from the session field: {:.2}% of users seen from several addresses,",
            c.share * 100.0
        );
        let _ = writeln!(
            w,
            "# {} address changes; modelled as phones leaving and rejoining their first address.",
            c.changes
        );
        let _ = writeln!(
            w,
            "[[networks]]\nkind = \"mobile\"\nshare = {:.4}",
            c.share * home_share
        );
        let _ = writeln!(
            w,
            "switch_rate = \"{:.4}/h\"  # trips away per hour of a moving user's activity",
            c.switch_rate_per_h.max(1e-4)
        );
        let _ = writeln!(
            w,
            "cellular_stay = {{ dist = \"exponential\", mean = \"{}ms\" }}  # mean time away before returning",
            (c.stay_s * 1000.0).round().max(1.0)
        );
        let _ = writeln!(w, "wifi_users_per_address = {:.4}", home_upa);
        let _ = writeln!(w, "cellular_users_per_address = 1");
    }
    // Shares are written to four places and must add up to 1: home takes the rest.
    let four = |x: f64| (x * 1e4).round() / 1e4;
    let gateway_share = e.sharing.as_ref().and_then(|s| s.gateways).map_or(0.0, |g| four(g.0));
    let churn_share = e.churn.as_ref().map_or(0.0, |c| four(c.share * home_share));
    let _ = writeln!(w, "\n[[networks]]");
    let _ = writeln!(w, "kind = \"home\"");
    let _ = writeln!(w, "share = {:.4}", four(1.0 - gateway_share - churn_share));
    match (&e.sharing, home_ci) {
        (Some(_), Some((lo, hi))) => {
            let _ = writeln!(
                w,
                "users_per_address = {home_upa:.4}  # users (distinct user agents or ids) over addresses, 95% {lo:.4}..{hi:.4}"
            );
        }
        _ => {
            let _ = writeln!(
                w,
                "users_per_address = 1  # not identifiable from addresses alone (no user agent or session field): one user per address"
            );
        }
    }
    if e.churn.is_none() {
        let _ = writeln!(
            w,
            "# Address churn is not identifiable from this log (no session field): the home network's"
        );
        let _ = writeln!(
            w,
            "# defaults from ../shared/reference/workload.md §2 (periodic renumbering every 24 h; half leave the prefix):"
        );
        let _ = writeln!(
            w,
            "renumber_share = 0.2  # default, workload.md §2 (Padmanabhan IMC'16; Argon 2010), not fitted"
        );
        let _ = writeln!(w, "renumber_every = \"24h\"  # default, not fitted");
        let _ = writeln!(w, "leave_prefix = 0.5  # default, not fitted");
    } else {
        let _ = writeln!(
            w,
            "renumber_share = 0  # churn fitted from the session field as the mobile class above"
        );
    }
    if let Some(s) = &e.sharing
        && let Some((share, upa, (lo, hi), n)) = s.gateways
    {
        let _ = writeln!(
            w,
            "\n# Gateways (carrier-grade NAT, proxies): {n} addresses with more than {GATEWAY_AGENTS_PER_HOUR} distinct users in one hour"
        );
        let _ = writeln!(
            w,
            "# (an assumption: a household rarely has more browsers active at once), as shared addresses spread"
        );
        let _ = writeln!(
            w,
            "# over the address space like the log's; a carrier's contiguous block would be kind = \"cgnat\"."
        );
        let _ = writeln!(
            w,
            "[[networks]]\nkind = \"home\"\nshare = {:.4}",
            (share * 1e4).round() / 1e4
        );
        let _ = writeln!(w, "users_per_address = {upa:.4}  # 95% {lo:.4}..{hi:.4}");
        let _ = writeln!(w, "renumber_share = 0  # gateways keep their addresses");
    }
    w
}

/// Everything estimated, for fit.json.
pub fn json(e: &Estimate, source: &str) -> Value {
    let a = &e.arrivals;
    json!({
        "log": source,
        "idle_s": time::as_secs(e.idle),
        "requests": e.requests,
        "users": e.users,
        "addresses": e.addresses,
        "sessions": e.sessions,
        "arrivals": {
            "method": "new users per hour of day (UTC) over the hours the log covers; Poisson 95% intervals",
            "rate_per_s": a.rate(),
            "hourly_per_h": a.hourly.iter().map(|r| r * 3600.0).collect::<Vec<_>>(),
            "hourly_ci95_per_h": a.intervals.iter().map(|i| [i.0 * 3600.0, i.1 * 3600.0]).collect::<Vec<_>>(),
            "exposure_h": a.exposure.iter().map(|x| *x as f64 / 3.6e12).collect::<Vec<_>>(),
        },
        "requests_per_session": {
            "method": "maximum likelihood of the distribution rounded to whole requests, or the log's own histogram; lowest AIC with a finite mean; Wald 95% intervals (the histogram: a DKW 95% band of its CDF)",
            "chosen": e.requests_fit().to_json(),
            "all": e.lengths.iter().map(Fit::to_json).collect::<Vec<_>>(),
        },
        "think_s": {
            "method": "maximum likelihood of whole seconds (±0.5 s) truncated at the idle gap; lowest AIC; Wald 95% intervals",
            "chosen": e.think[0].to_json(),
            "all": e.think.iter().map(Fit::to_json).collect::<Vec<_>>(),
        },
        "returns": e.returns.as_ref().map(|r| json!({
            "method": "share and Pareto delay (scale = idle gap) by maximum likelihood, silences cut by the log's end censored",
            "share": r.share, "share_ci95": [r.share_ci.0, r.share_ci.1],
            "pareto_scale_s": e.idle as f64 / SECOND as f64,
            "pareto_shape": r.shape, "pareto_shape_ci95": [r.shape_ci.0, r.shape_ci.1],
            "observed": r.observed, "censored": r.censored,
        })),
        "users_per_address": match &e.sharing {
            Some(s) => json!({
                "method": format!("distinct users (user agents or session ids) per address; gateways: more than {GATEWAY_AGENTS_PER_HOUR} in one hour"),
                "home": s.home.0, "home_ci95": [s.home.1.0, s.home.1.1],
                "home_users": s.home_users, "home_addresses": s.home_addresses,
                "gateways": s.gateways.map(|g| json!({"share": g.0, "users_per_address": g.1, "ci95": [g.2.0, g.2.1], "addresses": g.3})),
            }),
            None => json!({"method": "not identifiable without user agents or a session field: one user per address"}),
        },
        "churn": match &e.churn {
            Some(c) => json!({
                "method": "users of one session id seen from several addresses",
                "share": c.share, "switch_rate_per_h": c.switch_rate_per_h, "changes": c.changes, "stay_s": c.stay_s,
            }),
            None => json!({"method": "not identifiable without a session field", "kept": "home renumbering defaults from ../shared/reference/workload.md §2"}),
        },
    })
}
