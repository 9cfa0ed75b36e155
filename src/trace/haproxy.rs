//! HAProxy's HTTP log format, `option httplog`.
//!
//! HAProxy's configuration manual (section 8.2.3, "HTTP log format") gives the
//! fields and this example, as syslog writes it:
//!
//! ```text
//! Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in
//!   static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"
//! ```
//!
//! that is `client_ip:client_port [request_date] frontend backend/server
//! TR/Tw/Tc/Tr/Ta status bytes_read request_cookie response_cookie
//! termination_state actconn/feconn/beconn/srv_conn/retries srv_queue/backend_queue
//! {request_headers} {response_headers} "request"`, the header captures present
//! only when configured. The syslog header before the client (date, host,
//! `haproxy[pid]:`) is optional: a line logged to stdout, as in a container, starts
//! at the client. HAProxy writes the date in the local time of its host with no
//! zone; it is read as UTC, which keeps every line's order and gap, and shifts
//! only the start of the day charts count from.

use super::fields::{self, Bad, Fields};
use super::log::Line;

/// Reads one `option httplog` line.
pub fn line(text: &[u8]) -> Result<Line<'_>, Bad> {
    // The client is the field before the first ` [dd/`, the request date.
    let date = (0..text.len().saturating_sub(4))
        .find(|&i| text[i] == b' ' && text[i + 1] == b'[' && text[i + 2..i + 4].iter().all(u8::is_ascii_digit))
        .ok_or(Bad {
            column: 1,
            why: "no client_ip:port [request_date]",
        })?;
    let start = text[..date].iter().rposition(|&c| c == b' ').map_or(0, |s| s + 1);
    if start > 0 && !text[..start].ends_with(b": ") {
        return Err(Bad {
            column: 1,
            why: "the syslog header does not end with `: ` before the client",
        });
    }
    let at = |column: usize, why| Bad { column, why };
    let address = fields::address_of(&text[start..date])
        .ok_or(at(start + 1, "client_ip:port is not an IP address and a port"))?;
    let rest = &text[date + 2..];
    let close = rest
        .iter()
        .position(|&c| c == b']')
        .ok_or(at(date + 2, "no ] after the request date"))?;
    let time = accept_date(&rest[..close]).ok_or(at(date + 3, "request date is not dd/Mon/yyyy:HH:MM:SS.mmm"))?;
    let after = date + 2 + close + 1;
    let tail = text[after..]
        .strip_prefix(b" ")
        .ok_or(at(after + 1, "no frontend after the request date"))?;
    let offset = after + 1;
    let mut f = Fields::new(tail);
    let moved = |b: Bad| Bad {
        column: b.column + offset,
        why: b.why,
    };
    f.need("no frontend").map_err(moved)?;
    let server = f.need("no backend/server").map_err(moved)?;
    if !server.text.contains(&b'/') {
        return Err(moved(server.bad("backend/server has no /")));
    }
    let timers = f.need("no TR/Tw/Tc/Tr/Ta timers").map_err(moved)?;
    if !slashed(timers.text, 5) {
        return Err(moved(timers.bad("timers are not five numbers TR/Tw/Tc/Tr/Ta")));
    }
    let status = f.need("no status code").map_err(moved)?;
    if !(status.text == b"-1" || (status.text.len() == 3 && status.text.iter().all(u8::is_ascii_digit))) {
        return Err(moved(status.bad("status code is neither three digits nor -1")));
    }
    let bytes = f.need("no bytes_read").map_err(moved)?;
    if !number(bytes.text) {
        return Err(moved(bytes.bad("bytes_read is not a whole number")));
    }
    f.need("no captured request cookie").map_err(moved)?;
    f.need("no captured response cookie").map_err(moved)?;
    let state = f.need("no termination state").map_err(moved)?;
    if state.text.len() != 4 {
        return Err(moved(state.bad("termination state is not four characters")));
    }
    let conns = f.need("no connection counts").map_err(moved)?;
    if !slashed(conns.text, 5) {
        return Err(moved(
            conns.bad("connection counts are not actconn/feconn/beconn/srv_conn/retries"),
        ));
    }
    let queues = f.need("no queue lengths").map_err(moved)?;
    if !slashed(queues.text, 2) {
        return Err(moved(queues.bad("queue lengths are not srv_queue/backend_queue")));
    }
    request(f.rest(), offset + f.column())?;
    Ok(Line { client: address, time })
}

