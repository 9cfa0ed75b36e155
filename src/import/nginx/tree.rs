//! An nginx configuration as a tree of directives, with its `include` files read
//! in place, as nginx reads them.
//!
//! A relative include is relative to the directory of the main file (nginx's
//! configuration prefix when started with `-c FILE`); `*` and `?` in the file
//! name match as the shell's glob does, in sorted order, and a pattern matching
//! nothing includes nothing. Includes nest at most 16 deep, which also stops a
//! file that includes itself.

use std::path::{Path, PathBuf};

use super::lexer::{Token, Word, tokens};
use crate::import::ImportError;
use crate::import::reading::Text;

const MAX_DEPTH: usize = 16;

/// The main file and every file it includes, by index (0 is the main file).
#[derive(Debug)]
pub struct Files {
    pub list: Vec<(PathBuf, String)>,
}

impl Files {
    pub fn text(&self, file: usize) -> Text<'_> {
        Text {
            path: &self.list[file].0,
            text: &self.list[file].1,
        }
    }
}

/// `name args...;` or `name args... { block }`.
#[derive(Debug)]
pub struct Directive {
    pub name: Word,
    pub args: Vec<Word>,
    pub block: Option<Vec<Directive>>,
    /// The file it is written in.
    pub file: usize,
    /// Just past its `;` or `{`.
    pub end: usize,
}

impl Directive {
    /// The directive as written, on one line.
    pub fn said(&self, files: &Files) -> String {
        files.text(self.file).said(self.name.at, self.end)
    }
}

/// Reads the configuration `text` of `path` and the files it includes.
pub fn read(path: &Path, text: &str) -> Result<(Files, Vec<Directive>), ImportError> {
    let mut files = Files {
        list: vec![(path.to_path_buf(), text.to_string())],
    };
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let tree = parse_file(&mut files, 0, &base, 0)?;
    Ok((files, tree))
}

fn parse_file(files: &mut Files, file: usize, base: &Path, depth: usize) -> Result<Vec<Directive>, ImportError> {
    let toks = tokens(&files.list[file].1).map_err(|(at, m)| files.text(file).error(at, m))?;
    let mut parser = Parser {
        toks,
        pos: 0,
        file,
        base,
        depth,
    };
    parser.block(files, None)
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    file: usize,
    base: &'a Path,
    depth: usize,
}

impl Parser<'_> {
    /// The directives up to the `}` closing the block opened at `open`, or to the
    /// end of the file at the top.
    fn block(&mut self, files: &mut Files, open: Option<usize>) -> Result<Vec<Directive>, ImportError> {
        let file = self.file;
        let err = |files: &Files, at: usize, m: String| files.text(file).error(at, m);
        let mut list = Vec::new();
        loop {
            let name = match self.toks.get(self.pos).cloned() {
                None => {
                    return match open {
                        Some(at) => Err(err(
                            files,
                            at,
                            "unexpected end of file: the block opened here is never closed with \"}\"".into(),
                        )),
                        None => Ok(list),
                    };
                }
                Some(Token::Close(at)) => {
                    self.pos += 1;
                    return match open {
                        Some(_) => Ok(list),
                        None => Err(err(files, at, "unexpected \"}\": no block is open".into())),
                    };
                }
                Some(Token::End(at)) => return Err(err(files, at, "unexpected \";\": no directive before it".into())),
                Some(Token::Open(at)) => return Err(err(files, at, "unexpected \"{\": no directive before it".into())),
                Some(Token::Word(w)) => w,
            };
            self.pos += 1;
            let mut args = Vec::new();
            let (end, block_at) = loop {
                match self.toks.get(self.pos).cloned() {
                    Some(Token::Word(w)) => args.push(w),
                    Some(Token::End(at)) => break (at + 1, None),
                    Some(Token::Open(at)) => break (at + 1, Some(at)),
                    Some(Token::Close(at)) => {
                        let m = format!("unexpected \"}}\": directive \"{}\" is not ended with \";\"", name.text);
                        return Err(err(files, at, m));
                    }
                    None => {
                        let m = format!(
                            "unexpected end of file: directive \"{}\" is not ended with \";\"",
                            name.text
                        );
                        return Err(err(files, name.at, m));
                    }
                }
                self.pos += 1;
            };
            self.pos += 1;
            let block = match block_at {
                Some(at) => Some(self.block(files, Some(at))?),
                None => None,
            };
            if name.text == "include" && block.is_none() {
                list.extend(self.include(files, &name, &args)?);
                continue;
            }
            list.push(Directive {
                name,
                args,
                block,
                file,
                end,
            });
        }
    }

    /// The directives of the files `include PATTERN;` names.
    fn include(&self, files: &mut Files, name: &Word, args: &[Word]) -> Result<Vec<Directive>, ImportError> {
        let file = self.file;
        let [pattern] = args else {
            return Err(files.text(file).error(
                name.at,
                "invalid number of arguments in \"include\": expected one file or pattern",
            ));
        };
        if self.depth >= MAX_DEPTH {
            let m = format!("includes nest more than {MAX_DEPTH} deep: does a file include itself?");
            return Err(files.text(file).error(pattern.at, m));
        }
        let paths = expand(&self.base.join(&pattern.text)).map_err(|m| files.text(file).error(pattern.at, m))?;
        let mut out = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                let m = format!("cannot read the included file {}: {e}", path.display());
                files.text(file).error(pattern.at, m)
            })?;
            files.list.push((path, text));
            let index = files.list.len() - 1;
            out.extend(parse_file(files, index, self.base, self.depth + 1)?);
        }
        Ok(out)
    }
}

