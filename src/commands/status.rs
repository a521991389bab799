//! `emcee status PLAYBOOK` or `emcee status --meeting ID`: a live meeting as it is
//! now, read only — the token call and one read of the online list per look, through
//! the runner's client; never a control call. `--watch` looks again at an interval
//! until Ctrl-C. Exit 0 whatever the meeting's state (not started and ended
//! included); 3 when it cannot be reached or logged into.

mod follow;
mod render;

pub(crate) use render::Facts;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use crate::clock::SystemClock;
use crate::error::{Error, ExitCode};
use crate::meeting::MeetingId;
use crate::mmc::Credentials;
use crate::secrets::Secrets;
use crate::session::Prepared;
use crate::session::live::{Look, Looker};
use crate::template::Engine;

/// Where the credentials of `--meeting` come from (each also as `NAME_FILE`).
pub(crate) const PASSWORD_ENV: &str = "EMCEE_HOST_PASSWORD";
pub(crate) const TOKEN_ENV: &str = "EMCEE_TOKEN";

/// The shortest `--watch` interval: each look is two calls, and the service allows
/// about 100 a minute per API.
const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Which meeting to show.
#[derive(Debug, Clone)]
pub(crate) enum Which {
    /// A playbook's `meeting:`, rendered with its variables.
    Playbook {
        path: PathBuf,
        /// `-e`, parsed.
        vars: Vec<(String, serde_json::Value)>,
        vars_files: Vec<PathBuf>,
    },
    /// A meeting id; the credentials from the environment.
    Meeting(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum StatusFormat {
    #[default]
    Human,
    Json,
}

/// `emcee status`, as plain options.
#[derive(Debug, Clone)]
pub(crate) struct StatusOptions {
    pub which: Which,
    pub endpoint: Option<String>,
    pub allow_insecure_http: bool,
    pub format: StatusFormat,
    /// `--watch`: the interval, as written (`5s` when given alone).
    pub watch: Option<String>,
    /// With `watch`: stop after this many looks.
    pub count: Option<u32>,
}

pub(crate) async fn run(options: StatusOptions) -> Result<ExitCode, Error> {
    let interval = match &options.watch {
        None => None,
        Some(text) => Some(interval(text)?),
    };
    let secrets = Secrets::new(false);
    let (meeting, looker) = looker(
        &options.which,
        options.endpoint.as_deref(),
        options.allow_insecure_http,
        &secrets,
    )?;
    let Some(interval) = interval else {
        let look = looker.look().await?;
        print(&options, &meeting, &look, None, &secrets, false)?;
        return Ok(ExitCode::Success);
    };
    follow::watch(&options, &meeting, &looker, &secrets, interval).await
}

/// `--watch`'s interval: a duration of at least [`MIN_INTERVAL`].
fn interval(text: &str) -> Result<std::time::Duration, Error> {
    let duration: crate::duration::Duration = text
        .parse()
        .map_err(|e| Error::Usage(format!("--watch {text}: {e}")))?;
    let duration = duration.std();
    if duration < MIN_INTERVAL {
        return Err(Error::Usage(format!(
            "--watch {text}: refresh at most every {}s: each look is two calls to the service",
            MIN_INTERVAL.as_secs()
        )));
    }
    Ok(duration)
}

/// The meeting `which` names, and a read-only looker at it through the endpoint (the
/// service's unless given), checked as `run` checks it.
pub(super) fn looker(
    which: &Which,
    endpoint: Option<&str>,
    allow_insecure_http: bool,
    secrets: &Arc<Secrets>,
) -> Result<(String, Looker), Error> {
    let (meeting, credentials) = meeting(which, secrets)?;
    let endpoint = crate::session::check_endpoint(
        endpoint.unwrap_or(crate::mmc::DEFAULT_ENDPOINT),
        allow_insecure_http,
    )?;
    let looker = Looker::new(&endpoint, &meeting, credentials, secrets)?;
    Ok((meeting, looker))
}

/// The meeting's id and credentials: the playbook's, or `--meeting` with the
/// environment's. Both are remembered as secrets.
fn meeting(which: &Which, secrets: &Arc<Secrets>) -> Result<(String, Credentials), Error> {
    match which {
        Which::Playbook {
            path,
            vars,
            vars_files,
        } => {
            let prepared = Prepared::load(path, vars, vars_files)?;
            let engine = Engine::new(Arc::clone(secrets), SystemClock::shared());
            let vars = prepared.vars(&engine)?;
            let meeting = prepared.meeting(&engine, &vars, secrets)?;
            Ok((meeting.id, meeting.credentials))
        }
        Which::Meeting(id) => {
            MeetingId::parse(id).map_err(|e| Error::Usage(format!("--meeting: {e}")))?;
            let given = |name: &str| {
                std::env::var_os(name).is_some()
                    || std::env::var_os(format!("{name}_FILE")).is_some()
            };
            let read = |name: &str| match secrets.lookup(name) {
                Ok(value) if value.is_empty() => {
                    Err(Error::Usage(format!("--meeting {id}: {name} is empty")))
                }
                Ok(value) => Ok(value),
                Err(why) => Err(Error::Usage(why)),
            };
            let credentials = if given(PASSWORD_ENV) {
                Credentials::Password(read(PASSWORD_ENV)?.into())
            } else if given(TOKEN_ENV) {
                Credentials::Token(read(TOKEN_ENV)?.into())
            } else {
                return Err(Error::Usage(format!(
                    "--meeting {id}: set {PASSWORD_ENV} to the host password (or {TOKEN_ENV} to a control token), or {PASSWORD_ENV}_FILE / {TOKEN_ENV}_FILE to a file holding it"
                )));
            };
            Ok((id.clone(), credentials))
        }
    }
}

/// Prints one look; `again` clears the terminal first when it is one, and otherwise
/// separates the block from the one before.
pub(super) fn print(
    options: &StatusOptions,
    meeting: &str,
    look: &Look,
    facts: Option<&Facts>,
    secrets: &Secrets,
    again: bool,
) -> Result<(), Error> {
    let read_at = format!("{:.0}", crate::determinism::varying(jiff::Timestamp::now()));
    let watching = options.watch.is_some();
    let text = match options.format {
        StatusFormat::Json => {
            let document = render::Document::new(meeting, look, facts, &read_at);
            // Under --watch, one document a line, for tools reading the stream.
            secrets.to_json(&document, !watching) + "\n"
        }
        StatusFormat::Human => {
            let text = crate::printable::printable_lines(
                &secrets.redact(&render::human(meeting, look, facts, &read_at)),
            );
            match (again, std::io::stdout().is_terminal()) {
                (true, true) => format!("\x1b[H\x1b[2J{text}"),
                (true, false) => format!("\n{text}"),
                (false, _) => text,
            }
        }
    };
    crate::output::print_out(&text)
}
