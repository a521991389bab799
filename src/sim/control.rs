//! The meeting-control API of `docs/api.md` (#token to #real-time-info): the same
//! methods, paths, headers, bodies and answers as the real service, routed by the
//! contract's table ([`Api`]) and parsed into its body types (the management calls are
//! in `management`). Each handler checks in the service's order — token present,
//! conference id, meeting held (not scheduled, not ended), token valid for this
//! meeting's session, body, participant — then applies the call under one lock.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::{MethodFilter, MethodRouter, on};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::api_error::ApiError;
use super::ids::Ids;
use super::management::{account_login, start_meeting};
use super::meeting::Meeting;
use super::state::{Grant, Sim, SimState};
use super::wire::body;
use crate::meeting::wire::{
    AllowWaitingBody, BatchHandsBody, BatchMoveToWaitingRoomBody, CohostBody, DurationBody,
    GuestUnmuteBody, HandsBody, HangUpBody, InviteBody, LiveBody, LockBody, MoveToWaitingRoomBody,
    MuteBody, MuteMeetingBody, RealTimeInfo, RecordBody, RenameBody, SetRoleBody, TokenData,
    TokenResponse, WsTokenResponse,
};
use crate::meeting::{self, Api};
use jiff::Timestamp;

/// Every call of the contract, at its method and path.
pub(super) fn routes() -> Router<Arc<Sim>> {
    Api::ALL.iter().fold(Router::new(), |router, &api| {
        router.route(api.path(), endpoint(api))
    })
}

/// The handler of a call; a call added to the contract is not served until it has one.
fn endpoint(api: Api) -> MethodRouter<Arc<Sim>> {
    let method = match api.method() {
        meeting::Method::Get => MethodFilter::GET,
        meeting::Method::Put => MethodFilter::PUT,
        meeting::Method::Post => MethodFilter::POST,
    };
    match api {
        Api::Token => on(method, token),
        Api::WsToken => on(method, ws_token),
        Api::RealTimeInfo => on(method, real_time_info),
        Api::Broadcast => on(method, broadcast),
        Api::CancelBroadcast => on(method, cancel_broadcast),
        Api::RollCall => on(method, roll_call),
        Api::Hands => on(method, hands),
        Api::BatchHands => on(method, batch_hands),
        Api::Mute => on(method, mute),
        Api::MuteMeeting => on(method, mute_meeting),
        Api::GuestUnmute => on(method, guest_unmute),
        Api::Role => on(method, set_role),
        Api::Cohost => on(method, set_cohost),
        Api::Lock => on(method, lock),
        Api::Record => on(method, record),
        Api::Live => on(method, live),
        Api::HangUp => on(method, hang_up),
        Api::Invite => on(method, invite),
        Api::Rename => on(method, rename),
        Api::Duration => on(method, extend),
        Api::Stop => on(method, stop),
        Api::AllowWaiting => on(method, allow_waiting),
        Api::MoveToWaitingRoom => on(method, move_to_waiting_room),
        Api::BatchMoveToWaitingRoom => on(method, batch_move_to_waiting_room),
        Api::AccountLogin => on(method, account_login),
        Api::StartMeeting => on(method, start_meeting),
    }
}

/// What every control call carries outside its body.
pub(super) struct Call {
    authorization: Option<String>,
    password: Option<String>,
    login_type: Option<String>,
    conference_id: Option<String>,
    participant_id: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Call {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
                .filter(|value| !value.is_empty())
        };
        let mut call = Call {
            authorization: header("x-conference-authorization"),
            password: header("x-password"),
            login_type: header("x-login-type"),
            conference_id: None,
            participant_id: None,
        };
        for (key, value) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
            match &*key {
                "conferenceID" if !value.is_empty() => {
                    call.conference_id = Some(value.into_owned());
                }
                "participantID" if !value.is_empty() => {
                    call.participant_id = Some(value.into_owned());
                }
                _ => {}
            }
        }
        Ok(call)
    }
}

