//! The run's clock: the whole-run deadline (`deadline:`, `--deadline`), rehearsals that
//! start at a chosen instant (`run --sim --start`), and fast-forwarded rehearsals that
//! poll for a long virtual time without waiting on the real clock.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::support::*;

/// Far longer than any of these runs takes when it works; only a hang reaches it.
const WATCHDOG: Duration = Duration::from_secs(60);

const HEAD: &str = "name: Clock\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\ntimezone: Asia/Shanghai\n";

/// A rehearsal of `body` with `args`; its output and the emulator's request log.
async fn rehearse(body: &str, args: &[&str]) -> (Output, Vec<Value>) {
    let mut run = Run::playbook(&format!("{HEAD}{body}"))
        // The timeline itself is under test: real instants, not placeholders.
        .env("EMCEE_DETERMINISTIC", "0")
        .arg("--sim")
        .arg("--sim-requests")
        .arg("requests.json");
    for arg in args {
        run = run.arg(arg);
    }
    let (output, requests) = tokio::time::timeout(WATCHDOG, run.output_keeping_dir())
        .await
        .expect("the run ends");
    (output, serde_json::from_str(&requests).unwrap_or_default())
}

fn received(request: &Value) -> Timestamp {
    request["received"].as_str().unwrap().parse().unwrap()
}

/// When the last call to `tail` arrived, after the first call of the run.
fn last_call_after_start(requests: &[Value], tail: &str) -> SignedDuration {
    let start = received(&requests[0]);
    let last = requests
        .iter()
        .rev()
        .find(|r| r["path"].as_str().unwrap().ends_with(tail))
        .unwrap_or_else(|| panic!("no call to {tail}"));
    received(last).duration_since(start)
}

#[tokio::test]
async fn past_the_deadline_the_step_stops_and_always_steps_run() {
    let (output, requests) = rehearse(
        "deadline: +10m\nsteps:\n  - name: Show\n    steps:\n      - lock: {}\n      - wait: 1h\n      - start_recording: {}\n    always:\n      - unlock: {}\n  - name: Never\n    mute_all: {}\n",
        &["--fast-forward"],
    )
    .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("deadline +10m passed"),
        "{}",
        output.transcript()
    );
    assert_eq!(
        action_calls(&requests),
        ["lock", "lock"],
        "lock, then unlock"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r["method"] == "PUT" && r["path"].as_str().unwrap().ends_with("/lock"))
            .map(|r| r["body"]["isLock"].clone())
            .collect::<Vec<_>>()
            .len(),
        2
    );
    let stopped = last_call_after_start(&requests, "/lock");
    assert!(
        stopped >= SignedDuration::from_mins(10) && stopped < SignedDuration::from_mins(11),
        "the wait stopped at the deadline, not after the hour: {stopped}"
    );
}

#[tokio::test]
async fn the_command_line_deadline_wins_and_a_later_cue_is_not_waited_for() {
    let (output, requests) = rehearse(
        "deadline: +3h\nsteps:\n  - lock: {}\n  - at: +2h\n    unlock: {}\n",
        &["--fast-forward", "--deadline", "+30m"],
    )
    .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("deadline +30m passed"),
        "{}",
        output.transcript()
    );
    assert_eq!(action_calls(&requests), ["lock"], "the 2h cue never came");
    let last = received(requests.last().unwrap()).duration_since(received(&requests[0]));
    assert!(last < SignedDuration::from_mins(31), "{last}");
}

#[tokio::test]
async fn a_deadline_stops_a_real_time_wait() {
    let (output, requests) = rehearse(
        "steps:\n  - lock: {}\n  - wait: 1h\n  - unlock: {}\n",
        &["--deadline", "+1s"],
    )
    .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("deadline +1s passed"),
        "{}",
        output.transcript()
    );
    assert_eq!(action_calls(&requests), ["lock"]);
}

#[tokio::test]
async fn a_bad_deadline_is_refused_where_it_is_written() {
    let output = Run::playbook(&format!("{HEAD}steps:\n  - lock: {{}}\n",))
        .arg("--sim")
        .arg("--deadline")
        .arg("soon")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("--deadline soon"),
        "{}",
        output.transcript()
    );

    let without_zone = "name: Clock\nmeeting:\n  id: \"914044873\"\n  host_password: x\ndeadline: \"10:30\"\nsteps:\n  - at: +1h\n    lock: {}\n";
    let output = Run::command(&["check", "playbook.yaml"])
        .file("playbook.yaml", without_zone)
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("playbook.yaml:5:")
            && output
                .stderr
                .contains("deadline 10:30:00 is a wall-clock time"),
        "{}",
        output.transcript()
    );

    let cue_after = format!("{HEAD}deadline: +1h\nsteps:\n  - at: +2h\n    lock: {{}}\n");
    let output = Run::command(&["check", "playbook.yaml"])
        .file("playbook.yaml", &cue_after)
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("playbook.yaml:8:")
            && output.stderr.contains("not before the deadline +1h"),
        "{}",
        output.transcript()
    );

    let malformed = format!("{HEAD}deadline: whenever\nsteps:\n  - lock: {{}}\n");
    let output = Run::command(&["check", "playbook.yaml"])
        .file("playbook.yaml", &malformed)
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("playbook.yaml:6:") && output.stderr.contains("whenever"),
        "{}",
        output.transcript()
    );
}

