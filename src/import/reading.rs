//! What every product reader shares: errors located in the file being read, and
//! the rule for directives that change routing and that lbsim does not model,
//! which are refused, or with `--lenient` kept as warnings. nginx and HAProxy
//! read a [`Text`] per file (nginx follows includes) with one [`Refusals`]; the
//! YAML and ipvsadm readers read one file, a [`Source`].

use std::path::Path;

use super::{ImportError, Origin, Place};

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
        self.refuse_as(file, offset, problem.to_string(), Some(instead))
    }

    /// The one rule: a warning with `--lenient`, else an error saying what
    /// `--lenient` would do (`instead`, or import the rest).
    fn refuse_as(
        &mut self,
        file: &Text,
        offset: usize,
        problem: String,
        instead: Option<&str>,
    ) -> Result<(), ImportError> {
        match (self.lenient, instead) {
            (true, Some(instead)) => self
                .warnings
                .push((file.place(offset), format!("{problem}; {instead}"))),
            (true, None) => self.warnings.push((file.place(offset), problem)),
            (false, Some(instead)) => {
                return Err(file.error(offset, format!("{problem} (with --lenient: {instead}, and a warning)")));
            }
            (false, None) => {
                return Err(file.error(offset, format!("{problem} (--lenient imports the rest with a warning)")));
            }
        }
        Ok(())
    }
}

/// A configuration read from one file: its text, what is refused or warned
/// about, and the notes for the scenario's header.
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    refusals: Refusals,
    /// Directives that change routing and are not modelled, kept with `--lenient`.
    pub warnings: Vec<(Place, String)>,
    /// How values were read, for the scenario's header.
    pub notes: Vec<String>,
}

impl<'a> Source<'a> {
    pub fn new(path: &'a Path, text: &'a str, lenient: bool) -> Source<'a> {
        Source {
            path,
            text,
            refusals: Refusals::new(lenient),
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn file(&self) -> Text<'a> {
        Text {
            path: self.path,
            text: self.text,
        }
    }

    /// An error at byte `offset`.
    pub fn error(&self, offset: usize, message: impl Into<String>) -> ImportError {
        self.file().error(offset, message)
    }

    pub fn place(&self, offset: usize) -> Place {
        self.file().place(offset)
    }

    pub fn origin(&self, offset: usize, said: impl Into<String>) -> Origin {
        Origin {
            at: self.place(offset),
            said: said.into(),
        }
    }

    /// Something at `offset` that changes where requests go and that lbsim does not
    /// model: an error, or with `--lenient` a warning for the header.
    pub fn unsupported(&mut self, offset: usize, message: impl Into<String>) -> Result<(), ImportError> {
        let file = self.file();
        self.refusals.refuse_as(&file, offset, message.into(), None)?;
        self.warnings.append(&mut self.refusals.warnings);
        Ok(())
    }

    /// A note for the header, once.
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            self.notes.push(note);
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
