//! The meeting's push feed in the executor (see `run::feed`): started before the first
//! top-level step that calls the API — `events: required` stops the run there (exit 3)
//! when it cannot be opened —, its health reported around every top-level step (and by
//! the actions that look at it), and a meeting its picture shows ended taken as the
//! API's word that it has ended.

use std::sync::Arc;

use super::Executor;
use super::ended::needs_meeting;
use super::limits::interrupted_failure;
use crate::error::ExitCode;
use crate::playbook::{Body, Events, Step};
use crate::run::event::{Event, StepId};
use crate::run::feed::ended_failure;
use crate::run::step::StepFailure;
use crate::yaml::Spanned;

impl Executor<'_> {
    /// Whether and how the run uses the meeting's push feed.
    pub(crate) fn events(&mut self, mode: Events) {
        self.feed.with_mode(mode);
    }

    /// `tap` gets the state of the meeting's push feed once it is started: its picture
    /// is the roster the operator sees.
    pub(crate) fn feed_tap(
        &mut self,
        tap: tokio::sync::watch::Sender<
            Option<tokio::sync::watch::Receiver<crate::mmc::live::LiveState>>,
        >,
    ) {
        self.feed.tap(tap);
    }

    /// The top-level step `number`, the feed started first if it calls the API and the
    /// API has given a token (when it did not answer before the first step, the feed
    /// waits for a later step: its calls are the steps' to try first).
    pub(super) async fn top_level(
        &mut self,
        step: &Spanned<Step>,
        number: usize,
    ) -> Result<(), StepFailure> {
        // An operator watches the roster from the first step, whatever it is: a show
        // that opens on a cue or a wait must not leave them blind until its first call.
        let watched = self.operator.is_some();
        if self.feed.wanted()
            && self.client.connected()
            && !self.meeting_over()
            && (calls_api(step) || watched)
        {
            let clock = Arc::clone(&self.timeline.clock);
            let interrupt = Arc::clone(&self.interrupt);
            let started = tokio::select! {
                started = self.feed.start(&self.client, &clock) => started,
                () = interrupt.wait() => return Err(interrupted_failure(&interrupt)),
            };
            if let Err(why) = started {
                let message = format!(
                    "the meeting's push feed cannot be opened ({why}); `events: required` stops here. Use `events: auto` (or --events auto) to read the online list over the API instead"
                );
                self.emit(Event::MeetingUnavailable {
                    error: message.clone(),
                });
                return Err(StepFailure {
                    exit: ExitCode::Unreachable,
                    ..StepFailure::new(message)
                });
            }
        }
        self.report_feed();
        let result = self.selected(step, StepId::top_level(number), number).await;
        self.report_feed();
        result
    }

    /// Reports the feed's health changes heard since last time.
    pub(super) fn report_feed(&mut self) {
        for (at, turn) in self.feed.heard() {
            let at = self.timeline.show(at);
            self.emit(turn.event(at));
        }
    }

    /// Before `action`: the failure it ends with at once when it needs the meeting and
    /// the feed has said that the meeting ended, as an API answer saying so would.
    pub(super) fn ended_by_feed(&self, action: &str) -> Option<StepFailure> {
        (needs_meeting(action) && self.feed.ended()).then(ended_failure)
    }
}

/// Whether `step`, or any step inside it, calls the API.
fn calls_api(step: &Step) -> bool {
    match step.body() {
        Some(Body::Action { name, .. }) => name != "wait" && needs_meeting(name),
        Some(Body::Block {
            steps,
            rescue,
            always,
        }) => steps
            .iter()
            .chain(rescue)
            .chain(always)
            .any(|s| calls_api(s)),
        // Scenes are made for acting on the meeting: the feed is opened for them.
        Some(Body::Scene { .. }) => true,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::calls_api;
    use crate::playbook::Playbook;
    use crate::source::SourceFile;

    fn first_step_calls(steps: &str) -> bool {
        let text =
            format!("name: t\nmeeting: {{ id: \"914044873\", host_password: p }}\nsteps:\n{steps}");
        let playbook = Playbook::parse(SourceFile::new("p.yaml", &text)).expect("parses");
        calls_api(&playbook.doc.steps.value[0])
    }

    #[test]
    fn a_step_calls_the_api_if_an_action_in_it_does() {
        assert!(first_step_calls("  - mute: Bob\n"));
        assert!(first_step_calls("  - wait_for: { count: 2 }\n"));
        assert!(first_step_calls(
            "  - steps:\n      - log: hi\n    always:\n      - lock: {}\n"
        ));
        assert!(!first_step_calls("  - log: hi\n"));
        assert!(!first_step_calls("  - wait: 5m\n"));
        assert!(!first_step_calls("  - steps:\n      - set: { a: 1 }\n"));
    }
}
