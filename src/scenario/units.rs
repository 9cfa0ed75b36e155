//! Human units in scenario files: durations ("30m", "1h30m", "250ms"), rates
//! ("120/s", "0.5/h") and shares (0..1).
//!
//! Each unit is a type that deserializes itself, so a bad value is reported by the
//! TOML reader with the exact line and column where it stands.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::engine::time::{self, Time};

const DURATION_FORM: &str = "a duration such as \"250ms\", \"30s\", \"30m\", \"1h30m\", \"2d\" (units ns, us, ms, s, m, h, d), or a number of seconds";

/// A span of simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub Time);

impl Duration {
    pub fn secs(self) -> f64 {
        time::as_secs(self.0)
    }
}

fn unit_nanos(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" | "sec" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        "d" => 86_400e9,
        _ => return None,
    })
}

/// Parses "1h30m", "250ms", "2.5s", "90" (seconds).
pub fn parse_duration(text: &str) -> Result<Time, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("empty duration: expected {DURATION_FORM}"));
    }
    if let Ok(secs) = s.parse::<f64>() {
        return nonneg_secs(secs, text);
    }
    let mut total = 0.0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let unit_len = rest[num_len..]
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len() - num_len);
        let (num, unit) = (&rest[..num_len], rest[num_len..num_len + unit_len].trim());
        let value: f64 = num
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: expected {DURATION_FORM}"))?;
        let scale = unit_nanos(unit)
            .ok_or_else(|| format!("invalid duration {text:?}: unknown unit {unit:?}; expected {DURATION_FORM}"))?;
        total += value * scale;
        rest = rest[num_len + unit_len..].trim_start();
    }
    nonneg_secs(total / 1e9, text)
}

/// A duration as a scenario file writes it, the inverse of [`parse_duration`]: in
/// its largest whole unit (`2d`, `90m`, `1500ms`), otherwise in seconds with
/// decimals; `0s` for zero.
pub fn written(t: Time) -> String {
    use crate::engine::time::{DAY, HOUR, MILLISECOND, MINUTE, SECOND};
    let unit = [
        (DAY, "d"),
        (HOUR, "h"),
        (MINUTE, "m"),
        (SECOND, "s"),
        (MILLISECOND, "ms"),
    ]
    .into_iter()
    .find(|&(u, _)| t >= u && t.is_multiple_of(u));
    match unit {
        Some((u, name)) => format!("{}{name}", t / u),
        None if t == 0 => "0s".into(),
        None => format!("{}s", crate::output::num(crate::engine::time::as_secs(t))),
    }
}

fn nonneg_secs(secs: f64, text: &str) -> Result<Time, String> {
    if secs.is_finite() && secs >= 0.0 {
        Ok(time::from_secs(secs))
    } else {
        Err(format!("invalid duration {text:?}: a duration cannot be negative"))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(DURATION_FORM)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map(Duration).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                nonneg_secs(v as f64, &v.to_string()).map(Duration).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration(time::from_secs(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                nonneg_secs(v, &v.to_string()).map(Duration).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

const RATE_FORM: &str =
    "a rate such as \"120/s\", \"3/min\", \"0.5/h\" or \"2/d\" (events per unit of time), or a number per second";

/// Events per second.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Rate(pub f64);

impl Rate {
    pub fn per_sec(self) -> f64 {
        self.0
    }
}

/// Parses "120/s", "0.5/h", "3/min", or a bare number per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let s = text.trim();
    let (num, unit) = match s.split_once('/') {
        Some((n, u)) => (n.trim(), u.trim()),
        None => (s, "s"),
    };
    let value: f64 = num
        .parse()
        .map_err(|_| format!("invalid rate {text:?}: expected {RATE_FORM}"))?;
    let per = match unit {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => {
            return Err(format!(
                "invalid rate {text:?}: unknown unit {unit:?}; expected {RATE_FORM}"
            ));
        }
    };
    nonneg_rate(value / per, text)
}

/// The highest rate a scenario may give, per second: far above any real
/// balancer's arrivals, and low enough that counts over a run stay exact.
pub const MAX_RATE: f64 = 1e6;

fn nonneg_rate(v: f64, text: &str) -> Result<f64, String> {
    if (0.0..=MAX_RATE).contains(&v) {
        Ok(v)
    } else if v > MAX_RATE {
        Err(format!(
            "invalid rate {text:?}: at most 1000000/s; expected {RATE_FORM}"
        ))
    } else {
        Err(format!(
            "invalid rate {text:?}: a rate cannot be negative; expected {RATE_FORM}"
        ))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(RATE_FORM)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Rate, E> {
                parse_rate(v).map(Rate).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                nonneg_rate(v as f64, &v.to_string()).map(Rate).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                nonneg_rate(v as f64, &v.to_string()).map(Rate).map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
                // 1e308 as written, not as its 309 digits.
                let text = if v.abs() < 1e15 {
                    v.to_string()
                } else {
                    format!("{v:e}")
                };
                nonneg_rate(v, &text).map(Rate).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A fraction between 0 and 1 inclusive.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Share(pub f64);

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if (0.0..=1.0).contains(&v) {
            Ok(Share(v))
        } else {
            Err(de::Error::custom(format!(
                "invalid share {v}: expected a fraction from 0 to 1, e.g. 0.25"
            )))
        }
    }
}

/// A positive, finite number (a mean, a ratio, a count of users per address).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Positive(pub f64);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v > 0.0 {
            Ok(Positive(v))
        } else {
            Err(de::Error::custom(format!(
                "invalid value {v}: expected a number greater than 0"
            )))
        }
    }
}

/// A whole number of at least 1 (servers, workers, replications).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Count(pub u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        u32::try_from(v)
            .ok()
            .filter(|&n| n >= 1)
            .map(Count)
            .ok_or_else(|| de::Error::custom(format!("invalid count {v}: expected a whole number of at least 1")))
    }
}

