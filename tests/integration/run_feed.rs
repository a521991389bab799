//! The runner on the meeting's push feed: steps that name someone resolve against the
//! live picture with no read, waits wake on the change itself, the feed's faults are
//! lived through (said once per episode, the final picture equal to the emulator's),
//! `events: required` stops the run when the feed cannot open, and `events: off`
//! never opens it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::*;

/// Alice hosts; Bob and Carol are in.
const PEOPLE: &str = "rehearsal:\n  participants:\n    - { name: Alice Zhang, role: host }\n    - { name: Bob Li }\n    - { name: Carol Wu }\n";

/// The harness emulator's meeting for the fault tests: nobody muted, no hand up, so
/// that each step of [`through_faults`] changes something and is pushed.
const QUIET: &str = "meetings:\n  - id: \"914044873\"\n    host_password: \"123456\"\n    participants:\n      - { name: Alice Zhang, role: host }\n      - { name: Bob Li }\n      - { name: Carol Wu }\n";

/// How many calls in a request log went to `last` (the path's last segment).
fn count(requests: &[Value], last: &str) -> usize {
    requests
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").rsplit('/').next() == Some(last))
        .count()
}

/// `n` steps muting and unmuting Bob Li by name, in turn.
fn naming_steps(n: usize) -> String {
    (0..n)
        .map(|i| {
            let action = if i % 2 == 0 { "mute" } else { "unmute" };
            format!("  - {action}: {{ name: Bob Li }}\n")
        })
        .collect()
}

#[tokio::test]
async fn fifty_steps_naming_someone_make_no_read_each_but_do_with_events_off() {
    let playbook = format!(
        "{}{PEOPLE}",
        playbook_with_steps("Named", &naming_steps(50))
    );
    let (output, requests) = Run::playbook(&playbook).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(count(&requests, "wsToken"), 1, "{requests:#?}");
    assert_eq!(count(&requests, "conn"), 1, "the feed's upgrade");
    assert!(count(&requests, "realTimeInfo") <= 1, "{requests:#?}");
    assert_eq!(count(&requests, "mute"), 50);
    // Nothing else: the token, the feed, the calls.
    let others = requests.len()
        - count(&requests, "token")
        - count(&requests, "wsToken")
        - count(&requests, "conn")
        - count(&requests, "realTimeInfo")
        - count(&requests, "mute");
    assert_eq!(others, 0, "{requests:#?}");

    let (output, requests) = Run::playbook(&playbook)
        .arg("--events")
        .arg("off")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        count(&requests, "realTimeInfo"),
        50,
        "a read before each step"
    );
    assert_eq!(count(&requests, "wsToken") + count(&requests, "conn"), 0);
}

#[tokio::test]
async fn events_off_in_the_playbook_never_opens_the_feed_and_the_flag_overrides_it() {
    let playbook = format!("{}{PEOPLE}", playbook_with_steps("Off", &naming_steps(2)))
        .replace("steps:\n", "  events: off\nsteps:\n");
    let (output, requests) = Run::playbook(&playbook).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(count(&requests, "wsToken"), 0, "{requests:#?}");
    assert_eq!(count(&requests, "conn"), 0);
    assert_eq!(count(&requests, "realTimeInfo"), 2);

    let (output, requests) = Run::playbook(&playbook)
        .arg("--events")
        .arg("auto")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        count(&requests, "wsToken"),
        1,
        "--events overrides the playbook"
    );
}

