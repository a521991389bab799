//! The client side of the meeting's push feed (`docs/api.md` §11): a one-shot socket
//! token from `GET …/wsToken`, the WebSocket at the token answer's `wsURL` plus
//! [`FEED_PATH`], one `Subscribe`, a `HeartBeat` every minute on the run's clock, and
//! the pushed frames parsed into typed values. The feed is hostile input: frames are
//! bounded in size, and a malformed or unknown one is skipped and counted, never fatal.
//! `ConfBasicInfoNotify` carries the meeting's passwords in clear: they are taken out
//! while parsing, before anything else sees the frame, and handed to `on_secret`.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use jiff::{SignedDuration, Timestamp};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{Client, Request};
use crate::clock::SharedClock;
use crate::meeting::Api;
use crate::meeting::api::FEED_PATH;
use crate::meeting::feed::{
    BasicInfo, DynamicInfo, HEART_BEAT, InviteResult, NotifyType, PersonChange, SUBSCRIBE,
    SubscribeData,
};
use crate::meeting::wire::WsTokenResponse;
pub(crate) use unopened::Unopened;

/// The largest frame or message accepted: the biggest real one, a full online list of
/// a large meeting, is far smaller.
pub(crate) const MAX_FRAME: usize = 1 << 20;
/// How often a `HeartBeat` goes out; the server closes the socket after 180 s without.
const HEART_BEAT_EVERY: SignedDuration = SignedDuration::from_secs(60);
/// How long the upgrade and the `Subscribe` reply may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One pushed message, parsed. `at` is its `createTime`, on the service's clock.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    pub kind: NotifyType,
    /// The envelope's `version`: a full message's creation time (ms), an incremental
    /// one's sequence number, counting from 1 per type per connection. Absent if the
    /// service leaves it out.
    pub version: Option<i64>,
    pub at: Option<Timestamp>,
    /// `msgMode` 0: the whole picture of its type, replacing what was known.
    pub full: bool,
    pub body: Body,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Body {
    /// Basic info, its passwords already taken out.
    Basic(Box<BasicInfo>),
    Dynamic(Box<DynamicInfo>),
    Participants(Vec<PersonChange>),
    WaitingList(Vec<PersonChange>),
    Invites(Vec<InviteResult>),
    /// The loudest speakers' names.
    Speakers(Vec<String>),
}

/// Why a frame was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skip {
    /// The server's answer to a `HeartBeat`: expected, not counted.
    HeartBeat,
    Unknown(String),
    Malformed(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    action: String,
    #[serde(default)]
    version: Option<i64>,
    #[serde(default)]
    create_time: Option<i64>,
    #[serde(default)]
    msg_mode: Option<u8>,
}

#[derive(Deserialize)]
struct Speaker {
    #[serde(default)]
    name: String,
}

/// Parses one text frame. The passwords of `ConfBasicInfoNotify` are removed from the
/// frame before it is parsed further, each given to `on_secret`.
pub(crate) fn parse(text: &str, on_secret: &dyn Fn(&str)) -> Result<Frame, Skip> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| Skip::Malformed(format!("not JSON: {e}")))?;
    if let Some(pwds) = value.as_object_mut().and_then(|o| o.remove("pwds")) {
        for entry in pwds.as_array().into_iter().flatten() {
            if let Some(pwd) = entry.get("pwd").and_then(Value::as_str) {
                on_secret(pwd);
            }
        }
    }
    let envelope = Envelope::deserialize(&value)
        .map_err(|e| Skip::Malformed(format!("not a pushed message: {e}")))?;
    if envelope.action == HEART_BEAT {
        return Err(Skip::HeartBeat);
    }
    let Some(kind) = NotifyType::from_action(&envelope.action) else {
        return Err(Skip::Unknown(envelope.action));
    };
    let bad = |e: serde_json::Error| Skip::Malformed(format!("{}: {e}", envelope.action));
    let data = || {
        value
            .get("data")
            .cloned()
            .unwrap_or(Value::Array(Vec::new()))
    };
    let body = match kind {
        NotifyType::ConfBasicInfo => {
            Body::Basic(Box::new(BasicInfo::deserialize(&value).map_err(bad)?))
        }
        NotifyType::ConfDynamicInfo => {
            Body::Dynamic(Box::new(DynamicInfo::deserialize(&value).map_err(bad)?))
        }
        NotifyType::Participants => {
            Body::Participants(Vec::<PersonChange>::deserialize(data()).map_err(bad)?)
        }
        NotifyType::WaitingList => {
            Body::WaitingList(Vec::<PersonChange>::deserialize(data()).map_err(bad)?)
        }
        NotifyType::InviteResult => {
            Body::Invites(Vec::<InviteResult>::deserialize(data()).map_err(bad)?)
        }
        NotifyType::SpeakerChange => Body::Speakers(
            Vec::<Speaker>::deserialize(data())
                .map_err(bad)?
                .into_iter()
                .map(|s| s.name)
                .collect(),
        ),
    };
    Ok(Frame {
        kind,
        version: envelope.version,
        at: envelope
            .create_time
            .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
        full: envelope.msg_mode != Some(1),
        body,
    })
}

