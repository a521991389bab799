//! A look at a live meeting that changes nothing: the token call and one read of
//! `realTimeInfo`, through the runner's own client, for `emcee status` and for
//! `check --live` / `plan --live`, which resolve a playbook's selectors against who
//! is there and who is invited (`resolve`). No control call is ever made from here.

pub(crate) mod resolve;

use std::sync::Arc;

use serde::Deserialize;

use crate::clock::SystemClock;
use crate::error::Error;
use crate::meeting::wire::RealTimeInfo;
use crate::meeting::{Api, Participant, Roster};
use crate::mmc::{Client, Credentials, Failure, FailureKind, Request};
use crate::secrets::Secrets;

/// The service's codes for a meeting that has not started yet (`CONF_NOT_STARTED`).
const NOT_STARTED: &[&str] = &["111072005"];
/// The service's codes for a meeting that is over: `CONF_IS_CLOSED` on the token call,
/// "does not exist or has ended" on participant calls.
const ENDED: &[&str] = &["111072006", "111081002"];

/// Who is in a running meeting, who is on the way, and who is invited, as one read
/// showed them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lineup {
    /// Those in the meeting (`state` 0): the only ones a run's selectors can act on.
    pub roster: Roster,
    /// Those listed but not in yet: being called (`state` 1) or joining (2).
    pub arriving: Vec<Participant>,
    /// Everyone invited, joined or not (`realTimeInfo.attendees`).
    pub invited: Vec<Invitee>,
}

/// Someone invited to the meeting, as `realTimeInfo.attendees` lists them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Invitee {
    pub name: String,
    pub phone: String,
}

impl Lineup {
    /// The lineup in a `realTimeInfo` answer.
    pub(crate) fn parse(body: &serde_json::Value) -> Result<Lineup, String> {
        // The roster keeps those in the meeting apart from those ringing or joining.
        let Roster {
            participants: here,
            arriving,
        } = Roster::parse(body)?;
        let info = RealTimeInfo::deserialize(body)
            .map_err(|e| format!("unexpected realTimeInfo answer: {e}"))?;
        let invited = info
            .attendees
            .into_iter()
            .map(|a| Invitee {
                name: a.name,
                phone: a.phone,
            })
            .collect();
        Ok(Lineup {
            roster: Roster {
                participants: here,
                arriving: Vec::new(),
            },
            arriving,
            invited,
        })
    }

    /// Everyone listed: in the meeting, then on the way.
    pub(crate) fn everyone(&self) -> impl Iterator<Item = &Participant> {
        self.roster.participants.iter().chain(&self.arriving)
    }

    /// Whether an invitee is online (by phone when both have one, else by name).
    pub(crate) fn is_online(&self, invitee: &Invitee) -> bool {
        self.everyone().any(|p| {
            if !invitee.phone.is_empty() && !p.phone.is_empty() {
                p.phone == invitee.phone
            } else {
                crate::playbook::selector::fold_name(&p.name)
                    == crate::playbook::selector::fold_name(&invitee.name)
            }
        })
    }
}

/// What a look found.
#[derive(Debug, Clone)]
pub(crate) enum Look {
    Running(Lineup),
    /// The service refuses the token until the meeting starts (`MMC.111072005`).
    NotStarted,
    /// The meeting is over (`MMC.111072006`).
    Ended,
}

/// One meeting looked at, through one client: the token obtained on the first look is
/// kept (and kept alive) for the next ones, so that watching does not log in again
/// and again with the password.
pub(crate) struct Looker {
    client: Arc<Client>,
    meeting: String,
}

impl Looker {
    /// `endpoint` is checked already (see [`super::check_endpoint`]); the credentials
    /// and every token obtained are remembered as `secrets`.
    pub(crate) fn new(
        endpoint: &str,
        meeting: &str,
        credentials: Credentials,
        secrets: &Arc<Secrets>,
    ) -> Result<Looker, Error> {
        let remember = Arc::clone(secrets);
        let client = Client::new(
            endpoint,
            meeting,
            credentials,
            SystemClock::shared(),
            Arc::new(move |s: &str| remember.remember(s)),
        )
        .map_err(Error::Failed)?;
        Ok(Looker {
            client: Arc::new(client),
            meeting: meeting.to_owned(),
        })
    }

