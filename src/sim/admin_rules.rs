//! The admin API's switches for the service's rules in one meeting, while it runs: the
//! strict hand rule (`PUT /_sim/meetings/{id}/rules`) and how a called number answers
//! (`PUT`/`DELETE /_sim/meetings/{id}/invitees/{number}`). The bodies are the seed's
//! shapes (`rules:`, an entry of `invitees:`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::put;
use axum::{Json, Router};
use bytes::Bytes;
use indexmap::IndexMap;

use super::api_error::ApiError;
use super::state::Sim;
use super::wire::parse_body;
use crate::meeting::rules::{MAX_INVITEES, validate_number};
use crate::meeting::{InviteeSeed, MeetingRules};

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/_sim/meetings/{id}/rules", put(set_rules))
        .route(
            "/_sim/meetings/{id}/invitees/{number}",
            put(set_invitee).delete(forget_invitee),
        )
}

type Sh = State<Arc<Sim>>;

/// Replaces the meeting's rules; answers them.
async fn set_rules(
    State(sim): Sh,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Json<MeetingRules>, ApiError> {
    let rules: MeetingRules = parse_body(&bytes).map_err(ApiError::sim_bad_request)?;
    let mut state = sim.lock();
    let meeting = state.meeting_mut(&id)?;
    meeting.rules = rules;
    Ok(Json(meeting.rules))
}

/// Sets how a number answers from the next invitation on; answers every configured
/// number.
async fn set_invitee(
    State(sim): Sh,
    Path((id, number)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<IndexMap<String, InviteeSeed>>, ApiError> {
    let invitee: InviteeSeed = parse_body(&bytes).map_err(ApiError::sim_bad_request)?;
    validate_number(&number).map_err(ApiError::sim_bad_request)?;
    let mut state = sim.lock();
    let meeting = state.meeting_mut(&id)?;
    if meeting.invitees.len() >= MAX_INVITEES && !meeting.invitees.contains_key(&number) {
        return Err(ApiError::sim_conflict(format!(
            "meeting {id} already sets {MAX_INVITEES} numbers; delete one first"
        )));
    }
    meeting.invitees.insert(number, invitee);
    Ok(Json(meeting.invitees.clone()))
}

/// Back to the default for a number: it answers after 2 s.
async fn forget_invitee(
    State(sim): Sh,
    Path((id, number)): Path<(String, String)>,
) -> Result<Json<IndexMap<String, InviteeSeed>>, ApiError> {
    let mut state = sim.lock();
    let meeting = state.meeting_mut(&id)?;
    meeting.invitees.shift_remove(&number);
    Ok(Json(meeting.invitees.clone()))
}
