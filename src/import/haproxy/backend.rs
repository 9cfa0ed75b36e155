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

use super::Section;
use super::balance::{self, Algorithm, HashType};
use super::lexer::Line;
use super::server::{self, Params};
use crate::engine::{MILLISECOND, SECOND, Time};
use crate::import::reading::{Refusals, Text, binary_size, written};
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
            None => Algorithm::RoundRobin,
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
                "Server limits: {}. maxconn and maxqueue queue requests at a busy server and slowstart ramps a \
                 recovered server's weight; lbsim does not model them, so under load or after a recovery picks \
                 can differ.",
                limits.join("; ")
            ));
        }
        Ok(active)
    }

    /// The balancing algorithm as an lbsim policy.
    fn base(
        &mut self,
        algorithm: &Algorithm,
        all: &[Server],
        servers: &[&Server],
        policy_origin: &mut Vec<Origin>,
    ) -> Result<String, ImportError> {
        let note = |b: &mut Self, text: &str| b.notes.push(text.to_string());
        match algorithm {
            Algorithm::RoundRobin => note(
                self,
                "balance roundrobin: lbsim's `round_robin` (smooth weighted round robin) gives each server its \
                 weight's share in another order than HAProxy's; neither keeps any affinity.",
            ),
            Algorithm::StaticRr => note(
                self,
                "balance static-rr: lbsim's `round_robin` gives each server its weight's share, in another order.",
            ),
            Algorithm::LeastConn => note(
                self,
                "balance leastconn: lbsim's `least_conn` breaks ties at random where HAProxy takes turns.",
            ),
            Algorithm::Random { draws: 1 } => note(
                self,
                "balance random(1): lbsim's `random` draws in proportion to weight, as HAProxy does.",
            ),
            Algorithm::Random { .. } => note(
                self,
                "balance random: HAProxy draws servers in proportion to weight and keeps the least loaded; lbsim's \
                 `p2c` draws them evenly.",
            ),
            _ => {}
        }
        let source = |params: Vec<String>| {
            if params.is_empty() {
                "haproxy.source".to_string()
            } else {
                format!("haproxy.source({})", params.join(", "))
            }
        };
        Ok(match algorithm {
            Algorithm::RoundRobin | Algorithm::StaticRr => "round_robin".into(),
            Algorithm::LeastConn => "least_conn".into(),
            Algorithm::Random { draws: 1 } => "random".into(),
            Algorithm::Random { draws } => format!("p2c(choices={draws})"),
            hashed => source(self.hash_params(hashed, all, servers, policy_origin)?),
        })
    }

    /// `haproxy.source` parameters from `hash-type`, `hash-balance-factor`, the key and the ids.
    fn hash_params(
        &mut self,
        algorithm: &Algorithm,
        all: &[Server],
        servers: &[&Server],
        policy_origin: &mut Vec<Origin>,
    ) -> Result<Vec<String>, ImportError> {
        let hash = match self.hash_type {
            Some(line) => {
                policy_origin.push(self.origin(line));
                balance::hash_type(&self.file, line)?
            }
            None => HashType::default(),
        };
        let mut params = Vec::new();
        if hash.consistent {
            params.push("hash_type=consistent".to_string());
            if hash.function.is_some() && !hash.avalanche {
                params.push("avalanche=off".into());
            }
        } else if hash.avalanche {
            params.push("avalanche=on".into());
        }
        match algorithm {
            Algorithm::Source => {
                if let Some(key) = self.source_key()? {
                    params.push(format!("key={key}"));
                }
            }
            Algorithm::Session { what } => {
                params.push("key=session".into());
                self.notes.push(format!(
                    "lbsim takes {what} to carry a session id that each user keeps whatever their address \
                     (key=session); a user who sends none, or a new one, is placed afresh."
                ));
            }
            _ => params.push("key=source_port".into()),
        }
        if *algorithm != Algorithm::Source
            && let (Some(f), Some(line)) = (hash.function.as_deref().filter(|f| *f != "sdbm"), self.hash_type)
        {
            let problem = format!("hash function {f}: lbsim's haproxy.source hashes text keys with sdbm only");
            self.refusals
                .refuse(&self.file, line.at(), &problem, "hashed with sdbm instead")?;
        }
        if let Some(line) = self.factor {
            let v = line.args().first();
            let factor = v
                .and_then(|w| w.text.parse::<u32>().ok())
                .filter(|&f| f == 0 || f > 100);
            let Some(factor) = factor else {
                return Err(self.file.error(
                    v.map_or(line.at(), |w| w.at),
                    "'hash-balance-factor' expects 0 (off) or a percentage above 100",
                ));
            };
            if !hash.consistent && factor > 0 {
                self.notes.push(format!(
                    "{}: HAProxy applies it to consistent hashing only, so it changes nothing here.",
                    self.file.said(line.at(), line.end)
                ));
            } else if factor > 0 {
                policy_origin.push(self.origin(line));
                params.push(format!("hash_balance_factor={factor}"));
            }
        }
        if hash.consistent {
            self.ids(all, servers, &mut params)?;
        }
        Ok(params)
    }

    /// Checks that the consistent tree's server ids are lbsim's positions, and
    /// keeps them fixed across pool changes when the configuration fixes them.
    fn ids(&mut self, all: &[Server], active: &[&Server], params: &mut Vec<String>) -> Result<(), ImportError> {
        if let Some((key, at)) = active.iter().find_map(|s| s.params.hash_key.clone()) {
            let problem = format!("hash-key {key}: lbsim's haproxy.source places a server's nodes by its id only");
            self.refusals.refuse(&self.file, at, &problem, "placed by id instead")?;
        }
        let ids = assigned_ids(all.iter().map(|s| s.params.id.map(|(id, _)| id)));
        let active_ids = all
            .iter()
            .zip(&ids)
            .filter(|(s, _)| !s.params.backup)
            .map(|(_, &id)| id);
        for (position, (id, s)) in active_ids.zip(active).enumerate() {
            if id != position as u32 + 1 {
                let at = s.params.id.map_or(s.line.at(), |(_, at)| at);
                let problem = format!(
                    "server {} has id {id} at position {} of the active servers: the consistent tree places its \
                     nodes by id, and lbsim's haproxy.source numbers servers 1, 2, 3, ... in order",
                    s.line.args()[0].text,
                    position + 1
                );
                self.refusals
                    .refuse(&self.file, at, &problem, "numbered by position instead")?;
                return Ok(());
            }
        }
        if all.iter().any(|s| s.params.id.is_some()) {
            params.push("ids=fixed".into());
        }
        Ok(())
    }

    /// `stick on src` (or `stick match src` with `stick store-request src`) over
    /// the section's table or the one `table NAME` names.
    fn stick(
        &mut self,
        base: String,
        sections: &[Section],
        servers: &[&Server],
        policy_origin: &mut Vec<Origin>,
    ) -> Result<String, ImportError> {
        let rules: Vec<(&str, &str, Option<&str>, bool, &Line)> = self
            .stick_rules
            .iter()
            .map(|l| {
                let w: Vec<&str> = l.args().iter().map(|w| w.text.as_str()).collect();
                let table = w.iter().position(|x| *x == "table").and_then(|i| w.get(i + 1).copied());
                let conditional = w.iter().any(|x| *x == "if" || *x == "unless");
                (
                    w.first().copied().unwrap_or(""),
                    w.get(1).copied().unwrap_or(""),
                    table,
                    conditional,
                    *l,
                )
            })
            .collect();
        let kinds: Vec<&str> = rules.iter().map(|r| r.0).collect();
        let supported = (kinds == ["on"] || kinds == ["match", "store-request"] || kinds == ["store-request", "match"])
            && rules.iter().all(|r| r.1 == "src" && !r.3)
            && rules.iter().all(|r| r.2 == rules[0].2);
        if !supported {
            let line = rules[0].4;
            self.refusals.refuse(
                &self.file,
                line.at(),
                "lbsim models stick tables keyed on the client's address: `stick on src`, or `stick match src` \
                 with `stick store-request src`, without conditions",
                "the stick rules are left out",
            )?;
            return Ok(base);
        }
        for r in &rules {
            policy_origin.push(self.origin(r.4));
        }
        if let Some(at) = servers.iter().find_map(|s| s.params.non_stick) {
            self.refusals.refuse(
                &self.file,
                at,
                "non-stick: this server's clients are never stored in the stick table, which lbsim does not model",
                "stored like the others",
            )?;
        }
        if self.source_key()? == Some("prefix") {
            let line = self.set_src.expect("a set-src gave the key");
            self.refusals.refuse(
                &self.file,
                line.at(),
                "a stick table keyed on src,ipmask(24,64): lbsim's haproxy.stick_table keys on whole addresses",
                "keyed on whole addresses",
            )?;
        }
        let table = match rules[0].2 {
            None => self.stick_table.ok_or_else(|| {
                self.file.error(
                    rules[0].4.at(),
                    "stick rules need a stick-table in this section, or `table NAME` naming another section's",
                )
            })?,
            Some(name) => sections
                .iter()
                .filter(|s| s.name().is_some_and(|n| n.text == name))
                .find_map(|s| s.lines.iter().find(|l| l.keyword() == "stick-table"))
                .ok_or_else(|| {
                    self.file.error(
                        rules[0].4.at(),
                        format!("no section {name:?} with a stick-table, which this rule's `table {name}` names"),
                    )
                })?,
        };
        policy_origin.push(self.origin(table));
        self.stick_table_params(table, base)
    }

    /// `stick-table type ip size N [expire T] [nopurge] ...` over `base`.
    fn stick_table_params(&mut self, table: &Line, base: String) -> Result<String, ImportError> {
        let args = table.args();
        let (mut size, mut expire, mut nopurge, mut kind) = (None, None, false, None);
        let mut i = 0;
        while i < args.len() {
            let w = &args[i];
            let value = args.get(i + 1);
            let need = || value.ok_or_else(|| self.file.error(w.at, format!("'{}' expects an argument", w.text)));
            match w.text.as_str() {
                "type" => kind = Some(need()?),
                "size" => {
                    let v = need()?;
                    size = Some(
                        binary_size(&v.text)
                            .filter(|&n| (1..=1 << 31).contains(&n))
                            .ok_or_else(|| {
                                self.file.error(
                                    v.at,
                                    format!(
                                        "size {}: expected a number of entries from 1 to 2^31 (k, m, g suffixes)",
                                        v.text
                                    ),
                                )
                            })?,
                    );
                }
                "expire" => {
                    let v = need()?;
                    expire = Some(haproxy_time(&v.text, MILLISECOND).ok_or_else(|| {
                        self.file.error(
                            v.at,
                            format!("expire {}: expected a time such as 30m, 1h or 5000 (ms)", v.text),
                        )
                    })?);
                }
                "nopurge" => {
                    nopurge = true;
                    i += 1;
                    continue;
                }
                "peers" => self.notes.push(format!(
                    "{}: the table is shared with peers; lbsim models this one HAProxy.",
                    self.file.said(table.at(), table.end)
                )),
                "len" | "store" | "srvkey" | "write-to" | "recv-only" => {}
                _ => {
                    i += 1;
                    continue;
                }
            }
            i += 2;
        }
        let kind = kind.ok_or_else(|| self.file.error(table.at(), "'stick-table' expects a type (type ip)"))?;
        if !matches!(kind.text.as_str(), "ip" | "ipv6") {
            let problem = format!(
                "stick-table type {}: `stick on src` keys an address table (type ip or ipv6)",
                kind.text
            );
            self.refusals
                .refuse(&self.file, kind.at, &problem, "taken as type ip")?;
        }
        let size = size.ok_or_else(|| self.file.error(table.at(), "'stick-table' expects a size (size 200k)"))?;
        let expire = expire.map_or("none".to_string(), written);
        let nopurge = if nopurge { ", nopurge=on" } else { "" };
        Ok(format!(
            "haproxy.stick_table(base={base}, expire={expire}, size={size}{nopurge})"
        ))
    }

    /// `cookie NAME [insert|rewrite|prefix] [maxidle T] [maxlife T] ...` over `base`.
    fn cookie(
        &mut self,
        base: String,
        line: &Line,
        servers: &[&Server],
        policy_origin: &mut Vec<Origin>,
    ) -> Result<String, ImportError> {
        let said = self.file.said(line.at(), line.end);
        let args = line.args();
        let Some(name) = args.first() else {
            return Err(self.file.error(line.at(), "'cookie' expects a cookie name"));
        };
        if !self.http {
            self.notes.push(format!(
                "{said}: HAProxy ignores cookies outside mode http, and so does the import."
            ));
            return Ok(base);
        }
        let (mut mode, mut maxidle, mut maxlife, mut dynamic) = ("", None, None, false);
        let mut i = 1;
        while i < args.len() {
            let w = &args[i];
            let time = |i: usize| -> Result<Time, ImportError> {
                let v = args
                    .get(i + 1)
                    .ok_or_else(|| self.file.error(w.at, format!("'{}' expects a time", w.text)))?;
                haproxy_time(&v.text, SECOND).filter(|&t| t > 0).ok_or_else(|| {
                    self.file.error(
                        v.at,
                        format!("{} {}: expected a time such as 30m or 8h", w.text, v.text),
                    )
                })
            };
            match w.text.as_str() {
                m @ ("insert" | "rewrite" | "prefix") => mode = m,
                "maxidle" => maxidle = Some((time(i)?, w.at)),
                "maxlife" => maxlife = Some((time(i)?, w.at)),
                "dynamic" => dynamic = true,
                "postonly" => self.refusals.refuse(
                    &self.file,
                    w.at,
                    "postonly: the cookie is set only in answers to POST requests, which lbsim does not model",
                    "taken as set on every answer",
                )?,
                "domain" | "attr" => i += 1,
                _ => {}
            }
            i += if matches!(w.text.as_str(), "maxidle" | "maxlife") {
                2
            } else {
                1
            };
        }
        if mode != "insert"
            && let Some((_, at)) = maxidle.or(maxlife)
        {
            return Err(self.file.error(
                at,
                "maxidle and maxlife apply to inserted cookies only (cookie NAME insert)",
            ));
        }
        let with_value = servers.iter().filter(|s| s.params.cookie.is_some()).count();
        if with_value == 0 && !dynamic {
            self.notes.push(format!(
                "{said}: no server has a `cookie` value, so HAProxy sets no cookie: it changes nothing."
            ));
            return Ok(base);
        }
        if with_value < servers.len() && !dynamic {
            let s = servers
                .iter()
                .find(|s| s.params.cookie.is_none())
                .expect("a server without a cookie");
            let problem = format!(
                "server {} has no `cookie` value: HAProxy never makes clients sticky to it, which lbsim's cookie \
                 does not model",
                s.line.args()[0].text
            );
            self.refusals
                .refuse(&self.file, s.line.at(), &problem, "made sticky like the others")?;
        }
        policy_origin.push(self.origin(line));
        let mut params = vec![format!("base={base}")];
        if let Some((t, _)) = maxlife {
            params.push(format!("max_age={}", written(t)));
        }
        if let Some((t, _)) = maxidle {
            params.push(format!("idle={}", written(t)));
        }
        self.notes.push(match mode {
            "insert" => format!(
                "{said}: HAProxy inserts a cookie {} naming the server; lbsim's `cookie` keeps each user on it{}.",
                name.text,
                if maxidle.is_none() && maxlife.is_none() {
                    " for the whole browser session (no maxidle or maxlife)"
                } else {
                    " until maxidle or maxlife ends it"
                }
            ),
            _ => format!(
                "{said}: the application's own cookie {} carries the server, so it lives as long as the \
                 application's session; lbsim's `cookie` keeps each user on their server (add idle= with the \
                 application's session timeout to end it earlier).",
                name.text
            ),
        });
        if !self.stick_rules.is_empty() {
            self.notes.push(
                "With a cookie and a stick table, HAProxy consults the cookie first and stores every request in the \
                 table; lbsim's cookie sends only clients without a valid cookie through the table."
                    .into(),
            );
        }
        Ok(format!("cookie({})", params.join(", ")))
    }
}

