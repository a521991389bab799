//! emcee runs meeting choreography against Huawei Cloud Meeting's meeting-control API,
//! and ships an emulator of that API for rehearsal and tests.

pub mod cli;
pub mod clock;
pub mod commands;
pub mod determinism;
pub mod duration;
pub mod error;
pub mod meeting;
pub mod mmc;
pub mod node;
pub mod output;
pub mod plan;
pub mod playbook;
pub mod printable;
pub mod report;
pub mod run;
pub mod schedule;
pub mod secrets;
pub mod session;
pub mod signals;
pub mod sim;
pub mod source;
pub mod template;
pub mod yaml;
