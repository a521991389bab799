//! `emcee run PLAYBOOK`: prepare the run (the playbook checked with its variables, the
//! clock, the meeting and its credentials), then hand it to a [`Session`] that connects
//! (or starts the emulator for `--sim`), runs the steps with the chosen display, and
//! summarises.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::error::{Error, ExitCode};
use crate::secrets::Secrets;
use crate::session::{DisplayOptions, Prepared, Session, Target};
use crate::template::Engine;

/// `emcee run`, as plain options.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunOptions {
    pub playbook: PathBuf,
    /// `-e`, parsed (see [`crate::session::vars::parse_cli`]).
    pub vars: Vec<(String, Value)>,
    pub vars_files: Vec<PathBuf>,
    pub endpoint: Option<String>,
    pub allow_insecure_http: bool,
    pub sim: bool,
    /// With `sim`: listen on the control socket, as a run against a service does.
    pub control: bool,
    /// The operator's console on this terminal (implies `control`).
    pub console: bool,
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
    /// `--not-started`: what to do when the meeting has not started; the playbook's
    /// when absent.
    pub not_started: Option<crate::playbook::NotStarted>,
    /// `--events`: whether to use the meeting's push feed; the playbook's when absent.
    pub events: Option<crate::playbook::Events>,
    /// Reports to write at the end, whatever the outcome.
    pub reports: Vec<crate::report::ReportTarget>,
    /// Progress, text or JSON lines, colour, `-q`.
    pub display: DisplayOptions,
}

pub(crate) async fn run(options: RunOptions) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let prepared = Prepared::load(&options.playbook, &options.vars, &options.vars_files)?;
    crate::session::check_placeholders(&options.reports)?;
    let start =
        crate::playbook::cue::start_option(options.start.as_deref(), options.sim, &prepared.zone)?;
    let clock = crate::clock::for_run(options.fast_forward, start);
    // A rehearsal fills unset secrets with placeholders.
    let secrets = Secrets::new(options.sim);
    let engine = Engine::new(Arc::clone(&secrets), Arc::clone(&clock));
    let vars = prepared.vars(&engine)?;
    let meeting = prepared.meeting(&engine, &vars, &secrets)?;
    let target = if options.sim {
        Target::Rehearsal {
            requests: options.sim_requests,
        }
    } else {
        Target::Service {
            endpoint: options
                .endpoint
                .unwrap_or_else(|| crate::mmc::DEFAULT_ENDPOINT.to_owned()),
            allow_insecure_http: options.allow_insecure_http,
        }
    };
    let session = Session {
        path: options.playbook,
        prepared,
        clock,
        secrets,
        engine,
        vars,
        meeting,
        target,
        selection: options.selection,
        resume: options.resume,
        state_dir: options.state_dir,
        deadline: options.deadline,
        rate_limit: options.rate_limit,
        not_started: options.not_started,
        events: options.events,
        reports: options.reports,
        display: options.display,
        started,
        control: options.control,
        console: options.console,
    };
    session.run().await
}
