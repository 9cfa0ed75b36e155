//! AWS Application Load Balancer access logs.
//!
//! One line per request, fields separated by spaces, as AWS documents them
//! ("Access log entries", Elastic Load Balancing User Guide for Application Load
//! Balancers):
//!
//! ```text
//! type time elb client:port target:port request_processing_time target_processing_time
//!   response_processing_time elb_status_code target_status_code received_bytes sent_bytes
//!   "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" ...
//! http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817
//!   10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1"
//!   "curl/7.46.0" - - arn:aws:elasticloadbalancing:... "Root=1-58337262-36d228ad5d99923122bbe354" ...
//! ```
//!
//! The client is `client:port`; the time is `time`, when the balancer sent the
//! response (ISO 8601, UTC, microseconds). The fields up to `user_agent` are
//! checked for shape; the rest are not read, since AWS adds fields at the end of
//! the line over time and says readers should ignore those they do not know.

use super::aws;
use super::fields::{Bad, Fields};
use super::log::Line;

/// The `type` field: the request or connection type AWS lists.
const TYPES: [&[u8]; 6] = [b"http", b"https", b"h2", b"grpcs", b"ws", b"wss"];

/// Whether `word` is an ALB `type` field: what tells ALB lines from classic ELB ones.
pub fn is_type(word: &[u8]) -> bool {
    TYPES.contains(&word)
}

/// Reads one ALB log line.
pub fn line(text: &[u8]) -> Result<Line<'_>, Bad> {
    let mut f = Fields::new(text);
    let kind = f.need("no type")?;
    if !is_type(kind.text) {
        return Err(kind.bad("type is not http, https, h2, grpcs, ws or wss"));
    }
    let when = f.need("no time")?;
    let time = std::str::from_utf8(when.text)
        .ok()
        .and_then(super::clock::rfc3339)
        .ok_or(when.bad("time is not ISO 8601, e.g. 2018-07-02T22:23:00.186641Z"))?;
    let address = aws::through_request(
        &mut f,
        "no target:port",
        "target:port is neither - nor an IP address and a port",
    )?;
    let agent = f.need("no \"user_agent\"")?;
    if !agent.quoted {
        return Err(agent.bad("the user agent is not in quotes"));
    }
    Ok(Line { client: address, time })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The HTTP entry of AWS's examples.
    const HTTP: &[u8] = br#"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#;

    #[test]
    fn reads_the_documented_example() {
        let l = line(HTTP).expect("AWS's example");
        assert_eq!(l.client, "192.168.131.39");
        assert_eq!(l.time, 1_530_570_180_186_641_000);
    }

    #[test]
    fn says_where_a_line_goes_wrong() {
        let text = String::from_utf8(HTTP.to_vec()).unwrap();
        let cut = text.find(" \"curl").unwrap();
        let cases = [
            (text.replacen("http ", "tcp ", 1), 1, "type is not"),
            (text.replacen("22:23:00.186641Z", "22:23:00", 1), 6, "time is not"),
            (
                text.replacen("192.168.131.39:2817", "192.168.131.39", 1),
                71,
                "client:port",
            ),
            (text.replacen(" 0.001 ", " fast ", 1), 109, "processing time"),
            (text.replacen(" 200 200 ", " 200 OK ", 1), 125, "status code"),
            (text.replacen("\"GET", "GET", 1), 136, "not in quotes"),
            (text[..cut].to_string(), cut + 1, "no \"user_agent\""),
        ];
        for (bad, column, why) in cases {
            let e = line(bad.as_bytes()).expect_err(&bad);
            assert_eq!(e.column, column, "{bad}: {e:?}");
            assert!(e.why.contains(why), "{bad}: {e:?}");
        }
    }
}
