//! What the console itself remembers between two states from the run: who is selected,
//! whether an abort waits for its confirmation, the last reply, whether help is open.
//! The view draws a [`ShowState`] with this beside it; the keys change it.

use std::time::Duration;

use crate::control::protocol::{Person, ShowState};

/// The smallest terminal the console draws in, and takes keys in.
pub(crate) const MIN_WIDTH: u16 = 80;
pub(crate) const MIN_HEIGHT: u16 = 24;

/// The console's own state, beside the run's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Ui {
    /// The selected participant's id; kept by id so that the cursor stays on the same
    /// person while the roster reorders under it.
    pub selected: Option<String>,
    /// `a` was pressed: the next key answers "abort the show? y/N".
    pub confirm_abort: bool,
    /// The help overlay is open.
    pub help: bool,
    /// The last thing to tell the operator: a reply, or why a key did nothing.
    pub status: Option<Status>,
    /// Colours, unless `NO_COLOR` is set: without them only bold, reverse and the like.
    pub color: bool,
    /// How long ago the shown state arrived: countdowns and the clock go on from it.
    pub since_state: Duration,
    /// The run is over and its connection closed: the outcome, shown until a key.
    pub ended: Option<String>,
    /// The terminal was too small to draw in at the last draw: keys are not shown, so
    /// none but quitting acts.
    pub too_small: bool,
}

/// A line for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    pub ok: bool,
    pub message: String,
}

impl Ui {
    pub(crate) fn new(color: bool) -> Ui {
        Ui {
            color,
            ..Ui::default()
        }
    }

    /// The selected person, if they are still online.
    pub(crate) fn selected<'s>(&self, state: &'s ShowState) -> Option<&'s Person> {
        let id = self.selected.as_deref()?;
        state.roster.iter().find(|person| person.id == id)
    }

    /// Moves the cursor `by` rows in the roster as shown (negative: up); from nobody,
    /// down picks the first row and up the last.
    pub(crate) fn select(&mut self, state: &ShowState, by: isize) {
        let order = roster_order(&state.roster);
        if order.is_empty() {
            self.selected = None;
            return;
        }
        let last = order.len() - 1;
        let at = self
            .selected
            .as_deref()
            .and_then(|id| order.iter().position(|person| person.id == id));
        let row = match at {
            Some(row) => row.saturating_add_signed(by).min(last),
            None if by < 0 => last,
            None => 0,
        };
        self.selected = Some(order[row].id.clone());
    }
}

/// The roster in the order the console shows it: raised hands first, in the order
/// they went up, then the host, the co-hosts, and everyone else as the run listed them.
pub(crate) fn roster_order(roster: &[Person]) -> Vec<&Person> {
    let mut order: Vec<&Person> = roster.iter().collect();
    // A stable sort keeps the run's order within each group.
    order.sort_by_key(|person| match (person.hand, person.role.as_str()) {
        (Some(place), _) => (0, place),
        (None, "host") => (1, 0),
        (None, "cohost") => (2, 0),
        (None, _) => (3, 0),
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn person(id: &str, name: &str, role: &str, hand: Option<u32>) -> Person {
        Person {
            id: id.into(),
            name: name.into(),
            role: role.into(),
            muted: false,
            hand,
            broadcast: false,
            roll_call: false,
        }
    }

    #[test]
    fn hands_come_first_in_the_order_raised_then_host_and_cohosts() {
        let roster = vec![
            person("1", "Ann", "attendee", None),
            person("2", "Bo", "cohost", None),
            person("3", "Cy", "attendee", Some(2)),
            person("4", "Di", "host", None),
            person("5", "Ed", "attendee", Some(1)),
            person("6", "Fay", "attendee", None),
        ];
        let names: Vec<&str> = roster_order(&roster)
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["Ed", "Cy", "Di", "Bo", "Ann", "Fay"]);
    }

    #[test]
    fn the_cursor_follows_the_shown_order_and_stops_at_the_ends() {
        let state = ShowState {
            roster: vec![
                person("a", "Ann", "attendee", None),
                person("b", "Bo", "attendee", Some(1)),
            ],
            ..ShowState::default()
        };
        let mut ui = Ui::new(true);
        ui.select(&state, -1);
        assert_eq!(
            ui.selected.as_deref(),
            Some("a"),
            "up from nobody: the last row"
        );
        ui.selected = None;
        ui.select(&state, 1);
        assert_eq!(
            ui.selected.as_deref(),
            Some("b"),
            "down from nobody: the first row"
        );
        ui.select(&state, -1);
        assert_eq!(ui.selected.as_deref(), Some("b"));
        ui.select(&state, 1);
        ui.select(&state, 1);
        assert_eq!(ui.selected.as_deref(), Some("a"));
        assert_eq!(ui.selected(&state).map(|p| p.name.as_str()), Some("Ann"));
        let gone = ShowState::default();
        assert_eq!(ui.selected(&gone), None);
        ui.select(&gone, 1);
        assert_eq!(ui.selected, None);
    }
}
