//! Who a plan checks the people its steps name against, and the check against a live
//! meeting: the planner renders each step's selector as a run would (variables,
//! loops, includes) and asks the meeting's verdict on it; a warning names the step's
//! place in its file. The meeting itself is read elsewhere: the plan stays offline.

use super::{AT_RUN_TIME, Planner};
use crate::meeting::MeetingSeed;
use crate::node::Node;
use crate::playbook::Selector;
use crate::playbook::action::Action;
use crate::playbook::step_id::StepId;
use crate::yaml::Spanned;

/// A live meeting's verdict on a selector: a warning, or `None` when it is fine.
pub(crate) type Verdict<'a> = &'a dyn Fn(&Selector) -> Option<String>;

/// Who the people a step names are checked against.
#[derive(Clone, Copy, Default)]
pub(crate) enum People<'a> {
    /// Nobody: the plan alone.
    #[default]
    Unchecked,
    /// Those the rehearsal expects, and when (`plan --sim`).
    Rehearsal(&'a MeetingSeed),
    /// Those in a live meeting and invited to it now (`--live`).
    Live(Verdict<'a>),
}

impl Planner<'_> {
    /// The live meeting's verdict on the selector of `action`, as a warning at the
    /// action's arguments (`file:line:col`). A selector only a run can render is left
    /// alone.
    pub(super) fn check_live(
        &mut self,
        id: &StepId,
        name: &str,
        action: &Action,
        args: &Spanned<Node>,
    ) {
        let (Some(verdict), Some(selector)) = (self.live, action.selector()) else {
            return;
        };
        if selector.to_string().contains(AT_RUN_TIME) {
            return;
        }
        if let Some(warning) = verdict(selector) {
            // A selector rendered from a secret shows `***`, never the secret.
            let warning = self.engine.secrets().hide_fields(&format!(
                "{}:{}:{}: step {id} ({name}): {warning}",
                self.file.name(),
                args.pos.line,
                args.pos.column
            ));
            self.plan.live.push(warning);
        }
    }
}
