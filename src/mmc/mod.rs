//! The meeting-control API client: requests built from the contract in `meeting`, one
//! reqwest client with connections reused (rustls), calls paced by a rate limit, and
//! the control token of `token` kept for the whole run.

mod body;
mod failure;
pub(crate) mod feed;
pub(crate) mod live;
pub(crate) mod picture;
mod renewal;
mod start;
mod throttle;
mod token;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;

pub(crate) use body::MAX_BODY;
pub(crate) use failure::{Failure, FailureKind, invite_outcome};
pub(crate) use start::Account;

use crate::clock::SharedClock;
use crate::meeting::{self, Api, ApiPath};
/// The service's default endpoint (China site).
pub(crate) const DEFAULT_ENDPOINT: &str = "https://api.meeting.huaweicloud.com";

/// How one logs in to the meeting.
#[derive(Clone)]
pub(crate) enum Credentials {
    /// The host password: a token is obtained with it, and again whenever needed.
    Password(SecretString),
    /// A token obtained elsewhere; it cannot be renewed once the API refuses it.
    Token(SecretString),
}

/// One control call.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: Method,
    /// The path after the endpoint.
    pub path: ApiPath,
    /// Query parameters besides `conferenceID`.
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Request {
    /// A call of the contract that takes no body.
    pub(crate) fn to(api: Api) -> Request {
        Request {
            method: method(api.method()),
            path: ApiPath::from(api),
            query: Vec::new(),
            body: None,
        }
    }

    /// A call of the contract with its typed body (from [`meeting::wire`]).
    pub(crate) fn call<B: Serialize>(api: Api, body: &B) -> Request {
        Request {
            // The wire types are plain data: serializing them cannot fail.
            body: Some(serde_json::to_value(body).unwrap_or(Value::Null)),
            ..Request::to(api)
        }
    }

    pub(crate) fn participant(mut self, pid: &str) -> Request {
        self.query.push(("participantID".into(), pid.into()));
        self
    }

    pub(crate) fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A successful answer; its body was JSON, or empty (`Null`).
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Value,
}

pub(crate) struct Client {
    http: reqwest::Client,
    /// Request URLs are this with the call's path segments appended, never text glued
    /// together, so no path can change the host.
    endpoint: url::Url,
    meeting_id: String,
    credentials: Credentials,
    token: tokio::sync::Mutex<Option<token::Token>>,
    clock: SharedClock,
    request_timeout: Duration,
    renewals: AtomicU32,
    /// Keep-alive renewals recently made, against their budget.
    budget: std::sync::Mutex<renewal::Budget>,
    /// Whether the API has given (or accepted) a token: until then every failure
    /// means it cannot be used at all (exit 3).
    connected: AtomicBool,
    /// When the API first gave (or accepted) a token: the meeting's start as a run
    /// counts it when nothing told it before.
    first_token: std::sync::OnceLock<Timestamp>,
    calls: AtomicU32,
    /// Calls per minute per API, shared by every call of the run.
    limiter: Option<Limiter>,
    /// Calls per minute per API the limiter lets through; 0 for no limit.
    per_minute: u32,
    /// The gateway's own count of what is left, from its rate headers.
    pacer: std::sync::Mutex<throttle::Pacer>,
    on_secret: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Client {
    /// `on_secret` is told every token obtained, so output can redact it.
    pub(crate) fn new(
        endpoint: &str,
        meeting_id: &str,
        credentials: Credentials,
        clock: SharedClock,
        on_secret: Arc<dyn Fn(&str) + Send + Sync>,
    ) -> Result<Client, String> {
        let parsed = url::Url::parse(endpoint)
            .ok()
            .filter(|u| !u.cannot_be_a_base())
            .ok_or_else(|| format!("--endpoint {endpoint}: not an http(s) URL"))?;
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("emcee/", env!("CARGO_PKG_VERSION")))
            // The API never redirects, and a redirect followed would carry the password
            // and token headers to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true);
        if endpoint.starts_with("http://") {
            // No TLS to verify: skip loading the system's root certificates, a
            // noticeable part of start-up.
            builder = builder.tls_certs_only(Vec::new());
        }
        if let Credentials::Token(token) = &credentials {
            on_secret(token.expose_secret());
        }
        if let Credentials::Password(password) = &credentials {
            on_secret(password.expose_secret());
        }
        Ok(Client {
            http: builder
                .build()
                .map_err(|e| format!("cannot set up HTTP: {e}"))?,
            endpoint: parsed,
            meeting_id: meeting_id.to_owned(),
            credentials,
            token: tokio::sync::Mutex::new(None),
            clock,
            request_timeout: Duration::from_secs(10),
            renewals: AtomicU32::new(0),
            budget: Default::default(),
            connected: AtomicBool::new(false),
            first_token: std::sync::OnceLock::new(),
            calls: AtomicU32::new(0),
            limiter: None,
            per_minute: 0,
            pacer: Default::default(),
            on_secret,
        })
    }

