//! YAML configurations (Envoy, Kubernetes), read with serde-saphyr: serde structs
//! whose [`Spanned`] fields keep the line and column each value came from, and
//! syntax or type errors that carry theirs.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_saphyr::{DefaultMessageFormatter, Location, MessageFormatter};

pub use serde_saphyr::Spanned;

use super::ImportError;
use super::reading::Source;

/// The one document of `src`.
pub fn parse<T: DeserializeOwned>(src: &Source) -> Result<T, ImportError> {
    serde_saphyr::from_str(src.text).map_err(|e| located(src, &e))
}

/// Every document of `src` (separated by `---`).
pub fn parse_all<T: DeserializeOwned>(src: &Source) -> Result<Vec<T>, ImportError> {
    serde_saphyr::from_multiple(src.text).map_err(|e| located(src, &e))
}

fn located(src: &Source, e: &serde_saphyr::Error) -> ImportError {
    let message = DefaultMessageFormatter.format_message(e.without_snippet());
    match e.location() {
        Some(at) if at.line() > 0 => src.error(offset(src.text, &at), format!("YAML: {message}")),
        _ => ImportError::whole(src.path, format!("YAML: {message}")),
    }
}

/// The byte offset of `at` in `text`.
pub fn offset(text: &str, at: &Location) -> usize {
    if let Some(b) = at.span().byte_offset() {
        return b as usize;
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(at.line().saturating_sub(1) as usize)
        .map(str::len)
        .sum();
    let column = at.column().saturating_sub(1) as usize;
    line_start
        + text[line_start.min(text.len())..]
            .char_indices()
            .nth(column)
            .map_or(0, |(i, _)| i)
}

/// Where a value was written, as a byte offset.
pub fn at<T>(text: &str, value: &Spanned<T>) -> usize {
    offset(text, &value.referenced)
}

/// A whole number written plainly or as a string, as protobuf's JSON mapping
/// writes 64-bit integers (`minimum_ring_size: "1024"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Count, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a whole number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                u64::try_from(v)
                    .map(Count)
                    .map_err(|_| E::custom(format!("{v}: expected a whole number, 0 or more")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                v.trim()
                    .parse()
                    .map(Count)
                    .map_err(|_| E::custom(format!("{v:?}: expected a whole number")))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number written plainly or as a string; Kubernetes ports may also be names
/// (`targetPort: http`), kept as text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortRef {
    Number(u64),
    Name(String),
}

impl<'de> Deserialize<'de> for PortRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PortRef, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PortRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a port number or name")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PortRef, E> {
                Ok(PortRef::Number(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PortRef, E> {
                u64::try_from(v)
                    .map(PortRef::Number)
                    .map_err(|_| E::custom(format!("{v}: expected a port from 1 to 65535")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PortRef, E> {
                Ok(match v.parse() {
                    Ok(n) => PortRef::Number(n),
                    Err(_) => PortRef::Name(v.to_string()),
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        size: Spanned<Count>,
    }

    #[test]
    fn values_keep_their_line_and_errors_their_place() {
        let text = "# ring\nsize: \"1024\"\n";
        let src = Source::new(Path::new("c.yaml"), text, false);
        let d: Doc = parse(&src).unwrap();
        assert_eq!(d.size.value, Count(1024));
        assert_eq!(at(text, &d.size), text.find('"').unwrap());
        let text = "size: 1\nx:\n  - port: 80\n   t: 8\n";
        let src = Source::new(Path::new("c.yaml"), text, false);
        let e = parse::<Doc>(&src).err().unwrap().to_string();
        assert!(
            e.starts_with("c.yaml:4:4: YAML: while parsing a block collection"),
            "{e}"
        );
        let src = Source::new(Path::new("c.yaml"), "size: many\n", false);
        let e = parse::<Doc>(&src).err().unwrap().to_string();
        assert!(
            e.starts_with("c.yaml:1:7: YAML: ") && e.contains("\"many\": expected a whole number"),
            "{e}"
        );
    }
}
