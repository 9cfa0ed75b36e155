//! HAProxy configurations: a `backend` or `listen` section, with the `defaults`
//! section it takes its settings from, read into the lbsim HAProxy policies.
//!
//! A proxy takes the last `defaults` section above it, or the one it names with
//! `from NAME`. Frontends and the other sections choose no server, so they are
//! passed over, except that `stick on src table NAME` may use another section's
//! table.

mod backend;
mod balance;
mod lexer;
mod server;

use std::path::Path;

use super::reading::Text;
use super::{ImportError, Imported, Options};
use lexer::{Line, Word};

/// Keywords that start a section.
const SECTIONS: &[&str] = &[
    "global",
    "defaults",
    "frontend",
    "backend",
    "listen",
    "peers",
    "resolvers",
    "userlist",
    "mailers",
    "program",
    "http-errors",
    "ring",
    "cache",
    "log-forward",
    "crt-store",
    "traces",
    "fcgi-app",
];

/// A section: its first line (`backend NAME [from DEFAULTS]`) and the lines under it.
pub struct Section<'t> {
    pub header: &'t Line,
    pub lines: &'t [Line],
}

impl Section<'_> {
    pub fn kind(&self) -> &str {
        self.header.keyword()
    }

    pub fn name(&self) -> Option<&Word> {
        self.header.args().first().filter(|w| w.text != "from")
    }

    /// The defaults section named with `from NAME`.
    fn from(&self) -> Option<&Word> {
        let args = self.header.args();
        args.iter().position(|w| w.text == "from").and_then(|i| args.get(i + 1))
    }
}

/// Reads the backend or listen section `options` name (or the only one).
pub fn parse(text: &str, path: &Path, options: &Options) -> Result<Imported, ImportError> {
    let file = Text { path, text };
    let lines = lexer::lines(text).map_err(|(at, m)| file.error(at, m))?;
    let sections = split(&file, &lines)?;
    let proxies: Vec<usize> = (0..sections.len())
        .filter(|&i| matches!(sections[i].kind(), "backend" | "listen"))
        .collect();
    let listed = || {
        proxies
            .iter()
            .map(|&i| {
                let s = &sections[i];
                let name = s.name().map_or("", |w| w.text.as_str());
                format!("{name} ({} at line {})", s.kind(), file.place(s.header.at()).line)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen: Vec<usize> = match &options.section {
        Some(name) => proxies
            .iter()
            .copied()
            .filter(|&i| sections[i].name().is_some_and(|w| w.text == *name))
            .collect(),
        // A section without servers (one that only holds a stick table) is no
        // candidate unless it is the only one.
        None => match proxies
            .iter()
            .copied()
            .filter(|&i| sections[i].lines.iter().any(|l| l.keyword() == "server"))
            .collect::<Vec<_>>()
        {
            serving if serving.is_empty() => proxies.clone(),
            serving => serving,
        },
    };
    let index = match (chosen.as_slice(), &options.section) {
        ([one], _) => *one,
        ([], None) => {
            return Err(ImportError::whole(
                path,
                "no backend or listen section: lbsim imports the servers and balancing of one of them",
            ));
        }
        ([], Some(name)) if proxies.is_empty() => {
            return Err(ImportError::whole(
                path,
                format!("no backend {name:?}: the configuration has no backend or listen section"),
            ));
        }
        ([], Some(name)) => {
            return Err(ImportError::whole(
                path,
                format!(
                    "no backend or listen section {name:?}; the configuration has: {}",
                    listed()
                ),
            ));
        }
        (_, None) => {
            return Err(ImportError::whole(
                path,
                format!(
                    "{} backend and listen sections: {}; choose one with --backend NAME",
                    proxies.len(),
                    listed()
                ),
            ));
        }
        (_, Some(name)) => {
            return Err(ImportError::whole(
                path,
                format!("several sections are named {name:?}: {}", listed()),
            ));
        }
    };
    let defaults = defaults_of(&file, &sections, index)?;
    backend::read(&file, &sections, defaults, index, options.lenient)
}

/// The sections of the file, in order.
fn split<'t>(file: &Text, lines: &'t [Line]) -> Result<Vec<Section<'t>>, ImportError> {
    let starts: Vec<usize> = (0..lines.len())
        .filter(|&i| SECTIONS.contains(&lines[i].keyword()))
        .collect();
    if let Some(first) = lines.first()
        && starts.first() != Some(&0)
    {
        return Err(file.error(
            first.at(),
            format!(
                "{:?} outside any section: a HAProxy configuration starts with a section keyword (global, \
                 defaults, frontend, backend, listen, ...)",
                first.keyword()
            ),
        ));
    }
    let mut sections = Vec::new();
    for (n, &start) in starts.iter().enumerate() {
        let end = starts.get(n + 1).copied().unwrap_or(lines.len());
        let header = &lines[start];
        if matches!(header.keyword(), "backend" | "listen" | "frontend") && header.args().is_empty() {
            return Err(file.error(header.at(), format!("\"{}\" needs a name", header.keyword())));
        }
        sections.push(Section {
            header,
            lines: &lines[start + 1..end],
        });
    }
    Ok(sections)
}

/// The defaults section that proxy `index` takes its settings from.
fn defaults_of<'s, 't>(
    file: &Text,
    sections: &'s [Section<'t>],
    index: usize,
) -> Result<Option<&'s Section<'t>>, ImportError> {
    let before = &sections[..index];
    match sections[index].from() {
        None => Ok(before.iter().rev().find(|s| s.kind() == "defaults")),
        Some(name) => before
            .iter()
            .rev()
            .find(|s| s.kind() == "defaults" && s.name().is_some_and(|n| n.text == name.text))
            .map(Some)
            .ok_or_else(|| {
                file.error(
                    name.at,
                    format!(
                        "no defaults section {:?} above this one to take settings from",
                        name.text
                    ),
                )
            }),
    }
}
