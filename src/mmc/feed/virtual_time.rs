//! The feed on virtual time, as a fast-forwarded rehearsal runs it: the emulator in
//! process and the client on the same clock, while the runner's own wait moves time.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

use super::{Body, Client};
use crate::clock::{Busy, Clock, SharedClock, VirtualClock, Wait, WakeUp};
use crate::meeting::{MeetingId, MeetingSeed};
use crate::mmc::Credentials;
use crate::sim::{Seed, SimOptions};

const MEETING: &str = "914044873";
const PASSWORD: &str = "host-pw-123";

type Instants = Arc<Mutex<Vec<Timestamp>>>;

/// The run's clock, noting the time whenever one of its passive waits ends: for the
/// feed client, that is each heartbeat.
#[derive(Debug)]
struct Noting {
    clock: Arc<VirtualClock>,
    woken: Instants,
}

impl Clock for Noting {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }
    fn advance(&self, by: SignedDuration) {
        self.clock.advance(by);
    }
    fn sleep_until(&self, at: Timestamp) -> Wait {
        self.clock.sleep_until(at)
    }
    fn is_virtual(&self) -> bool {
        true
    }
    fn wake_at(&self, at: Timestamp) -> WakeUp {
        let wake = self.clock.wake_at(at);
        let (clock, woken) = (Arc::clone(&self.clock), Arc::clone(&self.woken));
        Box::pin(async move {
            let busy = wake.await;
            woken.lock().unwrap().push(clock.now());
            busy
        })
    }
    fn busy(&self) -> Busy {
        self.clock.busy()
    }
}

/// The emulator in process on a virtual clock with one meeting of `participants`, and
/// a client of it on the same clock, whose passive waits end noted in `woken`.
async fn rehearsal(
    participants: serde_json::Value,
    start: Timestamp,
    woken: &Instants,
) -> (Arc<VirtualClock>, crate::sim::SimHandle, Client) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let clock = VirtualClock::starting_at(start);
    let mut meeting: MeetingSeed =
        serde_json::from_value(serde_json::json!({ "participants": participants })).unwrap();
    meeting.id = Some(MeetingId(MEETING.to_owned()));
    meeting.host_password = Some(PASSWORD.to_owned());
    let sim = crate::sim::start_with(
        Seed {
            meetings: vec![meeting],
            ..Seed::default()
        },
        SimOptions {
            clock: Arc::clone(&clock) as SharedClock,
            ..SimOptions::default()
        },
    )
    .await
    .unwrap();
    let run_clock: SharedClock = Arc::new(Noting {
        clock: Arc::clone(&clock),
        woken: Arc::clone(woken),
    });
    let client = Client::new(
        sim.base_url(),
        MEETING,
        Credentials::Password(PASSWORD.into()),
        run_clock,
        Arc::new(|_: &str| {}),
    )
    .unwrap();
    (clock, sim, client)
}

#[tokio::test]
async fn a_long_virtual_wait_keeps_the_feed_beating_and_sees_a_hand_at_its_instant() {
    let start: Timestamp = "2026-12-02T09:00:00Z".parse().unwrap();
    let at = |mins: i64| start + SignedDuration::from_mins(mins);
    let heart_beats = Instants::default();
    let participants = serde_json::json!([
        {"name": "Alice Zhang", "role": "host"},
        {"name": "Bob Li", "raises_hand_after": "2m"},
        // Between two heartbeats: only the emulator's own wake-up carries it out.
        {"name": "Carol Wu", "raises_hand_after": "2m 30s"},
    ]);
    let (clock, sim, client) = rehearsal(participants, start, &heart_beats).await;
    let reader_clock = Arc::clone(&clock);
    let mut feed = client.open_feed().await.unwrap();
    assert_eq!(clock.now(), start, "opening the feed took no virtual time");

    // What the client saw of raised hands: each frame's createTime, and the time then.
    let hands = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&hands);
    let reader = tokio::spawn(async move {
        // Ends only when the feed closes.
        while let Ok(frame) = feed.next().await {
            let Body::Participants(changes) = &frame.body else {
                continue;
            };
            if !frame.full
                && changes
                    .iter()
                    .any(|c| c.pinfo_map.get("HAND").is_some_and(|h| h == "1"))
            {
                seen.lock().unwrap().push((frame.at, reader_clock.now()));
            }
        }
    });

    // The runner's `wait: 10m`.
    tokio::time::timeout(
        std::time::Duration::from_secs(20),
        clock.sleep_until(at(10)),
    )
    .await
    .expect("ten virtual minutes take little real time");

    assert_eq!(clock.now(), at(10));
    let half_past = at(2) + SignedDuration::from_secs(30);
    assert_eq!(
        *hands.lock().unwrap(),
        [(Some(at(2)), at(2)), (Some(half_past), half_past)],
        "each pushed at its instant and seen before time moved on"
    );
    assert_eq!(
        *heart_beats.lock().unwrap(),
        (1..=10).map(at).collect::<Vec<_>>(),
        "a heartbeat every minute"
    );
    assert!(!reader.is_finished(), "the feed is still open: {reader:?}");
    assert_eq!(sim.feed_connections(MEETING), 1);
    let meeting = sim.meeting(MEETING).unwrap();
    let hands_up = meeting.participants.iter().filter(|p| p.hand).count();
    assert_eq!(hands_up, 2);
    reader.abort();
    sim.stop().await;
}

#[tokio::test]
async fn a_feed_nobody_beats_is_closed_three_virtual_minutes_after_it_opened() {
    let start: Timestamp = "2026-12-02T09:00:00Z".parse().unwrap();
    let at = |secs: i64| start + SignedDuration::from_secs(secs);
    let woken = Instants::default();
    let host = serde_json::json!([{"name": "Alice Zhang", "role": "host"}]);
    let (clock, sim, client) = rehearsal(host, start, &woken).await;
    // Opened, and then never read: no heartbeat goes out.
    let mut feed = client.open_feed().await.unwrap();
    clock.sleep_until(at(179)).await;
    assert_eq!(
        sim.feed_connections(MEETING),
        1,
        "open until the 180th second"
    );
    clock.sleep_until(at(180)).await;
    assert_eq!(sim.feed_connections(MEETING), 0, "closed at its instant");
    // The snapshots sent on subscribing, then the close.
    let rest = async {
        loop {
            if let Err(closed) = feed.next().await {
                return closed;
            }
        }
    };
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), rest).await;
    assert!(closed.is_ok(), "the client hears the close");
    sim.stop().await;
}
