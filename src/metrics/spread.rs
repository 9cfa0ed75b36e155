//! How unevenly load is spread over servers: max/mean, coefficient of variation
//! and Jain's fairness index (1 = perfectly even, 1/n = all on one server).

/// Spread statistics of one set of per-server loads.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Spread {
    pub max_over_mean: f64,
    pub cv: f64,
    pub jain: f64,
}

impl Spread {
    /// NaN for an empty set or no load at all: there is nothing to compare.
    pub fn of(loads: impl IntoIterator<Item = f64>) -> Spread {
        let (mut n, mut sum, mut sq, mut max) = (0.0, 0.0, 0.0, 0.0f64);
        for x in loads {
            n += 1.0;
            sum += x;
            sq += x * x;
            max = max.max(x);
        }
        if n == 0.0 || sum == 0.0 {
            return Spread {
                max_over_mean: f64::NAN,
                cv: f64::NAN,
                jain: f64::NAN,
            };
        }
        let mean = sum / n;
        let var = (sq / n - mean * mean).max(0.0);
        Spread {
            max_over_mean: max / mean,
            cv: var.sqrt() / mean,
            jain: sum * sum / (n * sq),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_and_skewed() {
        let even = Spread::of([5.0, 5.0, 5.0, 5.0]);
        assert_eq!(
            even,
            Spread {
                max_over_mean: 1.0,
                cv: 0.0,
                jain: 1.0
            }
        );
        let one = Spread::of([8.0, 0.0, 0.0, 0.0]);
        assert_eq!(one.max_over_mean, 4.0);
        assert_eq!(one.jain, 0.25);
        assert!((one.cv - 3f64.sqrt()).abs() < 1e-12);
        assert!(Spread::of([]).jain.is_nan());
    }
}
