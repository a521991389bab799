//! One module per command. Each takes plain options (never clap's types) and returns
//! the exit code or an error.

pub(crate) mod actions;
pub(crate) mod check;
pub(crate) mod console;
pub(crate) mod cue;
pub(crate) mod plan;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod schedule;
pub mod schema;
pub(crate) mod sim;
pub(crate) mod status;
pub(crate) mod watch;