/// Server ids as HAProxy assigns them in declaration order: a server without
/// `id` takes the smallest id not yet used from a counter that moves on past it.
fn assigned_ids(explicit: impl Iterator<Item = Option<u32>>) -> Vec<u32> {
    let explicit: Vec<Option<u32>> = explicit.collect();
    let used: Vec<u32> = explicit.iter().flatten().copied().collect();
    let mut taken = used.clone();
    let mut next = 1;
    explicit
        .iter()
        .map(|id| match id {
            Some(id) => *id,
            None => {
                while taken.contains(&next) {
                    next += 1;
                }
                taken.push(next);
                next += 1;
                next - 1
            }
        })
        .collect()
}

/// A HAProxy time: a number and an optional unit (us, ms, s, m, h, d); `unit`
/// when it has none.
pub fn haproxy_time(text: &str, unit: Time) -> Option<Time> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n: Time = text[..digits].parse().ok()?;
    let scale = match &text[digits..] {
        "" => unit,
        "us" => 1_000,
        "ms" => MILLISECOND,
        "s" => SECOND,
        "m" => 60 * SECOND,
        "h" => 3600 * SECOND,
        "d" => 86_400 * SECOND,
        _ => return None,
    };
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_assigned_as_haproxy_does() {
        assert_eq!(assigned_ids([None, None, None].into_iter()), [1, 2, 3]);
        assert_eq!(assigned_ids([Some(2), None, None].into_iter()), [2, 1, 3]);
        assert_eq!(assigned_ids([None, Some(10), None].into_iter()), [1, 10, 2]);
    }

    #[test]
    fn haproxy_times() {
        assert_eq!(haproxy_time("30m", MILLISECOND), Some(1800 * SECOND));
        assert_eq!(haproxy_time("5000", MILLISECOND), Some(5 * SECOND));
        assert_eq!(haproxy_time("3600", SECOND), Some(3600 * SECOND));
        assert_eq!(haproxy_time("1x", SECOND), None);
        assert_eq!(haproxy_time("", SECOND), None);
    }
}
