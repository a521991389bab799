use serde_json::{Value, json};

use super::*;
use crate::mmc::feed::parse;

/// A frame as the service pushes it, parsed by the feed's own parser.
fn frame(action: &str, mode: u8, version: i64, rest: Value) -> Frame {
    let mut text = json!({
        "action": action, "version": version, "createTime": 1_767_225_600_000_i64,
        "msgID": "x", "msgMode": mode, "confID": "912345678",
    });
    if let (Some(object), Value::Object(rest)) = (text.as_object_mut(), rest) {
        object.extend(rest);
    }
    parse(&text.to_string(), &|_: &str| {}).expect("a frame")
}

fn people(mode: u8, version: i64, data: Value) -> Frame {
    frame("ParticipantsNotify", mode, version, json!({ "data": data }))
}

/// Every key a join carries.
fn join(pid: &str, name: &str, hand: bool) -> Value {
    json!({"pid": pid, "mode": 0, "pinfoMap": {
        "NAME": name, "TEL": format!("+86 {pid}"), "ROLE": "0", "STATE": "0",
        "HAND": if hand { "1" } else { "0" }, "BROADCAST": "0", "ROLLCALL": "0",
        "MUTE": "0", "VIDEO": "1", "IS_COHOST": "0"}})
}

fn change(pid: &str, keys: Value) -> Value {
    json!({"pid": pid, "mode": 0, "pinfoMap": keys})
}

fn leave(pid: &str) -> Value {
    json!({"pid": pid, "mode": 1, "pinfoMap": {}})
}

fn names(picture: &Picture) -> Vec<String> {
    picture
        .roster()
        .participants
        .into_iter()
        .map(|p| p.name)
        .collect()
}

fn hands(picture: &Picture) -> Vec<(String, bool)> {
    picture
        .hands()
        .into_iter()
        .map(|h| (h.name, h.order_known))
        .collect()
}

fn snapshot() -> Picture {
    let mut picture = Picture::default();
    assert!(!picture.is_complete());
    let applied = picture.apply(&people(
        0,
        1_767_225_600_000,
        json!([
            join("a", "Ann", false),
            join("b", "Bob", true),
            join("c", "Cy", true)
        ]),
    ));
    assert_eq!(applied, Applied::Changed);
    picture
}

#[test]
fn a_snapshot_then_patches_joins_and_leaves() {
    let mut picture = snapshot();
    assert!(picture.is_complete());
    assert_eq!(names(&picture), ["Ann", "Bob", "Cy"]);
    assert_eq!(
        picture.apply(&people(1, 1, json!([join("d", "Dan", false)]))),
        Applied::Changed
    );
    assert_eq!(
        picture.apply(&people(1, 2, json!([change("a", json!({"MUTE": "1"}))]))),
        Applied::Changed
    );
    assert!(picture.roster().participants[0].mute);
    assert_eq!(
        picture.apply(&people(1, 3, json!([leave("b")]))),
        Applied::Changed
    );
    assert_eq!(names(&picture), ["Ann", "Cy", "Dan"]);
    // A change that changes nothing is applied (its version counts) but is no news.
    assert_eq!(
        picture.apply(&people(1, 4, json!([change("a", json!({"MUTE": "1"}))]))),
        Applied::Unchanged
    );
    assert_eq!(
        picture.apply(&people(1, 5, json!([leave("nobody")]))),
        Applied::Unchanged
    );
    // A later full message replaces everything known of the list.
    assert_eq!(
        picture.apply(&people(
            0,
            1_767_225_700_000,
            json!([join("e", "Eve", false)])
        )),
        Applied::Changed
    );
    assert_eq!(names(&picture), ["Eve"]);
    assert!(picture.hands().is_empty());
}

#[test]
fn an_incremental_out_of_sequence_is_a_gap_and_not_applied() {
    let mut picture = snapshot();
    assert_eq!(
        picture.apply(&people(1, 1, json!([leave("a")]))),
        Applied::Changed
    );
    let before = picture.clone();
    assert_eq!(
        picture.apply(&people(1, 3, json!([leave("b")]))),
        Applied::Gap {
            kind: NotifyType::Participants,
            expected: 2,
            got: 3
        }
    );
    assert_eq!(picture, before, "nothing of a gapped frame is applied");
    // A frame seen twice is a gap too: never applied twice.
    assert!(matches!(
        picture.apply(&people(1, 1, json!([leave("b")]))),
        Applied::Gap {
            expected: 2,
            got: 1,
            ..
        }
    ));
    assert_eq!(picture, before);
}

