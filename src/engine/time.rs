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
    // `as` saturates for out-of-range floats and maps NaN to 0.
    (secs * SECOND as f64).round() as Time
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
