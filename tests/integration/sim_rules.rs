//! The service's rules the emulator follows (docs/api.md#emulator): the chairman
//! password, hand and co-host refusals, batch sizes, ringing invitees and their
//! outcomes, the API gateway's throttle with its rate header, and the shape of every
//! answer (`request_id` in error bodies, `Content-Type` on empty successes).

use serde_json::{Value, json};

use crate::support::*;

/// The exact error body: code, message, and the request id of the answer's header.
#[track_caller]
fn exact_error(answer: &Answer, status: u16, code: &str, msg: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    let id = answer.request_id.as_deref().expect("X-Request-Id");
    assert_eq!(
        answer.body,
        json!({"error_code": code, "error_msg": msg, "request_id": id}),
        "{answer:?}"
    );
}

#[tokio::test]
async fn applying_for_host_needs_the_right_chairman_password() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let dave = emu.pid(MEETING, "Dave Ma").await;
    let alice = emu.pid(MEETING, "Alice Zhang").await;
    let role = |body: Value| host.put_to("/participants/role", &dave, Some(body));

    let missing = role(json!({"applyChair": 1})).await;
    missing
        .error(400, "MMC.111070001")
        .msg_contains("chairmanPwd");
    let wrong = role(json!({"applyChair": 1, "chairmanPwd": "654321"})).await;
    exact_error(&wrong, 400, "MMC.111072018", "CONF_CHAIRMAN_PWD_EXCEPTION");
    assert_eq!(
        emu.meeting(MEETING).await["host"],
        alice.as_str(),
        "a refused application changes nothing"
    );

    role(json!({"applyChair": 1, "chairmanPwd": PASSWORD}))
        .await
        .ok();
    assert_eq!(emu.meeting(MEETING).await["host"], dave.as_str());
    // Releasing needs no password.
    role(json!({"applyChair": 0})).await.ok();
    assert_eq!(emu.meeting(MEETING).await["host"], Value::Null);
}

#[tokio::test]
async fn the_hosts_own_hand_is_never_raised() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let alice = emu.pid(MEETING, "Alice Zhang").await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let before = emu.meeting(MEETING).await;

    let single = host
        .put_to(
            "/participants/hands",
            &alice,
            Some(json!({"handsState": 1})),
        )
        .await;
    exact_error(&single, 400, "MMC.111072069", "CONF_CHAIR_FORBIDDEN_HAND");
    let batch = host
        .put(
            "/participants/batch/hands",
            json!({"handsState": 1, "pids": [carol, alice]}),
        )
        .await;
    exact_error(&batch, 400, "MMC.111072069", "CONF_CHAIR_FORBIDDEN_HAND");
    assert_eq!(
        emu.meeting(MEETING).await,
        before,
        "a refused batch changes nothing, Carol's hand included"
    );

    // Lowering the host's hand, and raising Carol's alone, are fine.
    host.put_to(
        "/participants/hands",
        &alice,
        Some(json!({"handsState": 0})),
    )
    .await
    .ok();
    host.put(
        "/participants/batch/hands",
        json!({"handsState": 1, "pids": [carol]}),
    )
    .await
    .ok();
    assert_eq!(emu.participant(MEETING, "Carol Wu").await["hand"], true);
}

#[tokio::test]
async fn the_strict_hand_rule_refuses_raising_others_with_hand() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let bob = emu.pid(MEETING, "Bob Li").await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    let dave = emu.pid(MEETING, "Dave Ma").await;
    let host = &host;
    let hand = |pid: String, state: u8| async move {
        host.put_to(
            "/participants/hands",
            &pid,
            Some(json!({"handsState": state})),
        )
        .await
    };
    // Lenient by default: the host raises a guest's hand.
    assert_eq!(
        emu.meeting(MEETING).await["rules"],
        json!({"hands": "lenient"})
    );
    hand(carol.clone(), 1).await.ok();
    hand(carol.clone(), 0).await.ok();

    let set = emu
        .admin(
            "PUT",
            &format!("/_sim/meetings/{MEETING}/rules"),
            Some(json!({"hands": "strict"})),
        )
        .await;
    set.ok();
    assert_eq!(set.body, json!({"hands": "strict"}));
    assert_eq!(
        emu.meeting(MEETING).await["rules"],
        json!({"hands": "strict"})
    );

    let refused = hand(carol.clone(), 1).await;
    exact_error(
        &refused,
        400,
        "MMC.111072071",
        "NO_PERMISSION_OPERATE_OTHERS",
    );
    hand(dave.clone(), 1).await.error(400, "MMC.111072071");
    assert_eq!(emu.participant(MEETING, "Carol Wu").await["hand"], false);
    // Lowering is always allowed; a batch still raises guests' hands.
    hand(bob.clone(), 0).await.ok();
    assert_eq!(emu.participant(MEETING, "Bob Li").await["hand"], false);
    host.put(
        "/participants/batch/hands",
        json!({"handsState": 1, "pids": [carol]}),
    )
    .await
    .ok();
    assert_eq!(emu.participant(MEETING, "Carol Wu").await["hand"], true);

    // Unknown keys and values are refused with the admin API's error.
    emu.admin(
        "PUT",
        &format!("/_sim/meetings/{MEETING}/rules"),
        Some(json!({"hands": "loose"})),
    )
    .await
    .error(400, "SIM.BAD_REQUEST");
    emu.admin(
        "PUT",
        "/_sim/meetings/123456789/rules",
        Some(json!({"hands": "strict"})),
    )
    .await
    .error(404, "SIM.NOT_FOUND");
}

