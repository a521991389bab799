//! The emulator's own admin API under `/_sim/`, for tests and manual rehearsal: full
//! meeting state, meetings and participants coming and going, meetings started and
//! ended, hands raised as a client would, the request log, fault injection, reset and
//! the clock.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::api_error::ApiError;
use super::faults::FaultConfig;
use super::meeting::{MeetingView, ParticipantView};
use super::request_log::LoggedRequest;
use super::state::Sim;
use super::wire::parse_body;
use crate::duration::Duration;
use crate::meeting::{MeetingSeed, Role};

pub(super) fn routes() -> Router<Arc<Sim>> {
    Router::new()
        .route("/_sim/meetings", get(list_meetings).post(create_meeting))
        .route(
            "/_sim/meetings/{id}",
            get(show_meeting).delete(delete_meeting),
        )
        .route("/_sim/meetings/{id}/start", post(start_meeting))
        .route("/_sim/meetings/{id}/end", post(end_meeting))
        .route("/_sim/meetings/{id}/participants", post(join))
        .route("/_sim/meetings/{id}/waiting", post(wait))
        .route(
            "/_sim/meetings/{id}/participants/{pid}",
            axum::routing::delete(leave),
        )
        .route("/_sim/meetings/{id}/participants/{pid}/hand", put(hand))
        .route(
            "/_sim/meetings/{id}/participants/{pid}/mute",
            put(self_mute),
        )
        .route("/_sim/requests", get(requests).delete(clear_requests))
        .route(
            "/_sim/faults",
            get(faults).put(set_faults).delete(clear_faults),
        )
        .route("/_sim/reset", post(reset))
        .route("/_sim/clock", get(clock))
        .route("/_sim/clock/advance", post(advance_clock))
}

type Sh = State<Arc<Sim>>;

fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    parse_body(bytes).map_err(ApiError::sim_bad_request)
}

async fn list_meetings(State(sim): Sh) -> Json<Vec<MeetingView>> {
    Json(sim.lock().meetings.values().map(|m| m.view()).collect())
}

async fn show_meeting(
    State(sim): Sh,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    Ok(Json(sim.lock().meeting(&id)?.view()))
}

async fn create_meeting(
    State(sim): Sh,
    bytes: Bytes,
) -> Result<(StatusCode, Json<MeetingView>), ApiError> {
    let seed: MeetingSeed = body(&bytes)?;
    let now = sim.clock.now();
    let mut state = sim.lock();
    let view = state.add_meeting(&seed, now)?.view();
    Ok((StatusCode::CREATED, Json(view)))
}

async fn delete_meeting(State(sim): Sh, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let mut state = sim.lock();
    state.meeting(&id)?;
    state.forget_meeting(&id);
    Ok(StatusCode::NO_CONTENT)
}

/// Starts the meeting as `StartMeeting` does, without credentials.
async fn start_meeting(
    State(sim): Sh,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    let now = sim.clock.now();
    let mut state = sim.lock();
    state.start_meeting(&id, now)?;
    Ok(Json(state.meeting(&id)?.view()))
}

/// Ends the meeting as `StopMeeting` does.
async fn end_meeting(
    State(sim): Sh,
    Path(id): Path<String>,
) -> Result<Json<MeetingView>, ApiError> {
    let mut state = sim.lock();
    state.end_meeting(&id)?;
    Ok(Json(state.meeting(&id)?.view()))
}

/// A participant joins, as their client would: refused when the meeting has ended,
/// for guests when it is locked, and for anyone but the host when it has not started
/// and guests may not start it; the host's join starts it. With `joins_after`, the
/// join is scheduled instead (202, with the instant).
async fn join(
    State(sim): Sh,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let spec: crate::meeting::ParticipantSeed = body(&bytes)?;
    let now = sim.clock.now();
    let mut state = sim.lock();
    let meeting = state.meeting(&id)?;
    if meeting.is_ended() {
        return Err(ApiError::sim_conflict(format!("meeting {id} has ended")));
    }
    match state.add_participant(&id, &spec, now, false)? {
        Some(pid) => {
            let meeting = state.meeting(&id)?;
            let view = meeting.participant_view(&meeting.participants[&pid]);
            Ok((StatusCode::CREATED, Json(view)).into_response())
        }
        None => {
            let at = now
                .checked_add(spec.joins_after.unwrap_or_default().signed())
                .unwrap_or(jiff::Timestamp::MAX);
            Ok((
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"joins_at": format!("{at:.6}")})),
            )
                .into_response())
        }
    }
}

/// Someone arrives in the waiting room: shown by the push feed, not by `realTimeInfo`.
async fn wait(
    State(sim): Sh,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<ParticipantView>), ApiError> {
    let spec: crate::meeting::ParticipantSeed = body(&bytes)?;
    let mut state = sim.lock();
    let state = &mut *state;
    let meeting = state
        .meetings
        .get_mut(&id)
        .ok_or_else(|| ApiError::sim_not_found(format!("no meeting {id}")))?;
    if meeting.is_ended() {
        return Err(ApiError::sim_conflict(format!("meeting {id} has ended")));
    }
    let pid = meeting.add_waiting(&spec, &mut state.ids)?;
    let view = meeting.participant_view(&meeting.waiting_room[&pid]);
    Ok((StatusCode::CREATED, Json(view)))
}

