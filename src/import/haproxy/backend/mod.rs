//! One `backend` or `listen` section and its defaults: the servers in order and
//! the policy, from the balancing algorithm outward: `balance` (with
//! `hash-type`), then a stick table in front of it, then a cookie in front of both,
//! which is the order HAProxy consults them in.
//!
//! Server names are HAProxy's (`web1`), which is what it reports. The consistent
//! tree places a server's nodes by its numeric id (its position unless `id`
//! says otherwise), and lbsim's `haproxy.source` numbers servers by position:
//! ids that differ from positions are refused. `backup` servers serve only when
//! every active server is down; lbsim does not model them, so they are named in
//! the header, not put in the pool. A server of weight 0 takes no new requests:
//! it is imported as down.

mod hashing;
mod persistence;
mod slowstart;

use super::Section;
use super::balance;
use super::lexer::Line;
use super::server::{self, Params};
use crate::import::reading::{Refusals, Text};
use crate::import::{ImportError, Imported, ImportedServer, Origin, Product};

/// Proxy keywords that change routing and that lbsim does not model.
const NOT_MODELLED: &[(&str, &str)] = &[
    ("use-server", "sends matching requests to a named server"),
    ("force-persist", "keeps matching requests on a server that is down"),
    (
        "ignore-persist",
        "ignores the cookie or stick table for matching requests",
    ),
    ("persist", "persists on an RDP cookie"),
    ("dispatch", "sends every request to one address"),
    ("transparent", "sends every request to its original destination"),
    ("server-template", "makes servers that DNS fills in at run time"),
    (
        "load-server-state-from-file",
        "takes server weights and states from a file",
    ),
    (
        "hash-preserve-affinity",
        "changes what the consistent hash does with saturated servers",
    ),
    ("appsession", "was removed in HAProxy 1.6"),
];

/// A server line read.
struct Server<'t> {
    line: &'t Line,
    params: Params,
}

/// The section being read, defaults first.
struct Backend<'f, 't> {
    file: Text<'f>,
    refusals: Refusals,
    http: bool,
    balance: Option<&'t Line>,
    hash_type: Option<&'t Line>,
    factor: Option<&'t Line>,
    cookie: Option<&'t Line>,
    default_server: Params,
    servers: Vec<Server<'t>>,
    stick_table: Option<&'t Line>,
    stick_rules: Vec<&'t Line>,
    set_src: Option<&'t Line>,
    set_headers: Vec<(String, String)>,
    allbackups: bool,
    notes: Vec<String>,
}

/// The pool and policy of section `index`, with its `defaults`.
pub fn read(
    file: &Text,
    sections: &[Section],
    defaults: Option<&Section>,
    index: usize,
    lenient: bool,
) -> Result<Imported, ImportError> {
    let section = &sections[index];
    let mut b = Backend {
        file: *file,
        refusals: Refusals::new(lenient),
        http: false,
        balance: None,
        hash_type: None,
        factor: None,
        cookie: None,
        default_server: Params::default(),
        servers: Vec::new(),
        stick_table: None,
        stick_rules: Vec::new(),
        set_src: None,
        set_headers: Vec::new(),
        allbackups: false,
        notes: Vec::new(),
    };
    for line in defaults.map_or(&[][..], |d| d.lines) {
        b.line(line, true)?;
    }
    for line in section.lines {
        b.line(line, false)?;
    }
    let name = section.name().map_or(String::new(), |w| w.text.clone());
    b.finish(&name, section, sections)
}

