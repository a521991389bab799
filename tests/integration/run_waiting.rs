//! The waiting-room actions run by the built binary: `move_to_waiting_room` (one with
//! the single call, several with one batch call), `admit` (everyone, or people picked
//! from the feed's waiting list) and `wait_for: { waiting }`, asserted through the
//! emulator's admin view and request log.

use serde_json::Value;

use crate::support::*;

/// The town hall with two people in the waiting room.
const WAITING_HALL: &str = r#"
meetings:
  - id: "914044873"
    subject: Town hall
    host_password: "123456"
    participants:
      - { name: Alice Zhang, phone: "+8613800000001", role: host }
      - { name: Bob Li, phone: "+8613800000002", hand: raised }
      - { name: Carol Wu, phone: "+8613800000003" }
      - { name: Dave Ma, phone: "+8613800000004" }
    waiting_room:
      - { name: Hana Xu, phone: "+8613800000008" }
      - { name: Ivan Ho, phone: "+8613800000009" }
"#;

fn playbook(steps: &str) -> String {
    playbook_with_steps("Waiting room", steps)
}

async fn run(emu: &Emu, steps: &str) -> Output {
    let output = Run::playbook(&playbook(steps)).against(emu).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    output
}

fn names(state: &Value, list: &str) -> Vec<String> {
    state[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn one_is_moved_with_the_single_call_and_two_with_one_batch_call() {
    let emu = Emu::start(WAITING_HALL).await;
    run(&emu, "  - move_to_waiting_room: Carol Wu\n").await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(
        names(&state, "participants"),
        ["Alice Zhang", "Bob Li", "Dave Ma"]
    );
    assert_eq!(names(&state, "waiting"), ["Hana Xu", "Ivan Ho", "Carol Wu"]);

    emu.admin("DELETE", "/_sim/requests", None).await;
    let output = run(&emu, "  - move_to_waiting_room: [Bob Li, dave ma]\n").await;
    assert!(
        output
            .stdout
            .contains("moved Bob Li, Dave Ma to the waiting room"),
        "{}",
        output.transcript()
    );
    let state = emu.meeting(MEETING).await;
    assert_eq!(names(&state, "participants"), ["Alice Zhang"]);
    let calls = action_calls(&emu.requests().await);
    assert_eq!(calls, ["batchMoveToWaitingRoom"], "{calls:?}");
}

#[tokio::test]
async fn admit_all_lets_everyone_waiting_in_with_one_call() {
    let emu = Emu::start(WAITING_HALL).await;
    run(&emu, "  - admit: { all: true }\n").await;
    let state = emu.meeting(MEETING).await;
    assert!(names(&state, "waiting").is_empty());
    assert_eq!(
        names(&state, "participants"),
        [
            "Alice Zhang",
            "Bob Li",
            "Carol Wu",
            "Dave Ma",
            "Hana Xu",
            "Ivan Ho"
        ]
    );
    let calls = action_calls(&emu.requests().await);
    assert_eq!(calls, ["allowWaitingParticipant"], "{calls:?}");
}

#[tokio::test]
async fn moving_someone_not_online_fails_the_step_saying_who_is() {
    let emu = Emu::start(WAITING_HALL).await;
    let output = Run::playbook(&playbook("  - move_to_waiting_room: Hana Xu\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("no participant matches `Hana Xu`"),
        "{}",
        output.transcript()
    );
    assert_eq!(
        names(&emu.meeting(MEETING).await, "waiting"),
        ["Hana Xu", "Ivan Ho"]
    );
}

#[tokio::test]
async fn check_refuses_the_waiting_room_with_the_feed_off_at_each_step() {
    let text = "name: Off\nmeeting:\n  id: \"914044873\"\n  host_password: pw\n  events: off\nsteps:\n  - admit: Hana Xu\n  - move_to_waiting_room: [Bob Li, Carol Wu]\n  - wait_for: { waiting: { all: true }, timeout: 1m }\n";
    let output = Run::command(&["check", "playbook.yaml"])
        .file("playbook.yaml", text)
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    let said = format!("{}{}", output.stdout, output.stderr);
    for (line, column, name) in [
        (7, 12, "admit"),
        (8, 27, "move_to_waiting_room"),
        (9, 15, "wait_for"),
    ] {
        let expected = format!(
            "error: {name}: the waiting room is seen only through the meeting's feed, and this playbook turns it off (`events: off`)\n --> playbook.yaml:{line}:{column}"
        );
        assert!(said.contains(&expected), "{expected}\n{said}");
    }
}

#[tokio::test]
async fn plan_names_who_is_let_in_and_moved() {
    let text = playbook(
        "  - admit: Hana Xu\n  - move_to_waiting_room: [Bob Li, Carol Wu]\n  - admit: { all: true }\n",
    );
    let output = Run::command(&["plan", "playbook.yaml"])
        .file("playbook.yaml", &text)
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let lines: Vec<&str> = output.stdout.lines().collect();
    assert!(
        lines[1].contains("admit") && lines[1].contains("Hana Xu"),
        "{}",
        output.stdout
    );
    assert!(
        lines[1].contains("/allowWaitingParticipant"),
        "{}",
        output.stdout
    );
    assert!(lines[2].contains("Bob Li; Carol Wu"), "{}", output.stdout);
    assert!(
        lines[2].contains("/batchMoveToWaitingRoom"),
        "{}",
        output.stdout
    );
    assert!(lines[3].contains("all"), "{}", output.stdout);
}

/// A rehearsal with people in the waiting room: two there from the start, one arriving
/// four seconds in.
const REHEARSAL: &str = "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li }\n    - { name: Carol Wu }\n    - { name: Dave Ma }\n  waiting_room:\n    - { name: Hana Xu }\n    - { name: Ivan Ho }\n    - { name: Jun Bai, joins_after: 4s }\n";

/// The body each call to the last path segment `last` carried, in order.
fn bodies(requests: &[Value], last: &str) -> Vec<Value> {
    requests
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or("")
                .ends_with(&format!("/{last}"))
        })
        .map(|r| r["body"].clone())
        .collect()
}

/// Lets people in, waits for an arrival in the waiting room, moves people there.
const ADMIT_AND_MOVE: &str = "  - admit: Hana Xu\n  - wait_for: { waiting: jun bai, timeout: 30s }\n  - admit: [Jun Bai]\n  - move_to_waiting_room: [Bob Li, Carol Wu]\n  - wait_for: { waiting: { name: Carol Wu }, timeout: 30s }\n  - move_to_waiting_room: Dave Ma\n  - admit: Dave Ma\n  - admit: { all: true }\n  - participants: {}\n    register: everyone\n  - assert: \"everyone | length == 7\"\n";

/// What [`ADMIT_AND_MOVE`] says and calls, on real or virtual time.
fn assert_admitted_and_moved(output: &Output, requests: &[Value]) {
    assert_eq!(output.code, 0, "{}", output.transcript());
    for said in [
        "let in Hana Xu",
        "jun bai in the waiting room after",
        "let in Jun Bai",
        "moved Bob Li, Carol Wu to the waiting room",
        // Just moved: let in as soon as the feed shows them waiting.
        "let in Dave Ma",
        "let everyone waiting in",
    ] {
        assert!(
            output.stdout.contains(said),
            "{said}\n{}",
            output.transcript()
        );
    }
    let calls = action_calls(requests);
    assert_eq!(
        calls,
        [
            "allowWaitingParticipant",
            "allowWaitingParticipant",
            "batchMoveToWaitingRoom",
            "moveToWaitingRoom",
            "allowWaitingParticipant",
            "allowWaitingParticipant"
        ],
        "{requests:#?}"
    );
    let admitted = bodies(requests, "allowWaitingParticipant");
    assert!(admitted[0]["participantID"].is_string(), "{admitted:?}");
    assert_eq!(admitted[3], serde_json::json!({"allowAll": true}));
    let moved = bodies(requests, "batchMoveToWaitingRoom");
    assert_eq!(moved[0]["batchParticipants"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_rehearsal_admits_by_name_waits_for_an_arrival_moves_two_and_admits_all() {
    let text = format!("{}{REHEARSAL}", playbook(ADMIT_AND_MOVE));
    let started = std::time::Instant::now();
    let (output, requests) = Run::playbook(&text).rehearse().await;
    let took = started.elapsed();
    assert_admitted_and_moved(&output, &requests);
    // The wait ended when Jun arrived, not at its timeout.
    assert!(
        took >= std::time::Duration::from_secs(4) && took < std::time::Duration::from_secs(20),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_fast_forwarded_rehearsal_plays_the_waiting_room_on_the_feed() {
    let text = format!("{}{REHEARSAL}", playbook(ADMIT_AND_MOVE));
    let started = std::time::Instant::now();
    let (output, requests) = Run::playbook(&text)
        .arg("--fast-forward")
        .env("EMCEE_DETERMINISTIC", "0")
        .rehearse()
        .await;
    assert_admitted_and_moved(&output, &requests);
    // Jun's arrival at 4s is waited for on virtual time, and seen at that instant.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(
        output
            .stdout
            .contains("jun bai in the waiting room after 4.0s"),
        "{}",
        output.stdout
    );
    let at = |r: &Value| {
        r["received"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let admits: Vec<&Value> = requests
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap()
                .ends_with("/allowWaitingParticipant")
        })
        .collect();
    assert_eq!(
        at(admits[1]).duration_since(at(&requests[0])),
        jiff::SignedDuration::from_secs(4)
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r["path"].as_str().unwrap().ends_with("/wsToken"))
            .count(),
        1
    );
}

#[tokio::test]
async fn admitting_someone_not_waiting_says_who_is() {
    let emu = Emu::start(WAITING_HALL).await;
    let output = Run::playbook(&playbook("  - admit: Carol Wu\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("nobody in the waiting room matches `Carol Wu`; waiting: Hana Xu, Ivan Ho"),
        "{}",
        output.transcript()
    );
    // A wait for someone who never comes fails at its timeout, saying who is there.
    let output = Run::playbook(&playbook(
        "  - wait_for: { waiting: Zed Yu, timeout: 1s }\n",
    ))
    .against(&emu)
    .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("waited 1s for Zed Yu in the waiting room; waiting: Hana Xu, Ivan Ho"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn with_the_feed_off_what_needs_the_waiting_list_is_refused_and_the_rest_works() {
    let emu = Emu::start(WAITING_HALL).await;
    let output = Run::playbook(&playbook("  - admit: Hana Xu\n"))
        .arg("--events")
        .arg("off")
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("this run does not use it (`events: off`"),
        "{}",
        output.transcript()
    );
    let output = Run::playbook(&playbook(
        "  - move_to_waiting_room: Bob Li\n  - admit: { all: true }\n",
    ))
    .arg("--events")
    .arg("off")
    .against(&emu)
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(names(&emu.meeting(MEETING).await, "waiting").is_empty());
}

#[tokio::test]
async fn admit_waits_for_a_feed_that_is_down_within_the_steps_time_limit() {
    let emu = Emu::start(WAITING_HALL).await;
    // Every feed connection drops before its snapshot is complete.
    emu.faults(serde_json::json!({"feed": {"drop_after": 1}}))
        .await;
    let output = Run::playbook(&playbook("  - admit: Hana Xu\n    timeout: 2s\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("the meeting's feed, which lists the waiting room"),
        "{}",
        output.transcript()
    );
    assert_eq!(
        names(&emu.meeting(MEETING).await, "waiting"),
        ["Hana Xu", "Ivan Ho"]
    );

    // The feed comes back while the step waits: Hana is let in.
    let run = Run::playbook(&playbook("  - admit: Hana Xu\n    timeout: 20s\n"))
        .against_url(emu.handle.base_url());
    let running = tokio::spawn(run);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    emu.admin("DELETE", "/_sim/faults", None).await;
    let output = running.await.expect("the run");
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(names(&emu.meeting(MEETING).await, "waiting"), ["Ivan Ho"]);
}

#[tokio::test]
async fn a_hundred_and_fifty_are_moved_in_two_batch_calls() {
    let mut seed = String::from(
        "meetings:\n  - id: \"914044873\"\n    host_password: \"123456\"\n    participants:\n      - { name: Alice Zhang, role: host }\n",
    );
    for n in 0..150 {
        seed.push_str(&format!("      - {{ name: Guest {n} }}\n"));
    }
    let emu = Emu::start(&seed).await;
    run(
        &emu,
        "  - move_to_waiting_room: { role: guest, all: true }\n",
    )
    .await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(names(&state, "participants"), ["Alice Zhang"]);
    assert_eq!(names(&state, "waiting").len(), 150);
    let batches: Vec<usize> = emu
        .requests()
        .await
        .iter()
        .filter(|r| {
            r["path"]
                .as_str()
                .unwrap_or("")
                .ends_with("/batchMoveToWaitingRoom")
        })
        .map(|r| r["body"]["batchParticipants"].as_array().unwrap().len())
        .collect();
    assert_eq!(batches, [100, 50]);
}

#[tokio::test]
async fn admit_picks_from_the_waiting_list_by_phone_too() {
    let emu = Emu::start(WAITING_HALL).await;
    let output = run(&emu, "  - admit: { phone: \"+8613800000009\" }\n").await;
    assert!(
        output.stdout.contains("let in Ivan Ho"),
        "{}",
        output.transcript()
    );
    assert_eq!(names(&emu.meeting(MEETING).await, "waiting"), ["Hana Xu"]);
}