    /// Limits calls to `per_minute` per API (path), with bursts of as many; 0 for none.
    /// The gateway allows about 100 a minute per API and answers 429 beyond.
    pub(crate) fn with_rate_limit(mut self, per_minute: u32) -> Client {
        self.per_minute = per_minute;
        self.limiter = std::num::NonZeroU32::new(per_minute).map(|n| {
            governor::RateLimiter::hashmap_with_clock(
                governor::Quota::per_minute(n),
                RunClock(Arc::clone(&self.clock)),
            )
        });
        self
    }

    /// Waits until the gateway's count, as its last rate header said, leaves room for
    /// the call `key` (`METHOD /path`), and counts it; on the run's clock.
    async fn pace_by_gateway(&self, key: &str) {
        loop {
            let now = self.clock.now();
            let admitted = self.pacer().admit(key, now);
            match admitted {
                Ok(()) => return,
                Err(until) => {
                    tracing::debug!("{key}: the gateway's quota is spent; waiting until {until}");
                    self.clock.sleep_until(until).await;
                }
            }
        }
    }

    fn pacer(&self) -> std::sync::MutexGuard<'_, throttle::Pacer> {
        self.pacer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until the rate limit allows a call to `path`, on the run's clock: in a
    /// fast-forwarded rehearsal the wait is virtual, like every other wait.
    async fn pace(&self, path: &str) {
        let Some(limiter) = &self.limiter else {
            return;
        };
        let key = path.to_owned();
        while let Err(not_until) = limiter.check_key(&key) {
            let now = self.clock.now();
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&RunClock(
                Arc::clone(&self.clock),
            )));
            let at = now
                .checked_add(SignedDuration::try_from(wait).unwrap_or(SignedDuration::MAX))
                .unwrap_or(Timestamp::MAX);
            self.clock.sleep_until(at).await;
        }
    }

    /// The host password, when the run logs in with one rather than a given token.
    pub(crate) fn host_password(&self) -> Option<&SecretString> {
        match &self.credentials {
            Credentials::Password(password) => Some(password),
            Credentials::Token(_) => None,
        }
    }

    /// Calls per minute per API this client allows itself; 0 for no limit.
    pub(crate) fn rate_limit(&self) -> u32 {
        self.per_minute
    }

    /// Times the token was renewed or obtained again after the first.
    pub(crate) fn renewals(&self) -> u32 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// Whether the API has given a token or, for a given token, accepted it. Before
    /// that, a failure means the API cannot be used at all.
    pub(crate) fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// The API has given or accepted a token.
    fn mark_connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
        self.first_token.get_or_init(|| self.clock.now());
    }

    /// When the API first gave (or accepted) a token, if it has.
    pub(crate) fn first_token(&self) -> Option<Timestamp> {
        self.first_token.get().copied()
    }

    /// HTTP calls made, token calls included.
    pub(crate) fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// One attempt at a control call. A refused token (401, or the service's 400
    /// `MMC.111072065`) makes the client obtain a fresh token and try once more; the
    /// login itself is never retried, since its refusal means a wrong id or password and
    /// repeated ones lock the meeting. Retries of transient failures are the caller's
    /// policy.
    pub(crate) async fn send(&self, request: &Request) -> Result<Response, Failure> {
        let token = self.token(false).await?;
        let result = match self.attempt(request, Some(&token)).await {
            Err(failure) if failure.refuses_token() => {
                tracing::debug!("{}: token refused; obtaining a new one", request.describe());
                let token = self.token(true).await?;
                self.attempt(request, Some(&token)).await
            }
            other => other,
        };
        if accepts_token(&result) {
            self.mark_connected();
        }
        result
    }

    fn url(&self, path: &ApiPath) -> url::Url {
        join(&self.endpoint, path)
    }

    async fn attempt(
        &self,
        request: &Request,
        token: Option<&SecretString>,
    ) -> Result<Response, Failure> {
        let url = self.url(&request.path);
        let mut query: Vec<(&str, &str)> = Vec::with_capacity(request.query.len() + 1);
        if !request.query.iter().any(|(k, _)| k == "conferenceID") {
            query.push(("conferenceID", &self.meeting_id));
        }
        query.extend(request.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut builder = self
            .http
            .request(request.method.clone(), url)
            .query(&query)
            .timeout(self.request_timeout);
        if let Some(token) = token {
            builder = builder.header("X-Conference-Authorization", token.expose_secret());
        }
        if let Some(body) = &request.body {
            builder = builder
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        self.execute(builder, request.describe()).await
    }

    async fn execute(
        &self,
        builder: reqwest::RequestBuilder,
        call: String,
    ) -> Result<Response, Failure> {
        if let Some((_, path)) = call.split_once(' ') {
            self.pace(path).await;
        }
        self.pace_by_gateway(&call).await;
        // A call abandoned here (its step timed out) stays counted as unanswered: the
        // pacer then errs on the side of waiting.
        let mut quotas = [None, None];
        let result = self.exchange(builder, &call, &mut quotas).await;
        self.pacer().heard(&call, quotas, self.clock.now());
        result
    }

    /// Sends the call and reads its answer, and into `quotas` what the gateway's rate
    /// headers say.
    async fn exchange(
        &self,
        builder: reqwest::RequestBuilder,
        call: &str,
        quotas: &mut [Option<throttle::Quota>; 2],
    ) -> Result<Response, Failure> {
        let call = call.to_owned();
        self.calls.fetch_add(1, Ordering::Relaxed);
        let fail = |kind| Failure {
            call: call.clone(),
            kind,
        };
        let mut response = builder
            .send()
            .await
            .map_err(|e| fail(transport(&e, self.request_timeout)))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        for (quota, name) in quotas.iter_mut().zip(throttle::HEADERS) {
            *quota = header(name).and_then(|v| throttle::parse(&v));
        }
        let request_id = header("x-request-id");
        let content_type = header("content-type");
        let location = header("location");
        let retry_after =
            header("retry-after").and_then(|v| failure::parse_retry_after(&v, self.clock.now()));
        if (300..400).contains(&status) {
            return Err(fail(FailureKind::Redirect { status, location }));
        }
        let bytes = body::read_capped(&mut response, MAX_BODY)
            .await
            .map_err(|e| {
                fail(match e {
                    body::BodyError::TooLarge(cap) => FailureKind::Transport(format!(
                        "the answer's body passed {} MiB and was cut off",
                        cap / (1024 * 1024)
                    )),
                    body::BodyError::Read(e) => transport(&e, self.request_timeout),
                })
            })?;
        let body = body::Body::classify(content_type.as_deref(), &bytes);
        if (200..300).contains(&status) {
            return match body {
                body::Body::Empty => Ok(Response {
                    status,
                    body: Value::Null,
                }),
                body::Body::Json(value) => Ok(Response {
                    status,
                    body: value,
                }),
                other => Err(fail(FailureKind::BadAnswer {
                    status,
                    what: other.complaint().unwrap_or_default(),
                    request_id,
                })),
            };
        }
        let (code, msg) = match &body {
            body::Body::Json(value) => failure::error_fields(value),
            other => (None, other.complaint()),
        };
        Err(fail(FailureKind::Http {
            status,
            code,
            msg,
            retry_after,
            request_id,
        }))
    }
}

/// The rate limiter, keyed by API path, on the run's clock.
type Limiter = governor::RateLimiter<
    String,
    governor::state::keyed::HashMapStateStore<String>,
    RunClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// The run's clock as the rate limiter reads it: time since the Unix epoch.
#[derive(Clone)]
struct RunClock(SharedClock);

impl governor::clock::Clock for RunClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        let nanos = self.0.now().as_nanosecond();
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
    }
}

