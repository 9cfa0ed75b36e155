//! `server NAME ADDRESS [params]` and `default-server [params]`: what decides
//! where requests go (weight, disabled, backup, id, cookie, non-stick, hash-key)
//! and what does not (health checks, TLS, connection limits), which is passed over.

use super::lexer::Word;
use crate::import::ImportError;
use crate::import::reading::{Refusals, Text};

/// HAProxy's largest server weight.
pub const MAX_WEIGHT: u32 = 256;

/// Server keywords that take one value and do not change routing.
const WITH_VALUE: &[&str] = &[
    "addr",
    "agent-addr",
    "agent-inter",
    "agent-port",
    "agent-send",
    "alpn",
    "ca-file",
    "check-alpn",
    "check-proto",
    "check-sni",
    "ciphers",
    "ciphersuites",
    "client-sigalgs",
    "crl-file",
    "crt",
    "curves",
    "downinter",
    "error-limit",
    "fall",
    "fastinter",
    "guid",
    "init-addr",
    "inter",
    "log-proto",
    "max-reuse",
    "namespace",
    "npn",
    "observe",
    "on-error",
    "on-marked-down",
    "on-marked-up",
    "pool-conn-name",
    "pool-low-conn",
    "pool-max-conn",
    "pool-purge-delay",
    "port",
    "proto",
    "proxy-v2-options",
    "resolve-net",
    "resolve-opts",
    "resolve-prefer",
    "resolvers",
    "rise",
    "sigalgs",
    "sni",
    "socks4",
    "source",
    "ssl-max-ver",
    "ssl-min-ver",
    "tcp-ut",
    "track",
    "verify",
    "verifyhost",
    "ws",
];

/// Limits that change routing only under load or after a recovery: noted.
const LIMITS: &[&str] = &["maxconn", "maxqueue", "minconn"];

/// Server flags that do not change routing.
const FLAGS: &[&str] = &[
    "agent-check",
    "allow-0rtt",
    "check",
    "check-send-proxy",
    "check-ssl",
    "check-via-socks4",
    "enabled",
    "force-sslv3",
    "force-tlsv10",
    "force-tlsv11",
    "force-tlsv12",
    "force-tlsv13",
    "no-agent-check",
    "no-check",
    "no-check-ssl",
    "no-send-proxy",
    "no-send-proxy-v2",
    "no-ssl",
    "no-ssl-reuse",
    "no-sslv3",
    "no-tfo",
    "no-tls-tickets",
    "no-tlsv10",
    "no-tlsv11",
    "no-tlsv12",
    "no-tlsv13",
    "no-verifyhost",
    "send-proxy",
    "send-proxy-v2",
    "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn",
    "ssl",
    "ssl-reuse",
    "stick",
    "tfo",
    "tls-tickets",
];

/// What a server line (or the `default-server` lines before it) says that
/// matters for routing.
#[derive(Clone, Debug, Default)]
pub struct Params {
    /// 0 to 256; 1 when not given.
    pub weight: Option<u32>,
    pub disabled: bool,
    pub backup: bool,
    /// An `id N` line and where N stands.
    pub id: Option<(u32, usize)>,
    pub cookie: Option<String>,
    /// `non-stick` and where it stands.
    pub non_stick: Option<usize>,
    /// `hash-key` other than `id`, and where it stands.
    pub hash_key: Option<(String, usize)>,
    /// Limits written, for the header: `maxconn 100`.
    pub limits: Vec<String>,
    /// `slowstart T` as written, and where T stands.
    pub slowstart: Option<(String, usize)>,
}

/// Reads server keywords from `words` into `p`. `default_server`: the line is a
/// `default-server`, which cannot give an id or a cookie.
pub fn read(
    file: &Text,
    refusals: &mut Refusals,
    words: &[Word],
    p: &mut Params,
    default_server: bool,
) -> Result<(), ImportError> {
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let key = w.text.as_str();
        let value = || {
            words
                .get(i + 1)
                .ok_or_else(|| file.error(w.at, format!("'{key}' expects an argument")))
        };
        let number = |max: u32| -> Result<u32, ImportError> {
            let v = value()?;
            v.text.parse::<u32>().ok().filter(|n| *n <= max).ok_or_else(|| {
                file.error(
                    v.at,
                    format!("'{key}' expects a whole number from 0 to {max}, not {:?}", v.text),
                )
            })
        };
        match key {
            "weight" => p.weight = Some(number(MAX_WEIGHT)?),
            "id" if !default_server => {
                let v = value()?;
                let id = v.text.parse::<u32>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    file.error(v.at, format!("'id' expects a positive whole number, not {:?}", v.text))
                })?;
                p.id = Some((id, v.at));
            }
            "cookie" if !default_server => p.cookie = Some(value()?.text.clone()),
            "hash-key" => {
                let v = value()?;
                p.hash_key = (v.text != "id").then(|| (v.text.clone(), v.at));
            }
            k if LIMITS.contains(&k) => p.limits.push(format!("{k} {}", value()?.text)),
            "slowstart" => {
                let v = value()?;
                p.slowstart = Some((v.text.clone(), v.at));
            }
            k if WITH_VALUE.contains(&k) => {
                value()?;
            }
            "disabled" => p.disabled = true,
            "enabled" => p.disabled = false,
            "backup" => p.backup = true,
            "no-backup" => p.backup = false,
            "non-stick" => p.non_stick = Some(w.at),
            k if FLAGS.contains(&k) => {
                i += 1;
                continue;
            }
            "redir" => {
                value()?;
                refusals.refuse(
                    file,
                    w.at,
                    "redir: the server's requests are redirected, not proxied, which lbsim does not model",
                    "taken as proxied",
                )?;
            }
            _ => {
                let problem = format!("unknown server keyword {key:?}");
                refusals.refuse(file, w.at, &problem, "left out")?;
                i += 1;
                continue;
            }
        }
        i += if matches!(key, "disabled" | "enabled" | "backup" | "no-backup" | "non-stick") {
            1
        } else {
            2
        };
    }
    Ok(())
}
