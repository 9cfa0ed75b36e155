//! Simulated time: integer nanoseconds since the start of the run.
//!
//! Integers keep event order exact and identical on every machine; floating-point
//! seconds appear only at the edges (distribution sampling and reports).

/// A point in simulated time, in nanoseconds since the run started.
pub type Time = u64;

pub const MICROSECOND: Time = 1_000;
pub const MILLISECOND: Time = 1_000_000;
pub const SECOND: Time = 1_000_000_000;
pub const MINUTE: Time = 60 * SECOND;
pub const HOUR: Time = 60 * MINUTE;
pub const DAY: Time = 24 * HOUR;

/// Converts seconds to simulated time, saturating at the ends of the range.
pub fn from_secs(secs: f64) -> Time {
    round_to_u64(secs * SECOND as f64)
}

/// `x.round() as u64`: the nearest whole number (halves away from zero),
/// saturating at the ends of the range, NaN as 0. Baseline x86-64 has no rounding
/// instruction and converts to u64 in several steps, so the hot paths that draw a
/// time or a count for every request take this one through i64 instead.
#[inline]
pub fn round_to_u64(x: f64) -> u64 {
    // Below 2^52 a float has a fraction to round and converts exactly to i64.
    if (0.0..4_503_599_627_370_496.0).contains(&x) {
        let whole = x as i64;
        // Exact: `whole` is x truncated, so the difference is x's fraction.
        let up = x - whole as f64 >= 0.5;
        whole as u64 + up as u64
    } else {
        x.round() as u64
    }
}

/// Converts simulated time to seconds.
pub fn as_secs(t: Time) -> f64 {
    t as f64 / SECOND as f64
}

/// A coarse time: milliseconds since the start, in 32 bits (up to 49.7 days).
/// Per-user records use it where nanoseconds would double their size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp(pub u32);

/// The longest run whose times fit a [`Stamp`].
pub const STAMP_RANGE: Time = u32::MAX as Time * MILLISECOND;

impl From<Time> for Stamp {
    fn from(t: Time) -> Stamp {
        Stamp((t / MILLISECOND).min(u32::MAX as Time) as u32)
    }
}

impl Stamp {
    /// Milliseconds from `earlier` to this stamp (0 if `earlier` is later).
    pub fn since(self, earlier: Stamp) -> Stamp {
        Stamp(self.0.saturating_sub(earlier.0))
    }

    /// The next millisecond.
    pub fn next(self) -> Stamp {
        Stamp(self.0.saturating_add(1))
    }
}

/// Formats a time of day as `HH:MM:SS` (days roll over), for journeys and reports.
pub fn clock(t: Time) -> String {
    let s = t / SECOND;
    let (d, h, m, sec) = (s / 86_400, (s / 3600) % 24, (s / 60) % 60, s % 60);
    if d > 0 {
        format!("d{} {:02}:{:02}:{:02}", d + 1, h, m, sec)
    } else {
        format!("{h:02}:{m:02}:{sec:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_u64_is_f64_round_as_u64() {
        let edge = [
            0.0,
            0.49999999999999994,
            0.5,
            1.5,
            2.5,
            2.4999999999999996,
            1e15 + 0.5,
            4.5e15,
            1e300,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        // Whole numbers with 20 bits of fraction, up to 2^33, and their neighbours.
        let drawn = (0..100_000).flat_map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let v = (x >> 11) as f64 / 1_048_576.0;
            [
                v,
                f64::from_bits(v.to_bits() + 1),
                f64::from_bits(v.to_bits().saturating_sub(1)),
                v.floor() + 0.5,
            ]
        });
        for v in edge.into_iter().chain(drawn) {
            assert_eq!(round_to_u64(v), v.round() as u64, "{v}");
            assert_eq!(round_to_u64(-v), (-v).round() as u64, "{}", -v);
        }
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(round_to_u64(v), v.round() as u64, "{v}");
        }
    }

    #[test]
    fn seconds_round_trip() {
        assert_eq!(from_secs(1.5), 1_500_000_000);
        assert_eq!(as_secs(from_secs(2.25)), 2.25);
        assert_eq!(from_secs(-1.0), 0);
    }

    #[test]
    fn stamps_are_milliseconds() {
        assert_eq!(Stamp::from(1_999_999), Stamp(1));
        assert_eq!(Stamp::from(5 * SECOND).since(Stamp(1000)), Stamp(4000));
        assert_eq!(Stamp(3).since(Stamp(9)), Stamp(0));
        assert_eq!(Stamp::from(Time::MAX), Stamp(u32::MAX));
    }

    #[test]
    fn clock_shows_day_after_midnight() {
        assert_eq!(clock(9 * HOUR + 5 * MINUTE), "09:05:00");
        assert_eq!(clock(DAY + HOUR), "d2 01:00:00");
    }
}
