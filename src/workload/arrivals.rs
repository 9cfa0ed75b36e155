//! New users arriving as a non-homogeneous Poisson process, by thinning: draw
//! candidates at the peak rate and keep each with probability rate(t)/peak.

use rand::RngExt;
use rand_distr::{Distribution, Exp};

use crate::engine::{StreamRng, Time, time};
use crate::scenario::Arrivals;

pub struct ArrivalProcess {
    model: Arrivals,
    peak: f64,
    gap: Option<Exp<f64>>,
}

impl ArrivalProcess {
    pub fn new(model: Arrivals) -> ArrivalProcess {
        let peak = model.peak_multiplier();
        let peak_rate = model.rate * peak;
        let gap = (peak_rate > 0.0).then(|| Exp::new(peak_rate).expect("positive rate"));
        ArrivalProcess { model, peak, gap }
    }

    /// The first arrival strictly after `after`, or None if there are no arrivals.
    pub fn next(&self, after: Time, rng: &mut StreamRng) -> Option<Time> {
        let gap = self.gap.as_ref()?;
        let mut t = after;
        loop {
            t = t.saturating_add(time::from_secs(gap.sample(rng)).max(1));
            if t == Time::MAX || rng.random::<f64>() * self.peak <= self.model.multiplier(t) {
                return Some(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{HOUR, MINUTE, Stream};
    use crate::scenario::Shape;

    #[test]
    fn a_flash_crowd_multiplies_the_rate_for_its_interval() {
        let model = Arrivals {
            rate: 2.0,
            shape: Shape::Flat,
            flash: vec![(HOUR, HOUR + 30 * MINUTE, 5.0)],
        };
        let p = ArrivalProcess::new(model);
        let mut rng = Stream::Arrivals.rng(4, 0, 0);
        let (mut before, mut during, mut t) = (0.0f64, 0.0f64, 0);
        while let Some(next) = p.next(t, &mut rng) {
            if next >= HOUR + 30 * MINUTE {
                break;
            }
            if next < HOUR {
                before += 1.0;
            } else {
                during += 1.0;
            }
            t = next;
        }
        // 7,200 arrivals in the hour before, 5 × 3,600 in the half hour of the crowd.
        assert!((before / 7_200.0 - 1.0).abs() < 0.04, "{before}");
        assert!((during / 18_000.0 - 1.0).abs() < 0.03, "{during}");
    }

    #[test]
    fn shaped_rate_follows_the_curve() {
        let model = Arrivals {
            rate: 1.0,
            shape: Shape::Sinusoid {
                peak_to_mean: 1.8,
                peak_hour: 20.0,
            },
            flash: Vec::new(),
        };
        let p = ArrivalProcess::new(model);
        let mut rng = Stream::Arrivals.rng(3, 0, 0);
        let mut per_hour = [0u32; 24];
        let mut t = 0;
        while let Some(next) = p.next(t, &mut rng) {
            if next >= 24 * HOUR * 10 {
                break;
            }
            per_hour[((next / HOUR) % 24) as usize] += 1;
            t = next;
        }
        let expect = |h: f64| 36_000.0 * (1.0 + 0.8 * (std::f64::consts::TAU * (h + 0.5 - 20.0) / 24.0).cos());
        for h in [8, 20] {
            let want = expect(h as f64);
            assert!(
                (per_hour[h] as f64 - want).abs() / want < 0.05,
                "hour {h}: {} vs {want}",
                per_hour[h]
            );
        }
    }
}
