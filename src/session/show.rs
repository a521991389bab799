//! The show as an operator sees it, built from the run's events: the top-level steps
//! with their cues and outcomes, what the run is doing now, the next cue, the meeting's
//! state and the last lines of the log. [`Show`] is the pure part (events in, a
//! [`ShowState`] out); the session adds the clock, the roster and whether the run is
//! held, and publishes it for the control channel (see `session::control`).

use std::collections::VecDeque;
use std::sync::Arc;

use jiff::Timestamp;

use crate::control::protocol::{
    Current, LogLine, MeetingView, NextCue, RunInfo, ShowState, StepState, StepView,
};
use crate::playbook::action::LogLevel;
use crate::playbook::step_id::StepId;
use crate::run::{Event, Outcome};
use crate::secrets::Secrets;

/// How many lines of the log a state carries.
pub(crate) const LOG_LINES: usize = 200;

/// The longest log line kept, in characters: far wider than any screen, and short
/// enough that [`LOG_LINES`] of them keep every state a client is sent small, whatever
/// a playbook logs or an API answers.
const LOG_LINE_CHARS: usize = 1000;

/// The milliseconds from `at` to `until`, none once it has passed.
fn millis_left(at: Timestamp, until: Timestamp) -> u64 {
    u64::try_from(until.duration_since(at).as_millis().max(0)).unwrap_or(u64::MAX)
}

/// `text` cut to at most `limit` characters, the cut marked with "…".
fn clipped(text: String, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some(_) => {
            let end = text
                .char_indices()
                .nth(limit - 1)
                .map_or(text.len(), |(at, _)| at);
            format!("{}…", &text[..end])
        }
        None => text,
    }
}

/// What the events have told of the show so far.
pub(crate) struct Show {
    pub run: Option<RunInfo>,
    steps: Vec<StepView>,
    /// When each top-level step's cue is planned, as an instant, for the countdown.
    planned: Vec<Option<Timestamp>>,
    /// The steps running now, outermost first: id and name.
    running: Vec<(StepId, String)>,
    /// A wait or countdown under way.
    waiting: Option<Wait>,
    /// The wait or countdown an operator's scene or `do` interrupted, which goes on
    /// when it has played.
    paused: Option<Wait>,
    meeting: String,
    feed: String,
    log: VecDeque<LogLine>,
    cues: usize,
    pub finished: Option<String>,
    pub scenes: Vec<String>,
    pub panic_scene: Option<String>,
    secrets: Arc<Secrets>,
}

/// A wait or countdown under way.
struct Wait {
    id: String,
    name: String,
    doing: &'static str,
    until: Timestamp,
    /// `until` as output shows it.
    shown: String,
}

/// A top-level step as the show starts with it.
pub(crate) struct PlannedStep {
    pub id: String,
    pub name: String,
    /// Its cue, when the run can tell it before it comes.
    pub planned: Option<(Timestamp, String)>,
}

impl Show {
    pub(crate) fn new(steps: Vec<PlannedStep>, secrets: Arc<Secrets>) -> Show {
        let planned = steps
            .iter()
            .map(|step| step.planned.as_ref().map(|(at, _)| *at))
            .collect();
        let steps = steps
            .into_iter()
            .map(|step| StepView {
                id: step.id,
                name: step.name,
                planned: step.planned.map(|(_, text)| text),
                started: None,
                finished: None,
                state: StepState::Pending,
            })
            .collect();
        Show {
            run: None,
            steps,
            planned,
            running: Vec::new(),
            waiting: None,
            paused: None,
            meeting: "unknown".into(),
            feed: "off".into(),
            log: VecDeque::new(),
            cues: 0,
            finished: None,
            scenes: Vec::new(),
            panic_scene: None,
            secrets,
        }
    }

    /// The top-level step `id` is cued at `at` (`shown` as output shows it), now that
    /// the run can tell; a cue already known stays.
    pub(crate) fn plan(&mut self, id: &str, at: Timestamp, shown: String) {
        if let Some(index) = self.step(id)
            && self.planned[index].is_none()
        {
            self.planned[index] = Some(at);
            self.steps[index].planned = Some(shown);
        }
    }

    fn step(&mut self, id: &str) -> Option<usize> {
        self.steps.iter().position(|step| step.id == id)
    }

