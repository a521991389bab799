//! The operator's commands in the executor: sent as the run's events come (as a
//! console would, seeing them), acted on at the run's check points.

use std::sync::Arc;

use super::*;
use crate::control::protocol::{Command, Via};
use crate::run::operator::{Operator, Who};
use crate::run::{CueStatus, CueTiming};

fn alice() -> Who {
    Who {
        user: "alice".into(),
        uid: 1000,
        via: Via::Cue,
    }
}

/// Sends `command` as alice; panics when the run refuses it.
fn send(operator: &Operator, command: Command) -> String {
    let reply = operator.submit(command, alice());
    assert!(reply.ok, "{reply:?}");
    reply.message
}

/// `do ACTION SELECTOR`.
fn one_off(action: &str, selector: &str) -> Command {
    Command::Do {
        action: action.into(),
        selector: Some(selector.into()),
        participant: None,
    }
}

/// Sends `command` after `ms` of real time, from a task of its own: to release a run
/// that waits for nothing but the operator.
fn later(operator: &Arc<Operator>, ms: u64, command: Command) {
    let operator = Arc::clone(operator);
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        send(&operator, command);
    });
}

fn finished(event: &Event, step: &str) -> bool {
    matches!(event, Event::StepFinished { id, .. } if id.to_string() == step)
}

fn waiting(event: &Event, step: &str) -> bool {
    matches!(event, Event::Waiting { id, .. } if id.to_string() == step)
}

/// Where in the run's events the first one `what` matches is.
fn index(run: &Rehearsed, what: impl Fn(&Event) -> bool) -> usize {
    run.events
        .iter()
        .position(what)
        .unwrap_or_else(|| panic!("no such event: {:#?}", run.events))
}

fn started_at(run: &Rehearsed, step: &str) -> usize {
    index(
        run,
        |e| matches!(e, Event::StepStarted { id, .. } if id.to_string() == step),
    )
}

fn operator_at(run: &Rehearsed, command: &str) -> usize {
    index(
        run,
        |e| matches!(e, Event::Operator { command: c, .. } if c == command),
    )
}

