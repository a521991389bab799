//! The `/_sim/` admin API, and bad input of every kind: each gets the right 4xx and
//! error body, and none changes the emulator's state.

use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn meetings_are_listed_shown_created_and_deleted() {
    let emu = Emu::start(TOWN_HALL).await;
    let list = emu.admin("GET", "/_sim/meetings", None).await;
    list.ok();
    let ids: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [MEETING, OTHER_MEETING]);

    let state = emu.meeting(MEETING).await;
    let keys: Vec<&str> = state
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "id",
        "subject",
        "state",
        "starts_at",
        "ends_at",
        "auto_prolong",
        "guests_may_start",
        "locked",
        "recording",
        "live",
        "mute_all",
        "allow_self_unmute",
        "broadcast",
        "roll_call",
        "host",
        "cohosts",
        "participants",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert_eq!(state["state"], "Created");
    assert_eq!(
        (&state["auto_prolong"], &state["guests_may_start"]),
        (&json!(true), &json!(false))
    );
    assert!(state["locked"].is_boolean() && state["mute_all"].is_boolean());
    let bob = &state["participants"][1];
    let keys: Vec<&str> = bob
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "pid", "name", "phone", "role", "mute", "hand", "video", "state"
        ]
    );
    assert_eq!(
        (&bob["role"], &bob["hand"], &bob["mute"]),
        (&json!("guest"), &json!(true), &json!(true))
    );

    // Created meetings get a 9-digit id when none is given, and can be logged in to.
    let created = emu
        .admin(
            "POST",
            "/_sim/meetings",
            Some(
                json!({"subject": "Made", "host_password": "pw", "locked": true,
            "participants": [{"name": "Host Hana", "role": "host"}]}),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(
        id.len() == 9 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_eq!(created.body["locked"], true);
    emu.login(&id, "pw").await;
    emu.admin(
        "POST",
        "/_sim/meetings",
        Some(json!({"id": MEETING, "host_password": "x"})),
    )
    .await
    .error(409, "SIM.CONFLICT");
    emu.admin(
        "POST",
        "/_sim/meetings",
        Some(json!({"id": "12ab", "host_password": "x"})),
    )
    .await
    .error(400, "SIM.BAD_REQUEST")
    .msg_contains("digits");
    assert_eq!(
        emu.admin("DELETE", &format!("/_sim/meetings/{id}"), None)
            .await
            .status,
        204
    );
    emu.admin("GET", &format!("/_sim/meetings/{id}"), None)
        .await
        .error(404, "SIM.NOT_FOUND");
}

#[tokio::test]
async fn participants_join_leave_and_raise_hands() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let path = format!("/_sim/meetings/{MEETING}/participants");
    let joined = emu
        .admin(
            "POST",
            &path,
            Some(
                json!({"name": "Helen Ko", "phone": "+8613800000020", "hand": true, "video": true}),
            ),
        )
        .await;
    assert_eq!(joined.status, 201);
    let helen = joined.body["pid"].as_str().unwrap().to_owned();
    assert_eq!(joined.body["role"], "guest");
    // They are visible to the control API at once.
    let info = emu
        .control("GET", "/realTimeInfo", MEETING, None, Some(&token), None)
        .await;
    assert!(
        info.body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == helen.as_str())
    );

    let hand = format!("{path}/{helen}/hand");
    emu.admin("PUT", &hand, Some(json!({"raised": false})))
        .await
        .ok();
    assert_eq!(emu.participant(MEETING, "Helen Ko").await["hand"], false);
    emu.admin("PUT", &hand, Some(json!({"raised": "yes"})))
        .await
        .error(400, "SIM.BAD_REQUEST");
    emu.admin(
        "PUT",
        &format!("{path}/nobody/hand"),
        Some(json!({"raised": true})),
    )
    .await
    .error(404, "SIM.NOT_FOUND");

    // Leaving clears whatever was held.
    emu.admin("PUT", &hand, Some(json!({"raised": true})))
        .await
        .ok();
    host.put_to("/participants/broadcast", &helen, None)
        .await
        .ok();
    assert_eq!(
        emu.admin("DELETE", &format!("{path}/{helen}"), None)
            .await
            .status,
        204
    );
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["broadcast"], Value::Null);
    assert!(
        !state["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["pid"] == helen.as_str())
    );
    emu.admin("DELETE", &format!("{path}/{helen}"), None)
        .await
        .error(404, "SIM.NOT_FOUND");
    host.put_to("/participants/broadcast", &helen, None)
        .await
        .error(400, "MMC.111072008");

    // Role rules: one host, and guests cannot walk into a locked meeting.
    emu.admin(
        "POST",
        &path,
        Some(json!({"name": "Second Host", "role": "host"})),
    )
    .await
    .error(409, "SIM.CONFLICT");
    host.put("/lock", json!({"isLock": 1})).await.ok();
    emu.admin("POST", &path, Some(json!({"name": "Gatecrasher"})))
        .await
        .error(403, "MMC.111072050");
    assert_eq!(
        emu.admin(
            "POST",
            &path,
            Some(json!({"name": "Co Host", "role": "cohost"}))
        )
        .await
        .status,
        201
    );
    emu.admin(
        "POST",
        "/_sim/meetings/123456789/participants",
        Some(json!({"name": "X"})),
    )
    .await
    .error(404, "SIM.NOT_FOUND");
}

