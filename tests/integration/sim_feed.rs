//! The emulator's push feed: the upgrade and its one-shot tokens, `Subscribe`, the
//! snapshots and increments, heartbeats, closing, the feed's faults and bounds. Every
//! receive has a timeout, so a feed that says nothing fails the test instead of
//! hanging it.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::support::*;

const FEED_PATH: &str = "/cms/open/websocket/confctl/increment/conn";
const ALL_TYPES: [&str; 6] = [
    "ConfBasicInfoNotify",
    "ConfDynamicInfoNotify",
    "ParticipantsNotify",
    "InviteResultNotify",
    "SpeakerChangeNotify",
    "WaitingListNotify",
];
/// How long a test waits for a frame it expects.
const WAIT: Duration = Duration::from_secs(5);
/// How long a test listens to be sure nothing comes.
const QUIET: Duration = Duration::from_millis(400);

/// What the test client sees next.
#[derive(Debug, PartialEq)]
enum Seen {
    Frame(Value),
    /// A close frame with its code.
    Closed(u16),
    /// The connection ended without a close frame.
    Dropped,
}

pub(crate) struct Feed {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Feed {
    async fn open(emu: &Emu, meeting: &str, tmp_token: &str) -> Feed {
        let answer = emu.token_call(MEETING, Some(PASSWORD), None).await;
        let base = answer.body["data"]["wsURL"].as_str().unwrap().to_owned();
        let url = format!("{base}{FEED_PATH}?confID={meeting}&tmpToken={tmp_token}");
        let (ws, _) = tokio::time::timeout(WAIT, connect_async(url))
            .await
            .expect("upgrade in time")
            .expect("upgrade accepted");
        Feed { ws }
    }

    /// Opens the feed with a fresh token from `GET …/wsToken`.
    async fn fresh(emu: &Emu, host: &Host<'_>) -> Feed {
        Feed::open(emu, MEETING, &ws_token(host).await).await
    }

    /// Opens, subscribes to `types` and reads the reply and the snapshots.
    pub(crate) async fn subscribed(
        emu: &Emu,
        host: &Host<'_>,
        types: &[&str],
    ) -> (Feed, Vec<Value>) {
        let mut feed = Feed::fresh(emu, host).await;
        let reply = feed
            .subscribe(&host.token, types, "000000000000000000000000000001")
            .await;
        assert_eq!(reply["data"]["returnCode"], 0, "{reply}");
        let mut snapshots = Vec::new();
        for _ in types.iter().filter(|t| ALL_TYPES.contains(t)) {
            snapshots.push(feed.frame().await);
        }
        (feed, snapshots)
    }

    async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .expect("send");
    }

    async fn subscribe(&mut self, token: &str, types: &[&str], sequence: &str) -> Value {
        let data = json!({"conferenceID": MEETING, "subscribeType": types, "confToken": token});
        self.send(json!({"action": "Subscribe", "sequence": sequence, "data": data.to_string()}))
            .await;
        self.frame().await
    }

    /// The next thing seen, within `limit`; `None` if nothing came.
    async fn within(&mut self, limit: Duration) -> Option<Seen> {
        loop {
            let next = tokio::time::timeout(limit, self.ws.next()).await.ok()?;
            return Some(match next {
                Some(Ok(Message::Text(text))) => Seen::Frame(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(frame))) => {
                    Seen::Closed(frame.map_or(1005, |f: CloseFrame| f.code.into()))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => Seen::Dropped,
            });
        }
    }

    async fn next(&mut self) -> Seen {
        self.within(WAIT)
            .await
            .expect("something from the feed in time")
    }

    pub(crate) async fn frame(&mut self) -> Value {
        match self.next().await {
            Seen::Frame(frame) => frame,
            other => panic!("expected a frame, saw {other:?}"),
        }
    }

    pub(crate) async fn quiet(&mut self) {
        let seen = self.within(QUIET).await;
        assert!(seen.is_none(), "expected nothing, saw {seen:?}");
    }
}

async fn ws_token(host: &Host<'_>) -> String {
    let answer = host.get("/wsToken").await;
    answer.ok();
    answer.body["webSocketToken"].as_str().unwrap().to_owned()
}