    /// Logs in (or keeps the token) and reads the meeting once. A meeting that cannot
    /// be reached or logged into is [`Error::Unreachable`] (exit 3, as for `run`).
    pub(crate) async fn look(&self) -> Result<Look, Error> {
        let read = async {
            self.client.connect().await?;
            self.client.send(&Request::to(Api::RealTimeInfo)).await
        };
        match read.await {
            Ok(response) => Lineup::parse(&response.body)
                .map(Look::Running)
                .map_err(|e| Error::Unreachable(format!("meeting {}: {e}", self.meeting))),
            Err(failure) => match lifecycle(&failure) {
                Some(look) => Ok(look),
                None => Err(Error::Unreachable(self.refusal(&failure))),
            },
        }
    }

    /// The meeting's push feed, kept open in the background through the same client
    /// (and token).
    pub(crate) fn live(&self) -> crate::mmc::live::Live {
        crate::mmc::live::Live::start(Arc::clone(&self.client), SystemClock::shared())
    }

    /// What a failed look means for a person: the failure, and what to do about it.
    fn refusal(&self, failure: &Failure) -> String {
        let hint = match code(failure) {
            Some("111072065") => {
                "; the meeting id or the host password is wrong (one answer for both)"
            }
            Some("111072064") => "; too many failed logins locked the meeting: try much later",
            Some("111070004") => "; the token was refused",
            _ => "",
        };
        format!("cannot look at meeting {}: {failure}{hint}", self.meeting)
    }
}

/// Where `--live` looks: the service's endpoint, checked before any credential is sent.
#[derive(Debug, Clone, Default)]
pub(crate) struct LiveOptions {
    /// `--endpoint`; the service's default when absent.
    pub endpoint: Option<String>,
    pub allow_insecure_http: bool,
}

impl LiveOptions {
    /// The endpoint to call, under the same rules as `run`'s.
    pub(crate) fn endpoint(&self) -> Result<String, Error> {
        let endpoint = self
            .endpoint
            .as_deref()
            .unwrap_or(crate::mmc::DEFAULT_ENDPOINT);
        super::check_endpoint(endpoint, self.allow_insecure_http)
    }
}

/// What `--live` found for one playbook.
#[derive(Debug, Clone)]
pub(crate) enum Checked {
    /// The meeting was read: warnings about its selectors, each at its step's place
    /// (`file:line:col: step ID (NAME): …`).
    Resolved(Vec<String>),
    /// Not started: the selectors cannot be checked yet.
    NotStarted {
        meeting: String,
    },
    Ended {
        meeting: String,
    },
}

impl Checked {
    /// Every line to show: the warnings, or a note on why there are none to give.
    pub(crate) fn lines(&self, file: &str) -> Vec<String> {
        match self {
            Checked::Resolved(warnings) => warnings.clone(),
            Checked::NotStarted { meeting } => vec![format!(
                "{file}: meeting {meeting} has not started yet: its selectors cannot be checked until it has"
            )],
            Checked::Ended { meeting } => vec![format!(
                "{file}: meeting {meeting} has ended: its selectors cannot be checked"
            )],
        }
    }
}

/// Logs in to the playbook's meeting at `endpoint` and reads it once: its id, and
/// what the look found. The credentials are rendered with `vars` and kept secret.
pub(crate) async fn look_at_playbook(
    prepared: &super::Prepared,
    engine: &crate::template::Engine,
    vars: &crate::template::Context,
    secrets: &Arc<Secrets>,
    endpoint: &str,
) -> Result<(String, Look), Error> {
    let meeting = prepared.meeting(engine, vars, secrets)?;
    let looker = Looker::new(endpoint, &meeting.id, meeting.credentials, secrets)?;
    Ok((meeting.id, looker.look().await?))
}

