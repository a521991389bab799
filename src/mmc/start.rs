//! Starting a meeting that has not started: the account login (`Authorization: Basic`,
//! answered with an access token) and `StartMeeting` with that token and the host
//! password. Also the probe the lifecycle gate asks with: is the meeting usable now?

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use secrecy::{ExposeSecret, SecretString};

use super::{Client, Credentials, Failure, FailureKind, Request};
use crate::meeting::wire::{AccessTokenAnswer, AccountLoginBody, StartMeetingBody};
use crate::meeting::{Api, ApiPath};

/// The client type the account login is made as: an API client (clientType 72).
const CLIENT_TYPE: u8 = 72;

/// An account of the meeting service, for its account login.
#[derive(Clone)]
pub(crate) struct Account {
    pub name: SecretString,
    pub password: SecretString,
}

impl Client {
    /// Whether the meeting can be controlled now: with the host password, a token
    /// obtained (or the one held); with a given token, a read of the meeting, the only
    /// way to learn whether the service takes it.
    pub(crate) async fn probe(&self) -> Result<(), Failure> {
        match &self.credentials {
            Credentials::Password(_) => self.connect().await,
            Credentials::Token(_) => self.send(&Request::to(Api::RealTimeInfo)).await.map(|_| ()),
        }
    }

    /// Logs in as `account` and starts the meeting with the host password. Without the
    /// host password (a given token) there is nothing to start it with.
    pub(crate) async fn start_meeting(&self, account: &Account) -> Result<(), Failure> {
        let Credentials::Password(password) = &self.credentials else {
            return Err(Failure {
                call: Api::StartMeeting.describe().to_owned(),
                kind: FailureKind::Transport("starting a meeting needs its host password".into()),
            });
        };
        let access = self.account_login(account).await?;
        let body = StartMeetingBody {
            conference_id: self.meeting_id.clone(),
            password: password.expose_secret().to_owned(),
        };
        let builder = self
            .http
            .request(
                super::method(Api::StartMeeting.method()),
                self.url(&ApiPath::from(Api::StartMeeting)),
            )
            .header("X-Access-Token", access.expose_secret())
            .header("content-type", "application/json")
            .timeout(self.request_timeout)
            .body(serde_json::to_string(&body).unwrap_or_default());
        self.execute(builder, Api::StartMeeting.describe().to_owned())
            .await
            .map(|_| ())
    }

    /// The account login: an access token for the management calls.
    async fn account_login(&self, account: &Account) -> Result<SecretString, Failure> {
        let name = account.name.expose_secret();
        let basic = BASE64.encode(format!("{name}:{}", account.password.expose_secret()));
        // The header carries the password, encoded: outputs must hide it as well.
        (self.on_secret)(&basic);
        let body = AccountLoginBody {
            account: Some(name.to_owned()),
            client_type: Some(CLIENT_TYPE),
        };
        let call = Api::AccountLogin.describe().to_owned();
        let builder = self
            .http
            .request(
                super::method(Api::AccountLogin.method()),
                self.url(&ApiPath::from(Api::AccountLogin)),
            )
            .header("Authorization", format!("Basic {basic}"))
            .header("content-type", "application/json")
            .timeout(self.request_timeout)
            .body(serde_json::to_string(&body).unwrap_or_default());
        let response = self.execute(builder, call.clone()).await?;
        let answer: AccessTokenAnswer =
            serde_json::from_value(response.body).map_err(|e| Failure {
                call,
                kind: FailureKind::BadAnswer {
                    status: response.status,
                    what: format!("the login answer has no access token: {e}"),
                    request_id: None,
                },
            })?;
        (self.on_secret)(&answer.access_token);
        Ok(SecretString::from(answer.access_token))
    }
}
