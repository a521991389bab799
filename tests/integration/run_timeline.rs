//! The timeline: cues, waits and rehearsal arrivals on virtual time
//! (`--sim --fast-forward`), checked against the emulator's request log — which call
//! arrived at which virtual instant — and the cue reports.

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::support::*;

const HEAD: &str = "name: Timeline\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\ntimezone: Asia/Shanghai\n";

/// Runs a playbook with --sim --fast-forward; the request log and JSON events come back.
async fn rehearse(body: &str) -> (Output, Vec<Value>, Vec<Value>) {
    rehearse_with(body, &[]).await
}

/// [`rehearse`] with more arguments (`--events off`).
async fn rehearse_with(body: &str, args: &[&str]) -> (Output, Vec<Value>, Vec<Value>) {
    let mut run = Run::playbook(&format!("{HEAD}{body}"));
    for arg in args {
        run = run.arg(arg);
    }
    let output = run
        // The timeline itself is under test: real instants, not placeholders.
        .env("EMCEE_DETERMINISTIC", "0")
        .arg("--sim")
        .arg("--fast-forward")
        .arg("--sim-requests")
        .arg("requests.json")
        .arg("--log-format")
        .arg("json")
        .output_keeping_dir()
        .await;
    let requests: Vec<Value> = serde_json::from_str(&output.1).unwrap_or_default();
    let events: Vec<Value> = output
        .0
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (output.0, requests, events)
}

fn received(request: &Value) -> Timestamp {
    request["received"].as_str().unwrap().parse().unwrap()
}

/// Minutes after the first call (the login) that each call to `tail` arrived.
fn minutes_of(requests: &[Value], tail: &str) -> Vec<f64> {
    let Some(first) = requests.first() else {
        return Vec::new();
    };
    let start = received(first);
    requests
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with(tail))
        .map(|r| received(r).duration_since(start).as_secs_f64() / 60.0)
        .collect()
}

#[tokio::test]
async fn a_ninety_minute_playbook_rehearses_in_well_under_a_second() {
    let started = std::time::Instant::now();
    let (output, requests, events) = rehearse(
        "steps:\n  - start_recording: {}\n  - name: Keynote\n    at: +15m\n    broadcast: Alice Zhang\n  - wait: 30m\n  - name: Panel\n    at: +60m\n    broadcast: Bob Li\n  - name: Close\n    at: +90m\n    stop_recording: {}\nrehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li, joins_after: 50m }\n",
    )
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(minutes_of(&requests, "/record"), [0.0, 90.0]);
    let broadcasts = minutes_of(&requests, "/participants/broadcast");
    assert_eq!(broadcasts, [15.0, 60.0]);
    let cues: Vec<&Value> = events.iter().filter(|e| e["event"] == "cue").collect();
    assert_eq!(cues.len(), 3);
    assert!(
        cues.iter()
            .all(|c| c["status"] == "on_time" && c["late_ms"] == 0),
        "{cues:?}"
    );
    let summary = &events
        .iter()
        .find(|e| e["event"] == "run_finished")
        .unwrap()["summary"];
    assert_eq!(summary["cues"].as_array().unwrap().len(), 3);
    assert!(
        summary["token_renewals"].as_u64().unwrap() >= 3,
        "a 90-minute run keeps its 30-minute token alive"
    );
}

#[tokio::test]
async fn late_cues_run_skip_or_fail_as_told() {
    for (late, code, status, recorded) in [
        ("run", 0, "late", true),
        ("skip", 0, "skipped", false),
        ("fail", 1, "missed", false),
    ] {
        let (output, requests, events) = rehearse(&format!(
            "steps:\n  - wait: 10m\n  - name: Keynote\n    at: +5m\n    late: {late}\n    start_recording: {{}}\n"
        ))
        .await;
        assert_eq!(output.code, code, "{late}: {}", output.transcript());
        let cue = events.iter().find(|e| e["event"] == "cue").unwrap();
        assert_eq!(cue["status"], status, "{late}");
        assert_eq!(cue["late_ms"], 5 * 60 * 1000, "{late}");
        assert_eq!(
            minutes_of(&requests, "/record").len(),
            usize::from(recorded),
            "{late}"
        );
    }
    // Within the grace, a cue reached late is on time.
    let (output, _, events) =
        rehearse("steps:\n  - wait: 5m 20s\n  - at: +5m\n    late: fail\n    lock: {}\n").await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        events.iter().find(|e| e["event"] == "cue").unwrap()["status"],
        "on_time"
    );
}

/// Waits for arrivals, a raised hand and a headcount; the rehearsal's cast scripts them.
const ARRIVALS: &str = "steps:\n  - wait_for: { joined: Late Larry, poll: 1m }\n  - wait_for: { hand_raised: true, poll: 30s }\n  - wait_for: { count: \">= 3\", poll: 1m, timeout: 30m }\n  - wait_for: { condition: \"participants | selectattr('video') | list | length >= 1\" }\n  - lower_all_hands: {}\nrehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Late Larry, joins_after: 7m, raises_hand_after: 9m 15s, video: true }\n    - { name: Carol Wu, joins_after: 12m }\n";

