//! What `check` finds wrong with the waiting-room actions: any of them in a playbook
//! that turns the meeting's feed off (the waiting room is seen only through it), and
//! moving the host there, which the service refuses.

use super::Checker;
use crate::playbook::action::Action;
use crate::playbook::{Events, RoleMatch, Selector};
use crate::yaml::Pos;

impl Checker<'_> {
    pub(super) fn waiting_room(&mut self, action: &Action, pos: Pos) {
        let about_waiting = match action {
            Action::Admit(_) | Action::MoveToWaitingRoom(_) => true,
            Action::WaitFor(wait_for) => wait_for.waiting.is_some(),
            _ => false,
        };
        let feed_off = self
            .playbook
            .doc
            .meeting
            .events
            .as_ref()
            .is_some_and(|events| events.value == Events::Off);
        if about_waiting && feed_off {
            self.at(
                pos,
                format!(
                    "{}: the waiting room is seen only through the meeting's feed, and this playbook turns it off (`events: off`)",
                    action.name()
                ),
            )
            .help = Some("remove `events: off` from `meeting`, or this step".into());
        }
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
    fn the_waiting_room_needs_the_feed() {
        let head = "name: t\nmeeting: { id: \"914044873\", host_password: p, events: off }\nsteps:\n  - log: hi\n";
        for (step, name) in [
            ("  - admit: { all: true }\n", "admit"),
            ("  - move_to_waiting_room: Bob Li\n", "move_to_waiting_room"),
            ("  - wait_for: { waiting: Hana Xu }\n", "wait_for"),
        ] {
            let problems = problems_in(&format!("{head}{step}"));
            assert_eq!(problems.len(), 1, "{step}: {problems:#?}");
            let problem = &problems[0];
            assert!(
                problem
                    .message
                    .starts_with(&format!("{name}: the waiting room is seen only through")),
                "{problem:#?}"
            );
            // At the action's arguments, on its line.
            let line = problem.file.text()[..problem.span.offset].lines().count();
            assert_eq!(line, 5, "{problem:#?}");
        }
        // Other waits, and the same steps with the feed on, are fine.
        assert!(problems_in(&format!("{head}  - wait_for: {{ joined: Bob Li }}\n")).is_empty());
        for events in ["auto", "required"] {
            let head = head.replace("events: off", &format!("events: {events}"));
            assert!(problems_in(&format!("{head}  - admit: Hana Xu\n")).is_empty());
        }
    }

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