pub(crate) fn pinfo<'a>(frame: &'a Value, pid: &str) -> &'a Value {
    frame["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap_or_else(|| panic!("{pid} not in {frame}"))
}

#[tokio::test]
async fn ws_url_is_the_emulators_own_address_with_no_path() {
    let emu = Emu::start(TOWN_HALL).await;
    let answer = emu.token_call(MEETING, Some(PASSWORD), None).await;
    let expected = emu.handle.base_url().replacen("http://", "ws://", 1);
    assert_eq!(answer.body["data"]["wsURL"], expected.as_str());
    let types = answer.body["data"]["supportNotifyType"].as_array().unwrap();
    assert!(types.contains(&json!("WaitingListNotify")), "{types:?}");
}

#[tokio::test]
async fn a_bad_feed_token_is_accepted_then_closed_with_1008_and_no_frame() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;

    let mut unknown = Feed::open(&emu, MEETING, "not-a-token").await;
    assert_eq!(unknown.next().await, Seen::Closed(1008));

    // Used twice: the second upgrade is refused.
    let token = ws_token(&host).await;
    let mut first = Feed::open(&emu, MEETING, &token).await;
    let mut second = Feed::open(&emu, MEETING, &token).await;
    assert_eq!(second.next().await, Seen::Closed(1008));
    first.quiet().await;

    // Another meeting's token.
    let other = emu.host(OTHER_MEETING, OTHER_PASSWORD).await;
    let theirs = ws_token(&other).await;
    let mut wrong = Feed::open(&emu, MEETING, &theirs).await;
    assert_eq!(wrong.next().await, Seen::Closed(1008));

    // Expired after a minute on the emulator's clock; under a minute it opens.
    let late = ws_token(&host).await;
    let in_time = ws_token(&host).await;
    emu.advance("59s").await;
    let mut open = Feed::open(&emu, MEETING, &in_time).await;
    open.quiet().await;
    emu.advance("2s").await;
    let mut expired = Feed::open(&emu, MEETING, &late).await;
    assert_eq!(expired.next().await, Seen::Closed(1008));
}

