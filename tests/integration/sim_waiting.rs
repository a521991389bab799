//! The emulator's waiting room: admitting one person or everyone, moving one or a batch
//! back, what the feed says about each, the service's refusals, and the seed's
//! `waiting_room`. The waiting room has no REST read, so the feed and the admin view
//! are how the tests see it.

use serde_json::{Value, json};

use crate::sim_feed::{Feed, pinfo};
use crate::support::*;

/// The town hall of `support`, with two people waiting to be let in and one arriving
/// there after a minute.
const WAITING_HALL: &str = r#"
meetings:
  - id: "914044873"
    subject: Town hall
    host_password: "123456"
    participants:
      - { name: Alice Zhang, phone: "+8613800000001", role: host }
      - { name: Bob Li, phone: "+8613800000002", hand: raised }
      - { name: Carol Wu, phone: "+8613800000003" }
      - { name: Dave Ma, phone: "+8613800000004", role: cohost }
    waiting_room:
      - { name: Hana Xu, phone: "+8613800000008" }
      - { name: Ivan Ho, phone: "+8613800000009", video: true }
      - { name: Jun Bai, joins_after: 1m }
"#;

const BOTH: [&str; 2] = ["WaitingListNotify", "ParticipantsNotify"];

async fn waiting(emu: &Emu) -> Vec<Value> {
    emu.meeting(MEETING).await["waiting"]
        .as_array()
        .unwrap()
        .clone()
}

