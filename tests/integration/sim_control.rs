//! The rows of the emulator-decisions table every control call follows: authentication,
//! an ended meeting, unknown participants, bodies checked field by field, request ids.
//! What each call does is in `sim_control_effects`.

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
            Some(json!({"applyChair": 1, "chairmanPwd": PASSWORD})),
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
        .error(400, "MMC.111072008")
        .msg_contains("CONF_PARTICIPANT_NOT_EXIST");
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
