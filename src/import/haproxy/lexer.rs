//! HAProxy's configuration syntax, as its manual describes it (§2.2, "Quoting
//! and escaping"): one statement per line, words separated by spaces or tabs, a
//! `#` outside quotes starting a comment. A backslash escapes a space, `#`, a
//! quote or a backslash, writes `\r`, `\n`, `\t` and `\xNN` as the bytes they
//! name; single quotes keep everything as written (strong quoting); double quotes
//! keep spaces and `#` but still take escapes and expand environment variables
//! (`$NAME`, `${NAME}`), as HAProxy does when it loads the file. Quoted and
//! unquoted pieces next to each other make one word.

/// One word with its escapes resolved, and where it starts in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    pub text: String,
    pub at: usize,
}

/// A statement: the words of one line (never empty), and where the line ends.
#[derive(Clone, Debug)]
pub struct Line {
    pub words: Vec<Word>,
    pub end: usize,
}

impl Line {
    pub fn keyword(&self) -> &str {
        &self.words[0].text
    }

    pub fn at(&self) -> usize {
        self.words[0].at
    }

    /// The words after the keyword.
    pub fn args(&self) -> &[Word] {
        &self.words[1..]
    }
}

/// The statements of `text`, or where a quote is left open.
pub fn lines(text: &str) -> Result<Vec<Line>, (usize, String)> {
    let mut out = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let words = words(raw, start)?;
        let end = start + raw.trim_end_matches(['\n', '\r']).len();
        if !words.is_empty() {
            out.push(Line { words, end });
        }
        start += raw.len();
    }
    Ok(out)
}

/// The words of one line starting at byte `base` of the file.
fn words(line: &str, base: usize) -> Result<Vec<Word>, (usize, String)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        if i >= b.len() || b[i] == b'#' {
            return Ok(out);
        }
        let at = i;
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<(u8, usize)> = None;
        while i < b.len() {
            let c = b[i];
            match quote {
                Some((b'\'', _)) if c == b'\'' => quote = None,
                Some((b'\'', _)) => word.push(c),
                Some((b'"', _)) if c == b'"' => quote = None,
                Some((b'"', _)) if c == b'$' => i = expand(line, i, &mut word) - 1,
                None if matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b'#') => break,
                None if c == b'"' || c == b'\'' => quote = Some((c, i)),
                _ if c == b'\\' => i = escape(line, i, &mut word) - 1,
                _ => word.push(c),
            }
            i += 1;
        }
        if let Some((q, qat)) = quote {
            let q = q as char;
            return Err((
                base + qat,
                format!("unmatched quote: the {q} here is never closed on its line"),
            ));
        }
        out.push(Word {
            text: String::from_utf8_lossy(&word).into_owned(),
            at: base + at,
        });
    }
}

/// Resolves the escape at `line[i]` (a backslash) into `word`; returns the index after it.
fn escape(line: &str, i: usize, word: &mut Vec<u8>) -> usize {
    let b = line.as_bytes();
    match b.get(i + 1) {
        Some(b'r') => word.push(b'\r'),
        Some(b'n') => word.push(b'\n'),
        Some(b't') => word.push(b'\t'),
        Some(b'x') => {
            if let Some(byte) = line.get(i + 2..i + 4).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                word.push(byte);
                return i + 4;
            }
            word.extend_from_slice(b"\\x");
        }
        Some(&c @ (b' ' | b'#' | b'\\' | b'\'' | b'"' | b'$')) => word.push(c),
        Some(b'\n') | None => return i + 1,
        Some(&c) => word.extend_from_slice(&[b'\\', c]),
    }
    i + 2
}

/// Expands the environment variable at `line[i]` (a `$` inside double quotes)
/// into `word`; returns the index after it. An unset variable is empty.
fn expand(line: &str, i: usize, word: &mut Vec<u8>) -> usize {
    let rest = &line[i + 1..];
    let (name, len) = match rest.strip_prefix('{') {
        Some(inner) => match inner.find('}') {
            Some(end) => (&inner[..end], end + 2),
            None => ("", 0),
        },
        None => {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], end)
        }
    };
    if name.is_empty() {
        word.push(b'$');
        return i + 1;
    }
    if let Some(v) = std::env::var_os(name) {
        word.extend_from_slice(v.to_string_lossy().as_bytes());
    }
    i + 1 + len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        lines(line).unwrap()[0].words.iter().map(|w| w.text.clone()).collect()
    }

    #[test]
    fn words_comments_and_offsets() {
        let ls = lines("backend app # the shop\n\n    server s1 10.0.0.1:80 weight 2\n").unwrap();
        assert_eq!(ls.len(), 2);
        assert_eq!(ls[0].words.len(), 2);
        assert_eq!(ls[1].keyword(), "server");
        assert_eq!(
            ls[1].words[3],
            Word {
                text: "weight".into(),
                at: 50
            }
        );
        assert_eq!(ls[1].end, 58);
    }

    #[test]
    fn quoting_and_escaping_as_the_manual_says() {
        assert_eq!(texts(r"cookie SRV\ ID insert"), ["cookie", "SRV ID", "insert"]);
        assert_eq!(texts(r#"a "b c" 'd $e \n' f\#g"#), ["a", "b c", "d $e \\n", "f#g"]);
        assert_eq!(texts(r#"a x"y z"w"#), ["a", "xy zw"], "pieces join into one word");
        assert_eq!(texts(r"a \x41\t\\"), ["a", "A\t\\"]);
        assert_eq!(texts("a b#c"), ["a", "b"], "# ends the line outside quotes");
        assert_eq!(texts("a \"b#c\""), ["a", "b#c"]);
    }

    #[test]
    fn environment_variables_expand_in_double_quotes_only() {
        let home = std::env::var("PATH").unwrap_or_default();
        assert_eq!(texts("a \"$PATH\" '$PATH'"), ["a", home.as_str(), "$PATH"]);
        assert_eq!(texts("a \"${PATH}x\""), ["a", format!("{home}x").as_str()]);
        assert_eq!(texts("a \"$LBSIM_SURELY_UNSET_VARIABLE\" \"$\""), ["a", "", "$"]);
    }

    #[test]
    fn an_open_quote_is_located() {
        let (at, m) = lines("backend a\n  cookie \"SRV insert\n").unwrap_err();
        assert_eq!(at, 19);
        assert!(m.contains("unmatched quote"), "{m}");
    }
}
