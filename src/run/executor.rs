//! Runs steps in order: `when`, `loop`, `register`, `retry`, `timeout`, `on_error`,
//! and blocks with `rescue` and `always`. Actions themselves are in `perform.rs`.
//! Everything the executor does is reported as [`Event`]s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::event::{Event, Listener, Outcome};
use crate::duration::Duration as Dur;
use crate::error::ExitCode;
use crate::mmc::Client;
use crate::playbook::{Body, OnError, RetrySpec, Step};
use crate::source::SourceFile;
use crate::template::{Context, Engine, TemplateError};
use crate::yaml::{Pos, Spanned};

/// Why a step failed, and what that means for the exit code.
#[derive(Debug, Clone)]
pub struct StepFailure {
    pub message: String,
    /// `Failed` (1) for a step's own failure; `Unreachable` (3) for an API failure
    /// before the API ever gave (or accepted) a token.
    pub exit: ExitCode,
    /// The API answered that a participant is not in the meeting: set from the typed
    /// error, so steps aimed at someone who just left need not read the message.
    pub participant_gone: bool,
}

impl StepFailure {
    pub fn new(message: impl Into<String>) -> StepFailure {
        StepFailure {
            message: message.into(),
            exit: ExitCode::Failed,
            participant_gone: false,
        }
    }
}

/// Settings every step inherits unless it sets its own.
#[derive(Debug, Clone, Copy)]
pub struct StepDefaults {
    pub retry: RetrySpec,
    pub timeout: Dur,
}

/// The run's time: its clock, when it started (for `+15m` cues), and the time zone
/// wall-clock cues are read in.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub clock: crate::clock::SharedClock,
    pub start: jiff::Timestamp,
    pub zone: jiff::tz::TimeZone,
}

impl Timeline {
    /// An instant as output shows it: RFC 3339 with milliseconds in the playbook's zone.
    pub fn show(&self, at: jiff::Timestamp) -> String {
        crate::determinism::varying(at)
            .to_zoned(self.zone.clone())
            .strftime("%Y-%m-%dT%H:%M:%S%.3f%:z")
            .to_string()
    }
}

/// What one step runs with, for actions to report against.
pub struct StepCtx {
    pub id: String,
    pub name: String,
    pub retry: RetrySpec,
    pub retries: u32,
    /// The step's time limit (a longer `Retry-After` is not waited for), which a fan-out may raise once it knows how many calls it
    /// makes; shared with the executor's timer.
    pub limit: StepLimit,
}

/// A step's time limit: when it runs out, how long it is, and whether it is inherited
/// (only an inherited limit grows with a fan-out; a step's own `timeout` is kept).
#[derive(Debug, Clone, Default)]
pub struct StepLimit(Arc<std::sync::Mutex<Option<Limit>>>);

#[derive(Debug, Clone, Copy)]
struct Limit {
    at: tokio::time::Instant,
    length: Dur,
    /// How much a fan-out added.
    added: Duration,
    default: bool,
}

impl Limit {
    /// The whole limit, as messages say it.
    fn shown(&self) -> String {
        if self.added.is_zero() {
            self.length.to_string()
        } else {
            crate::duration::human(self.length.std() + self.added)
        }
    }
}

impl StepLimit {
    fn new(length: Option<Dur>, default: bool) -> StepLimit {
        StepLimit(Arc::new(std::sync::Mutex::new(length.map(|length| {
            Limit {
                at: tokio::time::Instant::now() + length.std(),
                length,
                added: Duration::ZERO,
                default,
            }
        }))))
    }

