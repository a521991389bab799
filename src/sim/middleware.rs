//! What happens around every request: an `X-Request-Id` on every answer, a body size
//! limit, and — for API calls, not `/_sim/` — injected faults and the request log.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, Limited};

use super::api_error::{ApiError, ErrorCode};
use super::faults::{Action, DropPoint};
use super::request_log::{LoggedRequest, masked_body, masked_query};
use super::state::Sim;

/// The log target of one line per API request; `emcee sim` shows it, a rehearsal
/// inside `emcee run --sim` does not.
pub const REQUEST_LOG_TARGET: &str = "emcee_sim_requests";

/// Largest request body accepted; the service's bodies are far smaller.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Marks a response whose connection must be dropped instead of answered.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

pub async fn around(State(sim): State<Arc<Sim>>, request: Request, next: Next) -> Response {
    let request_id = sim.next_request_id();
    let admin = request.uri().path().starts_with("/_sim");
    let mut response = if admin {
        admin_call(request, next).await
    } else {
        api_call(&sim, &request_id, request, next).await
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

async fn buffer(request: Request) -> Result<(axum::http::request::Parts, bytes::Bytes), ()> {
    let (parts, body) = request.into_parts();
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(_) => Err(()),
    }
}

async fn admin_call(request: Request, next: Next) -> Response {
    match buffer(request).await {
        Ok((parts, bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(()) => ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "SIM.TOO_LARGE",
            format!("request body larger than {BODY_LIMIT} bytes"),
        )
        .into_response(),
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

    let (response, fault, body) = match buffer(request).await {
        Err(()) => (
            ApiError::body_too_large(BODY_LIMIT).into_response(),
            None,
            None,
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
            (response, fault, masked_body(&bytes))
        }
    };

    let dropped_before = fault == Some("drop");
    let error_code = response
        .extensions()
        .get::<ErrorCode>()
        .map(|c| c.0.clone());
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
    });
    response
}

fn method_name(method: &Method) -> String {
    method.as_str().to_owned()
}

fn dropped() -> Response {
    let mut response = Response::new(Body::empty());
    response.extensions_mut().insert(DropConnection);
    response
}
