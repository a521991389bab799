//! Running a playbook: render the variables and credentials, connect (or start the
//! emulator for `--sim`), execute the steps, and summarise.

pub mod deadline;
mod event;
mod executor;
pub mod interrupt;
pub mod lock;
mod perform;
mod retry;

pub use deadline::Deadline;
pub use event::{
    CueStatus, CueSummary, CueTiming, Event, Fanout, Listener, Outcome, Place, StepId, Summary,
};
pub use executor::{Counts, Executor, StepDefaults, StepFailure, Timeline};
pub use perform::BATCH;
pub use retry::Backoff;

/// "a list", "a map"…: for messages about a value of the wrong kind.
pub fn kind_of(value: &serde_json::Value) -> &'static str {
    executor::kind(value)
}
