//! Sweeps: one scenario run at every point of a grid of values.
//!
//! A sweep varies keys of the scenario file — `servers.count`, `arrivals.rate`,
//! `sessions.state_ttl`, `networks.2.share` (the second `[[networks]]` entry), `seed`,
//! any key the format has — over lists of values, given in a `[sweep]` section or
//! with `--vary KEY=V1,V2,...`. Every combination is a point (the full grid, the
//! last key varying fastest).
//!
//! A point is made by editing the parsed TOML document, before it is read into a
//! scenario: the varied key is set as if the file had said so, then the point is
//! read and checked like any file. So every key can be varied by one mechanism,
//! and a bad value is reported where it was written: in the `[sweep]` section
//! with its line and column, or in the `--vary` flag it came from. Every point is
//! checked before the first one runs.

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::resolve::Resolver;
use super::{Scenario, ScenarioError, ScenarioFile};

/// At most this many points: a sweep is an experiment, not a search.
const MAX_POINTS: usize = 10_000;

/// What the `--vary` flag expects, for messages.
const FLAG_FORM: &str = "expected KEY=V1,V2,... e.g. --vary servers.count=4,8,16 or --vary sessions.state_ttl=10m,30m";

/// One varied key and its values.
struct Axis<'a> {
    key: String,
    /// Where the key was written, for errors about the key itself.
    key_span: Range<usize>,
    values: Vec<Spanned<DeValue<'a>>>,
    /// How each value reads in sweep.csv.
    shown: Vec<String>,
}

/// One point of a sweep: the values of the varied keys and the scenario they make.
pub struct Point {
    pub values: Vec<String>,
    pub scenario: Scenario,
}

/// A whole sweep, every point resolved and checked.
pub struct Sweep {
    /// The varied keys, in grid order.
    pub keys: Vec<String>,
    pub points: Vec<Point>,
}

