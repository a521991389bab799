//! A block's run: its `steps` (or an include's, or a scene's), then `rescue` if they failed, then
//! `always` whatever happened, with the block's `retry`, `timeout` and tags passed down
//! to the steps inside.

use serde_json::Value;

use super::Executor;
use crate::playbook::Step;
use crate::playbook::scope::IncludeScope;
use crate::playbook::step_id::Siblings;
use crate::run::actions::Performed;
use crate::run::event::{Event, StepId};
use crate::run::step::StepFailure;
use crate::yaml::Spanned;

impl Executor<'_> {
    /// A block with id `id`: its `steps`, `rescue` and `always` lists, in that order.
    pub(super) async fn block(
        &mut self,
        step: &Spanned<Step>,
        id: &StepId,
        [steps, rescue, always]: [&[Spanned<Step>]; 3],
        cue: usize,
    ) -> Result<Performed, StepFailure> {
        // A block's `retry` and `timeout` are the defaults of the steps inside it.
        let outer = self.defaults;
        if let Some(retry) = &step.retry {
            self.defaults.retry = retry.value;
        }
        if let Some(timeout) = &step.timeout {
            self.defaults.timeout = timeout.value;
        }
        let inside = Siblings::steps_of(id);
        let inherited = self.inherited_tags.len();
        self.inherited_tags
            .extend(step.tags.iter().map(|t| t.value.clone()));
        let mut result = match (&step.included, &step.scene) {
            (Some(included), _) => self.included(included, steps, &inside, cue).await,
            (None, Some(_)) => self.scene_steps(steps, &inside, cue).await,
            (None, None) => self.steps(steps, &inside, cue).await,
        };
        if let Err(failure) = &result
            && !rescue.is_empty()
        {
            self.emit(Event::Message {
                id: id.clone(),
                level: crate::playbook::action::LogLevel::Warn,
                text: format!("rescuing after: {}", failure.message),
            });
            result = self.steps(rescue, &Siblings::rescue_of(id), cue).await;
        }
        self.in_always += 1;
        let always_ids = Siblings::always_of(id);
        let after = if self.interrupt.received().is_some() || self.past_deadline().is_some() {
            // Interrupted or out of time: `always` steps get a bounded time.
            let grace = crate::run::interrupt::ALWAYS_GRACE;
            match tokio::time::timeout(grace, self.steps(always, &always_ids, cue)).await {
                Ok(result) => result,
                Err(_) => Err(StepFailure::new(format!(
                    "`always` steps did not finish within {grace:?} of the stop"
                ))),
            }
        } else {
            self.steps(always, &always_ids, cue).await
        };
        self.in_always -= 1;
        self.inherited_tags.truncate(inherited);
        self.defaults = outer;
        result.and(after).map(|()| Performed {
            output: Value::Null,
            detail: None,
        })
    }

    /// The steps of an include: its variables are set for them (see
    /// [`IncludeScope`]) and put back afterwards, and messages point into the
    /// included file.
    async fn included(
        &mut self,
        included: &crate::playbook::step::Included,
        steps: &[Spanned<Step>],
        list: &Siblings,
        cue: usize,
    ) -> Result<(), StepFailure> {
        let given = IncludeScope::given(self.engine, included, &self.vars)
            .map_err(|e| self.template_failure(e))?;
        let outer_file = std::mem::replace(&mut self.file, std::sync::Arc::clone(&included.file));
        let (scope, entered) = IncludeScope::enter(self.engine, included, given, &mut self.vars);
        let result = match entered {
            Ok(()) => Box::pin(self.steps(steps, list, cue)).await,
            Err(error) => Err(self.template_failure(error)),
        };
        scope.leave(&mut self.vars);
        self.file = outer_file;
        result
    }
}
