//! `emcee run PLAYBOOK`: check, render variables and credentials, connect (or start
//! the emulator for `--sim`), run the steps with the chosen display, and summarise.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use secrecy::SecretString;
use serde_json::Value;

use crate::clock::SharedClock;
use crate::error::{Diagnostic, Error, ExitCode};
use crate::mmc::{self, Client, Credentials};
use crate::playbook::{self, DEFAULT_TIMEOUT, Playbook, RetrySpec};
use crate::report::{self, JsonLines, Lines, Terminal};
use crate::run::{Event, Executor, Listener, StepDefaults, Summary};
use crate::sim::{self, MeetingId, MeetingSeed, MeetingView, Seed};
use crate::template::vars::ExtraVars;
use crate::template::{Engine, Secrets};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// Bars on a terminal, plain lines otherwise.
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// `emcee run`, as plain options.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub playbook: PathBuf,
    /// `-e`, parsed (see [`crate::template::vars::parse_cli`]).
    pub vars: Vec<(String, Value)>,
    pub vars_files: Vec<PathBuf>,
    pub endpoint: Option<String>,
    pub allow_insecure_http: bool,
    pub sim: bool,
    /// With `sim`: waits and cues take no real time; the timeline is kept.
    pub fast_forward: bool,
    /// With `sim`: where to write the emulator's request log (JSON) after the run.
    pub sim_requests: Option<PathBuf>,
    /// `--tags`, `--skip-tags`, `--start-at`.
    pub selection: crate::playbook::select::Selection,
    /// A journal to resume (a path, or `last`): continue after its last completed cue.
    pub resume: Option<String>,
    /// Where locks and journals go; the user's state directory when absent.
    pub state_dir: Option<PathBuf>,
    /// `--deadline`: when the whole run must be over; the playbook's when absent.
    pub deadline: Option<String>,
    /// With `sim`: the instant the rehearsal's clock starts at (`--start`).
    pub start: Option<String>,
    /// Calls per minute per API (0: none); the playbook's, or 90, when absent.
    pub rate_limit: Option<u32>,
    /// Reports to write at the end, whatever the outcome.
    pub reports: Vec<crate::report::ReportTarget>,
    pub progress: Progress,
    pub log_format: LogFormat,
    pub color: bool,
    /// `-q`: print only errors (failed steps, and the summary of a failed run).
    pub quiet: bool,
}

