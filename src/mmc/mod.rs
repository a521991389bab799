//! The meeting-control API client: typed requests for every action, one reqwest client
//! with connections reused (rustls), and the control token kept for the whole run —
//! obtained with the host password (or given), kept alive before it expires, and
//! obtained again once if the API refuses it.

mod failure;
pub mod roster;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

pub use failure::{Failure, FailureKind};
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
    pub path: String,
    /// Query parameters besides `conferenceID`.
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
}

impl Request {
    pub fn new(method: Method, tail: &str) -> Request {
        Request {
            method,
            path: format!("{CONTROL}{tail}"),
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

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Bytes,
}

impl Response {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
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
    endpoint: String,
    meeting_id: String,
    credentials: Credentials,
    token: tokio::sync::Mutex<Option<Token>>,
    clock: SharedClock,
    request_timeout: Duration,
    renewals: AtomicU32,
    calls: AtomicU32,
    /// Calls per minute per API, shared by every call of the run.
    limiter: Option<Limiter>,
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
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("emcee/", env!("CARGO_PKG_VERSION")))
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
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            meeting_id: meeting_id.to_owned(),
            credentials,
            token: tokio::sync::Mutex::new(None),
            clock,
            request_timeout: Duration::from_secs(10),
            renewals: AtomicU32::new(0),
            calls: AtomicU32::new(0),
            limiter: None,
            on_secret,
        })
    }

    /// Limits calls to `per_minute` per API (path), with bursts of as many; 0 for none.
    /// The gateway allows about 100 a minute per API and answers 429 beyond.
    pub fn with_rate_limit(mut self, per_minute: u32) -> Client {
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

    pub fn meeting_id(&self) -> &str {
        &self.meeting_id
    }

    /// Times the token was renewed or obtained again after the first.
    pub fn renewals(&self) -> u32 {
        self.renewals.load(Ordering::Relaxed)
    }

    /// HTTP calls made, token calls included.
    pub fn calls(&self) -> u32 {
        self.calls.load(Ordering::Relaxed)
    }

    /// One attempt at a control call. A 401 makes the client obtain a fresh token and
    /// try once more; retries of transient failures are the caller's policy.
    pub async fn send(&self, request: &Request) -> Result<Response, Failure> {
        let token = self.token(false).await?;
        match self.attempt(request, Some(&token)).await {
            Err(failure) if failure.status() == Some(401) => {
                tracing::debug!("{}: token refused; obtaining a new one", request.describe());
                let token = self.token(true).await?;
                self.attempt(request, Some(&token)).await
            }
            other => other,
        }
    }

    async fn attempt(
        &self,
        request: &Request,
        token: Option<&SecretString>,
    ) -> Result<Response, Failure> {
        let url = format!("{}{}", self.endpoint, request.path);
        let mut query: Vec<(&str, &str)> = Vec::with_capacity(request.query.len() + 1);
        if !request.query.iter().any(|(k, _)| k == "conferenceID") {
            query.push(("conferenceID", &self.meeting_id));
        }
        query.extend(request.query.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut builder = self
            .http
            .request(request.method.clone(), &url)
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
        let response = builder
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
        let retry_after =
            header("retry-after").and_then(|v| failure::parse_retry_after(&v, self.clock.now()));
        let body = response
            .bytes()
            .await
            .map_err(|e| fail(transport(&e, self.request_timeout)))?;
        if (200..300).contains(&status) {
            return Ok(Response { status, body });
        }
        let (code, msg) = failure::error_fields(&body);
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
        let value = token.value.clone();
        *slot = Some(token);
        Ok(value)
    }

    async fn token_call(
        &self,
        keep_alive: Option<&SecretString>,
        password: Option<&SecretString>,
    ) -> Result<Token, Failure> {
        let url = format!("{}{CONTROL}/token", self.endpoint);
        let mut builder = self
            .http
            .get(&url)
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
        let answer: TokenAnswer = serde_json::from_slice(&response.body).map_err(|e| Failure {
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
        // Renew with a quarter of the lifetime left, and at most five minutes early.
        let margin = (lifetime / 4).min(SignedDuration::from_mins(5));
        Ok(Token {
            value: SecretString::from(answer.data.token),
            renew_at: now.checked_add(lifetime - margin).unwrap_or(Timestamp::MAX),
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
}
