//! Reading a log file, plain or gzip-compressed, into (time, client) pairs.
//!
//! Real logs have bad lines: truncated writes, a crash mid-line, binary noise,
//! another format pasted in. They are counted and skipped, and the first few are
//! reported by line number and by what is wrong with them (never by content: a
//! line names a client). Blank lines are not requests and are passed over. Only a
//! file that cannot be read, or that has no good line at all, stops a replay.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::clients::Clients;
use super::fields::Bad;
use super::labels::{self, Label, Labels, UNLABELLED};
use super::log::{self, Format, Line};
use super::nginx_json::Keys;
use super::{Malformed, TraceError, alb, clock, elb, haproxy, lines, nginx_json};
use crate::privacy::Secret;

/// How to read a log: its format, for JSON logs which keys hold what, and the
/// key that hashes host names into addresses.
#[derive(Clone, Debug)]
pub struct Reading {
    pub format: Format,
    pub json: Keys,
    pub names: Secret,
}

/// How many malformed lines are kept to be reported.
pub const REPORTED: usize = 5;

/// The first bytes of every gzip member (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What reading a log found.
pub struct Parsed {
    /// (Unix nanoseconds, client id), in file order.
    pub requests: Vec<(i64, u32)>,
    pub clients: Clients,
    pub malformed: u64,
    pub first_malformed: Vec<Malformed>,
    /// Each request's label id, in file order, when a label was asked for.
    pub labels: Vec<u32>,
    pub label_names: Labels,
}

impl Parsed {
    fn bad(&mut self, line: u64, why: &'static str) {
        self.bad_at(line, None, why);
    }

    fn bad_at(&mut self, line: u64, column: Option<usize>, why: &'static str) {
        self.malformed += 1;
        if self.first_malformed.len() < REPORTED {
            self.first_malformed.push(Malformed { line, column, why });
        }
    }

    /// A line of a format whose reader says where it goes wrong.
    fn located(&mut self, line: u64, read: Result<Line, Bad>) -> ControlFlow<()> {
        match read {
            Ok(l) => self.good(l.time, l.client),
            Err(bad) => self.bad_at(line, Some(bad.column), bad.why),
        }
        ControlFlow::Continue(())
    }

    fn good(&mut self, time: i64, client: &str) {
        let id = self.clients.id(client);
        self.requests.push((time, id));
    }
}

/// Reads every request line of the log at `path`.
pub fn read(path: &Path, how: &Reading) -> Result<Parsed, TraceError> {
    read_labelled(path, how, &Label::Nothing)
}

/// Reads every request line of the log at `path`, with each request's `label`
/// (user agents and CSV columns; the other formats' requests go unlabelled).
pub fn read_labelled(path: &Path, how: &Reading, label: &Label) -> Result<Parsed, TraceError> {
    let input = open(path)?;
    let mut read = Parsed {
        requests: Vec::new(),
        clients: Clients::new(&how.names),
        malformed: 0,
        first_malformed: Vec::new(),
        labels: Vec::new(),
        label_names: Labels::default(),
    };
    let format = how.format;
    match format {
        Format::Common | Format::Combined => ncsa(input, format == Format::Combined, label, path, &mut read)?,
        Format::Csv => csv(input, label, path, &mut read)?,
        Format::Alb => lines::each(input, path, |n, l| read.located(n, alb::line(l)))?,
        Format::Elb => lines::each(input, path, |n, l| read.located(n, elb::line(l)))?,
        Format::Haproxy => lines::each(input, path, |n, l| read.located(n, haproxy::line(l)))?,
        Format::NginxJson => {
            let mut client = String::new();
            lines::each(input, path, |n, l| {
                read.located(n, nginx_json::line(l, &how.json, &mut client))
            })?
        }
    }
    Ok(read)
}

/// The file, decompressed on the fly when it starts with gzip's magic bytes
/// (whatever its name); several gzip members one after another read as one.
pub(crate) fn open(path: &Path) -> Result<Box<dyn BufRead>, TraceError> {
    let cannot = |e| TraceError::Open(path.to_path_buf(), e);
    let mut plain = BufReader::with_capacity(1 << 16, File::open(path).map_err(cannot)?);
    let gzip = plain.fill_buf().map_err(cannot)?.starts_with(&GZIP_MAGIC);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(plain)))
    } else {
        Box::new(plain)
    })
}

fn ncsa(
    input: Box<dyn BufRead>,
    combined: bool,
    label: &Label,
    path: &Path,
    read: &mut Parsed,
) -> Result<(), TraceError> {
    lines::each(input, path, |number, line| {
        match log::ncsa(line, combined) {
            Ok(l) => {
                read.good(l.time, l.client);
                if *label == Label::Agent {
                    let id = read.label_names.id(labels::user_agent(line));
                    read.labels.push(id);
                }
            }
            Err(why) => read.bad(number, why),
        }
        ControlFlow::Continue(())
    })
}

fn csv(input: Box<dyn BufRead>, label: &Label, path: &Path, read: &mut Parsed) -> Result<(), TraceError> {
    let failed = |e: ::csv::Error| TraceError::Read(path.to_path_buf(), e.position().map(|p| p.line()), e.to_string());
    let mut reader = ::csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader.byte_headers().map_err(failed)?;
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim_ascii().eq_ignore_ascii_case(name.as_bytes()))
    };
    let (Some(t), Some(c)) = (column("time"), column("client")) else {
        return Err(TraceError::Header(path.to_path_buf()));
    };
    let labelled = match label {
        Label::Field(name) => Some(column(name).ok_or_else(|| {
            TraceError::Field {
                path: path.to_path_buf(),
                name: name.clone(),
                columns: header
                    .iter()
                    .map(|h| String::from_utf8_lossy(h).trim().to_string())
                    .collect(),
            }
        })?),
        _ => None,
    };
    let mut record = ::csv::ByteRecord::new();
    while reader.read_byte_record(&mut record).map_err(failed)? {
        let number = record.position().map_or(0, |p| p.line());
        let field = |i| {
            record
                .get(i)
                .map(<[u8]>::trim_ascii)
                .and_then(|f| std::str::from_utf8(f).ok())
        };
        let (Some(time), Some(client)) = (field(t), field(c)) else {
            read.bad(number, "no time or client field");
            continue;
        };
        if client.is_empty() {
            read.bad(number, "empty client");
            continue;
        }
        match clock::rfc3339(time).or_else(|| clock::unix_seconds(time)) {
            Some(time) => {
                read.good(time, client);
                if let Some(l) = labelled {
                    let id = record
                        .get(l)
                        .map_or(UNLABELLED, |f| read.label_names.id(f.trim_ascii()));
                    read.labels.push(id);
                }
            }
            None => read.bad(number, "time is neither RFC 3339 nor Unix seconds"),
        }
    }
    Ok(())
}
