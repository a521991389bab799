//! The runner follows the service's rules: only those in the meeting count as online,
//! a refused token is obtained again once, keep-alive carries the password, `set_host`
//! sends the host password, invitations can be waited for, the host's hand is not
//! raised, and the gateway's rate header paces the calls.

use serde_json::{Value, json};

use crate::support::*;

/// The meeting's section of a playbook logging in with the host password.
const HEAD: &str = "name: Rules\nmeeting:\n  id: \"914044873\"\n  host_password: pw1234\n";

/// Alice hosts and Bob is in; Eve is being called and Finn is joining, both with a hand
/// the list shows raised and a microphone open.
const ARRIVING: &str = "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li, hand: raised }\n    - { name: Eve Sun, state: calling, hand: raised }\n    - { name: Finn Ode, state: joining, hand: raised }\n";

fn calls_to<'a>(log: &'a [Value], tail: &str) -> Vec<&'a Value> {
    log.iter()
        .filter(|r| r["path"] == format!("{CONTROL}{tail}"))
        .collect()
}

/// The playbook `HEAD` + `steps` + `rest`.
fn playbook(steps: &str, rest: &str) -> String {
    format!("{HEAD}steps:\n{steps}{rest}")
}

#[tokio::test]
async fn only_those_in_the_meeting_count_as_online() {
    let steps = "  - participants: {}\n    register: everyone\n  - assert: \"everyone | length == 2\"\n  - wait_for: { count: 2, timeout: 1s }\n  - lower_all_hands: {}\n    register: lowered\n  - assert: \"lowered.lowered == 1\"\n  - mute: { role: guest, all: true }\n    register: muted\n  - assert: \"muted | length == 1\"\n";
    let (output, requests) = Run::playbook(&playbook(steps, ARRIVING)).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    // Only Bob's hand was lowered and only Bob muted: those ringing or joining are not
    // acted on.
    let batch = calls_to(&requests, "/participants/batch/hands");
    assert_eq!(batch.len(), 1, "{requests:#?}");
    assert_eq!(batch[0]["body"]["pids"].as_array().map(Vec::len), Some(1));
    assert_eq!(calls_to(&requests, "/participants/mute").len(), 1);
}

#[tokio::test]
async fn someone_ringing_has_not_joined() {
    let steps = "  - wait_for: { joined: Eve Sun, timeout: 3s }\n";
    let (output, _) = Run::playbook(&playbook(steps, ARRIVING))
        .arg("--fast-forward")
        .rehearse()
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("not in yet: Eve Sun (being called), Finn Ode (joining)"),
        "{}",
        output.stdout
    );
    let steps = "  - broadcast: Finn Ode\n";
    let (output, requests) = Run::playbook(&playbook(steps, ARRIVING)).rehearse().await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("no participant matches `Finn Ode`"),
        "{}",
        output.stdout
    );
    assert!(calls_to(&requests, "/broadcast").is_empty());
}

fn with_password(steps: &str) -> String {
    playbook_with_steps("Rules", steps)
}

