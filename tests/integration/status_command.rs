//! A look before the show: `emcee status` shows a live meeting read only, and
//! `check --live` / `plan --live` resolve a playbook's selectors against who is there
//! and who is invited. Neither makes a control call: the emulator's request log has
//! only the token call and `realTimeInfo`.

use serde_json::Value;

use crate::support::*;

/// A meeting with every kind of person in it: host, co-host, a muted guest with a hand
/// up, a namesake, someone ringing, someone joining, and an invitee who is not there.
pub(crate) const LINEUP: &str = r#"
meetings:
  - id: "914044873"
    subject: Town hall
    host_password: "123456"
    participants:
      - { name: Alice Zhang, phone: "+8613800000001", role: host, video: true }
      - { name: Bob Li, phone: "+8613800000002", hand: raised, mute: true, video: true }
      - { name: Bob Li, phone: "+8613800000012" }
      - { name: Dave Ma, phone: "+8613800000004", role: cohost }
      - { name: Frank Wu, phone: "+8613800000006", state: calling }
      - { name: Grace Lu, phone: "+8613800000007", state: joining }
    attendees:
      - { name: Alice Zhang, phone: "+8613800000001" }
      - { name: Heidi Sun, phone: "+8613800000008" }
"#;

/// The paths the emulator was called on, in order.
pub(crate) async fn paths(emu: &Emu) -> Vec<String> {
    emu.requests()
        .await
        .iter()
        .map(|r| r["path"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Whether every call was the token call or the online list: nothing was changed.
#[track_caller]
pub(crate) fn read_only(paths: &[String]) {
    assert!(!paths.is_empty(), "nothing was called");
    for path in paths {
        assert!(
            path == &format!("{CONTROL}/token") || path == &format!("{CONTROL}/realTimeInfo"),
            "a call that is not a read: {path} in {paths:?}"
        );
    }
}

const PLAYBOOK: &str = "name: status\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\nsteps:\n  - log: never run\n";

#[tokio::test]
async fn status_shows_who_is_there_and_how_read_only() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["status", "playbook.yaml"])
        .file("playbook.yaml", PLAYBOOK)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    insta::assert_snapshot!(output.transcript());
    read_only(&paths(&emu).await);
}

#[tokio::test]
async fn status_as_json_has_stable_fields() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["status", "playbook.yaml", "--format", "json"])
        .file("playbook.yaml", PLAYBOOK)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let document: Value = serde_json::from_str(&output.stdout).expect("one JSON document");
    insta::assert_json_snapshot!(document, {
        ".participants[].pid" => "[pid]",
    });
}

#[tokio::test]
async fn status_of_a_meeting_id_takes_the_password_from_the_environment() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["status", "--meeting", MEETING])
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stdout
            .starts_with("meeting 914044873: running (read at 1970-01-01T00:00:00Z)\n"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("in the meeting (4):"),
        "{}",
        output.stdout
    );
    assert!(!output.stdout.contains(PASSWORD) && !output.stderr.contains(PASSWORD));
}

#[tokio::test]
async fn status_reads_the_password_from_a_file() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["status", "--meeting", MEETING, "--format", "json"])
        .file("secrets/host.pw", &format!("{PASSWORD}\n"))
        .env("EMCEE_HOST_PASSWORD_FILE", "secrets/host.pw")
        .arg("--endpoint")
        .arg(emu.handle.base_url())
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let document: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(document["state"], "running");
    assert_eq!(document["counts"]["ringing"], 1);
}

#[tokio::test]
async fn status_of_a_meeting_id_without_credentials_says_what_to_set() {
    let output = Run::command(&["status", "--meeting", MEETING])
        .arg("--endpoint")
        .arg("http://127.0.0.1:9")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("set EMCEE_HOST_PASSWORD"),
        "{}",
        output.stderr
    );
    for (name, value, why) in [
        ("EMCEE_HOST_PASSWORD", "", "EMCEE_HOST_PASSWORD is empty"),
        (
            "EMCEE_TOKEN_FILE",
            "missing.txt",
            "cannot read EMCEE_TOKEN_FILE=missing.txt",
        ),
    ] {
        let output = Run::command(&["status", "--meeting", MEETING])
            .arg("--endpoint")
            .arg("http://127.0.0.1:9")
            .env(name, value)
            .output()
            .await;
        assert_eq!(output.code, 2, "{}", output.transcript());
        assert!(output.stderr.contains(why), "{}", output.stderr);
    }
}

