//! The live picture against the emulator started in process: it equals the emulator's
//! own view (a REST read) after changes, after faults and reconnects; and against a
//! hostile server it skips, reconnects and never hangs. Every wait is bounded.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::clock::SystemClock;
use crate::meeting::feed::NotifyType;
use crate::meeting::{Api, Roster};
use crate::mmc::{Credentials, Request};
use crate::sim::{Seed, SimHandle, SimOptions};
use crate::source::SourceFile;

const MEETING: &str = "914044873";
const PASSWORD: &str = "123456";
/// The longest any test waits for something it expects.
const WAIT: Duration = Duration::from_secs(15);

const SEED: &str = r#"
meetings:
  - id: "914044873"
    subject: Town hall
    host_password: "123456"
    participants:
      - { name: Alice Zhang, phone: "+8613800000001", role: host }
      - { name: Bob Li, phone: "+8613800000002", hand: raised }
      - { name: Carol Wu, phone: "+8613800000003" }
"#;

async fn emulator() -> SimHandle {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let seed = Seed::parse(&SourceFile::new("seed.yaml", SEED)).expect("the seed parses");
    crate::sim::start_with(seed, SimOptions::default())
        .await
        .expect("the emulator starts")
}

fn client_of(endpoint: &str) -> Arc<Client> {
    client_on(endpoint, SystemClock::shared())
}

fn client_on(endpoint: &str, clock: SharedClock) -> Arc<Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Arc::new(
        Client::new(
            endpoint,
            MEETING,
            Credentials::Password(PASSWORD.into()),
            clock,
            Arc::new(|_: &str| {}),
        )
        .expect("a client"),
    )
}

/// The emulator's admin API.
async fn admin(sim: &SimHandle, method: reqwest::Method, path: &str, body: Value) -> Value {
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("the admin API answers");
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap_or(Value::Null)
}

async fn join(sim: &SimHandle, name: &str) -> String {
    let view = admin(
        sim,
        reqwest::Method::POST,
        &format!("/_sim/meetings/{MEETING}/participants"),
        json!({ "name": name }),
    )
    .await;
    view["pid"].as_str().expect("a pid").to_owned()
}

async fn hand(sim: &SimHandle, pid: &str, raised: bool) {
    admin(
        sim,
        reqwest::Method::PUT,
        &format!("/_sim/meetings/{MEETING}/participants/{pid}/hand"),
        json!({ "raised": raised }),
    )
    .await;
}

async fn faults(sim: &SimHandle, feed: Value) {
    admin(
        sim,
        reqwest::Method::PUT,
        "/_sim/faults",
        json!({ "feed": feed }),
    )
    .await;
}

/// The online list as a REST read gives it now.
async fn read(client: &Client) -> Roster {
    let answer = client
        .send(&Request::to(Api::RealTimeInfo))
        .await
        .expect("the read answers");
    Roster::parse(&answer.body).expect("a roster")
}

/// Waits (bounded) until the state satisfies `what`; the state then.
async fn until(live: &Live, what: impl Fn(&LiveState) -> bool) -> LiveState {
    let mut changes = live.subscribe();
    let waited = tokio::time::timeout(WAIT, async {
        loop {
            let now = changes.borrow_and_update().clone();
            if what(&now) {
                return now;
            }
            changes.changed().await.expect("the live state stays open");
        }
    })
    .await;
    match waited {
        Ok(state) => state,
        Err(_) => panic!("not in time; the state is {:?}", live.state()),
    }
}

/// Waits until the picture's roster equals a REST read, and returns it.
async fn agrees_with_the_emulator(live: &Live, client: &Client) -> Roster {
    let truth = read(client).await;
    let same = |s: &LiveState| {
        s.health == Health::Up && {
            let roster = s.picture.roster();
            roster.participants == truth.participants && roster.arriving == truth.arriving
        }
    };
    until(live, same).await;
    truth
}