#[tokio::test]
async fn the_token_answers_tmp_ws_token_opens_the_feed_once() {
    let emu = Emu::start(TOWN_HALL).await;
    let answer = emu.token_call(MEETING, Some(PASSWORD), None).await;
    let tmp = answer.body["data"]["tmpWsToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = answer.body["data"]["token"].as_str().unwrap().to_owned();
    let mut feed = Feed::open(&emu, MEETING, &tmp).await;
    let reply = feed.subscribe(&token, &[], "1").await;
    assert_eq!(reply["data"]["returnCode"], 0);
    let mut again = Feed::open(&emu, MEETING, &tmp).await;
    assert_eq!(again.next().await, Seen::Closed(1008));
}

#[tokio::test]
async fn subscribe_is_answered_then_one_snapshot_per_type() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut feed = Feed::fresh(&emu, &host).await;
    let sequence = "000000000000000001767225600000";
    let mut types = ALL_TYPES.to_vec();
    types.push("RealTimeSubtitleNotify");
    let reply = feed.subscribe(&host.token, &types, sequence).await;
    assert_eq!(
        reply,
        json!({"action": "Subscribe", "sequence": sequence,
               "data": {"returnCode": 0, "returnDesc": "SUCCESS"}})
    );
    let mut seen = Vec::new();
    for _ in 0..ALL_TYPES.len() {
        let frame = feed.frame().await;
        assert_eq!(frame["msgMode"], 0, "{frame}");
        assert_eq!(frame["version"], frame["createTime"], "{frame}");
        assert_eq!(frame["confID"], MEETING);
        assert_eq!(frame["msgID"].as_str().unwrap().len(), 32);
        seen.push(frame);
    }
    let actions: Vec<_> = seen.iter().map(|f| f["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ALL_TYPES);
    // Nothing for the type it does not model.
    feed.quiet().await;

    let basic = &seen[0];
    assert_eq!(basic["displayID"], MEETING);
    assert_eq!(basic["title"], "Town hall");
    assert_eq!(
        basic["pwds"],
        json!([{"role": "chair", "pwd": "123456"}, {"role": "general", "pwd": "654321"}])
    );
    assert!(basic["startTime"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(basic["scheduledStartTime"].is_string());

    let dynamic = &seen[1];
    assert_eq!(dynamic["state"], "Created");
    assert_eq!(dynamic["mode"], "FREE");
    assert_eq!(dynamic["lock"], 0);
    assert!(dynamic["endTime"].as_str().unwrap().parse::<i64>().is_ok());

    let people = &seen[2];
    assert_eq!(people["data"].as_array().unwrap().len(), 4);
    let bob = pinfo(people, &emu.pid(MEETING, "Bob Li").await);
    assert_eq!(bob["mode"], 0);
    let map = &bob["pinfoMap"];
    assert_eq!(map["NAME"], "Bob Li");
    assert_eq!(map["TEL"], "+8613800000002");
    assert_eq!(map["HAND"], "1");
    assert_eq!(map["MUTE"], "1");
    assert_eq!(map["VIDEO"], "1");
    assert_eq!(map["ROLE"], "0");
    assert_eq!(map.as_object().unwrap().len(), 13, "{map}");
    let alice = pinfo(people, &emu.pid(MEETING, "Alice Zhang").await);
    assert_eq!(alice["pinfoMap"]["ROLE"], "1");
    let dave = pinfo(people, &emu.pid(MEETING, "Dave Ma").await);
    assert_eq!(dave["pinfoMap"]["IS_COHOST"], "1");

    assert_eq!(seen[3]["data"], json!([]));
    assert!(seen[4].get("data").is_none(), "{}", seen[4]);
    assert_eq!(seen[5]["data"], json!([]));
}

#[tokio::test]
async fn a_bad_conf_token_or_another_meeting_is_forbidden_and_gets_no_pushes() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut feed = Feed::fresh(&emu, &host).await;
    let reply = feed.subscribe("nonsense", &ALL_TYPES, "7").await;
    assert_eq!(
        reply,
        json!({"action": "Subscribe", "sequence": "7",
               "data": {"returnCode": 111070121, "returnDesc": "FORBIDDEN_SUBSCRIBE"}})
    );
    emu.admin(
        "POST",
        &format!("/_sim/meetings/{MEETING}/participants"),
        Some(json!({"name": "Gina Lu"})),
    )
    .await;
    feed.quiet().await;

    let data = json!({"conferenceID": OTHER_MEETING, "subscribeType": ALL_TYPES,
                      "confToken": host.token});
    feed.send(json!({"action": "Subscribe", "sequence": "8", "data": data.to_string()}))
        .await;
    assert_eq!(feed.frame().await["data"]["returnCode"], 111070121);
    feed.quiet().await;

    // `data` as an object rather than a JSON string is not a subscription either.
    let data = json!({"subscribeType": ALL_TYPES, "confToken": host.token});
    feed.send(json!({"action": "Subscribe", "sequence": "9", "data": data}))
        .await;
    assert_eq!(feed.frame().await["data"]["returnCode"], 111070121);

    // The `Basic base64(token)` form, without a conference id, is accepted.
    let basic = format!("Basic {}", BASE64.encode(&host.token));
    let data = json!({"subscribeType": ["ConfDynamicInfoNotify"], "confToken": basic});
    feed.send(json!({"action": "Subscribe", "sequence": "10", "data": data.to_string()}))
        .await;
    assert_eq!(feed.frame().await["data"]["returnCode"], 0);
    assert_eq!(feed.frame().await["action"], "ConfDynamicInfoNotify");
}

#[tokio::test]
async fn joins_changes_and_leaves_arrive_as_increments_counting_from_one() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) = Feed::subscribed(&emu, &host, &["ParticipantsNotify"]).await;

    let joined = emu
        .admin(
            "POST",
            &format!("/_sim/meetings/{MEETING}/participants"),
            Some(json!({"name": "Gina Lu", "phone": "+8613800000007"})),
        )
        .await;
    let gina = joined.body["pid"].as_str().unwrap().to_owned();
    let join = feed.frame().await;
    assert_eq!(join["action"], "ParticipantsNotify");
    assert_eq!(join["msgMode"], 1);
    assert_eq!(join["version"], 1);
    let entry = pinfo(&join, &gina);
    assert_eq!(entry["mode"], 0);
    assert_eq!(entry["pinfoMap"].as_object().unwrap().len(), 13);
    assert_eq!(entry["pinfoMap"]["NAME"], "Gina Lu");

    host.put_to("/participants/hands", &gina, Some(json!({"handsState": 1})))
        .await
        .ok();
    let change = feed.frame().await;
    assert_eq!(change["version"], 2);
    assert_eq!(
        change["data"],
        json!([{"pid": gina, "mode": 0, "pinfoMap": {"HAND": "1"}}])
    );

    emu.admin(
        "DELETE",
        &format!("/_sim/meetings/{MEETING}/participants/{gina}"),
        None,
    )
    .await;
    let leave = feed.frame().await;
    assert_eq!(leave["version"], 3);
    assert_eq!(
        leave["data"],
        json!([{"pid": gina, "mode": 1, "pinfoMap": {}}])
    );
}

#[tokio::test]
async fn the_status_is_pushed_whole_after_lock_mute_all_and_broadcast() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) = Feed::subscribed(&emu, &host, &["ConfDynamicInfoNotify"]).await;

    host.put("/lock", json!({"isLock": 1})).await.ok();
    let locked = feed.frame().await;
    assert_eq!(
        (locked["version"].clone(), locked["lock"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(locked["state"], "Created");
    assert_eq!(locked["msgMode"], 1);

    host.put("/mute", json!({"isMute": 1})).await.ok();
    let muted = feed.frame().await;
    assert_eq!(muted["version"], 2);
    assert_eq!(
        (muted["lock"].clone(), muted["mute"].clone()),
        (json!(1), json!(1))
    );

    let bob = emu.pid(MEETING, "Bob Li").await;
    host.put_to("/participants/broadcast", &bob, None)
        .await
        .ok();
    let broadcast = feed.frame().await;
    assert_eq!(broadcast["version"], 3);
    assert_eq!(broadcast["mode"], "BROADCAST");
    // Only the status was subscribed: the broadcast flag on Bob is not pushed.
    feed.quiet().await;
}

#[tokio::test]
async fn invite_results_are_pushed_as_calls_settle() {
    let seed = TOWN_HALL.replace(
        "    guest_password: \"654321\"\n",
        "    guest_password: \"654321\"\n    invitees:\n      \"+8613800000009\": { outcome: busy, after: 5s }\n",
    );
    let emu = Emu::start(&seed).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) =
        Feed::subscribed(&emu, &host, &["ParticipantsNotify", "InviteResultNotify"]).await;
    host.post(
        "/participants",
        json!({"attendees": [{"name": "Frank Hu", "phone": "+8613800000009", "type": "normal"}]}),
    )
    .await
    .ok();
    let ringing = feed.frame().await;
    assert_eq!(ringing["action"], "ParticipantsNotify");
    let entry = &ringing["data"][0];
    assert_eq!(entry["pinfoMap"]["STATE"], "1");
    let frank = entry["pid"].as_str().unwrap().to_owned();

    emu.advance("6s").await;
    let mut frames = [feed.frame().await, feed.frame().await];
    frames.sort_by_key(|f| f["action"].as_str().unwrap().to_owned());
    assert_eq!(frames[0]["action"], "InviteResultNotify");
    assert_eq!(frames[0]["version"], 1);
    assert_eq!(
        frames[0]["data"],
        json!([{"callNumber": "+8613800000009", "resultCode": "111076008"}])
    );
    assert_eq!(
        frames[1]["data"],
        json!([{"pid": frank, "mode": 1, "pinfoMap": {}}])
    );

    // A later subscriber gets the latest result in its snapshot.
    let (_, snapshots) = Feed::subscribed(&emu, &host, &["InviteResultNotify"]).await;
    assert_eq!(
        snapshots[0]["data"],
        json!([{"callNumber": "+8613800000009", "resultCode": "111076008"}])
    );
}

#[tokio::test]
async fn a_later_subscribe_replaces_the_set_and_sends_fresh_snapshots() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) = Feed::subscribed(&emu, &host, &["ConfDynamicInfoNotify"]).await;
    let reply = feed
        .subscribe(&host.token, &["ParticipantsNotify"], "2")
        .await;
    assert_eq!(reply["data"]["returnCode"], 0);
    let snapshot = feed.frame().await;
    assert_eq!(
        (snapshot["action"].clone(), snapshot["msgMode"].clone()),
        (json!("ParticipantsNotify"), json!(0))
    );
    host.put("/lock", json!({"isLock": 1})).await.ok();
    feed.quiet().await;
}

