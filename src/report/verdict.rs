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
        ("deploy", _) => "servers replaced by a rolling deploy".into(),
        ("undetected_failure", "panic") => "requests sent to failed servers in panic mode".into(),
        ("undetected_failure", _) => "requests sent to failed servers before their health checks noticed".into(),
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
/// percentage decimals when `None`), followed by `unit`.
pub fn estimate(xs: &[f64], decimals: Option<usize>, unit: &str) -> String {
    let e = Estimate::of(xs);
    let d = decimals.unwrap_or_else(|| pct_decimals(e.mean));
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
    // From summary.csv: the busiest server of each replication, then the mean, so
    // replications that load different servers do not average the peak away.
    if Estimate::of(&s.requests_max_mean).mean.is_finite() {
        let busiest = estimate(&s.requests_max_mean, Some(2), "×");
        parts.push(format!("busiest server at {busiest} its fair share"));
    }
    let p99 = Estimate::of(&s.p99_ms).mean;
    if p99.is_finite() {
        parts.push(format!("p99 latency {}", estimate(&s.p99_ms, Some(0), " ms")));
    }
    if parts.is_empty() {
        return "served no requests".into();
    }
    let mut text = parts.join("; ");
    text.push('.');
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
        assert_eq!(estimate(&[f64::NAN], None, "%"), "-");
    }

    #[test]
    fn every_cause_reads_as_words() {
        for c in crate::metrics::LossCause::ALL {
            assert!(!cause_words(c.name(), c.detail()).contains('_'), "{c:?}");
        }
    }
}
