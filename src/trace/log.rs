//! Access-log formats, and reading one line of the NCSA formats.
//!
//! The Common Log Format is the one web servers have written since NCSA httpd:
//!
//! ```text
//! HOST IDENT USER [dd/Mon/yyyy:HH:MM:SS ±hhmm] "REQUEST" STATUS BYTES
//! 199.72.81.55 - - [01/Jul/1995:00:00:01 -0400] "GET /history/apollo/ HTTP/1.0" 200 6245
//! ```
//!
//! The Combined Log Format adds two quoted fields, `"REFERER" "USER-AGENT"`.
//! A replay needs only the client (HOST) and the time; the other fields are
//! checked for shape, so that a line of some other format is reported rather than
//! half-read. `--format common` ignores whatever follows BYTES, so it reads
//! combined logs (and logs with extra fields appended) too; `--format combined`
//! insists on the two extra fields.

/// The formats `lbsim replay` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// NCSA Common Log Format; anything after BYTES is ignored.
    Common,
    /// NCSA Combined Log Format: Common plus "REFERER" "USER-AGENT".
    Combined,
    /// Comma-separated values with a header naming `time` and `client` columns.
    Csv,
    /// AWS Application Load Balancer access logs.
    Alb,
    /// AWS Classic Load Balancer (ELB) access logs.
    Elb,
    /// HAProxy's `option httplog` format.
    Haproxy,
    /// nginx `log_format escape=json`: one JSON object per line.
    NginxJson,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Common,
        Format::Combined,
        Format::Csv,
        Format::Alb,
        Format::Elb,
        Format::Haproxy,
        Format::NginxJson,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Common => "common",
            Format::Combined => "combined",
            Format::Csv => "csv",
            Format::Alb => "alb",
            Format::Elb => "elb",
            Format::Haproxy => "haproxy",
            Format::NginxJson => "nginx-json",
        }
    }

    /// Every format's name, for messages: `common, combined, ...`.
    pub fn names() -> String {
        Format::ALL.map(Format::name).join(", ")
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }

    /// What a line of this format looks like, for messages about lines that do not.
    pub fn expected(self) -> &'static str {
        match self {
            Format::Common => "expected Common Log Format: HOST IDENT USER [TIME] \"REQUEST\" STATUS BYTES",
            Format::Combined => {
                "expected Combined Log Format: HOST IDENT USER [TIME] \"REQUEST\" STATUS BYTES \"REFERER\" \"USER-AGENT\""
            }
            Format::Csv => "expected a CSV row with a time (RFC 3339 or Unix seconds) and a client",
            Format::Alb => {
                "expected an AWS ALB log line: type time elb client:port target:port 3 processing times 2 status codes 2 byte counts \"request\" \"user_agent\" ..."
            }
            Format::Elb => {
                "expected an AWS classic ELB log line: timestamp elb client:port backend:port 3 processing times 2 status codes 2 byte counts \"request\" ..."
            }
            Format::Haproxy => {
                "expected an HAProxy httplog line: [SYSLOG HEADER: ]client_ip:port [dd/Mon/yyyy:HH:MM:SS.mmm] frontend backend/server TR/Tw/Tc/Tr/Ta status bytes cookie cookie state a/f/b/s/r sq/bq [{captures}] \"request\""
            }
            Format::NginxJson => {
                "expected an nginx JSON log line: one object with the client, time and request keys (--json-client, --json-time, --json-request)"
            }
        }
    }
}

/// What a replay takes from one request line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// The client: an IPv4 or IPv6 address, or a host name.
    pub client: &'a str,
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
}

/// Reads one line of the Common (or, with `combined`, Combined) Log Format. On a
/// mismatch, says which part is wrong; never quotes the line, which holds a client.
pub fn ncsa(line: &[u8], combined: bool) -> Result<Line<'_>, &'static str> {
    let (host, rest) = match token(line) {
        Some(split) => split,
        None if line.first().is_none_or(|&c| c == b' ') => return Err("no HOST"),
        None => return Err("no IDENT"),
    };
    let client = std::str::from_utf8(host).map_err(|_| "HOST is not text")?;
    let (_ident, rest) = token(rest).ok_or("no IDENT")?;
    // USER may hold spaces; the bracketed time follows it.
    let open = find(rest, b" [").ok_or("no [TIME]")?;
    if open == 0 {
        return Err("no USER");
    }
    let rest = &rest[open + 2..];
    let close = find(rest, b"]").ok_or("no ] after the TIME")?;
    let time = super::clock::clf(&rest[..close]).ok_or("TIME is not dd/Mon/yyyy:HH:MM:SS ±hhmm")?;
    let rest = rest[close + 1..]
        .strip_prefix(b" \"")
        .ok_or("no \"REQUEST\" after the TIME")?;
    let after = request_end(rest).ok_or("no STATUS BYTES after the \"REQUEST\"")?;
    let fits = if combined {
        referer_and_agent(after)
    } else {
        after.is_empty() || after[0] == b' '
    };
    if !fits {
        return Err(if combined {
            "no \"REFERER\" \"USER-AGENT\" after BYTES"
        } else {
            "unexpected text after BYTES"
        });
    }
    Ok(Line { client, time })
}

