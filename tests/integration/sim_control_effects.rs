//! Every control call's effect on the meeting, asserted through `/_sim/`.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn broadcast_replaces_and_roll_call_clears_broadcast() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (alice, bob, carol) = (
        emu.pid(MEETING, "Alice Zhang").await,
        emu.pid(MEETING, "Bob Li").await,
        emu.pid(MEETING, "Carol Wu").await,
    );
    host.put_to("/participants/broadcast", &bob, None)
        .await
        .ok();
    assert_eq!(emu.meeting(MEETING).await["broadcast"], bob.as_str());
    host.put_to("/participants/broadcast", &carol, None)
        .await
        .ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["broadcast"], carol.as_str());
    assert_eq!(state["roll_call"], Value::Null);
    // Broadcasting the broadcast participant again changes nothing.
    host.put_to("/participants/broadcast", &carol, None)
        .await
        .ok();
    assert_eq!(emu.meeting(MEETING).await, state);

    host.put_to("/participants/rollCall", &bob, None).await.ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["roll_call"], bob.as_str());
    assert_eq!(state["broadcast"], Value::Null);
    // The called participant and the host speak; everyone else is muted.
    for p in state["participants"].as_array().unwrap() {
        let speaks = p["pid"] == bob.as_str() || p["pid"] == alice.as_str();
        assert_eq!(p["mute"], !speaks, "{p}");
    }
    host.put_to("/participants/broadcast", &carol, None)
        .await
        .ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(
        (state["broadcast"].as_str(), &state["roll_call"]),
        (Some(carol.as_str()), &Value::Null)
    );

    host.call("PUT", "/cancelBroadcast", None, None).await.ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(
        (&state["broadcast"], &state["roll_call"]),
        (&Value::Null, &Value::Null)
    );
    // Cancelling when nothing is broadcast is a no-op success.
    host.call("PUT", "/cancelBroadcast", None, None).await.ok();
    assert_eq!(emu.meeting(MEETING).await, state);
}

#[tokio::test]
async fn hands_one_and_batch() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let bob = emu.pid(MEETING, "Bob Li").await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let hands = |pid: String, state: u8| {
        let host = &host;
        async move {
            host.put_to(
                "/participants/hands",
                &pid,
                Some(json!({"handsState": state})),
            )
            .await
        }
    };
    // The host may raise someone else's hand (an emulator decision).
    hands(carol.clone(), 1).await.ok();
    assert_eq!(emu.participant(MEETING, "Carol Wu").await["hand"], true);
    hands(bob.clone(), 0).await.ok();
    hands(bob.clone(), 0).await.ok();
    assert_eq!(emu.participant(MEETING, "Bob Li").await["hand"], false);

    let batch = |body: Value| host.put("/participants/batch/hands", body);
    batch(json!({"handsState": 1, "pids": [bob, carol]}))
        .await
        .ok();
    assert_eq!(emu.participant(MEETING, "Bob Li").await["hand"], true);
    // A batch with one unknown pid changes nothing.
    let before = emu.meeting(MEETING).await;
    batch(json!({"handsState": 0, "pids": [bob, "ffffffffffffffffffffffffffffffff"]}))
        .await
        .error(400, "MMC.111072008")
        .msg_contains("CONF_PARTICIPANT_NOT_EXIST");
    assert_eq!(emu.meeting(MEETING).await, before);
    // More than 500 pids is refused, as is an empty list.
    let many: Vec<String> = std::iter::repeat_n(bob.clone(), 501).collect();
    batch(json!({"handsState": 0, "pids": many}))
        .await
        .error(400, "MMC.111070001")
        .msg_contains("500");
    batch(json!({"handsState": 0, "pids": []}))
        .await
        .error(400, "MMC.111070001")
        .msg_contains("pids");
    let exactly: Vec<String> = std::iter::repeat_n(bob.clone(), 500).collect();
    batch(json!({"handsState": 0, "pids": exactly})).await.ok();
    assert_eq!(emu.participant(MEETING, "Bob Li").await["hand"], false);
    assert_eq!(emu.participant(MEETING, "Carol Wu").await["hand"], true);
}