#[tokio::test]
async fn a_refused_password_exits_3_without_showing_it() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["status", "--meeting", MEETING])
        .arg("--endpoint")
        .arg(emu.handle.base_url())
        .env(HOST_PASSWORD_ENV, "wrong-password")
        .output()
        .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output.stderr.contains("MMC.111072065")
            && output
                .stderr
                .contains("the meeting id or the host password is wrong"),
        "{}",
        output.stderr
    );
    assert!(
        !output.stderr.contains("wrong-password"),
        "{}",
        output.stderr
    );
    read_only(&paths(&emu).await);
}

#[tokio::test]
async fn an_unreachable_service_exits_3() {
    let output = Run::command(&["status", "--meeting", MEETING])
        .against_url("http://127.0.0.1:9")
        .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(output.stderr.contains("cannot look at meeting 914044873"));
}

/// A playbook naming someone nobody is, two people at once, an invitee who is not
/// there, someone ringing, a templated name that renders to the host, and a step the
/// tags leave out.
const NAMES: &str = r#"name: names
vars:
  chair: Alice Zhang
meeting:
  id: "914044873"
  host_password: "{{ secret('EMCEE_HOST_PASSWORD') }}"
steps:
  - name: Spotlight the keynote
    broadcast: Zed Nobody
  - name: Quiet Bob
    mute: Bob Li
  - name: Ask Heidi
    raise_hand: Heidi Sun
  - unmute: Frank Wu
  - broadcast: "{{ chair }}"
  - mute: { role: guest, all: true }
  - name: Left out
    broadcast: Nobody Either
    tags: [later]
"#;

#[tokio::test]
async fn check_live_warns_about_selectors_the_meeting_does_not_bear_out() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["check", "names.yaml", "--live", "--skip-tags", "later"])
        .file("names.yaml", NAMES)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    insta::assert_snapshot!(output.transcript());
    read_only(&paths(&emu).await);
}

#[tokio::test]
async fn check_without_live_contacts_nothing() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["check", "names.yaml"])
        .file("names.yaml", NAMES)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(!output.stderr.contains("Zed Nobody"), "{}", output.stderr);
    assert!(paths(&emu).await.is_empty());
}

#[tokio::test]
async fn check_live_looks_at_each_playbooks_own_meeting() {
    let emu = Emu::start(&format!(
        "{LINEUP}  - id: \"222333444\"\n    host_password: \"123456\"\n    participants:\n      - {{ name: Eve Qian, role: host }}\n"
    ))
    .await;
    let other = NAMES.replace("914044873", "222333444");
    let output = Run::command(&["check", "a.yaml", "b.yaml", "--live", "--format", "json"])
        .file("a.yaml", "name: a\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\nsteps:\n  - broadcast: Eve Qian\n")
        .file("b.yaml", &other)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let report: Value = serde_json::from_str(&output.stdout).unwrap();
    let a = report["files"][0]["warnings"].as_array().unwrap();
    let b = report["files"][1]["warnings"].as_array().unwrap();
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(
        a[0].as_str()
            .unwrap()
            .starts_with("a.yaml:6:16: step 1 (broadcast): `Eve Qian` matches nobody"),
        "{a:?}"
    );
    // In the other meeting Eve is there, and Alice is not.
    assert!(
        b.iter()
            .any(|w| w.as_str().unwrap().contains("`Alice Zhang` matches nobody")),
        "{b:?}"
    );
    assert!(report["files"][0]["unreachable"].is_null());
}