pub async fn run(options: RunOptions) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let playbook = Playbook::load(&options.playbook)?;
    let extra = ExtraVars::load(&options.vars, &options.vars_files)?;
    let problems = extra.check(&playbook);
    if !problems.is_empty() {
        return Err(Error::Invalid(problems));
    }
    for target in &options.reports {
        crate::report::placeholders::check(
            &target.path().to_string_lossy(),
            crate::report::placeholders::RUN,
        )
        .map_err(|e| Error::Usage(format!("--report {}: {e}", target.path().display())))?;
    }
    let mut selection = options.selection.clone();
    let doc = &playbook.doc;
    if options.sim_requests.is_some() && !options.sim {
        return Err(Error::Usage("--sim-requests needs --sim".into()));
    }
    if options.fast_forward && !options.sim {
        return Err(Error::Usage(
            "--fast-forward needs --sim: only a rehearsal can skip waiting".into(),
        ));
    }
    let zone = match &doc.timezone {
        Some(name) => jiff::tz::TimeZone::get(&name.value).map_err(|e| {
            Error::from(Diagnostic::new(
                &playbook.file,
                name.pos.span(&playbook.file),
                format!("unknown time zone: {e}"),
            ))
        })?,
        None => jiff::tz::TimeZone::system(),
    };
    let start = crate::plan::cue::start_option(options.start.as_deref(), options.sim, &zone)?;
    let clock: SharedClock = crate::clock::for_run(options.fast_forward, start);
    let secrets = Secrets::new(options.sim);
    let engine = Engine::new(Arc::clone(&secrets), Arc::clone(&clock));
    let invalid = |pos: crate::yaml::Pos, message: String| -> Error {
        Diagnostic::new(&playbook.file, pos.span(&playbook.file), message).into()
    };

    let vars = extra.prepare(&playbook, &engine)?;

    let meeting_id = match engine
        .render_node(&doc.meeting.id, &vars)
        .map_err(|e| invalid(e.pos, e.message))?
    {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        other => {
            return Err(invalid(
                doc.meeting.id.pos,
                format!(
                    "the meeting id must be digits, not {}",
                    crate::run::kind_of(&other)
                ),
            ));
        }
    };
    MeetingId::parse(&meeting_id).map_err(|m| invalid(doc.meeting.id.pos, m))?;
    let credentials = match (&doc.meeting.host_password, &doc.meeting.token) {
        (Some(password), _) => {
            let value = engine
                .render_string(password, &vars)
                .map_err(|e| invalid(e.pos, e.message))?;
            secrets.remember(&value);
            Credentials::Password(SecretString::from(value))
        }
        (None, Some(token)) => {
            let value = engine
                .render_string(token, &vars)
                .map_err(|e| invalid(e.pos, e.message))?;
            secrets.remember(&value);
            Credentials::Token(SecretString::from(value))
        }
        (None, None) => unreachable_credentials(),
    };

    // The emulator for --sim: the rehearsal meeting under the playbook's id and password.
    let rehearsal = if options.sim {
        let mut meeting: MeetingSeed = doc
            .rehearsal
            .as_ref()
            .map(|r| r.value.clone())
            .unwrap_or_else(|| MeetingSeed {
                id: None,
                subject: doc.name.value.clone(),
                host_password: None,
                guest_password: None,
                participants: Vec::new(),
                attendees: Vec::new(),
                status: Default::default(),
                locked: false,
                recording: false,
                live: false,
                mute_all: false,
                allow_self_unmute: true,
                duration: None,
            });
        meeting.id = Some(MeetingId(meeting_id.clone()));
        let (password, token) = match &credentials {
            Credentials::Password(p) => (secrecy::ExposeSecret::expose_secret(p).to_owned(), None),
            Credentials::Token(t) => (
                "rehearsal-host-password".to_owned(),
                Some(secrecy::ExposeSecret::expose_secret(t).to_owned()),
            ),
        };
        meeting.host_password = Some(password);
        let seed = Seed {
            meetings: vec![meeting],
            ..Seed::default()
        };
        let handle = sim::start_with(
            seed,
            sim::SimOptions {
                clock: Arc::clone(&clock),
                ..Default::default()
            },
        )
        .await?;
        if let Some(token) = token {
            handle.grant_token(&meeting_id, &token);
        }
        Some(handle)
    } else {
        None
    };
    let endpoint = match &rehearsal {
        Some(handle) => handle.base_url().to_owned(),
        None => check_endpoint(
            options.endpoint.as_deref().unwrap_or(mmc::DEFAULT_ENDPOINT),
            options.allow_insecure_http,
        )?,
    };

    // The endpoint as journals and reports show it.
    let endpoint_label = if rehearsal.is_some() {
        "the built-in emulator".to_owned()
    } else {
        endpoint.clone()
    };
    // Resuming: the journal must be whole and its playbook unchanged; the run goes on
    // from the first cue it did not finish.
    let resumed = match &options.resume {
        None => None,
        Some(which) => {
            let key = crate::report::replay::RunKey {
                playbook: &options.playbook,
                meeting: &meeting_id,
                endpoint: &endpoint_label,
            };
            match resume(&options, which, &playbook, &key, &mut selection)? {
                Some(journal) => Some(journal),
                None => {
                    if let Some(handle) = rehearsal {
                        handle.stop().await;
                    }
                    return Ok(ExitCode::Success);
                }
            }
        }
    };
    selection.validate(&playbook)?;

    // Everything that could fail to be written is tried before the first cue.
    // Probed with a temporary file: the report paths themselves are only ever replaced
    // whole, so an earlier report survives until this run's is complete.
    if let Some(path) = &options.sim_requests {
        crate::report::atomic::probe(path)
            .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    }
    let state_dir = crate::run::lock::state_dir(options.state_dir.as_deref());
    let started_at = clock.now();
    let holder = crate::run::lock::Holder {
        pid: std::process::id(),
        host: gethostname::gethostname().to_string_lossy().into_owned(),
        started: format!("{started_at:.0}"),
        playbook: options.playbook.display().to_string(),
        endpoint: endpoint.clone(),
    };
    // A rehearsal leaves the real meeting alone, so it does not take its lock.
    let _lock = if rehearsal.is_none() {
        Some(crate::run::lock::MeetingLock::acquire(
            &state_dir,
            &endpoint,
            &meeting_id,
            &holder,
        )?)
    } else {
        None
    };
    // A resumed run keeps its first start, so that `+15m` cues keep their meaning.
    let run_start = resumed.as_ref().map_or(started_at, |r| r.started);
    let deadline =
        crate::run::Deadline::resolve(options.deadline.as_deref(), &playbook, run_start, &zone)?;
    let run_id = format!(
        "{}-{meeting_id}-{}",
        started_at.strftime("%Y%m%dT%H%M%SZ"),
        std::process::id()
    );
    // `{run_id}` and `{date}` in report paths: each run its own report.
    let date = started_at
        .to_zoned(zone.clone())
        .strftime("%Y-%m-%d")
        .to_string();
    let report_targets: Vec<_> = options
        .reports
        .iter()
        .map(|t| t.filled(&[("run_id", &run_id), ("date", &date)]))
        .collect();
    for target in &report_targets {
        crate::report::atomic::probe(target.path()).map_err(|e| {
            Error::io(
                format!("cannot write the report {}", target.path().display()),
                e,
            )
        })?;
    }
    let journal = crate::report::Journal::create(
        &state_dir,
        &run_id,
        Arc::clone(&secrets),
        Arc::clone(&clock),
    )?;
    tracing::debug!("journal: {}", journal.path().display());
    let reports = crate::report::ReportBuilder::default();

    let remember = Arc::clone(&secrets);
    let client = Arc::new(
        Client::new(
            &endpoint,
            &meeting_id,
            credentials,
            Arc::clone(&clock),
            Arc::new(move |s: &str| remember.remember(s)),
        )
        .map_err(Error::Failed)?
        .with_rate_limit(
            options
                .rate_limit
                .or(doc.defaults.rate_limit)
                .unwrap_or(playbook::DEFAULT_RATE_LIMIT),
        ),
    );
    // On virtual time the executor's own waits keep the token alive; a background task
    // would sleep in real time.
    let keep_alive = (!clock.is_virtual()).then(|| client.keep_alive_in_background());
    let mut listener: Box<dyn Listener> = Box::new(crate::run::Fanout(vec![
        listener(&options, &secrets, &clock),
        Box::new(journal),
        Box::new(reports.clone()),
    ]));
    let defaults = StepDefaults {
        retry: doc
            .defaults
            .retry
            .as_ref()
            .map_or(RetrySpec::default(), |r| r.value),
        timeout: doc
            .defaults
            .timeout
            .as_ref()
            .map_or(DEFAULT_TIMEOUT, |t| t.value),
    };
    if rehearsal.is_some() {
        tracing::debug!("rehearsing against the emulator at {endpoint}");
    }
    listener.on(&Event::RunStarted {
        playbook: doc.name.value.clone(),
        meeting: meeting_id.clone(),
        endpoint: endpoint_label,
        steps: doc.steps.len(),
        file: options.playbook.display().to_string(),
        playbook_hash: playbook.hash(),
        started: format!("{:.3}", run_start),
        run_id: run_id.clone(),
    });
    let timeline = crate::run::Timeline {
        clock: Arc::clone(&clock),
        start: run_start,
        zone: zone.clone(),
    };
    let mut executor = Executor::new(
        Arc::clone(&client),
        &engine,
        Arc::clone(&playbook.file),
        listener.as_mut(),
        vars,
        defaults,
        timeline,
    );
    executor.select(selection);
    executor.deadline(deadline);
    let interrupt = crate::run::interrupt::Interrupt::new();
    let listening = interrupt.listen()?;
    executor.interrupt_with(Arc::clone(&interrupt));
    let result = executor.run(&doc.steps.value).await;
    let counts = executor.counts();
    let summary = Summary {
        ok: counts.ok,
        failed: counts.failed,
        skipped: counts.skipped,
        retries: counts.retries,
        token_renewals: client.renewals(),
        api_calls: client.calls(),
        elapsed: started.elapsed(),
        success: result.is_ok(),
        finished: format!("{:.3}", clock.now()),
        cues: executor.cues().to_vec(),
        cue_summary: crate::run::CueSummary::of(executor.cues()),
    };
    drop(keep_alive);
    listener.on(&Event::RunFinished { summary });
    drop(listener);
    drop(listening);
    reports.write(&report_targets, &secrets)?;
    if let Some(handle) = rehearsal {
        if let Some(path) = &options.sim_requests {
            let mut requests = serde_json::to_value(handle.requests()).unwrap_or_default();
            report::varying_instants(&mut requests, &["received"]);
            let log = secrets.to_json(&requests, true);
            crate::report::atomic::write(path, &(log + "\n"))
                .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        }
        if let Some(meeting) = handle.meeting(&meeting_id).filter(|_| !options.quiet) {
            let text = match options.log_format {
                // JSON lines stay JSON lines: the final state is one more object.
                LogFormat::Json => {
                    let mut event =
                        serde_json::json!({"event": "rehearsal_finished", "meeting": meeting});
                    report::varying_instants(&mut event, &["end_time"]);
                    secrets.to_json(&event, false) + "\n"
                }
                LogFormat::Text => report::printable_lines(&secrets.redact(&final_state(&meeting))),
            };
            crate::cli::print_out(&text)?;
        }
        handle.stop().await;
    }
    Ok(match result {
        Ok(()) => ExitCode::Success,
        Err(failure) => failure.exit,
    })
}

