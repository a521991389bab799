//! Events in, the show's state out.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::playbook::step_id::StepId;
use crate::run::{CueStatus, CueTiming, Place, Summary};

const T0: &str = "2026-12-02T06:30:00Z";

fn at(seconds: i64) -> Timestamp {
    T0.parse::<Timestamp>().unwrap() + SignedDuration::from_secs(seconds)
}

fn shown(seconds: i64) -> String {
    at(seconds).to_string()
}

fn show() -> Show {
    Show::new(
        vec![
            PlannedStep {
                id: "1".into(),
                name: "open".into(),
                planned: None,
            },
            PlannedStep {
                id: "2".into(),
                name: "intro".into(),
                planned: Some((at(600), shown(600))),
            },
            PlannedStep {
                id: "3".into(),
                name: "close".into(),
                planned: None,
            },
        ],
        Secrets::new(false),
    )
}

fn started(id: &StepId, name: &str) -> Event {
    Event::StepStarted {
        id: id.clone(),
        name: name.into(),
        action: None,
        cue: 1,
    }
}

fn finished(id: &StepId, name: &str, outcome: Outcome) -> Event {
    Event::StepFinished {
        id: id.clone(),
        name: name.into(),
        action: None,
        cue: 1,
        outcome,
        elapsed: Duration::from_secs(1),
        retries: 0,
        detail: None,
        started: shown(60),
        finished: shown(61),
        at: Place::default(),
    }
}

fn waiting(id: &StepId, name: &str, until: i64) -> Event {
    Event::Waiting {
        id: id.clone(),
        name: name.into(),
        until: shown(until),
        // Applied at 0: the wait ends at `until`.
        left: Duration::from_secs(until.unsigned_abs()),
    }
}

#[test]
fn the_steps_follow_the_run() {
    let mut show = show();
    let one = StepId::top_level(1);
    let state = show.state(at(0), "now", &[]);
    assert!(state.steps.iter().all(|s| s.state == StepState::Pending));
    let next = state.next_cue.unwrap();
    assert_eq!((next.id.as_str(), next.left_ms), ("2", 600_000));

    // Counting down to step 1's cue.
    show.apply(&waiting(&one, "open", 30), at(0), "t");
    let state = show.state(at(10), "t", &[]);
    assert_eq!(state.steps[0].state, StepState::Waiting);
    assert_eq!(state.steps[0].planned, Some(shown(30)));
    let current = state.current.unwrap();
    assert_eq!(current.doing, "waiting for its cue");
    assert_eq!(current.left_ms, Some(20_000));
    assert_eq!(state.next_cue.unwrap().id, "1");

    show.apply(
        &Event::Cue(CueTiming {
            id: one.clone(),
            name: "open".into(),
            cue: "+30s".into(),
            planned: shown(30),
            actual: shown(31),
            late_ms: 1000,
            status: CueStatus::OnTime,
            by: None,
        }),
        at(0),
        "t",
    );
    show.apply(&started(&one, "open"), at(0), "t1");
    let state = show.state(at(31), "t1", &[]);
    assert_eq!(state.steps[0].state, StepState::Running);
    assert_eq!(state.steps[0].started.as_deref(), Some("t1"));
    assert_eq!(state.current.as_ref().unwrap().doing, "running");

    // A `wait` inside the step is a wait, not a cue.
    let inner = one.child(1);
    show.apply(&started(&inner, "pause"), at(0), "t2");
    show.apply(&waiting(&inner, "pause", 40), at(0), "t2");
    let current = show.state(at(35), "t2", &[]).current.unwrap();
    assert_eq!(
        (current.id.as_str(), current.doing.as_str()),
        ("1.1", "waiting")
    );
    assert_eq!(current.left_ms, Some(5_000));
    show.apply(&finished(&inner, "pause", Outcome::Ok), at(0), "t3");
    let current = show.state(at(41), "t3", &[]).current.unwrap();
    assert_eq!(
        (current.id.as_str(), current.doing.as_str()),
        ("1", "running")
    );

    show.apply(
        &finished(
            &one,
            "open",
            Outcome::Failed {
                error: "no".into(),
                continued: true,
            },
        ),
        at(0),
        "t4",
    );
    show.apply(
        &Event::StepSkipped {
            id: StepId::top_level(2),
            name: "intro".into(),
            reason: "skipped by an operator".into(),
            at: Place::default(),
        },
        at(0),
        "t5",
    );
    let state = show.state(at(50), "t5", &[]);
    assert_eq!(state.steps[0].state, StepState::Failed);
    assert_eq!(state.steps[0].finished, Some(shown(61)));
    assert_eq!(state.steps[1].state, StepState::Skipped);
    assert_eq!(state.current, None);
    assert_eq!(state.next_cue, None, "a skipped step has no cue to come");
}

#[test]
fn a_cue_in_the_past_is_not_the_next() {
    let show = show();
    assert_eq!(show.state(at(601), "t", &[]).next_cue, None);
}