/// How the feed ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Closed {
    /// The server closed the socket; its reason, if it gave one.
    ByServer(String),
    /// The connection failed.
    Broken(String),
}

/// An open, subscribed feed.
pub(crate) struct Feed {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    clock: SharedClock,
    next_heart_beat: Timestamp,
    /// Whether nothing has come since the last heartbeat went out.
    unanswered: bool,
    /// Frames skipped as malformed or of an unknown type.
    pub skipped: u64,
    on_secret: std::sync::Arc<dyn Fn(&str) + Send + Sync>,
}

/// A `sequence`: the time in ms, zero-padded to 30 characters, as the examples do.
fn sequence(now: Timestamp) -> String {
    format!("{:030}", now.as_millisecond().max(0))
}

impl Client {
    /// Opens the meeting's feed and subscribes to every type the client reads. A
    /// `wss://` feed is verified as the HTTP client verifies the API: rustls with the
    /// platform's roots.
    pub(crate) async fn open_feed(&self) -> Result<Feed, Unopened> {
        let token = self.token(false).await.map_err(Unopened::refused)?;
        let base = self.ws_url().await.ok_or_else(|| {
            "the token answer gave no push server address (wsURL); log in with the host password"
                .to_owned()
        })?;
        let answer = self
            .send(&Request::to(Api::WsToken))
            .await
            .map_err(Unopened::refused)?;
        let ws_token = WsTokenResponse::deserialize(&answer.body)
            .map_err(|e| format!("unexpected wsToken answer: {e}"))?;
        (self.on_secret)(&ws_token.web_socket_token);
        let url = feed_url(&base, &self.meeting_id, &ws_token.web_socket_token)?;
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let connector = if url.scheme() == "wss" {
            use rustls_platform_verifier::ConfigVerifierExt;
            let tls = rustls::ClientConfig::with_platform_verifier()
                .map_err(|e| format!("cannot set up TLS for the push feed: {e}"))?;
            Some(tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(
                tls,
            )))
        } else {
            None
        };
        let (mut ws, _) = tokio::time::timeout(
            HANDSHAKE_TIMEOUT,
            tokio_tungstenite::connect_async_tls_with_config(
                url.as_str(),
                Some(config),
                false,
                connector,
            ),
        )
        .await
        .map_err(|_| "the push server did not answer in time".to_owned())?
        .map_err(|e| format!("cannot open the push feed: {e}"))?;
        let data = SubscribeData {
            conference_id: Some(self.meeting_id.clone()),
            subscribe_type: NotifyType::ALL
                .iter()
                .map(|t| t.action().to_owned())
                .collect(),
            conf_token: Some(token.expose_secret().to_owned()),
        };
        let subscribe = serde_json::json!({
            "action": SUBSCRIBE,
            "sequence": sequence(self.clock.now()),
            "data": serde_json::to_string(&data).unwrap_or_default(),
        });
        ws.send(Message::text(subscribe.to_string()))
            .await
            .map_err(|e| format!("cannot subscribe to the push feed: {e}"))?;
        let reply = tokio::time::timeout(HANDSHAKE_TIMEOUT, ws.next())
            .await
            .map_err(|_| "the push server did not answer Subscribe in time".to_owned())?;
        let text = match reply {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(other)) => {
                return Err(format!("unexpected answer to Subscribe: {other:?}").into());
            }
            Some(Err(e)) => return Err(format!("the push feed failed: {e}").into()),
            None => {
                return Err("the push server closed the feed on Subscribe"
                    .to_owned()
                    .into());
            }
        };
        let code = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.pointer("/data/returnCode").and_then(Value::as_u64));
        match code {
            Some(0) => {}
            Some(code) => return Err(format!("the push server refused Subscribe: {code}").into()),
            None => {
                return Err("the push server's answer to Subscribe has no returnCode"
                    .to_owned()
                    .into());
            }
        }
        Ok(Feed::new(
            ws,
            std::sync::Arc::clone(&self.clock),
            std::sync::Arc::clone(&self.on_secret),
        ))
    }
}

