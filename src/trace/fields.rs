//! Cutting a load balancer's log line into its fields, each with the column it
//! starts at, for the formats that separate fields with single spaces and quote
//! those that may hold spaces (AWS's load balancers and HAProxy).

/// A field of a line: its text, without the quotes if it was quoted, and the
/// 1-based column (in bytes) where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub text: &'a [u8],
    pub column: usize,
    pub quoted: bool,
}

/// A bad line, with where it goes wrong and what is wrong there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bad {
    /// 1-based, in bytes.
    pub column: usize,
    pub why: &'static str,
}

impl Field<'_> {
    /// `Bad` at this field.
    pub fn bad(&self, why: &'static str) -> Bad {
        Bad {
            column: self.column,
            why,
        }
    }
}

/// The fields of `line`, left to right. A field that opens with a quote runs to
/// the next quote followed by a space or the end of the line: a quote inside it
/// (HAProxy writes one as `#22`) is kept unless a space follows it.
pub struct Fields<'a> {
    line: &'a [u8],
    at: usize,
}

impl<'a> Fields<'a> {
    pub fn new(line: &'a [u8]) -> Fields<'a> {
        Fields { line, at: 0 }
    }

    /// The column after the last field read: where a missing field would start.
    pub fn column(&self) -> usize {
        self.at.min(self.line.len()) + 1
    }

    /// The next field, or `Bad` with `why` at the end of the line when there is none.
    pub fn need(&mut self, why: &'static str) -> Result<Field<'a>, Bad> {
        let column = self.column();
        self.next().ok_or(Bad { column, why })
    }

    /// What is left of the line, from the next field on.
    pub fn rest(&self) -> &'a [u8] {
        &self.line[self.at.min(self.line.len())..]
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let rest = self.line.get(self.at..).filter(|r| !r.is_empty())?;
        let column = self.at + 1;
        if rest[0] == b'"' {
            let body = &rest[1..];
            let close = body
                .iter()
                .enumerate()
                .position(|(i, &c)| c == b'"' && matches!(body.get(i + 1), None | Some(b' ')));
            if let Some(close) = close {
                self.at += close + 3;
                return Some(Field {
                    text: &body[..close],
                    column,
                    quoted: true,
                });
            }
        }
        let end = rest.iter().position(|&c| c == b' ').unwrap_or(rest.len());
        self.at += end + 1;
        Some(Field {
            text: &rest[..end],
            column,
            quoted: false,
        })
    }
}

/// The address of an `ADDRESS:PORT` field, `[IPv6]:PORT` or bare IPv6 then
/// `:PORT`, as load balancers log their clients. None unless the address is an IP
/// address and the port a number.
pub fn address_of(text: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(text).ok()?;
    let (host, port) = text.rsplit_once(':')?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port_ok = !port.is_empty() && port.len() <= 5 && port.bytes().all(|c| c.is_ascii_digit());
    (port_ok && host.parse::<std::net::IpAddr>().is_ok()).then_some(host)
}

/// A number of seconds as AWS logs processing times: a decimal, or -1 when the
/// load balancer could not measure it.
pub fn is_seconds(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    let (whole, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(dot) => (&digits[..dot], &digits[dot + 1..]),
        None => (digits, &b""[..]),
    };
    !whole.is_empty() && whole.iter().all(u8::is_ascii_digit) && frac.iter().all(u8::is_ascii_digit)
}

/// An HTTP status (three digits), or `-` where there was none.
pub fn is_status(text: &[u8]) -> bool {
    text == b"-" || (text.len() == 3 && text.iter().all(u8::is_ascii_digit))
}

/// A whole number, optionally `-` for none.
pub fn is_count(text: &[u8]) -> bool {
    text == b"-" || (!text.is_empty() && text.iter().all(u8::is_ascii_digit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_fields_may_hold_spaces() {
        let line = br#"a "GET /x"y HTTP/1.1" "curl/7" - """#;
        let f: Vec<(&[u8], usize, bool)> = Fields::new(line).map(|f| (f.text, f.column, f.quoted)).collect();
        let expected: [(&[u8], usize, bool); 5] = [
            (b"a", 1, false),
            (b"GET /x\"y HTTP/1.1", 3, true),
            (b"curl/7", 23, true),
            (b"-", 32, false),
            (b"", 34, true),
        ];
        assert_eq!(f, expected);
    }

    #[test]
    fn addresses_lose_their_port() {
        assert_eq!(address_of(b"192.168.131.39:2817"), Some("192.168.131.39"));
        assert_eq!(address_of(b"[2001:db8::1]:443"), Some("2001:db8::1"));
        assert_eq!(address_of(b"2001:db8::1:443"), Some("2001:db8::1"));
        for bad in [
            &b"192.168.131.39"[..],
            b"host.example:80",
            b"10.0.0.1:",
            b"-",
            b"10.0.0.1:8x",
        ] {
            assert_eq!(address_of(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn aws_numbers() {
        assert!(is_seconds(b"0.000073") && is_seconds(b"-1") && is_seconds(b"12"));
        assert!(!is_seconds(b"") && !is_seconds(b".5") && !is_seconds(b"1e3"));
        assert!(is_status(b"200") && is_status(b"-") && !is_status(b"20") && !is_status(b"2x0"));
        assert!(is_count(b"366") && is_count(b"-") && !is_count(b"") && !is_count(b"3k"));
    }
}
