//! An imported pool and policy written as a scenario file, each value commented
//! with the place in the configuration it came from.

use std::fmt::Write;

use super::{Imported, Origin};

impl Imported {
    /// The scenario: the pool and policy from the configuration, and a placeholder
    /// day of traffic (said to be one) so that `lbsim run` accepts it as is.
    pub fn to_toml(&self) -> String {
        let file = self.file.display();
        let mut t = String::new();
        let _ = writeln!(
            t,
            "# Imported by `lbsim import` from {file}: {} {:?}.",
            self.product.name(),
            self.section
        );
        let _ = writeln!(
            t,
            "# The pool and the policy come from the configuration (each value says where);"
        );
        let _ = writeln!(
            t,
            "# the traffic does not: replace [arrivals] and [sessions] with your own, or with"
        );
        let _ = writeln!(
            t,
            "# what `lbsim fit ACCESS_LOG --pool THIS_FILE` estimates from a log."
        );
        for note in &self.notes {
            let _ = writeln!(t, "#\n# {}", wrap(note, "# "));
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(
                t,
                "#\n# Warnings (--lenient): these change routing in {} and are not modelled:",
                self.product.name()
            );
            for (at, w) in &self.warnings {
                let _ = writeln!(t, "#   {file}:{}:{}: {}", at.line, at.column, wrap(w, "#     "));
            }
        }
        let _ = writeln!(t, "\nname = {}", quote(&self.section));
        t.push_str("seed = 1\nduration = \"24h\"\n");
        let from = self
            .policy_origin
            .iter()
            .map(|o| self.cite(o))
            .collect::<Vec<_>>()
            .join(" and ");
        let from = if from.is_empty() {
            format!("the {} default", self.product.name())
        } else {
            from
        };
        let _ = writeln!(t, "policies = [{}]  # {from}", quote(&self.policy));
        t.push_str(
            "\n[arrivals]  # a placeholder, not from the configuration\nrate = \"1/s\"\n\n[servers]\nnames = [\n",
        );
        for s in &self.servers {
            let _ = writeln!(t, "  {},  # {}", quote(&s.name), self.cite(&s.origin));
        }
        t.push_str("]\n");
        if self.servers.iter().any(|s| s.weight != 1) {
            let weights: Vec<String> = self.servers.iter().map(|s| s.weight.to_string()).collect();
            let _ = writeln!(t, "weights = [{}]", weights.join(", "));
        }
        let down: Vec<String> = self.servers.iter().filter(|s| s.down).map(|s| quote(&s.name)).collect();
        if !down.is_empty() {
            let _ = writeln!(t, "down = [{}]", down.join(", "));
        }
        if let Some(ss) = &self.slow_start {
            let _ = writeln!(
                t,
                "\n[slow_start]  # {}\nproduct = \"{}\"\nwindow = \"{}\"",
                self.cite(&ss.origin),
                ss.product.name(),
                crate::scenario::units::written(ss.window)
            );
            if let Some(a) = ss.aggression {
                let _ = writeln!(t, "aggression = {}", crate::output::num(a));
            }
            if let Some(p) = ss.min_weight_percent {
                let _ = writeln!(t, "min_weight_percent = {}", crate::output::num(p));
            }
        }
        t
    }

    /// `FILE:LINE: what it said`; line 0 is no line of the file (a command-line
    /// value, or a place in another file that `said` names).
    fn cite(&self, o: &Origin) -> String {
        if o.at.line == 0 {
            return o.said.clone();
        }
        format!("{}:{}: {}", self.file.display(), o.at.line, o.said)
    }
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(q, "\\u{:04X}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// `text` folded at about 84 columns, continued lines starting with `lead`.
fn wrap(text: &str, lead: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for word in text.split_whitespace() {
        if width > 0 && width + word.len() > 84 {
            out.push('\n');
            out.push_str(lead);
            width = 0;
        } else if width > 0 {
            out.push(' ');
            width += 1;
        }
        out.push_str(word);
        width += word.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::{ImportedServer, Place, Product};
    use super::*;
    use crate::scenario::Scenario;

    fn imported() -> Imported {
        let at = |line| Place { line, column: 5 };
        let server = |name: &str, weight, down, line| ImportedServer {
            name: name.into(),
            weight,
            down,
            origin: Origin {
                at: at(line),
                said: format!("server {name}"),
            },
        };
        Imported {
            product: Product::Nginx,
            file: PathBuf::from("conf/nginx.conf"),
            section: "shop \"eu\"".into(),
            servers: vec![
                server("10.0.0.1:80", 2, false, 3),
                server("10.0.0.2:80", 1, true, 4),
                server("10.0.0.3:80", 1, false, 5),
            ],
            policy: "nginx.ip_hash".into(),
            policy_origin: vec![Origin {
                at: at(2),
                said: "ip_hash;".into(),
            }],
            notes: vec!["max_fails=3 on 10.0.0.1:80 only changes when nginx notices a failure".into()],
            warnings: vec![(at(7), "sticky cookie srv_id: not modelled".into())],
            slow_start: None,
        }
    }

    #[test]
    fn the_scenario_runs_as_written_and_cites_every_value() {
        let text = imported().to_toml();
        let sc = Scenario::parse(&text, Path::new("imported.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(sc.name, "shop \"eu\"");
        assert_eq!(sc.policies[0].text, "nginx.ip_hash");
        let names: Vec<&str> = sc.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"]);
        assert_eq!(sc.servers.iter().map(|s| s.weight).collect::<Vec<_>>(), [2, 1, 1]);
        assert_eq!(sc.initial_pool().up(), &[0, 2]);
        for cited in [
            "conf/nginx.conf:2: ip_hash;",
            "conf/nginx.conf:4: server 10.0.0.2:80",
            "conf/nginx.conf:7:5: sticky cookie",
            "max_fails=3",
        ] {
            assert!(text.contains(cited), "{cited} missing from\n{text}");
        }
    }

    #[test]
    fn equal_weights_and_no_down_servers_leave_their_keys_out() {
        let mut i = imported();
        for s in &mut i.servers {
            s.weight = 1;
            s.down = false;
        }
        let text = i.to_toml();
        assert!(!text.contains("weights =") && !text.contains("down ="), "{text}");
    }
}
