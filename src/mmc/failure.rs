//! Why an API call failed, and whether trying again can help. Transport errors,
//! timeouts, HTTP 429 and 5xx, a success whose body is not JSON, and the API's
//! flow-control code are transient; every other answer (400, 403, a redirect…) is
//! final, and its `error_code`/`error_msg` are shown.

use std::fmt;
use std::time::Duration;

/// The API's flow-control code, as the REST gateway reports it.
const FLOW_CONTROL: &str = "100000429";
/// Meeting not found or authentication failed: on a control call, a refused token.
const TOKEN_REFUSED: &str = "111072065";
/// The API gateway's throttling code (HTTP 429).
const GATEWAY_THROTTLE: &str = "APIG.0308";

/// What to do about the refusals the service documents for the runner's calls; they
/// are final, so the step fails with this advice.
const ADVICE: &[(&str, &str)] = &[
    (
        "111072018",
        "the service refused the host password as chairmanPwd: check `meeting.host_password`",
    ),
    (
        "111072069",
        "the service never raises the host's hand: aim raise_hand at guests",
    ),
    (
        "111072070",
        "guests may not raise their hands in this meeting",
    ),
    (
        "111072071",
        "this meeting lets people raise only their own hand: ask them to raise it themselves",
    ),
    (
        "111072064",
        "the meeting's control login is locked after failed logins: check the password and try again much later",
    ),
];

/// Why an invitation failed, by the service's code for the callee's outcome.
pub(crate) fn invite_outcome(code: &str) -> Option<&'static str> {
    Some(match code.strip_prefix("MMC.").unwrap_or(code) {
        "111076005" => "no answer",
        "111076006" => "no such user",
        "111076007" => "offline",
        "111076008" => "busy",
        "111076009" => "rejected",
        "111076011" => "no media resources",
        "111076012" | "111082008" => "phone calls are not enabled",
        "111076014" => "SIP timeout",
        "111076015" => "the meeting is full",
        "111076099" => "the call failed",
        _ => return None,
    })
}

/// Whether `code` is the service's `number`, with or without its `MMC.` prefix.
fn code_is(code: Option<&str>, number: &str) -> bool {
    code.map(|c| c.strip_prefix("MMC.").unwrap_or(c)) == Some(number)
}

/// The meeting has not started (`CONF_NOT_STARTED`).
const NOT_STARTED: &str = "111072005";

/// The meeting is closing or starting: the service asks to try again in a few seconds
/// (docs/api.md#errors).
const TRANSIENT_STATES: [&str; 2] = ["111072003", "111072004"];

