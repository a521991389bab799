//! The baseline of the feed benchmarks (`benches/feed.py`): a bare tokio-tungstenite
//! client of the meeting's push feed that does only what each figure needs.
//!
//! Usage:
//!   feed_client latency BASE_URL MEETING PASSWORD PID COUNT
//!     waits for PID's hand to be pushed as raised, then lowers it at once; COUNT times.
//!   feed_client follow BASE_URL MEETING PASSWORD SECONDS
//!     keeps the online list as pushed for SECONDS, then prints it as JSON
//!     (`{"changes": N, "participants": {pid: {"hand": bool, "mute": bool}}}`).

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const CONTROL: &str = "/v1/mmc/control/conferences";

struct Session {
    http: reqwest::Client,
    base: String,
    meeting: String,
    token: String,
}

impl Session {
    async fn login(base: &str, meeting: &str, password: &str) -> (Session, String) {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let answer: Value = http
            .get(format!("{base}{CONTROL}/token"))
            .query(&[("conferenceID", meeting)])
            .header("X-Password", password)
            .header("X-Login-Type", "1")
            .send()
            .await
            .expect("token call")
            .json()
            .await
            .expect("token answer");
        let token = answer["data"]["token"]
            .as_str()
            .expect("a token")
            .to_owned();
        let ws_url = answer["data"]["wsURL"]
            .as_str()
            .expect("a wsURL")
            .to_owned();
        let session = Session {
            http,
            base: base.to_owned(),
            meeting: meeting.to_owned(),
            token,
        };
        (session, ws_url)
    }

    /// The socket token, the upgrade and the subscription to the online list.
    async fn open(&self, ws_url: &str) -> Socket {
        let answer: Value = self
            .http
            .get(format!("{}{CONTROL}/wsToken", self.base))
            .query(&[("conferenceID", self.meeting.as_str())])
            .header("X-Conference-Authorization", &self.token)
            .send()
            .await
            .expect("wsToken call")
            .json()
            .await
            .expect("wsToken answer");
        let tmp = answer["webSocketToken"].as_str().expect("a socket token");
        let url = format!(
            "{ws_url}/cms/open/websocket/confctl/increment/conn?confID={}&tmpToken={tmp}",
            self.meeting
        );
        let (mut ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("upgrade");
        let data = json!({
            "conferenceID": self.meeting,
            "subscribeType": ["ParticipantsNotify"],
            "confToken": self.token,
        });
        let subscribe = json!({"action": "Subscribe", "sequence": format!("{:030}", 1), "data": data.to_string()});
        ws.send(Message::text(subscribe.to_string()))
            .await
            .expect("subscribe");
        ws
    }

    async fn lower(&self, pid: &str) {
        let response = self
            .http
            .put(format!("{}{CONTROL}/participants/hands", self.base))
            .query(&[
                ("conferenceID", self.meeting.as_str()),
                ("participantID", pid),
            ])
            .header("X-Conference-Authorization", &self.token)
            .header("content-type", "application/json")
            .body(r#"{"handsState":0}"#)
            .send()
            .await
            .expect("call answered");
        assert_eq!(response.status(), 200);
        response.bytes().await.expect("body");
    }
}

/// The online-list changes of one text frame: (pid, mode, keys).
fn changes(text: &str) -> Vec<(String, u64, BTreeMap<String, String>)> {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    if frame["action"] != "ParticipantsNotify" {
        return Vec::new();
    }
    frame["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| {
            let keys = item["pinfoMap"]
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                .collect();
            (
                item["pid"].as_str().unwrap_or("").to_owned(),
                item["mode"].as_u64().unwrap_or(0),
                keys,
            )
        })
        .collect()
}

async fn latency(session: &Session, ws: &mut Socket, pid: &str, count: usize) {
    let mut lowered = 0;
    while lowered < count {
        let Some(Ok(Message::Text(text))) = ws.next().await else {
            panic!("the feed closed");
        };
        let raised = changes(&text).iter().any(|(p, mode, keys)| {
            p == pid && *mode == 0 && keys.get("HAND").is_some_and(|h| h == "1")
        });
        if raised {
            session.lower(pid).await;
            lowered += 1;
        }
    }
}

async fn follow(ws: &mut Socket, seconds: u64) -> Value {
    let mut people: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut count: u64 = 0;
    let end = tokio::time::Instant::now() + Duration::from_secs(seconds);
    while let Ok(Some(Ok(message))) = tokio::time::timeout_at(end, ws.next()).await {
        let Message::Text(text) = message else {
            continue;
        };
        for (pid, mode, keys) in changes(&text) {
            count += 1;
            if mode == 1 {
                people.remove(&pid);
            } else {
                people.entry(pid).or_default().extend(keys);
            }
        }
    }
    let participants: BTreeMap<_, _> = people
        .iter()
        .filter(|(_, keys)| keys.get("STATE").is_some_and(|s| s == "0"))
        .map(|(pid, keys)| {
            let on = |k: &str| keys.get(k).is_some_and(|v| v == "1");
            (pid.clone(), json!({"hand": on("HAND"), "mute": on("MUTE")}))
        })
        .collect();
    json!({"changes": count, "participants": participants})
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let _ = rustls::crypto::ring::default_provider().install_default();
    match &args[1..] {
        [mode, base, meeting, password, pid, count] if mode == "latency" => {
            let (session, ws_url) = Session::login(base, meeting, password).await;
            let mut ws = session.open(&ws_url).await;
            latency(
                &session,
                &mut ws,
                pid,
                count.parse().expect("COUNT is a number"),
            )
            .await;
        }
        [mode, base, meeting, password, seconds] if mode == "follow" => {
            let (session, ws_url) = Session::login(base, meeting, password).await;
            let mut ws = session.open(&ws_url).await;
            let seconds = seconds.parse().expect("SECONDS is a number");
            println!("{}", follow(&mut ws, seconds).await);
        }
        _ => {
            eprintln!(
                "usage: feed_client latency BASE_URL MEETING PASSWORD PID COUNT\n       feed_client follow BASE_URL MEETING PASSWORD SECONDS"
            );
            std::process::exit(2);
        }
    }
}
