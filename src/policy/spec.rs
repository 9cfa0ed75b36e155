//! Policy specifications: `name` or `name(key=value, ...)`, with policies nesting as
//! values, e.g. `stick_table(base=ring(vnodes=100), expire=30m, size=100000)`.
//!
//! The same text works in a scenario's `policies` list and on the command line.
//! Errors carry the byte offset inside the text, so the scenario reader can point at
//! the line and column of the offending character.

use crate::scenario::units::{Duration, parse_duration, written};

/// The name of the wrapper that picks per connection; it goes outermost, since
/// it decides which requests reach the policies inside it.
pub const PER_CONNECTION: &str = "per_connection";

/// A problem with a policy specification, at a byte offset inside its text.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub offset: usize,
    pub message: String,
}

impl SpecError {
    pub fn at(offset: usize, message: impl Into<String>) -> SpecError {
        SpecError {
            offset,
            message: message.into(),
        }
    }
}

/// One parsed policy specification.
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    pub name: String,
    /// Offset of the name in the whole text.
    pub offset: usize,
    pub args: Vec<Arg>,
    /// The text of this specification, as written.
    pub text: String,
}

/// A `key=value` argument; the value stays text until the policy asks for a type.
#[derive(Debug, Clone, PartialEq)]
pub struct Arg {
    pub key: String,
    pub key_offset: usize,
    pub value: String,
    pub value_offset: usize,
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'
}

/// Parses a whole specification; `base` is the offset of `text` in an outer text.
pub fn parse(text: &str, base: usize) -> Result<Spec, SpecError> {
    let trimmed_start = text.len() - text.trim_start().len();
    let body = text.trim();
    let name_len = body.find(|c: char| !is_ident(c)).unwrap_or(body.len());
    let name = &body[..name_len];
    let offset = base + trimmed_start;
    if name.is_empty() {
        return Err(SpecError::at(
            offset,
            "expected a policy name, e.g. \"ip_hash\" or \"ring(vnodes=160)\"",
        ));
    }
    let rest = &body[name_len..];
    let mut args = Vec::new();
    if !rest.is_empty() {
        let open = offset + name_len;
        let inner = rest.strip_prefix('(').ok_or_else(|| {
            SpecError::at(
                open,
                format!(
                    "unexpected {:?} after the policy name; parameters go in parentheses: {name}(key=value, ...)",
                    rest.chars().next().unwrap_or(' ')
                ),
            )
        })?;
        let inner = inner
            .strip_suffix(')')
            .ok_or_else(|| SpecError::at(open, "unclosed \"(\": expected \")\" at the end"))?;
        for (piece, at) in split_top_level(inner, open + 1)? {
            if piece.trim().is_empty() {
                continue;
            }
            let eq = piece
                .find('=')
                .ok_or_else(|| SpecError::at(at, format!("expected key=value, found {:?}", piece.trim())))?;
            let (k, v) = (&piece[..eq], &piece[eq + 1..]);
            let key = k.trim();
            let key_offset = at + (k.len() - k.trim_start().len());
            if key.is_empty() || !key.chars().all(is_ident) {
                return Err(SpecError::at(key_offset, format!("invalid parameter name {key:?}")));
            }
            if args.iter().any(|a: &Arg| a.key == key) {
                return Err(SpecError::at(key_offset, format!("parameter {key:?} given twice")));
            }
            let value_offset = at + eq + 1 + (v.len() - v.trim_start().len());
            args.push(Arg {
                key: key.to_string(),
                key_offset,
                value: v.trim().to_string(),
                value_offset,
            });
        }
    }
    Ok(Spec {
        name: name.to_string(),
        offset,
        args,
        text: body.to_string(),
    })
}

