//! Time in a playbook, resolved without running anything: when each cue fires.

pub mod cue;
pub mod timeline;

pub use cue::{Cue, Late};
pub use timeline::{Plan, Row, When, plan};
