//! The configuration being read: its text and path, to place errors and origins,
//! and what the reader refuses, or with `--lenient` only warns about.

use std::path::Path;

use super::{ImportError, Origin, Place};

pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    lenient: bool,
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
            lenient,
            warnings: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// An error at byte `offset`.
    pub fn error(&self, offset: usize, message: impl Into<String>) -> ImportError {
        ImportError::at(self.path, self.text, offset, message)
    }

    pub fn place(&self, offset: usize) -> Place {
        Place::of(self.text, offset)
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
        let message = message.into();
        if !self.lenient {
            return Err(self.error(offset, format!("{message} (--lenient imports the rest with a warning)")));
        }
        let place = self.place(offset);
        self.warnings.push((place, message));
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
