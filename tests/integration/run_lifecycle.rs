//! The run and the meeting's lifecycle: a meeting not started yet (wait for it, start
//! it with an account, or fail), the meeting's start as cues and resumed runs count it,
//! and a meeting that ends during the run — by other hands, or by the run's own
//! `end_meeting`.

use serde_json::Value;

use crate::support::{Emu, MEETING, Run, TOWN_HALL, action_calls};

/// A rehearsal starts its virtual clock here, so that times in the request log can be
/// compared with it.
const START: &str = "2026-11-22T09:50:00+08:00";

/// A playbook for [`MEETING`] whose `meeting:` section also has `lifecycle` (lines
/// indented under it), with `rest` after (steps, rehearsal…).
fn playbook(lifecycle: &str, rest: &str) -> String {
    format!(
        "name: Lifecycle\ntimezone: Asia/Shanghai\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\n{lifecycle}{rest}"
    )
}

/// A scheduled rehearsal meeting whose host joins `after` the start (never without).
fn scheduled(after: Option<&str>) -> String {
    let joins = after.map_or(String::new(), |a| format!(", joins_after: {a}"));
    format!(
        "rehearsal:\n  status: scheduled\n  participants:\n    - {{ name: Alice Zhang, role: host{joins} }}\n    - {{ name: Bob Li }}\n"
    )
}

/// Seconds from [`START`] at which the emulator received `entry`.
fn seconds_in(entry: &Value) -> f64 {
    let start: jiff::Timestamp = START.parse().unwrap();
    let at: jiff::Timestamp = entry["received"].as_str().unwrap().parse().unwrap();
    at.duration_since(start).as_secs_f64()
}

fn is_token(entry: &Value) -> bool {
    entry["path"].as_str().unwrap_or("").ends_with("/token")
}

/// A fast-forwarded rehearsal from [`START`], with real instants in its request log.
fn rehearsal(text: &str) -> Run {
    Run::playbook(text)
        .arg("--fast-forward")
        .arg("--start")
        .arg(START)
        .env("EMCEE_DETERMINISTIC", "0")
        .env("EMCEE_PROGRESS", "never")
}

#[tokio::test]
async fn a_run_waits_for_the_host_to_start_the_meeting_asking_every_poll() {
    let text = playbook(
        "  start_poll: 15s\n",
        &format!("steps:\n  - lock: {{}}\n{}", scheduled(Some("100s"))),
    );
    let (output, requests) = rehearsal(&text).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("waiting for the meeting to start: asking every 15s,"),
        "the poll as the playbook writes it: {}",
        output.stdout
    );
    let tokens: Vec<f64> = requests
        .iter()
        .filter(|r| is_token(r))
        .map(seconds_in)
        .collect();
    // Not started at 0, 15, … 90 s; the host joins at 100 s; the ask at 105 s has it.
    assert_eq!(tokens.len(), 8, "{tokens:?}");
    for pair in tokens.windows(2) {
        assert!(
            pair[1] - pair[0] >= 15.0 - 0.01,
            "polled too often: {tokens:?}"
        );
    }
    let first_control = requests
        .iter()
        .find(|r| !is_token(r))
        .expect("a control call");
    assert!(seconds_in(first_control) >= 100.0, "{first_control}");
    assert!(
        seconds_in(first_control) < 100.0 + 15.0 + 0.05,
        "within a poll of the start: {first_control}"
    );
}

#[tokio::test]
async fn a_meeting_that_never_starts_ends_the_wait_at_the_timeout_with_exit_3() {
    let text = playbook(
        "  start_timeout: 2m\n",
        &format!("steps:\n  - lock: {{}}\n{}", scheduled(None)),
    );
    let (output, requests) = rehearsal(&text).rehearse().await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output.stdout.contains("meeting 914044873 did not start by"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("MMC.111072005"), "{}", output.stdout);
    assert!(output.stdout.contains("start_timeout"), "{}", output.stdout);
    assert!(
        action_calls(&requests).is_empty(),
        "no control call: {requests:?}"
    );
    // 0, 15, … 120 s: the last ask is at the timeout.
    assert_eq!(requests.iter().filter(|r| is_token(r)).count(), 9);
}