/// The files an include pattern names: itself without wildcards, else the
/// matches of its file name in its directory, sorted.
fn expand(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let wild = |s: &str| s.contains(['*', '?', '[']);
    let text = pattern.to_string_lossy();
    if !wild(&text) {
        return Ok(vec![pattern.to_path_buf()]);
    }
    let (dir, name) = match (pattern.parent(), pattern.file_name()) {
        (Some(d), Some(n)) if !wild(&d.to_string_lossy()) => (d, n.to_string_lossy()),
        _ => {
            return Err(format!(
                "{text}: lbsim expands wildcards in the file name only, not in directories"
            ));
        }
    };
    if name.contains('[') {
        return Err(format!(
            "{text}: lbsim expands \"*\" and \"?\" in include patterns, not \"[...]\""
        ));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            !n.starts_with('.') && matches(name.as_bytes(), n.as_bytes())
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    Ok(found)
}

/// Whether `name` matches the glob `pattern` of `*` and `?`.
fn matches(pattern: &[u8], name: &[u8]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| matches(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && matches(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> Result<Vec<Directive>, String> {
        read(Path::new("t.conf"), text)
            .map(|(_, t)| t)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn blocks_nest() {
        let t = tree("http { upstream a { server x; } }\nevents {}").unwrap();
        assert_eq!(t.len(), 2);
        let up = &t[0].block.as_ref().unwrap()[0];
        assert_eq!((up.name.text.as_str(), up.args[0].text.as_str()), ("upstream", "a"));
        assert_eq!(up.block.as_ref().unwrap()[0].name.text, "server");
    }

    #[test]
    fn unbalanced_text_is_located() {
        let e = tree("http {\n  upstream a {\n    server x;\n}\n").unwrap_err();
        assert!(e.starts_with("t.conf:1:6: unexpected end of file: the block"), "{e}");
        let e = tree("upstream a { server x }").unwrap_err();
        assert!(
            e.starts_with("t.conf:1:23: unexpected \"}\": directive \"server\""),
            "{e}"
        );
        let e = tree("a;\n}").unwrap_err();
        assert!(e.starts_with("t.conf:2:1: unexpected \"}\""), "{e}");
        let e = tree("server x").unwrap_err();
        assert!(
            e.starts_with("t.conf:1:1: unexpected end of file: directive \"server\""),
            "{e}"
        );
    }

    #[test]
    fn includes_are_read_in_place() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("conf.d")).unwrap();
        std::fs::write(dir.path().join("conf.d/b.conf"), "upstream b { server y; }").unwrap();
        std::fs::write(dir.path().join("conf.d/a.conf"), "upstream a { server x; }").unwrap();
        std::fs::write(dir.path().join("conf.d/a.txt"), "not read").unwrap();
        let main = dir.path().join("nginx.conf");
        let text = "http { include conf.d/*.conf; include conf.d/none*; }";
        let (files, t) = read(&main, text).unwrap();
        let names: Vec<&str> = t[0]
            .block
            .as_ref()
            .unwrap()
            .iter()
            .map(|d| d.args[0].text.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(files.list.len(), 3);
        let e = read(&main, "include missing.conf;").unwrap_err().to_string();
        assert!(e.contains("nginx.conf:1:9: cannot read the included file"), "{e}");
        std::fs::write(dir.path().join("loop.conf"), "include loop.conf;").unwrap();
        let e = read(&main, "include loop.conf;").unwrap_err().to_string();
        assert!(e.contains("nest more than 16 deep"), "{e}");
    }

    #[test]
    fn globs_match_like_the_shell() {
        assert!(matches(b"*.conf", b"site.conf"));
        assert!(!matches(b"*.conf", b"site.conf.bak"));
        assert!(matches(b"s?te*", b"site.conf"));
        assert!(!matches(b"?", b""));
    }
}
