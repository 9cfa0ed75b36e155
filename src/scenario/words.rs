//! Messages in the user's words: the parser's type names become what to write
//! ("expected i64" → "expected a whole number"), and a misspelled key or name
//! gets the nearest valid one ("did you mean `duration`?").

/// The valid name nearest to `typed`, if it is near enough to be a slip: at most
/// one edit in three characters, and never more than three.
pub fn nearest<'a>(typed: &str, valid: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (typed.chars().count() / 3).clamp(1, 3);
    valid
        .into_iter()
        .map(|v| (distance(typed, v), v))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, v)| v)
}

/// Levenshtein distance, by characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `message` from the TOML reader with type names in words and, for an unknown
/// key, the key it was probably meant to be.
pub fn plain(message: &str) -> String {
    let mut text = message.to_string();
    for (rust, words) in [
        ("expected i64", "expected a whole number"),
        ("expected u64", "expected a whole number of at least 0"),
        ("expected u32", "expected a whole number of at least 0"),
        ("expected i32", "expected a whole number"),
        ("expected u16", "expected a whole number of at least 0"),
        ("expected u8", "expected a whole number of at least 0"),
        ("expected usize", "expected a whole number of at least 0"),
        ("expected f64", "expected a number"),
        ("expected f32", "expected a number"),
        ("floating point `", "number `"),
        ("expected a sequence", "expected a list [...]"),
        ("expected a map", "expected a table"),
    ] {
        text = text.replace(rust, words);
    }
    suggest_key(&text).unwrap_or(text)
}

/// "unknown field `duraton`, expected one of `name`, `duration`, ..." with a
/// suggestion when one of the expected keys is a slip away.
fn suggest_key(text: &str) -> Option<String> {
    let rest = text.strip_prefix("unknown field `")?;
    let (typed, rest) = rest.split_once('`')?;
    let valid: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let near = nearest(typed, valid.iter().copied())?;
    Some(format!(
        "unknown key `{typed}`: did you mean `{near}`? (valid keys here: {})",
        valid.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slips_find_their_key() {
        assert_eq!(nearest("duraton", ["name", "duration", "window"]), Some("duration"));
        assert_eq!(nearest("ip_hsh", ["ip_hash", "ring"]), Some("ip_hash"));
        assert_eq!(nearest("zzz", ["name", "seed"]), None);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn messages_read_without_type_names() {
        assert_eq!(
            plain("invalid type: string \"two\", expected i64"),
            "invalid type: string \"two\", expected a whole number"
        );
        assert_eq!(
            plain("unknown field `duraton`, expected one of `name`, `duration`"),
            "unknown key `duraton`: did you mean `duration`? (valid keys here: name, duration)"
        );
        // Nothing near: the reader's list stands.
        let far = "unknown field `colour`, expected one of `name`, `seed`";
        assert_eq!(plain(far), far);
    }
}