/// The `{...}` captures, if any, then the quoted request, which must end the line.
fn request(mut rest: &[u8], mut column: usize) -> Result<(), Bad> {
    while rest.first() == Some(&b'{') {
        let close = rest.windows(2).position(|w| w == b"} ").ok_or(Bad {
            column,
            why: "a {header capture} is not closed before the request",
        })?;
        rest = &rest[close + 2..];
        column += close + 2;
    }
    if rest.len() >= 2 && rest[0] == b'"' && rest.ends_with(b"\"") {
        Ok(())
    } else {
        Err(Bad {
            column,
            why: "no \"request\" at the end of the line",
        })
    }
}

/// `count` numbers separated by `/`, each maybe `-1` or `+`-prefixed as HAProxy
/// writes aborted timers and retried connections.
fn slashed(text: &[u8], count: usize) -> bool {
    let parts = text.split(|&c| c == b'/');
    parts.clone().count() == count && parts.map(|p| p.strip_prefix(b"-").unwrap_or(p)).all(number)
}

/// A whole number, `+`-prefixed when HAProxy marks it as partial.
fn number(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"+").unwrap_or(text);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// `dd/Mon/yyyy:HH:MM:SS.mmm` (seconds only in HAProxy before 1.3.17), read as UTC.
fn accept_date(text: &[u8]) -> Option<i64> {
    let (whole, millis) = match text.split_at_checked(20) {
        Some((w, [b'.', m @ ..])) if m.len() == 3 && m.iter().all(u8::is_ascii_digit) => {
            (w, m.iter().fold(0i64, |n, d| n * 10 + (d - b'0') as i64))
        }
        _ if text.len() == 20 => (text, 0),
        _ => return None,
    };
    let mut clf = [0u8; 26];
    clf[..20].copy_from_slice(whole);
    clf[20..].copy_from_slice(b" +0000");
    Some(super::clock::clf(&clf)? + millis * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of HAProxy's manual, with its syslog header and without.
    const EXAMPLE: &[u8] = br#"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#;

    #[test]
    fn reads_the_documented_example() {
        let expected = (1_233_922_454_655_000_000, "10.0.1.2");
        for text in [EXAMPLE, &EXAMPLE[42..]] {
            let l = line(text).expect("the manual's example");
            assert_eq!((l.time, l.client), expected);
        }
        // An aborted request: no server, -1 timers, + marks, no captures.
        let aborted = br#"haproxy[18113]: 127.0.0.1:34549 [15/Oct/2003:15:19:06.103] px-http px-http/<NOSRV> -1/-1/-1/-1/+50001 408 +2750 - - cR-- 2/2/2/0/+2 0/0 """#;
        assert_eq!(line(aborted).map(|l| l.client), Ok("127.0.0.1"));
        let v6 = br#"2001:db8::7:51000 [06/Feb/2009:12:14:14.655] fe be/s1 0/0/1/2/3 200 10 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1""#;
        assert_eq!(line(v6).map(|l| l.client), Ok("2001:db8::7"));
    }

    #[test]
    fn says_where_a_line_goes_wrong() {
        let text = String::from_utf8(EXAMPLE.to_vec()).unwrap();
        let cases = [
            (text.replacen(" [06/", " 06/", 1), 1, "no client_ip"),
            (
                text.replacen("haproxy[14389]: ", "haproxy[14389] ", 1),
                1,
                "syslog header",
            ),
            (text.replacen("10.0.1.2:33317", "10.0.1.2", 1), 43, "client_ip:port"),
            (text.replacen("12:14:14.655]", "12:14:14.6]", 1), 59, "request date"),
            (text.replacen("10/0/30/69/109", "10/0/30/69", 1), 105, "timers"),
            (text.replacen(" 200 ", " OK ", 1), 120, "status code"),
            (text.replacen("1/1/1/1/0", "1/1/1", 1), 138, "connection counts"),
            (text.replacen("{} \"GET", "{} GET", 1), 164, "no \"request\""),
        ];
        for (bad, column, why) in cases {
            let e = line(bad.as_bytes()).expect_err(&bad);
            assert_eq!(e.column, column, "{bad}: {e:?}");
            assert!(e.why.contains(why), "{bad}: {e:?}");
        }
    }
}