impl Sweep {
    /// Reads the scenario at `path` as a sweep over its `[sweep]` section and the
    /// `vary` flags (a flag replaces a `[sweep]` entry of the same key). `None`
    /// when there is nothing to vary, or the file is not valid TOML: then it is an
    /// ordinary scenario, and reading it as one reports any error.
    pub fn load(path: &Path, policies: &[String], vary: &[String]) -> Result<Option<Sweep>, ScenarioError> {
        let source = super::read_file(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Sweep::parse(&source, path, policies, vary)
    }

    /// Like [`Sweep::load`], from text.
    pub fn parse(
        source: &str,
        path: &Path,
        policies: &[String],
        vary: &[String],
    ) -> Result<Option<Sweep>, ScenarioError> {
        let Ok(document) = DeTable::parse(source) else {
            return Ok(None);
        };
        let (span, mut root) = (document.span(), document.into_inner());
        let section = root.remove("sweep");
        if section.is_none() && vary.is_empty() {
            return Ok(None);
        }
        // Values from flags are written out after the file, one `KEY=VALUE` line
        // each, so that errors in them have a place, which is then told as the flag's.
        let mut text = source.to_string();
        if !text.ends_with('\n') {
            text.push('\n');
        }
        let file_lines = text.matches('\n').count();
        let mut flagged: Vec<(String, Vec<String>)> = Vec::new();
        for flag in vary {
            let (key, values) = parse_flag(flag)?;
            flagged.retain(|(k, _)| *k != key);
            flagged.push((key, values));
        }
        // The flag values as TOML literals, which the points' values borrow.
        let literals: Vec<Vec<String>> = flagged
            .iter()
            .map(|(_, values)| values.iter().map(|v| literal(v)).collect())
            .collect();
        let mut axes: Vec<Axis> = Vec::new();
        if let Some(section) = section {
            let at = section.span().start;
            match section.into_inner() {
                DeValue::Table(t) => file_axes(source, path, String::new(), t, &mut axes)?,
                _ => {
                    return Err(ScenarioError::at(
                        path,
                        source,
                        at,
                        "sweep: expected a [sweep] table of KEY = [V1, V2, ...]",
                    ));
                }
            }
        }
        axes.retain(|a| !flagged.iter().any(|(k, _)| *k == a.key));
        // Every flag value gets its own line after the file.
        let mut lines: Vec<String> = Vec::new();
        for ((key, values), literals) in flagged.iter().zip(&literals) {
            let mut axis = Axis {
                key: key.clone(),
                key_span: 0..0,
                values: Vec::new(),
                shown: Vec::new(),
            };
            for (v, literal) in values.iter().zip(literals) {
                let start = text.len() + lines.iter().map(|l| l.len() + 1).sum::<usize>();
                axis.key_span = start..start + key.len();
                let value_start = start + key.len() + 1;
                let value = scalar(literal).expect("literals are scalars");
                axis.values
                    .push(Spanned::new(value_start..value_start + literal.len(), value));
                axis.shown.push(v.clone());
                lines.push(format!("{key}={literal}"));
            }
            axes.push(axis);
        }
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        let size = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.values.len()));
        if size.is_none_or(|n| n > MAX_POINTS) {
            return Err(ScenarioError::whole(
                path,
                format!("the sweep has more than {MAX_POINTS} points; vary fewer keys or fewer values"),
            ));
        }
        let to_flag = |e: ScenarioError| match e {
            ScenarioError::At {
                line,
                column,
                message,
                text,
                ..
            } if line > file_lines => ScenarioError::Flag {
                flag: "--vary",
                text,
                offset: column - 1,
                message,
            },
            e => e,
        };
        let mut points = Vec::new();
        let mut index = vec![0usize; axes.len()];
        loop {
            let mut doc = root.clone();
            for (a, &i) in axes.iter().zip(&index) {
                set(&mut doc, a, a.values[i].clone())
                    .map_err(|m| to_flag(ScenarioError::at(path, &text, a.key_span.start, m)))?;
            }
            let file = ScenarioFile::deserialize(toml::de::Deserializer::from(Spanned::new(span.clone(), doc)))
                .map_err(|e| {
                    let message = e.message().trim_end().to_string();
                    to_flag(match e.span() {
                        Some(s) => ScenarioError::at(path, &text, s.start, message),
                        None => ScenarioError::whole(path, message),
                    })
                })?;
            let mut scenario = Resolver {
                path,
                source: &text,
                replay: false,
            }
            .resolve(file, policies)
            .map_err(|e| match to_flag(e) {
                // A value that breaks a rule of the whole file (shares that must add
                // to 1) shows in the file: say which point set it.
                e @ ScenarioError::At { .. } => ScenarioError::Point {
                    values: axes
                        .iter()
                        .zip(&index)
                        .map(|(a, &i)| format!("{}={}", a.key, a.shown[i]))
                        .collect::<Vec<_>>()
                        .join(", "),
                    inner: Box::new(e),
                },
                e => e,
            })?;
            // The point is the file with some keys changed; the file is what was run.
            scenario.source_hash = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(source.as_bytes()));
            points.push(Point {
                values: axes.iter().zip(&index).map(|(a, &i)| a.shown[i].clone()).collect(),
                scenario,
            });
            // The next point: the last key varies fastest.
            let mut k = axes.len();
            loop {
                if k == 0 {
                    return Ok(Some(Sweep {
                        keys: axes.iter().map(|a| a.key.clone()).collect(),
                        points,
                    }));
                }
                k -= 1;
                index[k] += 1;
                if index[k] < axes[k].values.len() {
                    break;
                }
                index[k] = 0;
            }
        }
    }
}

/// The axes of a `[sweep]` table: each array is a key's values; a table (from a
/// dotted key such as `servers.count`) holds deeper keys.
fn file_axes<'a>(
    source: &str,
    path: &Path,
    prefix: String,
    table: DeTable<'a>,
    axes: &mut Vec<Axis<'a>>,
) -> Result<(), ScenarioError> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.get_ref().to_string()
        } else {
            format!("{prefix}.{}", k.get_ref())
        };
        let span = v.span();
        match v.into_inner() {
            DeValue::Table(t) => file_axes(source, path, key, t, axes)?,
            DeValue::Array(a) if a.is_empty() => {
                return Err(ScenarioError::at(
                    path,
                    source,
                    span.start,
                    format!("sweep: {key} has no values; expected a list of at least one, e.g. {key} = [V1, V2]"),
                ));
            }
            DeValue::Array(a) => {
                let shown = a
                    .iter()
                    .map(|v| match v.get_ref() {
                        DeValue::String(s) => s.to_string(),
                        _ => source[v.span()].to_string(),
                    })
                    .collect();
                axes.push(Axis {
                    key,
                    key_span: k.span(),
                    values: a.into_iter().collect(),
                    shown,
                });
            }
            _ => {
                return Err(ScenarioError::at(
                    path,
                    source,
                    span.start,
                    format!("sweep: {key} must list its values, e.g. {key} = [V1, V2]"),
                ));
            }
        }
    }
    Ok(())
}

