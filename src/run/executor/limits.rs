//! A step's action under its time limit: the limit a fan-out may lengthen, and the
//! interrupt and the run's deadline, which stop the action where it is (except in
//! `always`).

use super::Executor;
use crate::error::ExitCode;
use crate::node::Node;
use crate::playbook::Step;
use crate::run::actions::{self, ActionResult, Room, Sink};
use crate::run::interrupt::Interrupt;
use crate::run::step::{StepCtx, StepFailure, StepLimit};
use crate::yaml::Spanned;

impl Executor<'_> {
    /// Performs the action `action_name` of `step` with `ctx`, in a room of its own:
    /// the few things of the run an action may use.
    pub(super) async fn act(
        &mut self,
        step: &Spanned<Step>,
        action_name: &'static str,
        args: &Spanned<Node>,
        ctx: &mut StepCtx,
    ) -> ActionResult {
        if let Some(failure) = self.ended_by_feed(action_name) {
            return Err(failure);
        }
        // The default time limit is for the API; a `wait` is as long as it says,
        // unless the step itself sets a limit.
        let timeout = match (&step.timeout, action_name) {
            (Some(timeout), _) => Some(timeout.value),
            (None, "wait" | "wait_for") => None,
            (None, _) => Some(self.defaults.timeout),
        };
        // Only an inherited limit grows with a fan-out: a step's own `timeout`
        // is the limit someone chose for it.
        let default = step.timeout.is_none();
        ctx.limit = StepLimit::new(timeout, default);
        let limit = ctx.limit.clone();
        let interrupt = std::sync::Arc::clone(&self.interrupt);
        let stoppable = self.in_always == 0;
        let deadline = self.deadline.clone().filter(|_| stoppable);
        let reached = deadline.as_ref().map(|d| self.timeline.clock.reached(d.at));
        tokio::pin!(reached);
        let calls_before = self.client.calls();
        // A `go` ends any wait, an operator's own too: it is what the run waits on.
        let operator = self.operator.clone();
        let waits = matches!(action_name, "wait" | "wait_for");
        let _waiting = operator
            .as_deref()
            .filter(|_| waits)
            .map(|o| o.wait_point(self.playing > 0));
        // What an operator plays meanwhile (a scene during a countdown) spends none.
        if !waits
            && self.playing == 0
            && let Some(operator) = &operator
        {
            operator.spend_go();
        }
        // A scene queued during a wait plays now: the wait stops, and then goes on
        // from where it was (see `Paused`). Not a wait an operator played: the scene
        // comes after it, in the order they were asked for.
        let pausable = operator.clone().filter(|_| waits && self.playing == 0);
        loop {
            let work = async {
                let finished = {
                    let mut room = Room::new(
                        &self.client,
                        self.engine,
                        &mut self.vars,
                        &self.timeline,
                        &self.file,
                        Sink::new(
                            &mut *self.listener,
                            &mut self.counts.retries,
                            &mut self.feed,
                        )
                        .operator(operator.as_deref(), self.playing > 0),
                        ctx,
                    );
                    let perform = actions::perform(&mut room, action_name, args);
                    if limit.at().is_none() {
                        return perform.await;
                    }
                    tokio::pin!(perform);
                    loop {
                        let at = limit.at().expect("a limit");
                        tokio::select! {
                            result = &mut perform => break Some(result),
                            () = tokio::time::sleep_until(at) => {
                                // A fan-out may have lengthened the limit meanwhile.
                                if limit.at().is_some_and(|later| later > at) {
                                    continue;
                                }
                                break None;
                            }
                        }
                    }
                };
                match finished {
                    Some(result) => result,
                    None => {
                        let length = limit
                            .get()
                            .map_or_else(|| self.defaults.timeout.to_string(), |l| l.shown());
                        Err(self.timed_out(&length, calls_before))
                    }
                }
            };
            // An interrupt or the deadline stops the step where it is, except in
            // `always`. Both are looked at before the step goes on: a step that
            // never waits must still be stoppable, and a virtual wait stopped at the
            // deadline must not be carried on.
            let paused = tokio::select! {
                biased;
                () = async { reached.as_mut().as_pin_mut().expect("guarded").await }, if deadline.is_some() => {
                    return Err(deadline.as_ref().expect("guarded").failure());
                }
                _ = interrupt.wait(), if stoppable => return Err(interrupted_failure(&interrupt)),
                () = async { pausable.as_deref().expect("guarded").queued().await }, if pausable.is_some() => true,
                result = work => return result,
            };
            if paused {
                let before = self.timeline.clock.now();
                self.play_queued().await;
                let played = self.timeline.clock.now().duration_since(before);
                if let Some(paused) = &mut ctx.paused
                    && paused.extend
                {
                    paused.until = paused.until.saturating_add(played).unwrap_or(paused.until);
                }
            }
        }
    }

    /// A step out of time. Out of time while calling an API that has never given a
    /// token means the API cannot be used (exit 3), like any other failure then.
    fn timed_out(&self, limit: &str, calls_before: u32) -> StepFailure {
        let calling = self.client.calls() > calls_before;
        if calling && !self.client.connected() {
            StepFailure {
                exit: ExitCode::Unreachable,
                ..StepFailure::new(format!(
                    "timed out after {limit} without a usable answer from the API"
                ))
            }
        } else {
            StepFailure::new(format!("timed out after {limit}"))
        }
    }
}

/// The failure an interrupt (SIGINT, SIGTERM, an operator's abort) stops the run with.
pub(super) fn interrupted_failure(interrupt: &Interrupt) -> StepFailure {
    let origin = interrupt
        .received()
        .unwrap_or(crate::run::interrupt::Origin::Signal(
            crate::signals::Received::Interrupt,
        ));
    StepFailure {
        message: format!("interrupted by {origin}"),
        exit: origin.exit_code(),
        participant_gone: false,
        meeting_ended: false,
    }
}
