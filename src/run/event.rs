//! What the executor reports as it goes. The terminal display, plain and JSON log
//! lines and (later) journals and reports all listen to these events; the executor
//! never prints.

use std::time::Duration;

use serde::Serialize;

use crate::playbook::action::LogLevel;

/// Where a step sits: `3`, `3.2`, `3.2#1` (the first item of a loop).
pub type StepId = String;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        playbook: String,
        meeting: String,
        endpoint: String,
        /// Top-level steps (cues).
        steps: usize,
    },
    StepStarted {
        id: StepId,
        name: String,
        action: Option<&'static str>,
        /// Position among the top-level steps, from 1.
        cue: usize,
    },
    StepSkipped {
        id: StepId,
        name: String,
        reason: String,
    },
    Retry {
        id: StepId,
        name: String,
        /// The attempt about to be made, from 2.
        attempt: u32,
        attempts: u32,
        #[serde(with = "millis")]
        delay: Duration,
        reason: String,
    },
    Progress {
        id: StepId,
        name: String,
        what: &'static str,
        done: usize,
        total: usize,
    },
    Message {
        id: StepId,
        level: LogLevel,
        text: String,
    },
    StepFinished {
        id: StepId,
        name: String,
        action: Option<&'static str>,
        cue: usize,
        outcome: Outcome,
        #[serde(with = "millis")]
        elapsed: Duration,
        retries: u32,
        /// What the step did, for the step's line: `lowered 12 hands`.
        detail: Option<String>,
    },
    RunFinished {
        summary: Summary,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed {
        error: String,
        /// `on_error: continue` let the run go on.
        continued: bool,
    },
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub ok: u32,
    pub failed: u32,
    pub skipped: u32,
    pub retries: u32,
    pub token_renewals: u32,
    pub api_calls: u32,
    #[serde(with = "millis")]
    pub elapsed: Duration,
    /// Whether the run as a whole succeeded.
    pub success: bool,
}

/// Something that wants to know what the run is doing.
pub trait Listener: Send {
    fn on(&mut self, event: &Event);
}

/// Sends every event to several listeners.
pub struct Fanout(pub Vec<Box<dyn Listener>>);

impl Listener for Fanout {
    fn on(&mut self, event: &Event) {
        for listener in &mut self.0 {
            listener.on(event);
        }
    }
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }
}
