//! Random quantities in scenario files: request counts, think times, service times.
//!
//! ```toml
//! think    = { dist = "exponential", mean = "30s" }
//! requests = { dist = "lognormal", median = 7, sigma = 0.9 }
//! service  = { dist = "pareto", scale = "20ms", shape = 2.5 }
//! ```
//!
//! A distribution over durations takes durations ("30s") and samples seconds; a
//! distribution over counts takes plain numbers.

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal, Pareto, Weibull};
use schemars::JsonSchema;
use serde::Deserialize;

use super::units::{Duration, Positive};

/// A value of a distribution's parameter: a duration or a plain number.
pub trait Magnitude: Copy {
    /// In base units: seconds for durations, the number itself otherwise.
    fn base(self) -> f64;
}

impl Magnitude for Duration {
    fn base(self) -> f64 {
        self.secs()
    }
}

impl Magnitude for Positive {
    fn base(self) -> f64 {
        self.0
    }
}

/// A distribution as written in a scenario file.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(tag = "dist", rename_all = "lowercase", deny_unknown_fields)]
pub enum Dist<V> {
    /// Always `value`.
    Constant { value: V },
    /// Memoryless, with the given mean.
    Exponential { mean: V },
    /// ln X is normal with mean ln(median) and standard deviation `sigma`.
    Lognormal { median: V, sigma: Positive },
    /// P(X > x) = (scale / x)^shape for x ≥ scale; heavy-tailed (SURGE think times: shape 1.5).
    Pareto { scale: V, shape: Positive },
    /// Weibull with the given scale and shape.
    Weibull { scale: V, shape: Positive },
}

/// A compiled distribution, ready to draw from without allocating.
#[derive(Clone, Copy, Debug)]
pub enum Sampler {
    Constant(f64),
    Exponential(Exp<f64>),
    Lognormal(LogNormal<f64>),
    Pareto(Pareto<f64>),
    Weibull(Weibull<f64>),
}

impl<V: Magnitude> Dist<V> {
    /// The parameter that sets the distribution's size (value, mean, median or
    /// scale), in base units.
    pub fn scale(&self) -> f64 {
        match *self {
            Dist::Constant { value: v } | Dist::Exponential { mean: v } => v.base(),
            Dist::Lognormal { median: v, .. } | Dist::Pareto { scale: v, .. } | Dist::Weibull { scale: v, .. } => {
                v.base()
            }
        }
    }

    /// The 99th percentile in base units, in closed form.
    pub fn p99(&self) -> f64 {
        // The standard normal's 99th percentile.
        const Z99: f64 = 2.326_347_874;
        let tail = 0.01f64;
        match *self {
            Dist::Constant { value } => value.base(),
            Dist::Exponential { mean } => -mean.base() * tail.ln(),
            Dist::Lognormal { median, sigma } => median.base() * (sigma.0 * Z99).exp(),
            Dist::Pareto { scale, shape } => scale.base() * tail.powf(-1.0 / shape.0),
            Dist::Weibull { scale, shape } => scale.base() * (-tail.ln()).powf(1.0 / shape.0),
        }
    }

    /// The closed-form mean in base units (infinite for a Pareto with shape ≤ 1).
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Constant { value } => value.base(),
            Dist::Exponential { mean } => mean.base(),
            Dist::Lognormal { median, sigma } => median.base() * (sigma.0 * sigma.0 / 2.0).exp(),
            Dist::Pareto { scale, shape } if shape.0 > 1.0 => shape.0 * scale.base() / (shape.0 - 1.0),
            Dist::Pareto { .. } => f64::INFINITY,
            Dist::Weibull { scale, shape } => scale.base() * gamma(1.0 + 1.0 / shape.0),
        }
    }

    pub fn sampler(&self) -> Sampler {
        // Shapes and sigmas were checked positive when read and scales are floored
        // above zero here, so the
        // constructors below cannot fail.
        match *self {
            Dist::Constant { value } => Sampler::Constant(value.base()),
            Dist::Exponential { mean } => {
                Sampler::Exponential(Exp::new(1.0 / mean.base().max(f64::MIN_POSITIVE)).expect("rate > 0"))
            }
            Dist::Lognormal { median, sigma } => Sampler::Lognormal(
                LogNormal::new(median.base().max(f64::MIN_POSITIVE).ln(), sigma.0).expect("sigma > 0"),
            ),
            Dist::Pareto { scale, shape } => {
                Sampler::Pareto(Pareto::new(scale.base().max(f64::MIN_POSITIVE), shape.0).expect("scale, shape > 0"))
            }
            Dist::Weibull { scale, shape } => {
                Sampler::Weibull(Weibull::new(scale.base().max(f64::MIN_POSITIVE), shape.0).expect("scale, shape > 0"))
            }
        }
    }
}

/// The gamma function (Lanczos approximation, g = 7), for the Weibull mean.
fn gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        std::f64::consts::PI / ((std::f64::consts::PI * x).sin() * gamma(1.0 - x))
    } else {
        let x = x - 1.0;
        let t = x + 7.5;
        let a = G[1..]
            .iter()
            .enumerate()
            .fold(G[0], |a, (i, g)| a + g / (x + i as f64 + 1.0));
        (2.0 * std::f64::consts::PI).sqrt() * t.powf(x + 0.5) * (-t).exp() * a
    }
}

impl Sampler {
    /// One draw, in base units. Inlined: it runs once or twice per request, and a
    /// constant's draw should cost nothing.
    #[inline(always)]
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Sampler::Constant(v) => *v,
            Sampler::Exponential(d) => d.sample(rng),
            Sampler::Lognormal(d) => d.sample(rng),
            Sampler::Pareto(d) => d.sample(rng),
            Sampler::Weibull(d) => d.sample(rng),
        }
    }

    /// One draw as a whole count of at least 1 (requests in a visit).
    #[inline]
    pub fn sample_count<R: Rng + ?Sized>(&self, rng: &mut R) -> u32 {
        crate::engine::time::round_to_u64(self.sample(rng)).clamp(1, u32::MAX as u64) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Stream;

    fn sample_mean<V: Magnitude>(d: Dist<V>) -> f64 {
        let s = d.sampler();
        let mut rng = Stream::Sessions.rng(1, 0, 0);
        let n = 200_000;
        (0..n).map(|_| s.sample(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_closed_forms() {
        let secs = |s: f64| Duration(crate::engine::time::from_secs(s));
        let cases: [Dist<Duration>; 4] = [
            Dist::Exponential { mean: secs(30.0) },
            Dist::Lognormal {
                median: secs(10.0),
                sigma: Positive(0.5),
            },
            Dist::Pareto {
                scale: secs(1.0),
                shape: Positive(3.0),
            },
            Dist::Weibull {
                scale: secs(2.0),
                shape: Positive(1.5),
            },
        ];
        for d in cases {
            let (got, want) = (sample_mean(d), d.mean());
            assert!(
                (got - want).abs() / want < 0.02,
                "{d:?}: sampled {got}, expected {want}"
            );
        }
    }

    #[test]
    fn gamma_known_values() {
        assert!((gamma(5.0) - 24.0).abs() < 1e-9);
        assert!((gamma(0.5) - std::f64::consts::PI.sqrt()).abs() < 1e-9);
    }
}
