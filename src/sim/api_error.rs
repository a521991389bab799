//! The error answers of the emulated service: an HTTP status and the
//! `{"error_code","error_msg","request_id"}` body of `docs/api.md#errors`, with the
//! codes of its emulator decisions (`docs/api.md#emulator`).

use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Carried in the response's extensions so the request log can record the code
/// without reparsing the body, and so the body can be written again with the
/// request's id ([`with_request_id`]), which the handler that failed does not know.
#[derive(Debug, Clone)]
pub(super) struct ErrorCode {
    pub code: String,
    pub msg: String,
}

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
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// An error answer's body with `request_id` added: the error-code page's shape, the id
/// the same as the answer's `X-Request-Id`. Other answers pass unchanged.
pub(super) fn with_request_id(mut response: Response, request_id: &str) -> Response {
    let Some(error) = response.extensions().get::<ErrorCode>().cloned() else {
        return response;
    };
    let body = Body {
        error_code: &error.code,
        error_msg: &error.msg,
        request_id: Some(request_id),
    };
    if let Ok(bytes) = serde_json::to_vec(&body) {
        response
            .headers_mut()
            .remove(axum::http::header::CONTENT_LENGTH);
        *response.body_mut() = axum::body::Body::from(bytes);
    }
    response
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

    /// Unknown meeting, wrong host password, or meeting ended, on the token call.
    pub(super) fn conf_not_found_or_auth_failed() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111072065",
            "CONF_NOT_FOUND_OR_AUTH_FAILED",
        )
    }

    /// `SetRole` applying for the host role with a wrong `chairmanPwd`.
    pub(super) fn chairman_password_wrong() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111072018",
            "CONF_CHAIRMAN_PWD_EXCEPTION",
        )
    }

    /// The host's own hand cannot be raised.
    pub(super) fn chair_forbidden_hand() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111072069",
            "CONF_CHAIR_FORBIDDEN_HAND",
        )
    }

    /// Raising someone else's hand, under the strict hand rule.
    pub(super) fn no_permission_operate_others() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111072071",
            "NO_PERMISSION_OPERATE_OTHERS",
        )
    }

    /// Only guests can become co-hosts.
    pub(super) fn chair_cannot_be_cohost() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111072107",
            "CHAIR_CANNOT_BE_COHOST",
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

    pub(super) fn meeting_ended() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "MMC.111081002",
            "CONF_NOT_EXIST_OR_ENDED",
        )
    }

    pub(super) fn meeting_locked() -> Self {
        Self::new(StatusCode::FORBIDDEN, "MMC.111072050", "CONF_LOCKED")
    }

    /// The API gateway's answer over a per-API rate: `window` is the policy's period
    /// as the gateway writes it (`1 minute`).
    pub(super) fn gateway_throttled(limit: u32, window: &str, retry_after: Option<u32>) -> Self {
        ApiError {
            retry_after,
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "APIG.0308",
                format!(
                    "The throttling threshold has been reached: policy user over ratelimit,limit:{limit},time:{window}"
                ),
            )
        }
    }

    /// The meeting server's flow control (a fault rule's `throttle`).
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
        Self::new(StatusCode::BAD_REQUEST, "USG.206010000", msg)
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
                request_id: None,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert("retry-after", HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(ErrorCode {
            code: self.code,
            msg: self.msg,
        });
        response
    }
}
