//! Telling a log's format from its first lines, for `lbsim replay` without
//! `--format`.
//!
//! The formats start differently: a JSON object; an ALB line with its `type`
//! word; a classic ELB line with its ISO 8601 time; an HAProxy line with
//! `client:port [date]`, maybe behind a syslog header; an NCSA line with
//! `HOST IDENT USER [date]`; a CSV header naming `time` and `client`. The first
//! line that fits any format decides, and it must fit exactly one: a line that
//! fits two is refused with a request for `--format`. A line that fits the Common
//! Log Format is read as `common`, which reads combined logs too. A log whose
//! first lines fit no format is read as `common`, the format replay has always
//! defaulted to, so that its bad lines are reported against that form.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;

use serde_json::value::RawValue;

use super::log::{self, Format};
use super::{TraceError, alb, elb, haproxy, lines, read};

/// How many non-blank lines are looked at before giving up.
pub const LOOKED: u64 = 20;

/// The format of the log at `path`.
pub fn detect(path: &Path) -> Result<Format, TraceError> {
    let input = read::open(path)?;
    let mut seen = 0u64;
    let mut found: Option<Result<Format, (u64, Vec<Format>)>> = None;
    lines::each(input, path, |number, line| {
        seen += 1;
        let fits = fitting(line, seen == 1);
        match fits.len() {
            0 if seen < LOOKED => return ControlFlow::Continue(()),
            0 => {}
            1 => found = Some(Ok(fits[0])),
            _ => found = Some(Err((number, fits))),
        }
        ControlFlow::Break(())
    })?;
    match found {
        Some(Ok(format)) => Ok(format),
        Some(Err((line, fits))) => Err(TraceError::Ambiguous {
            path: path.to_path_buf(),
            line,
            fits,
        }),
        None => Ok(Format::Common),
    }
}

/// The formats `line` fits; a CSV header only counts on the first line.
fn fitting(line: &[u8], first: bool) -> Vec<Format> {
    let json = line.first() == Some(&b'{') && serde_json::from_slice::<HashMap<String, &RawValue>>(line).is_ok();
    let header = first && {
        let names: Vec<String> = line
            .split(|&c| c == b',')
            .map(|n| String::from_utf8_lossy(n.trim_ascii()).to_ascii_lowercase())
            .collect();
        names.iter().any(|n| n == "time") && names.iter().any(|n| n == "client")
    };
    [
        (json, Format::NginxJson),
        (alb::line(line).is_ok(), Format::Alb),
        (elb::line(line).is_ok(), Format::Elb),
        (haproxy::line(line).is_ok(), Format::Haproxy),
        (log::ncsa(line, false).is_ok(), Format::Common),
        (header, Format::Csv),
    ]
    .into_iter()
    .filter_map(|(fits, f)| fits.then_some(f))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_told_by_its_first_line() {
        let cases: [(&[u8], Format); 7] = [
            (br#"{"remote_addr":"1.2.3.4"}"#, Format::NginxJson),
            (
                br#"http 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET / HTTP/1.1" "curl/7.46.0" - -"#,
                Format::Alb,
            ),
            (
                br#"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 200 200 0 29 "GET / HTTP/1.1" "curl/7.38.0" - -"#,
                Format::Elb,
            ),
            (
                br#"10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 "GET / HTTP/1.1""#,
                Format::Haproxy,
            ),
            (
                br#"199.72.81.55 - - [01/Jul/1995:00:00:01 -0400] "GET /history/apollo/ HTTP/1.0" 200 6245"#,
                Format::Common,
            ),
            (
                br#"a.b - - [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 1 "-" "Mozilla""#,
                Format::Common,
            ),
            (b"status, Client ,time", Format::Csv),
        ];
        for (line, format) in cases {
            assert_eq!(fitting(line, true), [format], "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(fitting(b"status,client,time", false), []);
        assert_eq!(fitting(b"GET / HTTP/1.1", true), []);
    }
}
