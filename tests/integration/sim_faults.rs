//! Fault rules fire exactly as configured under a fixed seed: errors, throttling with
//! and without `Retry-After`, latency, and connections dropped before or after the
//! call took effect.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn nth_error_rules_fire_on_exactly_those_calls() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    emu.faults(
        json!({"rules": [{"method": "PUT", "path": format!("{CONTROL}/lock"), "nth": [1, 3],
        "error": {"status": 503, "code": "MMC.111070003", "msg": "SYSTEM_BUSY"}}]}),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
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
        if answer.status == 503 {
            answer
                .error(503, "MMC.111070003")
                .msg_contains("SYSTEM_BUSY");
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [503, 200, 503, 200]);
    // Other paths are untouched, and a failed call changed nothing.
    host.get("/realTimeInfo").await.ok();
    let view = emu.admin("GET", "/_sim/faults", None).await.body;
    assert_eq!(view["counters"], json!([{"matched": 4, "fired": 2}]));
    let log = emu.requests().await;
    let faults: Vec<_> = log.iter().map(|r| r["fault"].clone()).collect();
    assert_eq!(
        faults,
        [
            json!(null),
            json!("error"),
            json!(null),
            json!("error"),
            json!(null),
            json!(null)
        ]
    );
}

#[tokio::test]
async fn probability_rules_are_reproducible_for_a_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let emu = Emu::start(TOWN_HALL).await;
        let host = emu.host(MEETING, PASSWORD).await;
        emu.faults(
            json!({"seed": seed, "rules": [{"path": format!("{CONTROL}/*"), "probability": 0.3,
            "error": {"status": 500, "code": "MMC.111070003"}}]}),
        )
        .await;
        let mut statuses = Vec::new();
        for _ in 0..60 {
            statuses.push(host.get("/realTimeInfo").await.status);
        }
        statuses
    }
    let first = run(42).await;
    assert_eq!(first, run(42).await, "same seed, same faults");
    assert_ne!(first, run(43).await, "another seed, other faults");
    let failures = first.iter().filter(|s| **s == 500).count();
    assert!((5..=35).contains(&failures), "{failures} of 60 at p=0.3");
}

#[tokio::test]
async fn throttling_with_and_without_retry_after() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    emu.faults(json!({"rules": [
        {"path": format!("{CONTROL}/lock"), "nth": 1, "throttle": {"retry_after": 2}},
        {"path": format!("{CONTROL}/lock"), "nth": 2, "throttle": {}}
    ]}))
    .await;
    let lock = || host.put("/lock", json!({"isLock": 1}));
    let first = lock().await;
    first.error(429, "MMC.100000429");
    assert_eq!(first.retry_after.as_deref(), Some("2"));
    let second = lock().await;
    second.error(429, "MMC.100000429");
    assert_eq!(second.retry_after, None);
    lock().await.ok();
    assert_eq!(emu.meeting(MEETING).await["locked"], true);
}

#[tokio::test]
async fn a_configured_rate_limit_throttles_per_path() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    emu.faults(json!({"rate_limit": {"limit": 3, "per": "1m", "retry_after": true}}))
        .await;
    let info = || host.get("/realTimeInfo");
    for _ in 0..3 {
        info().await.ok();
    }
    let throttled = info().await;
    // Over a configured rate the API gateway answers, not the meeting server.
    throttled.error(429, "APIG.0308");
    let wait: u64 = throttled.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((55..=60).contains(&wait), "{wait}");
    // Another path has its own budget; and a minute later the first one recovers.
    host.put("/lock", json!({"isLock": 1})).await.ok();
    emu.advance("61s").await;
    info().await.ok();
}

#[tokio::test]
async fn latency_is_added() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/realTimeInfo"), "latency": "300ms"}]}))
        .await;
    let started = Instant::now();
    host.get("/realTimeInfo").await.ok();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn dropped_connections_before_and_after_the_call() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let token = host.token.clone();
    let lock_path = format!("{CONTROL}/lock");
    emu.faults(
        json!({"rules": [{"path": lock_path, "nth": 1, "drop": "before"},
                                {"path": lock_path, "nth": 2, "drop": "after"}]}),
    )
    .await;
    let lock = |value: u8| {
        emu.client
            .put(emu.url(&lock_path))
            .query(&[("conferenceID", MEETING)])
            .header("X-Conference-Authorization", &token)
            .body(json!({"isLock": value}).to_string())
            .send()
    };
    let error = lock(1).await.expect_err("dropped before: no answer");
    assert!(!error.is_status(), "{error:?}");
    assert_eq!(
        emu.meeting(MEETING).await["locked"],
        false,
        "dropped before it took effect"
    );
    lock(1).await.expect_err("dropped after: no answer either");
    assert_eq!(
        emu.meeting(MEETING).await["locked"],
        true,
        "dropped after it took effect"
    );
    assert_eq!(lock(0).await.expect("third call answered").status(), 200);
    let log = emu.requests().await;
    let tail: Vec<_> = log[1..]
        .iter()
        .map(|r| (r["fault"].clone(), r["status"].clone()))
        .collect();
    assert_eq!(
        tail,
        [
            (json!("drop"), json!(null)),
            (json!("drop_after"), json!(200)),
            (json!(null), json!(200))
        ]
    );
}

#[tokio::test]
async fn clearing_faults_restores_normal_answers() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    emu.faults(json!({"rules": [{"error": {"status": 500, "code": "X"}}]}))
        .await;
    host.get("/realTimeInfo").await.error(500, "X");
    assert_eq!(emu.admin("DELETE", "/_sim/faults", None).await.status, 204);
    host.get("/realTimeInfo").await.ok();
    // The admin API is never faulted.
    emu.faults(json!({"rules": [{"error": {"status": 500, "code": "X"}}]}))
        .await;
    emu.admin("GET", "/_sim/meetings", None).await.ok();
}
