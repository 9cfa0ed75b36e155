//! nginx's configuration syntax, as its configuration reader splits it: words
//! separated by white space, `;` ending a directive, `{` and `}` around a block,
//! `#` starting a comment where a word could start, and words quoted with `"` or
//! `'`. A backslash escapes a quote or a backslash and writes `\t`, `\r`, `\n` as
//! the characters they name, inside quotes or not; any other backslash stays.
//! Unquoted, `}` and quotes inside a word are part of it, and so is the `{` of a
//! variable written `${name}`.

/// One piece of the text, with the byte offset where it starts.
#[derive(Clone, Debug, PartialEq)]
pub enum Token {
    Word(Word),
    /// `;`
    End(usize),
    /// `{`
    Open(usize),
    /// `}`
    Close(usize),
}

/// A word with its escapes resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Word {
    pub text: String,
    pub at: usize,
}

/// The tokens of `text`, or the offset of the first thing nginx would refuse and why.
pub fn tokens(text: &str) -> Result<Vec<Token>, (usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'#' => i = b[i..].iter().position(|&c| c == b'\n').map_or(b.len(), |n| i + n),
            b';' => {
                out.push(Token::End(i));
                i += 1;
            }
            b'{' => {
                out.push(Token::Open(i));
                i += 1;
            }
            b'}' => {
                out.push(Token::Close(i));
                i += 1;
            }
            quote @ (b'"' | b'\'') => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != quote {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                if i >= b.len() {
                    let q = quote as char;
                    return Err((start, format!("unterminated string: the {q} here is never closed")));
                }
                out.push(Token::Word(Word {
                    text: unescape(&text[start + 1..i]),
                    at: start,
                }));
                i += 1;
                if let Some(&next) = b.get(i)
                    && !matches!(next, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b')')
                {
                    let c = text[i..].chars().next().unwrap_or(' ');
                    return Err((
                        i,
                        format!("unexpected {c:?} after a quoted string: expected a space, \";\" or \"{{\""),
                    ));
                }
            }
            _ => {
                let start = i;
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 2,
                        b'{' if i > start && b[i - 1] == b'$' => i += 1,
                        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' => break,
                        _ => i += 1,
                    }
                }
                i = i.min(b.len());
                out.push(Token::Word(Word {
                    text: unescape(&text[start..i]),
                    at: start,
                }));
            }
        }
    }
    Ok(out)
}

/// A word's text with nginx's escapes resolved.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some(&q @ ('"' | '\'' | '\\')) => {
                out.push(q);
                chars.next();
            }
            Some(&e @ ('t' | 'r' | 'n')) => {
                out.push(match e {
                    't' => '\t',
                    'r' => '\r',
                    _ => '\n',
                });
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokens(text)
            .unwrap()
            .into_iter()
            .map(|t| match t {
                Token::Word(w) => w.text,
                Token::End(_) => ";".into(),
                Token::Open(_) => "{".into(),
                Token::Close(_) => "}".into(),
            })
            .collect()
    }

    #[test]
    fn directives_blocks_and_comments() {
        let text = "upstream app { # the shop\n  server 10.0.0.1:80 weight=2;\n}\n";
        assert_eq!(
            words(text),
            ["upstream", "app", "{", "server", "10.0.0.1:80", "weight=2", ";", "}"]
        );
        let toks = tokens(text).unwrap();
        assert_eq!(
            toks[4],
            Token::Word(Word {
                text: "10.0.0.1:80".into(),
                at: 35
            })
        );
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(
            words(r#"hash "$cookie_sid" consistent;"#),
            ["hash", "$cookie_sid", "consistent", ";"]
        );
        assert_eq!(
            words(r#"a 'it\'s' "say \"hi\"" b\;c;"#),
            ["a", "it's", "say \"hi\"", "b\\;c", ";"],
            "a backslash before another character stays"
        );
        assert_eq!(words(r"a x\ty \d;"), ["a", "x\ty", "\\d", ";"]);
        assert_eq!(words("a b#c;"), ["a", "b#c", ";"], "# inside a word is not a comment");
        assert_eq!(words("a b}c;"), ["a", "b}c", ";"]);
        assert_eq!(words("hash ${remote_addr};"), ["hash", "${remote_addr}", ";"]);
        assert_eq!(words("if ($a) {"), ["if", "($a)", "{"]);
    }

    #[test]
    fn refusals_say_where() {
        let (at, m) = tokens("hash \"$remote_addr;\n").unwrap_err();
        assert_eq!(at, 5);
        assert!(m.contains("unterminated string"), "{m}");
        let (at, m) = tokens("a \"b\"c;").unwrap_err();
        assert_eq!(at, 5);
        assert!(m.contains("after a quoted string"), "{m}");
    }
}
