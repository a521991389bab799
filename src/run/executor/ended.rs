//! A meeting that ends while the run goes on: learnt from an API answer that says so
//! (never retried), or from the run's own `end_meeting`. From then on the steps still
//! to come that need the meeting (every action that calls the API, and `wait`) are
//! skipped with a note, cues are not waited for, and the run fails with its own
//! message — unless it ended the meeting itself, which is how a show ends.

use super::Executor;
use crate::playbook::Step;
use crate::playbook::catalogue::{Calls, info};
use crate::run::event::{Event, StepId};
use crate::run::step::StepFailure;
use crate::yaml::Spanned;

/// The meeting ended during the run.
#[derive(Debug, Clone)]
pub(super) struct Ended {
    /// By the run's own `end_meeting`.
    pub(super) by_run: bool,
    /// When the run learnt of it, as output shows it.
    at: String,
    /// The step it ended during: `4 (Mute all)`.
    during: String,
}

/// Whether an action needs the meeting to be running: it calls the API, or waits.
pub(super) fn needs_meeting(action: &str) -> bool {
    action == "wait" || info(action).is_none_or(|i| !matches!(i.calls, Calls::Listed([])))
}

impl Executor<'_> {
    /// Whether the meeting has ended during the run.
    pub(super) fn meeting_over(&self) -> bool {
        self.ended.is_some()
    }

    /// After an action: notes that the meeting ended, by the run's `end_meeting` (`ok`)
    /// or as the API's answer says.
    pub(super) fn note_end(
        &mut self,
        id: &StepId,
        name: &str,
        action: Option<&str>,
        outcome: Result<(), &StepFailure>,
    ) {
        if self.ended.is_some() {
            return;
        }
        let by_run = match outcome {
            Ok(()) if action == Some("end_meeting") => true,
            Err(failure) if failure.meeting_ended => false,
            _ => return,
        };
        let ended = Ended {
            by_run,
            at: self.timeline.show(self.timeline.clock.now()),
            during: format!("{id} ({name})"),
        };
        self.emit(Event::MeetingEnded {
            at: ended.at.clone(),
            during: ended.during.clone(),
            by_run,
        });
        self.ended = Some(ended);
    }

    /// Skips `step` with a note if the meeting has ended and the step needs it.
    pub(super) fn skip_ended(&mut self, step: &Spanned<Step>, id: &StepId) -> bool {
        let Some(ended) = &self.ended else {
            return false;
        };
        let needs = match step.body() {
            Some(crate::playbook::Body::Action { name, .. }) => needs_meeting(name),
            _ => false,
        };
        if !needs {
            return false;
        }
        let reason = if ended.by_run {
            "the meeting has ended (this run's end_meeting)".to_owned()
        } else {
            "the meeting has ended".to_owned()
        };
        self.counts.skipped += 1;
        let at = self.place(step);
        self.emit(Event::StepSkipped {
            id: id.clone(),
            name: step.label(),
            reason,
            at,
        });
        true
    }

    /// The run's failure once the meeting ended by other hands than its own.
    pub(super) fn ended_failure(&self) -> Option<StepFailure> {
        self.ended.as_ref().filter(|e| !e.by_run).map(|ended| {
            let time = ended.at.get(11..19).unwrap_or(&ended.at);
            StepFailure {
                meeting_ended: true,
                ..StepFailure::new(format!(
                    "the meeting has ended (learnt at {time} during step {})",
                    ended.during
                ))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::needs_meeting;

    #[test]
    fn api_actions_and_waits_need_the_meeting_local_ones_do_not() {
        for action in [
            "mute",
            "end_meeting",
            "wait_for",
            "http",
            "wait",
            "lower_all_hands",
        ] {
            assert!(needs_meeting(action), "{action}");
        }
        for action in ["log", "set", "assert"] {
            assert!(!needs_meeting(action), "{action}");
        }
    }
}