/// The journal `--resume` names (`last`: the newest of this playbook, meeting and
/// endpoint), checked against this run, with `selection` set to start where it
/// stopped; `None` when that run had already finished.
fn resume(
    options: &RunOptions,
    which: &str,
    playbook: &Playbook,
    key: &crate::report::replay::RunKey<'_>,
    selection: &mut crate::playbook::select::Selection,
) -> Result<Option<crate::report::replay::JournalRun>, Error> {
    let dir = crate::run::lock::state_dir(options.state_dir.as_deref());
    let path = if which == "last" {
        let path = crate::report::replay::last_of(&dir, key)?;
        tracing::info!("--resume last: {}", path.display());
        path
    } else {
        PathBuf::from(which)
    };
    let journal = crate::report::replay::read(&path)?;
    if journal.playbook_hash != playbook.hash() {
        return Err(Error::Usage(format!(
            "{}: the playbook changed since run {}; resuming it could repeat or skip cues",
            options.playbook.display(),
            journal.run_id
        )));
    }
    // A journal says which steps were done in one meeting, on one service: resuming it
    // anywhere else would skip steps that never ran there.
    if journal.meeting != key.meeting {
        return Err(Error::Usage(format!(
            "{}: run {} was for meeting {}, not meeting {}; resuming it would skip steps that never ran in this meeting",
            journal.path.display(),
            journal.run_id,
            journal.meeting,
            key.meeting
        )));
    }
    if journal.endpoint != key.endpoint {
        return Err(Error::Usage(format!(
            "{}: run {} was against {}, not {}; resuming it would skip steps that never ran there",
            journal.path.display(),
            journal.run_id,
            journal.endpoint,
            key.endpoint
        )));
    }
    match &journal.resume_at {
        None => {
            crate::cli::print_out(&format!(
                "run {} already finished; nothing to resume\n",
                journal.run_id
            ))?;
            Ok(None)
        }
        Some(step) => {
            if selection.start_at.is_some() {
                return Err(Error::Usage(
                    "--resume and --start-at cannot be used together".into(),
                ));
            }
            tracing::info!("resuming run {} from step {step}", journal.run_id);
            selection.start_at = Some(step.clone());
            Ok(Some(journal))
        }
    }
}