#[tokio::test]
async fn heartbeats_are_echoed_and_other_frames_ignored() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut feed = Feed::fresh(&emu, &host).await;
    let beat = r#"{"action":"HeartBeat","sequence":"000000000000000001767225660000"}"#;
    feed.ws.send(Message::text(beat)).await.unwrap();
    match feed.next().await {
        Seen::Frame(frame) => assert_eq!(frame.to_string(), beat),
        other => panic!("{other:?}"),
    }
    feed.send(json!({"action": "ConfControl", "sequence": "1", "data": "{}"}))
        .await;
    feed.ws.send(Message::text("not json")).await.unwrap();
    feed.quiet().await;
}

#[tokio::test]
async fn without_a_heartbeat_for_180_seconds_the_feed_closes() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut feed = Feed::fresh(&emu, &host).await;
    emu.advance("179s").await;
    feed.quiet().await;
    // A heartbeat restarts the count.
    feed.send(json!({"action": "HeartBeat", "sequence": "1"}))
        .await;
    feed.frame().await;
    emu.advance("179s").await;
    feed.quiet().await;
    emu.advance("1s").await;
    assert_eq!(feed.next().await, Seen::Closed(1000));
}

#[tokio::test]
async fn the_meeting_ending_pushes_destroyed_then_closes() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) = Feed::subscribed(
        &emu,
        &host,
        &["ConfDynamicInfoNotify", "ParticipantsNotify"],
    )
    .await;
    host.put("/stop", json!({})).await.ok();
    let gone = feed.frame().await;
    assert_eq!(gone["action"], "ParticipantsNotify");
    assert_eq!(gone["data"].as_array().unwrap().len(), 4, "everyone leaves");
    let last = feed.frame().await;
    assert_eq!(last["action"], "ConfDynamicInfoNotify");
    assert_eq!(last["state"], "Destroyed");
    assert_eq!(feed.next().await, Seen::Closed(1000));
}

