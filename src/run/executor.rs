//! Runs steps in order: `when`, `loop`, `register`, `retry`, `timeout`, `on_error`,
//! and blocks with `rescue` and `always`. Waiting for cues is in `cues.rs`, an action
//! under its time limit in `limits.rs`, and the actions themselves in `run/actions/`.
//! Everything the executor does is reported as [`Event`]s.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::actions::Performed;
use super::event::{Event, Listener, Outcome, StepId};
use super::step::{StepCtx, StepDefaults, StepFailure, StepLimit, Timeline};
use crate::mmc::Client;
use crate::playbook::step_id::Siblings;
use crate::playbook::{Body, OnError, Step};
use crate::source::SourceFile;
use crate::template::{Context, Engine, TemplateError};
use crate::yaml::{Pos, Spanned};

mod block;
mod cues;
mod ended;
mod feed;
mod limits;
mod operator;
mod scenes;

use limits::interrupted_failure;

pub(crate) struct Executor<'a> {
    client: Arc<Client>,
    engine: &'a Engine,
    file: Arc<SourceFile>,
    listener: &'a mut dyn Listener,
    vars: Context,
    defaults: StepDefaults,
    counts: Counts,
    timeline: Timeline,
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
    /// The meeting ended during the run.
    ended: Option<ended::Ended>,
    /// The meeting's push feed, as `events` says (off until set).
    feed: super::feed::RunFeed,
    /// The operator's commands, when the run takes them.
    operator: Option<Arc<super::operator::Operator>>,
    /// How many operator scenes or `do`s are playing: their steps are not held.
    playing: usize,
    /// The playbook's scenes, once given.
    scenes: Option<scenes::SceneBook<'a>>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) ok: u32,
    pub(crate) failed: u32,
    pub(crate) skipped: u32,
    pub(crate) retries: u32,
}

