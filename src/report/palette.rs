//! Fixed colours, so a policy (by its position in the run) and a loss cause (by
//! its name) look the same in every chart and every report.

use plotters::style::RGBColor;

/// Policy colours: the ten Tableau colours first (distinct for the usual handful
/// of policies), then their light variants; the 21st policy reuses the first.
const POLICIES: [RGBColor; 20] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
    RGBColor(196, 156, 148),
    RGBColor(247, 182, 210),
    RGBColor(199, 199, 199),
    RGBColor(219, 219, 141),
    RGBColor(158, 218, 229),
];

/// The colour of the policy at position `i` in the run.
pub fn policy(i: usize) -> RGBColor {
    POLICIES[i % POLICIES.len()]
}

/// The colour of a loss cause; address changes share shades of blue and green
/// so the eye groups them, and each other cause has its own hue.
pub fn cause(name: &str, detail: &str) -> RGBColor {
    match (name, detail) {
        ("address_changed", "mobility") => RGBColor(31, 119, 180),
        ("address_changed", "nat_pool") => RGBColor(107, 174, 214),
        ("address_changed", "renumbering") => RGBColor(23, 190, 207),
        ("address_changed", "ipv6_privacy") => RGBColor(158, 218, 229),
        ("address_changed", "proxy_egress") => RGBColor(44, 160, 44),
        ("address_changed", "happy_eyeballs") => RGBColor(152, 223, 138),
        ("address_changed", _) => RGBColor(8, 69, 148),
        ("pool_remap", _) => RGBColor(255, 127, 14),
        ("server_gone", _) => RGBColor(214, 39, 40),
        ("affinity_expired", _) => RGBColor(148, 103, 189),
        ("not_sticky", _) => RGBColor(127, 127, 127),
        ("load_spill", _) => RGBColor(140, 86, 75),
        // Requests not served: shades of pink, apart from the losses of state.
        ("not_served", "dropped") => RGBColor(227, 119, 194),
        ("not_served", "dead_connection") => RGBColor(188, 80, 144),
        ("not_served", _) => RGBColor(247, 182, 210),
        ("deploy", _) => RGBColor(255, 187, 120),
        ("autoscale", _) => RGBColor(196, 156, 148),
        ("undetected_failure", "panic") => RGBColor(156, 158, 222),
        ("undetected_failure", _) => RGBColor(57, 59, 121),
        ("split_connections", _) => RGBColor(99, 121, 57),
        ("l4_remap", _) => RGBColor(206, 109, 189),
        _ => RGBColor(188, 189, 34),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LossCause;

    #[test]
    fn every_cause_has_its_own_colour() {
        let colours: Vec<RGBColor> = LossCause::ALL.iter().map(|c| cause(c.name(), c.detail())).collect();
        for (i, a) in colours.iter().enumerate() {
            assert!(!colours[i + 1..].contains(a), "{:?} shares a colour", LossCause::ALL[i]);
        }
    }

    #[test]
    fn policy_colours_are_distinct() {
        for i in 0..POLICIES.len() {
            assert!(!POLICIES[i + 1..].contains(&policy(i)));
        }
    }
}
