//! A push server that misbehaves on purpose, beside a minimal REST side (the token call
//! and `wsToken`) on the same port: each feed connection follows its script — frames
//! malformed or of unknown types, a version skipped, a 1008 close on the upgrade or
//! later — and the live picture must come out right, having skipped, reconnected with
//! a new socket token each time, and never applied a change twice.

use std::sync::Mutex;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request as Upgrade, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use super::*;

/// What the server does on one feed connection, in order.
#[derive(Clone)]
enum Step {
    /// Reads the client's `Subscribe` and answers it with success.
    Subscribed,
    Send(String),
    /// Closes with this code.
    Close(u16),
}

struct Hostile {
    endpoint: String,
    /// The `tmpToken` of every upgrade, in order.
    upgrades: Arc<Mutex<Vec<String>>>,
}

/// Starts the server: the n-th feed connection follows `scripts[n]` (the last one again
/// for any more), then stays open, reading.
async fn hostile(scripts: Vec<Vec<Step>>) -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let ws_url = endpoint.replacen("http", "ws", 1);
    let upgrades = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&upgrades);
    tokio::spawn(async move {
        let mut feeds = 0;
        let mut ws_tokens = 0;
        while let Ok((stream, _)) = listener.accept().await {
            let head = peek_head(&stream).await;
            if head.starts_with("GET /cms/") {
                let script = scripts[feeds.min(scripts.len() - 1)].clone();
                feeds += 1;
                tokio::spawn(feed(stream, script, Arc::clone(&seen)));
            } else {
                ws_tokens += usize::from(head.contains("/wsToken"));
                tokio::spawn(rest(stream, ws_url.clone(), ws_tokens));
            }
        }
    });
    Hostile { endpoint, upgrades }
}

