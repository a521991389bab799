//! What `run`, `plan` and `check` share before anything is contacted: the playbook
//! loaded and checked with the variables given outside it, its time zone, and from
//! those the variables in scope, the meeting and its credentials, and the step
//! defaults. Nothing here opens a connection, takes a lock or writes a file.

use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use secrecy::SecretString;
use serde_json::Value as Json;

use super::vars::ExtraVars;
use crate::error::{Diagnostic, Error};
use crate::meeting::MeetingId;
use crate::mmc::{Account, Credentials};
use crate::playbook::{DEFAULT_TIMEOUT, Playbook, RetrySpec};
use crate::run::StepDefaults;
use crate::secrets::Secrets;
use crate::template::{Context, Engine};
use crate::yaml::Pos;

/// A playbook fit to run with the variables given outside it.
pub(crate) struct Prepared {
    pub playbook: Playbook,
    /// `-e` and `--vars-file`.
    pub extra: ExtraVars,
    /// The playbook's `timezone`, or the system's.
    pub zone: TimeZone,
}

/// The meeting a run acts on, rendered from the playbook's `meeting:`.
pub(crate) struct Meeting {
    /// Digits (see [`MeetingId::parse`]).
    pub id: String,
    pub credentials: Credentials,
    /// The account that starts it (`not_started: start`).
    pub account: Option<Account>,
}

impl Prepared {
    /// Loads the playbook and the variables given outside it (`-e` already parsed,
    /// see [`super::vars::parse_cli`]), and checks them together: every problem at once.
    pub(crate) fn load(
        path: &Path,
        cli: &[(String, Json)],
        files: &[PathBuf],
    ) -> Result<Self, Error> {
        let playbook = Playbook::load(path)?;
        let extra = ExtraVars::load(cli, files)?;
        let problems = extra.check(&playbook);
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        let zone = zone(&playbook)?;
        Ok(Prepared {
            playbook,
            extra,
            zone,
        })
    }

    /// The variables in scope at the start of a run.
    pub(crate) fn vars(&self, engine: &Engine) -> Result<Context, Error> {
        self.extra.prepare(&self.playbook, engine)
    }

    /// The meeting id and credentials, rendered with `vars`; the credentials are
    /// remembered as secrets, so that no output shows them.
    pub(crate) fn meeting(
        &self,
        engine: &Engine,
        vars: &Context,
        secrets: &Secrets,
    ) -> Result<Meeting, Error> {
        let meeting = &self.playbook.doc.meeting;
        let id = match engine
            .render_node(&meeting.id, vars)
            .map_err(|e| self.invalid(e.pos, e.message))?
        {
            Json::String(s) => s,
            Json::Number(n) => n.to_string(),
            other => {
                return Err(self.invalid(
                    meeting.id.pos,
                    format!(
                        "the meeting id must be digits, not {}",
                        crate::run::kind_of(&other)
                    ),
                ));
            }
        };
        MeetingId::parse(&id).map_err(|m| self.invalid(meeting.id.pos, m))?;
        let secret = |template| -> Result<SecretString, Error> {
            let value = engine
                .render_string(template, vars)
                .map_err(|e| self.invalid(e.pos, e.message))?;
            secrets.remember(&value);
            Ok(SecretString::from(value))
        };
        let credentials = match (&meeting.host_password, &meeting.token) {
            (Some(password), _) => Credentials::Password(secret(password)?),
            (None, Some(token)) => Credentials::Token(secret(token)?),
            // `check` refuses a meeting without credentials before this point.
            (None, None) => Credentials::Token(SecretString::from(String::new())),
        };
        let account = match &meeting.account {
            Some(account) => {
                let name = engine
                    .render_string(&account.name, vars)
                    .map_err(|e| self.invalid(e.pos, e.message))?;
                Some(Account {
                    name: SecretString::from(name),
                    password: secret(&account.password)?,
                })
            }
            None => None,
        };
        Ok(Meeting {
            id,
            credentials,
            account,
        })
    }

    /// The retry and timeout of a step that sets neither: the playbook's `defaults`.
    pub(crate) fn step_defaults(&self) -> StepDefaults {
        let defaults = &self.playbook.doc.defaults;
        StepDefaults {
            retry: defaults
                .retry
                .as_ref()
                .map_or(RetrySpec::default(), |r| r.value),
            timeout: defaults
                .timeout
                .as_ref()
                .map_or(DEFAULT_TIMEOUT, |t| t.value),
        }
    }

    fn invalid(&self, pos: Pos, message: String) -> Error {
        let file = &self.playbook.file;
        Diagnostic::new(file, pos.span(file), message).into()
    }
}