#[tokio::test]
async fn bad_admin_input_gets_a_clear_4xx() {
    let emu = Emu::start(TOWN_HALL).await;
    let before = emu.admin("GET", "/_sim/meetings", None).await.body;
    let path = format!("/_sim/meetings/{MEETING}/participants");
    for (method, url, body, status, code, text) in [
        (
            "POST",
            path.as_str(),
            "{",
            400,
            "SIM.BAD_REQUEST",
            "invalid body",
        ),
        (
            "POST",
            path.as_str(),
            "[]",
            400,
            "SIM.BAD_REQUEST",
            "invalid",
        ),
        (
            "POST",
            path.as_str(),
            r#"{"name": 5}"#,
            400,
            "SIM.BAD_REQUEST",
            "name",
        ),
        (
            "POST",
            path.as_str(),
            r#"{"name": "A", "rank": 1}"#,
            400,
            "SIM.BAD_REQUEST",
            "rank",
        ),
        (
            "POST",
            path.as_str(),
            r#"{"name": "A", "role": "boss"}"#,
            400,
            "SIM.BAD_REQUEST",
            "role",
        ),
        (
            "POST",
            path.as_str(),
            r#"{"name": ""}"#,
            400,
            "SIM.BAD_REQUEST",
            "name",
        ),
        (
            "POST",
            path.as_str(),
            "",
            400,
            "SIM.BAD_REQUEST",
            "required",
        ),
        (
            "POST",
            "/_sim/meetings",
            r#"{"subject": "No password"}"#,
            400,
            "SIM.BAD_REQUEST",
            "host_password",
        ),
        (
            "PUT",
            "/_sim/faults",
            r#"{"rules": [{"drop": "sometimes"}]}"#,
            400,
            "SIM.BAD_REQUEST",
            "drop",
        ),
        (
            "PUT",
            "/_sim/faults",
            r#"{"rules": [{"path": "/x"}]}"#,
            400,
            "SIM.BAD_REQUEST",
            "exactly one",
        ),
        (
            "POST",
            "/_sim/clock/advance",
            r#"{"by": "soon"}"#,
            400,
            "SIM.BAD_REQUEST",
            "duration",
        ),
        (
            "POST",
            "/_sim/clock/advance",
            r#"{"by": "-5m"}"#,
            400,
            "SIM.BAD_REQUEST",
            "negative",
        ),
        (
            "GET",
            "/_sim/requests?since=abc",
            "",
            400,
            "SIM.BAD_REQUEST",
            "query",
        ),
        (
            "GET",
            "/_sim/nothing",
            "",
            404,
            "SIM.NOT_FOUND",
            "no admin endpoint",
        ),
        (
            "PATCH",
            "/_sim/meetings",
            "",
            404,
            "SIM.NOT_FOUND",
            "no admin endpoint",
        ),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let answer = emu
            .send(
                emu.client
                    .request(method, emu.url(url))
                    .header("content-type", "application/json")
                    .body(body.to_owned()),
            )
            .await;
        answer.error(status, code).msg_contains(text);
    }
    assert_eq!(emu.admin("GET", "/_sim/meetings", None).await.body, before);
}