#[tokio::test]
async fn a_client_frame_over_64_kib_closes_the_feed() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut feed = Feed::fresh(&emu, &host).await;
    let huge = format!(
        r#"{{"action":"HeartBeat","sequence":"{}"}}"#,
        "0".repeat(70_000)
    );
    let _ = feed.ws.send(Message::text(huge)).await;
    match feed.next().await {
        Seen::Closed(code) => assert_eq!(code, 1009),
        Seen::Dropped => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_meeting_takes_at_most_64_feeds() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut feeds = Vec::new();
    for _ in 0..64 {
        feeds.push(Feed::fresh(&emu, &host).await);
    }
    let mut extra = Feed::fresh(&emu, &host).await;
    assert_eq!(extra.next().await, Seen::Closed(1013));
    // Another meeting is not affected, and a closed feed frees its place.
    drop(feeds.pop());
    let mut again = None;
    for _ in 0..50 {
        let mut feed = Feed::fresh(&emu, &host).await;
        if feed.within(Duration::from_millis(100)).await.is_none() {
            again = Some(feed);
            break;
        }
    }
    assert!(
        again.is_some(),
        "a place freed by a closed feed is taken again"
    );
}

#[tokio::test]
async fn the_drop_fault_drops_the_socket_after_n_pushes() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    emu.faults(json!({"feed": {"drop_after": 2}})).await;
    let mut feed = Feed::fresh(&emu, &host).await;
    let reply = feed.subscribe(&host.token, &ALL_TYPES, "1").await;
    assert_eq!(reply["data"]["returnCode"], 0);
    assert_eq!(feed.frame().await["action"], "ConfBasicInfoNotify");
    assert_eq!(feed.frame().await["action"], "ConfDynamicInfoNotify");
    assert_eq!(feed.next().await, Seen::Dropped);
    // Shown with the other faults.
    let faults = emu.admin("GET", "/_sim/faults", None).await;
    assert_eq!(faults.body["feed"], json!({"drop_after": 2}));
}

