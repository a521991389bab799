//! What each key does on the console: pure, from the key, the console's own state and
//! the show's, to one [`Action`]. Every key that changes the show becomes a
//! [`Command`], sent through the control channel exactly as `emcee cue` sends it.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::ui::Ui;
use crate::control::protocol::{Command, Person, ShowState};

/// What a key asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// Send this to the run.
    Send(Command),
    /// Ask "abort the show? y/N" before sending anything.
    AskAbort,
    /// The question was answered with anything but `y`.
    KeepGoing,
    /// Move the roster cursor by this many rows.
    Select(isize),
    /// Open or close the help.
    Help,
    /// Nothing sent: say why on the status line.
    Say(String),
    /// Detach: the run goes on without this console.
    Quit,
    /// A key that means nothing here.
    Nothing,
}

/// The participant actions a key plays on the selected person, and their keys.
pub(crate) const PERSON_KEYS: &[(char, &str)] = &[
    ('b', "broadcast"),
    ('r', "roll_call"),
    ('l', "lower_hand"),
    ('m', "mute"),
];

/// The action for `key`.
pub(crate) fn action(key: KeyEvent, ui: &Ui, state: &ShowState) -> Action {
    // Terminals that report releases and repeats send them too: a key acts once.
    if key.kind != KeyEventKind::Press {
        return Action::Nothing;
    }
    // Raw mode turns Ctrl-C into a key: it leaves the console as `q` does, so that a
    // second one reaches the run as the signal it always was.
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return match key.code {
            KeyCode::Char('c' | 'd') => Action::Quit,
            _ => Action::Nothing,
        };
    }
    // The keys and their questions are not on the screen: nothing may be done blind.
    if ui.too_small {
        return match key.code {
            KeyCode::Char('q') => Action::Quit,
            _ => Action::Say(format!(
                "terminal too small: make it at least {}×{} to use the keys",
                super::ui::MIN_WIDTH,
                super::ui::MIN_HEIGHT
            )),
        };
    }
    if ui.confirm_abort {
        return match key.code {
            KeyCode::Char('y') => Action::Send(Command::Abort),
            _ => Action::KeepGoing,
        };
    }
    if ui.help && matches!(key.code, KeyCode::Esc | KeyCode::Char('?')) {
        return Action::Help;
    }
    match key.code {
        KeyCode::Char('h') if state.held => Action::Send(Command::Resume),
        KeyCode::Char('h') => Action::Send(Command::Hold),
        KeyCode::Char('g') => Action::Send(Command::Go),
        KeyCode::Char('s') => Action::Send(Command::Skip { step: None }),
        KeyCode::Char('a') => Action::AskAbort,
        KeyCode::Char('p' | '!') => match &state.panic_scene {
            Some(name) => Action::Send(Command::Scene { name: name.clone() }),
            None => Action::Say("this playbook has no panic scene".into()),
        },
        KeyCode::Char('L') => Action::Send(Command::Do {
            action: "lower_all_hands".into(),
            selector: None,
            participant: None,
        }),
        KeyCode::Up | KeyCode::Char('k') => Action::Select(-1),
        KeyCode::Down | KeyCode::Char('j') => Action::Select(1),
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Esc if ui.help => Action::Help,
        KeyCode::Char(c) => match PERSON_KEYS.iter().find(|(key, _)| *key == c) {
            Some((_, name)) => match ui.selected(state) {
                Some(person) => Action::Send(Command::Do {
                    action: (*name).to_string(),
                    selector: None,
                    participant: Some(participant(person)),
                }),
                None => Action::Say(format!("select someone first (↑/↓) to {name}")),
            },
            None => Action::Nothing,
        },
        _ => Action::Nothing,
    }
}