fn unreachable_credentials() -> Credentials {
    // `check` refuses a meeting without credentials before this point.
    Credentials::Token(SecretString::from(String::new()))
}

fn listener(
    options: &RunOptions,
    secrets: &Arc<Secrets>,
    clock: &SharedClock,
) -> Box<dyn Listener> {
    let deterministic = report::deterministic();
    let terminal = std::io::stdout().is_terminal();
    match (options.log_format, options.progress) {
        (LogFormat::Json, _) => Box::new(
            JsonLines::new(
                std::io::stdout(),
                Arc::clone(secrets),
                Arc::clone(clock),
                deterministic,
            )
            .quiet(options.quiet),
        ),
        // Only errors: no progress display.
        (LogFormat::Text, _) if options.quiet => Box::new(
            Lines::new(
                std::io::stdout(),
                Arc::clone(secrets),
                Arc::clone(clock),
                deterministic,
            )
            .quiet(true),
        ),
        (LogFormat::Text, Progress::Always) => {
            Box::new(Terminal::new(Arc::clone(secrets), options.color))
        }
        (LogFormat::Text, Progress::Auto) if terminal && !deterministic => {
            Box::new(Terminal::new(Arc::clone(secrets), options.color))
        }
        _ => Box::new(Lines::new(
            std::io::stdout(),
            Arc::clone(secrets),
            Arc::clone(clock),
            deterministic,
        )),
    }
}

