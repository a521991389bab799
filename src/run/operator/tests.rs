//! The operator's state, without a run: commands taken, refused and handed over.

use super::*;

fn id(text: &str) -> StepId {
    text.parse().expect("a step id")
}

fn known() -> Known {
    Known {
        steps: vec![
            (id("1"), "Welcome".into()),
            (id("2"), "Panel".into()),
            (id("2.1"), "Mute all".into()),
            (id("2.2"), "Spotlight".into()),
            (id("3"), "Open Q&A".into()),
        ],
        scenes: vec!["qa_open".into(), "panic".into()],
    }
}

fn alice() -> Who {
    Who {
        user: "alice".into(),
        uid: 1000,
        via: Via::Console,
    }
}

fn started(operator: &Operator, step: &str) {
    operator.observe(&Event::StepStarted {
        id: id(step),
        name: String::new(),
        action: None,
        cue: 1,
    });
}

fn finished(operator: &Operator, step: &str) {
    operator.observe(&Event::StepFinished {
        id: id(step),
        name: String::new(),
        action: None,
        cue: 1,
        outcome: crate::run::Outcome::Ok,
        elapsed: std::time::Duration::ZERO,
        retries: 0,
        detail: None,
        started: String::new(),
        finished: String::new(),
        at: crate::run::Place::default(),
    });
}

#[test]
fn hold_says_where_the_run_is_and_resume_releases() {
    let operator = Operator::new(known());
    assert!(!operator.held());
    let reply = operator.submit(Command::Hold, alice());
    assert!(reply.ok);
    assert_eq!(reply.message, "held before step 1 (Welcome)");
    assert!(operator.held());
    assert!(!operator.may_start());
    let again = operator.submit(Command::Hold, alice());
    assert!(!again.ok, "{again:?}");
    assert!(operator.submit(Command::Resume, alice()).ok);
    assert!(!operator.held());
    assert!(operator.may_start());
    let refused = operator.submit(Command::Resume, alice());
    assert!(!refused.ok);
    assert_eq!(refused.message, "not held");

    started(&operator, "1");
    started(&operator, "2");
    assert_eq!(
        operator.submit(Command::Hold, alice()).message,
        "held during step 2 (Panel)"
    );
    finished(&operator, "2");
    operator.submit(Command::Resume, alice());
    assert_eq!(
        operator.submit(Command::Hold, alice()).message,
        "held before step 3 (Open Q&A)"
    );
}

#[test]
fn go_while_held_lets_one_step_start_and_stays_held() {
    let operator = Operator::new(known());
    operator.submit(Command::Hold, alice());
    assert!(operator.submit(Command::Go, alice()).ok);
    assert!(
        !operator.submit(Command::Go, alice()).ok,
        "one go at a time"
    );
    assert!(operator.may_start());
    assert!(!operator.may_start(), "only one step");
    assert!(operator.held());
    // A go that ends a wait while held also lets the next step start.
    operator.submit(Command::Go, alice());
    assert_eq!(operator.take_go(false).as_deref(), Some("alice"));
    assert_eq!(operator.take_go(false), None);
    assert!(operator.may_start());
    assert!(!operator.may_start());
}

#[test]
fn go_not_held_is_kept_past_a_step_start_for_its_wait() {
    let operator = Operator::new(known());
    operator.submit(Command::Go, alice());
    // A step starts first: the go is kept for the wait it may begin with.
    assert!(operator.may_start());
    assert_eq!(operator.take_go(false).as_deref(), Some("alice"));
    assert!(operator.may_start());
}

#[test]
fn skip_takes_the_next_top_level_step_or_the_one_named() {
    let operator = Operator::new(known());
    started(&operator, "1");
    let reply = operator.submit(Command::Skip { step: None }, alice());
    assert_eq!(reply.message, "step 2 (Panel) will be skipped");
    let reply = operator.submit(Command::Skip { step: None }, alice());
    assert_eq!(reply.message, "step 3 (Open Q&A) will be skipped");
    let reply = operator.submit(Command::Skip { step: None }, alice());
    assert!(!reply.ok);
    assert_eq!(operator.take_skip(&id("2")).as_deref(), Some("alice"));
    assert_eq!(operator.take_skip(&id("2")), None);

    let nested = operator.submit(
        Command::Skip {
            step: Some("2.2".into()),
        },
        alice(),
    );
    assert!(nested.ok, "{nested:?}");
    let unknown = operator.submit(
        Command::Skip {
            step: Some("2.22".into()),
        },
        alice(),
    );
    assert!(!unknown.ok);
    assert_eq!(
        unknown.message,
        "no step 2.22 in this playbook; did you mean 2.2?"
    );
    let done = operator.submit(
        Command::Skip {
            step: Some("1".into()),
        },
        alice(),
    );
    assert_eq!(done.message, "step 1 (Welcome) has already started");
    finished(&operator, "1");
    let done = operator.submit(
        Command::Skip {
            step: Some("1".into()),
        },
        alice(),
    );
    assert_eq!(done.message, "step 1 (Welcome) is already done");
}

