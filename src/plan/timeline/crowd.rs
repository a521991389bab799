//! The rehearsal's crowd in a plan: how long a fan-out over it takes at the rate
//! limit (and whether a step's own `timeout` is shorter), and whether the people a
//! step names are expected in the meeting by then.

use jiff::SignedDuration;

use super::Planner;
use crate::meeting::{MeetingSeed, ParticipantSeed};
use crate::playbook::action::Action;
use crate::playbook::step_id::StepId;
use crate::playbook::{Body, Playbook, Step};
use crate::yaml::Spanned;

impl Planner<'_> {
    /// A fan-out (one call per participant) over the rehearsal's crowd: how long its
    /// calls take at the rate limit, the plan's time moved past them, and a warning when
    /// the step's own `timeout` is shorter (a limit it inherits grows to fit at run time).
    pub(super) fn fan_out(
        &mut self,
        step: &Step,
        id: &StepId,
        action: &Action,
        rehearsal: &MeetingSeed,
    ) {
        use crate::playbook::Selector;
        let (Action::Mute(Selector::Match(wanted)) | Action::Unmute(Selector::Match(wanted))) =
            action
        else {
            return;
        };
        if !wanted.all {
            return;
        }
        let offset = self.now.duration_since(self.start);
        let calls = rehearsal
            .participants
            .iter()
            .filter(|p| p.joins_after.is_none_or(|d| d.signed() <= offset))
            .filter(|p| p.leaves_after.is_none_or(|d| d.signed() > offset))
            .filter(|p| crate::playbook::selector::seed_matches(wanted, p))
            .count();
        let Some(takes) = fan_out_time(calls, self.rate_limit) else {
            return;
        };
        if let Some(row) = self.plan.rows.last_mut() {
            row.takes = Some(takes);
        }
        if let Some(timeout) = &step.timeout
            && timeout.value.signed() < takes
        {
            self.plan.warnings.push(format!(
                "step {id}: its timeout {} is shorter than the {} its {calls} calls take at {} a minute",
                timeout.value,
                human(takes),
                self.rate_limit
            ));
        }
        self.now = self.now.checked_add(takes).unwrap_or(self.now);
    }

    /// Warns about people a step names who are not expected in the rehearsal by then.
    pub(super) fn check_people(
        &mut self,
        id: &StepId,
        name: &str,
        action: &Action,
        rehearsal: &MeetingSeed,
    ) {
        let Some(wanted) = named_person(action) else {
            return;
        };
        let offset = self.now.duration_since(self.start);
        let expected: Vec<&ParticipantSeed> = rehearsal
            .participants
            .iter()
            .filter(|p| p.name.to_lowercase() == wanted.to_lowercase())
            .collect();
        match expected.first() {
            None => self.plan.warnings.push(format!(
                "step {id} ({name}) names {wanted}, who is not among the rehearsal's participants"
            )),
            // After a wait of unknown length the time is a lower bound: whether they are
            // there by then cannot be told.
            Some(_) if !self.exact => {}
            Some(person) => {
                let joins = person
                    .joins_after
                    .map_or(SignedDuration::ZERO, |d| d.signed());
                let leaves = person.leaves_after.map(|d| d.signed());
                if joins > offset {
                    self.plan.warnings.push(format!(
                        "step {id} ({name}) names {wanted} at +{}, but they are expected to join at +{}",
                        human(offset),
                        human(joins)
                    ));
                } else if leaves.is_some_and(|l| l <= offset) {
                    self.plan.warnings.push(format!(
                        "step {id} ({name}) names {wanted} at +{}, but they are expected to have left at +{}",
                        human(offset),
                        human(leaves.unwrap_or_default())
                    ));
                }
            }
        }
    }
}

/// The display name a participant action names, when it names one by name.
fn named_person(action: &Action) -> Option<String> {
    use crate::playbook::{Selector, SelectorMatch};
    match action.selector()? {
        Selector::Name(name) => Some(name.clone()),
        Selector::Match(SelectorMatch {
            name: Some(name), ..
        }) => Some(name.clone()),
        Selector::Match(_) => None,
    }
}

/// For `check`: steps whose own `timeout` is shorter than their fan-out over the whole
/// rehearsal crowd takes at the rate limit, as `file:line:col: message`. Only literal
/// selectors in the playbook's own file are looked at; `plan --sim` sees the rest.
pub(crate) fn short_fan_out_timeouts(playbook: &Playbook) -> Vec<String> {
    fn visit<'a>(
        steps: &'a [Spanned<Step>],
        found: &mut Vec<(&'a Spanned<Step>, usize)>,
        crowd: &MeetingSeed,
    ) {
        for step in steps {
            if step.included.is_some() {
                continue;
            }
            if let Some(Body::Action { name, args, .. }) = step.body()
                && step.timeout.is_some()
                && let Ok(
                    Action::Mute(crate::playbook::Selector::Match(wanted))
                    | Action::Unmute(crate::playbook::Selector::Match(wanted)),
                ) = Action::from_parts(name, args.to_json())
                && wanted.all
            {
                let calls = crowd
                    .participants
                    .iter()
                    .filter(|p| crate::playbook::selector::seed_matches(&wanted, p))
                    .count();
                found.push((step, calls));
            }
            for list in [&step.steps, &step.rescue, &step.always]
                .into_iter()
                .flatten()
            {
                visit(&list.value, found, crowd);
            }
        }
    }
    let Some(crowd) = &playbook.doc.rehearsal else {
        return Vec::new();
    };
    let rate = playbook
        .doc
        .defaults
        .rate_limit
        .unwrap_or(crate::playbook::DEFAULT_RATE_LIMIT);
    let mut found = Vec::new();
    visit(&playbook.doc.steps.value, &mut found, &crowd.value);
    for scene in playbook.doc.scenes.values() {
        visit(&scene.value, &mut found, &crowd.value);
    }
    found
        .into_iter()
        .filter_map(|(step, calls)| {
            let timeout = step.timeout.as_ref()?;
            let takes = fan_out_time(calls, rate)?;
            (timeout.value.signed() < takes).then(|| {
                format!(
                    "{}:{}:{}: timeout {} is shorter than the {} its {calls} calls to the rehearsal's participants take at {rate} a minute",
                    playbook.file.name(),
                    timeout.pos.line,
                    timeout.pos.column,
                    timeout.value,
                    human(takes)
                )
            })
        })
        .collect()
}

/// How long `calls` calls to one API take at `per_minute` (none for no limit).
pub(crate) fn fan_out_time(calls: usize, per_minute: u32) -> Option<SignedDuration> {
    (per_minute > 0 && calls > 1)
        .then(|| SignedDuration::from_secs_f64(calls as f64 * 60.0 / f64::from(per_minute)))
}

fn human(offset: SignedDuration) -> String {
    crate::duration::human(offset.unsigned_abs())
}
