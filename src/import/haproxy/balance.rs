//! `balance ALGORITHM` and `hash-type`: which lbsim policy picks new clients as
//! HAProxy's algorithm does.

use super::lexer::{Line, Word};
use crate::import::ImportError;
use crate::import::reading::{Refusals, Text};

/// A balancing algorithm lbsim models.
#[derive(Clone, Debug, PartialEq)]
pub enum Algorithm {
    RoundRobin,
    StaticRr,
    LeastConn,
    /// `balance source`: the client's address.
    Source,
    Random {
        draws: u32,
    },
    /// A text key hashed with sdbm: a session id the client sends (`what` says where).
    Session {
        what: String,
    },
    /// A header set to `%[src]:%[src_port]`, hashed with sdbm.
    SourcePort,
}

/// Request headers whose value is not a per-user key.
const NOT_SESSIONS: &[&str] = &[
    "host",
    "user-agent",
    "referer",
    "accept",
    "accept-encoding",
    "accept-language",
    "connection",
    "cache-control",
    "pragma",
    "origin",
    "upgrade",
    "content-type",
    "content-length",
    "via",
];

/// Headers carrying a client address written by a proxy in front.
const ADDRESS_HEADERS: &[&str] = &[
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "true-client-ip",
    "cf-connecting-ip",
];

/// The algorithm of a `balance` line. `set_headers` are the `http-request
/// set-header NAME VALUE` rules of the section, lower-cased names.
pub fn algorithm(
    file: &Text,
    refusals: &mut Refusals,
    line: &Line,
    set_headers: &[(String, String)],
) -> Result<Algorithm, ImportError> {
    let Some(arg) = line.args().first() else {
        return Err(file.error(
            line.at(),
            "'balance' expects an algorithm: roundrobin, static-rr, leastconn, source, ...",
        ));
    };
    let text = arg.text.as_str();
    let refuse = |refusals: &mut Refusals, problem: String| -> Result<Algorithm, ImportError> {
        refusals.refuse(
            file,
            arg.at,
            &problem,
            "balanced by roundrobin, HAProxy's default, instead",
        )?;
        Ok(Algorithm::RoundRobin)
    };
    let (name, inner) = match text.split_once('(') {
        Some((n, rest)) => match rest.strip_suffix(')') {
            Some(inner) => (n, Some(inner)),
            None => return Err(file.error(arg.at, format!("unclosed \"(\" in {text:?}"))),
        },
        None => (text, None),
    };
    Ok(match (name, inner) {
        ("roundrobin", None) => Algorithm::RoundRobin,
        ("static-rr", None) => Algorithm::StaticRr,
        ("leastconn", None) => Algorithm::LeastConn,
        ("source", None) => Algorithm::Source,
        ("random", None) => Algorithm::Random { draws: 2 },
        ("random", Some(n)) => {
            Algorithm::Random {
                draws: n.parse().ok().filter(|&d| (1..=100).contains(&d)).ok_or_else(|| {
                    file.error(arg.at, format!("random({n}): expected a number of draws from 1 to 100"))
                })?,
            }
        }
        ("first", None) => {
            return refuse(
                refusals,
                "balance first: fills each server up to its maxconn in id order, which lbsim does not model".into(),
            );
        }
        ("uri" | "path", _) | ("uri_whole", _) => {
            return refuse(
                refusals,
                format!("balance {text}: hashes the request's URI, not the client, and lbsim's requests carry none"),
            );
        }
        ("url_param", None) => {
            let param = line.args().get(1).map_or("", |w| w.text.as_str());
            if param.is_empty() {
                return Err(file.error(arg.at, "'balance url_param' expects a parameter name"));
            }
            Algorithm::Session {
                what: format!("the query parameter {param}"),
            }
        }
        ("hdr", Some(header)) => return header_key(file, refusals, arg, header, set_headers),
        ("rdp-cookie", _) => {
            return refuse(
                refusals,
                "balance rdp-cookie: hashes an RDP cookie of a TCP stream, which lbsim does not model".into(),
            );
        }
        ("hash", None) => {
            let expr = line.args().get(1).map_or("", |w| w.text.as_str());
            match sample_key(expr) {
                Some(what) => Algorithm::Session { what },
                None => {
                    return refuse(
                        refusals,
                        format!(
                            "balance hash {expr}: lbsim models hashing a cookie, header or URL parameter that \
                             carries a session id (req.cook(NAME), req.hdr(NAME), url_param(NAME))"
                        ),
                    );
                }
            }
        }
        _ => return Err(file.error(arg.at, format!("unknown load balancing algorithm {text:?}"))),
    })
}

