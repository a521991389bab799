//! The error answers of the emulated service: an HTTP status and the
//! `{"error_code","error_msg"}` body of `docs/api.md#errors`, with the codes of its
//! emulator decisions (`docs/api.md#emulator`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Carried in the response's extensions so the request log can record the code
/// without reparsing the body.
#[derive(Debug, Clone)]
pub(super) struct ErrorCode(pub String);

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub msg: String,
    /// Seconds for a `Retry-After` header, on throttling answers.
    pub retry_after: Option<u32>,
}

#[derive(Serialize)]
struct Body<'a> {
    error_code: &'a str,
    error_msg: &'a str,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, code: impl Into<String>, msg: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            msg: msg.into(),
            retry_after: None,
        }
    }

    /// Unknown meeting or wrong host password, on the token call; wrong password on
    /// `StartMeeting`.
    pub(super) fn conf_not_found_or_auth_failed() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111072065",
            "CONF_NOT_FOUND_OR_AUTH_FAILED",
        )
    }

    /// Malformed body, missing or out-of-range parameter; the message names the field.
    pub(super) fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MMC.111070001", msg)
    }

    /// An unknown or departed participant: the service's code (docs/api.md#rules).
    pub(super) fn participant_not_found() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111072008",
            "CONF_PARTICIPANT_NOT_EXIST",
        )
    }

    pub(super) fn token_missing() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "MMC.111070111", "TOKEN_IS_EMPTY")
    }

    pub(super) fn token_invalid() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "MMC.111070004", "AUTH_FAILED")
    }

    /// A token or control call on an ended meeting, and a start after its scheduled end.
    pub(super) fn meeting_ended() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MMC.111072006", "CONF_IS_CLOSED")
    }

    /// A token or control call on a meeting that has not started.
    pub(super) fn not_started() -> Self {
        Self::new(StatusCode::BAD_REQUEST, "MMC.111072005", "CONF_NOT_STARTED")
    }

    /// A guest joining a meeting that has not started, which guests may not start.
    pub(super) fn only_host_starts() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111071004",
            "VMR_ONLY_ALLOW_CHAIR_START_CONF",
        )
    }

    /// A management call naming a meeting that does not exist.
    pub(super) fn no_such_meeting() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111070005",
            "CONF_DATA_NOT_FOUND",
        )
    }

    pub(super) fn meeting_locked() -> Self {
        Self::new(StatusCode::FORBIDDEN, "MMC.111072050", "CONF_LOCKED")
    }

    pub(super) fn throttled(retry_after: Option<u32>) -> Self {
        ApiError {
            retry_after,
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "MMC.100000429",
                "TOO_MANY_REQUESTS",
            )
        }
    }

    pub(super) fn account_auth_failed(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "USG.206010000", msg)
    }

    /// The API gateway's answer for a path or method it does not publish.
    pub(super) fn no_such_api() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
        )
    }

    pub(super) fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "APIGW.0201",
            format!("Request body too large (limit {limit} bytes)"),
        )
    }

    // Errors of the emulator's own `/_sim/` admin API.

    pub(super) fn sim_not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "SIM.NOT_FOUND", msg)
    }

    pub(super) fn sim_bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "SIM.BAD_REQUEST", msg)
    }

    pub(super) fn sim_conflict(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "SIM.CONFLICT", msg)
    }

    /// A request from another site, or under a host name the emulator does not serve.
    pub(super) fn sim_forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "SIM.FORBIDDEN", msg)
    }

    pub(super) fn sim_not_json() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "SIM.NOT_JSON",
            "admin requests other than GET need `Content-Type: application/json`",
        )
    }

    /// A request body that stopped arriving: the server's idle timeout.
    pub(super) fn body_stalled(pause: std::time::Duration) -> Self {
        Self::new(
            StatusCode::REQUEST_TIMEOUT,
            "SIM.BODY_TIMEOUT",
            format!("the request body stopped arriving: nothing for {pause:?}"),
        )
    }

    pub(super) fn sim_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "SIM.TOO_LARGE",
            format!("request body larger than {limit} bytes"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(Body {
                error_code: &self.code,
                error_msg: &self.msg,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}