/// The details of the steps that finished, in order.
fn finished(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["event"] == "step_finished")
        .map(|e| e["detail"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn wait_for_sees_arrivals_at_their_virtual_instants() {
    let (output, requests, events) = rehearse(ARRIVALS).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let finished = finished(&events);
    // The waits wake on the feed's pushes: each returns at the scripted instant itself,
    // not at the next poll — the hand at 9m15s, Carol at 12m.
    assert_eq!(finished[0], "Late Larry to join after 7m 0s");
    assert_eq!(finished[1], "a raised hand after 2m 15s");
    assert_eq!(finished[2], "a headcount >= 3 after 2m 45s");
    assert_eq!(minutes_of(&requests, "/batch/hands"), [12.0]);
    assert_eq!(minutes_of(&requests, "/wsToken"), [0.0], "one connection");
    // Nothing read while waiting: the only read is lower_all_hands checking its work.
    assert_eq!(minutes_of(&requests, "/realTimeInfo"), [12.0]);
}

#[tokio::test]
async fn wait_for_without_the_feed_sees_arrivals_at_the_next_poll() {
    let (output, requests, events) = rehearse_with(ARRIVALS, &["--events", "off"]).await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let finished = finished(&events);
    assert_eq!(finished[0], "Late Larry to join after 7m 0s");
    // Polled every 30s from 7m: the hand raised at 9m15s is seen at 9m30s.
    assert_eq!(finished[1], "a raised hand after 2m 30s");
    assert_eq!(finished[2], "a headcount >= 3 after 3m 0s");
    // The headcount is read once a minute from 9m30s, so Carol (12m) is seen at 12m30s.
    assert_eq!(minutes_of(&requests, "/batch/hands"), [12.5]);
    assert!(minutes_of(&requests, "/wsToken").is_empty());
}

#[tokio::test]
async fn wait_for_times_out_with_what_it_saw_last() {
    for (events, reads) in [
        // Woken by the feed, never by a poll: nothing is read while it waits.
        ("auto", &[][..]),
        ("off", &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0][..]),
    ] {
        let (output, requests, _) = rehearse_with(
            "steps:\n  - wait_for: { joined: Nobody Coming, poll: 1m, timeout: 5m }\n    on_error: continue\n  - log: carried on\nrehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n",
            &["--events", events],
        )
        .await;
        assert_eq!(
            output.code,
            0,
            "on_error: continue accepts the failure: {}",
            output.transcript()
        );
        assert!(
            output.stdout.contains(
                "waited 5m for Nobody Coming to join; online: Alice Zhang (host) (1 online)"
            ),
            "{events}: {}",
            output.stdout
        );
        assert!(output.stdout.contains("carried on"), "{}", output.stdout);
        assert_eq!(minutes_of(&requests, "/realTimeInfo"), reads, "{events}");
        let sockets = usize::from(events == "auto");
        assert_eq!(minutes_of(&requests, "/wsToken").len(), sockets, "{events}");
    }
}

#[tokio::test]
async fn wall_clock_cues_in_the_past_follow_late() {
    // 00:00 today has passed whenever this runs (except at midnight, where it is on time).
    let (output, _, events) =
        rehearse("steps:\n  - at: \"00:00\"\n    late: skip\n    grace: 1s\n    lock: {}\n").await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let cue = events.iter().find(|e| e["event"] == "cue").unwrap();
    assert!(
        cue["planned"].as_str().unwrap().ends_with("+08:00"),
        "shown in the playbook's zone: {cue}"
    );
    assert!(
        ["skipped", "on_time"].contains(&cue["status"].as_str().unwrap()),
        "{cue}"
    );
}

#[tokio::test]
async fn fast_forward_needs_sim() {
    let output = Run::playbook(&format!("{HEAD}steps:\n  - lock: {{}}\n"))
        .arg("--fast-forward")
        .output()
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output
            .stderr
            .contains("the following required arguments were not provided:\n  --sim"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn a_real_clock_cue_fires_on_time() {
    let (planned_in, tolerance) = (
        SignedDuration::from_millis(1500),
        SignedDuration::from_millis(250),
    );
    let output = Run::playbook(&format!(
        "{HEAD}steps:\n  - at: +1500ms\n    lock: {{}}\nrehearsal:\n  participants: []\n"
    ))
    .arg("--sim")
    .arg("--log-format")
    .arg("json")
    .output()
    .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let events: Vec<Value> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(events.last().unwrap()["event"], "rehearsal_finished");
    let cue = events.iter().find(|e| e["event"] == "cue").unwrap();
    let planned: Timestamp = cue["planned"].as_str().unwrap().parse().unwrap();
    let actual: Timestamp = cue["actual"].as_str().unwrap().parse().unwrap();
    assert!(actual >= planned, "{cue}");
    assert!(actual.duration_since(planned) < tolerance, "{cue}");
    let _ = planned_in;
}
