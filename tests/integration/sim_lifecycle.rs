//! The meeting's life in the emulator: scheduled, started by its host, by
//! `StartMeeting` or the admin API, prolonged at its scheduled end while someone is
//! there, ended, reopened before its end and closed after it — with the service's
//! answers for each, in the official SDK's shapes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::support::*;

mod start_meeting;

/// Alice hosts a meeting that has not started and joins ten minutes in; Bob is there
/// when it starts. The other meeting may be started by guests.
pub(crate) const MORNING: &str = r#"
meetings:
  - id: "914044873"
    subject: Morning
    host_password: "123456"
    guest_password: "654321"
    status: scheduled
    starts_at: 5m
    participants:
      - { name: Alice Zhang, role: host, joins_after: 10m }
      - { name: Bob Li }
  - id: "222333444"
    host_password: "999999"
    guest_password: "111111"
    status: scheduled
    guests_may_start: true
accounts:
  - { account: demo, password: demo-pass }
"#;

pub(crate) const START: &str = "/v1/mmc/management/conferences/start";

pub(crate) fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[track_caller]
pub(crate) fn exactly(answer: &Answer, status: u16, code: &str, msg: &str) {
    answer.error(status, code);
    assert_eq!(answer.body["error_msg"], msg, "{answer:?}");
}

impl Emu {
    pub(crate) async fn account_login(&self, credentials: &str) -> Answer {
        self.send(
            self.client
                .post(self.url("/v1/usg/acs/auth/account"))
                .header(
                    "Authorization",
                    format!("Basic {}", BASE64.encode(credentials)),
                )
                .body(json!({"account": "demo", "clientType": 72}).to_string()),
        )
        .await
    }

