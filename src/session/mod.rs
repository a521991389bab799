//! A run as a value. [`Prepared`] is what `run`, `plan` and `check` share before
//! anything is contacted: the playbook checked with the variables given outside it,
//! its zone, the variables in scope, the meeting and its credentials, the step
//! defaults. A [`Session`] holds everything one run needs on top, and
//! [`Session::run`] carries it out: the rehearsal emulator or the checked endpoint,
//! the journal to resume, the report files tried, the meeting's lock and the run's
//! journal, the client with its rate limit, the listeners, the executor, the final
//! reports and the rehearsal's final state; it returns the exit code.
//!
//! The executor (`crate::run`) only performs steps and emits events; the displays,
//! journal and reports (`crate::report`) only listen. This module wires them up.

mod console;
mod control;
mod endpoint;
mod listeners;
pub(crate) mod live;
mod prepare;
mod rehearsal;
mod report_files;
mod resume;
mod show;
pub(crate) mod vars;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::clock::SharedClock;
use crate::error::{Error, ExitCode};
use crate::mmc::Client;
use crate::playbook::DEFAULT_START_POLL;
use crate::playbook::cue::Cue;
use crate::playbook::select::Selection;
use crate::report::replay::{JournalRun, RunKey};
use crate::report::{Journal, ReportBuilder, ReportTarget};
use crate::run::gate::Gate;
use crate::run::lock::{Holder, MeetingLock};
use crate::run::{Counts, Deadline, Event, Executor, Fanout, Listener, Summary, Timeline};
use crate::secrets::Secrets;
use crate::sim::SimHandle;
use crate::template::{Context, Engine};

pub(crate) use endpoint::check_endpoint;
pub(crate) use listeners::{DisplayOptions, LogFormat, Progress};
pub(crate) use prepare::{Meeting, Prepared};
pub(crate) use report_files::check_placeholders;
pub(crate) use vars::ExtraVars;

/// Where a run's calls go.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// `--sim`: the built-in emulator, seeded from the playbook; its request log is
    /// written to `requests` after the run when given.
    Rehearsal { requests: Option<PathBuf> },
    /// A service at `endpoint` (see [`check_endpoint`]).
    Service {
        endpoint: String,
        allow_insecure_http: bool,
    },
}

/// One run, ready to go: what was prepared, and what the command line asked for.
pub(crate) struct Session {
    /// The playbook as named on the command line; journals and locks show it so.
    pub path: PathBuf,
    pub prepared: Prepared,
    /// Real or virtual time (`--fast-forward`), from `--start` when rehearsing.
    pub clock: SharedClock,
    /// Every secret of the run, masked in all it writes.
    pub secrets: Arc<Secrets>,
    pub engine: Engine,
    /// The variables in scope at the start (see [`Prepared::vars`]).
    pub vars: Context,
    pub meeting: Meeting,
    pub target: Target,
    /// `--tags`, `--skip-tags`, `--start-at`; a resumed run starts where it stopped.
    pub selection: Selection,
    /// A journal to resume (a path, or `last`).
    pub resume: Option<String>,
    /// Where locks and journals go; the user's state directory when absent.
    pub state_dir: Option<PathBuf>,
    /// `--deadline`: when the whole run must be over; the playbook's when absent.
    pub deadline: Option<String>,
    /// Calls per minute per API (0: none); the playbook's, or 90, when absent.
    pub rate_limit: Option<u32>,
    /// `--not-started`; the playbook's `meeting.not_started` when absent.
    pub not_started: Option<crate::playbook::NotStarted>,
    /// `--events`; the playbook's `meeting.events` when absent.
    pub events: Option<crate::playbook::Events>,
    /// Reports to write at the end, whatever the outcome.
    pub reports: Vec<ReportTarget>,
    pub display: DisplayOptions,
    /// When the command started: the summary's elapsed time counts from here.
    pub started: Instant,
    /// `--control`: a rehearsal listens for operator commands too (a run against a
    /// service always does).
    pub control: bool,
    /// `--console`: the operator's console on this terminal (which implies the
    /// control channel, for a rehearsal too), the plain display silent under it.
    pub console: bool,
}

/// The service a run talks to.
struct Connection {
    /// The emulator of a rehearsal.
    rehearsal: Option<SimHandle>,
    /// What the client calls.
    endpoint: String,
    /// The endpoint as journals and reports show it.
    label: String,
}