#[tokio::test]
async fn not_started_start_logs_in_with_the_account_and_starts_the_meeting() {
    let text = playbook(
        "  not_started: start\n  account:\n    name: ops-account\n    password: \"{{ secret('EMCEE_ACCOUNT_PASSWORD') }}\"\n",
        &format!("steps:\n  - lock: {{}}\n{}", scheduled(None)),
    );
    let (output, requests) = rehearsal(&text)
        .env("EMCEE_ACCOUNT_PASSWORD", "account-secret-7")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let paths: Vec<(&str, u64)> = requests
        .iter()
        .map(|r| (r["path"].as_str().unwrap(), r["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        paths,
        [
            ("/v1/mmc/control/conferences/token", 400),
            ("/v1/usg/acs/auth/account", 200),
            ("/v1/mmc/management/conferences/start", 200),
            ("/v1/mmc/control/conferences/token", 200),
            // The feed opens at the first control step, once the meeting is started.
            ("/v1/mmc/control/conferences/wsToken", 200),
            ("/cms/open/websocket/confctl/increment/conn", 101),
            ("/v1/mmc/control/conferences/lock", 200),
        ]
    );
    let log = serde_json::to_string(&requests).unwrap();
    assert!(!log.contains("account-secret-7"), "{log}");
    assert!(!output.stdout.contains("account-secret-7"));
    assert!(
        output.stdout.contains("started by this run"),
        "{}",
        output.stdout
    );
}

/// [`TOWN_HALL`] with its first meeting not started yet.
fn scheduled_town_hall() -> String {
    TOWN_HALL.replacen(
        "    subject: Town hall\n",
        "    subject: Town hall\n    status: scheduled\n",
        1,
    )
}

#[tokio::test]
async fn a_wrong_account_password_stops_the_start_with_exit_3() {
    let emu = Emu::start(&scheduled_town_hall()).await;
    let text = playbook(
        "  not_started: start\n  account: { name: demo, password: wrong-pass }\n",
        "steps:\n  - lock: {}\n",
    );
    let output = Run::playbook(&text).against(&emu).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("could not start it with the account"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("HTTP 401"), "{}", output.stdout);
    let paths: Vec<String> = emu
        .handle
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(!paths.iter().any(|p| p.ends_with("/start")), "{paths:?}");
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("/token")).count(),
        1,
        "{paths:?}"
    );
}

#[tokio::test]
async fn an_unknown_meeting_is_refused_at_once_with_exit_3() {
    let emu = Emu::start(TOWN_HALL).await;
    let text = playbook(
        "  not_started: start\n  account: { name: demo, password: demo-pass }\n",
        "steps:\n  - lock: {}\n",
    )
    .replace(MEETING, "555666777");
    let output = Run::playbook(&text).against(&emu).await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(output.stdout.contains("MMC.111072065"), "{}", output.stdout);
    assert!(
        output
            .stdout
            .contains("meeting id or the host password is wrong"),
        "{}",
        output.stdout
    );
    // Never asked again: failed logins lock the meeting.
    assert_eq!(emu.handle.requests().len(), 1);
}

#[tokio::test]
async fn not_started_fail_stops_at_once_after_one_token_call() {
    let emu = Emu::start(&scheduled_town_hall()).await;
    let output = Run::playbook(&playbook("  not_started: fail\n", "steps:\n  - lock: {}\n"))
        .against(&emu)
        .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output.stdout.contains("has not started"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("not_started: wait"),
        "{}",
        output.stdout
    );
    assert_eq!(emu.handle.requests().len(), 1);
    // The flag overrides the playbook: waiting (briefly) is what it asks for here.
    let waited = Run::playbook(&playbook(
        "  not_started: wait\n  start_timeout: 1s\n  start_poll: 5s\n",
        "steps:\n  - lock: {}\n",
    ))
    .arg("--not-started")
    .arg("fail")
    .against(&emu)
    .await;
    assert_eq!(waited.code, 3, "{}", waited.transcript());
    assert!(
        waited.stdout.contains("`not_started: fail` stops here"),
        "{}",
        waited.stdout
    );
}

/// A meeting that ends by itself at +5m while the run waits for a cue at +70m; the
/// steps after it need the meeting, but for a log and a block's `always`.
fn ended_midway() -> String {
    playbook(
        "",
        &format!(
            "steps:\n  - lock: {{}}\n  - name: Unlock later\n    at: +70m\n    unlock: {{}}\n  - name: Mute later\n    at: +71m\n    mute_all: {{}}\n  - log: the show is over\n  - name: Closing\n    steps:\n      - log: closing\n    always:\n      - stop_recording: {{}}\n{}",
            "rehearsal:\n  ends_at: +5m\n  auto_prolong: false\n  participants:\n    - { name: Alice Zhang, role: host }\n"
        ),
    )
}