/// The request's head, left unread in the socket.
async fn peek_head(stream: &TcpStream) -> String {
    let mut buf = vec![0; 8192];
    for _ in 0..500 {
        let n = stream.peek(&mut buf).await.unwrap_or(0);
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text.contains("\r\n\r\n") || n == buf.len() {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    String::new()
}

/// Answers one REST request: a token whose `wsURL` is this server, or a socket token
/// numbered `ws-N`.
async fn rest(mut stream: TcpStream, ws_url: String, ws_tokens: usize) {
    let mut read = Vec::new();
    let mut buf = [0; 4096];
    let head_end = loop {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            return;
        }
        read.extend_from_slice(&buf[..n]);
        if let Some(at) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&read[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while read.len() < head_end + length {
        let n = stream.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            break;
        }
        read.extend_from_slice(&buf[..n]);
    }
    let body = if head.contains("/wstoken") {
        json!({ "webSocketToken": format!("ws-{ws_tokens}") })
    } else {
        json!({ "data": { "token": "hostile-token", "wsURL": ws_url, "role": 1 } })
    }
    .to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
}

/// One feed connection, following its script.
// The handshake callback's error type is tungstenite's own.
#[allow(clippy::result_large_err)]
async fn feed(stream: TcpStream, script: Vec<Step>, upgrades: Arc<Mutex<Vec<String>>>) {
    let record = |request: &Upgrade, response: Response| {
        let token = request
            .uri()
            .query()
            .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("tmpToken=")))
            .unwrap_or("")
            .to_owned();
        upgrades.lock().unwrap().push(token);
        Ok(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, record).await else {
        return;
    };
    for step in script {
        let sent = match step {
            Step::Subscribed => {
                let Some(Ok(Message::Text(_))) = ws.next().await else {
                    return;
                };
                let reply = json!({"action": "Subscribe", "sequence": "1",
                    "data": {"returnCode": 0, "returnDesc": "SUCCESS"}});
                ws.send(Message::text(reply.to_string())).await
            }
            Step::Send(text) => ws.send(Message::text(text)).await,
            Step::Close(code) => {
                let frame = CloseFrame {
                    code: code.into(),
                    reason: "".into(),
                };
                let _ = ws.send(Message::Close(Some(frame))).await;
                return;
            }
        };
        if sent.is_err() {
            return;
        }
    }
    while let Some(Ok(_)) = ws.next().await {}
}

fn people(mode: u8, version: i64, data: Value) -> Step {
    Step::Send(
        json!({"action": "ParticipantsNotify", "version": version, "createTime": 1_767_225_600_000_i64,
            "msgID": "x", "msgMode": mode, "confID": MEETING, "data": data})
        .to_string(),
    )
}

fn person(pid: &str, name: &str, hand: &str) -> Value {
    json!({"pid": pid, "mode": 0, "pinfoMap": {"NAME": name, "STATE": "0", "HAND": hand, "ROLE": "0"}})
}

#[tokio::test]
async fn bad_frames_are_skipped_and_a_skip_or_a_refusal_means_a_new_connection() {
    let server = hostile(vec![
        vec![
            Step::Subscribed,
            people(0, 1_767_225_600_000, json!([person("a", "Ann", "0")])),
            Step::Send("{".into()),
            Step::Send(r#"{"action":"NetworkQualityNotify","data":[]}"#.into()),
            people(1, 1, json!([person("b", "Bob", "0")])),
            // Number 2 never comes: Dan's join must not be applied.
            people(1, 3, json!([person("d", "Dan", "1")])),
        ],
        // Refused at once, as a spent token is.
        vec![Step::Close(1008)],
        vec![
            Step::Subscribed,
            people(
                0,
                1_767_225_700_000,
                json!([
                    person("a", "Ann", "0"),
                    person("b", "Bob", "0"),
                    person("c", "Cy", "1")
                ]),
            ),
            people(
                1,
                1,
                json!([{"pid": "a", "mode": 0, "pinfoMap": {"HAND": "1"}}]),
            ),
            Step::Close(1008),
        ],
        vec![
            Step::Subscribed,
            people(
                0,
                1_767_225_800_000,
                json!([
                    person("a", "Ann", "1"),
                    person("b", "Bob", "0"),
                    person("c", "Cy", "1")
                ]),
            ),
        ],
    ])
    .await;
    let live = Live::start(client_of(&server.endpoint), SystemClock::shared());
    let seen = record(&live);
    live.opened(WAIT).await.expect("opens");
    let down = until(&live, |s| matches!(s.health, Health::Down { .. })).await;
    assert!(
        matches!(&down.health, Health::Down { why, .. } if why.contains("ParticipantsNotify number 3")),
        "{down:?}"
    );
    let before_gap: Vec<String> = down
        .picture
        .roster()
        .participants
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(before_gap, ["Ann", "Bob"], "Bob once, Dan never");
    // The refusal, the third connection's close, and the fourth connection.
    until(&live, |_| server.upgrades.lock().unwrap().len() == 4).await;
    let state = until(&live, |s| s.health == Health::Up).await;
    let names: Vec<String> = state
        .picture
        .roster()
        .participants
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["Ann", "Bob", "Cy"]);
    // Ann's place (raised after the snapshot on the third connection) is remembered.
    let hands: Vec<(String, bool)> = state
        .picture
        .hands()
        .into_iter()
        .map(|h| (h.name, h.order_known))
        .collect();
    assert_eq!(hands, [("Cy".to_owned(), false), ("Ann".to_owned(), true)]);
    assert_eq!(live.skipped(), 2, "the malformed and the unknown frame");
    // An up between two downs may be too short to be seen by a watcher; a new
    // episode's number says it was there.
    let seen = episodes(&seen);
    let downs: Vec<&String> = seen.iter().filter(|h| h.starts_with("down")).collect();
    assert_eq!(downs, ["down 1", "down 2"], "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("up"), "{seen:?}");
    let tokens = server.upgrades.lock().unwrap().clone();
    assert_eq!(
        tokens,
        ["ws-1", "ws-2", "ws-3", "ws-4"],
        "a new token each time"
    );
}

#[tokio::test]
async fn the_pause_between_attempts_never_moves_virtual_time() {
    let server = hostile(vec![
        vec![Step::Close(1008)],
        vec![
            Step::Subscribed,
            people(0, 1, json!([person("a", "Ann", "0")])),
        ],
    ])
    .await;
    let start = jiff::Timestamp::from_second(1_767_225_600).unwrap();
    let clock: SharedClock = crate::clock::VirtualClock::starting_at(start);
    let client = client_on(&server.endpoint, Arc::clone(&clock));
    let live = Live::start(client, Arc::clone(&clock));
    assert!(
        live.opened(WAIT).await.is_err(),
        "the first attempt is refused"
    );
    until(&live, |s| s.health == Health::Up).await;
    assert_eq!(
        clock.now(),
        start,
        "nobody moved the clock, and the feed did not"
    );
}

#[tokio::test]
async fn a_feed_that_adds_people_without_end_is_cut_off_and_rebuilt() {
    // Joins of made-up people, in frames under the size limit, far past any meeting.
    let mut flood = vec![
        Step::Subscribed,
        people(0, 1, json!([person("a", "Ann", "0")])),
    ];
    let per_frame = 20_000;
    for n in 0..=(MAX_LISTED / per_frame) {
        let joins: Vec<Value> = (0..per_frame)
            .map(|i| json!({"pid": format!("p{}", n * per_frame + i), "mode": 0, "pinfoMap": {}}))
            .collect();
        flood.push(people(
            1,
            i64::try_from(n).unwrap() + 1,
            Value::Array(joins),
        ));
    }
    let server = hostile(vec![
        flood,
        vec![
            Step::Subscribed,
            people(
                0,
                2,
                json!([person("a", "Ann", "0"), person("b", "Bob", "0")]),
            ),
        ],
    ])
    .await;
    let live = Live::start(client_of(&server.endpoint), SystemClock::shared());
    live.opened(WAIT).await.expect("opens");
    let down = until(&live, |s| matches!(s.health, Health::Down { .. })).await;
    assert!(
        matches!(&down.health, Health::Down { why, .. } if why.contains("more than")),
        "{down:?}"
    );
    let state = until(&live, |s| s.health == Health::Up && s.picture.listed() == 2).await;
    assert_eq!(state.picture.roster().participants.len(), 2);
}
