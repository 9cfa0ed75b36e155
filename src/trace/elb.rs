//! AWS Classic Load Balancer (ELB) access logs.
//!
//! One line per request (or, for TCP listeners, per connection), as AWS documents
//! them ("Access logs for your Classic Load Balancer", Elastic Load Balancing
//! User Guide for Classic Load Balancers):
//!
//! ```text
//! timestamp elb client:port backend:port request_processing_time backend_processing_time
//!   response_processing_time elb_status_code backend_status_code received_bytes sent_bytes
//!   "request" "user_agent" ssl_cipher ssl_protocol
//! 2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073
//!   0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -
//! ```
//!
//! The client is `client:port`, the time `timestamp`, when the balancer received
//! the request (ISO 8601, UTC). A TCP listener's line has `-` for the status codes
//! and `"- - - "` for the request; it is one connection of the client and is read
//! as one request. The fields up to `"request"` are checked for shape; logs written
//! before AWS added `user_agent`, `ssl_cipher` and `ssl_protocol` end there.

use super::aws;
use super::fields::{Bad, Fields};
use super::log::Line;

/// Reads one classic ELB log line.
pub fn line(text: &[u8]) -> Result<Line<'_>, Bad> {
    let mut f = Fields::new(text);
    let when = f.need("no timestamp")?;
    let time = std::str::from_utf8(when.text)
        .ok()
        .and_then(super::clock::rfc3339)
        .ok_or(when.bad("timestamp is not ISO 8601, e.g. 2015-05-13T23:39:43.945958Z"))?;
    let address = aws::through_request(
        &mut f,
        "no backend:port",
        "backend:port is neither - nor an IP address and a port",
    )?;
    Ok(Line { client: address, time })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HTTP and TCP entries of AWS's examples.
    const HTTP: &[u8] = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -"#;
    const TCP: &[u8] = br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.001069 0.000028 0.000041 - - 82 305 "- - - " "-" - -"#;

    #[test]
    fn reads_the_documented_examples() {
        for text in [HTTP, TCP] {
            let l = line(text).expect("AWS's example");
            assert_eq!((l.client, l.time), ("192.168.131.39", 1_431_560_383_945_958_000));
        }
        // Before user_agent was added.
        assert!(line(&HTTP[..HTTP.len() - 18]).is_ok());
    }

    #[test]
    fn says_where_a_line_goes_wrong() {
        let text = String::from_utf8(HTTP.to_vec()).unwrap();
        let cut = text.find(" \"GET").unwrap();
        let cases = [
            (text.replacen("2015-05-13T", "13/May/2015:", 1), 1, "timestamp is not"),
            (
                text.replacen("192.168.131.39:2817", "client.example:2817", 1),
                45,
                "client:port",
            ),
            (text.replacen("10.0.0.1:80", "10.0.0.1", 1), 65, "backend:port"),
            (text.replacen(" 200 200 ", " 200 2000 ", 1), 108, "status code"),
            (text.replacen(" 0 29 ", " 0 29B ", 1), 114, "byte count"),
            (text[..cut].to_string(), cut + 1, "no \"request\""),
        ];
        for (bad, column, why) in cases {
            let e = line(bad.as_bytes()).expect_err(&bad);
            assert_eq!(e.column, column, "{bad}: {e:?}");
            assert!(e.why.contains(why), "{bad}: {e:?}");
        }
    }
}
