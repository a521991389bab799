//! Every control call: its effect, asserted through `/_sim/`, and every row of the
//! emulator-decisions table that applies to it.

use serde_json::{Value, json};

use crate::support::*;

/// Every control endpoint: method, path after `/conferences`, whether it names a
/// participant, and a valid body.
fn endpoints() -> Vec<(&'static str, &'static str, bool, Option<Value>)> {
    vec![
        ("GET", "/wsToken", false, None),
        ("GET", "/realTimeInfo", false, None),
        ("PUT", "/participants/broadcast", true, None),
        ("PUT", "/cancelBroadcast", false, None),
        ("PUT", "/participants/rollCall", true, None),
        (
            "PUT",
            "/participants/hands",
            true,
            Some(json!({"handsState": 0})),
        ),
        (
            "PUT",
            "/participants/batch/hands",
            false,
            Some(json!({"handsState": 0, "pids": []})),
        ),
        (
            "PUT",
            "/participants/mute",
            true,
            Some(json!({"isMute": 1})),
        ),
        ("PUT", "/mute", false, Some(json!({"isMute": 1}))),
        (
            "PUT",
            "/mute/guestUnMute",
            false,
            Some(json!({"allowUnmuteByOneself": 1})),
        ),
        (
            "PUT",
            "/participants/role",
            true,
            Some(json!({"applyChair": 1})),
        ),
        (
            "PUT",
            "/participants/cohost",
            true,
            Some(json!({"isCohost": 1})),
        ),
        ("PUT", "/lock", false, Some(json!({"isLock": 1}))),
        ("PUT", "/record", false, Some(json!({"isRecord": 1}))),
        ("PUT", "/live", false, Some(json!({"isLive": 1}))),
        (
            "POST",
            "/participants/delete",
            false,
            Some(json!({"bulkHangUpParticipants": ["x"]})),
        ),
        (
            "POST",
            "/participants",
            false,
            Some(json!({"attendees": [{"name": "Z", "phone": "+1", "type": "normal"}]})),
        ),
        (
            "PUT",
            "/participants/name",
            false,
            Some(json!({"number": "+8613800000003", "newName": "C"})),
        ),
        (
            "PUT",
            "/duration",
            false,
            Some(json!({"auto": 0, "duration": 15})),
        ),
        ("PUT", "/stop", false, None),
    ]
}

#[tokio::test]
async fn every_call_applies_the_authentication_rows() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let other = emu.login(OTHER_MEETING, OTHER_PASSWORD).await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let before = emu.meeting(MEETING).await;
    for (method, tail, _, body) in endpoints() {
        let pid = Some(carol.as_str());
        emu.control(method, tail, MEETING, pid, None, body.clone())
            .await
            .error(401, "MMC.111070111");
        emu.control(
            method,
            tail,
            MEETING,
            pid,
            Some("not-a-token"),
            body.clone(),
        )
        .await
        .error(401, "MMC.111070004");
        emu.control(method, tail, MEETING, pid, Some(&other), body.clone())
            .await
            .error(401, "MMC.111070004");
        let basic_garbage = "Basic %%%";
        emu.control(
            method,
            tail,
            MEETING,
            pid,
            Some(basic_garbage),
            body.clone(),
        )
        .await
        .error(401, "MMC.111070004");
        // The conference id is required once the token header is there.
        let answer = emu
            .send(
                emu.client
                    .request(
                        method.parse().unwrap(),
                        emu.url(&format!("{CONTROL}{tail}")),
                    )
                    .header("X-Conference-Authorization", &token),
            )
            .await;
        answer
            .error(400, "MMC.111070001")
            .msg_contains("conferenceID");
    }
    assert_eq!(
        emu.meeting(MEETING).await,
        before,
        "refused calls change nothing"
    );
}

#[tokio::test]
async fn every_call_on_an_ended_meeting_answers_111081002() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    host.call("PUT", "/stop", None, None).await.ok();
    for (method, tail, _, body) in endpoints() {
        host.call(method, tail, Some(&carol), body)
            .await
            .error(400, "MMC.111081002");
    }
}