#[tokio::test]
async fn the_admin_api_drops_every_open_feed_on_demand() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) = Feed::subscribed(&emu, &host, &["ConfDynamicInfoNotify"]).await;
    let mut other = Feed::fresh(&emu, &host).await;
    assert_eq!(emu.admin("POST", "/_sim/feed/drop", None).await.status, 204);
    assert_eq!(feed.next().await, Seen::Dropped);
    assert_eq!(other.next().await, Seen::Dropped);
    // New connections are not affected.
    let (mut fresh, _) = Feed::subscribed(&emu, &host, &["ConfDynamicInfoNotify"]).await;
    fresh.quiet().await;
}

#[tokio::test]
async fn the_delay_fault_holds_pushes_but_not_replies() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    emu.faults(json!({"feed": {"delay": "1500ms"}})).await;
    let mut feed = Feed::fresh(&emu, &host).await;
    let started = std::time::Instant::now();
    let reply = feed
        .subscribe(&host.token, &["ConfDynamicInfoNotify"], "1")
        .await;
    assert_eq!(reply["data"]["returnCode"], 0);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "the reply is not held"
    );
    let snapshot = feed.frame().await;
    assert_eq!(snapshot["msgMode"], 0);
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "the push is held"
    );
}

#[tokio::test]
async fn the_lose_fault_skips_one_increment_and_leaves_a_version_gap() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    emu.faults(json!({"seed": 7, "feed": {"lose_nth": 2}}))
        .await;
    let (mut feed, _) = Feed::subscribed(&emu, &host, &["ConfDynamicInfoNotify"]).await;
    for (lock, expect) in [(1, Some(1)), (0, None), (1, Some(3))] {
        host.put("/lock", json!({"isLock": lock})).await.ok();
        match expect {
            Some(version) => {
                let frame = feed.frame().await;
                assert_eq!(frame["version"], version, "{frame}");
                assert_eq!(frame["lock"], lock);
            }
            None => feed.quiet().await,
        }
    }
}

