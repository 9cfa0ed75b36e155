//! One `upstream` block: its `server` lines in order and the balancing method,
//! as the lbsim nginx policies that pick as nginx 1.22 does.
//!
//! Server names are the `server` text as written (`10.0.0.1:80`, `10.0.0.1`,
//! `unix:/run/app.sock`): `hash ... consistent` places its ring points by that
//! text, so `10.0.0.1` and `10.0.0.1:80` are different rings although nginx
//! connects both to port 80. A `backup` server takes requests only once every
//! primary server is down or failed; lbsim does not model that last resort, so
//! it is left out of the pool and named in the header. nginx refuses `backup`
//! after `ip_hash`, `hash` or `random`, and so does the import.

use super::key;
use super::sticky::{self, nginx_time};
use super::tree::{Directive, Files};
use crate::engine::Time;
use crate::import::reading::{Refusals, Text};
use crate::import::{ImportError, Imported, ImportedServer, ImportedSlowStart, Origin, Product};
use crate::pool::slow_start;
use crate::scenario::units::Weight;

/// How the upstream chooses among its servers, with the directive that said so.
struct Method {
    kind: Kind,
    origin: Origin,
}

#[derive(Clone, PartialEq)]
enum Kind {
    IpHash,
    Hash { params: Vec<&'static str> },
    LeastConn,
    Random,
    RandomTwo,
}

impl Kind {
    /// Whether nginx accepts `backup` servers after this method.
    fn takes_backups(&self) -> bool {
        *self == Kind::LeastConn
    }
}

/// Directives inside `upstream` that do not change which server a request goes to.
const NOT_ROUTING: &[&str] = &[
    "keepalive",
    "keepalive_requests",
    "keepalive_time",
    "keepalive_timeout",
    "zone",
    "resolver",
    "resolver_timeout",
];

/// An upstream block being read.
struct Upstream<'f> {
    text: Text<'f>,
    refusals: Refusals,
    servers: Vec<ImportedServer>,
    /// Where each server's line starts, for errors found after reading them all.
    server_at: Vec<usize>,
    backups: Vec<String>,
    /// Passive health checks and limits written on servers, for the header.
    limits: Vec<String>,
    /// `slow_start=` on servers (nginx Plus): the server, the time, where it was written.
    slow_starts: Vec<(String, Time, usize, Origin)>,
    method: Option<Method>,
    sticky: Option<(String, Origin)>,
    notes: Vec<String>,
}

/// The pool and policy of `block`, an `upstream NAME { ... }` directive.
pub fn read(files: &Files, block: &Directive, lenient: bool) -> Result<Imported, ImportError> {
    let text = files.text(block.file);
    let mut u = Upstream {
        text,
        refusals: Refusals::new(lenient),
        servers: Vec::new(),
        server_at: Vec::new(),
        backups: Vec::new(),
        limits: Vec::new(),
        slow_starts: Vec::new(),
        method: None,
        sticky: None,
        notes: Vec::new(),
    };
    let name = &block.args[0].text;
    for d in block.block.as_deref().unwrap_or_default() {
        if d.file != block.file {
            return Err(files.text(d.file).error(
                d.name.at,
                "a directive of this upstream comes from an included file: lbsim reads an upstream block from \
                 one file; write its directives in the block",
            ));
        }
        u.directive(files, d)?;
    }
    if u.servers.is_empty() {
        let why = if u.backups.is_empty() {
            "no servers"
        } else {
            "only backup servers"
        };
        return Err(text.error(
            block.args[0].at,
            format!("upstream {name:?} has {why}: nginx refuses it (\"no servers are inside upstream\")"),
        ));
    }
    if u.servers.iter().all(|s| s.down) {
        return Err(text.error(
            block.args[0].at,
            format!("every server of upstream {name:?} is marked down: no request could be served"),
        ));
    }
    for (i, s) in u.servers.iter().enumerate() {
        if u.servers[..i].iter().any(|t| t.name == s.name) {
            return Err(text.error(
                u.server_at[i],
                format!(
                    "server {} appears twice: nginx makes two peers of it, while lbsim needs each server's name \
                     to be its own",
                    s.name
                ),
            ));
        }
    }
    u.finish(name, block, files)
}

