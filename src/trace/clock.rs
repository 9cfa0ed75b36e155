//! Calendar times as access logs write them, turned into nanoseconds since the
//! Unix epoch (UTC). Each line carries its own zone offset, so a log that crosses
//! a daylight-saving change, or mixes servers in several zones, still comes out in
//! one true order.

/// Nanoseconds in a second, as the signed type epoch times use.
const NS: i64 = 1_000_000_000;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`, exact for every year).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A local date and time with its offset east of UTC, checked and converted.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    /// Up to 60, for a leap second.
    second: u32,
    nanos: u32,
    offset_minutes: i64,
}

impl Civil {
    fn unix_nanos(&self) -> Option<i64> {
        let valid = (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
            && self.offset_minutes.abs() < 24 * 60;
        if !valid {
            return None;
        }
        let secs = days_from_civil(self.year, self.month, self.day) * 86_400
            + (self.hour * 3600 + self.minute * 60 + self.second) as i64
            - self.offset_minutes * 60;
        secs.checked_mul(NS)?.checked_add(self.nanos as i64)
    }
}

/// The decimal number in `digits` (ASCII digits only, at least one).
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(digits.iter().fold(0, |n, d| n * 10 + (d - b'0') as u32))
}

/// `+hhmm` or `-hhmm` (Common Log Format), or `+hh:mm`, `-hh:mm` (RFC 3339), in minutes.
fn offset(text: &[u8], colon: bool) -> Option<i64> {
    let sign = match text.first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = match (colon, text.len()) {
        (false, 5) => (&text[1..3], &text[3..5]),
        (true, 6) if text[3] == b':' => (&text[1..3], &text[4..6]),
        _ => return None,
    };
    let (h, m) = (number(h)? as i64, number(m)? as i64);
    (m < 60).then_some(sign * (h * 60 + m))
}

/// The time of a Common Log Format line, `dd/Mon/yyyy:HH:MM:SS ±hhmm`.
pub fn clf(text: &[u8]) -> Option<i64> {
    let [
        d1,
        d2,
        b'/',
        m1,
        m2,
        m3,
        b'/',
        y1,
        y2,
        y3,
        y4,
        b':',
        h1,
        h2,
        b':',
        i1,
        i2,
        b':',
        s1,
        s2,
        b' ',
        zone @ ..,
    ] = text
    else {
        return None;
    };
    let month = MONTHS.iter().position(|m| **m == [*m1, *m2, *m3])? as u32 + 1;
    Civil {
        year: number(&[*y1, *y2, *y3, *y4])? as i64,
        month,
        day: number(&[*d1, *d2])?,
        hour: number(&[*h1, *h2])?,
        minute: number(&[*i1, *i2])?,
        second: number(&[*s1, *s2])?,
        nanos: 0,
        offset_minutes: offset(zone, false)?,
    }
    .unix_nanos()
}

/// An RFC 3339 time, `yyyy-mm-ddTHH:MM:SS[.fraction](Z|±hh:mm)`; a space may stand
/// for the `T`, as RFC 3339 allows.
pub fn rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let [
        y1,
        y2,
        y3,
        y4,
        b'-',
        m1,
        m2,
        b'-',
        d1,
        d2,
        t,
        h1,
        h2,
        b':',
        i1,
        i2,
        b':',
        s1,
        s2,
        rest @ ..,
    ] = b
    else {
        return None;
    };
    if !matches!(t, b'T' | b't' | b' ') {
        return None;
    }
    let (nanos, zone) = match rest {
        [b'.', tail @ ..] => {
            let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            (fraction(&tail[..digits])?, &tail[digits..])
        }
        _ => (0, rest),
    };
    let offset_minutes = match zone {
        b"Z" | b"z" => 0,
        _ => offset(zone, true)?,
    };
    Civil {
        year: number(&[*y1, *y2, *y3, *y4])? as i64,
        month: number(&[*m1, *m2])?,
        day: number(&[*d1, *d2])?,
        hour: number(&[*h1, *h2])?,
        minute: number(&[*i1, *i2])?,
        second: number(&[*s1, *s2])?,
        nanos,
        offset_minutes,
    }
    .unix_nanos()
}

/// Decimal fraction digits as nanoseconds; digits past the ninth are dropped.
fn fraction(digits: &[u8]) -> Option<u32> {
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let kept = &digits[..digits.len().min(9)];
    Some(number(kept)? * 10u32.pow(9 - kept.len() as u32))
}

/// Seconds since the Unix epoch, `1700000000` or `1700000000.25`.
pub fn unix_seconds(text: &str) -> Option<i64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    let nanos = if frac.is_empty() { 0 } else { fraction(frac.as_bytes())? };
    secs.checked_mul(NS)?.checked_add(nanos as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_log_times_carry_their_zone() {
        // 1995-07-01 00:00:01 at -0400 is 04:00:01 UTC.
        assert_eq!(clf(b"01/Jul/1995:00:00:01 -0400"), Some(804_571_201 * NS));
        assert_eq!(clf(b"01/Jul/1995:04:00:01 +0000"), Some(804_571_201 * NS));
        assert_eq!(clf(b"29/Feb/2024:23:59:59 +0530"), Some((1_709_251_199 - 19_800) * NS));
        for bad in [
            "29/Feb/2023:00:00:00 +0000",
            "01/Jux/1995:00:00:01 -0400",
            "01/Jul/1995:24:00:01 -0400",
            "01/Jul/1995:00:00:01",
            "1/Jul/1995:00:00:01 -0400",
            "01/Jul/1995:00:00:01 -04000",
        ] {
            assert_eq!(clf(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn rfc3339_and_unix_seconds_agree() {
        let t = 804_571_201 * NS;
        assert_eq!(rfc3339("1995-07-01T04:00:01Z"), Some(t));
        assert_eq!(rfc3339("1995-07-01 00:00:01-04:00"), Some(t));
        assert_eq!(rfc3339("1995-07-01T04:00:01.25Z"), Some(t + NS / 4));
        assert_eq!(unix_seconds("804571201"), Some(t));
        assert_eq!(unix_seconds("804571201.000000001"), Some(t + 1));
        for bad in ["1995-07-01T04:00:01", "1995-13-01T04:00:01Z", "1995-07-01T04:00:01.Z"] {
            assert_eq!(rfc3339(bad), None, "{bad}");
        }
        for bad in ["", "-5", "1e9", "12.x", "."] {
            assert_eq!(unix_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_count_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
    }
}