    fn get(&self) -> Option<Limit> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lengthens a default limit by `by`: the time `by` calls take at the rate limit.
    pub fn extend_default(&self, by: Duration) -> bool {
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

    /// When the limit runs out now, if there is one.
    pub fn at(&self) -> Option<tokio::time::Instant> {
        self.get().map(|l| l.at)
    }
}

pub struct Executor<'a> {
    pub(super) client: Arc<Client>,
    pub(super) engine: &'a Engine,
    pub(super) file: Arc<SourceFile>,
    pub(super) listener: &'a mut dyn Listener,
    pub(super) vars: Context,
    defaults: StepDefaults,
    pub(super) counts: Counts,
    pub(super) timeline: Timeline,
    cues: Vec<super::event::CueTiming>,
    selection: crate::playbook::select::Selection,
    /// Whether `--start-at` has been reached (always, without one).
    started: bool,
    /// Tags of the blocks being run, which their steps inherit.
    inherited_tags: Vec<String>,
    interrupt: std::sync::Arc<super::interrupt::Interrupt>,
    /// How many `always` lists are running: they run even after an interrupt.
    in_always: usize,
    /// When the whole run must be over.
    deadline: Option<super::Deadline>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub ok: u32,
    pub failed: u32,
    pub skipped: u32,
    pub retries: u32,
}