#[tokio::test]
async fn huge_bodies_are_refused_without_harm() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let huge = format!(
        "{{\"pids\": [\"{}\"], \"handsState\": 0}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let answer = emu
        .send(
            emu.client
                .put(emu.url(&format!("{CONTROL}/participants/batch/hands")))
                .query(&[("conferenceID", MEETING)])
                .header("X-Conference-Authorization", &token)
                .body(huge.clone()),
        )
        .await;
    answer.error(413, "APIGW.0201");
    let answer = emu
        .send(
            emu.client
                .post(emu.url("/_sim/meetings"))
                .header("content-type", "application/json")
                .body(huge),
        )
        .await;
    answer.error(413, "SIM.TOO_LARGE");
    // The emulator still answers normally afterwards.
    host.get("/realTimeInfo").await.ok();
}

#[tokio::test]
async fn unknown_api_paths_and_methods_answer_like_the_gateway() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    host.get("/lock").await.error(404, "APIGW.0101");
    host.call("PUT", "/nonexistent", None, None)
        .await
        .error(404, "APIGW.0101");
    let log = emu.requests().await;
    assert_eq!(log.last().unwrap()["status"], 404);
}

#[tokio::test]
async fn the_request_log_records_every_call_with_secrets_masked() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let dave = emu.pid(MEETING, "Dave Ma").await;
    host.put_to(
        "/participants/role",
        &dave,
        Some(json!({"applyChair": 1, "chairmanPwd": PASSWORD})),
    )
    .await
    .ok();
    host.put("/lock", json!({"isLock": 7})).await;
    let log = emu.requests().await;
    assert_eq!(log.len(), 3, "admin calls are not logged: {log:?}");
    let seqs: Vec<u64> = log.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    let role = &log[1];
    assert_eq!(role["method"], "PUT");
    assert_eq!(role["path"], format!("{CONTROL}/participants/role"));
    assert_eq!(
        role["query"],
        json!({"conferenceID": MEETING, "participantID": dave})
    );
    assert_eq!(role["status"], 200);
    assert_eq!(role["body"], json!({"applyChair": 1, "chairmanPwd": "***"}));
    assert_eq!(log[2]["status"], 400);
    assert_eq!(log[2]["error_code"], "MMC.111070001");
    // Received times are RFC 3339 with microseconds, in order.
    let times: Vec<jiff::Timestamp> = log
        .iter()
        .map(|r| {
            let text = r["received"].as_str().unwrap();
            assert_eq!(text.len(), "2026-11-22T03:52:13.622229Z".len(), "{text}");
            text.parse().unwrap()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        !text.contains(PASSWORD) && !text.contains(&token),
        "secrets leaked: {text}"
    );

    let since = emu.admin("GET", "/_sim/requests?since=2", None).await;
    assert_eq!(since.body.as_array().unwrap().len(), 1);
    assert_eq!(
        emu.admin("DELETE", "/_sim/requests", None).await.status,
        204
    );
    assert!(emu.requests().await.is_empty());
}