/// Splits `KEY=V1,V2,...`, rejecting empty keys, parts and lists.
fn parse_flag(flag: &str) -> Result<(String, Vec<String>), ScenarioError> {
    let bad = |offset: usize, message: String| ScenarioError::Flag {
        flag: "--vary",
        text: flag.to_string(),
        offset,
        message,
    };
    let Some((key, list)) = flag.split_once('=') else {
        return Err(bad(flag.len(), format!("no `=`: {FLAG_FORM}")));
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) || key.contains(char::is_whitespace) {
        return Err(bad(0, format!("{key:?} is not a key: {FLAG_FORM}")));
    }
    let mut values = Vec::new();
    let mut offset = key.len() + 1;
    for v in list.split(',') {
        if v.trim().is_empty() {
            return Err(bad(
                offset,
                format!("{key}: an empty value; {FLAG_FORM} (a value with commas belongs in a [sweep] section)"),
            ));
        }
        values.push(v.trim().to_string());
        offset += v.len() + 1;
    }
    Ok((key.to_string(), values))
}

/// The TOML literal of a flag value: a number, boolean or quoted string as
/// written, anything else (`10m`, `2/s`, `s3`) as a string.
fn literal(v: &str) -> String {
    match scalar(v) {
        Some(_) => v.to_string(),
        None => toml::Value::String(v.to_string()).to_string(),
    }
}

/// `text` as a TOML scalar, if it is one.
fn scalar(text: &str) -> Option<DeValue<'_>> {
    match DeValue::parse(text).ok()?.into_inner() {
        DeValue::Array(_) | DeValue::Table(_) => None,
        v => Some(v),
    }
}

/// Sets `axis.key` in `doc` to `value`, making missing tables on the way; a
/// number after a list of tables (`networks.2`) steps into its entry, counting
/// from 1 in file order.
fn set<'a>(doc: &mut DeTable<'a>, axis: &Axis<'a>, value: Spanned<DeValue<'a>>) -> Result<(), String> {
    let parts: Vec<&str> = axis.key.split('.').collect();
    let key = |part: &str| Spanned::new(axis.key_span.clone(), Cow::Owned(part.to_string()));
    let (mut table, mut i) = (doc, 0);
    loop {
        let part = parts[i];
        if i + 1 == parts.len() {
            table.insert(key(part), value);
            return Ok(());
        }
        let walked = parts[..=i].join(".");
        let entry = table
            .entry(key(part))
            .or_insert_with(|| Spanned::new(axis.key_span.clone(), DeValue::Table(DeTable::new())));
        i += 1;
        table = match entry.get_mut() {
            DeValue::Table(t) => t,
            DeValue::Array(list) => {
                let n = list.len();
                let entry = parts[i]
                    .parse::<usize>()
                    .ok()
                    .filter(|k| (1..=n).contains(k))
                    .and_then(|k| match list.get_mut(k - 1).map(Spanned::get_mut) {
                        Some(DeValue::Table(t)) => Some(t),
                        _ => None,
                    })
                    .ok_or_else(|| {
                        format!(
                            "{}: {walked} is a list of {n} tables; expected {walked}.N.KEY with N from 1 to {n}",
                            axis.key
                        )
                    })?;
                i += 1;
                if i == parts.len() {
                    return Err(format!("{}: expected a key inside {walked}.{}", axis.key, parts[i - 1]));
                }
                entry
            }
            _ => return Err(format!("{}: {walked} is a value, not a table", axis.key)),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "duration = \"1h\"\npolicies = [\"ip_hash\"]\n[arrivals]\nrate = \"1/s\"\n[servers]\ncount = 2\n";

    fn sweep(extra: &str, vary: &[&str]) -> Result<Option<Sweep>, ScenarioError> {
        let vary: Vec<String> = vary.iter().map(|s| s.to_string()).collect();
        Sweep::parse(&format!("{BASE}{extra}"), Path::new("s.toml"), &[], &vary)
    }

    #[test]
    fn nothing_to_vary_is_an_ordinary_scenario() {
        assert!(sweep("", &[]).expect("valid").is_none());
    }

    #[test]
    fn a_flag_replaces_the_section_entry_of_its_key() {
        let s = sweep(
            "[sweep]\nservers.count = [3, 4]\nseed = [1, 2]\n",
            &["servers.count=5,6,7"],
        )
        .expect("valid")
        .expect("a sweep");
        assert_eq!(s.keys, ["seed", "servers.count"]);
        assert_eq!(s.points.len(), 6);
        let p = &s.points[5];
        assert_eq!(p.values, ["2", "7"]);
        assert_eq!((p.scenario.seed, p.scenario.servers.len()), (2, 7));
    }

    #[test]
    fn an_empty_list_in_the_section_is_an_error_at_its_place() {
        let e = sweep("[sweep]\narrivals.rate = []\n", &[])
            .err()
            .expect("an error")
            .to_string();
        assert!(e.starts_with("s.toml:8:17: sweep: arrivals.rate has no values"), "{e}");
    }
}
