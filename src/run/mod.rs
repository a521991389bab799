//! The executor: runs a playbook's steps against an API client (the real service, or
//! the emulator in a rehearsal) and emits an [`Event`] for everything it does. It
//! neither prints nor writes files: displays, the journal and the reports listen to
//! its events. Preparing a run (variables, credentials, the meeting, the clock) is
//! done before it, by its callers.

mod actions;
pub(crate) mod deadline;
mod event;
mod executor;
mod feed;
pub(crate) mod gate;
pub(crate) mod interrupt;
pub(crate) mod lock;
pub(crate) mod operator;
mod retry;
mod sleep;
mod step;
#[cfg(test)]
mod tests;

pub(crate) use deadline::Deadline;
pub(crate) use event::{
    CueStatus, CueSummary, CueTiming, Event, Fanout, Listener, MeetingStart, Outcome, Place,
    Summary,
};
pub(crate) use executor::{Counts, Executor};
pub(crate) use step::StepDefaults;
pub(crate) use step::Timeline;

/// "a list", "a map"…: for messages about a value of the wrong kind.
pub(crate) fn kind_of(value: &serde_json::Value) -> &'static str {
    executor::kind(value)
}
