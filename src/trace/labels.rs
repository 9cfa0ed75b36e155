//! Who is behind a request, beyond its address: the user agent of a Combined Log
//! Format line, or a session or user id column of a CSV log.
//!
//! A replay needs neither; fitting a population does. Several people behind one
//! address (a household, a carrier-grade NAT, a proxy) show up as several user
//! agents on it, and a session cookie or user id that moves between addresses
//! shows churn that addresses alone hide. Labels are kept as ids of a 128-bit hash,
//! never as text: a user agent or a user id is personal data like an address.

use std::collections::HashMap;

use xxhash_rust::xxh3::xxh3_128;

/// Which label to read with each request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Label {
    /// None: the log is read as a replay reads it.
    Nothing,
    /// The USER-AGENT field of a Combined Log Format line.
    Agent,
    /// The CSV column of this name (matched as `time` and `client` are, ignoring case).
    Field(String),
}

/// Id of a request without a label (a Common line, an empty field).
pub const UNLABELLED: u32 = 0;

/// The distinct labels of a log, numbered from 1 in order of first appearance.
#[derive(Default)]
pub struct Labels {
    ids: HashMap<u128, u32>,
}

impl Labels {
    /// The id of `text`; an empty text has none.
    pub fn id(&mut self, text: &[u8]) -> u32 {
        if text.is_empty() || text == b"-" {
            return UNLABELLED;
        }
        let next = self.ids.len() as u32 + 1;
        *self.ids.entry(xxh3_128(text)).or_insert(next)
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The USER-AGENT of a Combined Log Format line: the last quoted field, which
/// follows `" "` after the REFERER. The line was checked for that shape.
pub fn user_agent(line: &[u8]) -> &[u8] {
    let Some(body) = line.strip_suffix(b"\"") else {
        return b"";
    };
    match body.windows(3).rposition(|w| w == b"\" \"") {
        Some(i) => &body[i + 3..],
        None => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agent_is_the_last_quoted_field() {
        let line =
            br#"a - - [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 1 "http://x/" "Mozilla/5.0 (X11; "quoted")""#;
        assert_eq!(user_agent(line), br#"Mozilla/5.0 (X11; "quoted")"#);
        assert_eq!(user_agent(b"a b"), b"");
    }

    #[test]
    fn labels_number_distinct_texts_from_one() {
        let mut l = Labels::default();
        assert_eq!(
            [l.id(b"x"), l.id(b"y"), l.id(b"x"), l.id(b""), l.id(b"-")],
            [1, 2, 1, 0, 0]
        );
        assert_eq!(l.len(), 2);
    }
}