/// What a run keeps on record: its identity, its lock, its journal and its reports.
struct Records {
    run_id: String,
    /// The run's first start (a resumed run keeps its journal's).
    start: jiff::Timestamp,
    /// The meeting's start as the journal of a resumed run recorded it.
    meeting_start: Option<jiff::Timestamp>,
    deadline: Option<Deadline>,
    /// Held until the run ends; a rehearsal leaves the real meeting alone, so it has none.
    _lock: Option<MeetingLock>,
    journal: Journal,
    reports: Vec<ReportTarget>,
    /// The operator commands of the run this one resumes, which its journal and
    /// reports keep.
    carried: Vec<Event>,
    /// The highest operator id (`opN`) the run this one resumes played: this run's
    /// go on after it, so that no two things in its records share an id.
    plays_before: usize,
}

impl Session {
    /// Runs the playbook and writes the final reports; the exit code says how it went.
    pub(crate) async fn run(mut self) -> Result<ExitCode, Error> {
        let connection = self.connect().await?;
        let resumed = match self.resume.clone() {
            None => None,
            Some(which) => match self.resumed(&which, &connection)? {
                Some(journal) => Some(journal),
                None => {
                    if let Some(handle) = connection.rehearsal {
                        handle.stop().await;
                    }
                    return Ok(ExitCode::Success);
                }
            },
        };
        self.selection.validate(&self.prepared.playbook)?;
        if let Target::Rehearsal {
            requests: Some(path),
        } = &self.target
        {
            report_files::probe_request_log(path)?;
        }
        let records = self.records(&connection, resumed.as_ref())?;
        let result = self.execute(&connection, records).await?;
        if let Some(handle) = connection.rehearsal {
            let requests = match &self.target {
                Target::Rehearsal { requests } => requests.as_deref(),
                Target::Service { .. } => None,
            };
            rehearsal::finish(
                handle,
                &self.meeting.id,
                requests,
                &self.display,
                &self.secrets,
            )
            .await?;
        }
        Ok(result)
    }

    /// The rehearsal emulator, started; or the service's endpoint, checked.
    async fn connect(&self) -> Result<Connection, Error> {
        Ok(match &self.target {
            Target::Rehearsal { .. } => {
                let handle =
                    rehearsal::start(&self.prepared.playbook.doc, &self.meeting, &self.clock)
                        .await?;
                let endpoint = handle.base_url().to_owned();
                tracing::debug!("rehearsing against the emulator at {endpoint}");
                Connection {
                    rehearsal: Some(handle),
                    endpoint,
                    label: "the built-in emulator".to_owned(),
                }
            }
            Target::Service {
                endpoint,
                allow_insecure_http,
            } => {
                let endpoint = check_endpoint(endpoint, *allow_insecure_http)?;
                Connection {
                    rehearsal: None,
                    label: endpoint.clone(),
                    endpoint,
                }
            }
        })
    }

    /// The journal to resume, with the selection set to start where it stopped; `None`
    /// when that run had already finished.
    fn resumed(
        &mut self,
        which: &str,
        connection: &Connection,
    ) -> Result<Option<JournalRun>, Error> {
        let key = RunKey {
            playbook: &self.path,
            meeting: &self.meeting.id,
            endpoint: &connection.label,
        };
        let state_dir = crate::run::lock::state_dir(self.state_dir.as_deref());
        let journal = resume::journal(which, &state_dir, &self.prepared.playbook, &key)?;
        if let Some(journal) = &journal {
            self.selection.start_at.clone_from(&journal.resume_at);
        }
        Ok(journal)
    }

