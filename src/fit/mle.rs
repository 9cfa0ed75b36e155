//! Maximum-likelihood fits of the distributions a scenario offers, to what a log
//! shows: whole counts (requests per session) and whole seconds (think times).
//!
//! A scenario draws a session's requests from a continuous distribution rounded to
//! the nearest whole number (at least 1), so a count k has the probability
//! F(k + ½) − F(k − ½), and 1 has F(1½). A logged gap of g seconds stands for any
//! gap within half a second of it; and since a gap longer than the idle time L
//! ends the session, gaps inside sessions are the distribution truncated at L:
//! (F(g + ½) − F(g − ½)) / F(L). Each family's parameters maximise the likelihood
//! (Nelder–Mead on their logarithms), and the 95% intervals come from the inverse
//! Hessian of the log-likelihood (Wald). Counts also have the data's own histogram
//! as a candidate, charged one parameter per distinct value but one; the lowest
//! AIC wins.

use serde_json::{Value, json};

/// The families fitted, by their scenario names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Exponential,
    Lognormal,
    Weibull,
    Pareto,
}

impl Family {
    pub const ALL: [Family; 4] = [Family::Exponential, Family::Lognormal, Family::Weibull, Family::Pareto];

    pub fn name(self) -> &'static str {
        match self {
            Family::Exponential => "exponential",
            Family::Lognormal => "lognormal",
            Family::Weibull => "weibull",
            Family::Pareto => "pareto",
        }
    }

    /// The scenario's names of the parameters, in order.
    pub fn parameters(self) -> &'static [&'static str] {
        match self {
            Family::Exponential => &["mean"],
            Family::Lognormal => &["median", "sigma"],
            Family::Weibull | Family::Pareto => &["scale", "shape"],
        }
    }

    /// The CDF at `x` with parameters `p` (each positive).
    pub fn cdf(self, p: &[f64], x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        match self {
            Family::Exponential => 1.0 - (-x / p[0]).exp(),
            Family::Lognormal => 0.5 * erfc(-(x / p[0]).ln() / (p[1] * std::f64::consts::SQRT_2)),
            Family::Weibull => 1.0 - (-(x / p[0]).powf(p[1])).exp(),
            Family::Pareto if x < p[0] => 0.0,
            Family::Pareto => 1.0 - (p[0] / x).powf(p[1]),
        }
    }
}

/// What is observed: whole counts of at least 1, or whole seconds below a limit.
#[derive(Clone, Copy, Debug)]
pub enum Data {
    /// Counts rounded to the nearest whole number, at least 1.
    Counts,
    /// Seconds, each within half a second, of a distribution truncated at this many.
    Seconds { limit: f64 },
}

/// What a fit draws from.
#[derive(Clone, Debug)]
pub enum Model {
    /// A family with its parameters and the 95% interval of each.
    Family {
        family: Family,
        params: Vec<f64>,
        intervals: Vec<(f64, f64)>,
    },
    /// The observed (value, count) pairs themselves; the true CDF lies within
    /// ±`band` of theirs everywhere with 95% confidence (Dvoretzky–Kiefer–Wolfowitz).
    Histogram { counts: Vec<(f64, u64)>, band: f64 },
}

/// One model fitted.
#[derive(Clone, Debug)]
pub struct Fit {
    pub model: Model,
    pub log_likelihood: f64,
    pub aic: f64,
    /// Kolmogorov–Smirnov distance between the data and the fitted (rounded) CDF.
    pub ks: f64,
}

/// The probability of observing `v`.
fn probability(family: Family, p: &[f64], data: Data, v: f64) -> f64 {
    match data {
        Data::Counts if v <= 1.0 => family.cdf(p, 1.5),
        Data::Counts => family.cdf(p, v + 0.5) - family.cdf(p, v - 0.5),
        Data::Seconds { limit } => {
            let mass = family.cdf(p, limit);
            (family.cdf(p, (v + 0.5).min(limit)) - family.cdf(p, v - 0.5)) / mass
        }
    }
}

/// The fitted CDF at the top of the observation `v`'s interval.
fn discrete_cdf(family: Family, p: &[f64], data: Data, v: f64) -> f64 {
    match data {
        Data::Counts => family.cdf(p, v + 0.5),
        Data::Seconds { limit } => family.cdf(p, (v + 0.5).min(limit)) / family.cdf(p, limit),
    }
}

fn log_likelihood(family: Family, p: &[f64], data: Data, histogram: &[(f64, u64)]) -> f64 {
    histogram
        .iter()
        .map(|&(v, n)| {
            let q = probability(family, p, data, v);
            if q > 0.0 && q.is_finite() {
                n as f64 * q.ln()
            } else {
                -1e12 * n as f64
            }
        })
        .sum()
}

/// Fits every family to `histogram` (value, how many times), and for counts the
/// histogram itself, best AIC first.
pub fn fit_all(data: Data, histogram: &[(f64, u64)]) -> Vec<Fit> {
    let mut fits: Vec<Fit> = Family::ALL.iter().map(|&f| fit(f, data, histogram)).collect();
    if let Data::Counts = data {
        fits.push(own_histogram(histogram));
    }
    fits.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    fits
}