#[tokio::test]
async fn mute_one_mute_all_and_self_unmute() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    host.put_to("/participants/mute", &carol, Some(json!({"isMute": 1})))
        .await
        .ok();
    assert_eq!(emu.participant(MEETING, "Carol Wu").await["mute"], true);

    host.put("/mute", json!({"isMute": 1, "allowUnmuteByOneself": 0}))
        .await
        .ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(
        (
            state["mute_all"].as_bool(),
            state["allow_self_unmute"].as_bool()
        ),
        (Some(true), Some(false))
    );
    for p in state["participants"].as_array().unwrap() {
        assert_eq!(p["mute"], p["role"] != "host", "everyone but the host: {p}");
    }
    // The guest cannot unmute themselves now, through the admin API's client view.
    let path = format!("/_sim/meetings/{MEETING}/participants/{carol}/mute");
    emu.admin("PUT", &path, Some(json!({"muted": false})))
        .await
        .error(403, "SIM.SELF_UNMUTE_NOT_ALLOWED");
    host.put("/mute/guestUnMute", json!({"allowUnmuteByOneself": 1}))
        .await
        .ok();
    assert_eq!(emu.meeting(MEETING).await["allow_self_unmute"], true);
    emu.admin("PUT", &path, Some(json!({"muted": false})))
        .await
        .ok();
    assert_eq!(emu.participant(MEETING, "Carol Wu").await["mute"], false);

    // Muting without the optional field allows self-unmute (its default, 1).
    host.put("/mute", json!({"isMute": 1})).await.ok();
    assert_eq!(emu.meeting(MEETING).await["allow_self_unmute"], true);
    // A guest who joins while everyone is muted arrives muted.
    let joined = emu
        .admin(
            "POST",
            &format!("/_sim/meetings/{MEETING}/participants"),
            Some(json!({"name": "Late Larry"})),
        )
        .await;
    assert_eq!(joined.status, 201);
    assert_eq!(joined.body["mute"], true);

    host.put("/mute", json!({"isMute": 0})).await.ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["mute_all"], false);
    assert!(
        state["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["mute"] == false || p["role"] == "host")
    );
}

#[tokio::test]
async fn host_and_cohost_roles() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let alice = emu.pid(MEETING, "Alice Zhang").await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let dave = emu.pid(MEETING, "Dave Ma").await;
    let role = |pid: String, body: Value| {
        let host = &host;
        async move { host.put_to("/participants/role", &pid, Some(body)).await }
    };
    let cohost = |pid: String, on: u8| {
        let host = &host;
        async move {
            host.put_to("/participants/cohost", &pid, Some(json!({"isCohost": on})))
                .await
        }
    };

    cohost(carol.clone(), 1).await.ok();
    cohost(carol.clone(), 1).await.ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["cohosts"], json!([dave, carol]));
    assert_eq!(emu.participant(MEETING, "Carol Wu").await["role"], "cohost");
    // Only guests can become co-host: the host is refused with the service's code.
    cohost(alice.clone(), 1)
        .await
        .error(400, "MMC.111072107")
        .msg_contains("CHAIR_CANNOT_BE_COHOST");
    cohost(carol.clone(), 0).await.ok();
    assert_eq!(emu.meeting(MEETING).await["cohosts"], json!([dave]));

    // Applying needs the right chairman password; releasing needs none.
    role(
        dave.clone(),
        json!({"applyChair": 1, "chairmanPwd": "nope"}),
    )
    .await
    .error(400, "MMC.111072018");
    role(
        dave.clone(),
        json!({"applyChair": 1, "chairmanPwd": PASSWORD}),
    )
    .await
    .ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["host"], dave.as_str());
    assert_eq!(
        state["cohosts"],
        json!([]),
        "the new host is no longer a co-host"
    );
    assert_eq!(
        emu.participant(MEETING, "Alice Zhang").await["role"],
        "guest"
    );
    // Releasing the host role of someone who is not host changes nothing.
    role(alice.clone(), json!({"applyChair": 0})).await.ok();
    assert_eq!(emu.meeting(MEETING).await["host"], dave.as_str());
    role(dave.clone(), json!({"applyChair": 0})).await.ok();
    assert_eq!(emu.meeting(MEETING).await["host"], Value::Null);
}

#[tokio::test]
async fn lock_record_live_extend() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    for (tail, field, key) in [
        ("/lock", "isLock", "locked"),
        ("/record", "isRecord", "recording"),
        ("/live", "isLive", "live"),
    ] {
        for value in [1, 1, 0, 0] {
            host.put(tail, json!({ field: value })).await.ok();
            assert_eq!(
                emu.meeting(MEETING).await[key],
                value == 1,
                "{tail} {value}"
            );
        }
    }
    let end = |state: &Value| {
        state["end_time"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let before = end(&emu.meeting(MEETING).await);
    host.put("/duration", json!({"auto": 0, "duration": 30}))
        .await
        .ok();
    assert_eq!(
        end(&emu.meeting(MEETING).await).duration_since(before),
        jiff::SignedDuration::from_mins(30)
    );
    host.put("/duration", json!({"auto": 0})).await.ok();
    assert_eq!(
        end(&emu.meeting(MEETING).await).duration_since(before),
        jiff::SignedDuration::from_mins(45)
    );
    for bad in [0, -5, 100_000] {
        host.put("/duration", json!({"auto": 0, "duration": bad}))
            .await
            .error(400, "MMC.111070001")
            .msg_contains("duration");
    }
    host.put("/duration", json!({"auto": 1})).await.ok();
    assert_eq!(emu.meeting(MEETING).await["auto_extend"], true);
}

#[tokio::test]
async fn hang_up_removes_people_and_what_they_held() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let alice = emu.pid(MEETING, "Alice Zhang").await;
    let bob = emu.pid(MEETING, "Bob Li").await;
    let dave = emu.pid(MEETING, "Dave Ma").await;
    host.put_to("/participants/broadcast", &bob, None)
        .await
        .ok();
    let hang_up = |pids: Value| {
        host.post(
            "/participants/delete",
            json!({"bulkHangUpParticipants": pids}),
        )
    };
    let before = emu.meeting(MEETING).await;
    hang_up(json!([bob, "ffffffffffffffffffffffffffffffff"]))
        .await
        .error(400, "MMC.111072008");
    hang_up(json!([])).await.error(400, "MMC.111070001");
    assert_eq!(emu.meeting(MEETING).await, before);
    hang_up(json!([bob, dave, alice])).await.ok();
    let state = emu.meeting(MEETING).await;
    let names: Vec<&str> = state["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Carol Wu"]);
    assert_eq!(
        (&state["broadcast"], &state["host"], &state["cohosts"]),
        (&Value::Null, &Value::Null, &json!([]))
    );
}