    pub(crate) async fn access_token(&self) -> String {
        let answer = self.account_login("demo:demo-pass").await;
        answer.ok();
        answer.body["accessToken"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn start_meeting(&self, access_token: Option<&str>, body: Value) -> Answer {
        let mut request = self
            .client
            .post(self.url(START))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = access_token {
            request = request.header("X-Access-Token", token);
        }
        self.send(request).await
    }

    pub(crate) async fn state_of(&self, meeting: &str) -> Value {
        self.meeting(meeting).await["state"].clone()
    }

    pub(crate) async fn names_online(&self, meeting: &str) -> Vec<String> {
        self.meeting(meeting).await["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn the_token_call_on_a_scheduled_meeting_answers_not_started() {
    let emu = Emu::start(MORNING).await;
    exactly(
        &emu.token_call(MEETING, Some(PASSWORD), None).await,
        400,
        "MMC.111072005",
        "CONF_NOT_STARTED",
    );
    // Keep-alive too, whatever the token.
    exactly(
        &emu.token_call(MEETING, None, Some("no-such-token")).await,
        400,
        "MMC.111072005",
        "CONF_NOT_STARTED",
    );
    // A wrong password is told so, never to wait.
    emu.token_call(MEETING, Some("wrong"), None)
        .await
        .error(400, "MMC.111072065");
    emu.token_call(MEETING, Some("654321"), None)
        .await
        .error(400, "MMC.111072065");
}

#[tokio::test]
async fn control_calls_on_a_scheduled_meeting_answer_not_started_with_any_token() {
    let emu = Emu::start(MORNING).await;
    for (method, tail, body) in [
        ("GET", "/realTimeInfo", None),
        ("GET", "/wsToken", None),
        ("PUT", "/lock", Some(json!({"isLock": 1}))),
        ("PUT", "/stop", None),
    ] {
        exactly(
            &emu.control(method, tail, MEETING, None, Some("any-token"), body)
                .await,
            400,
            "MMC.111072005",
            "CONF_NOT_STARTED",
        );
    }
    // Without a token at all, the header is what is missing.
    emu.control("GET", "/realTimeInfo", MEETING, None, None, None)
        .await
        .error(401, "MMC.111070111");
    assert_eq!(emu.state_of(MEETING).await, "Schedule");
}

#[tokio::test]
async fn an_ended_meeting_answers_closed_to_token_keep_alive_ws_token_and_control_calls() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    host.call("PUT", "/stop", None, None).await.ok();
    let closed = |answer: Answer| exactly(&answer, 400, "MMC.111072006", "CONF_IS_CLOSED");
    closed(emu.token_call(MEETING, Some(PASSWORD), None).await);
    closed(emu.token_call(MEETING, None, Some(&host.token)).await);
    closed(host.get("/wsToken").await);
    closed(host.get("/realTimeInfo").await);
    closed(host.put("/lock", json!({"isLock": 1})).await);
    // Any token: the meeting's state answers first.
    closed(
        emu.control("PUT", "/stop", MEETING, None, Some("stale"), None)
            .await,
    );
}

#[tokio::test]
async fn the_token_call_needs_its_headers_but_keep_alive_no_password() {
    let emu = Emu::start(TOWN_HALL).await;
    let token_call = |headers: &[(&str, &str)]| {
        let mut request = emu
            .client
            .get(emu.url(&format!("{CONTROL}/token")))
            .query(&[("conferenceID", MEETING)]);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        emu.send(request)
    };
    token_call(&[("X-Login-Type", "1")])
        .await
        .error(400, "MMC.111070001")
        .msg_contains("X-Password");
    token_call(&[("X-Password", PASSWORD)])
        .await
        .error(400, "MMC.111070001")
        .msg_contains("X-Login-Type");
    token_call(&[("X-Password", PASSWORD), ("X-Login-Type", "2")])
        .await
        .error(400, "MMC.111070001")
        .msg_contains("X-Login-Type");
    let token = emu.login(MEETING, PASSWORD).await;
    let kept = token_call(&[("X-Conference-Authorization", &token)]).await;
    kept.ok();
    assert_eq!(kept.body["data"]["token"], token.as_str());
}

#[tokio::test]
async fn keep_alive_on_a_dead_token_needs_the_password_and_then_logs_in_afresh() {
    let emu = Emu::start(TOWN_HALL).await;
    let token = emu.login(MEETING, PASSWORD).await;
    emu.advance("31m").await;
    exactly(
        &emu.token_call(MEETING, None, Some(&token)).await,
        401,
        "MMC.111070004",
        "AUTH_FAILED",
    );
    let fresh = emu.token_call(MEETING, Some(PASSWORD), Some(&token)).await;
    fresh.ok();
    assert_ne!(fresh.body["data"]["token"], token.as_str());
}

#[tokio::test]
async fn the_hosts_scripted_join_starts_the_meeting_and_the_rest_join_with_it() {
    let emu = Emu::start(MORNING).await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["state"], "Schedule");
    assert_eq!(state["participants"], json!([]), "nobody before the start");
    // The scheduled start passing does nothing.
    emu.advance("9m").await;
    assert_eq!(emu.state_of(MEETING).await, "Schedule");
    emu.token_call(MEETING, Some(PASSWORD), None)
        .await
        .error(400, "MMC.111072005");
    emu.advance("1m").await;
    assert_eq!(emu.state_of(MEETING).await, "Created");
    assert_eq!(emu.names_online(MEETING).await, ["Alice Zhang", "Bob Li"]);
    assert_eq!(
        emu.participant(MEETING, "Alice Zhang").await["role"],
        "host"
    );
    let host = emu.host(MEETING, PASSWORD).await;
    host.get("/realTimeInfo").await.ok();
}

#[tokio::test]
async fn a_guest_does_not_start_a_meeting_guests_may_not_start() {
    let emu = Emu::start(MORNING).await;
    let join = |meeting: &str, who: Value| {
        let path = format!("/_sim/meetings/{meeting}/participants");
        let emu = &emu;
        async move { emu.admin("POST", &path, Some(who)).await }
    };
    exactly(
        &join(MEETING, json!({"name": "Carol Wu"})).await,
        400,
        "MMC.111071004",
        "VMR_ONLY_ALLOW_CHAIR_START_CONF",
    );
    // A co-host is not the host either.
    join(MEETING, json!({"name": "Dave Ma", "role": "cohost"}))
        .await
        .error(400, "MMC.111071004");
    // A scripted guest arriving before the host is turned away, not kept waiting.
    assert_eq!(
        join(MEETING, json!({"name": "Eve Qian", "joins_after": "5m"}))
            .await
            .status,
        202
    );
    emu.advance("5m").await;
    assert_eq!(emu.state_of(MEETING).await, "Schedule");
    emu.advance("5m").await;
    assert_eq!(emu.names_online(MEETING).await, ["Alice Zhang", "Bob Li"]);

    // Where guests may start it, a guest's join does.
    let carol = join(OTHER_MEETING, json!({"name": "Carol Wu"})).await;
    assert_eq!(carol.status, 201, "{carol:?}");
    assert_eq!(emu.state_of(OTHER_MEETING).await, "Created");
}

#[tokio::test]
async fn the_hosts_join_through_the_admin_api_starts_the_meeting() {
    let emu = Emu::start(MORNING).await;
    let joined = emu
        .admin(
            "POST",
            &format!("/_sim/meetings/{MEETING}/participants"),
            Some(json!({"name": "Hana Ito", "role": "host"})),
        )
        .await;
    assert_eq!(joined.status, 201, "{joined:?}");
    assert_eq!(emu.state_of(MEETING).await, "Created");
    assert_eq!(emu.names_online(MEETING).await, ["Hana Ito", "Bob Li"]);
    // Alice's scripted join later finds a host there already; she is not admitted
    // as a second one.
    emu.advance("10m").await;
    assert_eq!(emu.names_online(MEETING).await, ["Hana Ito", "Bob Li"]);
}

#[tokio::test]
async fn the_scheduled_end_prolongs_a_meeting_with_someone_online() {
    let emu = Emu::start(
        r#"
meetings:
  - id: "914044873"
    host_password: "123456"
    duration: 30m
    participants:
      - { name: Alice Zhang, role: host, leaves_after: 50m }
"#,
    )
    .await;
    let ends_at = |state: &Value| {
        state["ends_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let first = ends_at(&emu.meeting(MEETING).await);
    emu.advance("30m").await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["state"], "Created");
    assert_eq!(
        ends_at(&state).duration_since(first),
        jiff::SignedDuration::from_mins(15)
    );
    emu.advance("15m").await;
    assert_eq!(
        ends_at(&emu.meeting(MEETING).await).duration_since(first),
        jiff::SignedDuration::from_mins(30)
    );
    // Alice leaves at 50 minutes; at the next end (60) nobody is there.
    emu.advance("14m").await;
    assert_eq!(emu.state_of(MEETING).await, "Created");
    emu.advance("1m").await;
    assert_eq!(emu.state_of(MEETING).await, "Destroyed");
    emu.token_call(MEETING, Some(PASSWORD), None)
        .await
        .error(400, "MMC.111072006");
}

#[tokio::test]
async fn the_scheduled_end_ends_an_empty_meeting_or_one_without_auto_prolong() {
    let emu = Emu::start(
        r#"
meetings:
  - id: "914044873"
    host_password: "123456"
    ends_at: 30m
  - id: "222333444"
    host_password: "999999"
    duration: 30m
    auto_prolong: false
    participants:
      - { name: Eve Qian, role: host }
"#,
    )
    .await;
    let host = emu.host(OTHER_MEETING, "999999").await;
    emu.advance("29m 59s").await;
    assert_eq!(emu.state_of(MEETING).await, "Created");
    host.get("/realTimeInfo").await.ok();
    emu.advance("1s").await;
    assert_eq!(emu.state_of(MEETING).await, "Destroyed");
    let other = emu.meeting(OTHER_MEETING).await;
    assert_eq!(other["state"], "Destroyed");
    assert_eq!(other["participants"], json!([]), "everyone is disconnected");
    host.get("/realTimeInfo").await.error(400, "MMC.111072006");
}

#[tokio::test]
async fn the_admin_api_starts_and_ends_meetings() {
    let emu = Emu::start(MORNING).await;
    let start = format!("/_sim/meetings/{MEETING}/start");
    let end = format!("/_sim/meetings/{MEETING}/end");
    let started = emu.admin("POST", &start, None).await;
    started.ok();
    assert_eq!(started.body["state"], "Created");
    assert_eq!(emu.names_online(MEETING).await, ["Bob Li"]);
    // Starting a running meeting changes nothing.
    emu.admin("POST", &start, None).await.ok();
    assert_eq!(emu.names_online(MEETING).await, ["Bob Li"]);
    let token = emu.login(MEETING, PASSWORD).await;
    let ended = emu.admin("POST", &end, None).await;
    ended.ok();
    assert_eq!(ended.body["state"], "Destroyed");
    assert_eq!(ended.body["participants"], json!([]));
    emu.admin("POST", &end, None).await.ok();
    // Before its scheduled end it can be held again, as a new session.
    emu.admin("POST", &start, None).await.ok();
    assert_eq!(emu.state_of(MEETING).await, "Created");
    emu.control("GET", "/realTimeInfo", MEETING, None, Some(&token), None)
        .await
        .error(401, "MMC.111070004");
    emu.admin("POST", "/_sim/meetings/999999999/start", None)
        .await
        .error(404, "SIM.NOT_FOUND");
    emu.admin("POST", "/_sim/meetings/999999999/end", None)
        .await
        .error(404, "SIM.NOT_FOUND");
    // Ending a meeting not started calls it off.
    emu.admin("POST", &format!("/_sim/meetings/{OTHER_MEETING}/end"), None)
        .await
        .ok();
    assert_eq!(emu.state_of(OTHER_MEETING).await, "Destroyed");
}

#[tokio::test]
async fn the_meeting_view_shows_the_schedule() {
    let emu = Emu::start(
        r#"
meetings:
  - id: "914044873"
    host_password: "123456"
    status: scheduled
    starts_at: 2030-01-01T09:00:00Z
    ends_at: 2030-01-01T10:30:00+01:00
    guests_may_start: true
    auto_prolong: false
"#,
    )
    .await;
    let state = emu.meeting(MEETING).await;
    assert_eq!(
        (
            &state["state"],
            &state["starts_at"],
            &state["ends_at"],
            &state["guests_may_start"],
            &state["auto_prolong"],
        ),
        (
            &json!("Schedule"),
            &json!("2030-01-01T09:00:00Z"),
            &json!("2030-01-01T09:30:00Z"),
            &json!(true),
            &json!(false),
        )
    );
}

#[tokio::test]
async fn seeds_with_a_contradictory_schedule_are_refused_with_their_place() {
    let refused = |yaml: &str| {
        emcee::sim::Seed::parse(&emcee::source::SourceFile::new("seed.yaml", yaml))
            .expect_err(yaml)
            .render(false)
    };
    let both = refused("meetings:\n  - host_password: x\n    ends_at: 1h\n    duration: 30m\n");
    assert!(both.contains("seed.yaml:2:5"), "{both}");
    assert!(
        both.contains("`ends_at` (1h) and `duration` (30m)"),
        "{both}"
    );
    let backwards =
        refused("meetings:\n  - host_password: x\n    starts_at: 1h\n    ends_at: 30m\n");
    assert!(
        backwards.contains("must come after the start"),
        "{backwards}"
    );
    let bad = refused("meetings:\n  - host_password: x\n    starts_at: soon\n");
    assert!(bad.contains("RFC 3339"), "{bad}");
    // A scheduled meeting whose host has no `joins_after` is fine: it needs a start.
    seed(
        "meetings:\n  - host_password: x\n    status: scheduled\n    participants: [{name: A, role: host}]\n",
    );
    let answer = Emu::start("meetings: []\n")
        .await
        .admin(
            "POST",
            "/_sim/meetings",
            Some(json!({"host_password": "x", "ends_at": "1h", "duration": "1h"})),
        )
        .await;
    answer.error(400, "SIM.BAD_REQUEST").msg_contains("ends_at");
}

#[tokio::test]
async fn the_in_process_handle_starts_and_ends_meetings() {
    let emu = Emu::start(MORNING).await;
    let started = emu.handle.start_meeting(MEETING).unwrap();
    assert_eq!(started.state, emcee::sim::ConfState::Created);
    assert_eq!(started.participants.len(), 1, "Bob joins at the start");
    let ended = emu.handle.end_meeting(MEETING).unwrap();
    assert_eq!(ended.state, emcee::sim::ConfState::Destroyed);
    // Scheduled from 5 minutes in, for two hours.
    emu.advance("2h 5m").await;
    assert_eq!(
        emu.handle.start_meeting(MEETING).unwrap_err(),
        "MMC.111072006 CONF_IS_CLOSED"
    );
    assert!(
        emu.handle
            .start_meeting("999999999")
            .unwrap_err()
            .contains("no meeting 999999999")
    );
}

#[tokio::test]
async fn a_meeting_made_again_under_the_same_id_starts_clean() {
    let emu = Emu::start(MORNING).await;
    let path = format!("/_sim/meetings/{MEETING}");
    assert_eq!(emu.admin("DELETE", &path, None).await.status, 204);
    let made = emu
        .admin(
            "POST",
            "/_sim/meetings",
            Some(json!({"id": MEETING, "host_password": PASSWORD, "status": "scheduled"})),
        )
        .await;
    assert_eq!(made.status, 201, "{made:?}");
    // Alice's scripted join belonged to the meeting deleted: it starts nothing here.
    emu.advance("10m").await;
    assert_eq!(emu.state_of(MEETING).await, "Schedule");
    assert_eq!(emu.names_online(MEETING).await, Vec::<String>::new());
}
