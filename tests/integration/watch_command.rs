//! `emcee watch`: the meeting's changes streamed from its push feed, one line (or JSON
//! object) per change, driven here through the emulator's admin API and control calls.
//! Every read of the child's output has a timeout, and the child is killed on drop, so
//! a watch that says nothing fails the test instead of hanging it.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::support::*;

/// How long a test waits for a line it expects, or for the watch to end.
const WAIT: Duration = Duration::from_secs(10);

struct Watch {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Watch {
    fn start(emu: &Emu, extra: &[&str]) -> Watch {
        let mut args = vec!["watch", "--meeting", MEETING];
        args.extend_from_slice(extra);
        let (mut child, dir) = Run::command(&args).spawn(emu);
        let stdout = child.stdout.take().expect("stdout is piped");
        Watch {
            child,
            lines: BufReader::new(stdout).lines(),
            seen: Vec::new(),
            _dir: dir,
        }
    }

    /// The next line of output.
    async fn line(&mut self) -> String {
        let line = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no line in time; so far: {:#?}", self.seen))
            .expect("stdout reads")
            .unwrap_or_else(|| panic!("the watch ended early; so far: {:#?}", self.seen));
        self.seen.push(line.clone());
        line
    }

    /// Reads until a line equal to `text` (the summary's last line, say).
    async fn until(&mut self, text: &str) {
        while self.line().await != text {}
    }

    /// The rest of the output and the exit code, once the watch ends by itself.
    async fn end(mut self) -> (Vec<String>, i32, String) {
        while let Ok(Some(line)) = tokio::time::timeout(WAIT, self.lines.next_line())
            .await
            .expect("the watch ends in time")
        {
            self.seen.push(line);
        }
        let status = tokio::time::timeout(WAIT, self.child.wait())
            .await
            .expect("the watch exits in time")
            .expect("wait");
        let mut stderr = String::new();
        if let Some(mut err) = self.child.stderr.take() {
            use tokio::io::AsyncReadExt;
            let _ = tokio::time::timeout(WAIT, err.read_to_string(&mut stderr)).await;
        }
        (
            std::mem::take(&mut self.seen),
            status.code().unwrap_or(-1),
            stderr,
        )
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Gina joins, raises her hand, the host locks the meeting, Gina leaves.
async fn drive(emu: &Emu, host: &Host<'_>) {
    emu.admin(
        "POST",
        &format!("/_sim/meetings/{MEETING}/participants"),
        Some(json!({"name": "Gina\u{1b}[31m Lu"})),
    )
    .await;
    let gina = emu.pid(MEETING, "Gina\u{1b}[31m Lu").await;
    host.put_to("/participants/hands", &gina, Some(json!({"handsState": 1})))
        .await
        .ok();
    host.put("/lock", json!({"isLock": 1})).await.ok();
    emu.admin(
        "DELETE",
        &format!("/_sim/meetings/{MEETING}/participants/{gina}"),
        None,
    )
    .await;
}

#[tokio::test]
async fn watch_streams_changes_until_the_meeting_ends() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut watch = Watch::start(&emu, &[]);
    watch.until("    Dave Ma (co-host)").await;
    drive(&emu, &host).await;
    host.put("/stop", json!({})).await.ok();
    let (lines, code, stderr) = watch.end().await;
    assert_eq!(code, 0, "{stderr}\n{lines:#?}");
    let text = lines.join("\n");
    assert!(
        !text.contains("654321"),
        "the guest password leaked: {text}"
    );
    assert!(
        !stderr.contains("654321"),
        "the guest password leaked: {stderr}"
    );
    // The emulator's clock is the machine's: only the times' shape is checked.
    let text = text
        .lines()
        .map(|line| match line.split_at_checked(9) {
            Some((time, rest)) if is_time(time.trim_end()) => format!("HH:MM:SS {rest}"),
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!(text);
}

#[tokio::test]
async fn watch_as_json_prints_one_object_per_change_and_stops_at_count() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut watch = Watch::start(&emu, &["--format", "json", "--count", "3"]);
    // The first object is the snapshot: the feed is subscribed.
    let snapshot: Value = serde_json::from_str(&watch.line().await).expect("JSON");
    assert_eq!(snapshot["event"], "snapshot", "{snapshot}");
    host.put("/lock", json!({"isLock": 1})).await.ok();
    let bob = emu.pid(MEETING, "Bob Li").await;
    host.put_to("/participants/hands", &bob, Some(json!({"handsState": 0})))
        .await
        .ok();
    host.put("/lock", json!({"isLock": 0})).await.ok();
    let (lines, code, stderr) = watch.end().await;
    assert_eq!(code, 0, "{stderr}");
    let events: Vec<Value> = lines[1..]
        .iter()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    for event in events.iter().chain([&snapshot]) {
        let at = event["at"].as_str().expect("at");
        assert!(at.parse::<jiff::Timestamp>().is_ok(), "{at}");
    }
    insta::assert_json_snapshot!((snapshot, events), {
        ".**.at" => "[at]",
    });
}

#[tokio::test]
async fn a_meeting_that_is_over_is_said_so_as_status_does() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    host.put("/stop", json!({})).await.ok();
    let output = Run::command(&["watch", "--meeting", MEETING])
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(output.stdout.contains("ended"), "{}", output.transcript());
}

/// `HH:MM:SS`.
fn is_time(text: &str) -> bool {
    text.len() == 8
        && text.char_indices().all(|(i, c)| {
            if i == 2 || i == 5 {
                c == ':'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// The lines with their times (and a lost feed's reason, which is the network's
/// wording) replaced by placeholders.
fn shapes(lines: &[String]) -> String {
    lines
        .iter()
        .map(|line| {
            let line = match line.split_at_checked(9) {
                Some((time, rest)) if is_time(time.trim_end()) => format!("HH:MM:SS {rest}"),
                _ => line.clone(),
            };
            match (line.find("feed lost ("), line.rfind("); reconnecting")) {
                (Some(from), Some(to)) => format!("{}(WHY{}", &line[..from + 10], &line[to..]),
                _ => line,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_lost_feed_is_said_once_opened_again_and_what_changed_meanwhile_told_once() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut watch = Watch::start(&emu, &[]);
    watch.until("    Dave Ma (co-host)").await;
    // Every new connection drops before its online list: the feed stays down.
    emu.faults(json!({"feed": {"drop_after": 2}})).await;
    assert_eq!(emu.admin("POST", "/_sim/feed/drop", None).await.status, 204);
    let lost = watch.line().await;
    assert!(lost.contains(" feed lost ("), "{lost}");
    let bob = emu.pid(MEETING, "Bob Li").await;
    host.put_to("/participants/hands", &bob, Some(json!({"handsState": 0})))
        .await
        .ok();
    emu.admin(
        "POST",
        &format!("/_sim/meetings/{MEETING}/participants"),
        Some(json!({"name": "Gina Lu"})),
    )
    .await;
    // Attempts fail meanwhile (after 1 s, 2 s more): still the one episode.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(emu.admin("DELETE", "/_sim/faults", None).await.status, 204);
    watch_feed_back(&mut watch).await;
    host.put("/lock", json!({"isLock": 1})).await.ok();
    host.put("/stop", json!({})).await.ok();
    let (lines, code, stderr) = watch.end().await;
    assert_eq!(code, 0, "{stderr}\n{lines:#?}");
    insta::assert_snapshot!(shapes(&lines));
}

/// Reads until the "feed back" line; it.
async fn watch_feed_back(watch: &mut Watch) -> String {
    loop {
        let line = watch.line().await;
        if line.ends_with(" feed back") {
            return line;
        }
    }
}

#[tokio::test]
async fn as_json_a_lost_feed_is_one_feed_down_and_one_feed_up_object() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut watch = Watch::start(&emu, &["--format", "json", "--count", "1"]);
    let snapshot: Value = serde_json::from_str(&watch.line().await).expect("JSON");
    assert_eq!(snapshot["event"], "snapshot", "{snapshot}");
    assert_eq!(emu.admin("POST", "/_sim/feed/drop", None).await.status, 204);
    let down: Value = serde_json::from_str(&watch.line().await).expect("JSON");
    assert_eq!(down["event"], "feed_down", "{down}");
    assert!(
        down["why"].as_str().is_some_and(|w| !w.is_empty()),
        "{down}"
    );
    let up: Value = serde_json::from_str(&watch.line().await).expect("JSON");
    assert_eq!(up["event"], "feed_up", "{up}");
    // The feed's own objects are not counted: the first change ends the watch.
    host.put("/lock", json!({"isLock": 1})).await.ok();
    let (lines, code, stderr) = watch.end().await;
    assert_eq!(code, 0, "{stderr}");
    let events: Vec<Value> = lines[3..]
        .iter()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(events.len(), 1, "{lines:#?}");
    assert_eq!(events[0]["event"], "locked");
}

#[tokio::test]
async fn a_watch_of_a_meeting_not_started_says_so_and_exits_0() {
    let emu = Emu::start(TOWN_HALL).await;
    emu.faults(json!({"rules": [{
        "path": format!("{CONTROL}/token"),
        "error": {"status": 400, "code": "MMC.111072005", "msg": "CONF_NOT_STARTED"},
    }]}))
    .await;
    let output = Run::command(&["watch", "--meeting", MEETING])
        .against(&emu)
        .await;
    assert_eq!(output.code, 0, "{}", output.transcript());
    assert!(
        output.stdout.contains("the meeting has not started yet"),
        "{}",
        output.transcript()
    );
}

/// Over TLS the feed is `wss://`, verified as the API is: here the emulator's
/// self-signed certificate is trusted through `SSL_CERT_FILE`.
#[tokio::test]
async fn watch_follows_a_wss_feed_verified_like_the_api() {
    let emu = Emu::start_with(
        TOWN_HALL,
        emcee::sim::SimOptions {
            tls: true,
            ..Default::default()
        },
    )
    .await;
    let pem = emu.handle.cert_pem().expect("a certificate").to_owned();
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut child, dir) = Run::command(&["watch", "--meeting", MEETING, "--count", "1"])
        .file("emulator.pem", &pem)
        .env("SSL_CERT_FILE", "emulator.pem")
        .spawn(&emu);
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut watch = Watch {
        child,
        lines: BufReader::new(stdout).lines(),
        seen: Vec::new(),
        _dir: dir,
    };
    watch.until("    Dave Ma (co-host)").await;
    host.put("/lock", json!({"isLock": 1})).await.ok();
    let (lines, code, stderr) = watch.end().await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        lines.last().is_some_and(|l| l.ends_with(" meeting locked")),
        "{lines:#?}"
    );
}