/// Whom a person key aims at: the id the service gave the person under the cursor,
/// never their display name. A name is chosen by whoever joins: sent as a selector it
/// could name someone else, match several, or be read as a template.
pub(crate) fn participant(person: &Person) -> String {
    person.id.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::Person;

    fn press(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    fn show() -> ShowState {
        ShowState {
            panic_scene: Some("panic".into()),
            roster: vec![Person {
                id: "p7".into(),
                name: "Bob \"Li\": {x}".into(),
                role: "attendee".into(),
                muted: false,
                hand: Some(1),
                broadcast: false,
                roll_call: false,
            }],
            ..ShowState::default()
        }
    }

    #[test]
    fn hold_toggles_by_the_shows_state() {
        let ui = Ui::default();
        let mut state = show();
        assert_eq!(action(press('h'), &ui, &state), Action::Send(Command::Hold));
        state.held = true;
        assert_eq!(
            action(press('h'), &ui, &state),
            Action::Send(Command::Resume)
        );
    }

    #[test]
    fn show_keys_send_their_commands() {
        let ui = Ui::default();
        let state = show();
        assert_eq!(action(press('g'), &ui, &state), Action::Send(Command::Go));
        assert_eq!(
            action(press('s'), &ui, &state),
            Action::Send(Command::Skip { step: None })
        );
        assert_eq!(
            action(press('L'), &ui, &state),
            Action::Send(Command::Do {
                action: "lower_all_hands".into(),
                selector: None,
                participant: None,
            })
        );
        assert_eq!(action(press('q'), &ui, &state), Action::Quit);
        assert_eq!(action(press('?'), &ui, &state), Action::Help);
        assert_eq!(action(press('x'), &ui, &state), Action::Nothing);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_c, &ui, &state), Action::Quit);
        let mut release = press('g');
        release.kind = KeyEventKind::Release;
        assert_eq!(action(release, &ui, &state), Action::Nothing);
    }

    #[test]
    fn too_small_a_terminal_lets_no_key_act_but_quitting() {
        let ui = Ui {
            too_small: true,
            ..Ui::default()
        };
        let state = show();
        for key in ['a', 'y', 'p', 'h', 'g', 'L'] {
            assert!(
                matches!(action(press(key), &ui, &state), Action::Say(_)),
                "{key}"
            );
        }
        // Even an abort already asked for is not confirmed blind.
        let asking = Ui {
            confirm_abort: true,
            ..ui.clone()
        };
        assert!(matches!(
            action(press('y'), &asking, &state),
            Action::Say(_)
        ));
        assert_eq!(action(press('q'), &ui, &state), Action::Quit);
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action(ctrl_c, &ui, &state), Action::Quit);
    }

    #[test]
    fn panic_plays_the_panic_scene_at_once() {
        let ui = Ui::default();
        let mut state = show();
        let panic = Action::Send(Command::Scene {
            name: "panic".into(),
        });
        assert_eq!(action(press('p'), &ui, &state), panic);
        assert_eq!(action(press('!'), &ui, &state), panic);
        state.panic_scene = None;
        assert!(
            matches!(action(press('p'), &ui, &state), Action::Say(m) if m.contains("no panic scene"))
        );
    }

    #[test]
    fn abort_asks_first_and_only_y_confirms() {
        let mut ui = Ui::default();
        let state = show();
        assert_eq!(action(press('a'), &ui, &state), Action::AskAbort);
        ui.confirm_abort = true;
        assert_eq!(
            action(press('y'), &ui, &state),
            Action::Send(Command::Abort)
        );
        for key in [press('Y'), press('n'), press('a'), press('h'), press('q')] {
            assert_eq!(action(key, &ui, &state), Action::KeepGoing, "{key:?}");
        }
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        assert_eq!(action(enter, &ui, &state), Action::KeepGoing);
    }

    #[test]
    fn the_cursor_moves_with_arrows_and_j_k() {
        let ui = Ui::default();
        let state = show();
        let up = KeyEvent::new(KeyCode::Up, KeyModifiers::NONE);
        let down = KeyEvent::new(KeyCode::Down, KeyModifiers::NONE);
        assert_eq!(action(up, &ui, &state), Action::Select(-1));
        assert_eq!(action(press('k'), &ui, &state), Action::Select(-1));
        assert_eq!(action(down, &ui, &state), Action::Select(1));
        assert_eq!(action(press('j'), &ui, &state), Action::Select(1));
    }

    #[test]
    fn person_keys_act_on_the_selected_person_by_id_never_by_name() {
        let mut ui = Ui::default();
        let state = show();
        assert!(
            matches!(action(press('m'), &ui, &state), Action::Say(m) if m.contains("select someone"))
        );
        ui.selected = Some("p7".into());
        for (key, name) in [
            ('b', "broadcast"),
            ('r', "roll_call"),
            ('l', "lower_hand"),
            ('m', "mute"),
        ] {
            let Action::Send(Command::Do {
                action: got,
                selector,
                participant,
            }) = action(press(key), &ui, &state)
            else {
                panic!("{key} sends nothing");
            };
            assert_eq!(got, name);
            assert_eq!(selector, None);
            assert_eq!(participant.as_deref(), Some("p7"));
        }
        // Someone who has left is no longer a target.
        ui.selected = Some("gone".into());
        assert!(matches!(action(press('b'), &ui, &state), Action::Say(_)));
    }
}