/// What a run that learnt of the end during step 2 says, however it learnt it.
fn assert_the_rest_is_skipped(output: &crate::support::Output) {
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("during step 2 (Unlock later)"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("skip    Mute later: the meeting has ended"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("skip    stop_recording: the meeting has ended"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("the show is over"),
        "local steps still run"
    );
}

#[tokio::test]
async fn a_meeting_ended_during_the_run_skips_the_rest_and_exits_1() {
    let (output, requests) = rehearsal(&ended_midway())
        .arg("--events")
        .arg("off")
        .rehearse()
        .await;
    assert_the_rest_is_skipped(&output);
    // Without the feed the run learns of it only when the API says so: at the cue.
    assert!(
        output.stdout.contains("the meeting ended at 11:00:00"),
        "{}",
        output.stdout
    );
    // The token falls due while the run waits: its renewal is refused once (a
    // keep-alive, then a login), and not asked for again.
    assert!(
        output.stdout.contains("the token is not asked for again"),
        "{}",
        output.stdout
    );
    // Nothing refused is retried: the renewal while waiting (a keep-alive, then a
    // login) and the step's own ask for a token, and no call after it.
    let after: Vec<&Value> = requests.iter().filter(|r| seconds_in(r) >= 300.0).collect();
    assert_eq!(after.len(), 4, "{after:#?}");
    assert!(after.iter().all(|r| r["status"] == 400), "{after:#?}");
    assert!(
        after
            .iter()
            .all(|r| !r["path"].as_str().unwrap().ends_with("/mute")),
        "{after:?}"
    );
}

#[tokio::test]
async fn a_meeting_ended_during_a_cue_is_learnt_from_the_feed_when_it_ends() {
    let started = std::time::Instant::now();
    let (output, requests) = rehearsal(&ended_midway()).rehearse().await;
    assert_the_rest_is_skipped(&output);
    // The feed's last word ends the wait for the cue at +70m at once: the run does
    // not sit out an hour for a meeting that is over, nor ask anything after it.
    assert!(
        output.stdout.contains("the meeting ended at 09:55:00"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("Unlock later: the meeting has ended (its push feed said so)"),
        "{}",
        output.stdout
    );
    assert!(
        !output.stdout.contains("cue     Unlock later"),
        "{}",
        output.stdout
    );
    let after: Vec<&Value> = requests.iter().filter(|r| seconds_in(r) >= 300.0).collect();
    assert!(after.is_empty(), "{after:#?}");
    assert_eq!(
        requests
            .iter()
            .filter(|r| r["path"].as_str().unwrap().ends_with("/wsToken"))
            .count(),
        1,
        "the feed is not opened again after the end: {requests:#?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_wait_ends_when_the_feed_says_the_meeting_has_ended() {
    let text = playbook(
        "",
        "steps:\n  - lock: {}\n  - wait: 2h\n  - unlock: {}\nrehearsal:\n  ends_at: +5m\n  auto_prolong: false\n  participants:\n    - { name: Alice Zhang, role: host }\n",
    );
    let (output, requests) = rehearsal(&text).rehearse().await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("the meeting ended at 09:55:00 during step 2 (wait)"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("skip    unlock: the meeting has ended"),
        "{}",
        output.stdout
    );
    assert!(
        requests.iter().all(|r| seconds_in(r) < 300.0),
        "{requests:#?}"
    );
}

#[tokio::test]
async fn the_runs_own_end_meeting_is_success_and_later_api_steps_are_skipped() {
    let text = playbook(
        "",
        "steps:\n  - lock: {}\n  - end_meeting: {}\n  - unlock: {}\n  - log: goodbye\n",
    );
    let (output, requests) = Run::playbook(&text).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("skip    unlock: the meeting has ended (this run's end_meeting)"),
        "{}",
        output.stdout
    );
    assert!(output.stdout.contains("goodbye"));
    assert_eq!(action_calls(&requests), ["lock", "stop"]);
}

#[tokio::test]
async fn a_meeting_cue_counts_from_when_the_meeting_started() {
    let text = playbook(
        "",
        &format!(
            "steps:\n  - name: Open\n    at: meeting+1m\n    lock: {{}}\n{}",
            scheduled(Some("100s"))
        ),
    );
    let (output, requests) = rehearsal(&text).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    // The meeting's start as the run counts it is its first token, at 105 s.
    let lock = requests
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/lock"))
        .expect("locked");
    let at = seconds_in(lock);
    assert!((165.0..165.5).contains(&at), "locked at {at} s");
}

/// The `meeting_started` event of the journal under `state`/runs named by `stem`.
fn meeting_started(state: &std::path::Path) -> Vec<Value> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(state.join("runs")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        found.extend(
            text.lines()
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .filter(|v| v["event"] == "meeting_started"),
        );
    }
    found
}

#[tokio::test]
async fn a_resumed_run_keeps_the_meeting_start_of_the_run_it_resumes() {
    let emu = Emu::start(TOWN_HALL).await;
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let text = playbook(
        "",
        "steps:\n  - lock: {}\n  - assert: { that: go }\n  - unlock: {}\n",
    );
    let first = Run::playbook(&text)
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("-e")
        .arg("go:=false")
        .against(&emu)
        .await;
    assert_eq!(first.code, 1, "{}", first.transcript());
    let resumed = Run::playbook(&text)
        .arg("--state-dir")
        .arg(&state_dir)
        .arg("--resume")
        .arg("last")
        .arg("-e")
        .arg("go:=true")
        .against(&emu)
        .await;
    assert_eq!(resumed.code, 0, "{}", resumed.transcript());
    assert!(
        resumed.stdout.contains("as the resumed run recorded"),
        "{}",
        resumed.stdout
    );
    let starts = meeting_started(state.path());
    assert_eq!(starts.len(), 2, "{starts:?}");
    assert_eq!(starts[0]["at"], starts[1]["at"], "{starts:?}");
}

#[tokio::test]
async fn check_refuses_a_two_second_poll_and_says_why() {
    let text = playbook("  start_poll: 2s\n", "steps:\n  - lock: {}\n");
    let output = Run::command(&["check", "playbook.yaml"])
        .file("playbook.yaml", &text)
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    let all = format!("{}{}", output.stdout, output.stderr);
    assert!(
        all.contains("start_poll 2s is too often: at least 5s"),
        "{all}"
    );
    assert!(all.contains("lock the meeting"), "{all}");
}

#[tokio::test]
async fn the_plan_shows_meeting_cues_against_the_assumed_or_given_start() {
    let text = playbook(
        "",
        "steps:\n  - name: Doors\n    at: +0s\n    unlock: {}\n  - name: Open\n    at: meeting+10m\n    lock: {}\n",
    );
    let assumed = Run::command(&["plan", "playbook.yaml", "--start", "2026-11-22T09:50"])
        .file("playbook.yaml", &text)
        .output()
        .await;
    assert_eq!(assumed.code, 0, "{}", assumed.transcript());
    let given = Run::command(&[
        "plan",
        "playbook.yaml",
        "--start",
        "2026-11-22T09:50",
        "--meeting-start",
        "+12m",
    ])
    .file("playbook.yaml", &text)
    .output()
    .await;
    assert_eq!(given.code, 0, "{}", given.transcript());
    insta::assert_snapshot!(format!("{}\n{}", assumed.stdout, given.stdout));
}

#[tokio::test]
async fn the_webinar_rehearses_the_real_morning() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (output, requests) = Run::command(&[
        "run",
        &format!("{root}/playbooks/webinar.yaml"),
        "--fast-forward",
        "--start",
        "2026-11-22T13:50",
    ])
    .env("EMCEE_DETERMINISTIC", "0")
    .env("EMCEE_PROGRESS", "never")
    .rehearse()
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("waiting for the meeting to start"),
        "{}",
        output.stdout
    );
    let start: jiff::Timestamp = "2026-11-22T13:50:00+01:00".parse().unwrap();
    let first_control = requests
        .iter()
        .find(|r| !is_token(r))
        .expect("a control call");
    let at: jiff::Timestamp = first_control["received"].as_str().unwrap().parse().unwrap();
    let after = at.duration_since(start).as_secs_f64();
    // The host joins at 4 minutes; the next ask (every 15 s) finds the meeting running.
    assert!(
        (240.0..255.1).contains(&after),
        "first control call {after} s in: {first_control}"
    );
    // Whoever waited is let in, and the first hand up (Attendee Two's, at 14:21; Three's
    // follows at 14:30) gets the floor.
    assert!(
        requests.iter().any(|r| r["path"]
            .as_str()
            .is_some_and(|p| p.ends_with("/allowWaitingParticipant"))),
        "{requests:#?}"
    );
    assert!(output.stdout.contains("Late Lee"), "{}", output.stdout);
    assert!(
        output.stdout.contains("roll call for Attendee Two"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn the_report_says_when_the_meeting_started_or_why_the_run_could_not_begin() {
    let emu = Emu::start(TOWN_HALL).await;
    let (output, dir) = Run::playbook(&playbook("", "steps:\n  - lock: {}\n"))
        .arg("--report")
        .arg("json=report.json")
        .against_keeping_dir(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let report = crate::support::read_json(dir.path().join("report.json"));
    assert!(report["meeting_started"].is_string(), "{report:#}");
    assert!(report.get("meeting_unavailable").is_none(), "{report:#}");

    let scheduled = Emu::start(&scheduled_town_hall()).await;
    let (output, dir) = Run::playbook(&playbook("  not_started: fail\n", "steps:\n  - lock: {}\n"))
        .arg("--report")
        .arg("json=report.json")
        .against_keeping_dir(&scheduled)
        .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    let report = crate::support::read_json(dir.path().join("report.json"));
    assert!(
        report["meeting_unavailable"]
            .as_str()
            .is_some_and(|e| e.contains("has not started")),
        "{report:#}"
    );
    assert!(report.get("meeting_started").is_none(), "{report:#}");
}