#[tokio::test]
async fn wait_for_a_hand_returns_on_the_raise_not_at_the_next_poll() {
    let steps = "  - wait_for: { hand_raised: true, poll: 10m, timeout: 1m }\n    register: seen\n  - assert: \"seen | selectattr('hand') | list | length == 1\"\n";
    let playbook = format!(
        "{}rehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n    - {{ name: Bob Li, raises_hand_after: 1s }}\n",
        playbook_with_steps("Hands", steps)
    );
    let started = Instant::now();
    let (output, requests) = Run::playbook(&playbook)
        .env("EMCEE_DETERMINISTIC", "0")
        .rehearse()
        .await;
    let took = started.elapsed();
    assert_eq!(output.code, 0, "{}", output.transcript());
    // Polling would have read once, then waited ten minutes (and timed out after one).
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert_eq!(count(&requests, "realTimeInfo"), 0, "{requests:#?}");
    // The wait's own account of its length: about the second before the raise.
    let line = output
        .stdout
        .lines()
        .find(|l| l.contains("a raised hand after"))
        .unwrap_or_else(|| panic!("{}", output.stdout));
    let shown = line
        .split("a raised hand after ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"));
    // `980ms` or `1.0s`.
    let waited: f64 = match shown.strip_suffix("ms") {
        Some(ms) => ms.parse::<f64>().map(|ms| ms / 1000.0),
        None => shown.trim_end_matches('s').parse(),
    }
    .unwrap_or_else(|_| panic!("{line}"));
    assert!((0.5..10.0).contains(&waited), "{line}");

    // With the feed off the same wait reads, and the raise is seen at a poll.
    let polled = playbook.replace("poll: 10m, timeout: 1m", "poll: 3s, timeout: 1m");
    let (output, requests) = Run::playbook(&polled)
        .arg("--events")
        .arg("off")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        count(&requests, "realTimeInfo"),
        2,
        "a read, and one a poll later"
    );
}

/// Right after the run's own change the picture is not trusted until the feed has
/// pushed since: a wait that starts then reads once, and from the push on looks at the
/// picture — it does not go on reading until a fixed moment has passed.
#[tokio::test]
async fn a_wait_right_after_the_runs_own_change_trusts_the_picture_from_the_next_push() {
    let steps = "  - lower_hand: { name: Bob Li }\n  - wait_for: { hand_raised: { name: Bob Li }, poll: 10m, timeout: 1m }\n";
    let playbook = format!(
        "{}rehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n    - {{ name: Bob Li, hand: raised, raises_hand_after: 1s }}\n",
        playbook_with_steps("Hands", steps)
    );
    let (output, requests) = Run::playbook(&playbook).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    // One look inside the distrust, before the lowering's push; none after it (reading
    // until the distrust ran out would have read again after the raise).
    assert!(count(&requests, "realTimeInfo") <= 1, "{requests:#?}");
}

/// A run against the harness emulator with `faults` set first: Bob is muted and
/// unmuted, Carol's hand raised, with pauses for the feed to come back, and the final
/// online list logged as JSON on a line of its own.
async fn through_faults(emu: &Emu, faults: Value, pause: &str) -> Output {
    emu.faults(json!({ "feed": faults })).await;
    let steps = format!(
        "  - mute: {{ name: Bob Li }}\n  - wait: {pause}\n  - unmute: {{ name: Bob Li }}\n  - wait: {pause}\n  - raise_hand: {{ name: Carol Wu }}\n  - wait: {pause}\n  - participants: {{}}\n    register: final\n  - log: \"FINAL {{{{ final | tojson }}}}\"\n"
    );
    Run::playbook(&playbook_with_steps("Faults", &steps))
        .against(emu)
        .await
}

/// The final list the run logged, against the emulator's own: the same people, hands
/// and microphones.
async fn final_list_matches(emu: &Emu, output: &Output) {
    let logged = output
        .stdout
        .lines()
        .find_map(|l| l.split_once("FINAL ").map(|(_, json)| json.to_owned()))
        .unwrap_or_else(|| panic!("{}", output.stdout));
    let logged: Vec<Value> = serde_json::from_str(&logged).expect("the list is JSON");
    let view = |pid: &str, name: &str, hand: bool, mute: bool| {
        (pid.to_owned(), name.to_owned(), hand, mute)
    };
    let mut seen: Vec<_> = logged
        .iter()
        .map(|p| {
            view(
                p["pid"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
                p["hand"].as_bool().unwrap(),
                p["mute"].as_bool().unwrap(),
            )
        })
        .collect();
    let state = emu.meeting(MEETING).await;
    let mut truth: Vec<_> = state["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            view(
                p["pid"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
                p["hand"] == json!(true) || p["hand"] == json!(1) || p["hand"] == "raised",
                p["mute"] == json!(true) || p["mute"] == json!(1),
            )
        })
        .collect();
    seen.sort();
    truth.sort();
    assert_eq!(seen, truth, "{state:#}");
    let carol = seen
        .iter()
        .find(|p| p.1 == "Carol Wu")
        .expect("Carol is in");
    assert!(carol.2, "Carol's hand is up: {seen:?}");
}

