//! `StartMeeting` and the account login it needs: starting, reopening and the
//! refusals, in the official SDK's shapes.

use serde_json::json;

use super::*;

#[tokio::test]
async fn start_meeting_starts_a_scheduled_meeting() {
    let emu = Emu::start(MORNING).await;
    let access = emu.access_token().await;
    let answer = emu
        .start_meeting(
            Some(&access),
            json!({"conferenceID": MEETING, "password": PASSWORD}),
        )
        .await;
    answer.ok();
    assert_eq!(keys(&answer.body), ["regionIP", "uuid"]);
    assert!(answer.body["regionIP"].is_string() && answer.body["uuid"].is_string());
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["state"], "Created");
    // Those without `joins_after` are there from the start; the host comes later.
    assert_eq!(emu.names_online(MEETING).await, ["Bob Li"]);
    emu.host(MEETING, PASSWORD)
        .await
        .get("/realTimeInfo")
        .await
        .ok();
    emu.advance("10m").await;
    assert_eq!(emu.names_online(MEETING).await, ["Bob Li", "Alice Zhang"]);
    // The request log keeps the password out.
    let log = serde_json::to_string(&emu.requests().await).unwrap();
    assert!(!log.contains(PASSWORD), "{log}");
}

#[tokio::test]
async fn start_meeting_takes_the_guest_password_only_where_guests_may_start() {
    let emu = Emu::start(MORNING).await;
    let access = emu.access_token().await;
    exactly(
        &emu.start_meeting(
            Some(&access),
            json!({"conferenceID": MEETING, "password": "654321"}),
        )
        .await,
        400,
        "MMC.111072065",
        "CONF_NOT_FOUND_OR_AUTH_FAILED",
    );
    assert_eq!(emu.state_of(MEETING).await, "Schedule");
    emu.start_meeting(
        Some(&access),
        json!({"conferenceID": OTHER_MEETING, "password": "111111"}),
    )
    .await
    .ok();
    assert_eq!(emu.state_of(OTHER_MEETING).await, "Created");
}

#[tokio::test]
async fn start_meeting_refusals() {
    let emu = Emu::start(MORNING).await;
    let access = emu.access_token().await;
    let body = json!({"conferenceID": MEETING, "password": PASSWORD});
    exactly(
        &emu.start_meeting(
            Some(&access),
            json!({"conferenceID": MEETING, "password": "wrong"}),
        )
        .await,
        400,
        "MMC.111072065",
        "CONF_NOT_FOUND_OR_AUTH_FAILED",
    );
    exactly(
        &emu.start_meeting(
            Some(&access),
            json!({"conferenceID": "999999999", "password": PASSWORD}),
        )
        .await,
        400,
        "MMC.111070005",
        "CONF_DATA_NOT_FOUND",
    );
    exactly(
        &emu.start_meeting(None, body.clone()).await,
        401,
        "MMC.111070004",
        "AUTH_FAILED",
    );
    emu.start_meeting(Some("not-an-access-token"), body.clone())
        .await
        .error(401, "MMC.111070004");
    emu.start_meeting(Some(&access), json!({"conferenceID": MEETING}))
        .await
        .error(400, "MMC.111070001")
        .msg_contains("password");
    assert_eq!(
        emu.state_of(MEETING).await,
        "Schedule",
        "refusals start nothing"
    );
    // Access tokens expire after 12 hours.
    emu.advance("12h").await;
    emu.start_meeting(Some(&access), body)
        .await
        .error(401, "MMC.111070004");
}

#[tokio::test]
async fn start_meeting_on_a_running_meeting_changes_nothing() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let before = emu.meeting(MEETING).await;
    let access = emu.access_token().await;
    emu.start_meeting(
        Some(&access),
        json!({"conferenceID": MEETING, "password": PASSWORD}),
    )
    .await
    .ok();
    assert_eq!(emu.meeting(MEETING).await, before);
    host.get("/realTimeInfo").await.ok();
}

#[tokio::test]
async fn start_meeting_reopens_an_ended_meeting_as_a_new_session() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    host.call("PUT", "/stop", None, None).await.ok();
    let access = emu.access_token().await;
    emu.start_meeting(
        Some(&access),
        json!({"conferenceID": MEETING, "password": PASSWORD}),
    )
    .await
    .ok();
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["state"], "Created");
    assert_eq!(state["participants"], json!([]), "nobody rejoins by itself");
    // The old session's token is refused; a new login works.
    host.get("/realTimeInfo").await.error(401, "MMC.111070004");
    emu.token_call(MEETING, None, Some(&host.token))
        .await
        .error(401, "MMC.111070004");
    emu.host(MEETING, PASSWORD)
        .await
        .get("/realTimeInfo")
        .await
        .ok();
}

#[tokio::test]
async fn a_meeting_past_its_scheduled_end_is_closed_for_good() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    host.call("PUT", "/stop", None, None).await.ok();
    emu.advance("2h").await;
    let access = emu.access_token().await;
    exactly(
        &emu.start_meeting(
            Some(&access),
            json!({"conferenceID": MEETING, "password": PASSWORD}),
        )
        .await,
        400,
        "MMC.111072006",
        "CONF_IS_CLOSED",
    );
    exactly(
        &emu.admin("POST", &format!("/_sim/meetings/{MEETING}/start"), None)
            .await,
        400,
        "MMC.111072006",
        "CONF_IS_CLOSED",
    );
    assert_eq!(emu.state_of(MEETING).await, "Destroyed");
}

#[tokio::test]
async fn the_account_login_answers_with_the_sdks_field_names() {
    let emu = Emu::start(MORNING).await;
    let before = jiff::Timestamp::now();
    let answer = emu.account_login("demo:demo-pass").await;
    answer.ok();
    for key in [
        "accessToken",
        "validPeriod",
        "expireTime",
        "createTime",
        "clientType",
        "tokenType",
        "user",
    ] {
        assert!(answer.body.get(key).is_some(), "{key} missing: {answer:?}");
    }
    assert_eq!(keys(&answer.body["user"]), ["companyId", "name", "userId"]);
    assert_eq!(answer.body["user"]["name"], "demo");
    // Seconds, not milliseconds.
    let expires = answer.body["expireTime"].as_i64().unwrap();
    let expected = before.as_second() + 12 * 3600;
    assert!(
        (expected - 5..=expected + 5).contains(&expires),
        "{expires} vs {expected}"
    );
    exactly(
        &emu.account_login("demo:wrong").await,
        401,
        "USG.206010000",
        "ACCOUNT_OR_PASSWORD_ERROR",
    );
}