async fn leave(
    State(sim): Sh,
    Path((id, pid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let left = super::meeting::LEFT;
    sim.lock()
        .meeting_mut(&id)?
        .depart(&pid, left)
        .map_err(|_| {
            ApiError::sim_not_found(format!("no participant {pid} online in meeting {id}"))
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandBody {
    raised: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MuteBody {
    muted: bool,
}

async fn hand(
    State(sim): Sh,
    Path((id, pid)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<ParticipantView>, ApiError> {
    let HandBody { raised } = body(&bytes)?;
    let mut state = sim.lock();
    let meeting = state.meeting_mut(&id)?;
    meeting.set_hand(&pid, raised).map_err(|_| {
        ApiError::sim_not_found(format!("no participant {pid} online in meeting {id}"))
    })?;
    Ok(Json(meeting.participant_view(&meeting.participants[&pid])))
}

/// A participant mutes or unmutes themselves; unmuting is refused while everyone is
/// muted without permission to unmute oneself.
async fn self_mute(
    State(sim): Sh,
    Path((id, pid)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Json<ParticipantView>, ApiError> {
    let MuteBody { muted } = body(&bytes)?;
    let mut state = sim.lock();
    let meeting = state.meeting_mut(&id)?;
    let not_found =
        || ApiError::sim_not_found(format!("no participant {pid} online in meeting {id}"));
    if !meeting.participants.contains_key(&pid) {
        return Err(not_found());
    }
    let is_guest = meeting.role_of(&pid) == Role::Guest;
    if !muted && meeting.mute_all && !meeting.allow_self_unmute && is_guest {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "SIM.SELF_UNMUTE_NOT_ALLOWED",
            "the host muted everyone and does not allow unmuting oneself",
        ));
    }
    meeting.mute(&pid, muted).map_err(|_| not_found())?;
    Ok(Json(meeting.participant_view(&meeting.participants[&pid])))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RequestsQuery {
    since: Option<u64>,
}

async fn requests(State(sim): Sh, uri: Uri) -> Result<Json<Vec<LoggedRequest>>, ApiError> {
    let query: RequestsQuery = serde_urlencoded_query(&uri)?;
    Ok(Json(sim.lock().log.since(query.since.unwrap_or(0))))
}

fn serde_urlencoded_query<T: DeserializeOwned + Default>(uri: &Uri) -> Result<T, ApiError> {
    let Some(query) = uri.query() else {
        return Ok(T::default());
    };
    let pairs: serde_json::Map<String, Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(key, value)| {
            let value = value
                .parse::<u64>()
                .map_or_else(|_| Value::String(value.into_owned()), Value::from);
            (key.into_owned(), value)
        })
        .collect();
    serde_json::from_value(Value::Object(pairs))
        .map_err(|e| ApiError::sim_bad_request(format!("invalid query: {e}")))
}

async fn clear_requests(State(sim): Sh) -> StatusCode {
    sim.lock().log.clear();
    StatusCode::NO_CONTENT
}

async fn faults(State(sim): Sh) -> Json<Value> {
    let state = sim.lock();
    Json(serde_json::to_value(state.faults.view()).unwrap_or(Value::Null))
}

async fn set_faults(State(sim): Sh, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let config: FaultConfig = body(&bytes)?;
    config.validate().map_err(ApiError::sim_bad_request)?;
    let mut state = sim.lock();
    state.set_faults(config);
    Ok(Json(
        serde_json::to_value(state.faults.view()).unwrap_or(Value::Null),
    ))
}

async fn clear_faults(State(sim): Sh) -> StatusCode {
    sim.lock().set_faults(FaultConfig::default());
    StatusCode::NO_CONTENT
}

async fn reset(State(sim): Sh) -> StatusCode {
    sim.reset();
    StatusCode::NO_CONTENT
}

#[derive(Serialize)]
struct ClockView {
    now: String,
}

async fn clock(State(sim): Sh) -> Json<ClockView> {
    Json(ClockView {
        now: format!("{:.6}", sim.clock.now()),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceBody {
    by: Duration,
}

/// Moves the emulator's clock forward, so token expiry can be reached without waiting.
async fn advance_clock(State(sim): Sh, bytes: Bytes) -> Result<Json<ClockView>, ApiError> {
    let AdvanceBody { by } = body(&bytes)?;
    sim.clock.advance(by.signed());
    // Scheduled happenings and the feeds' heartbeat timers look at the new time now.
    sim.touch();
    Ok(Json(ClockView {
        now: format!("{:.6}", sim.clock.now()),
    }))
}

/// Unknown paths and methods: the gateway's 404 for API paths, a plain one for `/_sim/`.
pub(super) async fn fallback(method: axum::http::Method, uri: Uri) -> ApiError {
    if uri.path().starts_with("/_sim") {
        ApiError::sim_not_found(format!(
            "no admin endpoint {method} {}; see `emcee sim --help`",
            uri.path()
        ))
    } else {
        ApiError::no_such_api()
    }
}
