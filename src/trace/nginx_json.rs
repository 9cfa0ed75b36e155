//! nginx access logs written as JSON, one object per line.
//!
//! nginx (1.11.8 and later) escapes variables for JSON with `escape=json`
//! (`ngx_http_log_module`, directive `log_format`), so a log format like
//!
//! ```nginx
//! log_format json escape=json '{"time_iso8601":"$time_iso8601","remote_addr":"$remote_addr",'
//!                             '"request":"$request","status":"$status"}';
//! ```
//!
//! writes lines such as
//!
//! ```text
//! {"time_iso8601":"2024-03-10T14:02:07+01:00","remote_addr":"203.0.113.7","request":"GET / HTTP/1.1","status":"200"}
//! ```
//!
//! The keys are whatever the configuration names them, so which key holds the
//! client, the time and the request is told ([`Keys`]); by default they are named
//! after the variables, `remote_addr`, `time_iso8601` and `request`. The time may
//! be `$time_iso8601`, `$time_local` (`10/Mar/2024:14:02:07 +0100`) or `$msec`
//! (Unix seconds, `1710075727.123`, quoted or not). Other keys are ignored; the
//! request is only checked to be there, as a string, since it is what makes the
//! line a request.

use std::collections::HashMap;
use std::ops::Range;

use serde_json::value::RawValue;

use super::fields::Bad;
use super::log::Line;

/// Which keys of a JSON line hold what a replay needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    pub client: String,
    pub time: String,
    pub request: String,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys {
            client: "remote_addr".into(),
            time: "time_iso8601".into(),
            request: "request".into(),
        }
    }
}

/// Reads one JSON line and takes the client and time from it, decoding the
/// client into `client`.
pub fn line<'c>(text: &[u8], keys: &Keys, client: &'c mut String) -> Result<Line<'c>, Bad> {
    let (time, _) = read(text, keys, client)?;
    Ok(Line {
        client: client.as_str(),
        time,
    })
}

/// Where on a good line the client's value is, quotes included, and the client
/// decoded into `client`.
pub fn client_span(text: &[u8], keys: &Keys, client: &mut String) -> Result<Range<usize>, Bad> {
    read(text, keys, client).map(|(_, span)| span)
}

/// The time of a JSON line and the span of its client's value.
fn read(text: &[u8], keys: &Keys, client: &mut String) -> Result<(i64, Range<usize>), Bad> {
    let object: HashMap<String, &RawValue> = serde_json::from_slice(text).map_err(|e| Bad {
        column: e.column().max(1),
        why: match e.classify() {
            serde_json::error::Category::Data => "not a JSON object of keys and values",
            _ => "not valid JSON",
        },
    })?;
    let column = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize + 1;
    let whole = Bad { column: 1, why: "" };
    let addr = object.get(&keys.client).ok_or(Bad {
        why: "no client key (--json-client)",
        ..whole
    })?;
    *client = serde_json::from_str::<String>(addr.get()).map_err(|_| Bad {
        column: column(addr),
        why: "the client is not a string",
    })?;
    if client.is_empty() {
        return Err(Bad {
            column: column(addr),
            why: "the client is empty",
        });
    }
    let when = object.get(&keys.time).ok_or(Bad {
        why: "no time key (--json-time)",
        ..whole
    })?;
    let time = time_of(when.get()).ok_or(Bad {
        column: column(when),
        why: "the time is not $time_iso8601, $time_local or $msec",
    })?;
    let request = object.get(&keys.request).ok_or(Bad {
        why: "no request key (--json-request)",
        ..whole
    })?;
    if !request.get().starts_with('"') {
        return Err(Bad {
            column: column(request),
            why: "the request is not a string",
        });
    }
    let start = column(addr) - 1;
    Ok((time, start..start + addr.get().len()))
}

/// A time as nginx writes `$time_iso8601`, `$time_local` or `$msec`.
fn time_of(raw: &str) -> Option<i64> {
    let text = match raw.strip_prefix('"') {
        Some(_) => serde_json::from_str::<String>(raw).ok()?,
        None => raw.to_string(),
    };
    super::clock::rfc3339(&text)
        .or_else(|| super::clock::clf(text.as_bytes()))
        .or_else(|| super::clock::unix_seconds(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1_000_000_000;

    fn read(text: &str, keys: &Keys) -> Result<(String, i64), Bad> {
        let mut client = String::new();
        line(text.as_bytes(), keys, &mut client).map(|l| (l.client.to_string(), l.time))
    }

    #[test]
    fn reads_each_time_variable() {
        let t = 1_710_075_727 * NS;
        let keys = Keys::default();
        for time in [
            r#""2024-03-10T14:02:07+01:00""#,
            r#""10/Mar/2024:14:02:07 +0100""#,
            r#""1710075727.000""#,
            "1710075727",
        ] {
            let text = format!(r#"{{"time_iso8601":{time},"remote_addr":"203.0.113.7","request":"GET / HTTP/1.1"}}"#);
            assert_eq!(read(&text, &keys), Ok(("203.0.113.7".into(), t)), "{text}");
        }
    }

    #[test]
    fn keys_are_as_configured() {
        let keys = Keys {
            client: "ip".into(),
            time: "@timestamp".into(),
            request: "req".into(),
        };
        let text = r#"{"@timestamp":"2024-03-10T13:02:07Z","ip":"2001:db8::\u0031","req":"GET /\"x\" HTTP/1.1"}"#;
        assert_eq!(read(text, &keys), Ok(("2001:db8::1".into(), 1_710_075_727 * NS)));
        let err = read(text, &Keys::default()).unwrap_err();
        assert_eq!((err.column, err.why), (1, "no client key (--json-client)"));
    }

    #[test]
    fn says_where_a_line_goes_wrong() {
        let keys = Keys::default();
        let cases = [
            (r#"{"remote_addr":"1.2.3.4","#, 25, "not valid JSON"),
            (r#"["1.2.3.4"]"#, 1, "not a JSON object"),
            (
                r#"{"remote_addr":7,"time_iso8601":"1","request":"x"}"#,
                16,
                "the client is not a string",
            ),
            (
                r#"{"remote_addr":"","time_iso8601":"1","request":"x"}"#,
                16,
                "the client is empty",
            ),
            (
                r#"{"remote_addr":"1.2.3.4","time_iso8601":"yesterday","request":"x"}"#,
                41,
                "the time is not",
            ),
            (r#"{"remote_addr":"1.2.3.4","time_iso8601":"1"}"#, 1, "no request key"),
            (
                r#"{"remote_addr":"1.2.3.4","time_iso8601":"1","request":null}"#,
                55,
                "the request is not",
            ),
        ];
        for (text, column, why) in cases {
            let e = read(text, &keys).expect_err(text);
            assert_eq!(e.column, column, "{text}: {e:?}");
            assert!(e.why.starts_with(why), "{text}: {e:?}");
        }
    }
}
