//! Response times: an HDR histogram for quantiles plus an exact sum for the mean.

use hdrhistogram::Histogram;

use crate::engine::time::{MICROSECOND, Time};

/// Response times in microseconds, up to about 11.5 days.
pub struct Latency {
    hist: Histogram<u64>,
    sum: u128,
    count: u64,
}

impl Latency {
    /// `digits`: significant decimal digits kept by the quantiles (2 or 3).
    pub fn new(digits: u8) -> Latency {
        let hist = Histogram::new_with_bounds(1, 1 << 40, digits).expect("valid bounds");
        Latency { hist, sum: 0, count: 0 }
    }

    pub fn record(&mut self, t: Time) {
        self.hist.saturating_record((t / MICROSECOND).max(1));
        self.sum += t as u128;
        self.count += 1;
    }

    /// Mean in seconds (exact).
    pub fn mean_secs(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.sum as f64 / self.count as f64 / 1e9
        }
    }

    /// The q-quantile in seconds.
    pub fn quantile_secs(&self, q: f64) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.hist.value_at_quantile(q) as f64 / 1e6
        }
    }

    pub fn max_secs(&self) -> f64 {
        if self.count == 0 {
            f64::NAN
        } else {
            self.hist.max() as f64 / 1e6
        }
    }

    pub fn reset(&mut self) {
        self.hist.reset();
        self.sum = 0;
        self.count = 0;
    }
}
