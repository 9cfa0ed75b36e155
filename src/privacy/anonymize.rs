//! Writing a log with every client replaced by its anonymised stand-in.
//!
//! Each line is read as its format says; on a good line, the client's field is
//! replaced (an address by its Crypto-PAn image, a host name by its keyed
//! address) and every other byte is kept, so the anonymised log reads as the
//! original did, in the same format. Malformed lines are left out, since what is
//! wrong with them may be where the client is, and reported as a replay reports
//! them; blank lines are left out too. A CSV log keeps its header and columns,
//! with the `client` column replaced.

use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::ops::{ControlFlow, Range};
use std::path::Path;

use aes::Aes128;

use super::CryptoPan;
use crate::trace::clients::{fold, name_address};
use crate::trace::read::REPORTED;
use crate::trace::{Format, Malformed, Reading, TraceError, alb, clock, elb, haproxy, lines, log, nginx_json};

/// What an anonymisation wrote.
#[derive(Debug)]
pub struct Written {
    pub lines: u64,
    /// Distinct clients replaced.
    pub clients: u64,
    pub malformed: u64,
    pub first_malformed: Vec<Malformed>,
}

/// The stand-in of every client seen, so each is computed once.
struct StandIns {
    pan: CryptoPan,
    names: Aes128,
    seen: HashMap<String, String>,
    folded: String,
}

impl StandIns {
    fn of(&mut self, client: &str) -> &str {
        if !self.seen.contains_key(client) {
            let stand_in = match client.parse::<IpAddr>() {
                Ok(ip) => self.pan.ip(ip).to_string(),
                Err(_) => {
                    fold(client, &mut self.folded);
                    name_address(&self.folded, &self.names).to_string()
                }
            };
            self.seen.insert(client.to_string(), stand_in);
        }
        &self.seen[client]
    }
}

/// Error while writing the anonymised log.
fn failed(path: &Path, e: std::io::Error) -> TraceError {
    TraceError::Read(
        path.to_path_buf(),
        None,
        format!("cannot write the anonymised log: {e}"),
    )
}

/// Reads the log at `path` as `how` says and writes it to `out` with every
/// client anonymised under `how.names`, the key that hashes host names in a
/// replay. A log with no good line is an error.
pub fn anonymize(path: &Path, how: &Reading, out: &mut dyn Write) -> Result<Written, TraceError> {
    let key = &how.names;
    let mut stand_ins = StandIns {
        pan: CryptoPan::new(key),
        names: key.cipher(),
        seen: HashMap::new(),
        folded: String::new(),
    };
    let mut w = Written {
        lines: 0,
        clients: 0,
        malformed: 0,
        first_malformed: Vec::new(),
    };
    let input = crate::trace::read::open(path)?;
    if how.format == Format::Csv {
        csv(input, path, &mut stand_ins, &mut w, out)?;
    } else {
        let mut decoded = String::new();
        let mut error = None;
        lines::each(input, path, |number, line| {
            match locate(how, line, &mut decoded) {
                Ok(span) => {
                    let client = std::str::from_utf8(&line[span.clone()]).unwrap_or_default();
                    let client = if how.format == Format::NginxJson {
                        decoded.as_str()
                    } else {
                        client
                    };
                    let stand_in = stand_ins.of(client);
                    let quote: &[u8] = if how.format == Format::NginxJson { b"\"" } else { b"" };
                    let wrote = [
                        &line[..span.start],
                        quote,
                        stand_in.as_bytes(),
                        quote,
                        &line[span.end..],
                        b"\n",
                    ]
                    .iter()
                    .try_for_each(|part| out.write_all(part));
                    if let Err(e) = wrote {
                        error = Some(failed(path, e));
                        return ControlFlow::Break(());
                    }
                    w.lines += 1;
                }
                Err((column, why)) => w.bad(number, column, why),
            }
            ControlFlow::Continue(())
        })?;
        if let Some(e) = error {
            return Err(e);
        }
    }
    out.flush().map_err(|e| failed(path, e))?;
    if w.lines == 0 {
        return Err(TraceError::Empty {
            path: path.to_path_buf(),
            format: how.format,
            malformed: w.malformed,
            first: w.first_malformed.first().copied(),
        });
    }
    w.clients = stand_ins.seen.len() as u64;
    Ok(w)
}

impl Written {
    fn bad(&mut self, line: u64, column: Option<usize>, why: &'static str) {
        self.malformed += 1;
        if self.first_malformed.len() < REPORTED {
            self.first_malformed.push(Malformed { line, column, why });
        }
    }
}

/// Where the client is on a good line of a line-by-line format; for JSON, the
/// value with its quotes, the client decoded into `decoded`.
fn locate(how: &Reading, line: &[u8], decoded: &mut String) -> Result<Range<usize>, (Option<usize>, &'static str)> {
    let within = |client: &str| {
        let start = client.as_ptr() as usize - line.as_ptr() as usize;
        start..start + client.len()
    };
    let located = |b: crate::trace::fields::Bad| (Some(b.column), b.why);
    match how.format {
        Format::Common | Format::Combined => log::ncsa(line, how.format == Format::Combined)
            .map(|l| within(l.client))
            .map_err(|why| (None, why)),
        Format::Alb => alb::line(line).map(|l| within(l.client)).map_err(located),
        Format::Elb => elb::line(line).map(|l| within(l.client)).map_err(located),
        Format::Haproxy => haproxy::line(line).map(|l| within(l.client)).map_err(located),
        Format::NginxJson => nginx_json::client_span(line, &how.json, decoded).map_err(located),
        Format::Csv => unreachable!("CSV logs are rewritten by `csv`"),
    }
}

/// A CSV log, header kept, with its `client` column anonymised.
fn csv(
    input: Box<dyn std::io::BufRead>,
    path: &Path,
    stand_ins: &mut StandIns,
    w: &mut Written,
    out: &mut dyn Write,
) -> Result<(), TraceError> {
    let read_failed =
        |e: ::csv::Error| TraceError::Read(path.to_path_buf(), e.position().map(|p| p.line()), e.to_string());
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader.byte_headers().map_err(read_failed)?.clone();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
    };
    let (Some(t), Some(c)) = (column("time"), column("client")) else {
        return Err(TraceError::Header(path.to_path_buf()));
    };
    let mut writer = ::csv::WriterBuilder::new().flexible(true).from_writer(out);
    let write_failed = |e: ::csv::Error| failed(path, std::io::Error::other(e.to_string()));
    writer.write_byte_record(&header).map_err(write_failed)?;
    let mut record = ::csv::ByteRecord::new();
    let mut row = ::csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(read_failed)? {
        let number = record.position().map_or(0, |p| p.line());
        let field = |i| {
            record
                .get(i)
                .map(<[u8]>::trim_ascii)
                .and_then(|f| std::str::from_utf8(f).ok())
        };
        let (Some(time), Some(client)) = (field(t), field(c)) else {
            w.bad(number, None, "no time or client field");
            continue;
        };
        if client.is_empty() {
            w.bad(number, None, "empty client");
            continue;
        }
        if clock::rfc3339(time).or_else(|| clock::unix_seconds(time)).is_none() {
            w.bad(number, None, "time is neither RFC 3339 nor Unix seconds");
            continue;
        }
        let stand_in = stand_ins.of(client).to_string();
        row.clear();
        for (i, f) in record.iter().enumerate() {
            row.push_field(if i == c { stand_in.as_bytes() } else { f });
        }
        writer.write_byte_record(&row).map_err(write_failed)?;
        w.lines += 1;
    }
    writer.flush().map_err(|e| failed(path, e))
}