#[tokio::test]
async fn participant_calls_refuse_unknown_and_missing_pids_and_change_nothing() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let before = emu.meeting(MEETING).await;
    for (method, tail, names_participant, body) in endpoints() {
        if !names_participant {
            continue;
        }
        host.call(
            method,
            tail,
            Some("0123456789abcdef0123456789abcdef"),
            body.clone(),
        )
        .await
        .error(400, "MMC.111070001")
        .msg_contains("PARTICIPANT_NOT_FOUND");
        host.call(method, tail, None, body)
            .await
            .error(400, "MMC.111070001")
            .msg_contains("participantID");
    }
    assert_eq!(emu.meeting(MEETING).await, before);
}

#[tokio::test]
async fn bodies_are_checked_field_by_field() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let before = emu.meeting(MEETING).await;
    for (method, tail, _, body) in endpoints() {
        let Some(body) = body else { continue };
        let field = body.as_object().unwrap().keys().next().unwrap().clone();
        let pid = Some(carol.as_str());
        // Missing body, malformed JSON, an unknown field, a wrong type.
        host.call(method, tail, pid, None)
            .await
            .error(400, "MMC.111070001");
        let answer = emu
            .send(
                emu.client
                    .request(
                        method.parse().unwrap(),
                        emu.url(&format!("{CONTROL}{tail}")),
                    )
                    .query(&[("conferenceID", MEETING), ("participantID", &carol)])
                    .header("X-Conference-Authorization", &token)
                    .body("{\"oops\""),
            )
            .await;
        answer.error(400, "MMC.111070001");
        let mut unknown = body.clone();
        unknown["surprise"] = json!(1);
        host.call(method, tail, pid, Some(unknown))
            .await
            .error(400, "MMC.111070001")
            .msg_contains("surprise");
        let mut wrong_type = body.clone();
        wrong_type[&field] = json!({"nested": true});
        host.call(method, tail, pid, Some(wrong_type))
            .await
            .error(400, "MMC.111070001")
            .msg_contains(&field);
    }
    // Out-of-range integers for the 0/1 flags.
    for (tail, field) in [
        ("/lock", "isLock"),
        ("/record", "isRecord"),
        ("/live", "isLive"),
        ("/mute", "isMute"),
    ] {
        host.put(tail, json!({ field: 2 }))
            .await
            .error(400, "MMC.111070001")
            .msg_contains(field);
        host.put(tail, json!({ field: true }))
            .await
            .error(400, "MMC.111070001");
    }
    assert_eq!(emu.meeting(MEETING).await, before);
}

#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let mut ids = std::collections::HashSet::new();
    for (method, tail, _, body) in endpoints() {
        let answer = emu
            .control(method, tail, MEETING, None, Some(&token), body)
            .await;
        let id = answer.request_id.clone().expect("X-Request-Id");
        assert_eq!(id.len(), 32);
        assert!(ids.insert(id));
    }
    let admin = emu.admin("GET", "/_sim/meetings", None).await;
    assert!(admin.request_id.is_some());
    let missing = emu
        .admin("GET", "/v1/mmc/control/conferences/nothing", None)
        .await;
    missing.error(404, "APIGW.0101");
    assert!(missing.request_id.is_some());
}

#[tokio::test]
async fn success_bodies_of_action_calls_are_empty() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let answer = emu
        .control(
            "PUT",
            "/lock",
            MEETING,
            None,
            Some(&token),
            Some(json!({"isLock": 1})),
        )
        .await;
    answer.ok();
    assert_eq!(answer.body, Value::Null);
}

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
        .error(400, "MMC.111070001")
        .msg_contains("PARTICIPANT_NOT_FOUND");
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
    // Only guests can become co-host: the host is refused.
    cohost(alice.clone(), 1)
        .await
        .error(400, "MMC.111070001")
        .msg_contains("host");
    cohost(carol.clone(), 0).await.ok();
    assert_eq!(emu.meeting(MEETING).await["cohosts"], json!([dave]));

    // A wrong chairman password is refused; a right one or none is accepted.
    role(
        dave.clone(),
        json!({"applyChair": 1, "chairmanPwd": "nope"}),
    )
    .await
    .error(400, "MMC.111072065");
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
        .error(400, "MMC.111070001");
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
        .error(400, "MMC.111070001")
        .msg_contains("PARTICIPANT_NOT_FOUND");
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
