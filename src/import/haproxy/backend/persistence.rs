//! What keeps a client on its server in front of the balancing algorithm: a
//! stick table keyed on the client's address, and a cookie, which HAProxy
//! consults first.

use super::{Backend, Server};
use crate::engine::{MILLISECOND, SECOND, Time};
use crate::import::haproxy::Section;
use crate::import::haproxy::lexer::Line;
use crate::import::reading::binary_size;
use crate::import::{ImportError, Origin};
use crate::scenario::units::written;

impl Backend<'_, '_> {
    /// `stick on src` (or `stick match src` with `stick store-request src`) over
    /// the section's table or the one `table NAME` names.
    pub(super) fn stick(
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
    pub(super) fn cookie(
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
    fn haproxy_times() {
        assert_eq!(haproxy_time("30m", MILLISECOND), Some(1800 * SECOND));
        assert_eq!(haproxy_time("5000", MILLISECOND), Some(5 * SECOND));
        assert_eq!(haproxy_time("3600", SECOND), Some(3600 * SECOND));
        assert_eq!(haproxy_time("1x", SECOND), None);
        assert_eq!(haproxy_time("", SECOND), None);
    }
}
