//! `emcee status --watch`: the meeting followed from its push feed when it opens (drawn
//! on each change, with what the feed tells beyond the REST read), looked at over REST
//! every interval when it cannot open or while it is down, said once. Every read of a
//! child's output has a timeout.

use std::time::Duration;

use serde_json::Value;

use crate::status_command::{LINEUP, paths, read_only, token_answers};
use crate::support::*;

/// The socket token is refused: the feed cannot be opened.
async fn no_feed(emu: &Emu) {
    emu.faults(serde_json::json!({"rules": [{
        "path": format!("{CONTROL}/wsToken"),
        "error": {"status": 400, "code": "MMC.111070005", "msg": "NO_FEED"},
    }]}))
    .await;
}

#[tokio::test]
async fn watch_looks_again_until_its_count_when_the_feed_cannot_open() {
    let emu = Emu::start(LINEUP).await;
    no_feed(&emu).await;
    let output = Run::command(&["status", "--meeting", MEETING, "--watch", "2s"])
        .arg("--count")
        .arg("2")
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert_eq!(
        output.stdout.matches("meeting 914044873: running").count(),
        2,
        "{}",
        output.stdout
    );
    assert_eq!(
        output
            .stderr
            .matches("the meeting's feed cannot be opened")
            .count(),
        1,
        "said once: {}",
        output.stderr
    );
    assert!(
        output.stderr.contains("looking every 2s instead"),
        "{}",
        output.stderr
    );
    // One login, then the token kept: no second password on the wire.
    let paths: Vec<String> = paths(&emu)
        .await
        .into_iter()
        .filter(|p| !p.ends_with("/wsToken"))
        .collect();
    read_only(&paths);
    assert_eq!(paths.iter().filter(|p| p.ends_with("/token")).count(), 1);
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("/realTimeInfo"))
            .count(),
        2
    );
}

#[tokio::test]
async fn watch_stops_on_ctrl_c_with_exit_0() {
    use tokio::io::AsyncBufReadExt;
    let emu = Emu::start(LINEUP).await;
    let (mut child, _dir) = Run::command(&[
        "status",
        "--meeting",
        MEETING,
        "--watch",
        "--format",
        "json",
    ])
    .spawn(&emu);
    let mut stdout = tokio::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(60), stdout.read_line(&mut line))
        .await
        .expect("a first look")
        .unwrap();
    let document: Value = serde_json::from_str(&line).expect("one document a line");
    assert_eq!(document["state"], "running");
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-s", "INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it stops")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// The next line of a child's output, within a minute.
async fn next_line(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) -> String {
    tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("a line in time")
        .expect("stdout reads")
        .expect("a line before the end")
}

#[tokio::test]
async fn watch_draws_again_from_the_feed_as_soon_as_the_meeting_changes() {
    use tokio::io::AsyncBufReadExt;
    let emu = Emu::start(LINEUP).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut child, _dir) = Run::command(&[
        "status",
        "--meeting",
        MEETING,
        "--watch",
        "10m",
        "--count",
        "2",
        "--format",
        "json",
    ])
    .spawn(&emu);
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&next_line(&mut lines).await).expect("JSON");
    assert_eq!(first["state"], "running", "{first}");
    // The feed tells what the REST read cannot.
    assert_eq!(first["locked"], false, "{first}");
    assert_eq!(first["recording"], false, "{first}");
    assert_eq!(first["broadcast"], Value::Null, "{first}");
    assert_eq!(first["unknown"], serde_json::json!([]), "{first}");
    assert_eq!(first["counts"]["hands_raised"], 1, "{first}");
    let started = std::time::Instant::now();
    host.put("/lock", serde_json::json!({"isLock": 1}))
        .await
        .ok();
    let bob = emu.pid(MEETING, "Bob Li").await;
    host.put_to(
        "/participants/hands",
        &bob,
        Some(serde_json::json!({"handsState": 0})),
    )
    .await
    .ok();
    let second: Value = serde_json::from_str(&next_line(&mut lines).await).expect("JSON");
    // Far sooner than the interval: drawn on the change, not on a look.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(second["locked"], true, "{second}");
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it stops at its count")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    // One read before the feed opened; the rest came over the feed.
    let paths = paths(&emu).await;
    assert_eq!(
        paths
            .iter()
            .filter(|p| p.ends_with("/realTimeInfo"))
            .count(),
        1,
        "{paths:?}"
    );
}

