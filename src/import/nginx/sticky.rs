//! nginx Plus `sticky`: a cookie nginx sets (`sticky cookie`), the
//! application's session cookie learnt (`sticky learn`) or a route the
//! application writes (`sticky route`), each as lbsim's `cookie` in front of the
//! balancing method.

use super::tree::Directive;
use crate::engine::{DAY, MILLISECOND, SECOND, Time};
use crate::import::ImportError;
use crate::import::reading::Text;
use crate::scenario::units::written;

/// What a `sticky` line makes of `cookie`: its lifetime parameter and a note.
pub struct Sticky {
    /// `max_age=T`, `idle=T`, or none.
    pub lifetime: Option<String>,
    pub note: String,
}

pub fn read(text: &Text, d: &Directive) -> Result<Sticky, ImportError> {
    let words: Vec<&str> = d.args.iter().map(|a| a.text.as_str()).collect();
    let param = |name: &str| {
        words
            .iter()
            .find_map(|w| w.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
    };
    let time = |name: &str, default: Option<&str>| -> Result<Option<String>, ImportError> {
        match param(name).or(default) {
            None | Some("max") => Ok(None),
            Some(v) => nginx_time(v).map(|t| Some(written(t))).ok_or_else(|| {
                let at = d
                    .args
                    .iter()
                    .find(|a| a.text.starts_with(name))
                    .map_or(d.name.at, |a| a.at);
                text.error(at, format!("{name}={v}: invalid time"))
            }),
        }
    };
    Ok(match words.first() {
        Some(&"cookie") if words.len() >= 2 => Sticky {
            note: format!(
                "sticky cookie {}: nginx names the server in a cookie it sets; lbsim's `cookie` keeps each user on \
                 it{}.",
                words[1],
                if param("expires").is_some() {
                    " until the cookie expires"
                } else {
                    " for the whole visit and after (a session cookie)"
                }
            ),
            lifetime: time("expires", None)?.map(|t| format!("max_age={t}")),
        },
        Some(&"learn") => Sticky {
            note: "sticky learn: nginx remembers the server of each session cookie the application sets, and \
                   forgets it after `timeout` without a request (10m by default); lbsim's `cookie` with `idle` does \
                   the same, with no limit on the zone's size."
                .into(),
            lifetime: time("timeout", Some("10m"))?.map(|t| format!("idle={t}")),
        },
        Some(&"route") => Sticky {
            note: "sticky route: the application puts the server's `route=` value in its session cookie or URL; \
                   lbsim's `cookie` keeps each user on their server for as long as the scenario's sessions last."
                .into(),
            lifetime: None,
        },
        _ => {
            return Err(text.error(
                d.args.first().map_or(d.name.at, |a| a.at),
                "invalid sticky: expected sticky cookie NAME [expires=T] ..., sticky route $VARIABLE ... or sticky \
                 learn create=... lookup=... zone=... [timeout=T]",
            ));
        }
    })
}

/// An nginx time: numbers with units ms, s, m, h, d, w, M, y (seconds without).
pub fn nginx_time(text: &str) -> Option<Time> {
    let mut total: Time = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let n: Time = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = match rest.as_bytes() {
            [b'm', b's', ..] => (MILLISECOND, 2),
            [b's', ..] => (SECOND, 1),
            [b'm', ..] => (60 * SECOND, 1),
            [b'h', ..] => (3600 * SECOND, 1),
            [b'd', ..] => (DAY, 1),
            [b'w', ..] => (7 * DAY, 1),
            [b'M', ..] => (30 * DAY, 1),
            [b'y', ..] => (365 * DAY, 1),
            [] => (SECOND, 0),
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = rest[len..].trim_start();
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_times() {
        assert_eq!(nginx_time("10s"), Some(10 * SECOND));
        assert_eq!(nginx_time("30"), Some(30 * SECOND));
        assert_eq!(nginx_time("1h30m"), Some(5400 * SECOND));
        assert_eq!(nginx_time("1h 30m"), Some(5400 * SECOND));
        assert_eq!(nginx_time("500ms"), Some(500 * MILLISECOND));
        assert_eq!(nginx_time("1M"), Some(30 * DAY));
        assert_eq!(nginx_time("1x"), None);
        assert_eq!(nginx_time(""), None);
    }
}