#[tokio::test]
async fn the_strict_hand_rule_can_be_seeded() {
    let seed = r#"
meetings:
  - id: "914044873"
    host_password: "123456"
    rules: { hands: strict }
    participants:
      - { name: Alice Zhang, role: host }
      - { name: Carol Wu }
"#;
    let emu = Emu::start(seed).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    host.put_to(
        "/participants/hands",
        &carol,
        Some(json!({"handsState": 1})),
    )
    .await
    .error(400, "MMC.111072071");
}

#[tokio::test]
async fn the_host_cannot_be_made_cohost() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let alice = emu.pid(MEETING, "Alice Zhang").await;
    let before = emu.meeting(MEETING).await;
    let answer = host
        .put_to("/participants/cohost", &alice, Some(json!({"isCohost": 1})))
        .await;
    exact_error(&answer, 400, "MMC.111072107", "CHAIR_CANNOT_BE_COHOST");
    assert_eq!(emu.meeting(MEETING).await, before);
}

#[tokio::test]
async fn batch_hands_takes_one_to_five_hundred_pids() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let bob = emu.pid(MEETING, "Bob Li").await;
    let before = emu.meeting(MEETING).await;
    let batch = |pids: Vec<String>| {
        host.put(
            "/participants/batch/hands",
            json!({"handsState": 0, "pids": pids}),
        )
    };
    batch(Vec::new())
        .await
        .error(400, "MMC.111070001")
        .msg_contains("pids");
    batch(vec![bob.clone(); 501])
        .await
        .error(400, "MMC.111070001")
        .msg_contains("500");
    assert_eq!(emu.meeting(MEETING).await, before, "nothing changed");
    // 500 is allowed (the same pid repeated is harmless).
    batch(vec![bob; 500]).await.ok();
    assert_eq!(emu.participant(MEETING, "Bob Li").await["hand"], false);
}

/// The seed's `invitees:` and the admin route decide how each number answers.
const RINGING: &str = r#"
meetings:
  - id: "914044873"
    host_password: "123456"
    participants:
      - { name: Alice Zhang, role: host }
    invitees:
      "+8613800000001": { outcome: answers, after: 5s }
      "+8613800000002": { outcome: busy }
      "+8613800000003": { outcome: rejects, after: 4s }
      "+8613800000004": { outcome: no_answer }
"#;

