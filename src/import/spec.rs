//! The lbsim policy an import writes, assembled from values read at known places
//! and checked by building it over the imported servers: a value lbsim refuses
//! (a ring size out of range, a table size that is not prime) is reported where
//! the configuration wrote it, and the scenario written always loads.

use std::ops::Range;

use super::reading::Source;
use super::{ImportError, ImportedServer};
use crate::policy::{self, BuildContext};
use crate::pool::{Pool, Presence, Server};

/// `name(key=value, ...)`, each value with the byte offset it was read at.
#[derive(Clone, Debug)]
pub struct PolicyText {
    name: &'static str,
    params: Vec<(&'static str, Value)>,
}

#[derive(Clone, Debug)]
enum Value {
    Plain(String, Option<usize>),
    Policy(PolicyText),
}

impl PolicyText {
    pub fn new(name: &'static str) -> PolicyText {
        PolicyText {
            name,
            params: Vec::new(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Adds `name=value`, read at `at` (None: a default the product applies).
    pub fn param(&mut self, name: &'static str, value: impl ToString, at: Option<usize>) -> &mut PolicyText {
        self.params.push((name, Value::Plain(value.to_string(), at)));
        self
    }

    /// Adds `name=policy(...)`.
    pub fn nested(&mut self, name: &'static str, policy: PolicyText) -> &mut PolicyText {
        self.params.push((name, Value::Policy(policy)));
        self
    }

    /// Writes the text, noting the span of every value read from the configuration.
    fn write(&self, out: &mut String, places: &mut Vec<(Range<usize>, usize)>) {
        out.push_str(self.name);
        if self.params.is_empty() {
            return;
        }
        out.push('(');
        for (i, (name, value)) in self.params.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(name);
            out.push('=');
            let start = out.len();
            match value {
                Value::Plain(v, at) => {
                    out.push_str(v);
                    if let Some(at) = at {
                        places.push((start..out.len(), *at));
                    }
                }
                Value::Policy(p) => p.write(out, places),
            }
        }
        out.push(')');
    }

    /// The text, once lbsim has built the policy over `servers`; a refusal is
    /// reported at the configuration's value, or at `otherwise`.
    pub fn check(&self, src: &Source, servers: &[ImportedServer], otherwise: usize) -> Result<String, ImportError> {
        let mut text = String::new();
        let mut places = Vec::new();
        self.write(&mut text, &mut places);
        let pool = Pool::new(
            servers
                .iter()
                .map(|s| Server {
                    name: s.name.clone(),
                    weight: s.weight,
                    presence: if s.down { Presence::Down } else { Presence::Up },
                })
                .collect(),
        );
        let ctx = BuildContext {
            pool: &pool,
            expected_users: 1,
        };
        let built = policy::spec::parse(&text, 0).and_then(|spec| policy::build(&spec, &ctx).map(|_| ()));
        match built {
            Ok(()) => Ok(text),
            Err(e) => {
                let at = places
                    .iter()
                    .find(|(span, _)| span.contains(&e.offset) || span.end == e.offset)
                    .map_or(otherwise, |p| p.1);
                Err(src.error(at, format!("{} (lbsim policy {text})", e.message)))
            }
        }
    }
}
