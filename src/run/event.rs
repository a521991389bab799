//! What the executor reports as it goes. The terminal display, plain and JSON log
//! lines and (later) journals and reports all listen to these events; the executor
//! never prints.

use std::time::Duration;

use serde::Serialize;

use crate::playbook::action::LogLevel;

pub(super) use crate::playbook::step_id::StepId;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        playbook: String,
        meeting: String,
        endpoint: String,
        /// The playbook file, as given.
        file: String,
        /// SHA-256 of the playbook and every file it includes, to refuse resuming a
        /// run whose playbook changed.
        playbook_hash: String,
        /// When the run started (RFC 3339); a resumed run keeps its original start.
        started: String,
        run_id: String,
        /// Top-level steps: a step's line shows its place among them, `[3/6]`.
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
        /// Where the step is written.
        #[serde(flatten)]
        at: Place,
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
    /// The run is waiting for a moment: a cue, or a `wait`.
    Waiting {
        id: StepId,
        name: String,
        /// RFC 3339, in the playbook's time zone.
        until: String,
        #[serde(with = "millis")]
        left: Duration,
    },
    /// A cue fired, or was missed.
    Cue(CueTiming),
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
        /// When the step started and ended: RFC 3339 with milliseconds, in the
        /// playbook's time zone.
        started: String,
        finished: String,
        /// Where the step is written.
        #[serde(flatten)]
        at: Place,
    },
    /// The meeting has not started yet: the run asks again every `poll` until `until`.
    MeetingWaiting {
        /// When the run stops waiting (RFC 3339, in the playbook's time zone).
        until: String,
        #[serde(with = "millis")]
        left: Duration,
        #[serde(with = "millis")]
        poll: Duration,
    },
    /// The meeting is running; `at` is its start as the run counts it (`meeting+10m`
    /// cues): the instant the run first obtained its control token.
    MeetingStarted {
        /// RFC 3339 with milliseconds, in the playbook's time zone.
        at: String,
        how: MeetingStart,
    },
    /// The meeting cannot be used before the first step: it has not started, has
    /// ended, does not exist, or refuses the credentials; or its push feed cannot be
    /// opened under `events: required`. The run stops (exit 3).
    MeetingUnavailable {
        error: String,
    },
    /// The meeting ended while the run went on: by its own `end_meeting` (`by_run`),
    /// or otherwise, which fails the run. Steps still to come that need the meeting
    /// are skipped.
    MeetingEnded {
        /// When the run learnt of it (RFC 3339, in the playbook's time zone).
        at: String,
        /// The step it ended during: its id and name.
        during: String,
        by_run: bool,
    },
    /// The meeting's push feed is down, or could not be opened: the run reads the
    /// online list over the API (and waits poll) until it is back. Said once per
    /// episode.
    FeedDown {
        /// When the run saw it (RFC 3339, in the playbook's time zone).
        at: String,
        why: String,
    },
    /// The push feed is back after it was down. Its first opening is not said.
    FeedUp {
        at: String,
    },
    /// An operator's command, taken or refused (`ok`), from the control channel.
    Operator {
        /// When the run took it (RFC 3339 with milliseconds, in the playbook's zone).
        at: String,
        /// The local user who sent it.
        user: String,
        /// The kind of client: "cue" or "console".
        via: String,
        /// As typed: `skip 4`, `do mute "Bob Li"`.
        command: String,
        ok: bool,
        /// The reply the operator got.
        message: String,
    },
    RunFinished {
        summary: Summary,
    },
}

/// How the run found its meeting running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStart {
    /// It was running when the run first asked.
    Running,
    /// It started while the run waited for it.
    Waited,
    /// The run started it (`not_started: start`).
    StartedByRun,
    /// A resumed run: the start its journal recorded.
    Resumed,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Failed {
        error: String,
        /// `on_error: continue` let the run go on.
        continued: bool,
    },
}

/// Where a step is written: the file (the playbook, or the file it includes the step
/// from) and the line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Place {
    pub file: String,
    pub line: u32,
}

/// When a cue was meant to fire, and when it did.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CueTiming {
    pub id: StepId,
    pub name: String,
    /// The cue as written: `+15m`, `10:00:00`…
    pub cue: String,
    /// RFC 3339 with milliseconds, in the playbook's time zone.
    pub planned: String,
    pub actual: String,
    /// How late the step started; negative if early (never, in practice).
    pub late_ms: i64,
    pub status: CueStatus,
    /// The operator whose `go` fired it early, or who skipped its step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CueStatus {
    /// Within its grace.
    OnTime,
    /// Later than its grace, and run anyway (`late: run`).
    Late,
    /// Later than its grace, and skipped (`late: skip`); or skipped by an operator
    /// (`by`).
    Skipped,
    /// Later than its grace, and failed (`late: fail`).
    Missed,
    /// Fired before its time by an operator's `go`.
    Early,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub ok: u32,
    pub failed: u32,
    pub skipped: u32,
    pub retries: u32,
    pub token_renewals: u32,
    pub api_calls: u32,
    /// Milliseconds.
    #[serde(with = "millis")]
    #[schemars(with = "u64")]
    pub elapsed: Duration,
    /// Whether the run as a whole succeeded.
    pub success: bool,
    /// When the run ended (RFC 3339).
    #[serde(default)]
    pub finished: String,
    /// Every cue, planned against actual.
    pub cues: Vec<CueTiming>,
    /// The cues counted, for the summary line.
    #[serde(default)]
    pub cue_summary: CueSummary,
}

/// How the cues went: `6/6 cues on time (latest 3 ms)`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct CueSummary {
    pub total: usize,
    pub on_time: usize,
    /// Later than their grace and run anyway.
    pub late: usize,
    /// Later than their grace and skipped.
    pub skipped: usize,
    /// Later than their grace and failed.
    pub missed: usize,
    /// Fired early by an operator's `go`; absent when none was.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub early: usize,
    /// How late the latest cue that fired (on time or late) was, in milliseconds;
    /// absent when none fired.
    pub latest_ms: Option<i64>,
}

// serde hands the field by reference.
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl CueSummary {
    pub fn of(cues: &[CueTiming]) -> CueSummary {
        let count = |status| cues.iter().filter(|c| c.status == status).count();
        CueSummary {
            total: cues.len(),
            on_time: count(CueStatus::OnTime),
            late: count(CueStatus::Late),
            skipped: count(CueStatus::Skipped),
            missed: count(CueStatus::Missed),
            early: count(CueStatus::Early),
            latest_ms: cues
                .iter()
                .filter(|c| matches!(c.status, CueStatus::OnTime | CueStatus::Late))
                .map(|c| c.late_ms)
                .max(),
        }
    }
}

/// Something that wants to know what the run is doing.
pub(crate) trait Listener: Send {
    fn on(&mut self, event: &Event);
}

/// Sends every event to several listeners.
pub(crate) struct Fanout(pub(crate) Vec<Box<dyn Listener>>);

impl Listener for Fanout {
    fn on(&mut self, event: &Event) {
        for listener in &mut self.0 {
            listener.on(event);
        }
    }
}

mod millis {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        <u64 as serde::Deserialize>::deserialize(deserializer).map(Duration::from_millis)
    }
}

impl LogLevel {
    /// How a message's level is written in plain output.
    pub(crate) fn label(self) -> &'static str {
        match self {
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
        }
    }
}
