//! `lbsim schema`: the JSON Schema of scenario files, for editors.

use std::process::ExitCode;

use super::common::say;

pub fn main() -> ExitCode {
    say(&lbsim::scenario::schema::text());
    ExitCode::SUCCESS
}
