//! One module per command. Each takes plain options (never clap's types) and returns
//! the exit code or an error.

pub mod actions;
pub mod check;
pub mod plan;
pub mod report;
pub mod run;
pub mod schedule;
pub mod schema;
pub mod sim;
