//! One feed connection: reads the client's frames (`Subscribe`, `HeartBeat`), pushes
//! snapshots and then the changes it sees in the meeting, and closes when the meeting
//! ends or the heartbeats stop. What to say is decided by [`Session`] without I/O;
//! [`run`] moves frames between it and the socket. Outgoing frames go through a
//! bounded queue to a writer task, so a client that stops reading is closed rather
//! than buffered for.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::{mpsc, watch};

use super::super::control::decode_token;
use super::super::meeting::Meeting;
use super::super::state::{Sim, SimState};
use super::FeedFaults;
use super::frames::{self, Picture};
use crate::clock::Busy;
use crate::meeting::feed::{
    ClientFrame, FORBIDDEN_SUBSCRIBE, HEART_BEAT, Notify, NotifyType, Payload, ReturnData,
    SUBSCRIBE, SubscribeData, SubscribeReply,
};

/// Without a `HeartBeat` for this long on the emulator's clock, the socket closes.
pub(super) const HEARTBEAT_TIMEOUT: SignedDuration = SignedDuration::from_secs(180);
/// Frames waiting for a slow client; one more closes its connection.
pub(super) const OUTBOX: usize = 64;
/// How often an idle connection looks at the clock (heartbeats, scheduled events).
const TICK: std::time::Duration = std::time::Duration::from_millis(100);
/// How long a closing connection waits for its last frames to go out.
const FLUSH: std::time::Duration = std::time::Duration::from_secs(2);

/// Numbers connections, so that every message id is unique in the emulator.
static CONNECTIONS: AtomicU64 = AtomicU64::new(0);

/// A frame for the writer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Out {
    /// An answer to the client (`Subscribe` reply, `HeartBeat` echo).
    Reply(String),
    /// A pushed message, subject to the delay fault.
    Push(String),
}

/// How a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum End {
    /// A close frame with this code, after what is queued.
    Close(u16),
    /// The socket dropped without a close frame (fault).
    Drop,
}

/// What the session says in answer to one thing happening.
#[derive(Debug, Default)]
pub(super) struct Reaction {
    pub out: Vec<Out>,
    pub end: Option<End>,
}

/// One connection's conversation, decided without I/O.
#[derive(Debug)]
pub(super) struct Session {
    conference: String,
    /// The meeting's session when the connection opened: a reopened meeting is a new one.
    meeting_session: u32,
    connection: u64,
    subscribed: BTreeSet<NotifyType>,
    picture: Picture,
    versions: HashMap<NotifyType, i64>,
    /// Join times, as this connection first saw each pid (ms).
    first_seen: HashMap<String, i64>,
    last_heartbeat: Timestamp,
    messages: u64,
    pushes: u64,
    increments: u64,
    faults: FeedFaults,
}

impl Session {
    pub(super) fn new(state: &SimState, conference: String, now: Timestamp) -> Session {
        Session {
            meeting_session: state.meetings.get(&conference).map_or(0, |m| m.session),
            conference,
            connection: CONNECTIONS.fetch_add(1, Ordering::Relaxed),
            subscribed: BTreeSet::new(),
            picture: Picture::default(),
            versions: HashMap::new(),
            first_seen: HashMap::new(),
            last_heartbeat: now,
            messages: 0,
            pushes: 0,
            increments: 0,
            faults: state.faults.feed().clone(),
        }
    }

    /// A text frame from the client.
    pub(super) fn on_text(&mut self, state: &SimState, text: &str, now: Timestamp) -> Reaction {
        let Ok(frame) = serde_json::from_str::<ClientFrame>(text) else {
            return Reaction::default();
        };
        match frame.action.as_str() {
            HEART_BEAT => {
                self.last_heartbeat = now;
                Reaction {
                    out: vec![Out::Reply(text.to_owned())],
                    end: None,
                }
            }
            SUBSCRIBE => self.subscribe(state, &frame, now),
            // `ConfControl` and the rest are not emulated.
            _ => Reaction::default(),
        }
    }

