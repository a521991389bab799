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
    /// `Failed` (1) for a step's own failure; `Unreachable` (3) when the API could not
    /// be reached or refused the credentials.
    pub exit: ExitCode,
}

impl StepFailure {
    pub fn new(message: impl Into<String>) -> StepFailure {
        StepFailure {
            message: message.into(),
            exit: ExitCode::Failed,
        }
    }
}

/// Settings every step inherits unless it sets its own.
#[derive(Debug, Clone, Copy)]
pub struct StepDefaults {
    pub retry: RetrySpec,
    pub timeout: Dur,
}

/// What one step runs with, for actions to report against.
pub struct StepCtx {
    pub id: String,
    pub name: String,
    pub retry: RetrySpec,
    pub retries: u32,
}

pub struct Executor<'a> {
    pub(super) client: Arc<Client>,
    pub(super) engine: &'a Engine,
    pub(super) file: Arc<SourceFile>,
    pub(super) listener: &'a mut dyn Listener,
    pub(super) vars: Context,
    defaults: StepDefaults,
    pub(super) counts: Counts,
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
    ) -> Executor<'a> {
        Executor {
            client,
            engine,
            file,
            listener,
            vars,
            defaults,
            counts: Counts::default(),
        }
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

    pub(super) fn position(&self, pos: Pos) -> String {
        format!("{}:{}:{}", self.file.name(), pos.line, pos.column)
    }

    /// The top-level steps: each is a cue.
    pub async fn run(&mut self, steps: &[Spanned<Step>]) -> Result<(), StepFailure> {
        for (index, step) in steps.iter().enumerate() {
            self.step(step, (index + 1).to_string(), index + 1).await?;
        }
        Ok(())
    }

    async fn steps(
        &mut self,
        steps: &[Spanned<Step>],
        prefix: &str,
        cue: usize,
    ) -> Result<(), StepFailure> {
        for (index, step) in steps.iter().enumerate() {
            self.step(step, format!("{prefix}{}", index + 1), cue)
                .await?;
        }
        Ok(())
    }

    /// One step, once or once per loop item.
    async fn step(
        &mut self,
        step: &Spanned<Step>,
        id: String,
        cue: usize,
    ) -> Result<(), StepFailure> {
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
        let mut name = match &step.name {
            Some(name) => match self.engine.render_string(name, &self.vars) {
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
                self.emit(Event::StepSkipped {
                    id,
                    name,
                    reason: format!("when: {}", when.value),
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
        let mut ctx = StepCtx {
            id: id.clone(),
            name: name.clone(),
            retry: step.retry.as_ref().map_or(self.defaults.retry, |r| r.value),
            retries: 0,
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
                    (None, "wait") => None,
                    (None, _) => Some(self.defaults.timeout),
                };
                match timeout {
                    Some(limit) => {
                        match tokio::time::timeout(
                            limit.std(),
                            self.perform(action_name, args, &mut ctx),
                        )
                        .await
                        {
                            Ok(result) => result,
                            Err(_) => Err(StepFailure::new(format!("timed out after {limit}"))),
                        }
                    }
                    None => self.perform(action_name, args, &mut ctx).await,
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
                let mut result = self.steps(steps, &prefix, cue).await;
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
                let after = self.steps(always, &format!("{id}.always."), cue).await;
                self.defaults = outer;
                result.and(after).map(|()| (Value::Null, None))
            }
        };
        let elapsed = started.elapsed();
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
        id: String,
        cue: usize,
        failure: StepFailure,
    ) -> Result<(), StepFailure> {
        let continued = step.on_error == OnError::Continue;
        self.counts.failed += 1;
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

/// How long to wait, as the action's detail line says it.
pub(super) fn waited(duration: Duration) -> String {
    crate::duration::human(duration)
}
