//! Retries, token renewal and secrecy, with faults injected into the harness emulator
//! and every call checked in its request log.

use serde_json::{Value, json};

use crate::support::*;

fn playbook(retry: &str, steps: &str) -> String {
    format!(
        "name: Resilience\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\ndefaults:\n  retry: {retry}\nsteps:\n{steps}"
    )
}

const FAST: &str = "{ attempts: 4, initial: 10ms, max: 40ms }";

fn calls_to(log: &[Value], tail: &str) -> Vec<Value> {
    log.iter()
        .filter(|r| r["path"] == format!("{CONTROL}{tail}"))
        .cloned()
        .collect()
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let emu = Emu::start(TOWN_HALL).await;
    let lock = format!("{CONTROL}/lock");
    emu.faults(json!({"rules": [
        {"path": lock, "nth": 1, "error": {"status": 503, "code": "MMC.111070003"}},
        {"path": lock, "nth": 2, "throttle": {}},
        {"path": lock, "nth": 3, "drop": "before"}
    ]}))
    .await;
    let output = Run::playbook(&playbook(FAST, "  - lock: {}\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(emu.meeting(MEETING).await["locked"], true);
    let statuses: Vec<Value> = calls_to(&emu.requests().await, "/lock")
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(503), json!(429), Value::Null, json!(200)]);
    for reason in [
        "after HTTP 503 MMC.111070003",
        "after HTTP 429 MMC.100000429",
        "retry   lock: attempt 4/4",
    ] {
        assert!(
            output.stdout.contains(reason),
            "{reason}: {}",
            output.stdout
        );
    }
    assert!(output.stdout.contains("3 retries"), "{}", output.stdout);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/lock"), "nth": 1, "throttle": {"retry_after": 1}}]})).await;
    let output = Run::playbook(&playbook(FAST, "  - lock: {}\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let times: Vec<jiff::Timestamp> = calls_to(&emu.requests().await, "/lock")
        .iter()
        .map(|r| r["received"].as_str().unwrap().parse().unwrap())
        .collect();
    let gap = times[1].duration_since(times[0]);
    assert!(
        gap >= jiff::SignedDuration::from_millis(990),
        "waited {gap:?}, not the 1 s asked for"
    );
}

#[tokio::test]
async fn final_answers_are_not_retried() {
    for (status, code) in [(400, "MMC.111070001"), (403, "MMC.111070002")] {
        let emu = Emu::start(TOWN_HALL).await;
        emu.faults(json!({"rules": [{"path": format!("{CONTROL}/lock"), "error": {"status": status, "code": code}}]})).await;
        let output = Run::playbook(&playbook(FAST, "  - lock: {}\n"))
            .against(&emu)
            .await;
        assert_eq!(output.code, 1, "{}", output.transcript());
        assert!(
            output.stdout.contains(&format!("HTTP {status} {code}")),
            "{}",
            output.stdout
        );
        assert_eq!(
            calls_to(&emu.requests().await, "/lock").len(),
            1,
            "{status} must not be retried"
        );
        assert!(output.stdout.contains("0 retries"), "{}", output.stdout);
    }
}

#[tokio::test]
async fn retries_give_up_after_the_attempts() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/lock"), "error": {"status": 502, "code": "GW"}}]})).await;
    let output = Run::playbook(&playbook(FAST, "  - lock: {}\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert_eq!(calls_to(&emu.requests().await, "/lock").len(), 4);
    assert!(
        output.stdout.contains("(after 4 attempts)"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn a_token_that_expires_mid_run_is_renewed() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"token_ttl": "2s"})).await;
    let steps = "  - lock: {}\n  - wait: 1700ms\n  - start_recording: {}\n  - wait: 2500ms\n  - start_live: {}\n";
    let output = Run::playbook(&playbook(FAST, steps)).against(&emu).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let state = emu.meeting(MEETING).await;
    assert_eq!(
        (&state["locked"], &state["recording"], &state["live"]),
        (&json!(true), &json!(true), &json!(true))
    );
    let log = emu.requests().await;
    let tokens = calls_to(&log, "/token");
    assert!(
        tokens.len() >= 3,
        "a login and at least two renewals: {tokens:?}"
    );
    assert!(
        log.iter().all(|r| r["status"] != 401),
        "no call was refused for its token: {log:?}"
    );
    assert!(output.stdout.contains("0 failed"), "{}", output.stdout);
}

#[tokio::test]
async fn a_refused_token_is_obtained_again_once() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/lock"), "nth": 1, "error": {"status": 401, "code": "MMC.111070004"}}]})).await;
    let output = Run::playbook(&playbook(FAST, "  - lock: {}\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(calls_to(&emu.requests().await, "/token").len(), 2);
    assert!(
        output.stdout.contains("1 token renewal"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn secrets_never_appear_in_any_output() {
    const SECRET: &str = "hunter2-very-secret";
    let yaml = TOWN_HALL.replace(
        &format!("host_password: \"{PASSWORD}\""),
        &format!("host_password: \"{SECRET}\""),
    );
    let emu = Emu::start(&yaml).await;
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/record"), "error": {"status": 400, "code": "MMC.111070001", "msg": format!("echo {SECRET}")}}]})).await;
    let steps = "  - lock: {}\n  - log: \"password is {{ secret('EMCEE_HOST_PASSWORD') }}\"\n  - http: { method: GET, path: /v1/mmc/control/conferences/token }\n    register: raw\n    on_error: continue\n  - log: \"{{ raw }}\"\n  - start_recording: {}\n";
    for format in ["text", "json"] {
        let output = Run::playbook(&playbook(FAST, steps))
            .arg("-vv")
            .arg("--log-format")
            .arg(format)
            .arg("--endpoint")
            .arg(emu.handle.base_url())
            .env(HOST_PASSWORD_ENV, SECRET)
            .output()
            .await;
        assert_eq!(output.code, 1, "{}", output.transcript());
        let transcript = output.transcript();
        assert!(
            !transcript.contains(SECRET),
            "the password leaked:\n{transcript}"
        );
        assert!(transcript.contains("***"), "{transcript}");
        let log = emu.requests().await;
        for token in calls_to(&log, "/token") {
            assert_eq!(token["status"], 200);
        }
    }
    // And the token itself never shows, though a step printed the token call's answer.
    let tokens: Vec<String> = emu
        .requests()
        .await
        .iter()
        .filter_map(|r| r["body"].as_str().map(str::to_owned))
        .collect();
    assert!(tokens.is_empty());
}

#[tokio::test]
async fn the_client_side_rate_limit_paces_calls_per_api() {
    let emu = Emu::start(TOWN_HALL).await;
    let steps = "  - lock: {}\n    loop: \"{{ range(62) | list }}\"\n  - start_recording: {}\n";
    let lock_times = |log: &[Value]| -> Vec<jiff::Timestamp> {
        calls_to(log, "/lock")
            .iter()
            .map(|r| r["received"].as_str().unwrap().parse().unwrap())
            .collect()
    };
    let paced = Run::playbook(&playbook(FAST, steps))
        .arg("--rate-limit")
        .arg("60")
        .against(&emu)
        .await;
    assert_eq!(paced.code, 0, "{}", paced.transcript());
    let times = lock_times(&emu.requests().await);
    assert_eq!(times.len(), 62);
    // A burst of 60, then one call a second: the last two waited for the bucket.
    let spread = times[61].duration_since(times[0]);
    assert!(
        spread >= jiff::SignedDuration::from_millis(1900),
        "calls 61 and 62 were not paced: {spread:?}"
    );
    emu.admin("DELETE", "/_sim/requests", None).await;
    let free = Run::playbook(&playbook(FAST, steps))
        .arg("--rate-limit")
        .arg("0")
        .against(&emu)
        .await;
    assert_eq!(free.code, 0, "{}", free.transcript());
    let times = lock_times(&emu.requests().await);
    assert!(
        times[61].duration_since(times[0]) < jiff::SignedDuration::from_millis(1900),
        "no limit, no waiting"
    );
}