    fn subscribe(&mut self, state: &SimState, frame: &ClientFrame, now: Timestamp) -> Reaction {
        let sequence = frame.sequence.clone().unwrap_or_default();
        let data = match &frame.data {
            Some(serde_json::Value::String(text)) => {
                serde_json::from_str::<SubscribeData>(text).ok()
            }
            _ => None,
        };
        let allowed = data.as_ref().is_some_and(|data| {
            let token = data
                .conf_token
                .as_deref()
                .map(decode_token)
                .unwrap_or_default();
            data.conference_id
                .as_deref()
                .is_none_or(|id| id == self.conference)
                && state.check_token(&token, &self.conference, now).is_ok()
        });
        let (code, desc) = if allowed {
            (0, "SUCCESS")
        } else {
            (FORBIDDEN_SUBSCRIBE, "FORBIDDEN_SUBSCRIBE")
        };
        let reply = SubscribeReply {
            action: SUBSCRIBE.to_owned(),
            sequence,
            data: ReturnData {
                return_code: code,
                return_desc: desc.to_owned(),
            },
        };
        let mut reaction = Reaction {
            out: vec![Out::Reply(to_text(&reply))],
            end: None,
        };
        let (Some(data), true) = (data, allowed) else {
            self.subscribed.clear();
            return reaction;
        };
        self.subscribed = data
            .subscribe_type
            .iter()
            .filter_map(|name| NotifyType::from_action(name))
            .collect();
        let Some(meeting) = state.meetings.get(&self.conference) else {
            reaction.end = Some(End::Close(close_code::NORMAL));
            return reaction;
        };
        self.picture = self.look(meeting, now);
        for kind in self.subscribed.clone() {
            let payload = frames::snapshot(kind, meeting, &self.picture);
            let ms = now.as_millisecond();
            self.push(&mut reaction, kind, ms, 0, payload, now);
            if reaction.end.is_some() {
                break;
            }
        }
        reaction
    }

    fn look(&mut self, meeting: &Meeting, now: Timestamp) -> Picture {
        let first_seen = &mut self.first_seen;
        let picture = frames::picture(meeting, |pid| {
            *first_seen
                .entry(pid.to_owned())
                .or_insert_with(|| now.as_millisecond())
        });
        // Forget those gone, so a long meeting does not grow this without bound.
        first_seen.retain(|pid, _| {
            picture.participants.contains_key(pid) || picture.waiting.contains_key(pid)
        });
        picture
    }

    /// The meeting may have changed: push what did, or close when it has ended.
    pub(super) fn on_change(&mut self, state: &SimState, now: Timestamp) -> Reaction {
        let mut reaction = Reaction::default();
        let meeting = state
            .meetings
            .get(&self.conference)
            .filter(|m| m.session == self.meeting_session);
        let Some(meeting) = meeting else {
            // Removed, or ended and held again as a new session: this one has ended.
            if let Some(mut last) = self.picture.dynamic.clone() {
                last.state = "Destroyed".to_owned();
                self.send_increment(
                    &mut reaction,
                    NotifyType::ConfDynamicInfo,
                    Payload::Dynamic(last),
                    now,
                );
            }
            reaction.end.get_or_insert(End::Close(close_code::NORMAL));
            return reaction;
        };
        if self.subscribed.is_empty() {
            if meeting.is_ended() {
                reaction.end = Some(End::Close(close_code::NORMAL));
            }
            return reaction;
        }
        let after = self.look(meeting, now);
        let changes = frames::increments(&self.picture, &after);
        self.picture = after;
        for (kind, payload) in changes {
            if self.subscribed.contains(&kind) {
                self.send_increment(&mut reaction, kind, payload, now);
            }
        }
        if meeting.is_ended() {
            reaction.end.get_or_insert(End::Close(close_code::NORMAL));
        }
        reaction
    }

    /// When the socket closes unless a heartbeat comes first.
    pub(super) fn silence_ends(&self) -> Timestamp {
        self.last_heartbeat
            .checked_add(HEARTBEAT_TIMEOUT)
            .unwrap_or(Timestamp::MAX)
    }

    /// Time passes: without a heartbeat for too long, the socket closes.
    pub(super) fn on_tick(&self, now: Timestamp) -> Option<End> {
        (now.duration_since(self.last_heartbeat) >= HEARTBEAT_TIMEOUT)
            .then_some(End::Close(close_code::NORMAL))
    }

    fn send_increment(
        &mut self,
        reaction: &mut Reaction,
        kind: NotifyType,
        payload: Payload,
        now: Timestamp,
    ) {
        if reaction.end.is_some() {
            return;
        }
        let version = self.versions.entry(kind).or_insert(0);
        *version += 1;
        let version = *version;
        self.increments += 1;
        if self.faults.lose_nth == Some(self.increments) {
            return;
        }
        self.push(reaction, kind, version, 1, payload, now);
    }

    fn push(
        &mut self,
        reaction: &mut Reaction,
        kind: NotifyType,
        version: i64,
        mode: u8,
        payload: Payload,
        now: Timestamp,
    ) {
        self.messages += 1;
        let notify = Notify {
            action: kind.action(),
            version,
            create_time: now.as_millisecond(),
            msg_id: format!("{:016x}{:016x}", self.connection, self.messages),
            msg_mode: mode,
            conf_id: self.conference.clone(),
            payload,
        };
        reaction.out.push(Out::Push(to_text(&notify)));
        self.pushes += 1;
        if self.faults.drop_after.is_some_and(|n| self.pushes >= n) {
            reaction.end = Some(End::Drop);
        }
    }
}

fn to_text<T: serde::Serialize>(value: &T) -> String {
    // Frames are plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_string(value).unwrap_or_default()
}

