//! The control token: login, the two header forms, expiry on the emulator's clock,
//! keep-alive, rotation, and tokens of other meetings. And the account login.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn login_answers_the_documented_shape() {
    let emu = Emu::start(TOWN_HALL).await;
    let before = jiff::Timestamp::now();
    let answer = emu.token_call(MEETING, Some(PASSWORD), None).await;
    answer.ok();
    let data = &answer.body["data"];
    for key in [
        "token",
        "tmpWsToken",
        "wsURL",
        "role",
        "expireTime",
        "userID",
        "orgID",
        "participantID",
        "confTokenExpireTime",
        "vmrCurrentConfID",
        "supportNotifyType",
    ] {
        assert!(data.get(key).is_some(), "data.{key} missing: {data}");
    }
    assert!(answer.body["addressToken"].is_string());
    assert!(
        answer.body["gloablPublicIP"].is_string(),
        "the service's own spelling"
    );
    assert_eq!(data["role"], 1);
    assert_eq!(data["confTokenExpireTime"], 1800);
    let expires = data["expireTime"].as_i64().unwrap();
    let expected = before.as_millisecond() + 1_800_000;
    assert!(
        (expected - 5_000..=expected + 5_000).contains(&expires),
        "{expires} vs {expected}"
    );
}

#[tokio::test]
async fn login_refusals() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.token_call(MEETING, Some("wrong"), None)
        .await
        .error(400, "MMC.111072065");
    emu.token_call("999999999", Some(PASSWORD), None)
        .await
        .error(400, "MMC.111072065");
    // The guest password is not a host password.
    emu.token_call(MEETING, Some("654321"), None)
        .await
        .error(400, "MMC.111072065");
    emu.token_call(MEETING, None, None)
        .await
        .error(400, "MMC.111070001")
        .msg_contains("X-Password");
    let no_login_type = emu
        .send(
            emu.client
                .get(emu.url(&format!("{CONTROL}/token")))
                .query(&[("conferenceID", MEETING)])
                .header("X-Password", PASSWORD),
        )
        .await;
    no_login_type
        .error(400, "MMC.111070001")
        .msg_contains("X-Login-Type");
    let no_conference = emu
        .send(
            emu.client
                .get(emu.url(&format!("{CONTROL}/token")))
                .header("X-Password", PASSWORD)
                .header("X-Login-Type", "1"),
        )
        .await;
    no_conference
        .error(400, "MMC.111070001")
        .msg_contains("conferenceID");
}

#[tokio::test]
async fn both_header_forms_are_accepted() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let basic = format!("Basic {}", BASE64.encode(&token));
    host.put("/lock", json!({"isLock": 1})).await.ok();
    emu.control(
        "PUT",
        "/lock",
        MEETING,
        None,
        Some(&basic),
        Some(json!({"isLock": 0})),
    )
    .await
    .ok();
    assert_eq!(emu.meeting(MEETING).await["locked"], false);
    let forms: Vec<_> = emu
        .requests()
        .await
        .iter()
        .map(|r| r["auth"].clone())
        .collect();
    assert_eq!(forms, [json!(null), json!("plain"), json!("basic")]);
    // Keep-alive takes the Basic form too.
    emu.token_call(MEETING, None, Some(&basic)).await.ok();
}

#[tokio::test]
async fn tokens_expire_on_the_emulators_clock() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    // Takes the token to use, since the test swaps in a fresh one.
    let lock = |token: String| {
        let emu = &emu;
        async move {
            emu.control(
                "PUT",
                "/lock",
                MEETING,
                None,
                Some(&token),
                Some(json!({"isLock": 1})),
            )
            .await
        }
    };
    emu.advance("29m 59s").await;
    lock(token.clone()).await.ok();
    emu.advance("1s").await;
    lock(token.clone()).await.error(401, "MMC.111070004");
    // An expired token cannot be kept alive without the password…
    emu.token_call(MEETING, None, Some(&token))
        .await
        .error(401, "MMC.111070004");
    // …but with it, the service logs in again and hands out a new token.
    let answer = emu.token_call(MEETING, Some(PASSWORD), Some(&token)).await;
    answer.ok();
    let fresh = answer.body["data"]["token"].as_str().unwrap().to_owned();
    assert_ne!(fresh, token);
    lock(fresh).await.ok();
}