/// The token in `X-Conference-Authorization`, raw or as `Basic base64(token)`.
pub(super) fn decode_token(header: &str) -> String {
    match header.strip_prefix("Basic ") {
        Some(encoded) => BASE64
            .decode(encoded.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            // Undecodable: no token can match it, so it answers as an unknown token.
            .unwrap_or_default(),
        None => header.to_owned(),
    }
}

impl Call {
    fn token(&self) -> Result<String, ApiError> {
        self.authorization
            .as_deref()
            .map(decode_token)
            .ok_or_else(ApiError::token_missing)
    }

    fn conference(&self) -> Result<&str, ApiError> {
        self.conference_id
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("invalid parameter conferenceID: required"))
    }

    fn participant(&self) -> Result<&str, ApiError> {
        self.participant_id
            .as_deref()
            .ok_or_else(|| ApiError::bad_request("invalid parameter participantID: required"))
    }
}

/// Runs `op` on the meeting a valid token controls.
fn control<T>(
    sim: &Sim,
    call: &Call,
    op: impl FnOnce(&mut Meeting, &mut Ids) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    control_state(sim, call, |state, conference, _| {
        let meeting = state
            .meetings
            .get_mut(conference)
            .ok_or_else(ApiError::token_invalid)?;
        op(meeting, &mut state.ids)
    })
}

/// Runs `op` on the whole state, for calls with effects beyond the meeting (such as
/// outcomes to come), once the token is valid for a meeting that has not ended.
fn control_state<T>(
    sim: &Sim,
    call: &Call,
    op: impl FnOnce(&mut SimState, &str, Timestamp) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let token = call.token()?;
    let conference = call.conference()?;
    let now = sim.clock.now();
    let mut guard = sim.lock();
    let state = &mut *guard;
    // Whatever the token: a meeting not held answers with its state.
    if let Some(meeting) = state.meetings.get(conference) {
        meeting.check_running()?;
    }
    state.check_token(&token, conference, now)?;
    if !state.meetings.contains_key(conference) {
        return Err(ApiError::token_invalid());
    }
    op(state, conference, now)
}

type Sh = State<Arc<Sim>>;

async fn token(State(sim): Sh, call: Call) -> Result<Json<TokenResponse>, ApiError> {
    let conference = call.conference()?.to_owned();
    let now = sim.clock.now();
    let mut state = sim.lock();
    if let Some(header) = &call.authorization {
        // Keep-alive on a meeting not held answers with its state, whatever the token.
        if let Some(meeting) = state.meetings.get(&conference) {
            meeting.check_running()?;
        }
        let token = decode_token(header);
        if state.check_token(&token, &conference, now).is_ok()
            && let Some((token, grant)) = state.keep_alive(&token, now)
        {
            let ttl = state.token_ttl();
            drop(state);
            return Ok(Json(token_response(&sim, token, &grant, ttl)));
        }
        // A dead token: the password, if sent, logs in afresh.
        if call.password.is_none() {
            return Err(ApiError::token_invalid());
        }
    }
    let password = call
        .password
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("invalid parameter X-Password: required"))?;
    match call.login_type.as_deref() {
        None => {
            return Err(ApiError::bad_request(
                "invalid parameter X-Login-Type: required",
            ));
        }
        Some("1") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid parameter X-Login-Type: must be 1 (host password login), got {other}"
            )));
        }
    }
    // Credentials first, so that a wrong password is never told to wait for a start.
    state
        .meetings
        .get(&conference)
        .filter(|m| m.host_password == password)
        .ok_or_else(ApiError::conf_not_found_or_auth_failed)?
        .check_running()?;
    let (token, grant) = state.issue_token(&conference, now);
    let ttl = state.token_ttl();
    drop(state);
    Ok(Json(token_response(&sim, token, &grant, ttl)))
}

fn token_response(
    sim: &Sim,
    token: String,
    grant: &Grant,
    ttl: jiff::SignedDuration,
) -> TokenResponse {
    let now = sim.clock.now();
    let mut state = sim.lock();
    let tmp_ws_token = state.issue_ws_token(&grant.meeting_id, now);
    let address_token = state.ids.token();
    drop(state);
    let ws_base = sim
        .base_url()
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    TokenResponse {
        data: TokenData {
            token,
            tmp_ws_token,
            // The push server's prefix: clients append the feed's path themselves.
            ws_url: ws_base,
            role: grant.role,
            expire_time: Some(grant.expires.as_millisecond()),
            user_id: "emcee-sim-user".into(),
            org_id: "emcee-sim".into(),
            participant_id: String::new(),
            conf_token_expire_time: Some(ttl.as_secs()),
            vmr_current_conf_id: grant.meeting_id.clone(),
            support_notify_type: [
                "ConfBasicInfoNotify",
                "ConfDynamicInfoNotify",
                "ParticipantsNotify",
                "AttendeesNotify",
                "SpeakerChangeNotify",
                "InviteResultNotify",
                "WaitingListNotify",
            ]
            .map(String::from)
            .to_vec(),
        },
        address_token,
        gloabl_public_ip: "127.0.0.1".into(),
    }
}