/// The lines saying the feed went down.
fn downs(output: &Output) -> usize {
    output
        .stdout
        .lines()
        .filter(|l| l.contains("the meeting's feed is down"))
        .count()
}

#[tokio::test]
async fn a_feed_that_drops_is_said_down_once_per_drop_and_the_run_goes_on() {
    let emu = Emu::start(QUIET).await;
    // Six snapshots and two changes, then the socket drops, on every connection.
    let output = through_faults(&emu, json!({"drop_after": 8}), "3s").await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let requests = emu.requests().await;
    let connections = count(&requests, "conn");
    let said = downs(&output);
    assert!(said >= 1, "{}", output.stdout);
    assert!(
        said == connections || said + 1 == connections,
        "{said} down for {connections} connections:\n{}",
        output.stdout
    );
    final_list_matches(&emu, &output).await;
}

#[tokio::test]
async fn a_lost_change_is_a_gap_the_feed_recovers_from() {
    let emu = Emu::start(QUIET).await;
    // Bob's unmuting is lost: a picture that did not see the gap would keep him muted.
    let output = through_faults(&emu, json!({"lose_nth": 2}), "3s").await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(downs(&output) <= 1, "{}", output.stdout);
    final_list_matches(&emu, &output).await;
    // The final list came from the picture, rebuilt after the gap, not from a read.
    let requests = emu.requests().await;
    assert_eq!(count(&requests, "realTimeInfo"), 0, "{requests:#?}");
    assert_eq!(
        count(&requests, "conn"),
        2,
        "a new connection after the gap"
    );
}

#[tokio::test]
async fn a_feed_dropped_by_the_admin_api_is_said_down_then_back() {
    let emu = Emu::start(TOWN_HALL).await;
    let steps = "  - mute: { name: Bob Li }\n  - wait: 4s\n  - raise_hand: { name: Carol Wu }\n  - wait: 3s\n  - participants: {}\n    register: final\n  - log: \"FINAL {{ final | tojson }}\"\n";
    let run = tokio::spawn(
        Run::playbook(&playbook_with_steps("Dropped", steps)).against_url(emu.handle.base_url()),
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dropped = emu.admin("POST", "/_sim/feed/drop", None).await;
    assert_eq!(dropped.status, 204, "{dropped:?}");
    let output = run.await.expect("the run ends");
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(downs(&output), 1, "{}", output.stdout);
    // Said as it happened: during the wait, not after it.
    let at = |text: &str| output.stdout.find(text).unwrap_or(usize::MAX);
    assert!(
        at("the meeting's feed is down") < at("ok      [2/"),
        "{}",
        output.stdout
    );
    assert_eq!(
        output
            .stdout
            .lines()
            .filter(|l| l.contains("the meeting's feed is back"))
            .count(),
        1,
        "{}",
        output.stdout
    );
    final_list_matches(&emu, &output).await;
}

#[tokio::test]
async fn required_stops_with_exit_3_when_the_feed_cannot_open_and_auto_reads_instead() {
    let emu = Emu::start(TOWN_HALL).await;
    // Every connection drops before its first push.
    emu.faults(json!({"feed": {"drop_after": 1}})).await;
    let steps = "  - mute: { name: Bob Li }\n";
    let required =
        playbook_with_steps("Required", steps).replace("steps:\n", "  events: required\nsteps:\n");
    let (output, dir) = Run::playbook(&required)
        .arg("--report")
        .arg("json=report.json")
        .against_keeping_dir(&emu)
        .await;
    assert_eq!(output.code, 3, "{}", output.transcript());
    assert!(
        output.stdout.contains("push feed cannot be opened")
            && output.stdout.contains("events: required"),
        "{}",
        output.stdout
    );
    let report = read_json(dir.path().join("report.json"));
    assert!(
        report["meeting_unavailable"]
            .as_str()
            .unwrap_or("")
            .contains("push feed"),
        "{report:#}"
    );
    let requests = emu.requests().await;
    assert_eq!(count(&requests, "mute"), 0, "no step ran");

    // The same feed under auto: said down once, and the step reads and runs.
    let output = Run::playbook(&playbook_with_steps("Auto", steps))
        .arg("--report")
        .arg("json=report.json")
        .against_keeping_dir(&emu)
        .await;
    let (output, dir) = output;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(downs(&output), 1, "{}", output.stdout);
    let report = read_json(dir.path().join("report.json"));
    assert_eq!(report["feed"][0]["feed"], "down", "{report:#}");
    assert!(report["feed"][0]["why"].is_string(), "{report:#}");
    let requests = emu.requests().await;
    assert_eq!(count(&requests, "mute"), 1);
    // Journaled, and rebuilt from the journal.
    let rebuilt = Run::command(&["report", "last"])
        .env(
            "EMCEE_STATE_DIR",
            &dir.path().join("state").display().to_string(),
        )
        .output()
        .await;
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.transcript());
    let rebuilt: Value = serde_json::from_str(&rebuilt.stdout).expect("a JSON report");
    assert_eq!(rebuilt["feed"], report["feed"], "{rebuilt:#}");
}

