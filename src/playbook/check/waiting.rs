//! What `check` finds wrong with the waiting-room actions: moving the host there, which
//! the service refuses.

use super::Checker;
use crate::playbook::action::Action;
use crate::playbook::{RoleMatch, Selector};
use crate::yaml::Pos;

impl Checker<'_> {
    pub(super) fn waiting_room(&mut self, action: &Action, pos: Pos) {
        if let Action::MoveToWaitingRoom(targets) = action
            && targets.selectors().iter().any(
                |who| matches!(who, Selector::Match(wanted) if wanted.role == Some(RoleMatch::Host)),
            )
        {
            self.at(
                pos,
                "move_to_waiting_room: the host cannot be moved to the waiting room",
            )
            .help = Some(
                "aim it at guests, e.g. `move_to_waiting_room: { role: guest, all: true }`".into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::problems_in;

    const HEAD: &str = "name: t\nmeeting: { id: \"914044873\", host_password: p }\nsteps:\n";

    #[test]
    fn the_host_is_not_moved_to_the_waiting_room() {
        for step in [
            "  - move_to_waiting_room: { role: host }\n",
            "  - move_to_waiting_room: [Bob Li, { role: host }]\n",
        ] {
            let problems = problems_in(&format!("{HEAD}{step}"));
            assert_eq!(problems.len(), 1, "{step}: {problems:#?}");
            assert!(problems[0].message.contains("the host cannot be moved"));
            let line = problems[0].file.text()[..problems[0].span.offset]
                .lines()
                .count();
            assert_eq!(line, 4, "{problems:#?}");
        }
        for fine in [
            "  - move_to_waiting_room: { role: guest, all: true }\n",
            "  - admit: { all: true }\n",
            "  - admit: [Hana Xu, Ivan Ho]\n",
            "  - wait_for: { waiting: Hana Xu, timeout: 1m }\n",
        ] {
            let problems = problems_in(&format!("{HEAD}{fine}"));
            assert!(problems.is_empty(), "{fine}: {problems:#?}");
        }
    }
}