#[tokio::test]
async fn while_the_feed_is_down_watch_looks_over_rest_and_says_so_once() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let emu = Emu::start(LINEUP).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut child, _dir) = Run::command(&[
        "status",
        "--meeting",
        MEETING,
        "--watch",
        "2s",
        "--format",
        "json",
    ])
    .spawn(&emu);
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let document = |line: String| -> Value { serde_json::from_str(&line).expect("JSON") };
    let first = document(next_line(&mut lines).await);
    assert_eq!(
        first["unknown"],
        serde_json::json!([]),
        "from the feed: {first}"
    );
    // Every new connection drops before its online list: the feed stays down.
    emu.faults(serde_json::json!({"feed": {"drop_after": 2}}))
        .await;
    assert_eq!(emu.admin("POST", "/_sim/feed/drop", None).await.status, 204);
    let read = document(next_line(&mut lines).await);
    assert_eq!(
        read["unknown"].as_array().map(Vec::len),
        Some(4),
        "a REST look: {read}"
    );
    let bob = emu.pid(MEETING, "Bob Li").await;
    host.put_to(
        "/participants/hands",
        &bob,
        Some(serde_json::json!({"handsState": 0})),
    )
    .await
    .ok();
    // The change is seen by a look while the feed is down.
    loop {
        let read = document(next_line(&mut lines).await);
        if read["counts"]["hands_raised"] == 0 {
            assert_eq!(read["unknown"].as_array().map(Vec::len), Some(4), "{read}");
            break;
        }
    }
    assert_eq!(emu.admin("DELETE", "/_sim/faults", None).await.status, 204);
    loop {
        let back = document(next_line(&mut lines).await);
        if back["unknown"] == serde_json::json!([]) {
            assert_eq!(back["counts"]["hands_raised"], 0, "{back}");
            break;
        }
    }
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-s", "INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it stops")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert_eq!(
        stderr.matches("the meeting's feed is down").count(),
        1,
        "once for the episode: {stderr}"
    );
    assert!(
        stderr.contains("looking every 2s until it is back"),
        "{stderr}"
    );
}

#[tokio::test]
async fn watch_refuses_to_poll_faster_than_every_two_seconds() {
    let output = Run::command(&["status", "--meeting", MEETING, "--watch", "1s"])
        .against_url("http://127.0.0.1:9")
        .await;
    assert_eq!(output.code, 2, "{}", output.transcript());
    assert!(
        output.stderr.contains("at most every 2s"),
        "{}",
        output.stderr
    );
}

#[tokio::test]
async fn watching_a_meeting_that_starts_shows_it_start() {
    let emu = Emu::start(LINEUP).await;
    token_answers(&emu, "MMC.111072005", "CONF_NOT_STARTED", &[1]).await;
    let output = Run::command(&["status", "--meeting", MEETING, "--watch", "2s"])
        .arg("--count")
        .arg("2")
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    let not_started = output.stdout.find("meeting 914044873: not started");
    let running = output.stdout.find("meeting 914044873: running");
    assert!(
        not_started.is_some() && running.is_some() && not_started < running,
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn a_meeting_that_ends_while_followed_is_drawn_ended() {
    use tokio::io::AsyncBufReadExt;
    let emu = Emu::start(LINEUP).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut child, _dir) = Run::command(&[
        "status",
        "--meeting",
        MEETING,
        "--watch",
        "2s",
        "--format",
        "json",
    ])
    .spawn(&emu);
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&next_line(&mut lines).await).expect("JSON");
    assert_eq!(first["state"], "running", "{first}");
    host.put("/stop", serde_json::json!({})).await.ok();
    // Everyone leaving may be drawn first; then the end.
    loop {
        let next: Value = serde_json::from_str(&next_line(&mut lines).await).expect("JSON");
        if next["state"] == "ended" {
            break;
        }
        assert_eq!(next["state"], "running", "{next}");
    }
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-s", "INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("it stops")
        .unwrap();
    assert_eq!(status.code(), Some(0));
}