#[tokio::test]
async fn participants_lists_raised_hands_in_the_order_they_went_up() {
    // Bob's hand is up from the start; Dave raises his before Carol, though the list
    // has Carol first. The first step opens the feed before either raise.
    let steps = "  - lock: {}\n  - wait: 3s\n  - participants: { hand: true }\n    register: raised\n  - log: \"HANDS {{ raised | map(attribute='name') | join(',') }} {{ raised | map(attribute='order_known') | join(',') }}\"\n";
    let playbook = format!(
        "{}rehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n    - {{ name: Bob Li, hand: raised }}\n    - {{ name: Carol Wu, raises_hand_after: 2s }}\n    - {{ name: Dave Ma, raises_hand_after: 1s }}\n",
        playbook_with_steps("Hands", steps)
    );
    let (output, _) = Run::playbook(&playbook).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("HANDS Bob Li,Dave Ma,Carol Wu False,True,True"),
        "{}",
        output.stdout
    );
    // Read without the feed, the list's order, none known.
    let (output, _) = Run::playbook(&playbook)
        .arg("--events")
        .arg("off")
        .rehearse()
        .await;
    assert!(
        output
            .stdout
            .contains("HANDS Bob Li,Carol Wu,Dave Ma False,False,False"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn a_meeting_the_feed_shows_ended_ends_a_wait_on_it_at_once() {
    let emu = Emu::start(TOWN_HALL).await;
    let steps = "  - lower_all_hands: {}\n  - wait_for: { hand_raised: true, poll: 10m, timeout: 5m }\n  - lock: {}\n";
    let run = tokio::spawn(
        Run::playbook(&playbook_with_steps("Ended", steps)).against_url(emu.handle.base_url()),
    );
    // Until lower_all_hands has read its result back: the wait is next. (A fixed pause
    // from the start lost the race on a loaded machine, ending the meeting mid-step.)
    let read_back = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let requests = emu.requests().await;
            let batch = requests.iter().position(|r| {
                r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("/batch/hands"))
            });
            if batch.is_some_and(|at| {
                requests[at..].iter().any(|r| {
                    r["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with("/realTimeInfo"))
                })
            }) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    read_back
        .await
        .expect("lower_all_hands read its result back");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ended = emu
        .admin("POST", &format!("/_sim/meetings/{MEETING}/end"), None)
        .await;
    assert!(ended.status < 300, "{ended:?}");
    let output = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the wait ends with the meeting, not at its timeout")
        .expect("the run ends");
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("the meeting has ended (its push feed said so)"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("skip    lock: the meeting has ended"),
        "{}",
        output.stdout
    );
    let requests = emu.requests().await;
    assert_eq!(count(&requests, "lock"), 0);
}

#[tokio::test]
async fn an_invitations_wait_looks_at_the_feeds_changes_instead_of_reading_every_two_seconds() {
    let steps =
        "  - invite: { name: Eve Sun, phone: \"+8613800000009\", wait: answered, timeout: 1m }\n";
    let playbook = format!(
        "{}rehearsal:\n  participants:\n    - {{ name: Alice Zhang, role: host }}\n  invitees:\n    \"+8613800000009\": {{ outcome: answers, after: 7s }}\n",
        playbook_with_steps("Invite", steps)
    );
    let (output, requests) = Run::playbook(&playbook).rehearse().await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("Eve Sun answered after"),
        "{}",
        output.stdout
    );
    // One read while the feed may not show the invitation yet, then its changes.
    assert!(count(&requests, "realTimeInfo") <= 2, "{requests:#?}");

    let (output, requests) = Run::playbook(&playbook)
        .arg("--events")
        .arg("off")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(count(&requests, "realTimeInfo") >= 4, "{requests:#?}");
}

/// When the emulator received `request`.
fn received(request: &Value) -> jiff::Timestamp {
    request["received"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_fast_forwarded_rehearsal_uses_the_feed_through_long_waits() {
    let steps = "  - mute: { name: Bob Li }\n  - wait: 10m\n  - wait_for: { hand_raised: Carol Wu, poll: 1m }\n  - unmute: { name: Bob Li }\n";
    let playbook = format!("{}{PEOPLE}", playbook_with_steps("Virtual", steps))
        .replace("steps:\n", "  events: required\nsteps:\n")
        .replace(
            "{ name: Carol Wu }",
            "{ name: Carol Wu, raises_hand_after: 13m 7s }",
        );
    let (output, requests) = Run::playbook(&playbook)
        .arg("--fast-forward")
        // Instants and durations as they are, not placeholders.
        .env("EMCEE_DETERMINISTIC", "0")
        .rehearse()
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    // The feed, opened once and kept through ten virtual minutes by its heartbeats (the
    // emulator closes a feed after three minutes without one): never said to be down.
    assert_eq!(count(&requests, "wsToken"), 1, "{requests:#?}");
    assert_eq!(count(&requests, "conn"), 1);
    assert!(
        !output.stdout.contains("the meeting's feed is down"),
        "{}",
        output.stdout
    );
    // No read before a step that names someone, nor while waiting for the hand.
    assert_eq!(count(&requests, "realTimeInfo"), 0, "{requests:#?}");
    // The wait returns at the raise's own instant (13m7s), not at a poll (14m).
    assert!(
        output
            .stdout
            .contains("wait_for: Carol Wu to raise a hand after 3m 7s"),
        "{}",
        output.stdout
    );
    let mutes: Vec<&Value> = requests
        .iter()
        .filter(|r| r["path"].as_str().unwrap_or("").ends_with("/mute"))
        .collect();
    assert_eq!(mutes.len(), 2, "{requests:#?}");
    assert_eq!(
        received(mutes[1]).duration_since(received(mutes[0])),
        jiff::SignedDuration::from_secs(13 * 60 + 7)
    );
}

#[tokio::test]
async fn a_name_the_picture_does_not_know_yet_gets_one_read_before_the_step_fails() {
    let emu = Emu::start(QUIET).await;
    // The rename's push is lost: the picture still knows Bob Li by his old name.
    emu.faults(json!({"feed": {"lose_nth": 1}})).await;
    let steps = "  - rename: { who: Bob Li, to: Robert Li }\n  - mute: { name: Robert Li }\n  - mute: { name: Nobody Here }\n";
    let output = Run::playbook(&playbook_with_steps("Renamed", steps))
        .against(&emu)
        .await;
    assert_eq!(output.code, 1, "{}", output.transcript());
    assert!(
        output
            .stdout
            .contains("ok      [2/3] mute: muted Robert Li"),
        "{}",
        output.stdout
    );
    assert!(
        output
            .stdout
            .contains("no participant matches `name Nobody Here`"),
        "{}",
        output.stdout
    );
    let requests = emu.requests().await;
    assert_eq!(
        count(&requests, "realTimeInfo"),
        2,
        "one read for each unknown name"
    );
    assert_eq!(count(&requests, "mute"), 1);
}
