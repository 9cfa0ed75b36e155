//! An autoscaler's range: the fewest servers each window of the run needs on
//! its own, so that a pool following the load meets the objectives in the
//! quietest window with the least of them and at the peak with the most.
//!
//! A window is judged as the whole run is (the same objectives, the same upper
//! confidence bound over replications), on that window's metrics alone: its p99
//! latency, its busiest server's utilisation, the sessions started in it that
//! lost their state, the requests in it not served. A metric a window did not
//! measure (no requests, no session started) does not bound that window.

use super::slo::{Slo, Target};
use crate::engine::time::{self, Time};
use crate::experiment::LaneOutcome;
use crate::metrics::stats::Estimate;
use crate::output::ratio;

/// Each reported window's values of every target, in [`Target::ALL`] order.
pub fn window_values(lane: &LaneOutcome) -> Vec<[f64; Target::ALL.len()]> {
    lane.report
        .windows
        .iter()
        .map(|w| {
            let t = &w.totals;
            [
                w.p99 * 1e3,
                w.utilisation_max,
                ratio(t.visits_lost, t.visits, 100.0),
                ratio(t.not_served(), t.requests, 100.0),
            ]
        })
        .collect()
}

/// Whether one window's values (`[target][replication]`) meet every objective.
pub fn window_meets(slos: &[Slo], values: &[Vec<f64>]) -> bool {
    slos.iter().all(|s| {
        let t = Target::ALL.iter().position(|x| *x == s.target).expect("every target");
        let e = Estimate::of(&values[t]);
        e.n == 0 || s.met(&e)
    })
}

/// One policy's answer for an autoscaler.
#[derive(Clone, Debug, PartialEq)]
pub struct Range {
    /// The fewest servers of the window that needs the fewest.
    pub min: u32,
    /// The fewest servers of the window that needs the most; `None` if some
    /// window is not met by the most servers tried.
    pub max: Option<u32>,
    /// Server-hours of a pool holding each window's need through that window.
    pub server_hours: Option<f64>,
}

impl Range {
    /// The range from each window's need and span.
    pub fn of(needs: &[Option<u32>], spans: &[Time]) -> Range {
        let met: Option<Vec<u32>> = needs.iter().copied().collect();
        Range {
            min: needs.iter().flatten().copied().min().unwrap_or(0),
            max: met.as_ref().and_then(|m| m.iter().copied().max()),
            server_hours: met.map(|m| m.iter().zip(spans).map(|(&n, &s)| f64::from(n) * hours(s)).sum()),
        }
    }
}

/// A span in hours.
pub fn hours(span: Time) -> f64 {
    time::as_secs(span) / 3600.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::time::SECOND;

    #[test]
    fn a_range_spans_the_quietest_and_the_busiest_window() {
        let hour = 3600 * SECOND;
        let r = Range::of(&[Some(2), Some(6), Some(3)], &[hour, hour, hour / 2]);
        assert_eq!((r.min, r.max), (2, Some(6)));
        assert_eq!(r.server_hours, Some(2.0 + 6.0 + 1.5));
        let open = Range::of(&[Some(2), None], &[hour, hour]);
        assert_eq!((open.min, open.max, open.server_hours), (2, None, None));
    }

    #[test]
    fn a_window_that_did_not_measure_a_metric_is_not_bound_by_it() {
        let slos = [Slo::parse("p99=250ms").unwrap(), Slo::parse("loss=1%").unwrap()];
        let quiet = [vec![f64::NAN; 3], vec![0.5; 3], vec![f64::NAN; 3], vec![0.0; 3]];
        assert!(window_meets(&slos, &quiet));
        let slow = [vec![240.0, 260.0, 250.0], vec![0.5; 3], vec![0.0; 3], vec![0.0; 3]];
        assert!(!window_meets(&slos, &slow), "mean 250 ms, upper bound above it");
    }
}
