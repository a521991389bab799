//! What a step runs with and ends with: its id and name, its retry policy and time
//! limit (which a fan-out may lengthen), the defaults it inherits, the run's timeline,
//! and why it failed.

use std::sync::Arc;
use std::time::Duration;

use super::event::StepId;
use crate::duration::Duration as Dur;
use crate::error::ExitCode;
use crate::playbook::RetrySpec;

/// Why a step failed, and what that means for the exit code.
#[derive(Debug, Clone)]
pub(crate) struct StepFailure {
    pub(crate) message: String,
    /// `Failed` (1) for a step's own failure; `Unreachable` (3) for an API failure
    /// before the API ever gave (or accepted) a token.
    pub(crate) exit: ExitCode,
    /// The API answered that a participant is not in the meeting: set from the typed
    /// error, so steps aimed at someone who just left need not read the message.
    pub(crate) participant_gone: bool,
    /// The API answered that the meeting is over (see `Failure::ends_meeting`): the run
    /// skips the steps still to come that need it.
    pub(crate) meeting_ended: bool,
}

impl StepFailure {
    pub(crate) fn new(message: impl Into<String>) -> StepFailure {
        StepFailure {
            message: message.into(),
            exit: ExitCode::Failed,
            participant_gone: false,
            meeting_ended: false,
        }
    }
}

/// Settings every step inherits unless it sets its own.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StepDefaults {
    pub retry: RetrySpec,
    pub timeout: Dur,
}

/// The run's time: its clock, when it started (for `+15m` cues), when the meeting
/// started (for `meeting+15m` cues; known once the run has its token), and the time
/// zone wall-clock cues are read in.
#[derive(Debug, Clone)]
pub(crate) struct Timeline {
    pub(crate) clock: crate::clock::SharedClock,
    pub(crate) start: jiff::Timestamp,
    pub(crate) meeting_start: Option<jiff::Timestamp>,
    pub(crate) zone: jiff::tz::TimeZone,
}

impl Timeline {
    /// The instant `cue` stands for in this run; `first_token` is the meeting's start
    /// when the lifecycle gate could not tell it (the API did not answer then).
    pub(crate) fn resolve(
        &self,
        cue: &crate::playbook::cue::Cue,
        first_token: Option<jiff::Timestamp>,
    ) -> Result<jiff::Timestamp, String> {
        cue.resolve_in(self.start, self.meeting_start.or(first_token), &self.zone)
    }

    /// An instant as output shows it: RFC 3339 with milliseconds in the playbook's zone.
    pub(crate) fn show(&self, at: jiff::Timestamp) -> String {
        crate::determinism::varying(at)
            .to_zoned(self.zone.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    }
}

/// What one step runs with, for actions to report against.
pub(crate) struct StepCtx {
    pub(crate) id: StepId,
    pub(crate) name: String,
    pub(crate) retry: RetrySpec,
    pub(crate) retries: u32,
    /// The step's time limit (a longer `Retry-After` is not waited for), which a fan-out may raise once it knows how many calls it
    /// makes; shared with the executor's timer.
    pub(crate) limit: StepLimit,
    /// Where a wait had got to when a scene an operator queued paused it.
    pub(crate) paused: Option<Paused>,
}

/// A wait paused by an operator's scene: it goes on, once the scene has played, until
/// `until` — which a `wait: DURATION` moves on by the scene's length (the time it had
/// left), and a `wait: until` or `wait_for` keeps (its instant, its deadline).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Paused {
    pub(crate) until: jiff::Timestamp,
    /// When the wait first started.
    pub(crate) started: jiff::Timestamp,
    pub(crate) extend: bool,
}

/// A step's time limit: when it runs out, how long it is, and whether it is inherited
/// (only an inherited limit grows with a fan-out; a step's own `timeout` is kept).
#[derive(Debug, Clone, Default)]
pub(crate) struct StepLimit(Arc<std::sync::Mutex<Option<Limit>>>);

#[derive(Debug, Clone, Copy)]
pub(super) struct Limit {
    at: tokio::time::Instant,
    length: Dur,
    /// How much a fan-out added.
    added: Duration,
    default: bool,
}

impl Limit {
    /// The whole limit, as messages say it.
    pub(super) fn shown(&self) -> String {
        if self.added.is_zero() {
            self.length.to_string()
        } else {
            crate::duration::human(self.length.std() + self.added)
        }
    }
}

impl StepLimit {
    pub(super) fn new(length: Option<Dur>, default: bool) -> StepLimit {
        StepLimit(Arc::new(std::sync::Mutex::new(length.map(|length| {
            Limit {
                at: tokio::time::Instant::now() + length.std(),
                length,
                added: Duration::ZERO,
                default,
            }
        }))))
    }

    pub(super) fn get(&self) -> Option<Limit> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lengthens a default limit by `by`: the time `by` calls take at the rate limit.
    pub(crate) fn extend_default(&self, by: Duration) -> bool {
        let mut limit = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match limit.as_mut() {
            Some(limit) if limit.default && !by.is_zero() => {
                limit.at += by;
                limit.added += by;
                true
            }
            _ => false,
        }
    }

    /// How long the step may take in all, if it has a limit.
    pub(crate) fn length(&self) -> Option<Duration> {
        self.get().map(|l| l.length.std() + l.added)
    }

    /// When the limit runs out now, if there is one.
    pub(crate) fn at(&self) -> Option<tokio::time::Instant> {
        self.get().map(|l| l.at)
    }
}