impl Upstream<'_> {
    fn directive(&mut self, files: &Files, d: &Directive) -> Result<(), ImportError> {
        let origin = Origin {
            at: self.text.place(d.name.at),
            said: d.said(files),
        };
        let kind = match d.name.text.as_str() {
            "server" => return self.server(d, origin),
            "ip_hash" => self.no_arguments(d).map(|_| Kind::IpHash)?,
            "least_conn" => self.no_arguments(d).map(|_| Kind::LeastConn)?,
            "hash" => self.hash(d)?,
            "random" => self.random(d)?,
            "sticky" => return self.sticky(d, origin),
            name if NOT_ROUTING.contains(&name) => return Ok(()),
            "least_time" | "ntlm" | "queue" | "state" => {
                let problem = format!(
                    "{}: an nginx Plus directive that changes routing, not modelled",
                    d.name.text
                );
                return self.refusals.refuse(&self.text, d.name.at, &problem, "left out");
            }
            other => {
                let problem = format!("unknown directive {other:?} in an upstream block");
                return self.refusals.refuse(&self.text, d.name.at, &problem, "left out");
            }
        };
        if d.block.is_some() {
            return Err(self
                .text
                .error(d.name.at, format!("\"{}\" takes no block", d.name.text)));
        }
        if let Some(before) = &self.method {
            self.notes.push(format!(
                "{}: nginx warns \"load balancing method redefined\" and uses the last one, `{}` (line {}).",
                before.origin.said, origin.said, origin.at.line
            ));
        }
        if !kind.takes_backups()
            && let Some(b) = self.backups.first()
        {
            self.notes.push(format!(
                "{b} is a backup although `{}` does not take backups: nginx 1.22 accepts it because the method \
                 comes after the server lines, and the method never picks it.",
                origin.said
            ));
        }
        self.method = Some(Method { kind, origin });
        Ok(())
    }

    fn no_arguments(&self, d: &Directive) -> Result<(), ImportError> {
        match d.args.first() {
            Some(a) => Err(self.text.error(
                a.at,
                format!("invalid number of arguments in \"{}\": it takes none", d.name.text),
            )),
            None => Ok(()),
        }
    }

    /// `hash KEY [consistent];`
    fn hash(&mut self, d: &Directive) -> Result<Kind, ImportError> {
        let (key, consistent) = match d.args.as_slice() {
            [key] => (key, false),
            [key, c] if c.text == "consistent" => (key, true),
            [_, other] => return Err(self.text.error(other.at, format!("invalid parameter {:?}", other.text))),
            _ => {
                return Err(self.text.error(
                    d.name.at,
                    "invalid number of arguments in \"hash\": expected hash KEY [consistent]",
                ));
            }
        };
        let mut params = match key::map(&key.text) {
            Ok(mapped) => {
                self.notes.extend(mapped.note);
                mapped.params
            }
            Err(problem) => {
                self.refusals
                    .refuse(&self.text, key.at, &problem, "hashed as $remote_addr instead")?;
                Vec::new()
            }
        };
        if consistent {
            params.push("consistent=on");
        }
        Ok(Kind::Hash { params })
    }

    /// `random [two [least_conn]];`
    fn random(&mut self, d: &Directive) -> Result<Kind, ImportError> {
        let words: Vec<&str> = d.args.iter().map(|a| a.text.as_str()).collect();
        match words.as_slice() {
            [] => {
                self.notes.push(
                    "random: lbsim's `random` draws each request's server in proportion to weight, as nginx does; \
                     the draws themselves differ."
                        .into(),
                );
                Ok(Kind::Random)
            }
            ["two"] | ["two", "least_conn"] => {
                self.notes.push(
                    "random two least_conn: lbsim's `p2c` sends each request to the one with fewer requests in \
                     flight of two servers drawn at random; nginx draws the two in proportion to weight and \
                     compares connections per unit of weight, p2c draws them evenly."
                        .into(),
                );
                Ok(Kind::RandomTwo)
            }
            ["two", method] if method.starts_with("least_time") => {
                let at = d.args[1].at;
                self.refusals.refuse(
                    &self.text,
                    at,
                    "random two least_time: nginx Plus compares response times, which lbsim does not model",
                    "taken as random two least_conn (p2c)",
                )?;
                Ok(Kind::RandomTwo)
            }
            _ => Err(self
                .text
                .error(d.args[0].at, "invalid parameter: expected random [two [least_conn]]")),
        }
    }

    /// `server ADDRESS [weight=N] [max_fails=N] [fail_timeout=T] [backup] [down] ...;`
    fn server(&mut self, d: &Directive, origin: Origin) -> Result<(), ImportError> {
        let Some(address) = d.args.first() else {
            return Err(self.text.error(
                d.name.at,
                "invalid number of arguments in \"server\": expected server ADDRESS [parameters]",
            ));
        };
        if d.block.is_some() {
            return Err(self.text.error(d.name.at, "\"server\" takes no block inside upstream"));
        }
        let name = address.text.clone();
        let (mut weight, mut down, mut backup) = (1u32, false, false);
        let mut limits = Vec::new();
        for p in &d.args[1..] {
            let (key, value) = match p.text.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (p.text.as_str(), None),
            };
            let invalid = || self.text.error(p.at, format!("invalid parameter {:?}", p.text));
            match (key, value) {
                ("weight", Some(v)) => {
                    weight = v.parse().ok().filter(|&w| w >= 1).ok_or_else(invalid)?;
                    if weight > Weight::MAX {
                        return Err(self.text.error(
                            p.at,
                            format!("weight={weight}: lbsim takes weights from 1 to {}", Weight::MAX),
                        ));
                    }
                }
                ("max_fails" | "max_conns", Some(v)) => {
                    v.parse::<u32>().map_err(|_| invalid())?;
                    limits.push(p.text.clone());
                }
                ("fail_timeout", Some(v)) => {
                    nginx_time(v).ok_or_else(invalid)?;
                    limits.push(p.text.clone());
                }
                ("slow_start", Some(v)) => {
                    let t = nginx_time(v).ok_or_else(invalid)?;
                    // slow_start=0 is nginx's default: no slow start.
                    if t > 0 {
                        let said = Origin {
                            at: self.text.place(p.at),
                            said: p.text.clone(),
                        };
                        self.slow_starts.push((name.clone(), t, p.at, said));
                    }
                }
                ("down", None) => down = true,
                ("backup", None) => backup = true,
                ("route", Some(_)) => {}
                ("resolve" | "service" | "drain", _) => {
                    let problem = format!(
                        "{}: the server's addresses change at run time (nginx Plus, or nginx 1.27.3 and later), \
                         which lbsim does not model",
                        p.text
                    );
                    self.refusals
                        .refuse(&self.text, p.at, &problem, "taken as one fixed address")?;
                }
                _ => return Err(invalid()),
            }
        }
        if backup {
            if let Some(m) = self.method.as_ref().filter(|m| !m.kind.takes_backups()) {
                return Err(self.text.error(
                    d.args.iter().find(|a| a.text == "backup").map_or(d.name.at, |a| a.at),
                    format!(
                        "balancing method does not support parameter \"backup\": nginx refuses backup servers after \
                         `{}` (line {})",
                        m.origin.said, m.origin.at.line
                    ),
                ));
            }
            self.backups.push(format!("{name} (line {})", origin.at.line));
            return Ok(());
        }
        self.check_address(address.at, &name, weight)?;
        if !limits.is_empty() {
            self.limits
                .push(format!("{name} (line {}): {}", origin.at.line, limits.join(" ")));
        }
        self.server_at.push(d.name.at);
        self.servers.push(ImportedServer {
            name,
            weight,
            down,
            origin,
        });
        Ok(())
    }

    /// A `server` address must name one peer: an IP address or a unix socket.
    fn check_address(&mut self, at: usize, address: &str, weight: u32) -> Result<(), ImportError> {
        if address.starts_with("unix:") {
            return Ok(());
        }
        let host = match address.strip_prefix('[') {
            Some(rest) => match rest.split_once(']') {
                Some((v6, port)) if v6.parse::<std::net::Ipv6Addr>().is_ok() => {
                    return self.check_port(at, address, port.strip_prefix(':').unwrap_or(port));
                }
                _ => return Err(self.text.error(at, format!("invalid IPv6 address in {address:?}"))),
            },
            None => match address.rsplit_once(':') {
                Some((host, port)) => {
                    self.check_port(at, address, port)?;
                    host
                }
                None => address,
            },
        };
        if host.parse::<std::net::Ipv4Addr>().is_ok() {
            return Ok(());
        }
        let problem = format!(
            "{host} is a host name: nginx makes a peer of every address it resolves to at start, each of weight \
             {weight}, which changes the hashes' walk and round robin's turns; lbsim cannot resolve it as nginx \
             would, so write one server line per address"
        );
        self.refusals.refuse(&self.text, at, &problem, "taken as one address")
    }

    fn check_port(&self, at: usize, address: &str, port: &str) -> Result<(), ImportError> {
        if port.is_empty() || port.parse::<u16>().is_ok_and(|p| p > 0) {
            Ok(())
        } else {
            Err(self.text.error(at, format!("invalid port in {address:?}")))
        }
    }

    /// `sticky cookie|route|learn ...;` (nginx Plus): kept until the method is known.
    fn sticky(&mut self, d: &Directive, origin: Origin) -> Result<(), ImportError> {
        let sticky = sticky::read(&self.text, d)?;
        self.notes.push(sticky.note);
        self.sticky = Some((sticky.lifetime.unwrap_or_default(), origin));
        Ok(())
    }

    fn finish(mut self, name: &str, block: &Directive, files: &Files) -> Result<Imported, ImportError> {
        let slow_start = self.slow_start()?;
        let (base, mut policy_origin) = match &self.method {
            None => ("nginx.round_robin".to_string(), Vec::new()),
            Some(m) => (
                match &m.kind {
                    Kind::IpHash => "nginx.ip_hash".to_string(),
                    Kind::Hash { params } if params.is_empty() => "nginx.hash".to_string(),
                    Kind::Hash { params } => format!("nginx.hash({})", params.join(", ")),
                    Kind::LeastConn => "nginx.least_conn".to_string(),
                    Kind::Random => "random".to_string(),
                    Kind::RandomTwo => "p2c".to_string(),
                },
                vec![m.origin.clone()],
            ),
        };
        let policy = match self.sticky.take() {
            None => base,
            Some((lifetime, origin)) => {
                policy_origin.push(origin);
                match lifetime.as_str() {
                    "" => format!("cookie(base={base})"),
                    l => format!("cookie(base={base}, {l})"),
                }
            }
        };
        if !self.backups.is_empty() {
            self.notes.push(format!(
                "Backup servers, left out of the pool: {}. nginx sends them requests only when every primary \
                 server is down or failed; lbsim does not model backups, so with a primary up they change nothing.",
                self.backups.join(", ")
            ));
        }
        if !self.limits.is_empty() {
            self.notes.push(format!(
                "Server limits: {}. max_fails and fail_timeout are passive health checks: after max_fails failed \
                 attempts within fail_timeout nginx stops choosing the server for fail_timeout. They act only when a \
                 server fails, which a scenario expresses with `fail` events; max_conns caps a server under load, \
                 which lbsim does not model.",
                self.limits.join("; ")
            ));
        }
        Ok(Imported {
            product: Product::Nginx,
            file: files.list[block.file].0.clone(),
            section: name.to_string(),
            servers: self.servers,
            policy,
            policy_origin,
            notes: self.notes,
            warnings: self.refusals.warnings,
            slow_start,
        })
    }

    /// `slow_start=` (ngx_http_upstream_module, `server`): refused by nginx with
    /// `hash`, `ip_hash` and `random`, ignored in a group of one server; the
    /// scenario has one window for the pool, the longest written.
    fn slow_start(&mut self) -> Result<Option<ImportedSlowStart>, ImportError> {
        let Some(longest) = self.slow_starts.iter().rev().max_by_key(|s| s.1) else {
            return Ok(None);
        };
        if let Some(m) = self.method.as_ref().filter(|m| m.kind != Kind::LeastConn) {
            return Err(self.text.error(
                longest.2,
                format!(
                    "balancing method does not support parameter \"slow_start\": nginx refuses slow_start with \
                     `{}` (line {}); it works with round robin and least_conn",
                    m.origin.said, m.origin.at.line
                ),
            ));
        }
        if self.servers.len() + self.backups.len() == 1 {
            self.notes.push(format!(
                "{} on the only server: nginx ignores slow_start in a group of one server.",
                longest.3.said
            ));
            return Ok(None);
        }
        let written: Vec<String> = self
            .slow_starts
            .iter()
            .map(|s| format!("{} {}", s.0, s.3.said))
            .collect();
        if self.slow_starts.len() < self.servers.len() || self.slow_starts.iter().any(|s| s.1 != longest.1) {
            self.notes.push(format!(
                "slow_start on {}: the scenario's [slow_start] ramps every server that comes back over one \
                 window, the longest written.",
                written.join(", ")
            ));
        }
        if self.sticky.is_some() {
            self.notes.push(
                "slow_start with sticky: lbsim's cookie policy keeps full weights for the clients it places; \
                 nginx ramps the weights its method places new clients by."
                    .into(),
            );
        }
        Ok(Some(ImportedSlowStart {
            product: slow_start::Product::Nginx,
            window: longest.1,
            aggression: None,
            min_weight_percent: None,
            origin: longest.3.clone(),
        }))
    }
}
