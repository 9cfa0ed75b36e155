//! Service-level objectives for the capacity planner: what the planner reads
//! from `--slo METRIC=LIMIT` and how a measured estimate is held against it.
//!
//! An objective is met when the value checked stays at or under the limit. With
//! two or more replications the value checked is the upper end of the 95%
//! confidence interval of the mean, so "met" means met with confidence, not
//! met on a lucky draw; with one replication it is the value measured.

use crate::metrics::stats::Estimate;
use crate::scenario::units;

/// What `--slo` expects, for messages.
pub const FORM: &str = "expected p99=DURATION (e.g. p99=250ms), utilisation=FRACTION (0-1, e.g. utilisation=0.7), loss=PERCENT (e.g. loss=2%) or unserved=PERCENT (e.g. unserved=0.1%)";

/// A metric an objective can bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// 99th percentile latency in the worst window, in ms.
    P99,
    /// The busiest server's busy worker time over available in the worst window, 0 to 1.
    Utilisation,
    /// Sessions lost (requests not served included), in percent.
    Loss,
    /// Requests not served (dropped at a full queue or with no server up), in percent.
    Unserved,
}

impl Target {
    /// Every target, in the order tables and files show them.
    pub const ALL: [Target; 4] = [Target::P99, Target::Utilisation, Target::Loss, Target::Unserved];

    /// The name in `--slo`.
    pub fn name(self) -> &'static str {
        match self {
            Target::P99 => "p99",
            Target::Utilisation => "utilisation",
            Target::Loss => "loss",
            Target::Unserved => "unserved",
        }
    }

    /// The summary metric (summary.csv column) it reads.
    pub fn column(self) -> &'static str {
        match self {
            // The worst window, so that a daily peak is not averaged away.
            Target::P99 => "latency_p99_ms_worst_window",
            Target::Utilisation => "utilisation_max_worst_window",
            Target::Loss => "sessions_lost_pct",
            Target::Unserved => "not_served_pct",
        }
    }

    /// Whether it is measured only when requests wait for workers.
    pub fn needs_queueing(self) -> bool {
        !matches!(self, Target::Loss | Target::Unserved)
    }

    /// A value of it, with its unit.
    pub fn show(self, x: f64) -> String {
        match self {
            Target::P99 => format!("{} ms", crate::output::num((x * 10.0).round() / 10.0)),
            Target::Utilisation => format!("{:.3}", x),
            Target::Loss | Target::Unserved => format!("{}%", crate::output::num((x * 1000.0).round() / 1000.0)),
        }
    }
}

/// One objective: `target` at most `limit` (in the target's unit).
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    pub target: Target,
    pub limit: f64,
    /// As given on the command line.
    pub text: String,
}

impl Slo {
    /// Reads `METRIC=LIMIT`.
    pub fn parse(text: &str) -> Result<Slo, String> {
        let bad = |why: &str| format!("--slo {text}: {why}{FORM}");
        let (name, value) = text.split_once('=').ok_or_else(|| bad(""))?;
        let value = value.trim();
        let (target, limit) = match name.trim() {
            "p99" => {
                let t = units::parse_duration(value).map_err(|_| bad("not a duration; "))?;
                (Target::P99, t as f64 / 1e6)
            }
            "utilisation" | "utilization" => {
                let x: f64 = value.parse().map_err(|_| bad("not a number; "))?;
                if !(x > 0.0 && x <= 1.0) {
                    return Err(bad("a fraction above 0 and at most 1; "));
                }
                (Target::Utilisation, x)
            }
            name @ ("loss" | "unserved") => {
                let x: f64 = value
                    .strip_suffix('%')
                    .and_then(|n| n.trim().parse().ok())
                    .ok_or_else(|| bad("a percentage ending in %; "))?;
                if !(0.0..=100.0).contains(&x) {
                    return Err(bad("a percentage from 0% to 100%; "));
                }
                (if name == "loss" { Target::Loss } else { Target::Unserved }, x)
            }
            _ => return Err(bad("")),
        };
        if limit <= 0.0 && target == Target::P99 {
            return Err(bad("a duration above zero; "));
        }
        Ok(Slo {
            target,
            limit,
            text: text.to_string(),
        })
    }

    /// "p99 ≤ 250 ms".
    pub fn describe(&self) -> String {
        format!("{} ≤ {}", self.target.name(), self.target.show(self.limit))
    }

    /// Whether `e` meets the objective (see [`checked`]).
    pub fn met(&self, e: &Estimate) -> bool {
        checked(e) <= self.limit
    }
}

/// The value an objective is held against: the upper 95% bound of the mean
/// with two or more replications, the mean with one; NaN (never met) when
/// nothing was measured.
pub fn checked(e: &Estimate) -> f64 {
    if e.half_width.is_finite() {
        e.mean + e.half_width
    } else {
        e.mean
    }
}

/// Checks a set of objectives: at least one, and one per metric.
pub fn check(slos: &[Slo]) -> Result<(), String> {
    if slos.is_empty() {
        return Err(format!("no --slo given: {FORM}"));
    }
    for (i, s) in slos.iter().enumerate() {
        if let Some(other) = slos[..i].iter().find(|o| o.target == s.target) {
            return Err(format!(
                "--slo {} and --slo {} both bound {}: give one objective per metric",
                other.text,
                s.text,
                s.target.name()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_read_in_their_units() {
        let p99 = Slo::parse("p99=250ms").expect("valid");
        assert_eq!((p99.target, p99.limit), (Target::P99, 250.0));
        assert_eq!(Slo::parse("p99=1s").expect("valid").limit, 1000.0);
        assert_eq!(Slo::parse("utilisation=0.7").expect("valid").limit, 0.7);
        assert_eq!(Slo::parse("loss=2%").expect("valid").limit, 2.0);
        let unserved = Slo::parse("unserved=0.1%").expect("valid");
        assert_eq!((unserved.target, unserved.limit), (Target::Unserved, 0.1));
        assert_eq!(p99.describe(), "p99 ≤ 250 ms");
    }

    #[test]
    fn bad_forms_name_the_expected_form() {
        for bad in ["p99", "p99=fast", "utilisation=70", "loss=2", "latency=1s", "loss=120%"] {
            let e = Slo::parse(bad).expect_err(bad);
            assert!(e.starts_with(&format!("--slo {bad}: ")) && e.ends_with(FORM), "{e}");
        }
        let twice = [Slo::parse("loss=1%").unwrap(), Slo::parse("loss=2%").unwrap()];
        assert!(check(&twice).expect_err("twice").contains("both bound loss"));
    }

    #[test]
    fn the_upper_bound_is_checked_with_replications() {
        let one = Estimate::of(&[0.69]);
        let three = Estimate::of(&[0.66, 0.69, 0.72]);
        let slo = Slo::parse("utilisation=0.7").unwrap();
        assert!(slo.met(&one));
        assert!(!slo.met(&three), "mean 0.69 but upper bound {}", checked(&three));
        assert!(!slo.met(&Estimate::of(&[f64::NAN])), "nothing measured is not met");
    }
}
