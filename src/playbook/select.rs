//! Which steps a run takes: `--tags` and `--skip-tags` (a block's tags are its steps'
//! too), and `--start-at STEP` (by name or by id such as `3.2`). Pure: decided from the
//! playbook alone.

use std::collections::BTreeSet;

use super::model::Playbook;
use super::step::Step;
use super::step_id::{Siblings, StepId};
use crate::error::{Error, did_you_mean};
use crate::yaml::Spanned;

#[derive(Debug, Clone, Default)]
pub(crate) struct Selection {
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub start_at: Option<String>,
}

/// What to do with one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Run,
    /// A block that is not selected itself but holds selected steps: go in, and decide
    /// for each of them.
    Enter,
    Skip(String),
}

impl Selection {
    /// Checks the selection against the playbook: tags must be used somewhere, and
    /// `--start-at` must name a step.
    pub(crate) fn validate(&self, playbook: &Playbook) -> Result<(), Error> {
        let known: BTreeSet<String> = playbook
            .walk()
            .iter()
            .flat_map(|s| s.tags.iter().map(|t| t.value.clone()))
            .collect();
        for tag in self.tags.iter().chain(&self.skip_tags) {
            if !known.contains(tag) {
                let candidates: Vec<&str> = known.iter().map(String::as_str).collect();
                let hint = match did_you_mean(tag, &candidates) {
                    Some(c) => format!("; did you mean `{c}`?"),
                    None if known.is_empty() => "; this playbook tags no steps".to_owned(),
                    None => format!("; its tags are: {}", candidates.join(", ")),
                };
                return Err(Error::Usage(format!("unknown tag `{tag}`{hint}")));
            }
        }
        if let Some(target) = &self.start_at
            && target.parse::<StepId>().is_ok_and(|id| id.is_operator())
        {
            return Err(Error::Usage(format!(
                "--start-at {target}: that is what an operator played during a run, not a \
                 step of the playbook; start at a step of `steps:`"
            )));
        }
        if let Some(target) = &self.start_at
            && !contains(&playbook.doc.steps.value, target)
        {
            let names: Vec<String> = playbook
                .walk()
                .iter()
                .filter_map(|s| s.name.as_ref().map(|n| n.value.clone()))
                .collect();
            let candidates: Vec<&str> = names.iter().map(String::as_str).collect();
            let hint = did_you_mean(target, &candidates)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(Error::Usage(format!(
                "--start-at {target}: no step has that name or id{hint}"
            )));
        }
        Ok(())
    }

    /// The decision for a step with id `id`, inside blocks tagged `inherited`. `started`
    /// says whether `--start-at` has been reached.
    pub(crate) fn decide(
        &self,
        step: &Spanned<Step>,
        id: &StepId,
        inherited: &[String],
        started: bool,
    ) -> Decision {
        if !started
            && let Some(target) = &self.start_at
            && !matches(step, id, target)
        {
            return if contains_below(step, id, target) {
                Decision::Enter
            } else {
                Decision::Skip(format!("before --start-at {target}"))
            };
        }
        let tags: Vec<&str> = inherited
            .iter()
            .map(String::as_str)
            .chain(step.tags.iter().map(|t| t.value.as_str()))
            .collect();
        if let Some(tag) = self.skip_tags.iter().find(|t| tags.contains(&t.as_str())) {
            return Decision::Skip(format!("tagged {tag} (--skip-tags)"));
        }
        if self.tags.is_empty() || self.tags.iter().any(|t| tags.contains(&t.as_str())) {
            return Decision::Run;
        }
        if has_tagged_below(step, &self.tags) {
            return Decision::Enter;
        }
        Decision::Skip(format!("not tagged {} (--tags)", self.tags.join(", ")))
    }
}

/// Whether `step` is the one `target` names: its id, or its name (case-insensitive).
pub(crate) fn matches(step: &Spanned<Step>, id: &StepId, target: &str) -> bool {
    target.parse::<StepId>().is_ok_and(|target| target == *id)
        || step
            .name
            .as_ref()
            .is_some_and(|n| n.value.to_lowercase() == target.to_lowercase())
}

fn list(l: Option<&Spanned<Vec<Spanned<Step>>>>) -> &[Spanned<Step>] {
    l.map(|l| l.value.as_slice()).unwrap_or_default()
}

/// The steps of a block, each with its id under `id`.
fn children<'a>(
    step: &'a Step,
    id: &'a StepId,
) -> impl Iterator<Item = (&'a Spanned<Step>, StepId)> + 'a {
    [
        (step.steps.as_ref(), Siblings::steps_of(id)),
        (step.rescue.as_ref(), Siblings::rescue_of(id)),
        (step.always.as_ref(), Siblings::always_of(id)),
    ]
    .into_iter()
    .flat_map(|(steps, siblings)| {
        list(steps)
            .iter()
            .enumerate()
            .map(move |(index, child)| (child, siblings.id(index + 1)))
    })
}

fn contains_below(step: &Spanned<Step>, id: &StepId, target: &str) -> bool {
    children(step, id).any(|(child, child_id)| {
        matches(child, &child_id, target) || contains_below(child, &child_id, target)
    })
}

fn contains(steps: &[Spanned<Step>], target: &str) -> bool {
    steps.iter().enumerate().any(|(i, step)| {
        let id = Siblings::top_level().id(i + 1);
        matches(step, &id, target) || contains_below(step, &id, target)
    })
}

fn has_tagged_below(step: &Spanned<Step>, wanted: &[String]) -> bool {
    [
        step.steps.as_ref(),
        step.rescue.as_ref(),
        step.always.as_ref(),
    ]
    .into_iter()
    .flat_map(list)
    .any(|child| {
        child.tags.iter().any(|t| wanted.contains(&t.value)) || has_tagged_below(child, wanted)
    })
}
