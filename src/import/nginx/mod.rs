//! nginx configurations: the `upstream` blocks of `http {}` and `stream {}` (or
//! of a file that holds only such blocks, as `conf.d/*.conf` files do), read
//! into the lbsim nginx policies.
//!
//! Outside upstream blocks nothing changes how a peer is chosen, so everything
//! there is passed over, except `include`, which is followed.

mod key;
mod lexer;
mod sticky;
mod tree;
mod upstream;

use std::path::Path;

use super::{ImportError, Imported, Options};
use tree::Directive;

/// Reads the upstream `options` name (or the only one) from the configuration.
pub fn parse(text: &str, path: &Path, options: &Options) -> Result<Imported, ImportError> {
    let (files, tree) = tree::read(path, text)?;
    let mut found = Vec::new();
    upstreams(&tree, None, &mut found);
    let listed = |found: &[(&str, &Directive)]| {
        found
            .iter()
            .map(|(context, d)| {
                let place = files.text(d.file).place(d.name.at);
                let file = files.list[d.file].0.display();
                format!("{} ({context}, {file}:{})", d.args[0].text, place.line)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let chosen: Vec<&(&str, &Directive)> = match &options.section {
        Some(name) => found.iter().filter(|(_, d)| d.args[0].text == *name).collect(),
        None => found.iter().collect(),
    };
    let (_, block) = match (chosen.as_slice(), &options.section) {
        ([one], _) => **one,
        ([], None) => {
            return Err(ImportError::whole(
                path,
                "no upstream block: lbsim imports `upstream NAME { server ...; }` from http {} or stream {}",
            ));
        }
        ([], Some(name)) => {
            let message = match found.as_slice() {
                [] => format!("no upstream {name:?}: the configuration has no upstream block"),
                _ => format!("no upstream {name:?}; the upstreams are: {}", listed(&found)),
            };
            return Err(ImportError::whole(path, message));
        }
        (_, None) => {
            return Err(ImportError::whole(
                path,
                format!(
                    "{} upstreams: {}; choose one with --upstream NAME",
                    found.len(),
                    listed(&found)
                ),
            ));
        }
        (many, Some(name)) => {
            let many: Vec<(&str, &Directive)> = many.iter().map(|&&x| x).collect();
            return Err(ImportError::whole(
                path,
                format!("{} upstreams are named {name:?}: {}", many.len(), listed(&many)),
            ));
        }
    };
    upstream::read(&files, block, options.lenient).map(|mut imported| {
        if block.file != 0 {
            let file = files.list[0].0.display();
            imported
                .notes
                .insert(0, format!("The upstream is in a file that {file} includes."));
        }
        imported
    })
}

/// The `upstream NAME { ... }` blocks where nginx allows them: at the top of a
/// file that is itself included in `http` (context `None`), or in `http {}` and
/// `stream {}`.
fn upstreams<'t>(tree: &'t [Directive], context: Option<&'static str>, found: &mut Vec<(&'static str, &'t Directive)>) {
    for d in tree {
        match (d.name.text.as_str(), &d.block, context) {
            ("upstream", Some(_), _) if d.args.len() == 1 => found.push((context.unwrap_or("http"), d)),
            ("http", Some(block), None) => upstreams(block, Some("http"), found),
            ("stream", Some(block), None) => upstreams(block, Some("stream"), found),
            _ => {}
        }
    }
}