#[tokio::test]
async fn check_live_exits_3_when_the_meeting_cannot_be_reached() {
    let output = Run::command(&["check", "names.yaml", "--live"])
        .file("names.yaml", NAMES)
        .against_url("http://127.0.0.1:9")
        .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("error: names.yaml: cannot look at meeting 914044873"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn check_live_with_a_refused_password_exits_3() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["check", "names.yaml", "--live"])
        .file("names.yaml", NAMES)
        .arg("--endpoint")
        .arg(emu.handle.base_url())
        .env(HOST_PASSWORD_ENV, "wrong-password")
        .output()
        .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(output.stderr.contains("MMC.111072065"), "{}", output.stderr);
}

#[tokio::test]
async fn plan_live_adds_the_meetings_verdict_to_the_plan() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["plan", "names.yaml", "--live"])
        .file("names.yaml", NAMES)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let warnings: Vec<&str> = output
        .stdout
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 5, "{}", output.stdout);
    assert!(
        warnings[0].contains("`Zed Nobody` matches nobody"),
        "{warnings:?}"
    );
    // The step --tags would leave out is not left out here: plan was not told to.
    assert!(warnings[4].contains("`Nobody Either`"), "{warnings:?}");
    read_only(&paths(&emu).await);
}

/// The token call answers as the service does for a meeting in this state, on the
/// calls `nth` (every call when empty).
pub(crate) async fn token_answers(emu: &Emu, code: &str, msg: &str, nth: &[u64]) {
    let mut rule = serde_json::json!({
        "path": format!("{CONTROL}/token"),
        "error": {"status": 400, "code": code, "msg": msg},
    });
    if !nth.is_empty() {
        rule["nth"] = serde_json::json!(nth);
    }
    emu.faults(serde_json::json!({ "rules": [rule] })).await;
}

#[tokio::test]
async fn status_says_when_the_meeting_has_not_started_and_exits_0() {
    let emu = Emu::start(LINEUP).await;
    token_answers(&emu, "MMC.111072005", "CONF_NOT_STARTED", &[]).await;
    let output = Run::command(&["status", "--meeting", MEETING])
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        output.stdout,
        "meeting 914044873: not started (read at 1970-01-01T00:00:00Z)\nthe meeting has not started yet: the service gives no control token before it starts (MMC.111072005)\n"
    );
    let output = Run::command(&["status", "--meeting", MEETING, "--format", "json"])
        .against(&emu)
        .await;
    let document: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(document["state"], "not_started");
    assert!(document["participants"].is_null() && document["counts"].is_null());
}

#[tokio::test]
async fn status_says_when_the_meeting_has_ended() {
    let emu = Emu::start(LINEUP).await;
    token_answers(&emu, "MMC.111072006", "CONF_IS_CLOSED", &[]).await;
    let output = Run::command(&["status", "--meeting", MEETING, "--format", "json"])
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let document: Value = serde_json::from_str(&output.stdout).unwrap();
    assert_eq!(document["state"], "ended");
}

#[tokio::test]
async fn check_live_notes_a_meeting_not_started_yet_and_exits_0() {
    let emu = Emu::start(LINEUP).await;
    token_answers(&emu, "MMC.111072005", "CONF_NOT_STARTED", &[]).await;
    let output = Run::command(&["check", "names.yaml", "--live"])
        .file("names.yaml", NAMES)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        output.stderr,
        "warning: names.yaml: meeting 914044873 has not started yet: its selectors cannot be checked until it has\n"
    );
}

#[tokio::test]
async fn status_of_a_meeting_id_can_use_a_token_instead() {
    let emu = Emu::start(LINEUP).await;
    let token = emu.login(MEETING, PASSWORD).await;
    let before = paths(&emu).await.len();
    let output = Run::command(&["status", "--meeting", MEETING, "--format", "json"])
        .arg("--endpoint")
        .arg(emu.handle.base_url())
        .env("EMCEE_TOKEN", &token)
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(!output.stdout.contains(&token) && !output.stderr.contains(&token));
    // A given token is used as it is: no login, only the read.
    let paths = paths(&emu).await;
    assert_eq!(paths[before..], [format!("{CONTROL}/realTimeInfo")]);
}