/// The endpoint must be https, except on loopback or when explicitly allowed: a
/// password must never cross a network in clear text by accident.
fn check_endpoint(endpoint: &str, allow_insecure_http: bool) -> Result<String, Error> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| Error::Usage(format!("--endpoint {endpoint}: {e}")))?;
    // User info would travel with every call (and be printed in run headers); a query
    // or fragment would be mangled by the paths appended to the endpoint.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Usage(
            "--endpoint: user info (`user:password@`) has no place in the endpoint; emcee logs in with the meeting's credentials".into(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::Usage(format!(
            "--endpoint {endpoint}: a query or fragment has no place in the endpoint"
        )));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(host)) => host == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback || allow_insecure_http => {}
        "http" => {
            return Err(Error::Usage(format!(
                "--endpoint {endpoint}: plain http would send the host password in clear text; use https, or --allow-insecure-http if you must"
            )));
        }
        other => {
            return Err(Error::Usage(format!(
                "--endpoint {endpoint}: unsupported scheme `{other}`"
            )));
        }
    }
    Ok(endpoint.trim_end_matches('/').to_owned())
}

/// The rehearsal meeting at the end, for people to compare with what they meant.
fn final_state(meeting: &MeetingView) -> String {
    let name = |pid: &Option<String>| {
        pid.as_ref()
            .and_then(|pid| meeting.participants.iter().find(|p| &p.pid == pid))
            .map_or("nobody".to_owned(), |p| p.name.clone())
    };
    let list = |pick: &dyn Fn(&sim::ParticipantView) -> bool| {
        let names: Vec<&str> = meeting
            .participants
            .iter()
            .filter(|p| pick(p))
            .map(|p| p.name.as_str())
            .collect();
        if names.is_empty() {
            "nobody".to_owned()
        } else {
            names.join(", ")
        }
    };
    let yes = |b: bool| if b { "yes" } else { "no" };
    format!(
        "\nRehearsal meeting {} at the end ({}):\n  host: {}\n  broadcast: {}\n  roll call: {}\n  hands up: {}\n  muted: {}\n  locked: {}, recording: {}, live: {}, everyone muted: {}\n  online: {}\n",
        meeting.id,
        match meeting.status {
            sim::MeetingStatus::Active => "in progress",
            sim::MeetingStatus::Ended => "ended",
        },
        name(&meeting.host),
        name(&meeting.broadcast),
        name(&meeting.roll_call),
        list(&|p| p.hand),
        list(&|p| p.mute),
        yes(meeting.locked),
        yes(meeting.recording),
        yes(meeting.live),
        yes(meeting.mute_all),
        meeting.participants.len(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_endpoints_only_on_loopback_unless_allowed() {
        assert!(check_endpoint("https://api.meeting.huaweicloud.com", false).is_ok());
        assert!(check_endpoint("http://127.0.0.1:8787", false).is_ok());
        assert!(check_endpoint("http://[::1]:8787/", false).is_ok());
        assert!(check_endpoint("http://localhost:8787", false).is_ok());
        assert!(
            check_endpoint("http://10.0.0.5:8787", false)
                .unwrap_err()
                .to_string()
                .contains("clear text")
        );
        assert!(check_endpoint("http://10.0.0.5:8787", true).is_ok());
        assert!(check_endpoint("ftp://x", true).is_err());
        let userinfo = check_endpoint("https://me:hunter22@api.example", false)
            .unwrap_err()
            .to_string();
        assert!(
            userinfo.contains("user info") && !userinfo.contains("hunter22"),
            "{userinfo}"
        );
        assert!(check_endpoint("https://api.example/?x=1", false).is_err());
        assert!(check_endpoint("https://api.example/#x", false).is_err());
    }
}