#[tokio::test]
async fn reset_returns_to_the_seed_with_the_same_ids() {
    let emu = Emu::start(TOWN_HALL).await;
    let original = emu.admin("GET", "/_sim/meetings", None).await.body;
    let host = emu.host(MEETING, PASSWORD).await;
    host.put("/lock", json!({"isLock": 1})).await.ok();
    emu.admin(
        "POST",
        "/_sim/meetings",
        Some(json!({"host_password": "x"})),
    )
    .await;
    emu.faults(json!({"rules": [{"path": "*", "latency": "1ms"}]}))
        .await;
    assert_eq!(emu.admin("POST", "/_sim/reset", None).await.status, 204);
    let mut after = emu.admin("GET", "/_sim/meetings", None).await.body;
    // Start and end times are computed from the moment of the reset.
    for (a, b) in after
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(original.as_array().unwrap())
    {
        a["starts_at"] = b["starts_at"].clone();
        a["ends_at"] = b["ends_at"].clone();
    }
    assert_eq!(after, original);
    assert!(emu.requests().await.is_empty());
    assert_eq!(
        emu.admin("GET", "/_sim/faults", None).await.body["rules"],
        json!([])
    );
    host.get("/realTimeInfo").await.error(401, "MMC.111070004");
}

#[tokio::test]
async fn ids_are_reproducible_for_an_rng_seed() {
    let options = |rng_seed| emcee::sim::SimOptions {
        rng_seed,
        ..Default::default()
    };
    let pids = |emu: Emu| async move {
        emu.meeting(MEETING).await["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let a = pids(Emu::start_with(TOWN_HALL, options(7)).await).await;
    let b = pids(Emu::start_with(TOWN_HALL, options(7)).await).await;
    let c = pids(Emu::start_with(TOWN_HALL, options(8)).await).await;
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test]
async fn rehearsal_arrivals_happen_on_the_emulators_clock() {
    let emu = Emu::start(
        r#"
meetings:
  - id: "914044873"
    host_password: "123456"
    participants:
      - { name: Alice Zhang, role: host }
      - { name: Late Larry, joins_after: 5m, raises_hand_after: 7m, leaves_after: 10m }
      - { name: Early Erin, leaves_after: 2m }
"#,
    )
    .await;
    let names = |state: &Value| -> Vec<String> {
        state["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&emu.meeting(MEETING).await),
        ["Alice Zhang", "Early Erin"]
    );
    emu.advance("2m").await;
    assert_eq!(names(&emu.meeting(MEETING).await), ["Alice Zhang"]);
    emu.advance("3m").await;
    assert_eq!(
        names(&emu.meeting(MEETING).await),
        ["Alice Zhang", "Late Larry"]
    );
    assert_eq!(emu.participant(MEETING, "Late Larry").await["hand"], false);
    emu.advance("2m").await;
    assert_eq!(emu.participant(MEETING, "Late Larry").await["hand"], true);
    emu.advance("3m").await;
    assert_eq!(names(&emu.meeting(MEETING).await), ["Alice Zhang"]);
    // A reset schedules everything again from the moment of the reset.
    emu.admin("POST", "/_sim/reset", None).await;
    assert_eq!(
        names(&emu.meeting(MEETING).await),
        ["Alice Zhang", "Early Erin"]
    );
    // Through the admin API: a scheduled join answers 202 with the instant.
    let later = emu
        .admin(
            "POST",
            &format!("/_sim/meetings/{MEETING}/participants"),
            Some(json!({"name": "Zed", "joins_after": "1m"})),
        )
        .await;
    assert_eq!(later.status, 202, "{later:?}");
    assert!(later.body["joins_at"].is_string());
    emu.advance("1m").await;
    assert!(emu.participant(MEETING, "Zed").await.is_object());
    // Leaving before arriving is refused.
    emu.admin(
        "POST",
        &format!("/_sim/meetings/{MEETING}/participants"),
        Some(json!({"name": "Odd", "joins_after": "5m", "leaves_after": "1m"})),
    )
    .await
    .error(400, "SIM.BAD_REQUEST")
    .msg_contains("before `joins_after`");
}
