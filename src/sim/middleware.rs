//! What happens around every request: an `X-Request-Id` on every answer (and as
//! `request_id` in every error body), a body size limit and a limit on its pauses, and
//! — for API calls, not `/_sim/` — injected faults, the gateway's rate header, the
//! service's `Content-Type` on empty successes and the request log; for `/_sim/`, the
//! refusal of calls a web page could make ([`guard`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, HttpBody};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use super::api_error::{ApiError, ErrorCode, with_request_id};
use super::faults::{Action, DropPoint, RateHeader};
use super::guard;
use super::handover::{BodyPause, DropConnection};
use super::request_log::{LoggedRequest, masked_body, masked_query};
use super::state::Sim;

/// The log target of one line per API request; `emcee sim` shows it, a rehearsal
/// inside `emcee run --sim` does not.
pub const REQUEST_LOG_TARGET: &str = "emcee_sim_requests";

/// Largest request body accepted; the service's bodies are far smaller.
pub(super) const BODY_LIMIT: usize = 1024 * 1024;

/// What the service's action calls answer with, though their body is empty.
const SUCCESS_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

pub(super) async fn around(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let request_id = sim.next_request_id();
    let admin = request.uri().path().starts_with("/_sim");
    let response = if admin {
        admin_call(&sim, request, next).await
    } else {
        api_call(&sim, &request_id, request, next).await
    };
    let mut response = with_request_id(response, &request_id);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// Why a request body was not read whole.
enum Unread {
    TooLarge,
    /// Nothing arrived for this long: the server's idle timeout.
    Stalled(Duration),
    /// The client went away mid-body; nobody will read the answer.
    Broken,
}

impl Unread {
    /// The answer, in the words of the API or of the admin API.
    fn error(self, admin: bool) -> ApiError {
        match self {
            Unread::TooLarge if admin => ApiError::sim_too_large(BODY_LIMIT),
            Unread::TooLarge => ApiError::body_too_large(BODY_LIMIT),
            Unread::Stalled(pause) => ApiError::body_stalled(pause),
            Unread::Broken => ApiError::sim_bad_request("the request body broke off"),
        }
    }
}

/// The whole body, refused past [`BODY_LIMIT`] — before reading any of it when its
/// declared length is over — and given up on when it pauses for the server's idle
/// timeout ([`BodyPause`]).
async fn buffer(request: Request) -> Result<(axum::http::request::Parts, Bytes), Unread> {
    let (parts, body) = request.into_parts();
    if HttpBody::size_hint(&body).lower() > BODY_LIMIT as u64 {
        return Err(Unread::TooLarge);
    }
    let pause = parts.extensions.get::<BodyPause>().map(|pause| pause.0);
    let mut body = Limited::new(body, BODY_LIMIT);
    let mut bytes = BytesMut::new();
    loop {
        let frame = match pause {
            Some(pause) => tokio::time::timeout(pause, body.frame())
                .await
                .map_err(|_| Unread::Stalled(pause))?,
            None => body.frame().await,
        };
        match frame {
            None => return Ok((parts, bytes.freeze())),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(error)) if error.is::<LengthLimitError>() => return Err(Unread::TooLarge),
            Some(Err(_)) => return Err(Unread::Broken),
        }
    }
}

/// An admin call, once [`guard::refusal`] lets it through.
async fn admin_call(sim: &Sim, request: Request, next: Next) -> Response {
    if let Some(refusal) = guard::refusal(&request, sim.base_url()) {
        return refusal.into_response();
    }
    match buffer(request).await {
        Ok((parts, bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(unread) => unread.error(true).into_response(),
    }
}

async fn api_call(sim: &Sim, request_id: &str, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let received = sim.clock.now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query: Vec<(String, String)> =
        form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let auth = request
        .headers()
        .get("x-conference-authorization")
        .map(|value| {
            if value.as_bytes().starts_with(b"Basic ") {
                "basic"
            } else {
                "plain"
            }
        });

    let (mut response, fault, rate, (body, body_truncated)) = match buffer(request).await {
        Err(unread) => (
            unread.error(false).into_response(),
            None,
            None,
            (None, false),
        ),
        Ok((parts, bytes)) => {
            let decision = sim.lock().faults.decide(method.as_str(), &path, received);
            if !decision.latency.is_zero() {
                tokio::time::sleep(decision.latency).await;
            }
            let fault = decision.action.as_ref().map(Action::label);
            let response = match decision.action {
                Some(Action::Error(error)) => ApiError::new(
                    axum::http::StatusCode::from_u16(error.status)
                        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR),
                    error.code,
                    error.msg.unwrap_or_else(|| "INJECTED_FAULT".into()),
                )
                .into_response(),
                Some(Action::Throttle(retry_after)) => {
                    ApiError::throttled(retry_after).into_response()
                }
                Some(Action::OverRate(header, retry_after)) => {
                    ApiError::gateway_throttled(header.limit, &header.window, retry_after)
                        .into_response()
                }
                Some(Action::Drop(DropPoint::Before)) => dropped(),
                Some(Action::Ignore) => axum::http::StatusCode::OK.into_response(),
                Some(Action::Drop(DropPoint::After)) => {
                    let answered = next
                        .run(Request::from_parts(parts, Body::from(bytes.clone())))
                        .await;
                    let mut response = dropped();
                    *response.status_mut() = answered.status();
                    if let Some(code) = answered.extensions().get::<ErrorCode>().cloned() {
                        response.extensions_mut().insert(code);
                    }
                    response
                }
                None => {
                    next.run(Request::from_parts(parts, Body::from(bytes.clone())))
                        .await
                }
            };
            (response, fault, decision.rate, masked_body(&bytes))
        }
    };
    finish_api_answer(&mut response, rate.as_ref());

    let dropped_before = fault == Some("drop");
    let error_code = response
        .extensions()
        .get::<ErrorCode>()
        .map(|c| c.code.clone());
    let status = (!dropped_before).then(|| response.status().as_u16());
    tracing::info!(
        target: REQUEST_LOG_TARGET,
        "{method} {path} -> {} {}{} ({:.1} ms)",
        status.map_or_else(|| "dropped".to_owned(), |s| s.to_string()),
        error_code.as_deref().unwrap_or(""),
        fault.map(|f| format!(" [fault: {f}]")).unwrap_or_default(),
        started.elapsed().as_secs_f64() * 1000.0,
    );
    sim.lock().log.push(LoggedRequest {
        seq: 0,
        request_id: request_id.to_owned(),
        received: format!("{received:.6}"),
        method: method_name(&method),
        path,
        query: masked_query(query),
        auth,
        status,
        error_code,
        fault,
        body,
        body_truncated,
    });
    response
}

/// The gateway's rate header while a rate is set, and the service's `Content-Type` on
/// a success without a body (its action calls').
fn finish_api_answer(response: &mut Response, rate: Option<&RateHeader>) {
    if let Some(rate) = rate
        && let Ok(value) = HeaderValue::from_str(&rate.value())
    {
        response.headers_mut().insert(RateHeader::NAME, value);
    }
    if response.status() == StatusCode::OK && !response.headers().contains_key(header::CONTENT_TYPE)
    {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(SUCCESS_CONTENT_TYPE),
        );
    }
}

fn method_name(method: &Method) -> String {
    method.as_str().to_owned()
}

fn dropped() -> Response {
    let mut response = Response::new(Body::empty());
    response.extensions_mut().insert(DropConnection);
    response
}
