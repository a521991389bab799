//! The management-side calls the emulator answers (`docs/api.md#account-login`): the
//! account login, which hands out access tokens for the seed's accounts, and
//! `StartMeeting`, which takes one to start a scheduled meeting or reopen an ended one.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::api_error::ApiError;
use super::state::{ACCESS_TOKEN_TTL, Sim};
use super::wire::body;
use crate::meeting::wire::{
    AccountLoginBody, AccountLoginResponse, AccountUser, StartMeetingBody, StartMeetingResponse,
};

type Sh = State<Arc<Sim>>;

/// The client type the official SDKs log in with.
const CLIENT_TYPE: u8 = 72;

/// `POST /v1/usg/acs/auth/account`: `Authorization: Basic base64(account:password)`
/// against the seed's accounts, answering with an access token.
pub(super) async fn account_login(
    State(sim): Sh,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<AccountLoginResponse>, ApiError> {
    let credentials = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
        .and_then(|encoded| BASE64.decode(encoded.trim()).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::account_auth_failed(
                "Authorization: Basic base64(account:password) is required",
            )
        })?;
    let (account, password) = credentials
        .split_once(':')
        .ok_or_else(|| ApiError::account_auth_failed("ACCOUNT_OR_PASSWORD_ERROR"))?;
    let login: AccountLoginBody = if bytes.iter().all(u8::is_ascii_whitespace) {
        AccountLoginBody::default()
    } else {
        body(&bytes)?
    };
    if login.account.as_deref().is_some_and(|a| a != account) {
        return Err(ApiError::account_auth_failed("ACCOUNT_OR_PASSWORD_ERROR"));
    }
    let now = sim.clock.now();
    let mut state = sim.lock();
    let known = state
        .seed_accounts()
        .iter()
        .any(|a| a.account == account && a.password == password);
    if !known {
        return Err(ApiError::account_auth_failed("ACCOUNT_OR_PASSWORD_ERROR"));
    }
    state.access_tokens.retain(|_, expires| *expires > now);
    let access_token = state.ids.token();
    let expires = now
        .checked_add(ACCESS_TOKEN_TTL)
        .unwrap_or(jiff::Timestamp::MAX);
    state.access_tokens.insert(access_token.clone(), expires);
    Ok(Json(AccountLoginResponse {
        access_token,
        valid_period: ACCESS_TOKEN_TTL.as_secs(),
        expire_time: expires.as_second(),
        create_time: now.as_millisecond(),
        client_type: CLIENT_TYPE,
        token_type: 0,
        user: AccountUser {
            user_id: format!("emcee-sim-{account}"),
            name: account.to_owned(),
            company_id: "emcee-sim".into(),
        },
    }))
}

/// `POST /v1/mmc/management/conferences/start`: with a live access token and the
/// host password (or the guest password, where guests may start the meeting), a
/// scheduled meeting starts, a running one is left as it is, and one ended before its
/// scheduled end is held again as a new session.
pub(super) async fn start_meeting(
    State(sim): Sh,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Json<StartMeetingResponse>, ApiError> {
    let access_token = headers
        .get("x-access-token")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).trim().to_owned())
        .filter(|value| !value.is_empty())
        .ok_or_else(ApiError::token_invalid)?;
    let now = sim.clock.now();
    let mut state = sim.lock();
    state
        .access_tokens
        .get(&access_token)
        .filter(|expires| **expires > now)
        .ok_or_else(ApiError::token_invalid)?;
    let request: StartMeetingBody = body(&bytes)?;
    let id = request.conference_id;
    let meeting = state
        .meetings
        .get(&id)
        .ok_or_else(ApiError::no_such_meeting)?;
    let guest_may = meeting.guests_may_start
        && meeting.guest_password.as_deref() == Some(request.password.as_str());
    if request.password != meeting.host_password && !guest_may {
        return Err(ApiError::conf_not_found_or_auth_failed());
    }
    state.start_meeting(&id, now)?;
    let uuid = state.ids.token();
    Ok(Json(StartMeetingResponse {
        uuid,
        region_ip: "127.0.0.1".into(),
    }))
}