#[test]
fn a_loop_item_started_is_its_step_started() {
    let operator = Operator::new(known());
    started(&operator, "2#1.1");
    let reply = operator.submit(
        Command::Skip {
            step: Some("2.1".into()),
        },
        alice(),
    );
    assert!(!reply.ok, "{reply:?}");
}

#[test]
fn a_skip_of_a_step_in_a_loop_is_for_the_next_item_to_reach_it() {
    let operator = Operator::new(known());
    started(&operator, "2");
    let reply = operator.submit(
        Command::Skip {
            step: Some("2.2".into()),
        },
        alice(),
    );
    assert!(reply.ok, "{reply:?}");
    assert_eq!(operator.take_skip(&id("2#1.2")).as_deref(), Some("alice"));
    assert_eq!(operator.take_skip(&id("2#2.2")), None, "once");
}

#[test]
fn an_always_step_is_not_skipped() {
    let operator = Operator::new(Known {
        steps: vec![
            (id("1"), "Panel".into()),
            (id("1.always.1"), "Unlock".into()),
        ],
        scenes: Vec::new(),
    });
    let reply = operator.submit(
        Command::Skip {
            step: Some("1.always.1".into()),
        },
        alice(),
    );
    assert!(!reply.ok);
    assert_eq!(
        reply.message,
        "step 1.always.1 (Unlock) is an `always` step: it runs whatever happens"
    );
}

#[test]
fn go_says_whether_a_wait_ends_now_or_the_next_one_will() {
    let operator = Operator::new(known());
    let reply = operator.submit(Command::Go, alice());
    assert!(reply.ok);
    assert!(
        reply.message.starts_with("go: nothing waits now"),
        "{reply:?}"
    );
    // Not held, a step start leaves it for the wait the step may begin with.
    assert!(operator.may_start());
    assert_eq!(operator.take_go(false).as_deref(), Some("alice"));
    {
        let _waiting = operator.wait_point(false);
        let reply = operator.submit(Command::Go, alice());
        assert_eq!(
            reply.message,
            "go: the current wait ends and the next step starts now"
        );
    }
    // An action other than a wait spends a `go` nothing waited for.
    operator.spend_go();
    assert_eq!(operator.take_go(false), None);
    assert!(
        operator
            .submit(Command::Go, alice())
            .message
            .starts_with("go: nothing waits")
    );
}

#[test]
fn scenes_are_queued_under_operator_numbers_and_unknown_ones_refused() {
    let operator = Operator::new(known());
    let reply = operator.submit(
        Command::Scene {
            name: "qa_opne".into(),
        },
        alice(),
    );
    assert!(!reply.ok);
    assert_eq!(
        reply.message,
        "no scene named `qa_opne`; did you mean `qa_open`?"
    );
    assert!(!operator.has_queued());
    let reply = operator.submit(
        Command::Scene {
            name: "panic".into(),
        },
        alice(),
    );
    assert!(reply.ok, "{reply:?}");
    let queued = operator.take_queued().expect("queued");
    assert_eq!(queued.number, 1);
    assert_eq!(queued.what, Play::Scene("panic".into()));
}

#[test]
fn do_is_checked_before_it_is_queued() {
    let operator = Operator::new(known());
    let command = |action: &str| Command::Do {
        action: action.into(),
        selector: Some("Bob Li".into()),
        participant: None,
    };
    assert!(!operator.submit(command("mute"), alice()).ok);
    operator.check_do(Box::new(|action, _, _, _| {
        if action == "mute" {
            Ok(())
        } else {
            Err(format!("unknown action `{action}`"))
        }
    }));
    let refused = operator.submit(command("mtue"), alice());
    assert_eq!(refused.message, "unknown action `mtue`");
    assert!(operator.submit(command("mute"), alice()).ok);
    assert_eq!(operator.take_queued().expect("queued").number, 1);
}

#[test]
fn every_command_is_recorded_as_typed_taken_or_refused() {
    let operator = Operator::new(known());
    operator.submit(Command::Hold, alice());
    operator.submit(
        Command::Skip {
            step: Some("9".into()),
        },
        alice(),
    );
    operator.submit(
        Command::Do {
            action: "mute".into(),
            selector: Some("Bob Li".into()),
            participant: None,
        },
        alice(),
    );
    let records = operator.take_records();
    let seen: Vec<(&str, bool)> = records.iter().map(|r| (r.command.as_str(), r.ok)).collect();
    assert_eq!(
        seen,
        [
            ("hold", true),
            ("skip 9", false),
            ("do mute \"Bob Li\"", false)
        ]
    );
    assert!(
        records
            .iter()
            .all(|r| r.user == "alice" && r.via == Via::Console)
    );
    assert!(operator.take_records().is_empty());
    // The console's `do` names a participant by id, and says so as typed.
    let on_id = Command::Do {
        action: "mute".into(),
        selector: None,
        participant: Some("p 7".into()),
    };
    assert_eq!(super::typed(&on_id), "do mute --id \"p 7\"");
}