async fn waiting_pid(emu: &Emu, name: &str) -> String {
    waiting(emu)
        .await
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not waiting"))["pid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn online_names(host: &Host<'_>) -> Vec<String> {
    let info = host.get("/realTimeInfo").await;
    info.ok();
    info.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_seeds_waiting_room_is_in_the_snapshot_and_not_online() {
    let emu = Emu::start(WAITING_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (_, snapshots) = Feed::subscribed(&emu, &host, &["WaitingListNotify"]).await;
    let hana = waiting_pid(&emu, "Hana Xu").await;
    let entry = pinfo(&snapshots[0], &hana);
    assert_eq!(entry["pinfoMap"]["NAME"], "Hana Xu");
    assert_eq!(entry["pinfoMap"]["WAITINGSTATE"], "0");
    assert_eq!(snapshots[0]["data"].as_array().unwrap().len(), 2);
    assert!(!online_names(&host).await.contains(&"Hana Xu".to_owned()));

    // Jun arrives in the waiting room a minute in, on the emulator's clock.
    let (mut feed, _) = Feed::subscribed(&emu, &host, &["WaitingListNotify"]).await;
    emu.advance("61s").await;
    let frame = feed.frame().await;
    assert_eq!(frame["msgMode"], 1);
    let jun = waiting_pid(&emu, "Jun Bai").await;
    assert_eq!(pinfo(&frame, &jun)["pinfoMap"]["WAITINGSTATE"], "0");
}

#[tokio::test]
async fn admitting_one_is_pushed_as_admitted_then_joined_then_gone_from_the_list() {
    let emu = Emu::start(WAITING_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) = Feed::subscribed(&emu, &host, &BOTH).await;
    let hana = waiting_pid(&emu, "Hana Xu").await;

    host.put("/allowWaitingParticipant", json!({"participantID": hana}))
        .await
        .ok();

    let admitted = feed.frame().await;
    assert_eq!(admitted["action"], "WaitingListNotify", "{admitted}");
    assert_eq!(
        pinfo(&admitted, &hana)["pinfoMap"],
        json!({"WAITINGSTATE": "1"})
    );
    let joined = feed.frame().await;
    assert_eq!(joined["action"], "ParticipantsNotify", "{joined}");
    let map = &pinfo(&joined, &hana)["pinfoMap"];
    assert_eq!(map["NAME"], "Hana Xu");
    assert_eq!(map["STATE"], "0");
    assert_eq!(map["TEL"], "+8613800000008");
    let gone = feed.frame().await;
    assert_eq!(gone["action"], "WaitingListNotify", "{gone}");
    assert_eq!(pinfo(&gone, &hana)["mode"], 1);
    feed.quiet().await;

    // Online under the same pid, as a guest; Ivan still waits.
    assert!(online_names(&host).await.contains(&"Hana Xu".to_owned()));
    assert_eq!(emu.pid(MEETING, "Hana Xu").await, hana);
    assert_eq!(
        emu.participant(MEETING, "Hana Xu").await["role"],
        json!("guest")
    );
    let names: Vec<Value> = waiting(&emu)
        .await
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, [json!("Ivan Ho")]);
}

#[tokio::test]
async fn admitting_all_lets_everyone_in_and_an_empty_room_changes_nothing() {
    let emu = Emu::start(WAITING_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    // Everyone admitted joins muted when the meeting is muted.
    host.put("/mute", json!({"isMute": 1})).await.ok();
    let (mut feed, _) = Feed::subscribed(&emu, &host, &BOTH).await;
    host.put("/allowWaitingParticipant", json!({"allowAll": true}))
        .await
        .ok();
    let admitted = feed.frame().await;
    assert_eq!(admitted["data"].as_array().unwrap().len(), 2, "{admitted}");
    let joined = feed.frame().await;
    assert_eq!(joined["data"].as_array().unwrap().len(), 2, "{joined}");
    feed.frame().await;
    let online = online_names(&host).await;
    assert!(online.contains(&"Hana Xu".to_owned()) && online.contains(&"Ivan Ho".to_owned()));
    assert!(waiting(&emu).await.is_empty());
    let ivan = emu.participant(MEETING, "Ivan Ho").await;
    assert_eq!(
        (&ivan["mute"], &ivan["video"]),
        (&json!(true), &json!(true))
    );

    host.put("/allowWaitingParticipant", json!({"allowAll": true}))
        .await
        .ok();
    feed.quiet().await;
}

#[tokio::test]
async fn moving_one_or_a_batch_takes_them_offline_into_the_waiting_list() {
    let emu = Emu::start(WAITING_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let bob = emu.pid(MEETING, "Bob Li").await;
    let dave = emu.pid(MEETING, "Dave Ma").await;
    host.put_to("/participants/broadcast", &bob, None)
        .await
        .ok();
    let (mut feed, _) = Feed::subscribed(&emu, &host, &BOTH).await;

    host.put("/moveToWaitingRoom", json!({"participantID": carol}))
        .await
        .ok();
    let left = feed.frame().await;
    assert_eq!(left["action"], "ParticipantsNotify", "{left}");
    assert_eq!(pinfo(&left, &carol)["mode"], 1);
    let arrived = feed.frame().await;
    assert_eq!(arrived["action"], "WaitingListNotify", "{arrived}");
    let map = &pinfo(&arrived, &carol)["pinfoMap"];
    assert_eq!(
        (&map["NAME"], &map["WAITINGSTATE"]),
        (&json!("Carol Wu"), &json!("0"))
    );
    assert!(!online_names(&host).await.contains(&"Carol Wu".to_owned()));
    assert_eq!(waiting_pid(&emu, "Carol Wu").await, carol);

    // Bob (broadcast, hand up) and the co-host in one call: what they held stays behind.
    host.put(
        "/batchMoveToWaitingRoom",
        json!({"batchParticipants": [bob, dave]}),
    )
    .await
    .ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["broadcast"], Value::Null);
    assert_eq!(state["cohosts"], json!([]));
    let online = online_names(&host).await;
    assert_eq!(online, ["Alice Zhang"]);
    assert_eq!(waiting(&emu).await.len(), 5);

    // Admitted again: the same pid, hand down, a guest.
    host.put("/allowWaitingParticipant", json!({"participantID": bob}))
        .await
        .ok();
    let back = emu.participant(MEETING, "Bob Li").await;
    assert_eq!(back["pid"], bob.as_str());
    assert_eq!(
        (&back["hand"], &back["role"]),
        (&json!(false), &json!("guest"))
    );
}

#[tokio::test]
async fn refusals_are_the_services_and_change_nothing() {
    let emu = Emu::start(WAITING_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let alice = emu.pid(MEETING, "Alice Zhang").await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let hana = waiting_pid(&emu, "Hana Xu").await;
    let before = emu.meeting(MEETING).await;

    // Unknown pids: someone online is not waiting, someone waiting is not online.
    host.put("/allowWaitingParticipant", json!({"participantID": carol}))
        .await
        .error(400, "MMC.111072008");
    host.put("/moveToWaitingRoom", json!({"participantID": hana}))
        .await
        .error(400, "MMC.111072008");
    host.put(
        "/batchMoveToWaitingRoom",
        json!({"batchParticipants": [carol, "f".repeat(32)]}),
    )
    .await
    .error(400, "MMC.111072008");

    // The host stays, alone or in a batch.
    host.put("/moveToWaitingRoom", json!({"participantID": alice}))
        .await
        .error(400, "MMC.111070001")
        .msg_contains("participantID: the host cannot be moved");
    host.put(
        "/batchMoveToWaitingRoom",
        json!({"batchParticipants": [carol, alice]}),
    )
    .await
    .error(400, "MMC.111070001")
    .msg_contains("batchParticipants: the host");

    // Bodies: neither field, allowAll as a 0/1 flag, a missing or empty list.
    for (tail, body, field) in [
        ("/allowWaitingParticipant", json!({}), "participantID"),
        (
            "/allowWaitingParticipant",
            json!({"allowAll": false}),
            "participantID",
        ),
        (
            "/allowWaitingParticipant",
            json!({"allowAll": 1}),
            "allowAll",
        ),
        ("/moveToWaitingRoom", json!({}), "participantID"),
        (
            "/batchMoveToWaitingRoom",
            json!({"batchParticipants": []}),
            "batchParticipants",
        ),
        ("/batchMoveToWaitingRoom", json!({"pids": [carol]}), "pids"),
    ] {
        host.put(tail, body)
            .await
            .error(400, "MMC.111070001")
            .msg_contains(field);
    }
    let too_many: Vec<String> = (0..501).map(|_| carol.clone()).collect();
    host.put(
        "/batchMoveToWaitingRoom",
        json!({"batchParticipants": too_many}),
    )
    .await
    .error(400, "MMC.111070001")
    .msg_contains("at most 500");

    assert_eq!(emu.meeting(MEETING).await, before);

    // Without a token, and on an ended meeting, as for every control call.
    emu.control(
        "PUT",
        "/allowWaitingParticipant",
        MEETING,
        None,
        None,
        Some(json!({"allowAll": true})),
    )
    .await
    .error(401, "MMC.111070111");
    host.call("PUT", "/stop", None, None).await.ok();
    host.put("/moveToWaitingRoom", json!({"participantID": carol}))
        .await
        .error(400, "MMC.111072006");
}

#[tokio::test]
async fn a_seeds_waiting_room_holds_guests_only() {
    let emu = Emu::start(WAITING_HALL).await;
    for (person, key) in [
        (json!({"name": "Host Hu", "role": "host"}), "role"),
        (json!({"name": "Hand Han", "hand": "raised"}), "hand"),
        (
            json!({"name": "Leaving Li", "leaves_after": "1m"}),
            "leaves_after",
        ),
    ] {
        emu.admin(
            "POST",
            "/_sim/meetings",
            Some(json!({"host_password": "pw", "waiting_room": [person]})),
        )
        .await
        .error(400, "SIM.BAD_REQUEST")
        .msg_contains(&format!("`{key}` is for online participants"));
    }
    // The admin API's waiting room holds to the same.
    emu.admin(
        "POST",
        &format!("/_sim/meetings/{MEETING}/waiting"),
        Some(json!({"name": "Host Hu", "role": "cohost"})),
    )
    .await
    .error(400, "SIM.BAD_REQUEST")
    .msg_contains("`role` is for online participants");
}