#[tokio::test]
async fn check_live_renders_templated_selectors_with_the_variables_given() {
    let emu = Emu::start(LINEUP).await;
    let output = Run::command(&["check", "names.yaml", "--live", "-e", "chair=Ghost Host"])
        .file("names.yaml", NAMES)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("warning: names.yaml:15:16: step 5 (broadcast): `Ghost Host` matches nobody"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn check_live_never_shows_a_selector_rendered_from_a_secret() {
    let emu = Emu::start(LINEUP).await;
    let playbook = format!("{PLAYBOOK}  - broadcast: \"{{{{ secret('VIP_NAME') }}}}\"\n");
    let output = Run::command(&["check", "playbook.yaml", "--live"])
        .file("playbook.yaml", &playbook)
        .env("VIP_NAME", "Undercover Guest")
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stderr.contains("`***` matches nobody"),
        "{}",
        output.stderr
    );
    assert!(!output.stderr.contains("Undercover"), "{}", output.stderr);
}

/// [`LINEUP`]'s meeting in another state of its life.
fn lineup_in(status: &str) -> String {
    LINEUP.replace(
        "    subject: Town hall\n",
        &format!("    subject: Town hall\n    status: {status}\n"),
    )
}

#[tokio::test]
async fn status_follows_a_scheduled_meeting_until_it_is_started() {
    let emu = Emu::start(&lineup_in("scheduled")).await;
    let output = Run::command(&["status", "--meeting", MEETING])
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("the meeting has not started yet"),
        "{}",
        output.stdout
    );
    let output = Run::command(&["check", "names.yaml", "--live"])
        .file("names.yaml", NAMES)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stderr.contains("has not started yet"),
        "{}",
        output.stderr
    );
    let output = Run::command(&["plan", "names.yaml", "--live"])
        .file("names.yaml", NAMES)
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains(
            "warning: names.yaml: meeting 914044873 has not started yet: its selectors cannot be checked until it has\n"
        ),
        "{}",
        output.stdout
    );
    emu.admin("POST", &format!("/_sim/meetings/{MEETING}/start"), None)
        .await
        .ok();
    let output = Run::command(&["status", "--meeting", MEETING])
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.starts_with("meeting 914044873: running"),
        "{}",
        output.stdout
    );
    read_only(&paths(&emu).await);
}

#[tokio::test]
async fn status_of_an_ended_meeting_says_so() {
    let emu = Emu::start(&lineup_in("ended")).await;
    let output = Run::command(&["status", "--meeting", MEETING])
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("the meeting has ended"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn a_refusal_that_quotes_the_password_is_shown_masked() {
    let emu = Emu::start(LINEUP).await;
    let quoted = format!("password {PASSWORD} refused");
    token_answers(&emu, "MMC.111072065", &quoted, &[]).await;
    let status = Run::command(&["status", "--meeting", MEETING])
        .against(&emu)
        .await;
    let check = Run::command(&["check", "names.yaml", "--live"])
        .file("names.yaml", NAMES)
        .against(&emu)
        .await;
    for output in [status, check] {
        assert_eq!(output.code, 3, "{}", output.transcript());
        assert!(
            output.stderr.contains("password *** refused") && !output.stderr.contains(PASSWORD),
            "{}",
            output.stderr
        );
    }
}

#[tokio::test]
async fn plain_http_off_loopback_is_refused_before_any_password_is_sent() {
    for args in [
        &["status", "--meeting", MEETING][..],
        &["check", "names.yaml", "--live"],
        &["plan", "names.yaml", "--live"],
    ] {
        let output = Run::command(args)
            .file("names.yaml", NAMES)
            .env(HOST_PASSWORD_ENV, PASSWORD)
            .arg("--endpoint")
            .arg("http://192.0.2.1:8787")
            .output()
            .await;
        assert_eq!(output.code, 2, "{args:?}: {}", output.transcript());
        assert!(output.stderr.contains("clear text"), "{}", output.stderr);
    }
}