/// The histogram as its own model: each value with its observed share, the highest
/// likelihood any model of these values reaches.
fn own_histogram(histogram: &[(f64, u64)]) -> Fit {
    let n = histogram.iter().map(|h| h.1).sum::<u64>().max(1) as f64;
    let ll: f64 = histogram.iter().map(|&(_, c)| c as f64 * (c as f64 / n).ln()).sum();
    Fit {
        aic: 2.0 * (histogram.len() as f64 - 1.0) - 2.0 * ll,
        model: Model::Histogram {
            counts: histogram.to_vec(),
            band: ((2.0f64 / 0.05).ln() / (2.0 * n)).sqrt(),
        },
        log_likelihood: ll,
        ks: 0.0,
    }
}

pub fn fit(family: Family, data: Data, histogram: &[(f64, u64)]) -> Fit {
    let n: u64 = histogram.iter().map(|h| h.1).sum();
    let mean = histogram.iter().map(|&(v, c)| v.max(0.5) * c as f64).sum::<f64>() / n.max(1) as f64;
    let start: Vec<f64> = match family {
        Family::Exponential => vec![mean.ln()],
        Family::Lognormal | Family::Weibull => vec![mean.ln(), 0.0],
        Family::Pareto => vec![(0.5f64).ln(), 0.0],
    };
    let nll = |theta: &[f64]| {
        let p: Vec<f64> = theta.iter().map(|t| t.clamp(-30.0, 30.0).exp()).collect();
        -log_likelihood(family, &p, data, histogram)
    };
    let theta = nelder_mead(&nll, &start);
    let params: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
    let ll = -nll(&theta);
    let se = standard_errors(&nll, &theta);
    let intervals = theta
        .iter()
        .zip(&se)
        .map(|(t, s)| ((t - 1.96 * s).exp(), (t + 1.96 * s).exp()))
        .collect();
    let mut below = 0u64;
    let mut ks: f64 = 0.0;
    for &(v, c) in histogram {
        let before = below as f64 / n as f64;
        below += c;
        let model = discrete_cdf(family, &params, data, v);
        let model_before = match data {
            Data::Counts if v <= 1.0 => 0.0,
            _ => discrete_cdf(family, &params, data, v - 1.0).max(0.0),
        };
        ks = ks
            .max((below as f64 / n as f64 - model).abs())
            .max((before - model_before).abs());
    }
    Fit {
        aic: 2.0 * theta.len() as f64 - 2.0 * ll,
        model: Model::Family {
            family,
            params,
            intervals,
        },
        log_likelihood: ll,
        ks,
    }
}

impl Fit {
    /// The model's name in scenario files.
    pub fn name(&self) -> &'static str {
        match &self.model {
            Model::Family { family, .. } => family.name(),
            Model::Histogram { .. } => "empirical",
        }
    }

    /// Whether draws from the model have a finite mean (a Pareto's shape above 1).
    pub fn finite_mean(&self) -> bool {
        match &self.model {
            Model::Family {
                family: Family::Pareto,
                params,
                ..
            } => params[1] > 1.0,
            _ => true,
        }
    }

    pub fn to_json(&self) -> Value {
        let model = match &self.model {
            Model::Family {
                family,
                params,
                intervals,
            } => {
                let parameters: serde_json::Map<String, Value> = family
                    .parameters()
                    .iter()
                    .zip(params.iter().zip(intervals))
                    .map(|(name, (v, ci))| (name.to_string(), json!({ "value": v, "ci95": [ci.0, ci.1] })))
                    .collect();
                json!({ "parameters": parameters })
            }
            Model::Histogram { counts, band } => json!({
                "values": counts.iter().map(|c| c.0).collect::<Vec<_>>(),
                "counts": counts.iter().map(|c| c.1).collect::<Vec<_>>(),
                "cdf_band95": band,
            }),
        };
        let mut out = json!({
            "dist": self.name(),
            "log_likelihood": self.log_likelihood,
            "aic": self.aic,
            "ks": self.ks,
        });
        if let (Value::Object(o), Value::Object(m)) = (&mut out, model) {
            o.extend(m);
        }
        out
    }
}

/// Sorted (value, count) pairs of `values`.
pub fn histogram(values: impl IntoIterator<Item = u64>) -> Vec<(f64, u64)> {
    let mut counts = std::collections::BTreeMap::new();
    for v in values {
        *counts.entry(v).or_insert(0u64) += 1;
    }
    counts.into_iter().map(|(v, c)| (v as f64, c)).collect()
}