#[test]
fn the_meeting_and_the_feed_follow_the_run() {
    let mut show = show();
    show.apply(
        &Event::MeetingWaiting {
            until: shown(300),
            left: Duration::from_secs(300),
            poll: Duration::from_secs(10),
        },
        at(0),
        "t",
    );
    let state = show.state(at(100), "t", &[]);
    assert_eq!(state.meeting.state, "not started");
    assert_eq!(state.current.unwrap().left_ms, Some(200_000));
    show.apply(
        &Event::MeetingStarted {
            at: shown(120),
            how: crate::run::MeetingStart::Waited,
        },
        at(0),
        "t",
    );
    show.apply(
        &Event::FeedDown {
            at: shown(130),
            why: "gone".into(),
        },
        at(0),
        "t",
    );
    let state = show.state(at(130), "t", &[]);
    assert_eq!(
        (state.meeting.state.as_str(), state.meeting.feed.as_str()),
        ("running", "down")
    );
    assert_eq!(state.current, None);
    show.apply(&Event::FeedUp { at: shown(140) }, at(0), "t");
    assert_eq!(show.state(at(140), "t", &[]).meeting.feed, "up");
    show.apply(
        &Event::RunFinished {
            summary: Summary {
                success: false,
                ..Summary::default()
            },
        },
        at(0),
        "t",
    );
    assert_eq!(
        show.state(at(150), "t", &[]).finished.as_deref(),
        Some("failed")
    );
}

#[test]
fn the_log_keeps_the_last_lines_masked_and_printable() {
    let secrets = Secrets::new(false);
    secrets.remember("hunter22");
    let mut show = Show::new(Vec::new(), secrets);
    for n in 0..LOG_LINES + 5 {
        show.apply(
            &Event::Message {
                id: StepId::top_level(1),
                level: LogLevel::Warn,
                text: format!("line {n}: password hunter22 \x1b[2J"),
            },
            at(0),
            "t",
        );
    }
    let log = show.state(at(0), "t", &[]).log;
    assert_eq!(log.len(), LOG_LINES);
    let last = log.last().unwrap();
    assert_eq!(last.level, "warn");
    assert!(
        last.text.contains(&format!("line {}", LOG_LINES + 4)),
        "{last:?}"
    );
    assert!(!last.text.contains("hunter22"), "{last:?}");
    assert!(!last.text.contains('\x1b'), "{last:?}");
    assert!(log[0].text.contains("line 5:"), "{:?}", log[0]);
}

#[test]
fn a_long_line_is_clipped_so_that_states_stay_small() {
    let mut show = Show::new(Vec::new(), Secrets::new(false));
    show.apply(
        &Event::Message {
            id: StepId::top_level(1),
            level: LogLevel::Info,
            text: "é".repeat(1_000_000),
        },
        at(0),
        "t",
    );
    let log = show.state(at(0), "t", &[]).log;
    let text = &log[0].text;
    assert!(text.ends_with('…'), "{}", &text[text.len() - 10..]);
    assert!(text.chars().count() <= LOG_LINE_CHARS, "{}", text.len());
    assert_eq!(clipped("short".into(), 5), "short");
    assert_eq!(clipped("longer".into(), 5), "long…");
}

#[test]
fn operator_commands_have_their_own_lines() {
    let mut show = show();
    show.apply(
        &Event::Operator {
            at: shown(1),
            user: "ana".into(),
            via: "cue".into(),
            command: "hold".into(),
            ok: true,
            message: "held before step 1 (open)".into(),
        },
        at(0),
        "t",
    );
    let log = show.state(at(1), "t", &[]).log;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].level, "operator");
    assert!(log[0].text.contains("hold"), "{:?}", log[0]);
}

#[test]
fn a_cue_told_later_is_the_next_and_a_known_one_stays() {
    let mut show = show();
    show.plan("3", at(900), shown(900));
    show.plan("2", at(1), shown(1));
    let state = show.state(at(601), "t", &[]);
    let next = state.next_cue.unwrap();
    assert_eq!((next.id.as_str(), next.left_ms), ("3", 299_000));
    assert_eq!(state.steps[1].planned, Some(shown(600)));
}

#[test]
fn a_countdown_an_operator_played_between_goes_on_being_shown() {
    let mut show = show();
    let two = StepId::top_level(2);
    let op = StepId::operator(1);
    show.apply(&waiting(&two, "Cued", 600), at(0), "t");
    show.apply(&started(&op, "do log"), at(1), "t");
    let current = show.state(at(1), "t", &[]).current.unwrap();
    assert_eq!(current.id, "op1");
    show.apply(&finished(&op, "do log", Outcome::Ok), at(2), "t");
    let current = show.state(at(2), "t", &[]).current.unwrap();
    assert_eq!(current.id, "2");
    assert_eq!(current.doing, "waiting for its cue");
}

#[test]
fn the_next_cue_is_not_one_an_operator_will_skip() {
    let show = show();
    assert_eq!(show.next_cue(at(0), &[]).unwrap().id, "2");
    assert_eq!(show.next_cue(at(0), &["2".into()]).map(|c| c.id), None);
    assert_eq!(show.state(at(0), "t", &["2".into()]).next_cue, None);
}