/// The meeting has ended (`CONF_IS_CLOSED`).
const ENDED: &str = "111072006";

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FailureKind {
    /// No answer: connection refused, reset, dropped, TLS or DNS failure.
    Transport(String),
    /// No answer in time.
    Timeout(Duration),
    /// An answer other than success.
    Http {
        status: u16,
        code: Option<String>,
        msg: Option<String>,
        retry_after: Option<Duration>,
        request_id: Option<String>,
    },
    /// A redirect, not followed: the API never redirects, and following one would
    /// send the credentials wherever it points.
    Redirect {
        status: u16,
        location: Option<String>,
    },
    /// A success whose body is not the API's JSON (an HTML page from a proxy…):
    /// treated like a 5xx.
    BadAnswer {
        status: u16,
        what: String,
        request_id: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    /// `METHOD /path`, without the query.
    pub call: String,
    pub kind: FailureKind,
}

impl Failure {
    pub(crate) fn retryable(&self) -> bool {
        match &self.kind {
            FailureKind::Transport(_) | FailureKind::Timeout(_) | FailureKind::BadAnswer { .. } => {
                true
            }
            FailureKind::Redirect { .. } => false,
            FailureKind::Http { status, code, .. } => {
                *status == 429
                    || (500..600).contains(status)
                    || code.as_deref().is_some_and(|c| c.ends_with(FLOW_CONTROL))
                    || TRANSIENT_STATES
                        .iter()
                        .any(|state| code_is(code.as_deref(), state))
            }
        }
    }

    /// The wait the server asked for, if any.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            FailureKind::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the answer is throttling: HTTP 429, the gateway's `APIG.0308`, or the
    /// meeting server's flow control.
    pub(crate) fn throttled(&self) -> bool {
        match &self.kind {
            FailureKind::Http { status, code, .. } => {
                *status == 429
                    || code
                        .as_deref()
                        .is_some_and(|c| c == GATEWAY_THROTTLE || c.ends_with(FLOW_CONTROL))
            }
            _ => false,
        }
    }

    /// The service's code, without its `MMC.` prefix.
    pub(crate) fn code(&self) -> Option<&str> {
        match &self.kind {
            FailureKind::Http { code, .. } => {
                code.as_deref().map(|c| c.strip_prefix("MMC.").unwrap_or(c))
            }
            _ => None,
        }
    }

    /// What to do about a refusal the service documents, if this is one.
    pub(crate) fn advice(&self) -> Option<&'static str> {
        let code = self.code()?;
        if let Some(outcome) = invite_outcome(code) {
            return Some(match outcome {
                "busy" => "the callee is busy: invite them again later",
                "rejected" => "the callee rejected the call",
                "no answer" => "the callee did not answer",
                _ => "the invitation failed: check the number",
            });
        }
        ADVICE
            .iter()
            .find(|(known, _)| *known == code)
            .map(|(_, advice)| *advice)
    }

    /// Whether the answer refuses the control token: any 401, or the 400
    /// `MMC.111072065` the service documents for it on control calls.
    pub(crate) fn refuses_token(&self) -> bool {
        match &self.kind {
            FailureKind::Http { status: 401, .. } => true,
            FailureKind::Http {
                status: 400, code, ..
            } => code_is(code.as_deref(), TOKEN_REFUSED),
            _ => false,
        }
    }

    /// Whether the answer says the participant is not in the meeting (any more): the
    /// service's three codes for it (docs/api.md#rules), with or without the `MMC.`
    /// prefix, and the message older emulators answered with a generic code.
    pub(crate) fn is_participant_not_found(&self) -> bool {
        let FailureKind::Http { code, msg, .. } = &self.kind else {
            return false;
        };
        let code = code.as_deref().map(|c| c.strip_prefix("MMC.").unwrap_or(c));
        matches!(code, Some("111072008" | "111080004" | "111082003"))
            || msg.as_deref() == Some("PARTICIPANT_NOT_FOUND")
    }

    /// Whether the answer says the meeting has not started (or, from a meeting the run
    /// already had a token for, that it has ended: see [`Failure::ends_meeting`]).
    pub(crate) fn is_not_started(&self) -> bool {
        self.code() == Some(NOT_STARTED)
    }

    /// Whether the answer says the meeting is over: `111072006` always; `111072005`
    /// (not started) and `111081002` once the run had a token for it, since a meeting
    /// that was running cannot be "not started" again (docs/api.md#lifecycle).
    pub(crate) fn ends_meeting(&self, had_token: bool) -> bool {
        match self.code() {
            Some(ENDED) => true,
            Some(NOT_STARTED | "111081002") => had_token,
            _ => false,
        }
    }

    /// A short reason for retry lines: `HTTP 503 MMC.111070003`, `connection reset`.
    pub(crate) fn brief(&self) -> String {
        match &self.kind {
            FailureKind::Transport(reason) => reason.clone(),
            FailureKind::Timeout(after) => {
                format!("no answer in {}", crate::duration::human(*after))
            }
            FailureKind::Http { status, code, .. } => match code {
                Some(code) => format!("HTTP {status} {code}"),
                None => format!("HTTP {status}"),
            },
            FailureKind::Redirect { status, .. } => format!("HTTP {status} redirect"),
            FailureKind::BadAnswer { status, .. } => format!("HTTP {status} without JSON"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FailureKind::Transport(reason) => {
                write!(f, "{}: cannot reach the API: {reason}", self.call)
            }
            FailureKind::Timeout(after) => {
                write!(
                    f,
                    "{}: no answer in {}",
                    self.call,
                    crate::duration::human(*after)
                )
            }
            FailureKind::Http {
                status,
                code,
                msg,
                request_id,
                ..
            } => {
                write!(f, "{}: HTTP {status}", self.call)?;
                if let Some(code) = code {
                    write!(f, " {code}")?;
                }
                if let Some(msg) = msg {
                    write!(f, " {msg}")?;
                }
                if let Some(id) = request_id {
                    write!(f, " (X-Request-Id {id})")?;
                }
                Ok(())
            }
            FailureKind::Redirect { status, location } => write!(
                f,
                "{}: HTTP {status} redirect to {}, not followed: the API does not redirect, so the endpoint is wrong or something is in the way",
                self.call,
                location.as_deref().unwrap_or("(no Location)")
            ),
            FailureKind::BadAnswer {
                status,
                what,
                request_id,
            } => {
                write!(f, "{}: HTTP {status}, but {what}", self.call)?;
                if let Some(id) = request_id {
                    write!(f, " (X-Request-Id {id})")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Failure {}

/// Reads `error_code`/`error_msg`, or the `errorCode`/`errorMsg` and `code`/`message`
/// spellings some gateways use.
pub(super) fn error_fields(value: &serde_json::Value) -> (Option<String>, Option<String>) {
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| value.get(*k))
            .and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
    };
    (
        text(&["error_code", "errorCode", "code"]),
        text(&["error_msg", "errorMsg", "message"]),
    )
}

/// `Retry-After` in seconds or as an HTTP date.
pub(super) fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds.min(3600)));
    }
    let at = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = at.duration_since(now);
    Some(Duration::from_secs_f64(
        wait.as_secs_f64().clamp(0.0, 3600.0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, code: Option<&str>) -> Failure {
        Failure {
            call: "PUT /x".into(),
            kind: FailureKind::Http {
                status,
                code: code.map(String::from),
                msg: None,
                retry_after: None,
                request_id: None,
            },
        }
    }

    #[test]
    fn every_code_for_a_departed_participant_is_recognised() {
        // The service's three codes, with and without the prefix.
        for code in [
            "MMC.111072008",
            "MMC.111080004",
            "MMC.111082003",
            "111072008",
        ] {
            assert!(http(400, Some(code)).is_participant_not_found(), "{code}");
        }
        // Older emulators: a generic code with this message.
        let mut legacy = http(400, Some("MMC.111070001"));
        if let FailureKind::Http { msg, .. } = &mut legacy.kind {
            *msg = Some("PARTICIPANT_NOT_FOUND".into());
        }
        assert!(legacy.is_participant_not_found());
        // A generic refusal, offline (not gone), or no answer at all are not departures.
        assert!(!http(400, Some("MMC.111070001")).is_participant_not_found());
        assert!(!http(400, Some("MMC.111082004")).is_participant_not_found());
        assert!(!http(400, Some("MMC.1110720080")).is_participant_not_found());
        let dropped = Failure {
            call: "PUT /x".into(),
            kind: FailureKind::Transport("reset".into()),
        };
        assert!(!dropped.is_participant_not_found());
    }

    #[test]
    fn the_lifecycle_codes_say_not_started_or_ended_by_what_came_before() {
        let not_started = http(400, Some("MMC.111072005"));
        assert!(not_started.is_not_started());
        assert!(
            !not_started.ends_meeting(false),
            "before any token: not started"
        );
        assert!(not_started.ends_meeting(true), "after a token: ended");
        let closed = http(400, Some("MMC.111072006"));
        assert!(closed.ends_meeting(false) && closed.ends_meeting(true));
        assert!(!closed.is_not_started());
        assert!(http(400, Some("111081002")).ends_meeting(true));
        assert!(!http(400, Some("111081002")).ends_meeting(false));
        assert!(!http(400, Some("MMC.111072065")).ends_meeting(true));
        assert!(!http(400, Some("MMC.111072065")).is_not_started());
        assert_eq!(http(400, Some("MMC.111072065")).code(), Some("111072065"));
        assert_eq!(http(503, None).code(), None);
        assert!(
            !not_started.retryable() && !closed.retryable(),
            "never retried"
        );
    }

    #[test]
    fn a_meeting_starting_or_closing_is_asked_again() {
        assert!(http(400, Some("MMC.111072004")).retryable());
        assert!(http(400, Some("111072003")).retryable());
        assert!(!http(400, Some("MMC.111072005")).retryable());
        assert!(!http(400, Some("MMC.1110720040")).retryable());
    }

    #[test]
    fn a_refused_token_is_a_401_or_the_services_400() {
        assert!(http(401, Some("MMC.111070004")).refuses_token());
        assert!(http(401, None).refuses_token());
        assert!(http(400, Some("MMC.111072065")).refuses_token());
        assert!(http(400, Some("111072065")).refuses_token());
        // Another refusal, the same code on another status, or no answer are not.
        assert!(!http(400, Some("MMC.111072005")).refuses_token());
        assert!(!http(400, Some("MMC.1110720650")).refuses_token());
        assert!(!http(403, Some("MMC.111072065")).refuses_token());
        let dropped = Failure {
            call: "PUT /x".into(),
            kind: FailureKind::Transport("reset".into()),
        };
        assert!(!dropped.refuses_token());
    }

    #[test]
    fn documented_refusals_say_what_to_do() {
        let hand = http(400, Some("MMC.111072069"));
        assert!(!hand.retryable());
        assert!(hand.advice().unwrap().contains("host's hand"));
        assert!(
            http(400, Some("MMC.111072071"))
                .advice()
                .unwrap()
                .contains("their own hand")
        );
        assert!(
            http(400, Some("111072018"))
                .advice()
                .unwrap()
                .contains("chairmanPwd")
        );
        assert!(
            http(400, Some("MMC.111076008"))
                .advice()
                .unwrap()
                .contains("busy")
        );
        assert_eq!(invite_outcome("MMC.111076009"), Some("rejected"));
        assert_eq!(invite_outcome("111076005"), Some("no answer"));
        assert_eq!(invite_outcome("MMC.111070001"), None);
        assert_eq!(http(400, Some("MMC.111070001")).advice(), None);
        assert_eq!(http(503, None).advice(), None);
    }

    #[test]
    fn throttling_is_known_by_status_and_code() {
        assert!(http(429, Some("APIG.0308")).throttled());
        assert!(http(429, None).throttled());
        assert!(http(400, Some("MMC.100000429")).throttled());
        assert!(!http(503, None).throttled());
        assert!(!http(400, Some("MMC.111070001")).throttled());
    }

    #[test]
    fn classifies_transient_and_final_failures() {
        assert!(http(503, None).retryable());
        assert!(http(429, None).retryable());
        assert!(http(400, Some("MMC.100000429")).retryable());
        assert!(!http(400, Some("MMC.111070001")).retryable());
        assert!(!http(403, None).retryable());
        assert!(!http(401, None).retryable());
        let dropped = Failure {
            call: "PUT /x".into(),
            kind: FailureKind::Transport("reset".into()),
        };
        assert!(dropped.retryable());
        let redirect = Failure {
            call: "GET /x".into(),
            kind: FailureKind::Redirect {
                status: 307,
                location: Some("http://elsewhere/x".into()),
            },
        };
        assert!(!redirect.retryable());
        assert!(
            redirect
                .to_string()
                .contains("307 redirect to http://elsewhere/x")
        );
        let html = Failure {
            call: "GET /x".into(),
            kind: FailureKind::BadAnswer {
                status: 200,
                what: "the answer is an HTML page".into(),
                request_id: None,
            },
        };
        assert!(html.retryable(), "like a 5xx");
    }

    #[test]
    fn reads_every_error_spelling_and_retry_after_forms() {
        use serde_json::json;
        assert_eq!(
            error_fields(&json!({"error_code":"A","error_msg":"B"})),
            (Some("A".into()), Some("B".into()))
        );
        assert_eq!(
            error_fields(&json!({"errorCode":"A","errorMsg":"B"})),
            (Some("A".into()), Some("B".into()))
        );
        assert_eq!(
            error_fields(&json!({"code":429,"message":"slow"})),
            (Some("429".into()), Some("slow".into()))
        );
        assert_eq!(error_fields(&json!([1])), (None, None));
        let now: jiff::Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 10:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