impl<'t> Backend<'_, 't> {
    fn origin(&self, line: &Line) -> Origin {
        Origin {
            at: self.file.place(line.at()),
            said: self.file.said(line.at(), line.end),
        }
    }

    fn line(&mut self, line: &'t Line, in_defaults: bool) -> Result<(), ImportError> {
        let args = line.args();
        let first = args.first().map(|w| w.text.as_str());
        match line.keyword() {
            "mode" => self.http = first == Some("http"),
            "balance" => self.balance = Some(line),
            "hash-type" => self.hash_type = Some(line),
            "hash-balance-factor" => self.factor = Some(line),
            "cookie" => self.cookie = Some(line),
            "default-server" => {
                let mut p = std::mem::take(&mut self.default_server);
                server::read(&self.file, &mut self.refusals, args, &mut p, true)?;
                self.default_server = p;
            }
            "option" | "no" => self.option(line)?,
            _ if in_defaults => {}
            "server" => {
                if args.len() < 2 {
                    return Err(self.file.error(line.at(), "'server' expects a name and an address"));
                }
                let mut params = self.default_server.clone();
                server::read(&self.file, &mut self.refusals, &args[2..], &mut params, false)?;
                self.servers.push(Server { line, params });
            }
            "stick-table" => self.stick_table = Some(line),
            "stick" => self.stick_rules.push(line),
            "tcp-request" | "http-request" => self.request_rule(line)?,
            "disabled" => {
                return Err(self
                    .file
                    .error(line.at(), "the section is disabled: HAProxy sends it no requests"));
            }
            keyword => {
                if let Some((_, what)) = NOT_MODELLED.iter().find(|(k, _)| *k == keyword) {
                    let problem = format!("{keyword}: {what}, which lbsim does not model");
                    self.refusals.refuse(&self.file, line.at(), &problem, "left out")?;
                }
            }
        }
        Ok(())
    }

    /// `option persist|redispatch|allbackups|transparent`, or `no option ...`.
    fn option(&mut self, line: &Line) -> Result<(), ImportError> {
        let words: Vec<&str> = line.words.iter().map(|w| w.text.as_str()).collect();
        let (on, name) = match words.as_slice() {
            ["no", "option", name, ..] => (false, *name),
            ["option", name, ..] => (true, *name),
            _ => return Ok(()),
        };
        match name {
            "allbackups" => self.allbackups = on,
            "transparent" if on => {
                self.refusals.refuse(
                    &self.file,
                    line.at(),
                    "option transparent: sends each request to its original destination, which lbsim does not model",
                    "left out",
                )?;
            }
            "persist" if on => self.notes.push(format!(
                "{}: a client whose cookie names a server that is down is still sent there first; lbsim sends \
                 it to another server at once. This matters only when a server fails.",
                self.file.said(line.at(), line.end)
            )),
            _ => {}
        }
        Ok(())
    }

    /// `tcp-request connection set-src ...`, `http-request set-src ...` and
    /// `http-request set-header NAME VALUE`: what a `balance` or `stick` reads.
    fn request_rule(&mut self, line: &'t Line) -> Result<(), ImportError> {
        let words: Vec<&str> = line.args().iter().map(|w| w.text.as_str()).collect();
        let action = match words.as_slice() {
            ["connection" | "session" | "content", action, ..] => *action,
            [action, ..] => *action,
            [] => return Ok(()),
        };
        let after: Vec<&str> = words.iter().skip_while(|w| **w != action).skip(1).copied().collect();
        match action {
            "set-src" => self.set_src = Some(line),
            "set-header" if after.len() >= 2 && line.keyword() == "http-request" => {
                if after.len() > 2 {
                    return self.refusals.refuse(
                        &self.file,
                        line.at(),
                        "a conditional set-header: lbsim cannot tell which requests it applies to",
                        "left out",
                    );
                }
                self.set_headers
                    .push((after[0].to_ascii_lowercase(), after[1].to_string()));
            }
            _ => {}
        }
        Ok(())
    }

    /// The key `set-src` gives `balance source` and `stick on src`: `None` for the
    /// connection's address, `Some("prefix")` for its /24 or /64.
    fn source_key(&mut self) -> Result<Option<&'static str>, ImportError> {
        let Some(line) = self.set_src else { return Ok(None) };
        let words: Vec<&str> = line.args().iter().map(|w| w.text.as_str()).collect();
        let expr = words
            .iter()
            .skip_while(|w| **w != "set-src")
            .nth(1)
            .copied()
            .unwrap_or("");
        let conditional = words.iter().skip_while(|w| **w != "set-src").count() > 2;
        if !conditional && expr == "src,ipmask(24,64)" {
            return Ok(Some("prefix"));
        }
        let header = expr.strip_prefix("hdr(").or_else(|| expr.strip_prefix("req.hdr("));
        if !conditional && let Some(h) = header.and_then(|h| h.strip_suffix(')')) {
            self.notes.push(format!(
                "{}: the client's address is the one the proxy in front writes in {h}; lbsim's clients are \
                 those addresses.",
                self.file.said(line.at(), line.end)
            ));
            return Ok(None);
        }
        self.refusals.refuse(
            &self.file,
            line.at(),
            "set-src: lbsim models set-src src,ipmask(24,64) and set-src hdr(NAME), unconditional",
            "the connection's address is used",
        )?;
        Ok(None)
    }

    fn finish(mut self, name: &str, section: &Section, sections: &[Section]) -> Result<Imported, ImportError> {
        let mut policy_origin = Vec::new();
        let algorithm = match self.balance {
            Some(line) => {
                policy_origin.push(self.origin(line));
                balance::algorithm(&self.file, &mut self.refusals, line, &self.set_headers)?
            }
            None => balance::Algorithm::RoundRobin,
        };
        let all = std::mem::take(&mut self.servers);
        let servers = self.active(section, &all)?;
        let mut policy = self.base(&algorithm, &all, &servers, &mut policy_origin)?;
        if !self.stick_rules.is_empty() {
            policy = self.stick(policy, sections, &servers, &mut policy_origin)?;
        }
        if let Some(line) = self.cookie {
            policy = self.cookie(policy, line, &servers, &mut policy_origin)?;
        }
        let slow_start = self.slow_start(&algorithm, &servers, &policy)?;
        let imported: Vec<ImportedServer> = servers
            .iter()
            .map(|s| ImportedServer {
                name: s.line.args()[0].text.clone(),
                weight: s.params.weight.unwrap_or(1).max(1),
                down: s.params.disabled || s.params.weight == Some(0),
                origin: self.origin(s.line),
            })
            .collect();
        Ok(Imported {
            product: Product::Haproxy,
            file: self.file.path.to_path_buf(),
            section: name.to_string(),
            servers: imported,
            policy,
            policy_origin,
            notes: self.notes,
            warnings: self.refusals.warnings,
            slow_start,
        })
    }

    /// The active servers, after checks; backups go to the header.
    fn active<'a>(&mut self, section: &Section, all: &'a [Server<'t>]) -> Result<Vec<&'a Server<'t>>, ImportError> {
        let at = section.header.at();
        let backups: Vec<String> = all
            .iter()
            .filter(|s| s.params.backup)
            .map(|s| format!("{} (line {})", s.line.args()[0].text, self.file.place(s.line.at()).line))
            .collect();
        let active: Vec<&Server> = all.iter().filter(|s| !s.params.backup).collect();
        let name = section.name().map_or("", |w| w.text.as_str());
        if active.is_empty() {
            let why = if backups.is_empty() {
                "no servers"
            } else {
                "only backup servers, and lbsim does not model backups"
            };
            return Err(self.file.error(at, format!("{} {name:?} has {why}", section.kind())));
        }
        if active.iter().all(|s| s.params.disabled || s.params.weight == Some(0)) {
            return Err(self.file.error(
                at,
                format!("every server of {name:?} is disabled or of weight 0: no request could be served"),
            ));
        }
        for (i, s) in all.iter().enumerate() {
            let n = &s.line.args()[0];
            if all[..i].iter().any(|t| t.line.args()[0].text == n.text) {
                return Err(self.file.error(n.at, format!("server name {:?} appears twice", n.text)));
            }
        }
        if !backups.is_empty() {
            let which = if self.allbackups {
                "all of them (option allbackups)"
            } else {
                "the first one"
            };
            self.notes.push(format!(
                "Backup servers, left out of the pool: {}. HAProxy sends requests to {which} only when every \
                 active server is down; lbsim does not model backups, so with an active server up they change \
                 nothing.",
                backups.join(", ")
            ));
        }
        let zero: Vec<&str> = active
            .iter()
            .filter(|s| s.params.weight == Some(0))
            .map(|s| s.line.args()[0].text.as_str())
            .collect();
        if !zero.is_empty() {
            self.notes.push(format!(
                "Weight 0 ({}): HAProxy sends such a server no new requests, so it is imported as down.",
                zero.join(", ")
            ));
        }
        let limits: Vec<String> = active
            .iter()
            .filter(|s| !s.params.limits.is_empty())
            .map(|s| format!("{} {}", s.line.args()[0].text, s.params.limits.join(" ")))
            .collect();
        if !limits.is_empty() {
            self.notes.push(format!(
                "Server limits: {}. maxconn and maxqueue queue requests at a busy server; lbsim does not model \
                 them, so under load picks can differ.",
                limits.join("; ")
            ));
        }
        Ok(active)
    }
}