/// Logs in to the playbook's meeting at `endpoint`, reads who is there and who is
/// invited, and checks every selector the plan can render (with the playbook's
/// variables, for the steps `selection` takes) against them. Nothing is changed.
pub(crate) async fn check_playbook(
    prepared: &super::Prepared,
    endpoint: &str,
    selection: &crate::playbook::select::Selection,
) -> Result<Checked, Error> {
    let secrets = Secrets::new(false);
    let engine = crate::template::Engine::new(Arc::clone(&secrets), SystemClock::shared());
    let vars = prepared.vars(&engine)?;
    let lineup = match look_at_playbook(prepared, &engine, &vars, &secrets, endpoint).await? {
        (_, Look::Running(lineup)) => lineup,
        (meeting, Look::NotStarted) => return Ok(Checked::NotStarted { meeting }),
        (meeting, Look::Ended) => return Ok(Checked::Ended { meeting }),
    };
    let verdict = |selector: &crate::playbook::Selector| resolve::warning(selector, &lineup);
    let plan = crate::plan::plan(
        &prepared.playbook,
        &vars,
        &engine,
        crate::plan::PlanStart {
            run: jiff::Timestamp::now(),
            meeting: None,
        },
        prepared.zone.clone(),
        crate::plan::timeline::People::Live(&verdict),
        selection,
    )?;
    Ok(Checked::Resolved(plan.live))
}

/// A playbook already checked, with the variables given outside it, ready for a look.
pub(crate) fn prepared(
    playbook: crate::playbook::Playbook,
    extra: super::ExtraVars,
) -> Result<super::Prepared, Error> {
    let zone = super::prepare::zone(&playbook)?;
    Ok(super::Prepared {
        playbook,
        extra,
        zone,
    })
}

/// The runtime a look runs on when the command itself is not async.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))
}

/// The API's code of a failure, without its `MMC.` prefix.
fn code(failure: &Failure) -> Option<&str> {
    match &failure.kind {
        FailureKind::Http {
            code: Some(code), ..
        } => Some(code.strip_prefix("MMC.").unwrap_or(code)),
        _ => None,
    }
}

/// A failure that says where the meeting is in its life rather than that it cannot
/// be reached.
fn lifecycle(failure: &Failure) -> Option<Look> {
    let code = code(failure)?;
    if NOT_STARTED.contains(&code) {
        Some(Look::NotStarted)
    } else if ENDED.contains(&code) {
        Some(Look::Ended)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(code: &str) -> Failure {
        Failure {
            call: Api::Token.describe().to_owned(),
            kind: FailureKind::Http {
                status: 400,
                code: Some(code.to_owned()),
                msg: None,
                retry_after: None,
                request_id: None,
            },
        }
    }

    #[test]
    fn the_lifecycle_codes_are_states_not_failures() {
        assert!(matches!(
            lifecycle(&http("MMC.111072005")),
            Some(Look::NotStarted)
        ));
        assert!(matches!(lifecycle(&http("111072006")), Some(Look::Ended)));
        assert!(matches!(
            lifecycle(&http("MMC.111081002")),
            Some(Look::Ended)
        ));
        assert!(lifecycle(&http("MMC.111072065")).is_none());
        let transport = Failure {
            call: "GET /x".into(),
            kind: FailureKind::Transport("refused".into()),
        };
        assert!(lifecycle(&transport).is_none());
    }

    #[test]
    fn invitees_are_online_by_phone_or_else_by_name() {
        let lineup = Lineup::parse(&serde_json::json!({
            "attendees": [
                {"name": "Bob Li", "phone": "+86 2"},
                {"name": "Robert Li", "phone": "+86 2"},
                {"name": "  carol WU", "phone": ""},
                {"name": "Dan", "phone": "+86 9"}
            ],
            "participants": [
                {"pid": "1", "name": "Bob Li", "phone": "+86 2"},
                {"pid": "2", "name": "Carol Wu", "phone": "+86 3"}
            ]
        }))
        .unwrap();
        let online: Vec<bool> = lineup.invited.iter().map(|i| lineup.is_online(i)).collect();
        assert_eq!(online, [true, true, true, false]);
    }
}
