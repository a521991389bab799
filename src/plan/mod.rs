//! Time in a playbook, resolved without running anything: when each cue fires.

pub mod cue;

pub use cue::{Cue, Late};