#[tokio::test]
async fn invite_and_rename() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let invite = |attendees: Value| host.post("/participants", json!({"attendees": attendees}));
    invite(json!([{"name": "Frank Hu", "phone": "+8613800000009", "type": "normal"}]))
        .await
        .ok();
    // Inviting the same number again does not add a second device.
    invite(json!([{"name": "Frank Hu", "phone": "+8613800000009", "type": "normal"}]))
        .await
        .ok();
    let state = emu.meeting(MEETING).await;
    let franks = state["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "Frank Hu")
        .count();
    assert_eq!(franks, 1);
    assert_eq!(
        state["attendees"],
        json!([{"name": "Frank Hu", "phone": "+8613800000009"}])
    );
    // Invites still work while locked.
    host.put("/lock", json!({"isLock": 1})).await.ok();
    invite(json!([{"name": "Gina Xu", "phone": "+8613800000010", "type": "mobile"}]))
        .await
        .ok();
    // The callee rings first, and answers after the default 2 s.
    assert_eq!(
        emu.participant(MEETING, "Gina Xu").await["state"],
        "calling"
    );
    emu.advance("2s").await;
    assert_eq!(
        emu.participant(MEETING, "Gina Xu").await["state"],
        "in_meeting"
    );
    invite(json!([{"name": "X", "phone": "+1", "type": "fax"}]))
        .await
        .error(400, "MMC.111070001")
        .msg_contains("type");
    invite(json!([{"name": "", "phone": "+1", "type": "normal"}]))
        .await
        .error(400, "MMC.111070001")
        .msg_contains("name");
    invite(json!([]))
        .await
        .error(400, "MMC.111070001")
        .msg_contains("attendees");

    let frank = emu.pid(MEETING, "Frank Hu").await;
    let rename = |body: Value| host.put("/participants/name", body);
    rename(json!({"participantID": frank, "number": "+8613800000009", "newName": "Frank H."}))
        .await
        .ok();
    assert_eq!(
        emu.participant(MEETING, "Frank H.").await["pid"],
        frank.as_str()
    );
    assert_eq!(
        emu.meeting(MEETING).await["attendees"][0]["name"],
        "Frank H."
    );
    rename(json!({"number": "+0000", "newName": "Nobody"}))
        .await
        .error(400, "MMC.111072008")
        .msg_contains("CONF_PARTICIPANT_NOT_EXIST");
    rename(json!({"number": "+8613800000009", "newName": "x".repeat(97)}))
        .await
        .error(400, "MMC.111070001")
        .msg_contains("newName");
}

#[tokio::test]
async fn real_time_info_has_the_services_shape() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let answer = emu
        .control("GET", "/realTimeInfo", MEETING, None, Some(&token), None)
        .await;
    answer.ok();
    let info = &answer.body;
    let alice = emu.pid(MEETING, "Alice Zhang").await;
    let dave = emu.pid(MEETING, "Dave Ma").await;
    assert_eq!(
        info["confInfo"],
        json!({"chairID": alice, "coHosts": [dave]})
    );
    let bob = info["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Bob Li")
        .unwrap();
    let keys: Vec<&str> = bob
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["pid", "name", "phone", "state", "video", "mute", "hand"]
    );
    assert_eq!(
        (&bob["hand"], &bob["mute"], &bob["video"], &bob["state"]),
        (&json!(1), &json!(1), &json!(1), &json!(0))
    );
    assert_eq!(bob["pid"].as_str().unwrap().len(), 32);
    assert!(info["attendees"].is_array());
}

#[tokio::test]
async fn ending_the_meeting_disconnects_everyone() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    host.put("/record", json!({"isRecord": 1})).await.ok();
    host.call("PUT", "/stop", None, None).await.ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["status"], "ended");
    assert_eq!(state["participants"], json!([]));
    assert_eq!(state["recording"], false);
    // And nobody can log in to it any more.
    emu.token_call(MEETING, Some(PASSWORD), None)
        .await
        .error(400, "MMC.111072065");
}