/// `(name, state)` of everyone in `realTimeInfo` but the host.
async fn callees(host: &Host<'_>) -> Vec<(String, u64)> {
    let info = host.get("/realTimeInfo").await;
    info.ok();
    info.body["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] != "Alice Zhang")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["state"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn ringing(names: &[(&str, u64)]) -> Vec<(String, u64)> {
    names.iter().map(|(n, s)| ((*n).to_owned(), *s)).collect()
}

#[tokio::test]
async fn invitees_ring_then_answer_or_fail_as_their_number_says() {
    let emu = Emu::start(RINGING).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let attendees: Vec<Value> = (1..=5)
        .map(|n| json!({"name": format!("Callee {n}"), "phone": format!("+861380000000{n}"), "type": "mobile"}))
        .collect();
    let invite = host
        .post("/participants", json!({"attendees": attendees}))
        .await;
    invite.ok();
    assert_eq!(
        invite.body,
        Value::Null,
        "the invite call answers at once, empty"
    );

    // Everyone rings first.
    let all_ringing: Vec<(&str, u64)> = (1..=5)
        .map(|n| {
            (
                ["Callee 1", "Callee 2", "Callee 3", "Callee 4", "Callee 5"][n - 1],
                1,
            )
        })
        .collect();
    assert_eq!(callees(&host).await, ringing(&all_ringing));
    assert_eq!(emu.meeting(MEETING).await["invite_results"], json!({}));

    // 2 s: the unlisted number answers (the default), the busy one fails.
    emu.advance("2s").await;
    assert_eq!(
        callees(&host).await,
        ringing(&[
            ("Callee 1", 1),
            ("Callee 3", 1),
            ("Callee 4", 1),
            ("Callee 5", 0)
        ])
    );
    // 4 s: the rejecting one; 5 s: the slow one answers.
    emu.advance("2s").await;
    assert_eq!(
        callees(&host).await,
        ringing(&[("Callee 1", 1), ("Callee 4", 1), ("Callee 5", 0)])
    );
    emu.advance("1s").await;
    assert_eq!(
        callees(&host).await,
        ringing(&[("Callee 1", 0), ("Callee 4", 1), ("Callee 5", 0)])
    );
    // 30 s: the service gives up on the one who does not answer.
    emu.advance("24s").await;
    assert_eq!(callees(&host).await.len(), 3);
    emu.advance("1s").await;
    assert_eq!(
        callees(&host).await,
        ringing(&[("Callee 1", 0), ("Callee 5", 0)])
    );

    let state = emu.meeting(MEETING).await;
    assert_eq!(
        state["invite_results"],
        json!({
            "+8613800000005": "0",
            "+8613800000002": "111076008",
            "+8613800000003": "111076009",
            "+8613800000001": "0",
            "+8613800000004": "111076005"
        })
    );
    // Everyone called stays on the attendee list, answered or not.
    assert_eq!(state["attendees"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn how_a_number_answers_can_be_changed_while_the_meeting_runs() {
    let emu = Emu::start(RINGING).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let path = format!("/_sim/meetings/{MEETING}/invitees/+8613800000009");
    let set = emu
        .admin(
            "PUT",
            &path,
            Some(json!({"outcome": "rejects", "after": "10s"})),
        )
        .await;
    set.ok();
    assert_eq!(
        set.body["+8613800000009"],
        json!({"outcome": "rejects", "after": "10s"})
    );
    assert_eq!(
        emu.meeting(MEETING).await["invitees"]["+8613800000009"],
        json!({"outcome": "rejects", "after": "10s"})
    );
    let call = || {
        host.post(
            "/participants",
            json!({"attendees": [{"name": "Frank Hu", "phone": "+8613800000009", "type": "mobile"}]}),
        )
    };
    call().await.ok();
    emu.advance("9s").await;
    assert_eq!(callees(&host).await, ringing(&[("Frank Hu", 1)]));
    emu.advance("1s").await;
    assert_eq!(callees(&host).await, ringing(&[]));
    assert_eq!(
        emu.meeting(MEETING).await["invite_results"],
        json!({"+8613800000009": "111076009"})
    );

    // Forgotten, the number answers after the default 2 s; the result is the latest.
    emu.admin("DELETE", &path, None).await.ok();
    call().await.ok();
    emu.advance("2s").await;
    assert_eq!(callees(&host).await, ringing(&[("Frank Hu", 0)]));
    assert_eq!(
        emu.meeting(MEETING).await["invite_results"],
        json!({"+8613800000009": "0"})
    );

    emu.admin(
        "PUT",
        &path,
        Some(json!({"outcome": "busy", "rings": "1s"})),
    )
    .await
    .error(400, "SIM.BAD_REQUEST")
    .msg_contains("rings");
}

#[tokio::test]
async fn a_callee_hung_up_while_ringing_has_no_outcome() {
    let emu = Emu::start(RINGING).await;
    let host = emu.host(MEETING, PASSWORD).await;
    host.post(
        "/participants",
        json!({"attendees": [{"name": "Callee 1", "phone": "+8613800000001", "type": "mobile"}]}),
    )
    .await
    .ok();
    let pid = emu.pid(MEETING, "Callee 1").await;
    host.post(
        "/participants/delete",
        json!({"bulkHangUpParticipants": [pid]}),
    )
    .await
    .ok();
    emu.advance("5s").await;
    assert_eq!(callees(&host).await, ringing(&[]));
    // The hang-up is the number's latest result, not the outcome that never came.
    assert_eq!(
        emu.meeting(MEETING).await["invite_results"],
        json!({"+8613800000001": "111076002"})
    );
}

#[tokio::test]
async fn over_the_configured_rate_the_gateway_throttles_with_its_header() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    // Without a rate, no rate header.
    assert_eq!(
        host.get("/realTimeInfo")
            .await
            .header("x-apig-ratelimit-api"),
        None
    );
    emu.faults(json!({"rate_limit": {"limit": 2, "per": "1m"}}))
        .await;
    let info = || host.get("/realTimeInfo");
    let first = info().await;
    first.ok();
    assert_eq!(
        first.header("x-apig-ratelimit-api"),
        Some("remain:1,limit:2,time:1 minute")
    );
    let second = info().await;
    assert_eq!(
        second.header("x-apig-ratelimit-api"),
        Some("remain:0,limit:2,time:1 minute")
    );
    let over = info().await;
    exact_error(
        &over,
        429,
        "APIG.0308",
        "The throttling threshold has been reached: policy user over ratelimit,limit:2,time:1 minute",
    );
    assert_eq!(
        over.header("x-apig-ratelimit-api"),
        Some("remain:0,limit:2,time:1 minute")
    );
    assert_eq!(over.retry_after, None, "Retry-After only when configured");
    // Per method and path: an action call has its own budget, and says so.
    let lock = host.put("/lock", json!({"isLock": 1})).await;
    lock.ok();
    assert_eq!(
        lock.header("x-apig-ratelimit-api"),
        Some("remain:1,limit:2,time:1 minute")
    );

    emu.faults(json!({"rate_limit": {"limit": 1, "per": "1s", "retry_after": true}}))
        .await;
    host.get("/realTimeInfo").await.ok();
    let over = host.get("/realTimeInfo").await;
    over.error(429, "APIG.0308")
        .msg_contains("limit:1,time:1 second");
    assert_eq!(over.retry_after.as_deref(), Some("1"));
}

#[tokio::test]
async fn the_server_flow_control_fault_keeps_its_own_code() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/lock"), "nth": 1, "throttle": {"retry_after": 3}}]}))
        .await;
    let answer = host.put("/lock", json!({"isLock": 1})).await;
    exact_error(&answer, 429, "MMC.100000429", "TOO_MANY_REQUESTS");
    assert_eq!(answer.retry_after.as_deref(), Some("3"));
    assert_eq!(answer.header("x-apig-ratelimit-api"), None);
}

#[tokio::test]
async fn errors_carry_the_request_id_and_successes_the_json_content_type() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let gone = host
        .put_to(
            "/participants/mute",
            "0123456789abcdef0123456789abcdef",
            Some(json!({"isMute": 1})),
        )
        .await;
    exact_error(&gone, 400, "MMC.111072008", "CONF_PARTICIPANT_NOT_EXIST");
    // The token call and unknown paths too.
    let refused = emu.token_call(MEETING, Some("wrong"), None).await;
    exact_error(
        &refused,
        400,
        "MMC.111072065",
        "CONF_NOT_FOUND_OR_AUTH_FAILED",
    );
    let unknown = host.get("/nothing-here").await;
    assert_eq!(
        unknown.body["request_id"].as_str(),
        unknown.request_id.as_deref()
    );

    let done = host.put("/lock", json!({"isLock": 1})).await;
    done.ok();
    assert_eq!(
        done.body,
        Value::Null,
        "an action call answers with no body"
    );
    assert_eq!(
        done.header("content-type"),
        Some("application/json;charset=UTF-8")
    );
    // Reads keep their JSON answer.
    let read = host.get("/realTimeInfo").await;
    assert!(
        read.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(read.body["participants"].is_array());
}

#[tokio::test]
async fn a_rehearsal_plays_the_strict_hand_rule_and_ringing_invitees() {
    let playbook = "name: Strict\nmeeting: { id: \"914044873\", host_password: pw1234 }\nsteps:\n  - invite: { name: Frank Hu, phone: \"+8613800000009\" }\n  - raise_hand: Carol Wu\nrehearsal:\n  rules: { hands: strict }\n  invitees:\n    \"+8613800000009\": { outcome: busy, after: 1s }\n  participants: [ { name: Alice Zhang, role: host }, { name: Carol Wu } ]\n";
    let (output, requests) = Run::playbook(playbook).rehearse().await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stderr.contains("111072071") || output.stdout.contains("111072071"),
        "{}",
        output.transcript()
    );
    let hands = requests
        .iter()
        .find(|r| r["path"] == format!("{CONTROL}/participants/hands"))
        .expect("the raise was sent");
    assert_eq!(hands["status"], 400);
    assert_eq!(hands["error_code"], "MMC.111072071");
}