/// The non-empty text up to the next space, and what follows that space.
fn token(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = text.iter().position(|&c| c == b' ')?;
    (end > 0).then(|| (&text[..end], &text[end + 1..]))
}

fn find(text: &[u8], needle: &[u8]) -> Option<usize> {
    text.windows(needle.len()).position(|w| w == needle)
}

/// Where the request ends: it may hold quotes itself (servers log what clients
/// send), so it ends at the first quote followed by ` STATUS BYTES`. Returns what
/// follows BYTES.
fn request_end(rest: &[u8]) -> Option<&[u8]> {
    rest.iter().enumerate().filter(|&(_, &c)| c == b'"').find_map(|(i, _)| {
        let tail = rest[i + 1..].strip_prefix(b" ")?;
        let (status, tail) = tail.split_at_checked(3)?;
        if !status.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let tail = tail.strip_prefix(b" ")?;
        let bytes = tail.iter().position(|&c| c == b' ').unwrap_or(tail.len());
        let shaped = &tail[..bytes] == b"-" || (bytes > 0 && tail[..bytes].iter().all(u8::is_ascii_digit));
        shaped.then_some(&tail[bytes..])
    })
}

/// ` "REFERER" "USER-AGENT"`, either of which may hold quotes.
fn referer_and_agent(after: &[u8]) -> bool {
    after.len() >= 6
        && after.starts_with(b" \"")
        && after.ends_with(b"\"")
        && find(&after[2..after.len() - 1], b"\" \"").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: i64 = 1_000_000_000;

    #[test]
    fn reads_common_and_combined_lines() {
        let common = br#"199.72.81.55 - - [01/Jul/1995:00:00:01 -0400] "GET /history/apollo/ HTTP/1.0" 200 6245"#;
        let expected = Line {
            client: "199.72.81.55",
            time: 804_571_201 * NS,
        };
        assert_eq!(ncsa(common, false), Ok(expected));
        assert_eq!(ncsa(common, true), Err("no \"REFERER\" \"USER-AGENT\" after BYTES"));
        let combined = br#"ix.example.org - frank [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" 304 - "http://a/" "Mozilla/2.0 (X11)""#;
        for c in [false, true] {
            let line = ncsa(combined, c).expect("combined line");
            assert_eq!((line.client, line.time), ("ix.example.org", expected.time));
        }
    }

    #[test]
    fn odd_but_real_lines_are_read() {
        // A request holding quotes, a user name with a space, no protocol.
        let line = br#"a.b - John Doe [01/Jul/1995:00:00:01 -0400] "GET /say?"hi" 404 -"#;
        assert_eq!(ncsa(line, false).map(|l| l.client), Ok("a.b"));
        let line = br#"a.b - - [01/Jul/1995:00:00:01 -0400] "GET /" 200 12"#;
        assert!(ncsa(line, false).is_ok());
    }

    #[test]
    fn says_what_is_wrong_without_quoting_the_line() {
        let cases: [(&[u8], &str); 6] = [
            (b"", "no HOST"),
            (b"1.2.3.4", "no IDENT"),
            (b"1.2.3.4 - - 01/Jul/1995 \"GET /\" 200 1", "no [TIME]"),
            (
                b"1.2.3.4 - - [01/Jul/1995] \"GET /\" 200 1",
                "TIME is not dd/Mon/yyyy:HH:MM:SS ±hhmm",
            ),
            (
                b"1.2.3.4 - - [01/Jul/1995:00:00:01 -0400] \"GET /\" OK 1",
                "no STATUS BYTES after the \"REQUEST\"",
            ),
            (
                b"1.2.3.4 - - [01/Jul/1995:00:00:01 -0400] \"GET /\" 200 12x",
                "no STATUS BYTES after the \"REQUEST\"",
            ),
        ];
        for (line, why) in cases {
            assert_eq!(ncsa(line, false), Err(why), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
        }
        assert_eq!(Format::from_name("clf"), None);
    }
}