/// `{wsURL}{FEED_PATH}?confID=…&tmpToken=…`; a `ws://` or `wss://` prefix.
fn feed_url(base: &str, meeting: &str, tmp_token: &str) -> Result<url::Url, String> {
    let mut url = url::Url::parse(base)
        .map_err(|e| format!("the push server address {base:?} is not a URL: {e}"))?;
    match url.scheme() {
        "ws" | "wss" => {}
        other => return Err(format!("the push server address has scheme {other}:")),
    }
    url.set_path(FEED_PATH);
    url.query_pairs_mut()
        .clear()
        .append_pair("confID", meeting)
        .append_pair("tmpToken", tmp_token);
    Ok(url)
}

/// A close frame's reason and code, for people: `going away (1001)`; the code alone
/// when no reason is given.
fn close_reason(frame: tokio_tungstenite::tungstenite::protocol::CloseFrame) -> String {
    let code = u16::from(frame.code);
    if frame.reason.is_empty() {
        format!("code {code}")
    } else {
        format!("{} ({code})", frame.reason)
    }
}

impl Feed {
    /// A subscribed socket; the first heartbeat is due a minute from now.
    fn new(
        ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
        clock: SharedClock,
        on_secret: std::sync::Arc<dyn Fn(&str) + Send + Sync>,
    ) -> Feed {
        Feed {
            ws,
            next_heart_beat: clock.now() + HEART_BEAT_EVERY,
            unanswered: false,
            clock,
            skipped: 0,
            on_secret,
        }
    }