async fn ws_token(State(sim): Sh, call: Call) -> Result<Json<WsTokenResponse>, ApiError> {
    control_state(&sim, &call, |state, conference, now| {
        Ok(Json(WsTokenResponse {
            web_socket_token: state.issue_ws_token(conference, now),
        }))
    })
}

async fn real_time_info(State(sim): Sh, call: Call) -> Result<Json<RealTimeInfo>, ApiError> {
    control(&sim, &call, |meeting, _| Ok(Json(meeting.real_time_info())))
}

async fn broadcast(State(sim): Sh, call: Call) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| m.broadcast(call.participant()?))
}

async fn cancel_broadcast(State(sim): Sh, call: Call) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        m.cancel_broadcast();
        Ok(())
    })
}

async fn roll_call(State(sim): Sh, call: Call) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| m.roll_call(call.participant()?))
}

async fn hands(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let pid = call.participant()?;
        let body: HandsBody = body(&bytes)?;
        m.host_sets_hand(pid, body.hands_state.0)
    })
}

async fn batch_hands(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: BatchHandsBody = body(&bytes)?;
        m.batch_hands(&body.pids, body.hands_state.0)
    })
}

async fn mute(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let pid = call.participant()?;
        let body: MuteBody = body(&bytes)?;
        m.mute(pid, body.is_mute.0)
    })
}

async fn mute_meeting(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: MuteMeetingBody = body(&bytes)?;
        m.mute_all(body.is_mute.0, body.allow_unmute_by_oneself.map(|f| f.0));
        Ok(())
    })
}

async fn guest_unmute(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: GuestUnmuteBody = body(&bytes)?;
        m.allow_self_unmute(body.allow_unmute_by_oneself.0);
        Ok(())
    })
}

async fn set_role(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let pid = call.participant()?;
        let body: SetRoleBody = body(&bytes)?;
        m.set_chair(pid, body.apply_chair.0, body.chairman_pwd.as_deref())
    })
}

async fn set_cohost(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let pid = call.participant()?;
        let body: CohostBody = body(&bytes)?;
        m.set_cohost(pid, body.is_cohost.0)
    })
}

async fn lock(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        m.locked = body::<LockBody>(&bytes)?.is_lock.0;
        Ok(())
    })
}

async fn record(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        m.recording = body::<RecordBody>(&bytes)?.is_record.0;
        Ok(())
    })
}

async fn live(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        m.live = body::<LiveBody>(&bytes)?.is_live.0;
        Ok(())
    })
}

async fn hang_up(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: HangUpBody = body(&bytes)?;
        m.hang_up(&body.bulk_hang_up_participants)
    })
}

async fn invite(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control_state(&sim, &call, |state, conference, now| {
        let body: InviteBody = body(&bytes)?;
        state.invite(conference, &body.attendees, now)
    })
}

async fn rename(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: RenameBody = body(&bytes)?;
        m.rename(body.participant_id.as_deref(), &body.number, &body.new_name)
    })
}

async fn extend(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: DurationBody = body(&bytes)?;
        m.extend(body.auto.0, body.duration)
    })
}

async fn stop(State(sim): Sh, call: Call) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        m.stop();
        Ok(())
    })
}

async fn allow_waiting(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: AllowWaitingBody = body(&bytes)?;
        m.admit(body.participant_id.as_deref(), body.allow_all == Some(true))
    })
}

async fn move_to_waiting_room(State(sim): Sh, call: Call, bytes: Bytes) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: MoveToWaitingRoomBody = body(&bytes)?;
        m.move_to_waiting_room(&[body.participant_id], "participantID")
    })
}

async fn batch_move_to_waiting_room(
    State(sim): Sh,
    call: Call,
    bytes: Bytes,
) -> Result<(), ApiError> {
    control(&sim, &call, |m, _| {
        let body: BatchMoveToWaitingRoomBody = body(&bytes)?;
        m.move_to_waiting_room(&body.batch_participants, "batchParticipants")
    })
}