#[tokio::test]
async fn keep_alive_pushes_expiry_and_keeps_the_string() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    emu.advance("20m").await;
    let answer = emu.token_call(MEETING, None, Some(&token)).await;
    answer.ok();
    assert_eq!(answer.body["data"]["token"], token.as_str());
    // The password is not checked on keep-alive.
    emu.token_call(MEETING, Some("wrong"), Some(&token))
        .await
        .ok();
    emu.advance("25m").await;
    host.put("/lock", json!({"isLock": 1})).await.ok();
    emu.advance("5m").await;
    host.put("/lock", json!({"isLock": 1}))
        .await
        .error(401, "MMC.111070004");
}

#[tokio::test]
async fn rotation_on_keep_alive_retires_the_old_token() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rotate_on_keepalive": true, "token_ttl": "20s"}))
        .await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let answer = emu.token_call(MEETING, None, Some(&token)).await;
    answer.ok();
    assert_eq!(answer.body["data"]["confTokenExpireTime"], 20);
    let rotated = answer.body["data"]["token"].as_str().unwrap().to_owned();
    assert_ne!(rotated, token);
    host.get("/realTimeInfo").await.error(401, "MMC.111070004");
    emu.control("GET", "/realTimeInfo", MEETING, None, Some(&rotated), None)
        .await
        .ok();
    emu.advance("21s").await;
    emu.control("GET", "/realTimeInfo", MEETING, None, Some(&rotated), None)
        .await
        .error(401, "MMC.111070004");
}

#[tokio::test]
async fn a_token_is_bound_to_its_meeting() {
    let emu = Emu::start(TOWN_HALL).await;
    let other = emu.login(OTHER_MEETING, OTHER_PASSWORD).await;
    emu.control("GET", "/realTimeInfo", MEETING, None, Some(&other), None)
        .await
        .error(401, "MMC.111070004");
    // Keep-alive with another meeting's token and no password is refused as well.
    emu.token_call(MEETING, None, Some(&other))
        .await
        .error(401, "MMC.111070004");
    emu.control(
        "GET",
        "/realTimeInfo",
        OTHER_MEETING,
        None,
        Some(&other),
        None,
    )
    .await
    .ok();
}

#[tokio::test]
async fn seed_token_ttl_applies() {
    let emu = Emu::start(&format!("{TOWN_HALL}token_ttl: 90s\n")).await;
    let answer = emu.token_call(MEETING, Some(PASSWORD), None).await;
    assert_eq!(answer.body["data"]["confTokenExpireTime"], 90);
}

#[tokio::test]
async fn account_login_accepts_seeded_accounts_only() {
    let emu = Emu::start(TOWN_HALL).await;
    let login = |credentials: Option<&str>, body: Option<serde_json::Value>| {
        let mut request = emu.client.post(emu.url("/v1/usg/acs/auth/account"));
        if let Some(credentials) = credentials {
            request = request.header(
                "Authorization",
                format!("Basic {}", BASE64.encode(credentials)),
            );
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        emu.send(request)
    };
    let answer = login(
        Some("demo:demo-pass"),
        Some(json!({"account": "demo", "clientType": 72})),
    )
    .await;
    answer.ok();
    assert!(answer.body["accessToken"].as_str().unwrap().len() >= 32);
    assert_eq!(answer.body["validPeriod"], 43200);
    login(Some("demo:wrong"), None)
        .await
        .error(401, "USG.206010000");
    login(Some("nobody:demo-pass"), None)
        .await
        .error(401, "USG.206010000");
    login(None, None).await.error(401, "USG.206010000");
    login(
        Some("demo:demo-pass"),
        Some(json!({"account": "someone-else"})),
    )
    .await
    .error(401, "USG.206010000");
    // The password never reaches the request log.
    let log = serde_json::to_string(&emu.requests().await).unwrap();
    assert!(!log.contains("demo-pass"), "{log}");
}