/// What tells every connection at once to end.
pub(super) struct Signals {
    /// Drop the socket (the admin API's fault).
    pub drops: watch::Receiver<u64>,
    /// Close with 1001: the emulator is stopping.
    pub closing: watch::Receiver<bool>,
}

/// Serves one admitted connection until it ends.
pub(super) async fn run(socket: WebSocket, sim: Arc<Sim>, conference: String, signals: Signals) {
    let Signals {
        mut drops,
        mut closing,
    } = signals;
    let (sink, mut stream) = socket.split();
    let mut session = {
        let state = sim.lock();
        Session::new(&state, conference, sim.clock.now())
    };
    let delay = session.faults.delay.map(|d| d.std());
    let (outbox, queue) = mpsc::channel::<(Out, Option<Busy>)>(OUTBOX);
    let mut writer = tokio::spawn(write(sink, queue, delay));
    let looking = sim.feeds.watch();
    let mut changes = sim.changes();
    changes.borrow_and_update();
    drops.borrow_and_update();
    let mut tick = tokio::time::interval(TICK);
    // The heartbeat timeout, waited for on the emulator's clock; the tick is a safety net.
    let mut silence_ends = session.silence_ends();
    let mut silence = sim.clock.reached(silence_ends);
    let end = loop {
        // On a virtual clock, time waits for a change to be looked at and pushed.
        let mut claim = None;
        let reaction = tokio::select! {
            frame = stream.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    let now = sim.clock.now();
                    let state = sim.lock();
                    session.on_text(&state, text.as_str(), now)
                }
                // Pings are answered by the socket itself; binary frames mean nothing here.
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(Message::Close(_))) | None => break None,
                // Over the size bound, or not WebSocket at all.
                Some(Err(_)) => break Some(End::Close(close_code::SIZE)),
            },
            _ = changes.changed() => {
                // Seen first, then claimed: a change after this is looked at again.
                claim = looking.take();
                let now = sim.clock.now();
                let state = sim.lock();
                session.on_change(&state, now)
            }
            () = &mut silence => {
                silence_ends = Timestamp::MIN;
                Reaction { out: Vec::new(), end: session.on_tick(sim.clock.now()) }
            }
            _ = tick.tick() => {
                // Carries out what is due, which wakes every feed that needs to look.
                drop(sim.lock());
                Reaction { out: Vec::new(), end: session.on_tick(sim.clock.now()) }
            }
            _ = drops.changed() => break Some(End::Drop),
            _ = closing.wait_for(|closing| *closing) => break Some(End::Close(close_code::AWAY)),
        };
        let mut overflow = false;
        let last = reaction.out.len();
        for (n, out) in reaction.out.into_iter().enumerate() {
            // The last frame carries the claim: it is let go once all are written.
            let busy = (n + 1 == last).then(|| claim.take().unwrap_or_else(|| sim.clock.busy()));
            if outbox.try_send((out, busy)).is_err() {
                overflow = true;
                break;
            }
        }
        if overflow {
            // A client this far behind is not waited for.
            tracing::info!(target: "emcee::sim", "a feed client fell {OUTBOX} frames behind: closed");
            writer.abort();
            return;
        }
        if let Some(end) = reaction.end {
            break Some(end);
        }
        if session.silence_ends() != silence_ends {
            silence_ends = session.silence_ends();
            silence = sim.clock.reached(silence_ends);
        }
    };
    // Virtual time waits for the close to go out.
    let _closing = sim.clock.busy();
    match end {
        Some(End::Close(code)) => {
            drop(outbox);
            // The writer sends what is queued and hands the sink back for the close.
            match tokio::time::timeout(FLUSH, &mut writer).await {
                Ok(Ok(Some(mut sink))) => {
                    let close = Message::Close(Some(CloseFrame {
                        code,
                        reason: "".into(),
                    }));
                    let _ = tokio::time::timeout(FLUSH, sink.send(close)).await;
                }
                _ => writer.abort(),
            }
        }
        Some(End::Drop) => {
            drop(outbox);
            let _ = tokio::time::timeout(FLUSH, &mut writer).await;
            writer.abort();
        }
        None => writer.abort(),
    }
}

/// Sends queued frames in order until the queue closes, then hands the sink back. A
/// frame's guard is let go once it is on the socket.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<(Out, Option<Busy>)>,
    delay: Option<std::time::Duration>,
) -> Option<SplitSink<WebSocket, Message>> {
    while let Some((out, _busy)) = queue.recv().await {
        let text = match out {
            Out::Reply(text) => text,
            Out::Push(text) => {
                if let Some(delay) = delay {
                    tokio::time::sleep(delay).await;
                }
                text
            }
        };
        if sink.send(Message::Text(text.into())).await.is_err() {
            return None;
        }
    }
    Some(sink)
}
