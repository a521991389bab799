//! emcee runs meeting choreography against Huawei Cloud Meeting's meeting-control API,
//! and ships an emulator of that API for rehearsal and tests.
//!
//! The library exists for the binary, the integration tests and the benchmarks: only
//! what they use is public, so that the compiler can tell what nothing else needs.

pub mod cli;
mod clock;
pub mod commands;
mod console;
mod control;
mod determinism;
mod duration;
mod error;
mod meeting;
mod mmc;
mod node;
mod output;
mod plan;
pub mod playbook;
mod printable;
pub mod report;
mod run;
pub mod schedule;
mod secrets;
mod session;
mod signals;
pub mod sim;
pub mod source;
mod template;
mod yaml;
