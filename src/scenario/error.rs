//! Errors in scenario files, located: file, line, column, what was expected, and
//! the offending line with a caret under the spot.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug)]
pub enum ScenarioError {
    /// The file could not be read.
    Read { path: PathBuf, source: std::io::Error },
    /// The file says something lbsim cannot accept, at a known place.
    At {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        text: String,
    },
    /// A whole-file problem with no single place to point at.
    Whole { path: PathBuf, message: String },
    /// A command-line value, at a byte offset inside it.
    Flag {
        flag: &'static str,
        text: String,
        offset: usize,
        message: String,
    },
    /// A sweep point that the file cannot take: the keys it sets, then where
    /// in the file the problem shows.
    Point { values: String, inner: Box<ScenarioError> },
}

impl ScenarioError {
    /// An error at byte `offset` of `source`.
    pub fn at(path: &Path, source: &str, offset: usize, message: impl Into<String>) -> ScenarioError {
        let mut offset = offset.min(source.len());
        while !source.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &source[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = source[line_start..offset].chars().count() + 1;
        let text = source[line_start..].lines().next().unwrap_or("").to_string();
        ScenarioError::At {
            path: path.to_path_buf(),
            line,
            column,
            message: super::words::plain(&message.into()),
            text,
        }
    }

    pub fn whole(path: &Path, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Whole {
            path: path.to_path_buf(),
            message: super::words::plain(&message.into()),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            ScenarioError::Read { path, source } => write!(f, "{}: cannot read the scenario: {source}", path.display()),
            ScenarioError::Whole { path, message } => write!(f, "{}: {message}", path.display()),
            ScenarioError::Point { values, inner } => write!(f, "the sweep point {values} is not valid: {inner}"),
            ScenarioError::Flag {
                flag,
                text,
                offset,
                message,
            } => {
                write!(
                    f,
                    "{flag} {text:?}: {message}\n    {text}\n    {}^",
                    " ".repeat(*offset)
                )
            }
            ScenarioError::At {
                path,
                line,
                column,
                message,
                text,
            } => {
                let gutter = " ".repeat(line.to_string().len());
                write!(
                    f,
                    "{}:{line}:{column}: {message}\n{gutter} |\n{line} | {text}\n{gutter} | {}^",
                    path.display(),
                    " ".repeat(column - 1)
                )
            }
        }
    }
}

impl std::error::Error for ScenarioError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_at_line_and_column() {
        let src = "a = 1\nrate = \"-1/s\"\n";
        let e = ScenarioError::at(Path::new("x.toml"), src, 13, "negative");
        let shown = e.to_string();
        assert!(shown.starts_with("x.toml:2:8: negative"), "{shown}");
        assert!(shown.ends_with("2 | rate = \"-1/s\"\n  |        ^"), "{shown}");
    }
}