/// The client's method of a call of the contract.
fn method(method: meeting::Method) -> Method {
    match method {
        meeting::Method::Get => Method::GET,
        meeting::Method::Put => Method::PUT,
        meeting::Method::Post => Method::POST,
    }
}

/// The URL of `path`: the endpoint with the path's segments appended (after any path
/// the endpoint has), so the host is always the endpoint's.
fn join(endpoint: &url::Url, path: &ApiPath) -> url::Url {
    let mut url = endpoint.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(path.segments());
    }
    url
}

/// Whether a call's outcome shows the API took the token: any answer but a refusal
/// of it or a failure to answer properly.
fn accepts_token(result: &Result<Response, Failure>) -> bool {
    match result {
        Ok(_) => true,
        Err(failure) => {
            !failure.refuses_token()
                && matches!(
                    failure.kind,
                    FailureKind::Http { status, code: Some(_), .. } if (400..500).contains(&status) && status != 403
                )
        }
    }
}

fn transport(error: &reqwest::Error, timeout: Duration) -> FailureKind {
    if error.is_timeout() {
        return FailureKind::Timeout(timeout);
    }
    let mut reason = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        reason = cause.to_string();
        source = cause.source();
    }
    FailureKind::Transport(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_rate_limit_waits_on_the_run_clock() {
        let start: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let clock: SharedClock = crate::clock::VirtualClock::starting_at(start);
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::new(
            "http://127.0.0.1:9",
            "914044873",
            Credentials::Token(SecretString::from("t".repeat(8))),
            Arc::clone(&clock),
            Arc::new(|_: &str| {}),
        )
        .unwrap()
        .with_rate_limit(90);
        // 90 at once, then one every 2/3 s: 180 calls need a minute of the run's time,
        // which a virtual clock passes without waiting (the watchdog only catches a
        // wait on the real clock, which would take that minute).
        let paced = async {
            for _ in 0..180 {
                client.pace(Api::Lock.path()).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(50), paced)
            .await
            .expect("pacing took no real time");
        let waited = clock.now().duration_since(start);
        assert!(
            waited >= SignedDuration::from_secs(59) && waited <= SignedDuration::from_secs(61),
            "{waited:?}"
        );
        // Other APIs have their own budget.
        client.pace(Api::Record.path()).await;
        assert_eq!(clock.now().duration_since(start), waited);
    }

    #[test]
    fn urls_append_segments_to_the_endpoint() {
        let lock = ApiPath::from(Api::Lock);
        for endpoint in [
            "https://api.meeting.huaweicloud.com",
            "http://127.0.0.1:8787/",
            "https://gateway.example/meeting",
        ] {
            let url = format!("{}{}", endpoint.trim_end_matches('/'), Api::Lock.path());
            let endpoint = url::Url::parse(endpoint).unwrap();
            assert_eq!(join(&endpoint, &lock).as_str(), url);
        }
    }

    #[test]
    fn a_given_token_counts_as_accepted_once_the_api_answers_without_refusing_it() {
        let http = |status, code: Option<&str>| {
            Err(Failure {
                call: "PUT /x".into(),
                kind: FailureKind::Http {
                    status,
                    code: code.map(String::from),
                    msg: None,
                    retry_after: None,
                    request_id: None,
                },
            })
        };
        assert!(accepts_token(&Ok(Response {
            status: 200,
            body: Value::Null
        })));
        assert!(accepts_token(&http(400, Some("MMC.111070005"))));
        assert!(!accepts_token(&http(401, Some("MMC.111070004"))));
        assert!(!accepts_token(&http(403, Some("MMC.111070004"))));
        assert!(!accepts_token(&http(502, None)));
        assert!(!accepts_token(&http(400, None)), "not the API's answer");
        assert!(!accepts_token(&Err(Failure {
            call: "PUT /x".into(),
            kind: FailureKind::Transport("refused".into()),
        })));
    }
}
