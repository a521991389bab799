//! The meeting's push feed (`docs/api.md` §11): the WebSocket a client opens at the
//! token answer's `wsURL` plus [`FEED_PATH`], with a one-shot token. This module
//! admits or refuses the upgrade and keeps the per-meeting connection count; one
//! connection's conversation is in `session`, the messages themselves in `frames`.

mod frames;
mod session;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::state::Sim;
use crate::duration::Duration;
use crate::meeting::api::FEED_PATH;

/// The largest client frame accepted; a larger one closes the connection.
pub(super) const MAX_CLIENT_FRAME: usize = 64 * 1024;
/// Feed connections open at once per meeting; further upgrades are closed.
pub(super) const MAX_CONNECTIONS_PER_MEETING: usize = 64;

/// The feed's fault options (under `feed` in `PUT /_sim/faults`), applied to
/// connections opened from then on. Each is deterministic: the same calls
/// give the same faults, whatever the seed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeedFaults {
    /// Drop the socket, without a close frame, once this many pushed messages
    /// (snapshots and increments) have been sent on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_after: Option<u64>,
    /// Hold every pushed message this long before sending it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    /// Never send the N-th incremental message of a connection (counted from 1,
    /// across types); its version number is used up all the same, leaving a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lose_nth: Option<u64>,
}

impl FeedFaults {
    pub(super) fn is_none(&self) -> bool {
        *self == FeedFaults::default()
    }
}

/// What the feed keeps beside the meetings: connections per meeting, and the
/// admin API's request to drop every open socket.
#[derive(Debug)]
pub(crate) struct Hub {
    connections: Mutex<HashMap<String, usize>>,
    drops: watch::Sender<u64>,
    /// Turns once the emulator stops: every feed closes with 1001 (going away).
    closing: watch::Sender<bool>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            connections: Mutex::new(HashMap::new()),
            drops: watch::Sender::new(0),
            closing: watch::Sender::new(false),
        }
    }
}

impl Hub {
    /// Counts a connection to `meeting` in, unless it already has the most allowed.
    fn admit(self: &Arc<Self>, meeting: &str) -> Option<Slot> {
        let mut connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        let count = connections.entry(meeting.to_owned()).or_default();
        if *count >= MAX_CONNECTIONS_PER_MEETING {
            return None;
        }
        *count += 1;
        Some(Slot {
            hub: Arc::clone(self),
            meeting: meeting.to_owned(),
        })
    }

    pub(super) fn count(&self, meeting: &str) -> usize {
        let connections = self.connections.lock().unwrap_or_else(|p| p.into_inner());
        connections.get(meeting).copied().unwrap_or(0)
    }

    /// Drops every open feed socket at once (`POST /_sim/feed/drop`).
    pub(super) fn drop_all(&self) {
        self.drops.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Closes every open feed, for good: the emulator is stopping.
    pub(super) fn close_all(&self) {
        self.closing.send_replace(true);
    }

    fn signals(&self) -> session::Signals {
        session::Signals {
            drops: self.drops.subscribe(),
            closing: self.closing.subscribe(),
        }
    }
}

/// One counted connection; counted out when dropped.
struct Slot {
    hub: Arc<Hub>,
    meeting: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut connections = self
            .hub
            .connections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(count) = connections.get_mut(&self.meeting) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                connections.remove(&self.meeting);
            }
        }
    }
}

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route(FEED_PATH, get(upgrade))
        .route("/_sim/feed/drop", axum::routing::post(drop_feeds))
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    #[serde(rename = "confID", default)]
    conf_id: String,
    #[serde(rename = "tmpToken", default)]
    tmp_token: String,
}

/// The upgrade is always accepted; a refused token is told by a 1008 close with no
/// frame before it, as the service does.
async fn upgrade(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<FeedQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    let now = sim.clock.now();
    let admitted = {
        let mut state = sim.lock();
        state.spend_ws_token(&query.tmp_token, &query.conf_id, now)
            && state
                .meetings
                .get(&query.conf_id)
                .is_some_and(|m| !m.is_ended())
    };
    let slot = if admitted {
        sim.feeds.admit(&query.conf_id)
    } else {
        None
    };
    ws.max_message_size(MAX_CLIENT_FRAME)
        .max_frame_size(MAX_CLIENT_FRAME)
        .on_upgrade(move |socket| async move {
            match (admitted, slot) {
                (false, _) => close(socket, close_code::POLICY).await,
                // Too many already: try again later.
                (true, None) => close(socket, close_code::AGAIN).await,
                (true, Some(slot)) => {
                    let signals = sim.feeds.signals();
                    session::run(socket, sim, query.conf_id, signals).await;
                    drop(slot);
                }
            }
        })
}

async fn close(mut socket: WebSocket, code: u16) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: "".into(),
        })))
        .await;
}

async fn drop_feeds(State(sim): State<Arc<Sim>>) -> axum::http::StatusCode {
    sim.feeds.drop_all();
    axum::http::StatusCode::NO_CONTENT
}
