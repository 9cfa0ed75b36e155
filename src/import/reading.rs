//! What every product reader shares: errors located in the file being read, and
//! the rule for directives that change routing and that lbsim does not model,
//! which are refused, or with `--lenient` kept as warnings.

use std::path::Path;

use super::{ImportError, Place};

/// A configuration file and its text.
#[derive(Clone, Copy)]
pub(super) struct Text<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Text<'_> {
    /// An error at byte `offset`.
    pub fn error(&self, offset: usize, message: impl Into<String>) -> ImportError {
        ImportError::at(self.path, self.text, offset, message)
    }

    pub fn place(&self, offset: usize) -> Place {
        Place::of(self.text, offset)
    }

    /// The directive at `start..end` as written, on one line: for the scenario's comments.
    pub fn said(&self, start: usize, end: usize) -> String {
        self.text[start..end].split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Refusals of what lbsim cannot model: errors, or warnings with `--lenient`.
pub(super) struct Refusals {
    pub lenient: bool,
    pub warnings: Vec<(Place, String)>,
}

impl Refusals {
    pub fn new(lenient: bool) -> Refusals {
        Refusals {
            lenient,
            warnings: Vec::new(),
        }
    }

    /// Refuses what stands at `offset` of `file`: `problem` says what lbsim does
    /// not model, `instead` what the import does without it under `--lenient`.
    pub fn refuse(&mut self, file: &Text, offset: usize, problem: &str, instead: &str) -> Result<(), ImportError> {
        if self.lenient {
            self.warnings
                .push((file.place(offset), format!("{problem}; {instead}")));
            Ok(())
        } else {
            Err(file.error(offset, format!("{problem} (with --lenient: {instead}, and a warning)")))
        }
    }
}

/// A size with an optional binary suffix (`k`, `m`, `g`), as HAProxy and nginx write them.
pub(super) fn binary_size(text: &str) -> Option<u64> {
    let (digits, scale) = match text.as_bytes().last()?.to_ascii_lowercase() {
        b'k' => (&text[..text.len() - 1], 1 << 10),
        b'm' => (&text[..text.len() - 1], 1 << 20),
        b'g' => (&text[..text.len() - 1], 1 << 30),
        _ => (text, 1),
    };
    let n: u64 = digits
        .parse()
        .ok()
        .filter(|_| digits.bytes().all(|b| b.is_ascii_digit()))?;
    n.checked_mul(scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(binary_size("200k"), Some(200 * 1024));
        assert_eq!(binary_size("1m"), Some(1 << 20));
        assert_eq!(binary_size("1000"), Some(1000));
        assert_eq!(binary_size("1x"), None);
        assert_eq!(binary_size("-1"), None);
        assert_eq!(binary_size("k"), None);
    }
}