#[tokio::test]
async fn the_services_token_refusal_logs_in_again_once() {
    let emu = Emu::start(TOWN_HALL).await;
    let lock = format!("{CONTROL}/lock");
    emu.faults(json!({"rules": [{"path": lock, "nth": 1, "error": {"status": 400, "code": "MMC.111072065", "msg": "CONF_NOT_FOUND_OR_AUTH_FAILED"}}]}))
        .await;
    let output = Run::playbook(&with_password("  - lock: {}\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let requests = emu.requests().await;
    assert_eq!(calls_to(&requests, "/token").len(), 2, "{requests:#?}");
    assert_eq!(calls_to(&requests, "/lock").len(), 2);
    assert_eq!(emu.meeting(MEETING).await["locked"], true);
}

#[tokio::test]
async fn a_token_refused_again_after_the_new_login_is_not_retried() {
    let emu = Emu::start(TOWN_HALL).await;
    let lock = format!("{CONTROL}/lock");
    emu.faults(
        json!({"rules": [{"path": lock, "error": {"status": 400, "code": "MMC.111072065"}}]}),
    )
    .await;
    let output = Run::playbook(&with_password("  - lock: {}\n"))
        .against(&emu)
        .await;
    assert_ne!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("MMC.111072065"),
        "{}",
        output.transcript()
    );
    let requests = emu.requests().await;
    // One login, one new login after the refusal: never a loop on the password.
    assert_eq!(calls_to(&requests, "/token").len(), 2, "{requests:#?}");
    assert_eq!(calls_to(&requests, "/lock").len(), 2);
}

#[tokio::test]
async fn a_refused_login_is_never_repeated() {
    let emu = Emu::start(TOWN_HALL).await;
    let output = Run::playbook(&with_password("  - lock: {}\n"))
        .arg("--endpoint")
        .arg(emu.handle.base_url())
        .env(HOST_PASSWORD_ENV, "wrong-password")
        .output()
        .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output.stdout.contains("MMC.111072065"),
        "{}",
        output.transcript()
    );
    assert_eq!(calls_to(&emu.requests().await, "/token").len(), 1);
}

#[tokio::test]
async fn set_host_sends_the_host_password_as_chairman_pwd() {
    let steps = "  - set_host: Bob Li\n";
    let rest = "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li }\n";
    let (output, requests) = Run::playbook(&playbook(steps, rest)).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let role = calls_to(&requests, "/participants/role");
    assert_eq!(role.len(), 1, "{requests:#?}");
    // Sent, and masked in the log as every password is.
    assert_eq!(
        role[0]["body"],
        json!({"applyChair": 1, "chairmanPwd": "***"})
    );
    assert!(!output.stdout.contains("pw1234"), "{}", output.stdout);
}

