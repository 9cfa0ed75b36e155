//! Statistics across replications: mean, standard deviation and a Student-t 95%
//! confidence interval; and paired comparisons of two policies.
//!
//! Within a replication every policy routes the same requests (common random
//! numbers), so what varies between replications — how many users came, how many
//! phones changed address — moves policies that lose sessions for the same
//! reasons alike. Comparing them replication by replication cancels that shared
//! part: Var(B − A) = Var(A) + Var(B) − 2 Cov(A, B). The paired interval is the
//! narrower only where the correlation is high enough to pay for its fewer
//! degrees of freedom (n − 1 against 2n − 2): with 3 replications, above about
//! 0.58. Policies that lose for different reasons (round robin keeps nothing,
//! a hash loses to address changes) are barely correlated, and pairing them
//! gains nothing; the correlation is reported beside every comparison.

/// Summary of one metric over replications.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    /// Half-width of the 95% confidence interval (NaN with one replication).
    pub half_width: f64,
}

impl Estimate {
    pub fn of(xs: &[f64]) -> Estimate {
        let xs: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
        let n = xs.len();
        if n == 0 {
            return Estimate {
                n,
                mean: f64::NAN,
                sd: f64::NAN,
                half_width: f64::NAN,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Estimate {
                n,
                mean,
                sd: f64::NAN,
                half_width: f64::NAN,
            };
        }
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
        Estimate {
            n,
            mean,
            sd,
            half_width: t975(n - 1) * sd / (n as f64).sqrt(),
        }
    }

    /// The estimate as tables show it: `mean ± half-width` to `decimals` places,
    /// the mean alone from one replication, `-` without a value.
    pub fn show(&self, decimals: usize) -> String {
        match (self.mean.is_finite(), self.half_width.is_finite()) {
            (false, _) => "-".into(),
            (true, false) => format!("{:.decimals$}", self.mean),
            (true, true) => format!("{:.decimals$} ± {:.decimals$}", self.mean, self.half_width),
        }
    }
}

/// Policy B against a baseline A over the same replications.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paired {
    /// Means of A and B over the replications where both have a value.
    pub baseline_mean: f64,
    pub other_mean: f64,
    /// The per-replication differences B − A: their mean and paired-t interval.
    pub diff: Estimate,
    /// What the half-width would be if the samples were independent (pooled
    /// two-sample t, 2n − 2 degrees of freedom): what pairing saves.
    pub unpaired_half_width: f64,
    /// Pearson's correlation of A and B over the replications: how much of their
    /// variation they share (NaN when either does not vary).
    pub correlation: f64,
    /// The mean difference relative to the baseline mean, in percent.
    pub relative_pct: f64,
    /// Its 95% half-width, in percentage points (delta method; NaN when the
    /// baseline mean is 0).
    pub relative_half_width_pct: f64,
}