#[test]
fn versions_are_counted_per_type() {
    let mut picture = snapshot();
    let status = |mode: u8, version: i64, state: &str| {
        frame(
            "ConfDynamicInfoNotify",
            mode,
            version,
            json!({"state": state, "lock": 1}),
        )
    };
    assert_eq!(
        picture.apply(&status(0, 1_767_225_600_001, "Created")),
        Applied::Changed
    );
    assert_eq!(picture.locked(), Some(true));
    assert_eq!(
        picture.apply(&people(1, 1, json!([leave("a")]))),
        Applied::Changed
    );
    // The status's own count starts at 1, whatever the online list's is.
    assert_eq!(picture.apply(&status(1, 1, "Created")), Applied::Unchanged);
    assert!(matches!(
        picture.apply(&status(1, 3, "Destroyed")),
        Applied::Gap {
            kind: NotifyType::ConfDynamicInfo,
            expected: 2,
            got: 3
        }
    ));
    assert!(!picture.ended());
    assert_eq!(picture.apply(&status(1, 2, "Destroyed")), Applied::Changed);
    assert!(picture.ended());
}

#[test]
fn hands_come_in_the_order_they_went_up() {
    let mut picture = snapshot();
    // Hands up at the snapshot come first, in its order, their own order unknown.
    assert_eq!(
        hands(&picture),
        [("Bob".to_owned(), false), ("Cy".to_owned(), false)]
    );
    picture.apply(&people(1, 1, json!([join("d", "Dan", true)])));
    picture.apply(&people(1, 2, json!([change("a", json!({"HAND": "1"}))])));
    assert_eq!(
        hands(&picture),
        [
            ("Bob".to_owned(), false),
            ("Cy".to_owned(), false),
            ("Dan".to_owned(), true),
            ("Ann".to_owned(), true)
        ]
    );
    // Lowered and raised again: to the back of the line.
    picture.apply(&people(1, 3, json!([change("b", json!({"HAND": "0"}))])));
    picture.apply(&people(1, 4, json!([change("b", json!({"HAND": "1"}))])));
    // Raised again while up: no new place.
    picture.apply(&people(1, 5, json!([change("d", json!({"HAND": "1"}))])));
    // Leaving takes the hand down.
    picture.apply(&people(1, 6, json!([leave("c")])));
    assert_eq!(
        hands(&picture),
        [
            ("Dan".to_owned(), true),
            ("Ann".to_owned(), true),
            ("Bob".to_owned(), true)
        ]
    );
    assert_eq!(picture.hands()[0].pid, "d");
}

#[test]
fn a_new_connection_keeps_the_known_order_of_hands_still_up() {
    let mut picture = snapshot();
    picture.apply(&people(1, 1, json!([change("a", json!({"HAND": "1"}))])));
    let mut next = picture.successor();
    assert!(!next.is_complete(), "a successor knows nothing yet");
    assert!(next.roster().participants.is_empty());
    // Meanwhile Bob lowered his hand, Dan joined with his up.
    next.apply(&people(
        0,
        1_767_225_900_000,
        json!([
            join("d", "Dan", true),
            join("a", "Ann", true),
            join("b", "Bob", false),
            join("c", "Cy", true)
        ]),
    ));
    assert_eq!(
        hands(&next),
        [
            ("Cy".to_owned(), false),
            ("Ann".to_owned(), true),
            ("Dan".to_owned(), false)
        ]
    );
}

#[test]
fn the_roster_is_what_the_rest_read_gives_for_the_same_people() {
    let mut picture = Picture::default();
    picture.apply(&people(
        0,
        1,
        json!([
            {"pid": "1", "mode": 0, "pinfoMap": {"NAME": "Alice", "TEL": "+1", "ROLE": "1",
                "STATE": "0", "HAND": "0", "MUTE": "0", "VIDEO": "1", "IS_COHOST": "0"}},
            {"pid": "2", "mode": 0, "pinfoMap": {"NAME": "Bob", "TEL": "", "ROLE": "0",
                "STATE": "1", "HAND": "0", "MUTE": "1", "VIDEO": "0", "IS_COHOST": "0"}},
            {"pid": "3", "mode": 0, "pinfoMap": {"NAME": "Carol", "TEL": "+3", "ROLE": "0",
                "STATE": "0", "HAND": "1", "MUTE": "1", "VIDEO": "0", "IS_COHOST": "1"}},
            {"pid": "4", "mode": 0, "pinfoMap": {"NAME": "Dan"}}
        ]),
    ));
    let read = Roster::parse(&json!({
        "participants": [
            {"pid": "1", "name": "Alice", "phone": "+1", "state": 0, "video": 1},
            {"pid": "2", "name": "Bob", "phone": "", "state": 1, "mute": 1},
            {"pid": "3", "name": "Carol", "phone": "+3", "state": 0, "hand": 1, "mute": 1},
            {"pid": "4", "name": "Dan", "phone": ""}
        ],
        "confInfo": {"chairID": "1", "coHosts": ["3"]}
    }))
    .unwrap();
    let roster = picture.roster();
    assert_eq!(roster.participants, read.participants);
    assert_eq!(roster.arriving, read.arriving);
    assert_eq!(roster.describe(), read.describe());
}