#[tokio::test]
async fn a_refused_chairman_password_fails_the_step_naming_the_code() {
    let emu = Emu::start(TOWN_HALL).await;
    let role = format!("{CONTROL}/participants/role");
    emu.faults(json!({"rules": [{"path": role, "error": {"status": 400, "code": "MMC.111072018", "msg": "CONF_CHAIRMAN_PWD_EXCEPTION"}}]}))
        .await;
    let output = Run::playbook(&with_password("  - set_host: Bob Li\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("MMC.111072018")
            && output.stdout.contains("check `meeting.host_password`"),
        "{}",
        output.stdout
    );
    // Final: never retried.
    assert_eq!(
        calls_to(&emu.requests().await, "/participants/role").len(),
        1
    );
}

#[tokio::test]
async fn set_host_with_a_given_token_is_refused_by_check() {
    let text = "name: Rules\nmeeting:\n  id: \"914044873\"\n  token: \"{{ secret('EMCEE_TOKEN') }}\"\nsteps:\n  - set_host: Bob Li\n";
    let output = Run::command(&["check", "playbook.yaml"])
        .file("playbook.yaml", text)
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("gives a token instead")
            && output
                .stderr
                .contains("give `meeting.host_password` instead of `token`"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn hand_rules_are_final_and_say_what_to_do() {
    let emu = Emu::start(TOWN_HALL).await;
    let hands = format!("{CONTROL}/participants/hands");
    emu.faults(json!({"rules": [{"path": hands, "error": {"status": 400, "code": "MMC.111072071", "msg": "NO_PERMISSION_OPERATE_OTHERS"}}]}))
        .await;
    let output = Run::playbook(&with_password("  - raise_hand: Carol Wu\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("MMC.111072071") && output.stdout.contains("their own hand"),
        "{}",
        output.stdout
    );
    assert_eq!(
        calls_to(&emu.requests().await, "/participants/hands").len(),
        1
    );
    let output = Run::command(&["check", "playbook.yaml"])
        .file(
            "playbook.yaml",
            &with_password("  - raise_hand: { role: host }\n"),
        )
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(output.stderr.contains("111072069"), "{}", output.stderr);
}

const EVE: &str = "{ name: Eve Sun, phone: \"+8613800000009\", wait: answered, timeout: 3s }";

#[tokio::test]
async fn invite_can_wait_for_the_answer() {
    let steps = format!(
        "  - invite: {EVE}\n    register: called\n  - assert: \"called.answered == ['Eve Sun']\"\n  - wait_for: {{ joined: Eve Sun, timeout: 1s }}\n"
    );
    let (output, requests) = Run::playbook(&playbook(&steps, ARRIVING))
        .arg("--fast-forward")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("Eve Sun answered after"),
        "{}",
        output.stdout
    );
    assert_eq!(calls_to(&requests, "/participants").len(), 1);
}

#[tokio::test]
async fn a_callee_who_leaves_the_list_without_answering_fails_the_step() {
    let emu = Emu::start(TOWN_HALL).await;
    // The invitation is answered but never rings: the callee is not on the list.
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/participants"), "method": "POST", "ignore": true}]}))
        .await;
    let output = Run::playbook(&with_password(&format!("  - invite: {EVE}\n")))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("Eve Sun left without answering (busy, rejected or no answer)"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn a_callee_still_ringing_at_the_timeout_fails_the_step() {
    let emu = Emu::start(TOWN_HALL).await;
    let added = emu
        .admin(
            "POST",
            &format!("/_sim/meetings/{MEETING}/participants"),
            Some(json!({"name": "Eve Sun", "phone": "+8613800000009", "state": "calling"})),
        )
        .await;
    assert_eq!(added.status, 201, "{added:?}");
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/participants"), "method": "POST", "ignore": true}]}))
        .await;
    let output = Run::playbook(&with_password(&format!("  - invite: {EVE}\n")))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("still ringing after 3s: Eve Sun"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn keep_alive_carries_the_host_password() {
    use crate::hostile_server::{Hostile, Reply};
    // Tokens that are due for renewal at once: the second call keeps the token alive.
    let server = Hostile::start(|seen| {
        if seen.is_token_call() {
            Reply::expired_token()
        } else {
            Reply::ok()
        }
    })
    .await;
    let output = Run::playbook(&with_password(
        "  - lock: {}\n  - wait: 1100ms\n  - unlock: {}\n",
    ))
    .arg("--endpoint")
    .arg(server.url())
    .env(HOST_PASSWORD_ENV, PASSWORD)
    .output()
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let seen = server.seen();
    let keep_alive: Vec<_> = seen
        .iter()
        .filter(|s| s.is_token_call() && s.header("X-Conference-Authorization").is_some())
        .collect();
    assert!(!keep_alive.is_empty(), "no keep-alive: {seen:#?}");
    for call in keep_alive {
        assert_eq!(call.header("X-Password"), Some(PASSWORD), "{call:?}");
        assert_eq!(call.header("X-Login-Type"), Some("1"), "{call:?}");
    }
    assert!(!output.stdout.contains(PASSWORD), "{}", output.stdout);
}

#[tokio::test]
async fn the_services_hand_rules_end_the_step_with_what_to_do() {
    let rest = "rehearsal:\n  rules: { hands: strict }\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Carol Wu }\n";
    // The host's own hand, named rather than selected by role: the service refuses.
    let (output, requests) = Run::playbook(&playbook("  - raise_hand: Alice Zhang\n", rest))
        .rehearse()
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("MMC.111072069")
            && output.stdout.contains("aim raise_hand at guests"),
        "{}",
        output.stdout
    );
    assert_eq!(calls_to(&requests, "/participants/hands").len(), 1);
    // Strict: the host raises nobody else's hand with the single call.
    let (output, requests) = Run::playbook(&playbook("  - raise_hand: Carol Wu\n", rest))
        .rehearse()
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("MMC.111072071") && output.stdout.contains("their own hand"),
        "{}",
        output.stdout
    );
    assert_eq!(calls_to(&requests, "/participants/hands").len(), 1);
}

#[tokio::test]
async fn a_busy_callee_fails_the_step_and_one_who_rings_on_times_out() {
    let rest = "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n  invitees:\n    \"+8613800000009\": { outcome: busy, after: 5s }\n    \"+8613800000010\": { outcome: no_answer, after: 2m }\n";
    let steps =
        "  - invite: { name: Eve Sun, phone: \"+8613800000009\", wait: answered, timeout: 1m }\n";
    let (output, _) = Run::playbook(&playbook(steps, rest))
        .arg("--fast-forward")
        .rehearse()
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("Eve Sun left without answering (busy, rejected or no answer)"),
        "{}",
        output.stdout
    );
    let steps =
        "  - invite: { name: Finn Ode, phone: \"+8613800000010\", wait: answered, timeout: 1m }\n";
    let (output, _) = Run::playbook(&playbook(steps, rest))
        .arg("--fast-forward")
        .rehearse()
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("still ringing after 1m: Finn Ode"),
        "{}",
        output.stdout
    );
}

/// Seven locks against a gateway allowing three a second: paced by its header, none
/// is refused.
async fn paced_by_the_header(rate_limit: Option<&str>) {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rate_limit": {"limit": 3, "per": "1s"}}))
        .await;
    let steps = "  - lock: {}\n".repeat(7);
    let mut run = Run::playbook(&with_password(&steps));
    if let Some(limit) = rate_limit {
        run = run.arg("--rate-limit").arg(limit);
    }
    let output = run.against(&emu).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let requests = emu.requests().await;
    let locks = calls_to(&requests, "/lock");
    assert_eq!(locks.len(), 7, "{requests:#?}");
    assert!(
        requests.iter().all(|r| r["status"] != 429),
        "a call was throttled: {requests:#?}"
    );
    assert!(output.stdout.contains("0 retries"), "{}", output.stdout);
}

#[tokio::test]
async fn calls_are_paced_by_the_gateways_header() {
    paced_by_the_header(None).await;
}

#[tokio::test]
async fn the_gateways_header_paces_without_a_client_rate_limit() {
    paced_by_the_header(Some("0")).await;
}

#[tokio::test]
async fn the_gateways_throttling_is_waited_out_and_retried() {
    let emu = Emu::start(TOWN_HALL).await;
    // Someone else spends the window's two locks first (and one of its two logins).
    emu.faults(json!({"rate_limit": {"limit": 2, "per": "2s"}}))
        .await;
    let host = emu.host(MEETING, PASSWORD).await;
    for _ in 0..2 {
        host.put("/lock", json!({"isLock": 1})).await.ok();
    }
    let output = Run::playbook(&with_password("  - lock: {}\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("HTTP 429 APIG.0308"),
        "{}",
        output.stdout
    );
    let requests = emu.requests().await;
    let locks = calls_to(&requests, "/lock");
    let statuses: Vec<&Value> = locks.iter().map(|r| &r["status"]).collect();
    assert_eq!(statuses, [200, 200, 429, 200], "{requests:#?}");
    let at = |r: &Value| {
        r["received"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    // Not before the gateway's 2 to 5 s.
    let waited = at(locks[3]).duration_since(at(locks[2]));
    assert!(
        waited >= jiff::SignedDuration::from_secs(2),
        "retried after {waited:?}"
    );
}

#[tokio::test]
async fn an_invitation_refused_at_once_names_the_reason() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rules": [{"path": format!("{CONTROL}/participants"), "method": "POST", "error": {"status": 400, "code": "MMC.111076008", "msg": "INVITE_FAILED_REASON"}}]}))
        .await;
    let output = Run::playbook(&with_password(&format!("  - invite: {EVE}\n")))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("MMC.111076008") && output.stdout.contains("the callee is busy"),
        "{}",
        output.stdout
    );
    // Final: neither retried nor waited for.
    let requests = emu.requests().await;
    assert_eq!(calls_to(&requests, "/participants").len(), 1);
    assert!(calls_to(&requests, "/realTimeInfo").is_empty());
}
