//! The executor: runs a playbook's steps against an API client (the real service, or
//! the emulator in a rehearsal) and emits an [`Event`] for everything it does. It
//! neither prints nor writes files: displays, the journal and the reports listen to
//! its events. Preparing a run (variables, credentials, the meeting, the clock) is
//! done before it, by its callers.

pub mod deadline;
mod event;
mod executor;
pub mod interrupt;
pub mod lock;
mod perform;
mod retry;
mod step;

pub use deadline::Deadline;
pub use event::{
    CueStatus, CueSummary, CueTiming, Event, Fanout, Listener, Outcome, Place, StepId, Summary,
};
pub use executor::{Counts, Executor};
pub use perform::BATCH;
pub use retry::Backoff;
pub use step::{StepDefaults, StepFailure, Timeline};

/// "a list", "a map"…: for messages about a value of the wrong kind.
pub fn kind_of(value: &serde_json::Value) -> &'static str {
    executor::kind(value)
}