    /// The run's id and start, its deadline, the meeting's lock, the run's journal and
    /// the report files, each tried before the first cue.
    fn records(
        &self,
        connection: &Connection,
        resumed: Option<&JournalRun>,
    ) -> Result<Records, Error> {
        let state_dir = crate::run::lock::state_dir(self.state_dir.as_deref());
        let started_at = self.clock.now();
        let holder = Holder {
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            started: format!("{started_at:.0}"),
            playbook: self.path.display().to_string(),
            endpoint: connection.endpoint.clone(),
        };
        let lock = if connection.rehearsal.is_none() {
            Some(MeetingLock::acquire(
                &state_dir,
                &connection.endpoint,
                &self.meeting.id,
                &holder,
            )?)
        } else {
            None
        };
        // A resumed run keeps its first start, so that `+15m` cues keep their meaning.
        let start = resumed.map_or(started_at, |r| r.started);
        let zone = &self.prepared.zone;
        let deadline = Deadline::resolve(
            self.deadline.as_deref(),
            &self.prepared.playbook,
            start,
            zone,
        )?;
        let run_id = format!(
            "{}-{}-{}",
            started_at.strftime("%Y%m%dT%H%M%SZ"),
            self.meeting.id,
            std::process::id()
        );
        let date = started_at
            .to_zoned(zone.clone())
            .strftime("%Y-%m-%d")
            .to_string();
        let reports = report_files::filled(&self.reports, &run_id, &date)?;
        let journal = Journal::create(
            &state_dir,
            &run_id,
            Arc::clone(&self.secrets),
            Arc::clone(&self.clock),
        )?;
        tracing::debug!("journal: {}", journal.path().display());
        Ok(Records {
            run_id,
            start,
            meeting_start: resumed.and_then(|r| r.meeting_start),
            deadline,
            _lock: lock,
            journal,
            reports,
            plays_before: resumed.map_or(0, |r| {
                r.events
                    .iter()
                    .filter_map(|e| match e {
                        Event::StepStarted { id, .. }
                        | Event::StepSkipped { id, .. }
                        | Event::StepFinished { id, .. } => id.operator_number(),
                        _ => None,
                    })
                    .max()
                    .unwrap_or(0)
            }),
            carried: resumed.map_or_else(Vec::new, |r| {
                r.events
                    .iter()
                    .filter(|e| matches!(e, Event::Operator { .. }))
                    .cloned()
                    .collect()
            }),
        })
    }

    /// What the run does about its meeting before the first step: the policy
    /// (`--not-started`, else the playbook's, else wait), how often to ask, until when,
    /// and the start a resumed run's journal recorded.
    fn gate(&self, timeline: &Timeline, known_start: Option<jiff::Timestamp>) -> Gate {
        let spec = &self.prepared.playbook.doc.meeting;
        let first_timed = self
            .prepared
            .playbook
            .doc
            .steps
            .value
            .iter()
            .filter_map(|step| step.at.as_ref())
            .find(|at| !matches!(at.value, Cue::After(_) | Cue::Meeting(_)))
            .and_then(|at| timeline.resolve(at, None).ok());
        Gate {
            meeting: self.meeting.id.clone(),
            policy: self
                .not_started
                .or(spec.not_started.as_ref().map(|p| p.value))
                .unwrap_or_default(),
            poll: spec
                .start_poll
                .as_ref()
                .map_or(DEFAULT_START_POLL, |p| p.value)
                .std(),
            // Counted from now rather than a resumed run's first start: this run waits.
            until: crate::run::gate::wait_until(
                self.clock.now(),
                spec.start_timeout.as_ref().map(|t| t.value),
                first_timed,
            ),
            known_start,
            account: self.meeting.account.clone(),
        }
    }

    /// Whether the run uses the meeting's push feed: `--events`, else the playbook's,
    /// else auto. A fast-forwarded rehearsal uses it too: virtual time stops at every
    /// heartbeat and every scripted change, so the rehearsal follows the show's path.
    fn events(&self) -> crate::playbook::Events {
        self.events
            .or(self
                .prepared
                .playbook
                .doc
                .meeting
                .events
                .as_ref()
                .map(|e| e.value))
            .unwrap_or_default()
    }

