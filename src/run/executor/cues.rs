//! Cues: waiting for the moment a step is due (renewing the token on the way, and
//! stopping at the run's deadline), and judging a late one by its `late` policy.

use super::Executor;
use super::operator::Countdown;
use crate::playbook::Step;
use crate::playbook::cue::Late;
use crate::run::event::{CueStatus, CueTiming, Event, StepId};
use crate::run::feed::until_ended;
use crate::run::sleep::sleep_keeping_token;
use crate::run::step::StepFailure;
use crate::yaml::Spanned;

impl Executor<'_> {
    /// Waits for a step's cue. `Ok(false)` when a late cue is skipped.
    pub(super) async fn cue(
        &mut self,
        step: &Spanned<Step>,
        id: &StepId,
    ) -> Result<bool, StepFailure> {
        let Some(at) = &step.at else { return Ok(true) };
        // Counted from the meeting's start, which the first token tells when the
        // lifecycle gate got no answer.
        if at.is_meeting() && self.timeline.meeting_start.is_none() {
            let _ = self.client.connect().await;
        }
        let planned = self
            .timeline
            .resolve(at, self.client.first_token())
            .map_err(|e| {
                StepFailure::new(format!("{}: cue {}: {e}", self.position(at.pos), at.value))
            })?;
        let grace = step
            .grace
            .as_ref()
            .map_or(crate::playbook::step::DEFAULT_GRACE, |g| g.value);
        let policy = step.late.as_ref().map_or(Late::Run, |l| l.value);
        // A cue fires before any loop item exists: what cannot be rendered yet shows as `…`.
        let mark = self.engine.secrets().uses();
        let name = match &step.name {
            Some(name) => match self.engine.render_string(name, &self.vars) {
                Ok(_) if self.engine.secrets().uses() != mark => crate::secrets::MASK.to_owned(),
                Ok(name) => name,
                Err(_) => elide_templates(&name.value),
            },
            None => step.label(),
        };
        let now = self.timeline.clock.now();
        let deadline = planned
            .checked_add(grace.signed())
            .unwrap_or(jiff::Timestamp::MAX);
        let timing = |this: &Self, actual: jiff::Timestamp, status| CueTiming {
            id: id.clone(),
            name: name.clone(),
            cue: at.value.to_string(),
            planned: this.timeline.show(planned),
            actual: this.timeline.show(actual),
            late_ms: crate::determinism::varying(
                i64::try_from(actual.duration_since(planned).as_millis()).unwrap_or(i64::MAX),
            ),
            status,
            by: None,
        };
        if now < planned {
            self.emit(Event::Waiting {
                id: id.clone(),
                name: name.clone(),
                until: self.timeline.show(planned),
                left: crate::determinism::varying(planned.duration_since(now).unsigned_abs()),
            });
            // Log in before the cue, so that the first call at the cue is not held up by
            // it; a failure here is reported by the step itself.
            let _ = self.client.connect().await;
            // A cue after the deadline is waited for only until the deadline.
            let stop = self
                .deadline
                .as_ref()
                .filter(|_| self.in_always == 0)
                .map(|d| d.at);
            match self
                .count_down(stop.map_or(planned, |s| s.min(planned)), id)
                .await
            {
                Countdown::Reached => {}
                Countdown::Ended => {
                    // The feed said the meeting ended: the cue is not waited for any
                    // more, and the step learns it now, as from an API answer.
                    let failure = crate::run::feed::ended_failure();
                    self.note_end(id, &name, None, Err(&failure));
                    return Err(failure);
                }
                Countdown::Interrupted => {
                    return Err(super::limits::interrupted_failure(&self.interrupt));
                }
                Countdown::Skipped(user) => {
                    self.skipped_by_operator(step, id.clone(), name, &user);
                    return Ok(false);
                }
                Countdown::Go(user) => {
                    // Fired early by the operator: recorded so, and the step starts
                    // now (held, it may still; the `go` lets it).
                    let cue = CueTiming {
                        by: Some(user),
                        ..timing(self, self.timeline.clock.now(), CueStatus::Early)
                    };
                    self.cues.push(cue.clone());
                    self.emit(Event::Cue(cue));
                    return Ok(self.held_at_cue(step, id, &name).await);
                }
            }
            if self.in_always == 0
                && let Some(failure) = self.past_deadline()
            {
                return Err(failure);
            }
        }
        // Held: the countdown went on; the cue is judged when the run is released.
        if !self.held_at_cue(step, id, &name).await {
            return Ok(false);
        }
        if self.in_always == 0
            && let Some(failure) = self.interrupted().or_else(|| self.past_deadline())
        {
            return Err(failure);
        }
        let now = self.timeline.clock.now();
        if now > deadline {
            let late = crate::duration::human(now.duration_since(planned).unsigned_abs());
            let (status, result) = match policy {
                Late::Run => (CueStatus::Late, Ok(true)),
                Late::Skip => (CueStatus::Skipped, Ok(false)),
                Late::Fail => (
                    CueStatus::Missed,
                    Err(StepFailure::new(format!(
                        "missed its cue {} by {late} (grace {grace}, late: fail)",
                        at.value
                    ))),
                ),
            };
            let cue = timing(self, now, status);
            self.cues.push(cue.clone());
            self.emit(Event::Cue(cue));
            if status == CueStatus::Skipped {
                self.counts.skipped += 1;
                self.emit(Event::StepSkipped {
                    id: id.clone(),
                    name: name.clone(),
                    reason: format!("cue {} missed by {late} (late: skip)", at.value),
                    at: self.place(step),
                });
            }
            return result;
        }
        let cue = timing(self, now, CueStatus::OnTime);
        self.cues.push(cue.clone());
        self.emit(Event::Cue(cue));
        Ok(true)
    }

    /// The cue of a step an operator skipped, recorded as skipped by `user` at the
    /// moment they did (its planned time as far as it can be told).
    pub(super) fn cue_skipped_by(
        &mut self,
        step: &Spanned<Step>,
        id: &StepId,
        name: &str,
        user: &str,
    ) {
        let Some(at) = &step.at else { return };
        let now = self.timeline.clock.now();
        let planned = self
            .timeline
            .resolve(at, self.client.first_token())
            .unwrap_or(now);
        let cue = CueTiming {
            id: id.clone(),
            name: name.to_owned(),
            cue: at.value.to_string(),
            planned: self.timeline.show(planned),
            actual: self.timeline.show(now),
            late_ms: crate::determinism::varying(
                i64::try_from(now.duration_since(planned).as_millis()).unwrap_or(i64::MAX),
            ),
            status: CueStatus::Skipped,
            by: Some(user.to_owned()),
        };
        self.cues.push(cue.clone());
        self.emit(Event::Cue(cue));
    }

    /// After a cue's countdown: waits while the run is held. False when an operator
    /// skipped the step meanwhile (reported here).
    async fn held_at_cue(&mut self, step: &Spanned<Step>, id: &StepId, name: &str) -> bool {
        match self.operator_gate(id, true).await {
            None => true,
            Some(user) => {
                self.skipped_by_operator(step, id.clone(), name.to_owned(), &user);
                false
            }
        }
    }

    /// Waits on the run's clock until `at`, keeping the token alive; the push feed
    /// going down or coming back meanwhile is reported as it happens. False when the
    /// feed says the meeting has ended first.
    pub(super) async fn sleep_until(&mut self, at: jiff::Timestamp) -> bool {
        let clock = std::sync::Arc::clone(&self.timeline.clock);
        let ended = until_ended(self.feed.subscribe());
        tokio::pin!(ended);
        loop {
            tokio::select! {
                () = sleep_keeping_token(&self.client, &clock, &mut *self.listener, at) => return true,
                () = &mut ended => return false,
                () = self.feed.turned() => {}
            }
            self.report_feed();
        }
    }
}

/// `Round {{ loop.index }}` → `Round …`.
fn elide_templates(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        out.push('…');
        rest = rest[start..]
            .find("}}")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    out.push_str(rest);
    out
}
