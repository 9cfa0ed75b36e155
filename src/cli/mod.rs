//! One module per subcommand, each with its arguments and what it does with them;
//! `common` holds what they share.

pub mod anonymize;
pub mod common;
pub mod fit;
pub mod import;
pub mod merge;
pub mod plan;
pub mod policies;
pub mod replay;
pub mod report;
pub mod route;
pub mod run;
pub mod schema;
pub mod validate;