fn hand_names(picture: &Picture) -> Vec<String> {
    picture.hands().into_iter().map(|h| h.name).collect()
}

#[tokio::test]
async fn the_picture_is_the_meeting_and_follows_it() {
    let sim = emulator().await;
    let client = client_of(sim.base_url());
    let live = Live::start(Arc::clone(&client), SystemClock::shared());
    assert!(live.picture().is_none() || live.state().health == Health::Up);
    live.opened(WAIT).await.expect("the feed opens");
    let picture = live.picture().expect("up with a snapshot");
    assert_eq!(
        picture.roster().participants,
        read(&client).await.participants
    );
    assert_eq!(hand_names(&picture), ["Bob Li"]);
    assert!(!picture.hands()[0].order_known);
    assert_eq!(picture.locked(), Some(false));

    let eve = join(&sim, "Eve Sun").await;
    hand(&sim, &eve, true).await;
    let state = until(&live, |s| s.picture.hands().len() == 2).await;
    assert_eq!(hand_names(&state.picture), ["Bob Li", "Eve Sun"]);
    assert!(state.picture.hands()[1].order_known);
    agrees_with_the_emulator(&live, &client).await;
    assert_eq!(live.skipped(), 0);
    assert_eq!(live.state().health, Health::Up, "never down");

    admin(
        &sim,
        reqwest::Method::POST,
        &format!("/_sim/meetings/{MEETING}/end"),
        json!({}),
    )
    .await;
    let state = until(&live, |s| s.picture.ended()).await;
    assert_eq!(
        state.health,
        Health::Up,
        "an ended meeting is not a lost feed"
    );
}

#[tokio::test]
async fn a_feed_that_cannot_open_says_why() {
    // Nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let live = Live::start(
        client_of(&format!("http://{address}")),
        SystemClock::shared(),
    );
    let why = live.opened(WAIT).await.expect_err("it cannot open");
    assert!(!why.is_empty());
    assert!(live.picture().is_none());
    assert!(matches!(
        live.state().health,
        Health::Down { episode: 1, .. }
    ));
}

#[tokio::test]
async fn opened_gives_up_after_its_time() {
    // A server that accepts and never answers: the token call hangs (its own timeout
    // is longer than this wait).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let _server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let live = Live::start(
        client_of(&format!("http://{address}")),
        SystemClock::shared(),
    );
    let started = std::time::Instant::now();
    let why = live
        .opened(Duration::from_millis(300))
        .await
        .expect_err("not open in time");
    assert!(why.contains("did not open"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// The meeting as a new connection's snapshot shows it: the emulator's own view.
async fn emulator_picture(client: &Client) -> Picture {
    let mut feed = tokio::time::timeout(WAIT, client.open_feed())
        .await
        .expect("opens in time")
        .expect("the feed opens");
    let mut picture = Picture::default();
    while !NotifyType::ALL.iter().all(|kind| picture.knows(*kind)) {
        let frame = tokio::time::timeout(WAIT, feed.next())
            .await
            .expect("the snapshot in time")
            .expect("the snapshot");
        picture.apply(&frame);
    }
    picture
}

/// Whether two pictures show the same meeting: the same people in the same states,
/// status, waiting room, invitation results, and hands up (their order may differ: a
/// snapshot cannot know it).
fn same_meeting(live: &Picture, truth: &Picture) -> bool {
    let pids = |p: &Picture| {
        let mut pids: Vec<String> = p.hands().into_iter().map(|h| h.pid).collect();
        pids.sort();
        pids
    };
    let (a, b) = (live.roster(), truth.roster());
    a.participants == b.participants
        && a.arriving == b.arriving
        && live.dynamic() == truth.dynamic()
        && live.waiting() == truth.waiting()
        && live.invites().eq(truth.invites())
        && pids(live) == pids(truth)
}

/// Waits until the live picture, up, shows what the emulator shows. Faults must be
/// cleared first: the emulator's view is read through a new connection.
async fn agrees_with_the_emulator_feed(live: &Live, client: &Client) {
    let truth = emulator_picture(client).await;
    until(live, |s| {
        s.health == Health::Up && same_meeting(&s.picture, &truth)
    })
    .await;
    let picture = live.picture().expect("up");
    let mut pids: Vec<String> = picture.hands().into_iter().map(|h| h.pid).collect();
    let raised = pids.len();
    pids.dedup();
    assert_eq!(pids.len(), raised, "no hand twice");
}

/// Every distinct health the live state goes through, in order.
fn record(live: &Live) -> Arc<std::sync::Mutex<Vec<Health>>> {
    let seen = Arc::new(std::sync::Mutex::new(vec![live.state().health]));
    let mut changes = live.subscribe();
    let into = Arc::clone(&seen);
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            let health = changes.borrow_and_update().health.clone();
            let mut seen = into.lock().unwrap();
            if seen.last() != Some(&health) {
                seen.push(health);
            }
        }
    });
    seen
}

