//! The live picture against the emulator started in process: it equals the emulator's
//! own view (a REST read) after changes, after faults and reconnects; and against a
//! hostile server it skips, reconnects and never hangs. Every wait is bounded.

use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::clock::SystemClock;
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
    let _ = rustls::crypto::ring::default_provider().install_default();
    Arc::new(
        Client::new(
            endpoint,
            MEETING,
            Credentials::Password(PASSWORD.into()),
            SystemClock::shared(),
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
