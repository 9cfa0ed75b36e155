//! One plain-language sentence per policy, generated from its numbers: how many
//! sessions it loses and to what, how unevenly it loads the servers, and its tail
//! latency when the run measured it.

use super::data::RunData;
use crate::metrics::stats::Estimate;

/// What a loss cause means, in words for someone who has not read the README.
fn cause_words(name: &str, detail: &str) -> String {
    match (name, detail) {
        ("address_changed", "mobility") => "phones switching between WiFi and cellular".into(),
        ("address_changed", "scripted_move") => "scripted address moves".into(),
        ("address_changed", "renumbering") => "ISPs renumbering home routers".into(),
        ("address_changed", "ipv6_privacy") => "new IPv6 temporary addresses".into(),
        ("address_changed", "nat_pool") => "carrier NAT moving connections to another address".into(),
        ("address_changed", "proxy_egress") => "proxies sending connections out of another address".into(),
        ("address_changed", "happy_eyeballs") => "connections switching between IPv4 and IPv6".into(),
        ("pool_remap", _) => "pool changes remapping clients to other servers".into(),
        ("server_gone", _) => "servers that failed or were removed".into(),
        ("affinity_expired", _) => "its affinity memory expiring or being evicted".into(),
        ("not_sticky", _) => "having no affinity at all".into(),
        ("load_spill", _) => "moving clients away for load".into(),
        ("not_served", "dropped") => "requests turned away by full waiting lines".into(),
        ("not_served", "unroutable") => "requests arriving while no server was up".into(),
        ("not_served", "dead_connection") => "requests dropped on connections to servers that were gone".into(),
        ("deploy", _) => "servers replaced by a rolling deploy".into(),
        ("autoscale", _) => "servers added or removed by the autoscaler".into(),
        ("undetected_failure", "panic") => "requests sent to failed servers in panic mode".into(),
        ("split_connections", _) => "a user's connections split across two servers after a pool change".into(),
        ("undetected_failure", _) => "requests sent to failed servers before their health checks noticed".into(),
        ("l4_remap", _) => "the L4 tier sending clients to L7 instances that did not know them".into(),
        (name, "") => name.replace('_', " "),
        (name, detail) => format!("{} ({})", name.replace('_', " "), detail.replace('_', " ")),
    }
}

/// Decimals that suit a percentage of this size: 3.1%, 0.25%, 0.012%.
fn pct_decimals(x: f64) -> usize {
    if x >= 1.0 {
        1
    } else if x >= 0.1 {
        2
    } else {
        3
    }
}

/// `mean` or `mean ± half-width`, both with `decimals` (or the mean's
/// percentage decimals when `None`, and more where the half-width needs them),
/// followed by `unit`.
pub fn estimate(xs: &[f64], decimals: Option<usize>, unit: &str) -> String {
    let e = Estimate::of(xs);
    // Enough decimals for the half-width's first digit (up to 3), so an
    // interval never reads "± 0.0".
    let interval = if e.half_width > 0.0 {
        (-e.half_width.log10()).ceil().clamp(0.0, 3.0) as usize
    } else {
        0
    };
    let d = decimals.unwrap_or_else(|| pct_decimals(e.mean)).max(interval);
    if !e.mean.is_finite() {
        "-".into()
    } else if e.half_width.is_finite() {
        format!("{:.d$}{unit} ± {:.d$}{unit}", e.mean, e.half_width)
    } else {
        format!("{:.d$}{unit}", e.mean)
    }
}

/// The sentence for the policy at position `p`.
pub fn sentence(d: &RunData, p: usize) -> String {
    let s = &d.summary[p];
    let lost = Estimate::of(&s.sessions_lost_pct).mean;
    let mut parts = Vec::new();
    if lost == 0.0 {
        parts.push("loses no sessions".to_string());
    } else if lost.is_finite() {
        let mut part = format!("loses {} of sessions", estimate(&s.sessions_lost_pct, None, "%"));
        let losses = &d.cause_losses[p];
        let total: f64 = losses.iter().filter(|x| x.is_finite()).sum();
        let top = (0..losses.len())
            .filter(|&k| losses[k].is_finite())
            .max_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(b.cmp(&a)));
        if let Some(k) = top.filter(|_| total > 0.0) {
            let share = losses[k] / total;
            let words = cause_words(&d.causes[k].name, &d.causes[k].detail);
            let lead = if share > 0.5 { "mostly to" } else { "most often to" };
            part.push_str(&format!(", {lead} {words} ({:.0}% of losses)", share * 100.0));
        }
        parts.push(part);
    }
    let unserved = Estimate::of(&s.not_served_pct).mean;
    if unserved > 0.0 {
        parts.push(format!(
            "leaves {} of requests unserved",
            estimate(&s.not_served_pct, None, "%")
        ));
    }
    // From summary.csv: the busiest server of each replication, then the mean, so
    // replications that load different servers do not average the peak away.
    if Estimate::of(&s.requests_max_mean).mean.is_finite() {
        let busiest = estimate(&s.requests_max_mean, Some(2), "×");
        parts.push(format!("busiest server at {busiest} its fair share"));
    }
    let p99 = Estimate::of(&s.p99_ms).mean;
    if p99.is_finite() {
        parts.push(format!(
            "p99 latency {} over the run",
            estimate(&s.p99_ms, Some(0), " ms")
        ));
    }
    if parts.is_empty() {
        return "served no requests".into();
    }
    let mut text = parts.join("; ");
    text.push('.');
    text
}

