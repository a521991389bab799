//! The meeting-control API client: typed requests for every action, one reqwest client
//! with connections reused (rustls), and the control token kept for the whole run —
//! obtained with the host password (or given), kept alive before it expires, and
//! obtained again once if the API refuses it.

mod body;
mod failure;
pub mod path;
mod renewal;
pub mod roster;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

pub use body::MAX_BODY;
pub use failure::{Failure, FailureKind};
pub use path::ApiPath;
pub use roster::{Participant, Roster};

use crate::clock::SharedClock;

pub const CONTROL: &str = "/v1/mmc/control/conferences";
/// The service's default endpoint (China site).
pub const DEFAULT_ENDPOINT: &str = "https://api.meeting.huaweicloud.com";

/// How one logs in to the meeting.
#[derive(Clone)]
pub enum Credentials {
    /// The host password: a token is obtained with it, and again whenever needed.
    Password(SecretString),
    /// A token obtained elsewhere; it cannot be renewed once the API refuses it.
    Token(SecretString),
}

/// One control call.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// The path after the endpoint.
    pub path: ApiPath,
    /// Query parameters besides `conferenceID`.
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Request {
    pub fn new(method: Method, tail: &str) -> Request {
        Request {
            method,
            path: ApiPath::trusted(format!("{CONTROL}{tail}")),
            query: Vec::new(),
            body: None,
        }
    }

    pub fn put(tail: &str, body: Value) -> Request {
        Request::new(Method::PUT, tail).body(body)
    }

    pub fn participant(mut self, pid: &str) -> Request {
        self.query.push(("participantID".into(), pid.into()));
        self
    }

    pub fn body(mut self, body: Value) -> Request {
        self.body = Some(body);
        self
    }

    pub fn describe(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A successful answer; its body was JSON, or empty (`Null`).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Value,
}

struct Token {
    value: SecretString,
    /// When to renew: well before the server's expiry, on our clock.
    renew_at: Timestamp,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenAnswer {
    data: TokenData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenData {
    token: String,
    expire_time: Option<i64>,
    conf_token_expire_time: Option<i64>,
}

pub struct Client {
    http: reqwest::Client,
    /// Request URLs are this with the call's path segments appended, never text glued
    /// together, so no path can change the host.
    endpoint: url::Url,
    meeting_id: String,
    credentials: Credentials,
    token: tokio::sync::Mutex<Option<Token>>,
    clock: SharedClock,
    request_timeout: Duration,
    renewals: AtomicU32,
    /// Keep-alive renewals recently made, against their budget.
    budget: std::sync::Mutex<renewal::Budget>,
    /// Whether the API has given (or accepted) a token: until then every failure
    /// means it cannot be used at all (exit 3).
    connected: AtomicBool,
    calls: AtomicU32,
    /// Calls per minute per API, shared by every call of the run.
    limiter: Option<Limiter>,
    /// Calls per minute per API the limiter lets through; 0 for no limit.
    per_minute: u32,
    on_secret: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Client {
    /// `on_secret` is told every token obtained, so output can redact it.
    pub fn new(
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
            calls: AtomicU32::new(0),
            limiter: None,
            per_minute: 0,
            on_secret,
        })
    }

    /// Limits calls to `per_minute` per API (path), with bursts of as many; 0 for none.
    /// The gateway allows about 100 a minute per API and answers 429 beyond.
    pub fn with_rate_limit(mut self, per_minute: u32) -> Client {
        self.per_minute = per_minute;
        self.limiter = std::num::NonZeroU32::new(per_minute).map(|n| {
            governor::RateLimiter::hashmap_with_clock(
                governor::Quota::per_minute(n),
                RunClock(Arc::clone(&self.clock)),
            )
        });
        self
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

    /// Calls per minute per API this client allows itself; 0 for no limit.
    pub fn rate_limit(&self) -> u32 {
        self.per_minute
    }

    pub fn meeting_id(&self) -> &str {
        &self.meeting_id
    }

    /// Times the token was renewed or obtained again after the first.
    pub fn renewals(&self) -> u32 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// Whether the API has given a token or, for a given token, accepted it. Before
    /// that, a failure means the API cannot be used at all.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// HTTP calls made, token calls included.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// One attempt at a control call. A 401 makes the client obtain a fresh token and
    /// try once more; retries of transient failures are the caller's policy.
    pub async fn send(&self, request: &Request) -> Result<Response, Failure> {
        let token = self.token(false).await?;
        let result = match self.attempt(request, Some(&token)).await {
            Err(failure) if failure.status() == Some(401) => {
                tracing::debug!("{}: token refused; obtaining a new one", request.describe());
                let token = self.token(true).await?;
                self.attempt(request, Some(&token)).await
            }
            other => other,
        };
        if accepts_token(&result) {
            self.connected.store(true, Ordering::Relaxed);
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

    /// The token to use now: obtained on first use, kept alive once it nears expiry,
    /// obtained afresh when `fresh` (after a refusal).
    async fn token(&self, fresh: bool) -> Result<SecretString, Failure> {
        let mut slot = self.token.lock().await;
        let now = self.clock.now();
        match (&*slot, fresh) {
            (Some(token), false) if now < token.renew_at => return Ok(token.value.clone()),
            // Due for renewal: each renewal is spent from the budget (the guard), and
            // once it is spent the token is kept until the API refuses it (`fresh`).
            (Some(token), false) if !self.spend_renewal(now) => {
                tracing::warn!(
                    "the token was renewed {} times within {}; not renewing it ahead of expiry any more",
                    renewal::BUDGET,
                    crate::duration::human(renewal::WINDOW.unsigned_abs())
                );
                let value = token.value.clone();
                if let Some(token) = slot.as_mut() {
                    token.renew_at = Timestamp::MAX;
                }
                return Ok(value);
            }
            (Some(token), false) => {
                // Keep-alive; if the server refuses it, log in again below.
                let keep = self.token_call(Some(&token.value), None).await;
                if let Ok(renewed) = keep {
                    self.renewals.fetch_add(1, Ordering::Relaxed);
                    let value = renewed.value.clone();
                    *slot = Some(renewed);
                    return Ok(value);
                }
            }
            _ => {}
        }
        let renewed = slot.is_some();
        let token = match &self.credentials {
            Credentials::Password(password) => self.token_call(None, Some(password)).await?,
            Credentials::Token(token) if !renewed => Token {
                value: token.clone(),
                renew_at: Timestamp::MAX,
            },
            Credentials::Token(_) => {
                return Err(Failure {
                    call: format!("GET {CONTROL}/token"),
                    kind: FailureKind::Http {
                        status: 401,
                        code: Some("MMC.111070004".into()),
                        msg: Some("the given token was refused and cannot be renewed without the host password".into()),
                        retry_after: None,
                        request_id: None,
                    },
                });
            }
        };
        if renewed {
            self.renewals.fetch_add(1, Ordering::Relaxed);
        }
        if !matches!(self.credentials, Credentials::Token(_)) {
            self.connected.store(true, Ordering::Relaxed);
        }
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    fn spend_renewal(&self, now: Timestamp) -> bool {
        self.budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .spend(now)
    }

    async fn token_call(
        &self,
        keep_alive: Option<&SecretString>,
        password: Option<&SecretString>,
    ) -> Result<Token, Failure> {
        let url = self.url(&ApiPath::trusted(format!("{CONTROL}/token")));
        let mut builder = self
            .http
            .get(url)
            .query(&[("conferenceID", self.meeting_id.as_str())])
            .header("X-Login-Type", "1")
            .timeout(self.request_timeout);
        if let Some(token) = keep_alive {
            builder = builder.header("X-Conference-Authorization", token.expose_secret());
        }
        if let Some(password) = password {
            builder = builder.header("X-Password", password.expose_secret());
        }
        let call = format!("GET {CONTROL}/token");
        let response = self.execute(builder, call.clone()).await?;
        if response.body.is_null() {
            return Err(Failure {
                call,
                kind: FailureKind::BadAnswer {
                    status: response.status,
                    what: "the token answer is empty".into(),
                    request_id: None,
                },
            });
        }
        let answer: TokenAnswer = serde_json::from_value(response.body).map_err(|e| Failure {
            call: call.clone(),
            kind: FailureKind::Transport(format!("unexpected token answer: {e}")),
        })?;
        (self.on_secret)(&answer.data.token);
        let now = self.clock.now();
        // Trust the lifetime in seconds over the absolute time: clocks differ.
        let lifetime = match (answer.data.conf_token_expire_time, answer.data.expire_time) {
            (Some(seconds), _) if seconds > 0 => SignedDuration::from_secs(seconds),
            (_, Some(ms)) => Timestamp::from_millisecond(ms)
                .map(|at| at.duration_since(now))
                .unwrap_or(SignedDuration::from_mins(30)),
            _ => SignedDuration::from_mins(30),
        };
        Ok(Token {
            value: SecretString::from(answer.data.token),
            renew_at: renewal::renew_at(now, lifetime),
        })
    }

    /// Logs in now, or renews the token if it is due: credentials are tested before a cue
    /// rather than at it.
    pub async fn connect(&self) -> Result<(), Failure> {
        self.token(false).await.map(|_| ())
    }

    /// When the token should next be renewed; `None` before the first login and for a
    /// given token, which cannot be renewed.
    pub async fn renew_at(&self) -> Option<Timestamp> {
        let slot = self.token.lock().await;
        slot.as_ref()
            .map(|t| t.renew_at)
            .filter(|at| *at != Timestamp::MAX)
    }

    /// Keeps the token alive in the background, so that it never expires while the
    /// run waits between cues (a given token could not be obtained again). Renewals
    /// start once the first call has obtained a token; the task ends with the client.
    pub fn keep_alive_in_background(self: &Arc<Self>) -> KeepAlive {
        let client = Arc::downgrade(self);
        let task = tokio::spawn(async move {
            loop {
                let Some(strong) = client.upgrade() else {
                    return;
                };
                let renew_at = strong.token.lock().await.as_ref().map(|t| t.renew_at);
                let now = strong.clock.now();
                let wait = match renew_at {
                    // Not logged in yet: look again shortly.
                    None => Duration::from_secs(1),
                    Some(at) if at > now => at
                        .duration_since(now)
                        .unsigned_abs()
                        .min(Duration::from_secs(60)),
                    Some(_) => match strong.token(false).await {
                        Ok(_) => continue,
                        Err(failure) => {
                            tracing::debug!("background keep-alive failed: {failure}");
                            Duration::from_secs(5)
                        }
                    },
                };
                drop(strong);
                tokio::time::sleep(wait).await;
            }
        });
        KeepAlive(task)
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

/// The background keep-alive; dropping it stops it.
pub struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
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
        Err(failure) => matches!(
            failure.kind,
            FailureKind::Http { status, code: Some(_), .. } if (400..500).contains(&status) && status != 401 && status != 403
        ),
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
                client.pace("/v1/mmc/control/conferences/lock").await;
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
        client.pace("/v1/mmc/control/conferences/record").await;
        assert_eq!(clock.now().duration_since(start), waited);
    }

    fn path(text: &str) -> ApiPath {
        ApiPath::try_from(text.to_owned()).unwrap()
    }

    #[test]
    fn urls_append_segments_to_the_endpoint() {
        let lock = path("/v1/mmc/control/conferences/lock");
        for (endpoint, url) in [
            (
                "https://api.meeting.huaweicloud.com",
                "https://api.meeting.huaweicloud.com/v1/mmc/control/conferences/lock",
            ),
            (
                "http://127.0.0.1:8787/",
                "http://127.0.0.1:8787/v1/mmc/control/conferences/lock",
            ),
            (
                "https://gateway.example/meeting",
                "https://gateway.example/meeting/v1/mmc/control/conferences/lock",
            ),
        ] {
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
