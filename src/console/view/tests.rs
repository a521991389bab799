//! The console drawn on ratatui's test backend, at 80×24 and 120×40, in the states an
//! operator meets: counting down, held, a hostile name, many hands, the run over.

use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

use super::draw;
use crate::console::ui::{Status, Ui};
use crate::control::protocol::{
    Current, LogLine, MeetingView, NextCue, Person, RunInfo, ShowState, StepState, StepView,
};

fn at(time: &str) -> String {
    format!("2026-12-02T{time}.000+08:00")
}

fn step(id: &str, name: &str, planned: Option<&str>, state: StepState) -> StepView {
    let started = matches!(
        state,
        StepState::Ok | StepState::Failed | StepState::Running
    );
    StepView {
        id: id.into(),
        name: name.into(),
        planned: planned.map(at),
        started: started.then(|| at(planned.unwrap_or("14:29:58")).replace(".000", ".400")),
        finished: matches!(state, StepState::Ok | StepState::Failed).then(|| at("14:30:02")),
        state,
    }
}

fn person(id: &str, name: &str, role: &str, hand: Option<u32>, muted: bool) -> Person {
    Person {
        id: id.into(),
        name: name.into(),
        role: role.into(),
        muted,
        hand,
        broadcast: false,
        roll_call: false,
    }
}

fn log(time: &str, level: &str, text: &str) -> LogLine {
    LogLine {
        at: at(time),
        level: level.into(),
        text: text.into(),
    }
}

/// A town hall a few minutes in: two steps done, one skipped, waiting for the Q&A cue.
fn counting_down() -> ShowState {
    let mut bob = person("p3", "Bob Li", "attendee", Some(1), false);
    bob.broadcast = true;
    ShowState {
        run: Some(RunInfo {
            run_id: "20261202T142955-town-hall".into(),
            playbook: "Town hall".into(),
            file: "town-hall.yaml".into(),
            meeting: "98765432".into(),
            endpoint: "the built-in emulator".into(),
            pid: 4242,
            user: "ops".into(),
            rehearsal: true,
        }),
        now: at("14:31:48"),
        held: false,
        steps: vec![
            step("1", "lock the doors", Some("14:30:00"), StepState::Ok),
            step("2", "welcome broadcast", Some("14:30:00"), StepState::Ok),
            step("3", "warm-up poll", None, StepState::Skipped),
            step("4", "open Q&A", Some("14:36:00"), StepState::Waiting),
            step("5", "closing words", Some("14:50:00"), StepState::Pending),
            step("6", "end", Some("14:55:00"), StepState::Pending),
        ],
        current: Some(Current {
            id: "4".into(),
            name: "open Q&A".into(),
            doing: "waiting for its cue".into(),
            until: Some(at("14:36:00")),
            left_ms: Some(252_000),
        }),
        next_cue: Some(NextCue {
            id: "4".into(),
            name: "open Q&A".into(),
            at: at("14:36:00"),
            left_ms: 252_000,
        }),
        meeting: MeetingView {
            state: "running".into(),
            subject: Some("Q4 town hall".into()),
            locked: Some(true),
            recording: Some(false),
            feed: "up".into(),
            waiting: 2,
        },
        roster: vec![
            person("p1", "Alice Zhang", "host", None, false),
            person("p2", "Carol Wu", "cohost", None, true),
            bob,
            person("p4", "Dan", "attendee", Some(2), true),
            person("p5", "Eve", "attendee", None, true),
        ],
        scenes: vec!["panic".into(), "qa_open".into()],
        panic_scene: Some("panic".into()),
        log: vec![
            // As the run writes them (`report::describe`).
            log("14:30:00", "info", "ok      [1/6] lock the doors (412ms)"),
            log(
                "14:30:02",
                "info",
                "ok      [2/6] welcome broadcast: Bob Li (1.6s)",
            ),
            log(
                "14:31:10",
                "operator",
                "⏯ ops (console): skip 3 — step 3 (warm-up poll) will be skipped",
            ),
            log(
                "14:31:40",
                "info",
                "feed    the meeting's feed is back at 14:31:40; changes are seen as they happen",
            ),
        ],
        finished: None,
    }
}

fn ui() -> Ui {
    Ui {
        selected: Some("p4".into()),
        ..Ui::new(true)
    }
}

fn render(state: &ShowState, ui: &Ui, width: u16, height: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| draw(frame, state, ui)).unwrap();
    terminal.backend().buffer().clone()
}

