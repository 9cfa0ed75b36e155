//! Random quantities in scenario files: request counts, think times, service times.
//!
//! ```toml
//! think    = { dist = "exponential", mean = "30s" }
//! requests = { dist = "lognormal", median = 7, sigma = 0.9 }
//! service  = { dist = "pareto", scale = "20ms", shape = 2.5 }
//! requests = { dist = "empirical", values = [1, 2, 5], weights = [60, 30, 10] }
//! ```
//!
//! A distribution over durations takes durations ("30s") and samples seconds; a
//! distribution over counts takes plain numbers.

use rand::{Rng, RngExt};
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
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
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
    /// Exactly the values listed, each as often as its weight says: a histogram
    /// read off a log (`lbsim fit` writes one when it beats every family on AIC).
    Empirical(Empirical<V>),
}

/// Values with their weights, at least one of each and as many of one as of the other.
#[derive(Clone, Debug, Deserialize, JsonSchema, PartialEq)]
#[serde(try_from = "Listed<V>")]
#[schemars(with = "Listed<V>")]
pub struct Empirical<V> {
    values: Vec<V>,
    weights: Vec<f64>,
}

/// An empirical distribution as written, before its lists are checked.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Listed<V> {
    /// The values drawn.
    values: Vec<V>,
    /// How often each value is drawn, relative to the others.
    weights: Vec<Positive>,
}

impl<V> TryFrom<Listed<V>> for Empirical<V> {
    type Error = String;

    fn try_from(l: Listed<V>) -> Result<Self, String> {
        if l.values.is_empty() || l.values.len() != l.weights.len() {
            return Err(format!(
                "an empirical distribution needs as many `weights` as `values`, at least one \
                 (got {} values and {} weights), e.g. values = [1, 2], weights = [3, 1]",
                l.values.len(),
                l.weights.len()
            ));
        }
        Ok(Empirical {
            values: l.values,
            weights: l.weights.into_iter().map(|w| w.0).collect(),
        })
    }
}

impl<V: Magnitude> Empirical<V> {
    /// The values in base units, ascending, with their cumulative shares (the last is 1).
    fn cumulative(&self) -> Vec<(f64, f64)> {
        let mut pairs: Vec<(f64, f64)> = self
            .values
            .iter()
            .map(|v| v.base())
            .zip(self.weights.iter().copied())
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let total: f64 = self.weights.iter().sum();
        let mut below = 0.0;
        for p in &mut pairs {
            below += p.1;
            p.1 = below / total;
        }
        pairs
    }

    /// The smallest value whose cumulative share reaches `q`.
    fn quantile(&self, q: f64) -> f64 {
        let c = self.cumulative();
        c.iter().find(|p| p.1 >= q).unwrap_or(&c[c.len() - 1]).0
    }

    /// How many values are listed.
    pub fn count(&self) -> usize {
        self.values.len()
    }

    fn mean(&self) -> f64 {
        let total: f64 = self.weights.iter().sum();
        self.values
            .iter()
            .zip(&self.weights)
            .map(|(v, w)| v.base() * w)
            .sum::<f64>()
            / total
    }
}

/// A compiled distribution, ready to draw from without allocating.
#[derive(Clone, Debug)]
pub enum Sampler {
    Constant(f64),
    Exponential(Exp<f64>),
    Lognormal(LogNormal<f64>),
    Pareto(Pareto<f64>),
    Weibull(Weibull<f64>),
    /// Values ascending, with their cumulative shares: a draw is the first value
    /// whose share exceeds a uniform number.
    Empirical(Box<[(f64, f64)]>),
}

impl<V: Magnitude> Dist<V> {
    /// The parameter that sets the distribution's size (value, mean, median or
    /// scale; an empirical distribution's median), in base units.
    pub fn scale(&self) -> f64 {
        match self {
            Dist::Constant { value: v } | Dist::Exponential { mean: v } => v.base(),
            Dist::Lognormal { median: v, .. } | Dist::Pareto { scale: v, .. } | Dist::Weibull { scale: v, .. } => {
                v.base()
            }
            Dist::Empirical(e) => e.quantile(0.5),
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
            Dist::Empirical(ref e) => e.quantile(1.0 - tail),
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
            Dist::Empirical(ref e) => e.mean(),
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
            Dist::Empirical(ref e) => Sampler::Empirical(e.cumulative().into_boxed_slice()),
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
            Sampler::Empirical(c) => {
                let u: f64 = rng.random();
                c[c.partition_point(|p| p.1 <= u).min(c.len() - 1)].0
            }
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

    fn sample_mean<V: Magnitude>(d: &Dist<V>) -> f64 {
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
            let (got, want) = (sample_mean(&d), d.mean());
            assert!(
                (got - want).abs() / want < 0.02,
                "{d:?}: sampled {got}, expected {want}"
            );
        }
    }

    #[test]
    fn an_empirical_distribution_draws_its_values_by_weight() {
        let d: Dist<Positive> = Dist::Empirical(Empirical {
            values: vec![Positive(5.0), Positive(1.0), Positive(2.0)],
            weights: vec![10.0, 60.0, 30.0],
        });
        assert!((d.mean() - 1.7).abs() < 1e-12, "{}", d.mean());
        assert_eq!((d.scale(), d.p99()), (1.0, 5.0));
        let s = d.sampler();
        let mut rng = Stream::Sessions.rng(1, 0, 0);
        let mut seen = [0u32; 6];
        for _ in 0..100_000 {
            seen[s.sample_count(&mut rng) as usize] += 1;
        }
        assert_eq!((seen[0], seen[3], seen[4]), (0, 0, 0));
        for (v, share) in [(1, 0.6), (2, 0.3), (5, 0.1)] {
            let got = seen[v] as f64 / 1e5;
            assert!((got - share).abs() < 0.005, "{v}: {got} against {share}");
        }
    }

    #[test]
    fn gamma_known_values() {
        assert!((gamma(5.0) - 24.0).abs() < 1e-9);
        assert!((gamma(0.5) - std::f64::consts::PI.sqrt()).abs() < 1e-9);
    }
}
