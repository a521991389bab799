//! Time in a playbook, resolved without running anything: when each cue fires.

pub mod timeline;

// moved: re-export until the branches are merged
pub use crate::playbook::cue::{self, Cue, Late};
pub use timeline::{Plan, Row, When, plan};