/// The playbook's `timezone` (an unknown one is an error at its place), or the
/// system's when it names none.
pub(super) fn zone(playbook: &Playbook) -> Result<TimeZone, Error> {
    match &playbook.doc.timezone {
        Some(name) => TimeZone::get(&name.value).map_err(|e| {
            Error::from(Diagnostic::new(
                &playbook.file,
                name.pos.span(&playbook.file),
                format!("unknown time zone: {e}"),
            ))
        }),
        None => Ok(TimeZone::system()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;
    use crate::clock::SystemClock;
    use crate::source::SourceFile;

    fn prepared(text: &str, cli: &[&str]) -> Prepared {
        let cli: Vec<_> = cli
            .iter()
            .map(|arg| super::super::vars::parse_cli(arg).unwrap())
            .collect();
        let playbook = Playbook::parse(SourceFile::new("p.yaml", text)).unwrap();
        let zone = zone(&playbook).unwrap();
        Prepared {
            playbook,
            extra: ExtraVars::load(&cli, &[]).unwrap(),
            zone,
        }
    }

    fn meeting(prepared: &Prepared, secrets: &Arc<Secrets>) -> Result<Meeting, Error> {
        let engine = Engine::new(Arc::clone(secrets), SystemClock::shared());
        let vars = prepared.vars(&engine)?;
        prepared.meeting(&engine, &vars, secrets)
    }

    #[test]
    fn the_meeting_is_rendered_with_the_variables_and_its_password_kept_secret() {
        let prepared = prepared(
            "name: p\nvars: { room: \"914044873\" }\nmeeting: { id: \"{{ room }}\", host_password: \"{{ pw }}\" }\nsteps: []\n",
            &["pw=hunter22-secret"],
        );
        let secrets = Secrets::new(false);
        let meeting = meeting(&prepared, &secrets).unwrap();
        assert_eq!(meeting.id, "914044873");
        match &meeting.credentials {
            Credentials::Password(p) => assert_eq!(p.expose_secret(), "hunter22-secret"),
            Credentials::Token(_) => panic!("a password was given"),
        }
        assert!(!secrets.redact("pw hunter22-secret").contains("hunter22"));
    }

    #[test]
    fn the_accounts_password_is_kept_secret() {
        let prepared = prepared(
            "name: p\nmeeting:\n  id: \"914044873\"\n  host_password: pw-123456\n  not_started: start\n  account: { name: ops, password: \"{{ apw }}\" }\nsteps: []\n",
            &["apw=account-secret-42"],
        );
        let secrets = Secrets::new(false);
        let meeting = meeting(&prepared, &secrets).unwrap();
        let account = meeting.account.expect("an account was given");
        assert_eq!(account.name.expose_secret(), "ops");
        assert_eq!(account.password.expose_secret(), "account-secret-42");
        assert!(
            !secrets
                .redact("login account-secret-42")
                .contains("account-secret")
        );
    }

    #[test]
    fn a_numeric_meeting_id_is_its_digits_and_a_token_is_a_token() {
        let prepared = prepared(
            "name: p\nmeeting: { id: 914044873, token: \"{{ t }}\" }\nsteps: []\n",
            &["t=tok-abcdef-123456"],
        );
        let meeting = meeting(&prepared, &Secrets::new(false)).unwrap();
        assert_eq!(meeting.id, "914044873");
        assert!(
            matches!(&meeting.credentials, Credentials::Token(t) if t.expose_secret() == "tok-abcdef-123456")
        );
    }

    #[test]
    fn a_meeting_id_that_is_not_digits_is_an_error_at_the_id() {
        let prepared = prepared(
            "name: p\nmeeting: { id: \"{{ room }}\", token: t }\nsteps: []\n",
            &["room:=[1, 2]"],
        );
        let error = meeting(&prepared, &Secrets::new(false))
            .err()
            .expect("a list is no meeting id");
        let Error::Invalid(problems) = &error else {
            panic!("{error}")
        };
        assert_eq!(problems[0].position(), "p.yaml:2:16", "{error}");
        assert!(
            problems[0]
                .message
                .starts_with("the meeting id must be digits"),
            "{error}"
        );
    }

    #[test]
    fn the_zone_is_the_playbooks_and_an_unknown_one_is_an_error_at_its_place() {
        let prepared = prepared(
            "name: p\ntimezone: Asia/Shanghai\nmeeting: { id: \"914044873\", token: t }\nsteps: []\n",
            &[],
        );
        assert_eq!(prepared.zone.iana_name(), Some("Asia/Shanghai"));
        let playbook = Playbook::parse(SourceFile::new(
            "p.yaml",
            "name: p\ntimezone: Mars/Olympus\nmeeting: { id: \"914044873\", token: t }\nsteps: []\n",
        ))
        .unwrap();
        let Err(Error::Invalid(problems)) = zone(&playbook) else {
            panic!("Mars/Olympus accepted")
        };
        assert_eq!(problems[0].position(), "p.yaml:2:11");
        assert!(problems[0].message.starts_with("unknown time zone"));
    }

    #[test]
    fn step_defaults_are_the_playbooks_or_the_built_in_ones() {
        let given = prepared(
            "name: p\nmeeting: { id: \"914044873\", token: t }\ndefaults: { timeout: 5s }\nsteps: []\n",
            &[],
        );
        assert_eq!(
            given.step_defaults().timeout,
            "5s".parse::<crate::duration::Duration>().unwrap()
        );
        let absent = prepared(
            "name: p\nmeeting: { id: \"914044873\", token: t }\nsteps: []\n",
            &[],
        );
        assert_eq!(absent.step_defaults().timeout, DEFAULT_TIMEOUT);
        assert_eq!(absent.step_defaults().retry, RetrySpec::default());
    }

    #[test]
    fn loading_checks_the_playbook_with_the_variables_given_outside_it() {
        let dir = std::env::temp_dir().join(format!("emcee-prepare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.yaml");
        std::fs::write(
            &path,
            "name: p\nmeeting: { id: \"914044873\", token: t }\nsteps:\n  - log: \"{{ who }}\"\n",
        )
        .unwrap();
        let undefined = Prepared::load(&path, &[], &[])
            .err()
            .expect("`who` is undefined");
        assert!(matches!(undefined, Error::Invalid(_)), "{undefined}");
        let given = Prepared::load(&path, &[("who".into(), json!("Ann"))], &[]).unwrap();
        let engine = Engine::new(Secrets::new(false), SystemClock::shared());
        assert_eq!(given.vars(&engine).unwrap().get("who"), Some(&json!("Ann")));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