impl<'a> Executor<'a> {
    pub fn new(
        client: Arc<Client>,
        engine: &'a Engine,
        file: Arc<SourceFile>,
        listener: &'a mut dyn Listener,
        vars: Context,
        defaults: StepDefaults,
        timeline: Timeline,
    ) -> Executor<'a> {
        Executor {
            client,
            engine,
            file,
            listener,
            vars,
            defaults,
            counts: Counts::default(),
            timeline,
            cues: Vec::new(),
            selection: Default::default(),
            started: true,
            inherited_tags: Vec::new(),
            interrupt: super::interrupt::Interrupt::new(),
            in_always: 0,
            deadline: None,
        }
    }

    /// Every cue so far, planned against actual.
    pub fn cues(&self) -> &[super::event::CueTiming] {
        &self.cues
    }

    pub fn counts(&self) -> Counts {
        self.counts
    }

    pub(super) fn emit(&mut self, event: Event) {
        self.listener.on(&event);
    }

    /// A template error as a failure that says where it is.
    pub(super) fn template_failure(&self, error: TemplateError) -> StepFailure {
        StepFailure::new(format!("{}: {}", self.position(error.pos), error.message))
    }

    /// Where a step is written, for reports.
    fn place(&self, step: &Spanned<Step>) -> super::event::Place {
        super::event::Place {
            file: self.file.name().to_string(),
            line: step.pos.line,
        }
    }

    pub(super) fn position(&self, pos: Pos) -> String {
        format!("{}:{}:{}", self.file.name(), pos.line, pos.column)
    }

    /// The top-level steps: each is a cue.
    pub async fn run(&mut self, steps: &[Spanned<Step>]) -> Result<(), StepFailure> {
        for (index, step) in steps.iter().enumerate() {
            self.selected(step, (index + 1).to_string(), index + 1)
                .await?;
        }
        Ok(())
    }

    /// Where an interrupt (SIGINT, SIGTERM) comes from.
    pub fn interrupt_with(&mut self, interrupt: std::sync::Arc<super::interrupt::Interrupt>) {
        self.interrupt = interrupt;
    }

    fn interrupted(&self) -> Option<StepFailure> {
        self.interrupt
            .received()
            .map(|_| interrupted_failure(&self.interrupt))
    }

    /// The run's deadline: past it, steps stop and only `always` steps still start.
    pub fn deadline(&mut self, deadline: Option<super::Deadline>) {
        self.deadline = deadline;
    }

    /// The failure to stop with, once the deadline has passed.
    fn past_deadline(&self) -> Option<StepFailure> {
        self.deadline
            .as_ref()
            .filter(|d| self.timeline.clock.now() >= d.at)
            .map(super::Deadline::failure)
    }

    /// Which steps to take: `--tags`, `--skip-tags`, `--start-at`.
    pub fn select(&mut self, selection: crate::playbook::select::Selection) {
        self.started = selection.start_at.is_none();
        self.selection = selection;
    }

    /// A step, if the selection takes it; skipped steps are reported, and their cues
    /// are not waited for.
    async fn selected(
        &mut self,
        step: &Spanned<Step>,
        id: String,
        cue: usize,
    ) -> Result<(), StepFailure> {
        // Once interrupted or past the deadline, only `always` steps still start.
        if self.in_always == 0
            && let Some(failure) = self.interrupted().or_else(|| self.past_deadline())
        {
            return Err(failure);
        }
        use crate::playbook::select::{Decision, matches};
        match self
            .selection
            .decide(step, &id, &self.inherited_tags, self.started)
        {
            Decision::Skip(reason) => {
                self.counts.skipped += 1;
                let at = self.place(step);
                self.emit(Event::StepSkipped {
                    id,
                    name: step.label(),
                    reason,
                    at,
                });
                Ok(())
            }
            decision => {
                if decision == Decision::Run
                    && let Some(target) = &self.selection.start_at
                    && matches(step, &id, target)
                {
                    self.started = true;
                }
                self.step(step, id, cue).await
            }
        }
    }

    async fn steps(
        &mut self,
        steps: &[Spanned<Step>],
        prefix: &str,
        cue: usize,
    ) -> Result<(), StepFailure> {
        for (index, step) in steps.iter().enumerate() {
            Box::pin(self.selected(step, format!("{prefix}{}", index + 1), cue)).await?;
        }
        Ok(())
    }

    /// One step, once or once per loop item, after its cue if it has one.
    async fn step(
        &mut self,
        step: &Spanned<Step>,
        id: String,
        cue: usize,
    ) -> Result<(), StepFailure> {
        if step.at.is_some() {
            match self.cue(step, &id).await {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(failure) => return self.failed_before_start(step, id, cue, failure),
            }
        }
        let Some(over) = &step.loop_over else {
            return Box::pin(self.once(step, id, cue, None)).await;
        };
        let items = match self.engine.render_node(over, &self.vars) {
            Ok(Value::Array(items)) => items,
            Ok(other) => {
                let failure = StepFailure::new(format!(
                    "{}: `loop` needs a list, got {}",
                    self.position(over.pos),
                    kind(&other)
                ));
                return self.failed_before_start(step, id, cue, failure);
            }
            Err(error) => {
                let failure = self.template_failure(error);
                return self.failed_before_start(step, id, cue, failure);
            }
        };
        let saved = (
            self.vars.get("item").cloned(),
            self.vars.get("loop").cloned(),
        );
        let length = items.len();
        let mut results = Vec::with_capacity(length);
        for (index, item) in items.into_iter().enumerate() {
            self.vars.set("item", item);
            self.vars.set(
                "loop",
                json!({"index": index + 1, "index0": index, "first": index == 0,
                       "last": index + 1 == length, "length": length}),
            );
            Box::pin(self.once(
                step,
                format!("{id}#{}", index + 1),
                cue,
                Some((index + 1, length)),
            ))
            .await?;
            if let Some(register) = &step.register {
                results.push(
                    self.vars
                        .get(&register.value)
                        .cloned()
                        .unwrap_or(Value::Null),
                );
            }
        }
        for (name, value) in [("item", saved.0), ("loop", saved.1)] {
            self.vars.set(name, value.unwrap_or(Value::Null));
        }
        if let Some(register) = &step.register {
            self.vars.set(register.value.clone(), Value::Array(results));
        }
        Ok(())
    }

    async fn once(
        &mut self,
        step: &Spanned<Step>,
        id: String,
        cue: usize,
        item: Option<(usize, usize)>,
    ) -> Result<(), StepFailure> {
        let secrets = Arc::clone(self.engine.secrets());
        let mark = secrets.uses();
        let mut name = match &step.name {
            // A name rendered from a secret is shown as `***`, never in part.
            Some(name) => match self.engine.render_string(name, &self.vars) {
                Ok(_) if secrets.uses() != mark => crate::template::MASK.to_owned(),
                Ok(name) => name,
                Err(error) => {
                    let failure = self.template_failure(error);
                    return self.failed_before_start(step, id, cue, failure);
                }
            },
            None => step.label(),
        };
        // A loop item whose name does not say which item it is gets told apart here.
        if let Some((index, length)) = item
            && step
                .name
                .as_ref()
                .is_none_or(|n| !crate::template::is_template(n))
        {
            name = format!("{name} (item {index}/{length})");
        }
        if let Some(when) = &step.when {
            let value = match self.engine.eval(&when.value, when.pos, &self.vars) {
                Ok(value) => value,
                Err(error) => {
                    let failure = self.template_failure(error);
                    return self.failed_before_start(step, id, cue, failure);
                }
            };
            if !value.is_true() {
                self.counts.skipped += 1;
                if let Some(register) = &step.register {
                    self.vars
                        .set(register.value.clone(), json!({"skipped": true}));
                }
                let at = self.place(step);
                self.emit(Event::StepSkipped {
                    id,
                    name,
                    reason: format!("when: {}", when.value),
                    at,
                });
                return Ok(());
            }
        }
        let Some(body) = step.body() else {
            return Err(StepFailure::new(format!(
                "{}: this step cannot run",
                self.position(step.pos)
            )));
        };
        let action = match &body {
            Body::Action { name, .. } => Some(*name),
            Body::Block { .. } => None,
        };
        self.emit(Event::StepStarted {
            id: id.clone(),
            name: name.clone(),
            action,
            cue,
        });
        let started = Instant::now();
        let started_at = self.timeline.clock.now();
        let mark = secrets.uses();
        let mut ctx = StepCtx {
            id: id.clone(),
            name: name.clone(),
            retry: step.retry.as_ref().map_or(self.defaults.retry, |r| r.value),
            retries: 0,
            limit: StepLimit::default(),
        };
        let result = match body {
            Body::Action {
                name: action_name,
                args,
                ..
            } => {
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
                let calls_before = self.client.calls();
                let work = async {
                    if limit.at().is_none() {
                        return self.perform(action_name, args, &mut ctx).await;
                    }
                    let finished = {
                        let perform = self.perform(action_name, args, &mut ctx);
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
                tokio::select! {
                    biased;
                    () = async { reached.expect("guarded").await }, if deadline.is_some() => {
                        Err(deadline.as_ref().expect("guarded").failure())
                    }
                    _ = interrupt.wait(), if stoppable => Err(interrupted_failure(&interrupt)),
                    result = work => result,
                }
            }
            Body::Block {
                steps,
                rescue,
                always,
            } => {
                // A block's `retry` and `timeout` are the defaults of the steps inside it.
                let outer = self.defaults;
                if let Some(retry) = &step.retry {
                    self.defaults.retry = retry.value;
                }
                if let Some(timeout) = &step.timeout {
                    self.defaults.timeout = timeout.value;
                }
                let prefix = format!("{id}.");
                let inherited = self.inherited_tags.len();
                self.inherited_tags
                    .extend(step.tags.iter().map(|t| t.value.clone()));
                let mut result = match &step.included {
                    Some(included) => self.included(included, steps, &prefix, cue).await,
                    None => self.steps(steps, &prefix, cue).await,
                };
                if let Err(failure) = &result
                    && !rescue.is_empty()
                {
                    self.emit(Event::Message {
                        id: id.clone(),
                        level: crate::playbook::action::LogLevel::Warn,
                        text: format!("rescuing after: {}", failure.message),
                    });
                    result = self.steps(rescue, &format!("{id}.rescue."), cue).await;
                }
                self.in_always += 1;
                let always_prefix = format!("{id}.always.");
                let after = if self.interrupt.received().is_some() || self.past_deadline().is_some()
                {
                    // Interrupted or out of time: `always` steps get a bounded time.
                    let grace = super::interrupt::ALWAYS_GRACE;
                    match tokio::time::timeout(grace, self.steps(always, &always_prefix, cue)).await
                    {
                        Ok(result) => result,
                        Err(_) => Err(StepFailure::new(format!(
                            "`always` steps did not finish within {grace:?} of the stop"
                        ))),
                    }
                } else {
                    self.steps(always, &always_prefix, cue).await
                };
                self.in_always -= 1;
                self.inherited_tags.truncate(inherited);
                self.defaults = outer;
                result.and(after).map(|()| (Value::Null, None))
            }
        };
        let elapsed = started.elapsed();
        let (started_at, finished_at) = (
            self.timeline.show(started_at),
            self.timeline.show(self.timeline.clock.now()),
        );
        let at = self.place(step);
        // What an action says of arguments rendered from a secret shows them as `***`.
        let result = if action.is_some() && secrets.uses() != mark {
            result
                .map(|(value, detail)| (value, detail.map(|d| secrets.hide_fields(&d))))
                .map_err(|failure| StepFailure {
                    message: secrets.hide_fields(&failure.message),
                    ..failure
                })
        } else {
            result
        };
        match result {
            Ok((value, detail)) => {
                if let (Some(register), Some(Body::Action { .. })) = (&step.register, step.body()) {
                    self.vars.set(register.value.clone(), value);
                }
                if action.is_some() {
                    self.counts.ok += 1;
                }
                self.emit(Event::StepFinished {
                    id,
                    name,
                    action,
                    cue,
                    outcome: Outcome::Ok,
                    elapsed,
                    retries: ctx.retries,
                    detail,
                    started: started_at,
                    finished: finished_at,
                    at,
                });
                Ok(())
            }
            Err(failure) => {
                let continued = step.on_error == OnError::Continue;
                if action.is_some() || continued {
                    self.counts.failed += 1;
                }
                if let Some(register) = &step.register {
                    self.vars.set(
                        register.value.clone(),
                        json!({"failed": true, "error": failure.message}),
                    );
                }
                self.emit(Event::StepFinished {
                    id,
                    name,
                    action,
                    cue,
                    outcome: Outcome::Failed {
                        error: failure.message.clone(),
                        continued,
                    },
                    elapsed,
                    retries: ctx.retries,
                    detail: None,
                    started: started_at,
                    finished: finished_at,
                    at,
                });
                if continued { Ok(()) } else { Err(failure) }
            }
        }
    }
}

impl Executor<'_> {
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

    /// The steps of an include: its variables are set for them (see
    /// [`crate::template::vars`]) and put back afterwards, and messages point into the
    /// included file.
    async fn included(
        &mut self,
        included: &crate::playbook::include::Included,
        steps: &[Spanned<Step>],
        prefix: &str,
        cue: usize,
    ) -> Result<(), StepFailure> {
        use crate::template::vars::IncludeScope;
        let given = IncludeScope::given(self.engine, included, &self.vars)
            .map_err(|e| self.template_failure(e))?;
        let outer_file = std::mem::replace(&mut self.file, std::sync::Arc::clone(&included.file));
        let (scope, entered) = IncludeScope::enter(self.engine, included, given, &mut self.vars);
        let result = match entered {
            Ok(()) => Box::pin(self.steps(steps, prefix, cue)).await,
            Err(error) => Err(self.template_failure(error)),
        };
        scope.leave(&mut self.vars);
        self.file = outer_file;
        result
    }

    /// Waits for a step's cue. `Ok(false)` when a late cue is skipped.
    async fn cue(&mut self, step: &Spanned<Step>, id: &str) -> Result<bool, StepFailure> {
        use super::event::{CueStatus, CueTiming};
        use crate::playbook::cue::Late;
        let Some(at) = &step.at else { return Ok(true) };
        let planned = at
            .resolve(self.timeline.start, &self.timeline.zone)
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
                Ok(_) if self.engine.secrets().uses() != mark => crate::template::MASK.to_owned(),
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
            id: id.to_owned(),
            name: name.clone(),
            cue: at.value.to_string(),
            planned: this.timeline.show(planned),
            actual: this.timeline.show(actual),
            late_ms: crate::determinism::varying(
                i64::try_from(actual.duration_since(planned).as_millis()).unwrap_or(i64::MAX),
            ),
            status,
        };
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
                    id: id.to_owned(),
                    name: name.clone(),
                    reason: format!("cue {} missed by {late} (late: skip)", at.value),
                    at: self.place(step),
                });
            }
            return result;
        }
        if now < planned {
            self.emit(Event::Waiting {
                id: id.to_owned(),
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
            self.sleep_until(stop.map_or(planned, |s| s.min(planned)))
                .await;
            if self.in_always == 0
                && let Some(failure) = self.past_deadline()
            {
                return Err(failure);
            }
        }
        let cue = timing(self, self.timeline.clock.now(), CueStatus::OnTime);
        self.cues.push(cue.clone());
        self.emit(Event::Cue(cue));
        Ok(true)
    }

    /// Waits on the run's clock until `at`, renewing the token whenever it falls due on
    /// the way, so a long wait never lets it lapse.
    pub(super) async fn sleep_until(&mut self, at: jiff::Timestamp) {
        let clock = std::sync::Arc::clone(&self.timeline.clock);
        let mut quiet_until = None;
        loop {
            let now = clock.now();
            if now >= at {
                return;
            }
            let renew = self.client.renew_at().await.filter(|r| *r < at);
            let renew = renew
                .filter(|r| quiet_until.is_none_or(|q| *r >= q))
                .or(quiet_until.filter(|q| *q < at));
            let next = renew.map_or(at, |r| r.max(now));
            clock.sleep_until(next).await;
            if renew.is_some_and(|r| clock.now() >= r) && clock.now() < at {
                match self.client.connect().await {
                    Ok(()) => quiet_until = None,
                    Err(failure) => {
                        // Try again in a while rather than at once.
                        quiet_until = clock
                            .now()
                            .checked_add(jiff::SignedDuration::from_secs(10))
                            .ok();
                        self.emit(Event::Message {
                            id: String::new(),
                            level: crate::playbook::action::LogLevel::Warn,
                            text: format!(
                                "keeping the token alive failed, will try again: {failure}"
                            ),
                        });
                    }
                }
            }
        }
    }

    /// A step that failed before it could start (its `loop`, `when` or `name` could not
    /// be evaluated): reported like any failure, and `on_error` applies.
    fn failed_before_start(
        &mut self,
        step: &Spanned<Step>,
        id: String,
        cue: usize,
        failure: StepFailure,
    ) -> Result<(), StepFailure> {
        let continued = step.on_error == OnError::Continue;
        self.counts.failed += 1;
        let now = self.timeline.show(self.timeline.clock.now());
        let action = match step.body() {
            Some(Body::Action { name, .. }) => Some(name),
            _ => None,
        };
        self.emit(Event::StepFinished {
            id,
            name: step.label(),
            action,
            cue,
            outcome: Outcome::Failed {
                error: failure.message.clone(),
                continued,
            },
            elapsed: Duration::ZERO,
            retries: 0,
            detail: None,
            started: now.clone(),
            finished: now,
            at: self.place(step),
        });
        if continued { Ok(()) } else { Err(failure) }
    }
}

fn interrupted_failure(interrupt: &super::interrupt::Interrupt) -> StepFailure {
    let signal = interrupt
        .received()
        .unwrap_or(crate::signals::Received::Interrupt);
    StepFailure {
        message: format!("interrupted by {signal}"),
        exit: super::interrupt::exit_code(signal),
        participant_gone: false,
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

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// How long to wait, as the action's detail line says it.
pub(super) fn waited(duration: Duration) -> String {
    crate::duration::human(duration)
}