#[test]
fn the_waiting_room_lists_those_not_admitted_in_arrival_order() {
    let mut picture = snapshot();
    let waiting = |mode: u8, version: i64, data: Value| {
        frame("WaitingListNotify", mode, version, json!({ "data": data }))
    };
    let arrive = |pid: &str, name: &str| json!({"pid": pid, "mode": 0, "pinfoMap": {"NAME": name, "WAITINGSTATE": "0"}});
    assert!(!picture.knows(NotifyType::WaitingList));
    assert_eq!(
        picture.apply(&waiting(0, 5, json!([]))),
        Applied::Changed,
        "the first full message is news even when empty"
    );
    assert!(picture.knows(NotifyType::WaitingList));
    picture.apply(&waiting(
        1,
        1,
        json!([arrive("w2", "Zed"), arrive("w1", "Amy")]),
    ));
    picture.apply(&waiting(
        1,
        2,
        json!([change("w2", json!({"WAITINGSTATE": "1"}))]),
    ));
    let waiting_names: Vec<String> = picture.waiting().into_iter().map(|w| w.name).collect();
    assert_eq!(waiting_names, ["Amy"]);
    picture.apply(&waiting(1, 3, json!([leave("w2"), arrive("w3", "Bo")])));
    let pids: Vec<String> = picture.waiting().into_iter().map(|w| w.pid).collect();
    assert_eq!(pids, ["w1", "w3"]);
}

#[test]
fn the_status_says_locked_recording_broadcast_and_ended() {
    let mut picture = snapshot();
    assert_eq!(picture.locked(), None, "unknown before the status");
    assert_eq!(picture.recording(), None);
    assert!(!picture.ended());
    picture.apply(&frame(
        "ConfDynamicInfoNotify",
        0,
        9,
        json!({"state": "Created", "lock": 0, "recState": 1, "mode": "BROADCAST"}),
    ));
    assert_eq!(picture.locked(), Some(false));
    assert_eq!(picture.recording(), Some(true));
    assert_eq!(picture.broadcast(), None);
    picture.apply(&people(
        1,
        1,
        json!([change("c", json!({"BROADCAST": "1"}))]),
    ));
    assert_eq!(picture.broadcast().as_deref(), Some("c"));
    picture.apply(&people(1, 2, json!([leave("c")])));
    assert_eq!(picture.broadcast(), None);
    picture.apply(&frame(
        "ConfDynamicInfoNotify",
        1,
        1,
        json!({"state": "Destroyed"}),
    ));
    assert!(picture.ended());
}

#[test]
fn invitation_results_keep_the_latest_per_number() {
    let mut picture = Picture::default();
    let invites = |mode: u8, version: i64, data: Value| {
        frame("InviteResultNotify", mode, version, json!({ "data": data }))
    };
    picture.apply(&invites(
        0,
        7,
        json!([{"callNumber": "+1", "resultCode": "0"}]),
    ));
    assert_eq!(
        picture.apply(&invites(
            1,
            1,
            json!([{"callNumber": "+2", "errorCode": "111076008"}])
        )),
        Applied::Changed
    );
    assert_eq!(
        picture.apply(&invites(
            1,
            2,
            json!([{"callNumber": "+2", "resultCode": "111076008"}])
        )),
        Applied::Unchanged
    );
    let all: Vec<(&str, &str)> = picture.invites().collect();
    assert_eq!(all, [("+1", "0"), ("+2", "111076008")]);
}

#[test]
fn an_incremental_without_a_version_is_applied_and_checks_resume_after() {
    let mut picture = snapshot();
    let mut text = people(1, 0, json!([leave("a")]));
    text.version = None;
    assert_eq!(picture.apply(&text), Applied::Changed);
    // Nothing to compare with: the next numbered one sets the count again.
    assert_eq!(
        picture.apply(&people(1, 40, json!([leave("b")]))),
        Applied::Changed
    );
    assert!(matches!(
        picture.apply(&people(1, 42, json!([leave("c")]))),
        Applied::Gap { expected: 41, .. }
    ));
}
