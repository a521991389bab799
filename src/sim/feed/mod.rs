//! The meeting's push feed (`docs/api.md` §11): the WebSocket a client opens at the
//! token answer's `wsURL` plus [`FEED_PATH`], with a one-shot token. This module
//! admits or refuses the upgrade and keeps the per-meeting connection count; one
//! connection's conversation is in `session`, the messages themselves in `frames`.

mod frames;
pub(super) mod hub;
mod session;

pub use hub::FeedFaults;
use hub::Hub;

use std::sync::Arc;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::state::Sim;
use crate::meeting::api::FEED_PATH;

/// What a connection listens to besides its socket: the admin API's drops, and the
/// emulator stopping.
fn signals(hub: &Hub) -> session::Signals {
    session::Signals {
        drops: hub.drops.subscribe(),
        closing: hub.closing.subscribe(),
    }
}

/// The largest client frame accepted; a larger one closes the connection.
pub(super) const MAX_CLIENT_FRAME: usize = 64 * 1024;

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
                    let signals = signals(&sim.feeds);
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