    /// The next pushed message; heartbeats go out meanwhile. Skipped frames are
    /// counted in `skipped`.
    pub(crate) async fn next(&mut self) -> Result<Frame, Closed> {
        loop {
            let message = tokio::select! {
                // A passive wait: on virtual time the runner moves the clock, never
                // the feed.
                () = self.clock.reached(self.next_heart_beat) => {
                    // A server that has said nothing since the last heartbeat, not even
                    // its echo, is gone (a connection into the void never ends by
                    // itself). Not judged on virtual time, which can pass a minute
                    // before the echo has had a moment to come.
                    if self.unanswered && !self.clock.is_virtual() {
                        return Err(Closed::Broken(
                            "the push server has not answered a heartbeat for a minute".into(),
                        ));
                    }
                    let beat = serde_json::json!({
                        "action": HEART_BEAT,
                        "sequence": sequence(self.clock.now()),
                    });
                    tokio::time::timeout(
                        HANDSHAKE_TIMEOUT,
                        self.ws.send(Message::text(beat.to_string())),
                    )
                    .await
                    .map_err(|_| Closed::Broken("a heartbeat could not be sent in time".into()))?
                    .map_err(|e| Closed::Broken(e.to_string()))?;
                    self.unanswered = true;
                    self.next_heart_beat = self.clock.now() + HEART_BEAT_EVERY;
                    continue;
                }
                message = self.ws.next() => message,
            };
            let text = match message {
                None => return Err(Closed::ByServer(String::new())),
                Some(Err(e)) => return Err(Closed::Broken(e.to_string())),
                Some(Ok(Message::Text(text))) => {
                    self.unanswered = false;
                    text
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Closed::ByServer(
                        frame.map(close_reason).unwrap_or_default(),
                    ));
                }
                Some(Ok(_)) => continue,
            };
            match parse(&text, &*self.on_secret) {
                Ok(frame) => return Ok(frame),
                Err(Skip::HeartBeat) => {}
                Err(skip) => {
                    self.skipped += 1;
                    tracing::debug!("push frame skipped: {skip:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::clock::Clock as _;

    fn parsed(text: &str) -> (Result<Frame, Skip>, Vec<String>) {
        let seen = RefCell::new(Vec::new());
        let result = parse(text, &|s: &str| seen.borrow_mut().push(s.to_owned()));
        (result, seen.into_inner())
    }

    #[test]
    fn passwords_are_taken_out_and_remembered_as_secrets() {
        let text = r#"{"action":"ConfBasicInfoNotify","version":1,"createTime":1767225600000,"msgID":"x","msgMode":0,"confID":"1",
            "displayID":"1","title":"T","startTime":"0","scheduledStartTime":"0","pwds":[{"role":"chair","pwd":"654321"},{"role":"general","pwd":"111222"}],
            "recType":0,"media":2,"owner":"o","ownerID":"o","userType":2,"guestJoinUri":"","callInRestriction":0,"confMode":"COMMON"}"#;
        let (frame, secrets) = parsed(text);
        assert_eq!(secrets, ["654321", "111222"]);
        let frame = frame.expect("parsed");
        assert!(!format!("{frame:?}").contains("654321"));
        let Body::Basic(basic) = frame.body else {
            panic!("not basic info: {frame:?}")
        };
        assert!(basic.pwds.is_empty());
        assert_eq!(basic.title, "T");
    }

    #[test]
    fn malformed_and_unknown_frames_are_skipped() {
        assert!(matches!(parsed("{").0, Err(Skip::Malformed(_))));
        assert!(matches!(parsed("[1,2]").0, Err(Skip::Malformed(_))));
        assert!(matches!(
            parsed(r#"{"action":"ParticipantsNotify","data":"nope"}"#).0,
            Err(Skip::Malformed(_))
        ));
        assert_eq!(
            parsed(r#"{"action":"NetworkQualityNotify","data":[]}"#).0,
            Err(Skip::Unknown("NetworkQualityNotify".into()))
        );
        assert_eq!(
            parsed(r#"{"action":"HeartBeat","sequence":"1"}"#).0,
            Err(Skip::HeartBeat)
        );
        // Deeply nested input is refused by the parser's recursion limit, not a crash.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(matches!(parsed(&deep).0, Err(Skip::Malformed(_))));
    }

    #[test]
    fn an_incremental_change_is_typed() {
        let text = r#"{"action":"ParticipantsNotify","version":7,"createTime":1767225660123,"msgID":"x",
            "msgMode":1,"confID":"1","data":[{"pid":"p1","mode":0,"pinfoMap":{"HAND":"1"}}]}"#;
        let frame = parsed(text).0.expect("parsed");
        assert!(!frame.full);
        assert_eq!(frame.kind, NotifyType::Participants);
        assert_eq!(frame.version, Some(7));
        assert_eq!(
            frame.at,
            Timestamp::from_millisecond(1_767_225_660_123).ok()
        );
        let Body::Participants(changes) = frame.body else {
            panic!("not participants")
        };
        assert_eq!(changes[0].pinfo_map["HAND"], "1");
    }

    #[test]
    fn the_feed_url_is_the_prefix_with_path_and_query() {
        let url = feed_url("ws://127.0.0.1:9/", "912", "a&b").unwrap();
        assert_eq!(
            url.as_str(),
            "ws://127.0.0.1:9/cms/open/websocket/confctl/increment/conn?confID=912&tmpToken=a%26b"
        );
        assert!(feed_url("wss://h:443", "1", "t").is_ok());
        assert!(feed_url("http://h", "1", "t").is_err());
    }

    /// A feed from a server that sends `frames`, then answers nothing but reads two
    /// heartbeats, then sends a frame over the limit. The client's clock is virtual, moved
    /// quickly by another task, so its heartbeats are due soon.
    #[tokio::test]
    async fn the_feed_skips_bad_frames_beats_every_minute_and_refuses_an_oversized_frame() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            for frame in [
                "{",
                r#"{"action":"NetworkQualityNotify","data":[]}"#,
                r#"{"action":"HeartBeat","sequence":"1"}"#,
                r#"{"action":"ParticipantsNotify","msgMode":1,"data":[{"pid":"p","mode":1}]}"#,
            ] {
                ws.send(Message::text(frame)).await.unwrap();
            }
            let mut sequences = Vec::new();
            while sequences.len() < 2 {
                if let Some(Ok(Message::Text(text))) = ws.next().await {
                    let beat: Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(beat["action"], HEART_BEAT);
                    let sequence = beat["sequence"].as_str().unwrap().to_owned();
                    assert_eq!(sequence.len(), 30);
                    sequences.push(sequence.parse::<i64>().unwrap());
                }
            }
            let huge = format!("\"{}\"", "x".repeat(MAX_FRAME + 1));
            let _ = ws.send(Message::text(huge)).await;
            // Keep reading so the client's heartbeats do not block it.
            while let Some(Ok(_)) = ws.next().await {}
            sequences
        });
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME));
        let (ws, _) = tokio_tungstenite::connect_async_with_config(
            format!("ws://{address}/"),
            Some(config),
            false,
        )
        .await
        .unwrap();
        let clock: SharedClock = crate::clock::VirtualClock::starting_at(Timestamp::UNIX_EPOCH);
        // The feed never moves the clock itself: someone else (here a stand-in for the
        // runner) does, a second at a time.
        let driver = {
            let clock = std::sync::Arc::clone(&clock);
            tokio::spawn(async move {
                loop {
                    clock
                        .sleep_until(clock.now() + SignedDuration::from_secs(1))
                        .await;
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        let mut feed = Feed::new(ws, clock, std::sync::Arc::new(|_: &str| {}));
        let wait = Duration::from_secs(10);
        let frame = tokio::time::timeout(wait, feed.next())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(frame.body, Body::Participants(_)), "{frame:?}");
        assert_eq!(feed.skipped, 2, "the heartbeat answer is not counted");
        let end = tokio::time::timeout(wait, feed.next()).await.unwrap();
        assert!(
            matches!(&end, Err(Closed::Broken(why)) if why.contains("size") || why.contains("long")),
            "{end:?}"
        );
        drop(feed);
        driver.abort();
        let sequences = tokio::time::timeout(wait, server).await.unwrap().unwrap();
        assert_eq!(sequences[1] - sequences[0], 60_000, "{sequences:?}");
    }

    /// A server that takes the connection and then says nothing (it only pings, so the
    /// client looks at its clock): the second heartbeat due with the first unanswered
    /// ends the feed instead of waiting forever.
    #[tokio::test]
    async fn a_server_that_never_answers_a_heartbeat_is_a_broken_feed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (poke, mut poked) = tokio::sync::mpsc::channel::<()>(4);
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(stream).await.unwrap();
            while poked.recv().await.is_some() {
                let _ = ws.send(Message::Ping(Vec::new().into())).await;
            }
        });
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{address}/"))
            .await
            .unwrap();
        let clock = std::sync::Arc::new(crate::clock::SystemClock::default());
        let mut feed = Feed::new(
            ws,
            std::sync::Arc::clone(&clock) as SharedClock,
            std::sync::Arc::new(|_: &str| {}),
        );
        let driver = tokio::spawn(async move {
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                clock.advance(SignedDuration::from_secs(61));
                poke.send(()).await.unwrap();
            }
            poke
        });
        let end = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .expect("not a hang");
        assert!(
            matches!(&end, Err(Closed::Broken(why)) if why.contains("heartbeat")),
            "{end:?}"
        );
        drop(driver.await);
        server.abort();
    }

    #[test]
    fn a_sequence_has_thirty_characters() {
        assert_eq!(sequence(Timestamp::UNIX_EPOCH).len(), 30);
    }
}

mod unopened;
#[cfg(test)]
mod virtual_time;