/// The screen as text, one line a row, wide characters once.
fn text(buffer: &Buffer) -> String {
    let width = usize::from(buffer.area.width);
    let mut out = String::new();
    if width == 0 {
        return out;
    }
    for row in buffer.content.chunks(width) {
        let mut line = String::new();
        let mut skip = 0;
        for cell in row {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            line.push_str(cell.symbol());
            skip = cell.symbol().width().saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn screen(state: &ShowState, ui: &Ui, width: u16, height: u16) -> String {
    text(&render(state, ui, width, height))
}

#[test]
fn counting_down_at_both_sizes() {
    let state = counting_down();
    insta::assert_snapshot!("counting_down_80x24", screen(&state, &ui(), 80, 24));
    insta::assert_snapshot!("counting_down_120x40", screen(&state, &ui(), 120, 40));
}

#[test]
fn countdowns_go_on_between_states() {
    let state = counting_down();
    let later = Ui {
        since_state: Duration::from_millis(2_500),
        ..ui()
    };
    let screen = screen(&state, &later, 80, 24);
    assert!(screen.contains("in 4:10"), "{screen}");
    assert!(screen.contains("14:31:50"), "{screen}");
}

#[test]
fn held_in_big_letters_with_the_abort_question() {
    let mut state = counting_down();
    state.held = true;
    let asking = Ui {
        confirm_abort: true,
        ..ui()
    };
    insta::assert_snapshot!("held_80x24", screen(&state, &asking, 80, 24));
    insta::assert_snapshot!("held_120x40", screen(&state, &asking, 120, 40));
}

#[test]
fn a_hostile_long_name_is_escaped_and_cut() {
    let mut state = counting_down();
    state.roster.push(person(
        "p9",
        "\u{1b}[2J\u{1b}]0;pwned\u{7}Mallory \u{202e}kcatta the very long display name 李小龙李小龙",
        "attendee",
        Some(3),
        false,
    ));
    state.log.push(log(
        "14:31:47",
        "error",
        "mute \u{1b}[31mMallory: the service said no \u{7}and went on for a long long long time",
    ));
    let reply = Ui {
        selected: Some("p9".into()),
        status: Some(Status {
            ok: false,
            message: "no one named \u{1b}[1mX\u{1b}[0m is online".into(),
        }),
        ..ui()
    };
    for (width, height) in [(80, 24), (120, 40)] {
        let buffer = render(&state, &reply, width, height);
        for cell in &buffer.content {
            assert!(
                !cell
                    .symbol()
                    .chars()
                    .any(|c| c.is_control() || c == '\u{202e}'),
                "{:?} reached the screen",
                cell.symbol()
            );
        }
        insta::assert_snapshot!(format!("hostile_{width}x{height}"), text(&buffer));
    }
}

#[test]
fn many_hands_scroll_to_the_cursor() {
    let mut state = counting_down();
    state.roster = (1..=30)
        .map(|n| {
            person(
                &format!("h{n}"),
                &format!("Guest {n:02}"),
                "attendee",
                Some(31 - n),
                n % 2 == 0,
            )
        })
        .collect();
    let on_last = Ui {
        // The 29th hand raised: far down the list.
        selected: Some("h2".into()),
        ..ui()
    };
    let small = screen(&state, &on_last, 80, 24);
    assert!(small.contains("▸#29"), "the cursor is in view:\n{small}");
    insta::assert_snapshot!("many_hands_80x24", small);
    insta::assert_snapshot!("many_hands_120x40", screen(&state, &on_last, 120, 40));
}

#[test]
fn the_run_over() {
    let mut state = counting_down();
    for step in &mut state.steps {
        if matches!(step.state, StepState::Waiting | StepState::Pending) {
            step.state = StepState::Ok;
            step.started = step.planned.clone();
        }
    }
    state.steps[4].state = StepState::Failed;
    state.current = None;
    state.next_cue = None;
    state.meeting.state = "ended".into();
    state.roster.clear();
    state.finished = Some("failed".into());
    let ended = Ui {
        ended: Some("failed (exit 1)".into()),
        ..ui()
    };
    insta::assert_snapshot!("ended_80x24", screen(&state, &ended, 80, 24));
    insta::assert_snapshot!("ended_120x40", screen(&state, &ended, 120, 40));
}

#[test]
fn help_over_the_panels() {
    let help = Ui { help: true, ..ui() };
    insta::assert_snapshot!("help_80x24", screen(&counting_down(), &help, 80, 24));
}

#[test]
fn no_color_uses_modifiers_only() {
    let mut state = counting_down();
    state.held = true;
    let coloured = render(&state, &ui(), 80, 24);
    assert!(
        coloured.content.iter().any(|c| c.fg != Color::Reset),
        "colours are on by default"
    );
    let plain = Ui {
        color: false,
        ..ui()
    };
    let buffer = render(&state, &plain, 80, 24);
    for cell in &buffer.content {
        assert_eq!((cell.fg, cell.bg), (Color::Reset, Color::Reset), "{cell:?}");
    }
    assert!(
        buffer
            .content
            .iter()
            .any(|c| c.modifier.contains(Modifier::REVERSED)),
        "the bars and the cursor still stand out"
    );
    assert_eq!(
        text(&buffer),
        text(&coloured),
        "the same text with and without colours"
    );
    insta::assert_snapshot!("no_color_80x24", text(&buffer));
}

#[test]
fn any_size_draws_without_panicking() {
    let mut state = counting_down();
    state.held = true;
    state.finished = Some("ok".into());
    let help = Ui { help: true, ..ui() };
    for width in [0, 1, 2, 10, 40, 79, 80, 81, 100, 200, 500] {
        for height in [0, 1, 2, 5, 23, 24, 25, 60, 200] {
            let screen = screen(&state, &help, width, height);
            if width < 80 || height < 24 {
                let first = screen.lines().next().unwrap_or("");
                assert!(
                    "terminal too small (need 80×24)".starts_with(first.trim_end_matches('…')),
                    "{width}×{height}: {first}"
                );
            }
        }
    }
    let too_small = screen(&state, &ui(), 60, 20);
    assert!(too_small.starts_with("terminal too small (need 80×24)"));
}