fn skipped(run: &Rehearsed, step: &str) -> String {
    run.events
        .iter()
        .find_map(|e| match e {
            Event::StepSkipped { id, reason, .. } if id.to_string() == step => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("step {step} not skipped: {:#?}", run.events))
}

async fn operated(
    steps: &str,
    script: impl FnMut(&Event, &Arc<Operator>) + Send + 'static,
) -> Rehearsed {
    rehearse_operated(steps, CLASS, None, &[], Some(Box::new(script))).await
}

#[tokio::test]
async fn hold_keeps_the_next_step_from_starting_until_resume() {
    let run = operated("  - log: one\n  - log: two\n", |event, operator| {
        if finished(event, "1") {
            assert_eq!(send(operator, Command::Hold), "held before step 2 (log)");
            later(operator, 50, Command::Resume);
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(operator_at(&run, "hold") < operator_at(&run, "resume"));
    assert!(operator_at(&run, "resume") < started_at(&run, "2"));
}

#[tokio::test]
async fn a_command_during_a_wait_is_shown_at_once_not_when_the_wait_ends() {
    let run = operated("  - wait: 10m\n  - log: two\n", |event, operator| {
        if waiting(event, "1") {
            send(operator, Command::Hold);
            later(operator, 50, Command::Resume);
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(
        operator_at(&run, "hold") < index(&run, |e| finished(e, "1")),
        "{:#?}",
        run.events
    );
    assert!(operator_at(&run, "resume") < started_at(&run, "2"));
}

#[tokio::test]
async fn a_go_between_steps_ends_the_wait_that_comes_next() {
    let run = operated("  - log: one\n  - wait: 10m\n", |event, operator| {
        if finished(event, "1") {
            send(operator, Command::Go);
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let (_, detail, _) = run.finished("2");
    assert_eq!(detail, Some("cut short by alice after 0ms"));
}

#[tokio::test]
async fn go_ends_the_wait_of_what_an_operator_played() {
    let run = operated("  - log: one\n  - log: two\n", |event, operator| {
        if finished(event, "1") {
            send(operator, one_off("wait", "10m"));
        }
        if waiting(event, "op1") {
            send(operator, Command::Go);
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let (_, detail, _) = run.finished("op1");
    assert_eq!(detail, Some("cut short by alice after 0ms"));
}

#[tokio::test]
async fn held_a_go_that_ends_an_operators_wait_lets_no_step_start() {
    let run = operated("  - log: one\n  - log: two\n", |event, operator| {
        if finished(event, "1") {
            send(operator, Command::Hold);
            send(operator, one_off("wait", "10m"));
        }
        if waiting(event, "op1") {
            assert_eq!(
                send(operator, Command::Go),
                "go: the wait of what an operator played ends, and it goes on"
            );
            later(operator, 50, Command::Resume);
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let (_, detail, _) = run.finished("op1");
    assert_eq!(detail, Some("cut short by alice after 0ms"));
    assert!(
        operator_at(&run, "resume") < started_at(&run, "2"),
        "still held: {:#?}",
        run.events
    );
}

#[tokio::test]
async fn a_scene_asked_for_during_the_last_step_still_plays() {
    let run = operated("  - log: one\n", |event, operator| {
        if matches!(event, Event::StepStarted { id, .. } if id.to_string() == "1") {
            send(operator, one_off("log", "late"));
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.ok("op1"), "{:#?}", run.events);
}

#[tokio::test]
async fn go_while_held_starts_one_step_and_stays_held() {
    let run = operated(
        "  - log: one\n  - log: two\n  - log: three\n",
        |event, operator| {
            if finished(event, "1") {
                send(operator, Command::Hold);
                send(operator, Command::Go);
            }
            if finished(event, "2") {
                assert!(operator.held());
                later(operator, 50, Command::Resume);
            }
        },
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(started_at(&run, "2") < operator_at(&run, "resume"));
    assert!(operator_at(&run, "resume") < started_at(&run, "3"));
}

#[tokio::test]
async fn go_cuts_a_wait_short_and_its_output_says_so() {
    let run = operated(
        "  - wait: 10m\n    register: waited\n  - assert: \"waited.cut_short\"\n",
        |event, operator| {
            if waiting(event, "1") {
                send(operator, Command::Go);
            }
        },
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let (outcome, detail, _) = run.finished("1");
    assert_eq!(outcome, &Outcome::Ok);
    assert_eq!(detail, Some("cut short by alice after 0ms"));
    assert!(run.ok("2"), "the registered output says it was cut short");
}

#[tokio::test]
async fn go_ends_a_wait_for() {
    let run = operated(
        "  - wait_for: { joined: Nobody Known, timeout: 10m }\n    register: seen\n  - assert: \"seen.cut_short\"\n",
        |event, operator| {
            if waiting(event, "1") {
                send(operator, Command::Go);
            }
        },
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(
        run.finished("1")
            .1
            .unwrap()
            .starts_with("cut short by alice")
    );
    assert!(run.ok("2"));
}

#[tokio::test]
async fn go_fires_a_cue_early_and_later_cues_keep_their_time() {
    let run = operated(
        "  - at: +10m\n    log: early\n  - at: +20m\n    log: on time\n",
        |event, operator| {
            if waiting(event, "1") {
                send(operator, Command::Go);
            }
        },
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    let cues: Vec<_> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Cue(cue) => Some(cue.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(cues[0].status, CueStatus::Early);
    assert_eq!(cues[0].by.as_deref(), Some("alice"));
    assert!(cues[0].late_ms <= -590_000, "{cues:?}");
    assert_eq!(cues[1].status, CueStatus::OnTime);
    assert!(cues[1].late_ms.abs() < 1_000, "{cues:?}");
}

#[tokio::test]
async fn skip_takes_the_next_step_and_a_step_by_id() {
    let run = operated(
        "  - log: one\n  - log: two\n  - steps:\n      - log: inner one\n      - log: inner two\n",
        |event, operator| {
            if finished(event, "1") {
                assert_eq!(
                    send(operator, Command::Skip { step: None }),
                    "step 2 (log) will be skipped"
                );
                send(
                    operator,
                    Command::Skip {
                        step: Some("3.2".into()),
                    },
                );
                let unknown = operator.submit(
                    Command::Skip {
                        step: Some("3.3".into()),
                    },
                    alice(),
                );
                assert!(!unknown.ok);
                assert!(unknown.message.contains("did you mean"), "{unknown:?}");
                let done = operator.submit(
                    Command::Skip {
                        step: Some("1".into()),
                    },
                    alice(),
                );
                assert!(!done.ok);
                assert!(done.message.contains("already"), "{done:?}");
            }
        },
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(skipped(&run, "2"), "skipped by alice");
    assert_eq!(skipped(&run, "3.2"), "skipped by alice");
    assert!(run.ok("3.1"));
    assert_eq!(run.counts.skipped, 2);
}

#[tokio::test]
async fn skip_ends_a_countdown_with_the_step_skipped() {
    let run = operated(
        "  - log: one\n  - at: +1h\n    log: two\n  - log: three\n",
        |event, operator| {
            if waiting(event, "2") {
                send(operator, Command::Skip { step: None });
            }
        },
    )
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert_eq!(skipped(&run, "2"), "skipped by alice");
    assert!(run.ok("3"));
    // Its cue is counted, as skipped by the operator.
    let cues: Vec<&CueTiming> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Cue(cue) => Some(cue),
            _ => None,
        })
        .collect();
    assert_eq!(cues.len(), 1, "{cues:?}");
    assert_eq!(cues[0].status, CueStatus::Skipped);
    assert_eq!(cues[0].by.as_deref(), Some("alice"));
}

#[tokio::test]
async fn abort_stops_the_step_runs_always_and_exits_5() {
    let run = operated(
        "  - steps:\n      - wait: 1h\n    always:\n      - log: cleaning up\n  - log: never\n",
        |event, operator| {
            if waiting(event, "1.1") {
                send(operator, Command::Abort);
            }
        },
    )
    .await;
    let failure = run.result.as_ref().expect_err("aborted");
    assert_eq!(failure.exit, crate::error::ExitCode::Aborted);
    assert!(failure.message.contains("alice"), "{failure:?}");
    assert!(run.ok("1.always.1"));
    assert!(
        !run.events
            .iter()
            .any(|e| matches!(e, Event::StepStarted { id, .. } if id.to_string() == "2"))
    );
}

#[tokio::test]
async fn what_was_queued_when_the_run_was_aborted_is_said_not_played() {
    let run = operated(
        "  - steps:\n      - wait: 1h\n    always:\n      - log: cleaning up\n",
        |event, operator| {
            if waiting(event, "1.1") {
                send(operator, one_off("log", "queued"));
                send(operator, Command::Abort);
            }
        },
    )
    .await;
    assert!(run.result.is_err());
    assert!(run.ok("1.always.1"));
    let why = skipped(&run, "op1");
    assert!(
        why.contains(
            "asked for by alice, not played: the run was interrupted by an operator's abort"
        ),
        "{why}"
    );
}

const SCENES: &str = "scenes:\n  stand_by:\n    - log: standing by\n  break:\n    - wait: 2m\n";

#[tokio::test]
async fn a_scene_plays_between_steps_even_while_held() {
    let steps = format!("  - log: one\n  - log: two\n{SCENES}");
    let run = operated(&steps, |event, operator| {
        if finished(event, "1") {
            send(operator, Command::Hold);
            send(
                operator,
                Command::Scene {
                    name: "stand_by".into(),
                },
            );
            let unknown = operator.submit(
                Command::Scene {
                    name: "stand_bye".into(),
                },
                alice(),
            );
            assert_eq!(
                unknown.message,
                "no scene named `stand_bye`; did you mean `stand_by`?"
            );
        }
        if finished(event, "op1") {
            later(operator, 30, Command::Resume);
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.ok("op1.1"));
    assert!(started_at(&run, "op1") < operator_at(&run, "resume"));
    assert!(operator_at(&run, "resume") < started_at(&run, "2"));
}

/// How long a step took on the run's clock, from its finish event.
fn took(run: &Rehearsed, step: &str) -> jiff::SignedDuration {
    let (started, finished) = run
        .events
        .iter()
        .find_map(|e| match e {
            Event::StepFinished {
                id,
                started,
                finished,
                ..
            } if id.to_string() == step => Some((started.clone(), finished.clone())),
            _ => None,
        })
        .expect("finished");
    let at = |t: &str| t.parse::<jiff::Timestamp>().expect("a time");
    at(&finished).duration_since(at(&started))
}

#[tokio::test]
async fn a_scene_pauses_a_wait_which_then_waits_what_it_had_left() {
    let steps = format!("  - wait: 10m\n  - log: after\n{SCENES}");
    let mut once = true;
    let run = operated(&steps, move |event, operator| {
        // Once: the wait says it waits again when it goes on.
        if waiting(event, "1") && std::mem::take(&mut once) {
            send(
                operator,
                Command::Scene {
                    name: "break".into(),
                },
            );
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.ok("op1.1"));
    let op = started_at(&run, "op1");
    assert!(started_at(&run, "1") < op && op < started_at(&run, "2"));
    // 10 minutes of waiting, and the scene's 2 between.
    assert_eq!(took(&run, "1"), jiff::SignedDuration::from_mins(12));
}

#[tokio::test]
async fn a_scene_keeps_a_wait_for_deadline() {
    let steps = format!(
        "  - wait_for: {{ joined: Nobody Known, timeout: 10m }}\n    on_error: continue\n{SCENES}"
    );
    let mut once = true;
    let run = operated(&steps, move |event, operator| {
        // Once: the wait says it waits again when it goes on.
        if waiting(event, "1") && std::mem::take(&mut once) {
            send(
                operator,
                Command::Scene {
                    name: "break".into(),
                },
            );
        }
    })
    .await;
    assert!(run.ok("op1"));
    assert_eq!(took(&run, "1"), jiff::SignedDuration::from_mins(10));
}

#[tokio::test]
async fn do_plays_a_checked_one_off_and_refuses_one_that_does_not_check() {
    let run = operated("  - log: one\n  - log: two\n", |event, operator| {
        if finished(event, "1") {
            let refused = operator.submit(one_off("mtue", "Bob Li"), alice());
            assert!(!refused.ok);
            assert!(refused.message.contains("did you mean"), "{refused:?}");
            send(operator, one_off("mute", "Bob Li"));
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(run.ok("op1"));
    assert!(started_at(&run, "op1") < started_at(&run, "2"));
    let bob = run
        .meeting
        .participants
        .iter()
        .find(|p| p.name == "Bob Li")
        .expect("Bob");
    assert!(bob.mute);
    let commands: Vec<(String, bool)> = run
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Operator {
                command,
                ok,
                user,
                via,
                ..
            } => {
                assert_eq!((user.as_str(), via.as_str()), ("alice", "cue"));
                Some((command.clone(), *ok))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        commands,
        [
            ("do mtue \"Bob Li\"".to_owned(), false),
            ("do mute \"Bob Li\"".to_owned(), true)
        ]
    );
}

#[tokio::test]
async fn a_failing_do_does_not_fail_the_run() {
    let run = operated("  - log: one\n  - log: two\n", |event, operator| {
        if finished(event, "1") {
            send(operator, one_off("mute", "Nobody Known"));
        }
    })
    .await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(!run.ok("op1"));
    assert!(run.ok("2"));
}

/// Holds the run once step 1 is done, and after a moment of real time moves the run's
/// clock on by `held` and resumes: as if the operator held it that long.
fn hold_for(held: jiff::SignedDuration) -> impl FnMut(&Event, &Arc<Operator>) + Send {
    move |event, operator| {
        if finished(event, "1") {
            send(operator, Command::Hold);
            let operator = Arc::clone(operator);
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                operator.run_clock().expect("the run's clock").advance(held);
                send(&operator, Command::Resume);
            });
        }
    }
}

#[tokio::test]
async fn a_cue_that_passes_while_held_follows_its_late_policy_when_released() {
    let steps =
        "  - log: one\n  - at: +1m\n    grace: 5s\n    late: skip\n    log: two\n  - log: three\n";
    let run = operated(steps, hold_for(jiff::SignedDuration::from_mins(10))).await;
    assert!(run.result.is_ok(), "{:?}", run.result);
    assert!(
        skipped(&run, "2").contains("late: skip"),
        "{:#?}",
        run.events
    );
    assert!(run.ok("3"));
    // Held a moment only, the cue is on time.
    let run = operated(steps, hold_for(jiff::SignedDuration::ZERO)).await;
    assert!(run.ok("2"));
}