/// A server weight, 1 to 1000 (HAProxy allows 256, Envoy 128; nginx has no cap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Weight(pub u32);

impl Weight {
    pub const MAX: u32 = 1000;
}

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        u32::try_from(v)
            .ok()
            .filter(|w| (1..=Weight::MAX).contains(w))
            .map(Weight)
            .ok_or_else(|| {
                de::Error::custom(format!(
                    "invalid weight {v}: expected a whole number from 1 to {}",
                    Weight::MAX
                ))
            })
    }
}

/// JSON Schemas of the units, for `lbsim schema`: what each accepts, as its
/// deserializer does (the numeric limits exactly; the text forms by pattern).
mod schema {
    use std::borrow::Cow;

    use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

    use super::*;

    /// A decimal number, as the text forms write one.
    const NUMBER: &str = r"(\d+(\.\d*)?|\.\d+)";

    impl JsonSchema for Duration {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("Duration")
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            let unit = "(ns|us|µs|ms|sec|s|min|m|h|d)";
            let pattern = format!(r"^\s*({NUMBER}|{NUMBER}\s*{unit}(\s*{NUMBER}\s*{unit})*)\s*$");
            json_schema!({
                "description": DURATION_FORM,
                "oneOf": [
                    { "type": "string", "pattern": pattern },
                    { "type": "number", "minimum": 0 }
                ]
            })
        }
    }

    impl JsonSchema for Rate {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("Rate")
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            let pattern = format!(r"^\s*{NUMBER}\s*(/\s*(s|sec|m|min|h|d)\s*)?$");
            json_schema!({
                "description": RATE_FORM,
                "oneOf": [
                    { "type": "string", "pattern": pattern },
                    { "type": "number", "minimum": 0 }
                ]
            })
        }
    }

    impl JsonSchema for Share {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("Share")
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "a fraction from 0 to 1, e.g. 0.25",
                "type": "number",
                "minimum": 0,
                "maximum": 1
            })
        }
    }

    impl JsonSchema for Positive {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("Positive")
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "a number greater than 0",
                "type": "number",
                "exclusiveMinimum": 0
            })
        }
    }

    impl JsonSchema for Count {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("Count")
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "a whole number of at least 1",
                "type": "integer",
                "minimum": 1,
                "maximum": u32::MAX
            })
        }
    }

    impl JsonSchema for Weight {
        fn schema_name() -> Cow<'static, str> {
            Cow::Borrowed("Weight")
        }

        fn json_schema(_: &mut SchemaGenerator) -> Schema {
            json_schema!({
                "description": "a server weight, a whole number from 1 to 1000",
                "type": "integer",
                "minimum": 1,
                "maximum": Weight::MAX
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_written_in_their_largest_whole_unit_and_read_back() {
        use crate::engine::time::{DAY, MILLISECOND, MINUTE, SECOND};
        let cases = [
            (30 * MINUTE, "30m"),
            (90 * MINUTE, "90m"),
            (2 * DAY, "2d"),
            (1500 * MILLISECOND, "1500ms"),
            (10 * SECOND, "10s"),
            (0, "0s"),
            (1_500_000, "0.0015s"),
        ];
        for (t, text) in cases {
            assert_eq!(written(t), text);
            assert_eq!(parse_duration(text), Ok(t), "{text}");
        }
    }
    use crate::engine::time::{HOUR, MILLISECOND, MINUTE, SECOND};

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30m"), Ok(30 * MINUTE));
        assert_eq!(parse_duration("1h30m"), Ok(HOUR + 30 * MINUTE));
        assert_eq!(parse_duration("250ms"), Ok(250 * MILLISECOND));
        assert_eq!(parse_duration("2.5s"), Ok(2500 * MILLISECOND));
        assert_eq!(parse_duration("90"), Ok(90 * SECOND));
        assert_eq!(parse_duration("1d"), Ok(24 * HOUR));
        assert!(parse_duration("30x").unwrap_err().contains("unknown unit \"x\""));
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn rates() {
        assert_eq!(parse_rate("120/s"), Ok(120.0));
        assert_eq!(parse_rate("3/min"), Ok(0.05));
        assert_eq!(parse_rate("1800/h"), Ok(0.5));
        assert_eq!(parse_rate("4"), Ok(4.0));
        assert!(parse_rate("-1/s").unwrap_err().contains("cannot be negative"));
        assert!(parse_rate("5/fortnight").is_err());
    }
}