impl<'a> Executor<'a> {
    pub(crate) fn new(
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
            ended: None,
            feed: super::feed::RunFeed::new(crate::playbook::Events::Off),
            operator: None,
            playing: 0,
            scenes: None,
        }
    }

    /// Every cue so far, planned against actual.
    pub(crate) fn cues(&self) -> &[super::event::CueTiming] {
        &self.cues
    }

    pub(crate) fn counts(&self) -> Counts {
        self.counts
    }

    fn emit(&mut self, event: Event) {
        // The operator knows where the run is before anyone hears of it.
        if let Some(operator) = &self.operator {
            operator.observe(&event);
            // A step may have set or registered a variable a `do` may now use.
            if matches!(event, Event::StepFinished { .. }) {
                operator.vars(self.vars.names().cloned());
            }
        }
        self.listener.on(&event);
    }

    /// A template error as a failure that says where it is.
    fn template_failure(&self, error: TemplateError) -> StepFailure {
        StepFailure::new(format!("{}: {}", self.position(error.pos), error.message))
    }

    /// Where a step is written, for reports.
    fn place(&self, step: &Spanned<Step>) -> super::event::Place {
        super::event::Place {
            file: self.file.name().to_string(),
            line: step.pos.line,
        }
    }

    fn position(&self, pos: Pos) -> String {
        format!("{}:{}:{}", self.file.name(), pos.line, pos.column)
    }

    /// The top-level steps: each is a cue.
    /// Once the meeting has ended, the rest are still gone through, each noted as
    /// skipped or run if it does not need the meeting, and the run fails with the
    /// end's own message unless it ended the meeting itself.
    pub(crate) async fn run(&mut self, steps: &[Spanned<Step>]) -> Result<(), StepFailure> {
        let result = self.top_level_steps(steps).await;
        // Commands taken since the last check point (an abort, say) are told too, and
        // what an operator queued is played or said not to be.
        self.operator_end().await;
        result
    }

    async fn top_level_steps(&mut self, steps: &[Spanned<Step>]) -> Result<(), StepFailure> {
        let mut failed = None;
        for (index, step) in steps.iter().enumerate() {
            if let Err(failure) = self.top_level(step, index + 1).await {
                if !self.meeting_over() {
                    return Err(failure);
                }
                failed.get_or_insert(failure);
            }
        }
        match (self.ended_failure(), failed) {
            (Some(ended), _) => Err(ended),
            (None, Some(failure)) => Err(failure),
            (None, None) => Ok(()),
        }
    }

    /// Where an interrupt (SIGINT, SIGTERM) comes from.
    pub(crate) fn interrupt_with(
        &mut self,
        interrupt: std::sync::Arc<super::interrupt::Interrupt>,
    ) {
        self.interrupt = interrupt;
    }

    fn interrupted(&self) -> Option<StepFailure> {
        self.interrupt
            .received()
            .map(|_| interrupted_failure(&self.interrupt))
    }

    /// The run's deadline: past it, steps stop and only `always` steps still start.
    pub(crate) fn deadline(&mut self, deadline: Option<super::Deadline>) {
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
    pub(crate) fn select(&mut self, selection: crate::playbook::select::Selection) {
        self.started = selection.start_at.is_none();
        self.selection = selection;
    }

    /// A step, if the selection takes it; skipped steps are reported, and their cues
    /// are not waited for.
    async fn selected(
        &mut self,
        step: &Spanned<Step>,
        id: StepId,
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
                if self.skip_ended(step, &id) {
                    return Ok(());
                }
                self.step(step, id, cue).await
            }
        }
    }

    async fn steps(
        &mut self,
        steps: &[Spanned<Step>],
        list: &Siblings,
        cue: usize,
    ) -> Result<(), StepFailure> {
        let mut failed = None;
        for (index, step) in steps.iter().enumerate() {
            if let Err(failure) = Box::pin(self.selected(step, list.id(index + 1), cue)).await {
                // Once the meeting has ended the rest are gone through, to be noted.
                if !self.meeting_over() {
                    return Err(failure);
                }
                failed.get_or_insert(failure);
            }
        }
        failed.map_or(Ok(()), Err)
    }

    /// One step, once or once per loop item, after its cue if it has one.
    async fn step(
        &mut self,
        step: &Spanned<Step>,
        id: StepId,
        cue: usize,
    ) -> Result<(), StepFailure> {
        // An operator may hold the run or skip the step; a step with a cue is held
        // once its countdown is over.
        let cued = step.at.is_some() && !self.meeting_over();
        if let Some(user) = self.operator_gate(&id, !cued).await {
            self.skipped_by_operator(step, id, step.label(), &user);
            return Ok(());
        }
        if self.in_always == 0
            && let Some(failure) = self.interrupted().or_else(|| self.past_deadline())
        {
            return Err(failure);
        }
        // Once the meeting has ended, what is left runs at once.
        if cued {
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
            Box::pin(self.once(step, id.item(index + 1), cue, Some((index + 1, length)))).await?;
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
        id: StepId,
        cue: usize,
        item: Option<(usize, usize)>,
    ) -> Result<(), StepFailure> {
        let secrets = Arc::clone(self.engine.secrets());
        let mark = secrets.uses();
        let mut name = match &step.name {
            // A name rendered from a secret is shown as `***`, never in part.
            Some(name) => match self.engine.render_string(name, &self.vars) {
                Ok(_) if secrets.uses() != mark => crate::secrets::MASK.to_owned(),
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
            Body::Block { .. } | Body::Scene { .. } => None,
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
            paused: None,
        };
        let result = match body {
            Body::Action {
                name: action_name,
                args,
                ..
            } => self.act(step, action_name, args, &mut ctx).await,
            Body::Block {
                steps,
                rescue,
                always,
            } => self.block(step, &id, [steps, rescue, always], cue).await,
            Body::Scene {
                name,
                rescue,
                always,
            } => {
                self.scene_step(step, &id, name, [rescue, always], cue)
                    .await
            }
        };
        if action.is_some() {
            self.note_end(&id, &name, action, result.as_ref().map(|_| ()));
        }
        let elapsed = started.elapsed();
        let (started_at, finished_at) = (
            self.timeline.show(started_at),
            self.timeline.show(self.timeline.clock.now()),
        );
        let at = self.place(step);
        // What an action says of arguments rendered from a secret shows them as `***`.
        let result = if action.is_some() && secrets.uses() != mark {
            result
                .map(|performed| Performed {
                    detail: performed.detail.map(|d| secrets.hide_fields(&d)),
                    ..performed
                })
                .map_err(|failure| StepFailure {
                    message: secrets.hide_fields(&failure.message),
                    ..failure
                })
        } else {
            result
        };
        match result {
            Ok(Performed { output, detail }) => {
                if let (Some(register), Some(Body::Action { .. })) = (&step.register, step.body()) {
                    self.vars.set(register.value.clone(), output);
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
    /// A step that failed before it could start (its `loop`, `when` or `name` could not
    /// be evaluated): reported like any failure, and `on_error` applies.
    fn failed_before_start(
        &mut self,
        step: &Spanned<Step>,
        id: StepId,
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