/// The healths seen, down ones reduced to their episode.
fn episodes(seen: &std::sync::Mutex<Vec<Health>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|h| match h {
            Health::Connecting => "connecting".to_owned(),
            Health::Up => "up".to_owned(),
            Health::Down { episode, .. } => format!("down {episode}"),
        })
        .collect()
}

async fn started(sim: &SimHandle) -> (Arc<Client>, Live, Arc<std::sync::Mutex<Vec<Health>>>) {
    let client = client_of(sim.base_url());
    let live = Live::start(Arc::clone(&client), SystemClock::shared());
    let seen = record(&live);
    live.opened(WAIT).await.expect("the feed opens");
    (client, live, seen)
}

async fn drop_feeds(sim: &SimHandle) {
    admin(sim, reqwest::Method::POST, "/_sim/feed/drop", json!({})).await;
}

#[tokio::test]
async fn a_dropped_feed_is_opened_again_and_rebuilt_from_its_snapshot() {
    let sim = emulator().await;
    let (client, live, seen) = started(&sim).await;
    drop_feeds(&sim).await;
    let down = until(&live, |s| s.health != Health::Up).await;
    assert!(
        matches!(&down.health, Health::Down { episode: 1, why } if why.contains("feed")),
        "{down:?}"
    );
    assert!(live.picture().is_none(), "not trusted while down");
    // Changes made while it is down arrive with the new snapshot.
    let eve = join(&sim, "Eve Sun").await;
    hand(&sim, &eve, true).await;
    agrees_with_the_emulator_feed(&live, &client).await;
    let picture = live.picture().expect("up again");
    assert_eq!(hand_names(&picture), ["Bob Li", "Eve Sun"]);
    assert_eq!(episodes(&seen), ["connecting", "up", "down 1", "up"]);
}

#[tokio::test]
async fn a_feed_dropped_after_some_pushes_comes_back_each_time() {
    let sim = emulator().await;
    let (client, live, seen) = started(&sim).await;
    // Six snapshots and one change, then the socket drops: on every new connection.
    faults(&sim, json!({"drop_after": 7})).await;
    drop_feeds(&sim).await;
    until(&live, |s| matches!(s.health, Health::Down { .. })).await;
    until(&live, |s| s.health == Health::Up).await;
    let eve = join(&sim, "Eve Sun").await;
    until(&live, |s| {
        matches!(s.health, Health::Down { episode: 2, .. })
    })
    .await;
    hand(&sim, &eve, true).await;
    until(&live, |s| s.health == Health::Up).await;
    faults(&sim, json!({})).await;
    agrees_with_the_emulator_feed(&live, &client).await;
    assert_eq!(
        episodes(&seen)[..5],
        ["connecting", "up", "down 1", "up", "down 2"]
    );
}