/// `balance hdr(NAME)`: a session id, or the address and port a rule wrote.
fn header_key(
    file: &Text,
    refusals: &mut Refusals,
    arg: &Word,
    header: &str,
    set_headers: &[(String, String)],
) -> Result<Algorithm, ImportError> {
    let name = header.to_ascii_lowercase();
    let refuse = |refusals: &mut Refusals, problem: String| -> Result<Algorithm, ImportError> {
        refusals.refuse(
            file,
            arg.at,
            &problem,
            "balanced by roundrobin, HAProxy's default, instead",
        )?;
        Ok(Algorithm::RoundRobin)
    };
    if let Some((_, value)) = set_headers.iter().rev().find(|(h, _)| *h == name) {
        if value == "%[src]:%[src_port]" {
            return Ok(Algorithm::SourcePort);
        }
        return refuse(
            refusals,
            format!("balance hdr({header}): the header is set to {value:?} here, a key lbsim does not model"),
        );
    }
    if ADDRESS_HEADERS.contains(&name.as_str()) {
        return refuse(
            refusals,
            format!(
                "balance hdr({header}): hashes the address a proxy in front wrote, as text; lbsim models `balance \
                 source` after `http-request set-src hdr({header})`"
            ),
        );
    }
    if NOT_SESSIONS.contains(&name.as_str()) {
        return refuse(
            refusals,
            format!("balance hdr({header}): the {name} header is not a per-user key"),
        );
    }
    Ok(Algorithm::Session {
        what: format!("the request header {header}"),
    })
}

/// What a `balance hash` sample expression fetches, when it is a session id.
fn sample_key(expr: &str) -> Option<String> {
    let (fetch, inner) = expr.strip_suffix(')')?.split_once('(')?;
    if inner.is_empty() || inner.contains(',') {
        return None;
    }
    Some(match fetch {
        "req.cook" | "cook" => format!("the cookie {inner}"),
        "req.hdr" | "hdr" => format!("the request header {inner}"),
        "url_param" | "urlp" => format!("the query parameter {inner}"),
        _ => return None,
    })
}

/// `hash-type METHOD [FUNCTION] [avalanche]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HashType {
    pub consistent: bool,
    pub function: Option<String>,
    pub avalanche: bool,
}

pub fn hash_type(file: &Text, line: &Line) -> Result<HashType, ImportError> {
    let args = line.args();
    let consistent = match args.first().map(|w| w.text.as_str()) {
        Some("map-based") => false,
        Some("consistent") => true,
        _ => {
            return Err(file.error(
                args.first().map_or(line.at(), |w| w.at),
                "'hash-type' expects map-based or consistent",
            ));
        }
    };
    let mut h = HashType {
        consistent,
        ..HashType::default()
    };
    for w in &args[1..] {
        match w.text.as_str() {
            "sdbm" | "djb2" | "wt6" | "crc32" | "none" if h.function.is_none() => h.function = Some(w.text.clone()),
            "avalanche" if h.function.is_some() => h.avalanche = true,
            other => {
                return Err(file.error(
                    w.at,
                    format!(
                        "unknown hash-type argument {other:?}: expected a function (sdbm, djb2, wt6, crc32, none) \
                         and then the modifier avalanche"
                    ),
                ));
            }
        }
    }
    Ok(h)
}
