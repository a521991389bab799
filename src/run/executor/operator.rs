//! Where the executor meets the operator (see `run/operator.rs`): before a step starts
//! (hold, skip, a pending `go`, scenes and `do` queued to play), during a cue's
//! countdown (which `go` ends, `skip` ends with the step skipped, and a scene pauses),
//! and the commands' events, emitted at each of these points.

use std::sync::Arc;

use super::Executor;
use crate::run::event::{Event, StepId};
use crate::run::operator::{Operator, Play, Queued};
use crate::run::step::StepFailure;

/// How a cue's countdown ended.
pub(super) enum Countdown {
    /// The cue's moment came.
    Reached,
    /// The feed said the meeting ended.
    Ended,
    /// An operator's `go` ended it: the cue fires now.
    Go(String),
    /// An operator skipped the step.
    Skipped(String),
    /// The run was interrupted (a signal, an operator's `abort`).
    Interrupted,
}

impl Executor<'_> {
    /// Takes commands from `operator` for the rest of the run.
    pub(crate) fn operator(&mut self, operator: Arc<Operator>) {
        operator.clock(Arc::clone(&self.timeline.clock));
        operator.vars(self.vars.names().cloned());
        self.operator = Some(operator);
    }

    /// Emits the commands taken or refused since the last look.
    pub(super) fn operator_events(&mut self) {
        let Some(operator) = self.operator.clone() else {
            return;
        };
        for record in operator.take_records() {
            self.emit(record.event(&self.timeline));
        }
    }

    /// Before a step of `steps:` starts: emits the commands taken, plays what is
    /// queued, and, when `hold` (the step has no cue, or its countdown is over), waits
    /// while the run is held. `Some(user)` when that user skipped the step meanwhile.
    /// Steps played by an operator are neither held nor skipped.
    pub(super) async fn operator_gate(&mut self, id: &StepId, hold: bool) -> Option<String> {
        let operator = self.operator.clone()?;
        if self.playing > 0 {
            self.operator_events();
            return None;
        }
        loop {
            let changed = operator.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            self.operator_events();
            if operator.has_queued() {
                self.play_queued().await;
                continue;
            }
            if let Some(user) = operator.take_skip(id) {
                return Some(user);
            }
            // Once interrupted, only `always` steps start, and nothing holds them.
            if !hold || self.interrupt.received().is_some() || operator.may_start() {
                return None;
            }
            // Held past the run's deadline: the step stops as any would.
            if self.in_always == 0 && self.past_deadline().is_some() {
                return None;
            }
            let interrupt = Arc::clone(&self.interrupt);
            let deadline = self
                .deadline
                .as_ref()
                .filter(|_| self.in_always == 0)
                .map(|d| self.timeline.clock.reached(d.at));
            tokio::select! {
                () = &mut changed => {}
                () = interrupt.wait() => {}
                () = async { deadline.expect("guarded").await }, if deadline.is_some() => {}
            }
        }
    }

    /// Counts down to `at` for the step `id`; commands end it early.
    pub(super) async fn count_down(&mut self, at: jiff::Timestamp, id: &StepId) -> Countdown {
        let interrupt = Arc::clone(&self.interrupt);
        let stoppable = self.in_always == 0;
        let Some(operator) = self.operator.clone().filter(|_| self.playing == 0) else {
            return tokio::select! {
                reached = self.sleep_until(at) => if reached { Countdown::Reached } else { Countdown::Ended },
                () = interrupt.wait(), if stoppable => Countdown::Interrupted,
            };
        };
        let _waiting = operator.wait_point(false);
        loop {
            let changed = operator.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            self.operator_events();
            if operator.has_queued() {
                // A scene plays now; the cue keeps its moment.
                self.play_queued().await;
                continue;
            }
            if let Some(user) = operator.take_skip(id) {
                return Countdown::Skipped(user);
            }
            if let Some(user) = operator.take_go(false) {
                return Countdown::Go(user);
            }
            if stoppable && interrupt.received().is_some() {
                return Countdown::Interrupted;
            }
            tokio::select! {
                reached = self.sleep_until(at) => {
                    return if reached { Countdown::Reached } else { Countdown::Ended };
                }
                () = &mut changed => {}
                () = interrupt.wait(), if stoppable => return Countdown::Interrupted,
            }
        }
    }

    /// Plays every scene and `do` queued, in order. A failing one is reported as a
    /// failed step and does not fail the run.
    pub(super) async fn play_queued(&mut self) {
        let Some(operator) = self.operator.clone() else {
            return;
        };
        while let Some(queued) = operator.take_queued() {
            // A run being stopped starts nothing more, not even what was asked for.
            if let Some(why) = self.stopping() {
                self.not_played(&queued, &why);
                continue;
            }
            self.playing += 1;
            let result = self.play(&queued).await;
            self.playing -= 1;
            if let Err(failure) = result {
                self.emit(Event::Message {
                    id: StepId::run(),
                    level: crate::playbook::action::LogLevel::Warn,
                    text: format!(
                        "op{} (by {}) failed: {}; what an operator plays does not fail the run",
                        queued.number, queued.user, failure.message
                    ),
                });
            }
            self.operator_events();
        }
    }

    /// The end of the steps: what an operator asked for and the run has not played
    /// yet plays now (unless the run is being stopped), and later commands are refused.
    pub(super) async fn operator_end(&mut self) {
        let Some(operator) = self.operator.clone() else {
            return;
        };
        self.play_queued().await;
        operator.close();
        // Anything taken while the last of them played.
        self.play_queued().await;
        self.operator_events();
    }

    /// Why nothing more may start: the run was interrupted or is past its deadline.
    fn stopping(&self) -> Option<String> {
        if let Some(origin) = self.interrupt.received() {
            return Some(format!("the run was interrupted by {origin}"));
        }
        self.past_deadline()
            .map(|_| "the run is past its deadline".to_owned())
    }

    /// What an operator asked for and the run will not play: reported as skipped.
    fn not_played(&mut self, queued: &Queued, why: &str) {
        self.counts.skipped += 1;
        let name = match &queued.what {
            Play::Scene(name) => format!("scene {name}"),
            Play::Do { action, .. } => format!("do {action}"),
        };
        self.emit(Event::StepSkipped {
            id: StepId::operator(queued.number),
            name,
            reason: format!("asked for by {}, not played: {why}", queued.user),
            at: crate::run::Place::default(),
        });
    }

    async fn play(&mut self, queued: &Queued) -> Result<(), StepFailure> {
        let id = StepId::operator(queued.number);
        match &queued.what {
            Play::Scene(name) => self.play_scene(name, id).await,
            Play::Do {
                action,
                selector,
                participant,
            } => {
                // Checked when it was taken; built again here, where it runs.
                let (file, mut step) = crate::playbook::adhoc::one_off(
                    action,
                    selector.as_deref(),
                    participant.as_deref(),
                    None,
                )
                .map_err(StepFailure::new)?;
                // Its failure is reported, and the show goes on.
                step.value.on_error = crate::playbook::OnError::Continue;
                self.play_step(file, &step, id).await
            }
        }
    }

    /// A step an operator skipped: reported, and counted as skipped.
    pub(super) fn skipped_by_operator(
        &mut self,
        step: &crate::yaml::Spanned<crate::playbook::Step>,
        id: StepId,
        name: String,
        user: &str,
    ) {
        // A step with a cue takes it along: the cue is counted, as skipped by them.
        if step.at.is_some() && !self.meeting_over() {
            self.cue_skipped_by(step, &id, &name, user);
        }
        self.counts.skipped += 1;
        let at = self.place(step);
        self.emit(Event::StepSkipped {
            id,
            name,
            reason: format!("skipped by {user}"),
            at,
        });
    }
}