impl Paired {
    /// Compares `other` with `baseline`, replication by replication; pairs where
    /// either has no value are left out.
    pub fn of(baseline: &[f64], other: &[f64]) -> Paired {
        let (a, b): (Vec<f64>, Vec<f64>) = baseline
            .iter()
            .zip(other)
            .filter(|(a, b)| a.is_finite() && b.is_finite())
            .map(|(a, b)| (*a, *b))
            .unzip();
        let d: Vec<f64> = a.iter().zip(&b).map(|(a, b)| b - a).collect();
        let (ea, eb, diff) = (Estimate::of(&a), Estimate::of(&b), Estimate::of(&d));
        let n = d.len();
        let unpaired_half_width = if n < 2 {
            f64::NAN
        } else {
            t975(2 * n - 2) * ((ea.sd.powi(2) + eb.sd.powi(2)) / n as f64).sqrt()
        };
        // R = mean(d) / mean(a). To first order, R's variance is
        // Var(d − R·a) / (n · mean(a)²): the ratio estimator's delta method, which
        // keeps the pairing (the covariance of d and a) and tolerates replications
        // where the baseline itself is 0.
        let covariance = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - ea.mean) * (y - eb.mean))
            .sum::<f64>()
            / (n as f64 - 1.0);
        let correlation = covariance / (ea.sd * eb.sd);
        let ratio = diff.mean / ea.mean;
        let relative_half_width_pct = if n < 2 || ea.mean == 0.0 {
            f64::NAN
        } else {
            let residual: Vec<f64> = d.iter().zip(&a).map(|(d, a)| d - ratio * a).collect();
            let sd = Estimate::of(&residual).sd;
            100.0 * t975(n - 1) * sd / ((n as f64).sqrt() * ea.mean.abs())
        };
        Paired {
            baseline_mean: ea.mean,
            other_mean: eb.mean,
            diff,
            unpaired_half_width,
            correlation: if correlation.is_finite() { correlation } else { f64::NAN },
            relative_pct: if ea.mean == 0.0 { f64::NAN } else { 100.0 * ratio },
            relative_half_width_pct,
        }
    }
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        // Cornish-Fisher expansion around the normal quantile; exact to 3 decimals here.
        _ => {
            let (z, d): (f64, f64) = (1.959_964, df as f64);
            z + (z.powi(3) + z) / (4.0 * d) + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_of_known_sample() {
        let e = Estimate::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.5);
        assert!((e.sd - 1.290_994).abs() < 1e-6);
        assert!((e.half_width - 3.182 * 1.290_994 / 2.0).abs() < 1e-6);
        assert!((t975(60) - 2.000).abs() < 1e-3);
        assert!((t975(120) - 1.980).abs() < 1e-3);
        assert!(Estimate::of(&[7.0]).half_width.is_nan());
    }

    #[test]
    fn estimates_show_their_interval_when_they_have_one() {
        assert_eq!(Estimate::of(&[1.0, 2.0, 3.0]).show(2), "2.00 ± 2.48");
        assert_eq!(Estimate::of(&[1.25]).show(1), "1.2");
        assert_eq!(Estimate::of(&[f64::NAN]).show(2), "-");
    }

    #[test]
    fn paired_comparison_by_hand() {
        // Baseline 10, 20, 30; other 8, 17, 26: differences -2, -3, -4.
        let p = Paired::of(&[10.0, 20.0, 30.0], &[8.0, 17.0, 26.0]);
        assert_eq!((p.baseline_mean, p.other_mean), (20.0, 17.0));
        assert_eq!((p.diff.n, p.diff.mean, p.diff.sd), (3, -3.0, 1.0));
        // Paired t, 2 degrees of freedom: 4.303 · 1 / √3.
        assert!((p.diff.half_width - 4.303 / 3f64.sqrt()).abs() < 1e-9);
        // Unpaired: sds 10 and 9, pooled t with 4 degrees of freedom.
        assert!((p.unpaired_half_width - 2.776 * (181.0f64 / 3.0).sqrt()).abs() < 1e-9);
        assert!(p.diff.half_width < p.unpaired_half_width / 5.0);
        // Deviations -10, 0, 10 and -9, 0, 9: covariance 90 = 10 · 9, so r = 1.
        assert!((p.correlation - 1.0).abs() < 1e-12);
        // −3 / 20 = −15 %. Residuals d − R·a = -2 + 1.5, -3 + 3, -4 + 4.5 = -0.5, 0, 0.5:
        // sd 0.5, so the half-width is 100 · 4.303 · 0.5 / (√3 · 20).
        assert!((p.relative_pct + 15.0).abs() < 1e-12);
        assert!((p.relative_half_width_pct - 100.0 * 4.303 * 0.5 / (3f64.sqrt() * 20.0)).abs() < 1e-9);
    }

    #[test]
    fn uncorrelated_samples_gain_nothing_from_pairing() {
        // Deviations -1, 0, 1 and 2/3, -4/3, 2/3: covariance 0.
        let p = Paired::of(&[1.0, 2.0, 3.0], &[2.0, 0.0, 2.0]);
        assert!(p.correlation.abs() < 1e-12);
        // With r = 0 the differences vary as both samples together, and the paired
        // t has 2 degrees of freedom against the unpaired 4.
        assert!(p.diff.half_width > p.unpaired_half_width);
        assert!(Paired::of(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).correlation.is_nan());
    }

    #[test]
    fn pairs_missing_a_value_are_left_out() {
        let p = Paired::of(&[1.0, f64::NAN, 3.0], &[2.0, 5.0, f64::NAN]);
        assert_eq!((p.diff.n, p.diff.mean), (1, 1.0));
        assert!(p.diff.half_width.is_nan() && p.unpaired_half_width.is_nan());
        assert!(Paired::of(&[0.0, 0.0], &[1.0, 2.0]).relative_pct.is_nan());
    }
}