/// 104000 as "104,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The policy to deploy: the fewest sessions lost, then the fewest requests left
/// unanswered, then the lower p99, then the more even load (means over
/// replications); `None` without any policy.
pub fn best(d: &RunData) -> Option<usize> {
    let key = |p: usize| {
        let s = &d.summary[p];
        let m = |xs: &[f64]| {
            let x = Estimate::of(xs).mean;
            if x.is_finite() { x } else { f64::INFINITY }
        };
        [
            m(&s.sessions_lost_pct),
            m(&s.not_served_pct),
            m(&s.p99_ms),
            m(&s.requests_max_mean),
        ]
    };
    (0..d.policies.len()).min_by(|&a, &b| {
        let (ka, kb) = (key(a), key(b));
        ka.iter()
            .zip(&kb)
            .fold(std::cmp::Ordering::Equal, |o, (x, y)| o.then(x.total_cmp(y)))
            .then(a.cmp(&b))
    })
}

/// The report's opening paragraph: which policy to deploy, on how many servers,
/// what it costs in lost sessions (with intervals over replications), how it
/// compares with the next best and the worst, and how close the call is.
pub fn answer(d: &RunData) -> String {
    let Some(b) = best(d) else {
        return "The run compared no policies.".into();
    };
    let s = &d.summary[b];
    let lost = Estimate::of(&s.sessions_lost_pct);
    let sessions = d.meta.get("sessions").and_then(|v| v.as_f64()).unwrap_or(f64::NAN) / d.replications.max(1) as f64;
    let mut text = format!(
        "Deploy {}: on this pool of {} server{} it loses {} of sessions",
        d.policies[b],
        d.servers.len(),
        if d.servers.len() == 1 { "" } else { "s" },
        estimate(&s.sessions_lost_pct, None, "%")
    );
    if sessions.is_finite() && lost.mean.is_finite() {
        text.push_str(&format!(
            " (about {} of the {} sessions of a replication)",
            thousands((sessions * lost.mean / 100.0).round() as u64),
            thousands(sessions.round() as u64)
        ));
    }
    if d.policies.len() > 1 {
        text.push_str(&format!(", the fewest of the {} policies compared", d.policies.len()));
    }
    text.push('.');
    let mut others: Vec<usize> = (0..d.policies.len()).filter(|&p| p != b).collect();
    let mean = |p: usize| Estimate::of(&d.summary[p].sessions_lost_pct).mean;
    others.sort_by(|&x, &y| mean(x).total_cmp(&mean(y)).then(x.cmp(&y)));
    if let Some(&next) = others.first() {
        let n = &d.summary[next];
        text.push_str(&format!(
            " The next best, {}, loses {}",
            d.policies[next],
            estimate(&n.sessions_lost_pct, None, "%")
        ));
        let e = Estimate::of(&n.sessions_lost_pct);
        let overlap = lost.half_width.is_finite() && e.mean - e.half_width <= lost.mean + lost.half_width;
        if overlap {
            text.push_str(", within the confidence intervals: more replications would tell them apart");
        }
        text.push('.');
    }
    if let Some(&worst) = others.last().filter(|_| others.len() > 1) {
        text.push_str(&format!(
            " The worst, {}, loses {}.",
            d.policies[worst],
            estimate(&d.summary[worst].sessions_lost_pct, None, "%")
        ));
    }
    if Estimate::of(&s.requests_max_mean).mean.is_finite() {
        text.push_str(&format!(
            " With {}, the busiest server carries {} its fair share",
            d.policies[b],
            estimate(&s.requests_max_mean, Some(2), "×")
        ));
        if Estimate::of(&s.p99_ms).mean.is_finite() {
            text.push_str(&format!(
                " and 99% of requests are answered within {}",
                estimate(&s.p99_ms, Some(0), " ms")
            ));
        }
        text.push('.');
    }
    text.push_str(
        " For the fewest servers each policy needs to meet latency, utilisation and loss objectives, run lbsim plan.",
    );
    if d.replications < 2 {
        text.push_str(" One replication: these are single measurements, without confidence intervals.");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_show_the_half_width_only_with_replications() {
        assert_eq!(estimate(&[3.0], None, "%"), "3.0%");
        assert_eq!(estimate(&[3.0, 3.2, 3.1], None, "%"), "3.1% ± 0.2%");
        assert_eq!(estimate(&[0.5, 0.52], Some(3), ""), "0.510 ± 0.127");
        // The half-width's first digit always shows.
        assert_eq!(estimate(&[1.03, 1.04, 1.02], None, "%"), "1.03% ± 0.02%");
        assert_eq!(estimate(&[1.0, 1.0], Some(2), "×"), "1.00× ± 0.00×");
        assert_eq!(estimate(&[f64::NAN], None, "%"), "-");
    }

    #[test]
    fn every_cause_reads_as_words() {
        for c in crate::metrics::LossCause::ALL {
            assert!(!cause_words(c.name(), c.detail()).contains('_'), "{c:?}");
        }
    }
}