#[tokio::test]
async fn plan_shows_the_deadline_and_the_steps_past_it() {
    let output = Run::command(&[
        "plan",
        "playbook.yaml",
        "--start",
        "2026-11-22T09:00:00+08:00",
    ])
    .file(
        "playbook.yaml",
        &format!(
            "{HEAD}deadline: \"10:00\"\nsteps:\n  - lock: {{}}\n  - wait: 2h\n  - unlock: {{}}\n"
        ),
    )
    .output()
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("deadline: 10:00:00 at 10:00:00 (+1:00:00 after start)"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("step 3 unlock is planned at or after the deadline"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn a_rehearsal_can_start_at_a_chosen_instant() {
    let body = "steps:\n  - at: \"10:00\"\n    late: fail\n    lock: {}\n";
    let (output, requests) = rehearse(
        body,
        &["--fast-forward", "--start", "2026-11-22T09:50:00+08:00"],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let lock = requests
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/lock"))
        .unwrap();
    assert_eq!(
        received(lock),
        "2026-11-22T10:00:00+08:00".parse::<Timestamp>().unwrap(),
        "the virtual clock started at --start"
    );
    assert_eq!(
        received(&requests[0]),
        "2026-11-22T09:50:00+08:00".parse::<Timestamp>().unwrap()
    );

    // Without --fast-forward the clock is set to --start and runs in real time.
    let (output, requests) = rehearse(body, &["--start", "2026-11-22T09:59:59.5+08:00"]).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let lock = requests
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("/lock"))
        .unwrap();
    assert!(
        lock["received"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-22T02:00:0"),
        "{lock}"
    );

    // Only a rehearsal can pretend to start at another time.
    let output = Run::playbook(&format!("{HEAD}{body}"))
        .arg("--start")
        .arg("09:50")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(output.stderr.contains("--sim"), "{}", output.transcript());
}

#[tokio::test]
async fn a_rehearsal_polling_for_twenty_five_virtual_minutes_never_waits_on_the_real_clock() {
    // 300 polls, far more than the client-side rate limit lets through in a real minute.
    let (output, requests) = rehearse(
        "steps:\n  - wait_for: { joined: Late Larry, poll: 5s, timeout: 1h }\n  - lock: {}\nrehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Late Larry, joins_after: 25m }\n",
        // Polling is the path without the feed.
        &["--fast-forward", "--events", "off"],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(action_calls(&requests), ["lock"]);
    let polls = requests.iter().filter(|r| r["method"] == "GET").count();
    assert!(polls >= 300, "it polled all along: {polls}");
}

#[tokio::test]
async fn a_rehearsal_waiting_on_the_feed_for_twenty_five_virtual_minutes_sees_the_arrival_at_once()
{
    let started = std::time::Instant::now();
    let (output, requests) = rehearse(
        "steps:\n  - wait_for: { joined: Late Larry, poll: 5s, timeout: 1h }\n  - lock: {}\nrehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Late Larry, joins_after: 25m 3s }\n",
        &["--fast-forward"],
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(action_calls(&requests), ["lock"]);
    // Woken by Larry's arrival itself: no poll, and the lock at his instant.
    let reads = requests
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/realTimeInfo"))
        .count();
    assert_eq!(reads, 0, "{requests:#?}");
    let lock = requests.last().unwrap();
    assert_eq!(
        received(lock).duration_since(received(&requests[0])),
        SignedDuration::from_secs(25 * 60 + 3)
    );
}

/// A rehearsal meeting of a host and `guests` guests.
fn crowd(guests: usize) -> String {
    let mut text =
        String::from("rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n");
    for i in 0..guests {
        text.push_str(&format!("    - {{ name: Guest {i} }}\n"));
    }
    text
}

#[tokio::test]
async fn a_fan_out_under_the_rate_limit_gets_the_time_its_calls_take() {
    // 63 calls at 60 a minute: the burst of 60 goes at once, the last three take a
    // second each, well past the default limit of a second.
    let body = format!(
        "defaults:\n  timeout: 1s\n  rate_limit: 60\nsteps:\n  - mute: {{ role: guest, all: true }}\n{}",
        crowd(63)
    );
    let (output, requests) = rehearse(&body, &[]).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("muted 63 participants"),
        "{}",
        output.stdout
    );
    assert_eq!(action_calls(&requests).len(), 63);

    // A step's own `timeout` is what its author chose: it is kept.
    let body = format!(
        "defaults:\n  rate_limit: 60\nsteps:\n  - mute: {{ role: guest, all: true }}\n    timeout: 1s\n{}",
        crowd(63)
    );
    let (output, _) = rehearse(&body, &[]).await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output.stdout.contains("timed out after 1s"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn plan_estimates_a_fan_out_from_the_rehearsal_and_warns_of_a_short_timeout() {
    let playbook = format!(
        "{HEAD}steps:\n  - mute: {{ role: guest, all: true }}\n    timeout: 30s\n  - lock: {{}}\n{}",
        crowd(300)
    );
    let output = Run::command(&[
        "plan",
        "playbook.yaml",
        "--sim",
        "--start",
        "2026-11-22T10:00:00+08:00",
    ])
    .file("playbook.yaml", &playbook)
    .output()
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    // 300 calls at 90 a minute.
    assert!(
        output.stdout.contains("role guest, all (≈ 3m 20s)"),
        "{}",
        output.stdout
    );
    assert!(
        output.stdout.contains("10:03:20  +0:03:20     2 lock"),
        "the next step comes after the fan-out: {}",
        output.stdout
    );
    assert!(
        output.stdout.contains(
            "step 1: its timeout 30s is shorter than the 3m 20s its 300 calls take at 90 a minute"
        ),
        "{}",
        output.stdout
    );
    // `check` warns of the same from the rehearsal's list, and passes the playbook.
    let output = Run::command(&["check", "playbook.yaml"])
        .file("playbook.yaml", &playbook)
        .output()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stderr.contains(
            "warning: playbook.yaml:8:14: timeout 30s is shorter than the 3m 20s its 300 calls"
        ),
        "{}",
        output.transcript()
    );
}

/// One rehearsal's every output: stdout, the request log and both reports.
async fn outputs(body: &str, args: &[&str]) -> Vec<(String, String)> {
    let mut run = Run::playbook(&format!("{HEAD}{body}"))
        .arg("--sim")
        .arg("--sim-requests")
        .arg("requests.json")
        .arg("--report")
        .arg("json=report.json")
        .arg("--report")
        .arg("junit=report.xml");
    for arg in args {
        run = run.arg(arg);
    }
    let (output, dir) = tokio::time::timeout(WATCHDOG, run.output_with_dir())
        .await
        .expect("the run ends");
    assert_eq!(output.code, 0, "{}", output.transcript());
    let mut all = vec![("stdout".to_owned(), output.stdout)];
    for file in ["requests.json", "report.json", "report.xml"] {
        let text = std::fs::read_to_string(dir.path().join(file)).unwrap();
        all.push((file.to_owned(), text));
    }
    all
}

#[tokio::test]
async fn deterministic_rehearsals_print_the_same_bytes() {
    // Cues, waits (short, for the runs in real time), a block with `always`, a fan-out,
    // and polls far enough apart from an arrival that real time cannot reorder them.
    let body = "steps:\n  - start_recording: {}\n  - at: +300ms\n    name: Cue\n    log: on cue\n  - wait: 200ms\n  - name: Block\n    steps:\n      - mute: { role: guest, all: true }\n      - wait_for: { count: \">= 3\", poll: 1s, timeout: 10s }\n    always:\n      - stop_recording: {}\nrehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li }\n    - { name: Carol Wu, joins_after: 1s }\n";
    for time in [&[][..], &["--fast-forward"][..]] {
        for format in [&[][..], &["--log-format", "json"][..]] {
            let args: Vec<&str> = time.iter().chain(format).copied().collect();
            let first = outputs(body, &args).await;
            let second = outputs(body, &args).await;
            for ((what, one), (_, two)) in first.iter().zip(&second) {
                assert_eq!(one, two, "{what} with {args:?} differs between two runs");
            }
        }
    }
}

#[tokio::test]
async fn a_relative_deadline_counts_from_the_first_start_when_resumed() {
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_owned();
    let playbook = format!(
        "{HEAD}vars:\n  go: false\nsteps:\n  - wait: 1s\n  - assert: go\n  - wait: 1500ms\n  - log: finished\n"
    );
    let run = |extra: &[&str]| {
        let mut run = Run::playbook(&playbook)
            .arg("--sim")
            .arg("--deadline")
            .arg("+2s")
            .arg("--state-dir")
            .arg(&state_dir);
        for arg in extra {
            run = run.arg(arg);
        }
        run
    };
    let first = tokio::time::timeout(WATCHDOG, run(&[]).output())
        .await
        .expect("the run ends");
    assert_eq!(first.code, 1, "{}", first.transcript());
    assert!(!first.stdout.contains("deadline"), "{}", first.transcript());
    // Resumed, 1.5 s more would end before a deadline counted from the resume; counted
    // from the first start, it passes on the way.
    let resumed = tokio::time::timeout(
        WATCHDOG,
        run(&["--resume", "last", "-e", "go=true"]).output(),
    )
    .await
    .expect("the run ends");
    assert_eq!(resumed.code, 1, "{}", resumed.transcript());
    assert!(
        resumed.stdout.contains("deadline +2s passed") && !resumed.stdout.contains("finished"),
        "{}",
        resumed.transcript()
    );
}