/// Minimises `f` from `start` (Nelder–Mead with the usual coefficients).
pub fn nelder_mead(f: &dyn Fn(&[f64]) -> f64, start: &[f64]) -> Vec<f64> {
    let d = start.len();
    let mut simplex: Vec<(Vec<f64>, f64)> = (0..=d)
        .map(|i| {
            let mut x = start.to_vec();
            if i > 0 {
                x[i - 1] += 0.5;
            }
            let fx = f(&x);
            (x, fx)
        })
        .collect();
    for _ in 0..2000 {
        simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
        if (simplex[d].1 - simplex[0].1).abs() < 1e-10 * (1.0 + simplex[0].1.abs()) {
            break;
        }
        let centroid: Vec<f64> = (0..d)
            .map(|j| simplex[..d].iter().map(|s| s.0[j]).sum::<f64>() / d as f64)
            .collect();
        let toward = |c: f64| -> Vec<f64> {
            (0..d)
                .map(|j| centroid[j] + c * (simplex[d].0[j] - centroid[j]))
                .collect()
        };
        let reflected = toward(-1.0);
        let fr = f(&reflected);
        if fr < simplex[0].1 {
            let expanded = toward(-2.0);
            let fe = f(&expanded);
            simplex[d] = if fe < fr { (expanded, fe) } else { (reflected, fr) };
        } else if fr < simplex[d - 1].1 {
            simplex[d] = (reflected, fr);
        } else {
            let contracted = toward(0.5);
            let fc = f(&contracted);
            if fc < simplex[d].1 {
                simplex[d] = (contracted, fc);
            } else {
                let best = simplex[0].0.clone();
                for s in simplex.iter_mut().skip(1) {
                    s.0 = (0..d).map(|j| best[j] + 0.5 * (s.0[j] - best[j])).collect();
                    s.1 = f(&s.0);
                }
            }
        }
    }
    simplex.sort_by(|a, b| a.1.total_cmp(&b.1));
    simplex.swap_remove(0).0
}

/// Standard errors of the minimum of the negative log-likelihood `f` at `x`, from
/// its numerical Hessian.
pub fn standard_errors(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let d = x.len();
    let h = 1e-3;
    let at = |di: &[(usize, f64)]| {
        let mut y = x.to_vec();
        for &(i, s) in di {
            y[i] += s;
        }
        f(&y)
    };
    let mut hess = vec![vec![0.0; d]; d];
    for (i, row) in hess.iter_mut().enumerate() {
        for (j, cell) in row.iter_mut().enumerate() {
            *cell = if i == j {
                (at(&[(i, h)]) - 2.0 * f(x) + at(&[(i, -h)])) / (h * h)
            } else {
                (at(&[(i, h), (j, h)]) - at(&[(i, h), (j, -h)]) - at(&[(i, -h), (j, h)]) + at(&[(i, -h), (j, -h)]))
                    / (4.0 * h * h)
            };
        }
    }
    let variances = match d {
        1 => vec![1.0 / hess[0][0]],
        _ => {
            let det = hess[0][0] * hess[1][1] - hess[0][1] * hess[1][0];
            vec![hess[1][1] / det, hess[0][0] / det]
        }
    };
    variances
        .into_iter()
        .map(|v| if v > 0.0 { v.sqrt() } else { f64::INFINITY })
        .collect()
}

/// The complementary error function (Numerical Recipes' Chebyshev fit, relative
/// error below 1.2e-7).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, LogNormal};

    #[test]
    fn recovers_a_rounded_lognormal_and_prefers_it() {
        let mut rng = crate::engine::Stream::Sessions.rng(7, 0, 0);
        let d = LogNormal::new(7f64.ln(), 0.8).unwrap();
        let counts = histogram((0..20_000).map(|_| (d.sample(&mut rng).round() as u64).max(1)));
        let fits = fit_all(Data::Counts, &counts);
        let best = &fits[0];
        let Model::Family {
            family: Family::Lognormal,
            intervals,
            ..
        } = &best.model
        else {
            panic!("{fits:?}")
        };
        assert!(intervals[0].0 < 7.0 && 7.0 < intervals[0].1, "{best:?}");
        assert!(intervals[1].0 < 0.8 && 0.8 < intervals[1].1, "{best:?}");
        assert!(best.ks < 0.02, "{best:?}");
    }

    #[test]
    fn a_histogram_no_family_follows_beats_them_all() {
        // Half the sessions are one request and half are twenty: no rounded family
        // puts both spikes where they are, and two values cost the histogram one
        // parameter only.
        let counts = [(1.0, 500), (20.0, 500)];
        let fits = fit_all(Data::Counts, &counts);
        assert_eq!(fits[0].name(), "empirical", "{fits:?}");
        assert!((fits[0].log_likelihood - 1000.0 * 0.5f64.ln()).abs() < 1e-9);
        assert_eq!(fits[0].aic, 2.0 - 2.0 * fits[0].log_likelihood);
    }

    #[test]
    fn only_counts_are_offered_their_histogram() {
        let gaps = [(3.0, 40), (9.0, 25), (30.0, 10)];
        let fits = fit_all(Data::Seconds { limit: 1800.0 }, &gaps);
        assert!(fits.iter().all(|f| f.name() != "empirical"), "{fits:?}");
    }

    #[test]
    fn erfc_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-6);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-6);
    }
}