    /// Takes one event of the run, at `at` on the run's clock (`now` as output shows
    /// it). Instants are counted from `at` and the waits' lengths, not read back from
    /// the events' text, which a deterministic run blanks.
    pub(crate) fn apply(&mut self, event: &Event, at: Timestamp, now: &str) {
        let after = |left: &std::time::Duration| {
            jiff::SignedDuration::try_from(*left)
                .ok()
                .and_then(|left| at.checked_add(left).ok())
                .unwrap_or(Timestamp::MAX)
        };
        if let Event::RunStarted { steps, .. } = event {
            self.cues = *steps;
        }
        self.log_line(event, now);
        match event {
            Event::MeetingWaiting { until, left, .. } => {
                self.meeting = "not started".into();
                self.waiting = Some(Wait {
                    id: String::new(),
                    name: "the meeting".into(),
                    doing: "waiting for the meeting to start",
                    until: after(left),
                    shown: until.clone(),
                });
            }
            Event::MeetingStarted { .. } => {
                self.meeting = "running".into();
                self.waiting = None;
            }
            Event::MeetingEnded { .. } => self.meeting = "ended".into(),
            Event::MeetingUnavailable { .. } => {
                self.meeting = "unavailable".into();
                self.waiting = None;
            }
            Event::FeedDown { .. } => self.feed = "down".into(),
            Event::FeedUp { .. } => self.feed = "up".into(),
            Event::Waiting {
                id,
                name,
                until,
                left,
            } => {
                let cue = !self.running.iter().any(|(running, _)| running == id);
                let id = id.to_string();
                let mut at = after(left);
                let doing = if cue {
                    "waiting for its cue"
                } else {
                    "waiting"
                };
                if let Some(index) = self.step(&id).filter(|_| cue) {
                    self.steps[index].state = StepState::Waiting;
                    self.steps[index].planned = Some(until.clone());
                    // The cue as planned, when the playbook told it, is the instant
                    // itself; a wait's length is rounded, or blanked in tests.
                    at = *self.planned[index].get_or_insert(at);
                }
                self.waiting = Some(Wait {
                    id,
                    name: name.clone(),
                    doing,
                    until: at,
                    shown: until.clone(),
                });
            }
            Event::Cue(timing) => {
                let id = timing.id.to_string();
                if let Some(index) = self.step(&id) {
                    self.steps[index].planned = Some(timing.planned.clone());
                }
                self.waiting = None;
            }
            Event::StepStarted { id, name, .. } => {
                // What an operator plays comes between: the wait it interrupted is
                // kept, to go on with once it has played.
                if id.is_operator() && self.paused.is_none() {
                    self.paused = self.waiting.take();
                }
                if let Some(index) = self.step(&id.to_string()) {
                    self.steps[index].state = StepState::Running;
                    self.steps[index].started = Some(now.to_owned());
                }
                self.running.push((id.clone(), name.clone()));
                self.waiting = None;
            }
            Event::StepSkipped { id, .. } => {
                if let Some(index) = self.step(&id.to_string()) {
                    self.steps[index].state = StepState::Skipped;
                }
            }
            Event::StepFinished {
                id,
                outcome,
                started,
                finished,
                ..
            } => {
                if let Some(index) = self.step(&id.to_string()) {
                    let step = &mut self.steps[index];
                    step.state = match outcome {
                        Outcome::Ok => StepState::Ok,
                        Outcome::Failed { .. } => StepState::Failed,
                    };
                    step.started = Some(started.clone());
                    step.finished = Some(finished.clone());
                }
                if let Some(at) = self.running.iter().rposition(|(r, _)| r == id) {
                    self.running.truncate(at);
                }
                self.waiting = None;
                let playing = self.running.iter().any(|(r, _)| r.is_operator());
                if id.is_operator() && !playing {
                    self.waiting = self.paused.take();
                }
            }
            Event::RunFinished { summary } => {
                self.running.clear();
                self.waiting = None;
                self.finished
                    .get_or_insert_with(|| if summary.success { "ok" } else { "failed" }.into());
            }
            _ => {}
        }
    }

    /// The line the plain display shows for the event, secrets masked and made
    /// printable, kept among the last [`LOG_LINES`].
    fn log_line(&mut self, event: &Event, now: &str) {
        let timings = !crate::determinism::deterministic();
        let Some(text) = crate::report::describe(event, self.cues, timings) else {
            return;
        };
        let text = crate::printable::printable(&self.secrets.redact(&text)).into_owned();
        let text = clipped(text, LOG_LINE_CHARS);
        let level = match event {
            Event::Operator { .. } => "operator",
            Event::Message {
                level: LogLevel::Warn,
                ..
            }
            | Event::Retry { .. }
            | Event::FeedDown { .. } => "warn",
            _ if crate::report::is_error(event) => "error",
            Event::MeetingUnavailable { .. } => "error",
            Event::MeetingEnded { by_run: false, .. } => "error",
            _ => "info",
        };
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(LogLine {
            at: now.to_owned(),
            level: level.into(),
            text,
        });
    }

    /// The next cue to come after `at`, but not one of a step in `skipping` (an
    /// operator asked for it to be skipped when the run reaches it).
    pub(crate) fn next_cue(&self, at: Timestamp, skipping: &[String]) -> Option<NextCue> {
        self.steps
            .iter()
            .zip(&self.planned)
            .find(|(step, planned)| {
                matches!(step.state, StepState::Pending | StepState::Waiting)
                    && planned.is_some_and(|p| p >= at)
                    && !skipping.contains(&step.id)
            })
            .and_then(|(step, planned)| {
                Some(NextCue {
                    id: step.id.clone(),
                    name: step.name.clone(),
                    at: step.planned.clone()?,
                    left_ms: millis_left(at, (*planned)?),
                })
            })
    }

    /// The show at `at` (shown as `now`), without the roster and the feed's picture;
    /// `skipping` as for [`Show::next_cue`].
    pub(crate) fn state(&self, at: Timestamp, now: &str, skipping: &[String]) -> ShowState {
        let current = match (&self.waiting, self.running.last()) {
            (Some(wait), _) => Some(Current {
                id: wait.id.clone(),
                name: wait.name.clone(),
                doing: wait.doing.to_owned(),
                until: Some(wait.shown.clone()),
                left_ms: Some(millis_left(at, wait.until)),
            }),
            (None, Some((id, name))) => Some(Current {
                id: id.to_string(),
                name: name.clone(),
                doing: "running".into(),
                until: None,
                left_ms: None,
            }),
            (None, None) => None,
        };
        let next_cue = self.next_cue(at, skipping);
        ShowState {
            run: self.run.clone(),
            now: now.to_owned(),
            held: false,
            steps: self.steps.clone(),
            current,
            next_cue,
            meeting: MeetingView {
                state: self.meeting.clone(),
                feed: self.feed.clone(),
                ..MeetingView::default()
            },
            roster: Vec::new(),
            scenes: self.scenes.clone(),
            panic_scene: self.panic_scene.clone(),
            log: self.log.iter().cloned().collect(),
            finished: self.finished.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