#[tokio::test]
async fn a_feed_that_drops_during_its_snapshot_stays_down_in_one_episode_until_it_can_open() {
    let sim = emulator().await;
    let (client, live, seen) = started(&sim).await;
    // The status's snapshot, then the socket drops: the online list never comes.
    faults(&sim, json!({"drop_after": 2})).await;
    drop_feeds(&sim).await;
    until(&live, |s| matches!(s.health, Health::Down { .. })).await;
    // Two attempts (after 1 s, then 2 s more) fail within the episode.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(live.picture().is_none());
    faults(&sim, json!({})).await;
    agrees_with_the_emulator_feed(&live, &client).await;
    assert_eq!(episodes(&seen), ["connecting", "up", "down 1", "up"]);
}

#[tokio::test]
async fn a_lost_message_is_seen_as_a_gap_and_the_picture_rebuilt() {
    let sim = emulator().await;
    let (client, live, seen) = started(&sim).await;
    // The second change of each new connection never arrives.
    faults(&sim, json!({"lose_nth": 2})).await;
    drop_feeds(&sim).await;
    until(&live, |s| matches!(s.health, Health::Down { .. })).await;
    until(&live, |s| s.health == Health::Up).await;
    let eve = join(&sim, "Eve Sun").await;
    until(&live, |s| s.picture.roster().participants.len() == 4).await;
    hand(&sim, &eve, true).await; // lost
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        hand_names(&live.picture().expect("up: nothing seen yet")),
        ["Bob Li"]
    );
    let dan = join(&sim, "Dan Ma").await; // a gap: down, and rebuilt
    let down = until(&live, |s| {
        matches!(s.health, Health::Down { episode: 2, .. })
    })
    .await;
    assert!(
        matches!(&down.health, Health::Down { why, .. } if why.contains("ParticipantsNotify")),
        "{down:?}"
    );
    faults(&sim, json!({})).await;
    agrees_with_the_emulator_feed(&live, &client).await;
    let picture = live.picture().expect("up");
    assert_eq!(hand_names(&picture), ["Bob Li", "Eve Sun"]);
    assert!(picture.person(&dan).is_some());
    assert_eq!(
        episodes(&seen),
        ["connecting", "up", "down 1", "up", "down 2", "up"]
    );
}

#[tokio::test]
async fn delayed_pushes_still_make_the_same_picture() {
    let sim = emulator().await;
    let (client, live, seen) = started(&sim).await;
    faults(&sim, json!({"delay": "300ms"})).await;
    drop_feeds(&sim).await;
    until(&live, |s| matches!(s.health, Health::Down { .. })).await;
    until(&live, |s| s.health == Health::Up).await;
    let eve = join(&sim, "Eve Sun").await;
    hand(&sim, &eve, true).await;
    hand(&sim, &eve, false).await;
    hand(&sim, &eve, true).await;
    until(&live, |s| s.picture.hands().len() == 2).await;
    faults(&sim, json!({})).await;
    agrees_with_the_emulator_feed(&live, &client).await;
    assert_eq!(episodes(&seen), ["connecting", "up", "down 1", "up"]);
}

mod hostile;

#[tokio::test]
async fn a_meeting_that_ends_while_the_feed_is_down_stops_the_task() {
    let sim = emulator().await;
    let (_client, live, seen) = started(&sim).await;
    drop_feeds(&sim).await;
    until(&live, |s| s.health != Health::Up).await;
    // Ended before the feed is opened again (a pause of a second): its last word,
    // `Destroyed`, never comes, and opening it again is refused as over.
    admin(
        &sim,
        reqwest::Method::POST,
        &format!("/_sim/meetings/{MEETING}/end"),
        json!({}),
    )
    .await;
    tokio::time::timeout(WAIT, async {
        while !live.task.is_finished() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the task stops instead of trying again for ever");
    assert_eq!(episodes(&seen), ["connecting", "up", "down 1"]);
}