/// Splits on commas that are not inside nested parentheses.
fn split_top_level(s: &str, base: usize) -> Result<Vec<(&str, usize)>, SpecError> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(SpecError::at(base + i, "unbalanced \")\""));
                }
            }
            ',' if depth == 0 => {
                out.push((&s[start..i], base + start));
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SpecError::at(base + s.len(), "unclosed \"(\""));
    }
    out.push((&s[start..], base + start));
    Ok(out)
}

/// A parameter a policy accepts, with its default and one line of help.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub default: &'static str,
    pub help: &'static str,
}

/// The arguments of one specification, read against the policy's parameter table.
/// Each value is read once; `finish` rejects any argument nobody read.
pub struct Args<'a> {
    spec: &'a Spec,
    params: &'static [Param],
    used: Vec<bool>,
}

impl<'a> Args<'a> {
    pub fn new(spec: &'a Spec, params: &'static [Param]) -> Args<'a> {
        Args {
            spec,
            params,
            used: vec![false; spec.args.len()],
        }
    }

    /// The raw text of a parameter (the written value, or the default) and its offset.
    fn raw(&mut self, name: &str) -> (String, usize) {
        let param = self
            .params
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("policy {} reads undeclared parameter {name}", self.spec.name));
        match self.spec.args.iter().position(|a| a.key == name) {
            Some(i) => {
                self.used[i] = true;
                let a = &self.spec.args[i];
                (a.value.clone(), a.value_offset)
            }
            None => (param.default.to_string(), self.spec.offset),
        }
    }

    /// Whether the specification writes `name`, for parameters whose default
    /// depends on another one.
    pub fn given(&self, name: &str) -> bool {
        self.spec.args.iter().any(|a| a.key == name)
    }

    /// The value as written (or the default), with its offset, for values the
    /// policy reads itself.
    pub fn text(&mut self, name: &str) -> (String, usize) {
        self.raw(name)
    }

    /// A whole number in `min..=max`.
    pub fn int(&mut self, name: &str, min: u64, max: u64) -> Result<u64, SpecError> {
        let (v, at) = self.raw(name);
        v.parse::<u64>()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| SpecError::at(at, format!("{name}={v}: expected a whole number from {min} to {max}")))
    }

    /// A duration; "none" or "0" reads as no limit.
    pub fn duration_or_none(&mut self, name: &str) -> Result<Option<Duration>, SpecError> {
        let (v, at) = self.raw(name);
        if v == "none" {
            return Ok(None);
        }
        match parse_duration(&v) {
            Ok(0) => Ok(None),
            Ok(t) => Ok(Some(Duration(t))),
            Err(e) => Err(SpecError::at(at, format!("{name}: {e}, or \"none\""))),
        }
    }

    /// A duration from 0 to `max`, or "none" for none at all: unlike
    /// [`Args::duration_or_none`], 0 is a value of its own.
    pub fn duration_or_absent(&mut self, name: &str, max: u64) -> Result<Option<u64>, SpecError> {
        let (v, at) = self.raw(name);
        match parse_duration(&v) {
            _ if v == "none" => Ok(None),
            Ok(t) if t <= max => Ok(Some(t)),
            _ => Err(SpecError::at(
                at,
                format!(
                    "{name}={v}: expected a duration from 0s to {}, or \"none\"",
                    written(max)
                ),
            )),
        }
    }

    /// A duration in `min..=max` (nanoseconds), both ends named in the error.
    pub fn duration(&mut self, name: &str, min: u64, max: u64) -> Result<u64, SpecError> {
        let (v, at) = self.raw(name);
        parse_duration(&v)
            .ok()
            .filter(|t| (min..=max).contains(t))
            .ok_or_else(|| {
                let (lo, hi) = (written(min), written(max));
                SpecError::at(at, format!("{name}={v}: expected a duration from {lo} to {hi}"))
            })
    }

    /// One of a fixed set of words; returns its index in `choices`.
    pub fn choice(&mut self, name: &str, choices: &[&str]) -> Result<usize, SpecError> {
        let (v, at) = self.raw(name);
        choices
            .iter()
            .position(|c| *c == v)
            .ok_or_else(|| SpecError::at(at, format!("{name}={v}: expected one of {}", choices.join(", "))))
    }

    /// An error about `name`'s value, pointing at it, for checks the typed readers
    /// do not make (a prime table size, a factor that must exceed 100).
    pub fn invalid(&mut self, name: &str, message: impl Into<String>) -> SpecError {
        let (_, at) = self.raw(name);
        SpecError::at(at, message)
    }

    /// A nested policy specification.
    pub fn policy(&mut self, name: &str) -> Result<Spec, SpecError> {
        let (v, at) = self.raw(name);
        let spec = parse(&v, at)?;
        if spec.name == PER_CONNECTION {
            return Err(SpecError::at(
                spec.offset,
                format!(
                    "{PER_CONNECTION} goes outermost: {PER_CONNECTION}(base={}({name}=...))",
                    self.spec.name
                ),
            ));
        }
        Ok(spec)
    }

    /// Errors on arguments the policy does not take, listing the ones it does.
    pub fn finish(self) -> Result<(), SpecError> {
        match self.used.iter().position(|u| !u) {
            None => Ok(()),
            Some(i) => {
                let a = &self.spec.args[i];
                let known: Vec<_> = self.params.iter().map(|p| p.name).collect();
                let hint = if known.is_empty() {
                    format!("{} takes no parameters", self.spec.name)
                } else {
                    format!("{} takes: {}", self.spec.name, known.join(", "))
                };
                let near = crate::scenario::words::nearest(&a.key, known.iter().copied())
                    .map_or(String::new(), |n| format!(" (did you mean {n:?}?)"));
                Err(SpecError::at(
                    a.key_offset,
                    format!("unknown parameter {:?}{near}; {hint}", a.key),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_nested() {
        let s = parse("ip_hash", 0).unwrap();
        assert_eq!(s.name, "ip_hash");
        assert!(s.args.is_empty());

        let s = parse(" stick_table(base=ring(vnodes=100), expire=30m)", 10).unwrap();
        assert_eq!(s.name, "stick_table");
        assert_eq!(s.offset, 11);
        assert_eq!(s.args[0].key, "base");
        assert_eq!(s.args[0].value, "ring(vnodes=100)");
        assert_eq!(s.args[1].value, "30m");
        let inner = parse(&s.args[0].value, s.args[0].value_offset).unwrap();
        assert_eq!(inner.args[0].value_offset, 10 + " stick_table(base=ring(vnodes=".len());
    }

    #[test]
    fn errors_point_at_the_problem() {
        assert_eq!(parse("ring(vnodes)", 0).unwrap_err().offset, 5);
        assert!(parse("ring(vnodes=3", 0).unwrap_err().message.contains("unclosed"));
        assert!(parse("", 0).is_err());
        assert!(parse("ring x", 0).is_err());
        let twice = parse("ring(vnodes=5, vnodes=6)", 0).unwrap_err();
        assert_eq!(
            (twice.offset, twice.message.as_str()),
            (15, "parameter \"vnodes\" given twice")
        );
    }

    #[test]
    fn unknown_and_out_of_range_parameters_are_named() {
        const P: &[Param] = &[Param {
            name: "vnodes",
            default: "160",
            help: "",
        }];
        let s = parse("ring(vnodez=3)", 0).unwrap();
        let mut a = Args::new(&s, P);
        assert_eq!(a.int("vnodes", 1, 1000).unwrap(), 160);
        let e = a.finish().unwrap_err();
        assert_eq!(e.offset, 5);
        assert!(e.message.contains("unknown parameter \"vnodez\"") && e.message.contains("vnodes"));

        let s = parse("ring(vnodes=0)", 0).unwrap();
        let e = Args::new(&s, P).int("vnodes", 1, 1000).unwrap_err();
        assert!(e.message.contains("from 1 to 1000"), "{}", e.message);
    }
}