#[tokio::test]
async fn people_placed_in_the_waiting_room_are_pushed_and_listed_but_not_online() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) =
        Feed::subscribed(&emu, &host, &["WaitingListNotify", "ParticipantsNotify"]).await;
    let placed = emu
        .admin(
            "POST",
            &format!("/_sim/meetings/{MEETING}/waiting"),
            Some(json!({"name": "Hana Xu", "phone": "+8613800000008"})),
        )
        .await;
    assert_eq!(placed.status, 201, "{placed:?}");
    let pid = placed.body["pid"].as_str().unwrap().to_owned();
    let frame = feed.frame().await;
    assert_eq!(frame["action"], "WaitingListNotify");
    assert_eq!(frame["msgMode"], 1);
    assert_eq!(frame["version"], 1);
    let entry = pinfo(&frame, &pid);
    assert_eq!(entry["mode"], 0);
    assert_eq!(entry["pinfoMap"]["NAME"], "Hana Xu");
    assert_eq!(entry["pinfoMap"]["WAITINGSTATE"], "0");
    // Not online: no ParticipantsNotify, and not in realTimeInfo.
    feed.quiet().await;
    let info = host.get("/realTimeInfo").await;
    assert!(!info.body.to_string().contains("Hana Xu"), "{}", info.body);
    let state = emu.meeting(MEETING).await;
    assert_eq!(state["waiting"][0]["name"], "Hana Xu");
    assert_eq!(state["waiting"][0]["pid"], pid.as_str());

    // A later subscriber sees them in its snapshot.
    let (_, snapshots) = Feed::subscribed(&emu, &host, &["WaitingListNotify"]).await;
    assert_eq!(
        pinfo(&snapshots[0], &pid)["pinfoMap"]["TEL"],
        "+8613800000008"
    );

    // Bad input is refused with the admin API's errors.
    let bad = emu
        .admin(
            "POST",
            &format!("/_sim/meetings/{MEETING}/waiting"),
            Some(json!({"nme": 1})),
        )
        .await;
    assert_eq!(bad.status, 400, "{bad:?}");
    let missing = emu
        .admin(
            "POST",
            "/_sim/meetings/123123123/waiting",
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(missing.status, 404, "{missing:?}");
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_not_buffered_for() {
    // A big meeting, so that every snapshot is large and the socket's buffers fill.
    let mut yaml = String::from(
        "meetings:\n  - id: \"914044873\"\n    host_password: \"123456\"\n    participants:\n",
    );
    for n in 0..300 {
        yaml.push_str(&format!(
            "      - {{ name: Person {n:03} with a long enough name }}\n"
        ));
    }
    let emu = Emu::start(&yaml).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let mut feed = Feed::fresh(&emu, &host).await;
    let data = json!({"subscribeType": ["ParticipantsNotify"], "confToken": host.token});
    let subscribe = json!({"action": "Subscribe", "sequence": "1", "data": data.to_string()});
    let mut closed = false;
    // The client asks for snapshot after snapshot and reads none of them.
    for _ in 0..2_000 {
        let sent =
            tokio::time::timeout(QUIET, feed.ws.send(Message::text(subscribe.to_string()))).await;
        if !matches!(sent, Ok(Ok(()))) || emu.handle.feed_connections(MEETING) == 0 {
            closed = true;
            break;
        }
    }
    for _ in 0..50 {
        if emu.handle.feed_connections(MEETING) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(closed, "the client could write on for ever");
    assert_eq!(
        emu.handle.feed_connections(MEETING),
        0,
        "a client this far behind is closed"
    );
}

#[tokio::test]
async fn leaving_is_reported_with_its_reason_in_invite_results() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) = Feed::subscribed(&emu, &host, &["InviteResultNotify"]).await;
    let carol = emu.pid(MEETING, "Carol Wu").await;
    host.post(
        "/participants/delete",
        json!({"bulkHangUpParticipants": [carol]}),
    )
    .await
    .ok();
    let hung_up = feed.frame().await;
    assert_eq!(
        hung_up["data"],
        json!([{"callNumber": "+8613800000003", "resultCode": "111076002"}])
    );
    let bob = emu.pid(MEETING, "Bob Li").await;
    emu.admin(
        "DELETE",
        &format!("/_sim/meetings/{MEETING}/participants/{bob}"),
        None,
    )
    .await;
    let left = feed.frame().await;
    assert_eq!(left["version"], 2);
    assert_eq!(
        left["data"],
        json!([{"callNumber": "+8613800000002", "resultCode": "111076010"}])
    );
}

#[tokio::test]
async fn under_tls_ws_url_is_wss_with_no_path() {
    let options = emcee::sim::SimOptions {
        tls: true,
        ..Default::default()
    };
    let emu = Emu::start_with(TOWN_HALL, options).await;
    let answer = emu.token_call(MEETING, Some(PASSWORD), None).await;
    let expected = emu.handle.base_url().replacen("https://", "wss://", 1);
    assert!(expected.starts_with("wss://"));
    assert_eq!(answer.body["data"]["wsURL"], expected.as_str());
}

#[tokio::test]
async fn stopping_the_emulator_closes_its_feeds_as_going_away() {
    let emu = Emu::start(TOWN_HALL).await;
    let host = emu.host(MEETING, PASSWORD).await;
    let (mut feed, _) = Feed::subscribed(&emu, &host, &["ConfDynamicInfoNotify"]).await;
    drop(host);
    let Emu { handle, client } = emu;
    drop(client);
    tokio::time::timeout(WAIT, handle.stop())
        .await
        .expect("the emulator stops in time");
    assert_eq!(feed.next().await, Seen::Closed(1001));
}