#[test]
fn abort_raises_the_interrupt_as_the_operator() {
    let operator = Operator::new(known());
    assert!(!operator.submit(Command::Abort, alice()).ok);
    let interrupt = Interrupt::new();
    operator.interrupt_with(Arc::clone(&interrupt));
    assert!(operator.submit(Command::Abort, alice()).ok);
    let origin = interrupt.received().expect("interrupted");
    assert_eq!(origin.exit_code(), crate::error::ExitCode::Aborted);
    assert_eq!(origin.exit_code().code(), 5);
    assert!(!operator.submit(Command::Hold, alice()).ok, "aborting");
}

#[test]
fn a_finished_run_refuses_commands() {
    let operator = Operator::new(known());
    operator.close();
    let reply = operator.submit(Command::Hold, alice());
    assert_eq!(reply.message, "the run is over");
    assert!(!operator.held());
}

#[test]
fn an_oversized_command_is_refused_without_being_repeated() {
    let operator = Operator::new(known());
    let huge = "x".repeat(100_000);
    let reply = operator.submit(Command::Scene { name: huge.clone() }, alice());
    assert!(!reply.ok);
    assert_eq!(
        reply.message,
        "a scene name of 100000 bytes; at most 256 are taken"
    );
    let reply = operator.submit(
        Command::Do {
            action: "mute".into(),
            selector: Some(huge),
            participant: None,
        },
        alice(),
    );
    assert!(!reply.ok);
    assert!(
        reply.message.starts_with("a selector of 100000 bytes"),
        "{reply:?}"
    );
    let records = operator.take_records();
    let typed: Vec<&str> = records.iter().map(|r| r.command.as_str()).collect();
    assert_eq!(typed, ["scene (too long to show)", "do (too long to show)"]);
    assert!(records.iter().all(|r| r.message.len() < 100), "{records:?}");
    assert!(!operator.has_queued());
}

#[test]
fn the_queue_is_bounded() {
    let operator = Operator::new(known());
    for _ in 0..MAX_QUEUED {
        let reply = operator.submit(
            Command::Scene {
                name: "panic".into(),
            },
            alice(),
        );
        assert!(reply.ok, "{reply:?}");
    }
    let full = operator.submit(
        Command::Scene {
            name: "panic".into(),
        },
        alice(),
    );
    assert!(!full.ok);
    assert!(full.message.contains("already waiting to play"), "{full:?}");
    assert!(operator.take_queued().is_some());
    let room = operator.submit(
        Command::Scene {
            name: "panic".into(),
        },
        alice(),
    );
    assert!(room.ok, "{room:?}");
}

#[test]
fn a_flood_between_steps_is_counted_in_one_record() {
    let operator = Operator::new(known());
    assert!(operator.submit(Command::Hold, alice()).ok);
    for _ in 1..MAX_PENDING {
        operator.submit(Command::Hold, alice());
    }
    let flooded = operator.submit(Command::Resume, alice());
    assert!(!flooded.ok);
    assert_eq!(
        flooded.message,
        "too many commands at once; try again in a moment"
    );
    assert!(operator.held(), "the refused resume changed nothing");
    operator.submit(Command::Go, alice());
    let records = operator.take_records();
    assert_eq!(records.len(), MAX_PENDING + 1);
    let last = records.last().unwrap();
    assert_eq!(last.command, "2 more");
    assert!(!last.ok);
    // Once emitted, commands are taken again.
    assert!(operator.submit(Command::Resume, alice()).ok);
    assert_eq!(operator.take_records().len(), 1);
}

#[test]
fn a_run_stopped_by_a_signal_takes_no_more_commands() {
    let operator = Operator::new(known());
    let interrupt = Interrupt::new();
    operator.interrupt_with(Arc::clone(&interrupt));
    assert!(operator.submit(Command::Hold, alice()).ok);
    interrupt.raise(crate::signals::Received::Terminate);
    let refused = operator.submit(
        Command::Scene {
            name: "panic".into(),
        },
        alice(),
    );
    assert!(!refused.ok);
    assert!(
        refused
            .message
            .starts_with("the run is stopping: interrupted by SIG"),
        "{refused:?}"
    );
    assert!(!operator.submit(Command::Go, alice()).ok);
    assert!(!operator.submit(Command::Abort, alice()).ok);
    assert!(!operator.has_queued());
}