    /// The steps, run by the executor with the display, the journal and the report
    /// builder listening; then the reports written. The run's own outcome is the exit
    /// code; an error is what stopped the reports.
    async fn execute(&self, connection: &Connection, records: Records) -> Result<ExitCode, Error> {
        let playbook = &self.prepared.playbook;
        let doc = &playbook.doc;
        let remember = Arc::clone(&self.secrets);
        let client = Arc::new(
            Client::new(
                &connection.endpoint,
                &self.meeting.id,
                self.meeting.credentials.clone(),
                Arc::clone(&self.clock),
                Arc::new(move |s: &str| remember.remember(s)),
            )
            .map_err(Error::Failed)?
            .with_rate_limit(
                self.rate_limit
                    .or(doc.defaults.rate_limit)
                    .unwrap_or(crate::playbook::DEFAULT_RATE_LIMIT),
            ),
        );
        // On virtual time the executor's own waits keep the token alive; a background
        // task would sleep in real time.
        let keep_alive = (!self.clock.is_virtual()).then(|| client.keep_alive_in_background());
        let reports = ReportBuilder::default();
        let mut timeline = Timeline {
            clock: Arc::clone(&self.clock),
            start: records.start,
            meeting_start: None,
            zone: self.prepared.zone.clone(),
        };
        // The operator's commands, which the control channel hands in.
        let operator = crate::run::operator::Operator::for_playbook(doc);
        operator.numbered_after(records.plays_before);
        let (feed_tap, feed) = tokio::sync::watch::channel(None);
        let channel = self.channel(connection, &records, &timeline, feed, &operator)?;
        let mute = crate::console::DisplayMute::default();
        let (display, held_back) = if self.console {
            let (display, held_back) =
                self.display
                    .under_console(&self.secrets, &self.clock, mute.clone());
            (display, Some(held_back))
        } else {
            (self.display.listener(&self.secrets, &self.clock), None)
        };
        let console = match (&channel, self.console) {
            (Some(_), true) => {
                let state_dir = crate::run::lock::state_dir(self.state_dir.as_deref());
                let socket = crate::control::server::socket_path(&state_dir, &records.run_id);
                Some(console::spawn(socket, mute))
            }
            _ => None,
        };
        let mut listeners = vec![
            display,
            Box::new(crate::report::Carried::new(
                Fanout(vec![Box::new(records.journal), Box::new(reports.clone())]),
                records.carried,
            )) as Box<dyn Listener>,
        ];
        let channel = channel.map(|(channel, show)| {
            listeners.push(show);
            channel
        });
        let mut listener: Box<dyn Listener> = Box::new(Fanout(listeners));
        listener.on(&Event::RunStarted {
            playbook: doc.name.value.clone(),
            meeting: self.meeting.id.clone(),
            endpoint: connection.label.clone(),
            steps: doc.steps.len(),
            file: self.path.display().to_string(),
            playbook_hash: playbook.hash(),
            started: format!("{:.3}", records.start),
            run_id: records.run_id,
        });
        let interrupt = crate::run::interrupt::Interrupt::new();
        let listening = interrupt.listen()?;
        operator.interrupt_with(Arc::clone(&interrupt));
        let gate = self.gate(&timeline, records.meeting_start);
        let opened = gate
            .open(&client, &timeline, listener.as_mut(), &interrupt)
            .await;
        let (result, counts, cues) = match opened {
            Ok(meeting_start) => {
                timeline.meeting_start = meeting_start;
                let events = self.events();
                let mut executor = Executor::new(
                    Arc::clone(&client),
                    &self.engine,
                    Arc::clone(&playbook.file),
                    listener.as_mut(),
                    self.vars.clone(),
                    self.prepared.step_defaults(),
                    timeline,
                );
                executor.select(self.selection.clone());
                executor.scenes(&doc.scenes);
                executor.deadline(records.deadline);
                executor.interrupt_with(Arc::clone(&interrupt));
                executor.operator(Arc::clone(&operator));
                executor.events(events);
                executor.feed_tap(feed_tap);
                let result = executor.run(&doc.steps.value).await;
                (result, executor.counts(), executor.cues().to_vec())
            }
            Err(failure) => (Err(failure), Counts::default(), Vec::new()),
        };
        let summary = Summary {
            ok: counts.ok,
            failed: counts.failed,
            skipped: counts.skipped,
            retries: counts.retries,
            token_renewals: client.renewals(),
            api_calls: client.calls(),
            elapsed: self.started.elapsed(),
            success: result.is_ok(),
            finished: format!("{:.3}", self.clock.now()),
            cue_summary: crate::run::CueSummary::of(&cues),
            cues,
        };
        drop(keep_alive);
        operator.close();
        listener.on(&Event::RunFinished { summary });
        drop(listener);
        drop(listening);
        let exit = match &result {
            Ok(()) => ExitCode::Success,
            Err(failure) => failure.exit,
        };
        if let Some(channel) = channel {
            channel.finish(control::outcome(exit)).await;
        }
        // The console shows the outcome, then gives the screen back; the summary
        // follows on the normal screen.
        if let Some(console) = console {
            console.left().await;
        }
        if let Some(held_back) = held_back {
            held_back.release();
        }
        reports.write(&records.reports, &self.secrets)?;
        Ok(exit)
    }
}
