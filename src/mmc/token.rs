//! The control token, kept for the whole run: obtained with the host password (or
//! given), kept alive before it expires — also in the background while the run waits
//! between cues — and obtained again once if the API refuses it.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use secrecy::{ExposeSecret, SecretString};

use super::{Client, Credentials, Failure, FailureKind, renewal};
use crate::meeting::wire::TokenResponse;
use crate::meeting::{Api, ApiPath};

pub(super) struct Token {
    value: SecretString,
    /// When to renew: well before the server's expiry, on our clock.
    pub(super) renew_at: Timestamp,
    /// The push server's prefix the token answer gave (`wsURL`); empty for a given
    /// token until a keep-alive answers.
    pub(super) ws_url: String,
}

impl Client {
    /// The token to use now: obtained on first use, kept alive once it nears expiry,
    /// obtained afresh when `fresh` (after a refusal).
    pub(super) async fn token(&self, fresh: bool) -> Result<SecretString, Failure> {
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
                // Keep-alive; if the server refuses it, log in again below. The password
                // goes with it: the service marks `X-Password` mandatory even here.
                let keep = self
                    .token_call(Some(&token.value), self.host_password())
                    .await;
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
                ws_url: String::new(),
            },
            Credentials::Token(_) => {
                return Err(Failure {
                    call: Api::Token.describe().to_owned(),
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
            self.mark_connected();
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
        let url = self.url(&ApiPath::from(Api::Token));
        let mut builder = self
            .http
            .request(super::method(Api::Token.method()), url)
            .query(&[("conferenceID", self.meeting_id.as_str())])
            .header("X-Login-Type", "1")
            .timeout(self.request_timeout);
        if let Some(token) = keep_alive {
            builder = builder.header("X-Conference-Authorization", token.expose_secret());
        }
        if let Some(password) = password {
            builder = builder.header("X-Password", password.expose_secret());
        }
        let call = Api::Token.describe().to_owned();
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
        let answer: TokenResponse = serde_json::from_value(response.body).map_err(|e| Failure {
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
            ws_url: answer.data.ws_url,
        })
    }

    /// Logs in now, or renews the token if it is due: credentials are tested before a cue
    /// rather than at it.
    pub(crate) async fn connect(&self) -> Result<(), Failure> {
        self.token(false).await.map(|_| ())
    }

    /// The push server's prefix from the last token answer; `None` when no answer gave
    /// one (a given token that was never renewed).
    pub(crate) async fn ws_url(&self) -> Option<String> {
        let slot = self.token.lock().await;
        slot.as_ref()
            .map(|t| t.ws_url.clone())
            .filter(|url| !url.is_empty())
    }

    /// When the token should next be renewed; `None` before the first login and for a
    /// given token, which cannot be renewed.
    pub(crate) async fn renew_at(&self) -> Option<Timestamp> {
        let slot = self.token.lock().await;
        slot.as_ref()
            .map(|t| t.renew_at)
            .filter(|at| *at != Timestamp::MAX)
    }

    /// Keeps the token alive in the background, so that it never expires while the
    /// run waits between cues (a given token could not be obtained again). Renewals
    /// start once the first call has obtained a token; the task ends with the client.
    pub(crate) fn keep_alive_in_background(self: &Arc<Self>) -> KeepAlive {
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

/// The background keep-alive; dropping it stops it.
pub(crate) struct KeepAlive(tokio::task::JoinHandle<()>);

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.0.abort();
    }
}
