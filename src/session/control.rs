//! The run's control channel, wired: the socket started (for every run against a
//! service, and for a rehearsal given `--control`), the show's state kept from the
//! run's events ([`super::show::Show`]), the feed's picture (the roster) and whether
//! the run is held, and published on a `watch` channel that the server streams and
//! answers `status` from. At the end of the run the final state (with `finished`) goes
//! out and the socket is removed.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::{Notify, watch};

use super::show::{PlannedStep, Show};
use crate::clock::SharedClock;
use crate::control::protocol::{Command, Person, RunInfo, ShowState, Who};
use crate::control::server::{self, Server};
use crate::error::Error;
use crate::mmc::live::{Health, LiveState};
use crate::playbook::cue::Cue;
use crate::run::operator::Operator;
use crate::run::{Event, Listener, Timeline};

/// How often the state is brought up to date without an event: countdowns move, the
/// roster changes.
const REFRESH: Duration = Duration::from_millis(500);

/// The feed's state once the executor has started it.
pub(super) type FeedTap = watch::Receiver<Option<watch::Receiver<LiveState>>>;

/// Whether anyone is held up by the run: asked on every publication.
pub(super) type Held = Box<dyn Fn() -> bool + Send>;

/// The top-level steps an operator asked to skip that the run has not reached: asked
/// on every publication, so that the next cue is not one that will not fire.
pub(super) type Skipping = Box<dyn Fn() -> Vec<String> + Send>;

/// Everything a publication needs, shared by the listener and the refresher.
struct Book {
    show: Show,
    clock: SharedClock,
    /// For `now` as output shows it (the playbook's zone).
    timeline: Timeline,
    feed: FeedTap,
    held: Held,
    skipping: Skipping,
    states: Option<watch::Sender<ShowState>>,
    /// The top-level steps cued after the meeting's start: planned once it is known.
    meeting_cues: Vec<(String, Cue)>,
}

impl Book {
    fn publish(&mut self) {
        let Some(states) = &self.states else { return };
        let at = self.clock.now();
        let mut state = self
            .show
            .state(at, &self.timeline.show(at), &(self.skipping)());
        state.held = (self.held)();
        let live = self
            .feed
            .borrow()
            .as_ref()
            .map(|live| live.borrow().clone());
        if let Some(live) = live {
            picture(&mut state, &live);
        }
        states.send_replace(state);
    }
}

impl Book {
    /// The meeting started at `start` (as the event says it): the cues that count from
    /// it are known now.
    fn meeting_started(&mut self, start: &str) {
        let Ok(start) = start.parse() else { return };
        self.timeline.meeting_start = Some(start);
        for (id, cue) in &self.meeting_cues {
            if let Ok(at) = self.timeline.resolve(cue, None) {
                self.show.plan(id, at, self.timeline.show(at));
            }
        }
    }
}

fn lock(book: &Mutex<Book>) -> MutexGuard<'_, Book> {
    book.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The meeting and the people in it, as the feed's picture shows them.
fn picture(state: &mut ShowState, live: &LiveState) {
    state.meeting.feed = match live.health {
        Health::Up => "up",
        Health::Connecting => "connecting",
        Health::Down { .. } => "down",
    }
    .into();
    let picture = &live.picture;
    if !picture.is_complete() {
        return;
    }
    state.meeting.locked = picture.locked();
    state.meeting.recording = picture.recording();
    state.meeting.subject = picture.basic().map(|basic| basic.title.clone());
    state.meeting.waiting = picture.waiting().len();
    if picture.ended() {
        "ended".clone_into(&mut state.meeting.state);
    }
    let hands = picture.hands();
    let broadcast = picture.broadcast();
    let roll_call = picture.roll_call();
    state.roster = picture
        .roster()
        .participants
        .into_iter()
        .map(|p| Person {
            hand: hands
                .iter()
                .position(|hand| hand.pid == p.pid)
                .and_then(|place| u32::try_from(place + 1).ok()),
            broadcast: broadcast.as_deref() == Some(p.pid.as_str()),
            roll_call: roll_call.as_deref() == Some(p.pid.as_str()),
            role: p.role.to_owned(),
            muted: p.mute,
            name: p.name,
            id: p.pid,
        })
        .collect();
}

/// The channel of one run: its server, and what keeps its state.
pub(super) struct Channel {
    server: Server,
    book: Arc<Mutex<Book>>,
    refresher: tokio::task::JoinHandle<()>,
}

/// A started channel, and the listener that keeps its state.
pub(super) type Listening = (Channel, Box<dyn Listener>);

/// What the session knows of the run when the channel starts.
pub(super) struct Start<'a> {
    pub state_dir: &'a Path,
    pub run: RunInfo,
    pub steps: Vec<PlannedStep>,
    /// The top-level steps (by id) whose cue counts from the meeting's start.
    pub meeting_cues: Vec<(String, Cue)>,
    pub scenes: Vec<String>,
    pub panic_scene: Option<String>,
    pub secrets: Arc<crate::secrets::Secrets>,
    pub clock: SharedClock,
    pub timeline: Timeline,
    pub feed: FeedTap,
    pub held: Held,
    pub skipping: Skipping,
    pub handle: server::Handle,
}

impl Channel {
    /// Listens on the run's socket; the listener to add to the run's fan-out.
    pub(super) fn start(start: Start<'_>) -> Result<Listening, Error> {
        let path = server::socket_path(start.state_dir, &start.run.run_id);
        let mut show = Show::new(start.steps, start.secrets);
        show.run = Some(start.run.clone());
        show.scenes = start.scenes;
        show.panic_scene = start.panic_scene;
        let (states, receiver) = watch::channel(ShowState::default());
        let mut book = Book {
            show,
            clock: start.clock,
            timeline: start.timeline,
            feed: start.feed,
            held: start.held,
            skipping: start.skipping,
            states: Some(states),
            meeting_cues: start.meeting_cues,
        };
        book.publish();
        let book = Arc::new(Mutex::new(book));
        let changed = Arc::new(Notify::new());
        // A command may change what the state says (held): published at once, so
        // that a `status` right after it says so.
        let handle: server::Handle = {
            let (handle, book) = (start.handle, Arc::clone(&book));
            Arc::new(move |command: Command, who: Who| {
                let reply = handle(command, who);
                lock(&book).publish();
                reply
            })
        };
        let server = server::listen(&path, start.run, handle, receiver)?;
        tracing::debug!("listening for operator commands on {}", path.display());
        let refresher = tokio::spawn(refresh(Arc::clone(&book), Arc::clone(&changed)));
        let listener = Box::new(ShowListener {
            book: Arc::clone(&book),
            changed,
        });
        Ok((
            Channel {
                server,
                book,
                refresher,
            },
            listener,
        ))
    }

    /// The run is over (`outcome`: "ok", "failed", "aborted"…): the final state goes to
    /// the clients, then the socket is closed and removed.
    pub(super) async fn finish(self, outcome: &str) {
        self.refresher.abort();
        {
            let mut book = lock(&self.book);
            book.show.finished = Some(outcome.to_owned());
            book.publish();
            book.states = None;
        }
        self.server.close().await;
    }
}

/// Publishes the state every [`REFRESH`], and as soon as the run's events change it.
async fn refresh(book: Arc<Mutex<Book>>, changed: Arc<Notify>) {
    loop {
        if tokio::time::timeout(REFRESH, changed.notified())
            .await
            .is_ok()
        {
            // Behind the tasks already woken, among them the one that writes the
            // step's call to its socket.
            tokio::task::yield_now().await;
        }
        lock(&book).publish();
    }
}

/// Keeps the show from the run's events; the refresher publishes it.
struct ShowListener {
    book: Arc<Mutex<Book>>,
    changed: Arc<Notify>,
}

impl Listener for ShowListener {
    fn on(&mut self, event: &Event) {
        let mut book = lock(&self.book);
        let at = book.clock.now();
        let now = book.timeline.show(at);
        if let Event::MeetingStarted { at: start, .. } = event {
            book.meeting_started(start);
        }
        book.show.apply(event, at, &now);
        drop(book);
        // Building and sending the whole state is left to the refresher, which runs
        // once the executor awaits, mostly while a step's call is in flight, and takes
        // every event until then in one publication: done here, it stood between each
        // cue and its call (0.3 ms at the median).
        self.changed.notify_one();
    }
}

/// How the run ended, as the final state says it.
pub(super) fn outcome(exit: crate::error::ExitCode) -> &'static str {
    use crate::error::ExitCode;
    match exit {
        ExitCode::Success => "ok",
        ExitCode::Aborted => "aborted",
        ExitCode::Interrupted | ExitCode::Terminated | ExitCode::HungUp => "stopped",
        _ => "failed",
    }
}

impl super::Session {
    /// The run's control channel and the listener that keeps its state; `None` for a
    /// rehearsal not given `--control` (or `--console`).
    pub(super) fn channel(
        &self,
        connection: &super::Connection,
        records: &super::Records,
        timeline: &Timeline,
        feed: FeedTap,
        operator: &Arc<Operator>,
    ) -> Result<Option<Listening>, Error> {
        let rehearsal = connection.rehearsal.is_some();
        if rehearsal && !self.control && !self.console {
            return Ok(None);
        }
        let doc = &self.prepared.playbook.doc;
        let run = RunInfo {
            run_id: records.run_id.clone(),
            playbook: doc.name.value.clone(),
            file: self.path.display().to_string(),
            meeting: self.meeting.id.clone(),
            endpoint: connection.label.clone(),
            pid: std::process::id(),
            user: server::current_user(),
            rehearsal,
        };
        let id = |index: usize| crate::playbook::step_id::StepId::top_level(index + 1).to_string();
        let meeting_cues = doc
            .steps
            .value
            .iter()
            .enumerate()
            .filter_map(|(index, step)| match step.at.as_ref().map(|at| &at.value) {
                Some(cue @ Cue::Meeting(_)) => Some((id(index), cue.clone())),
                _ => None,
            })
            .collect();
        let steps = doc
            .steps
            .value
            .iter()
            .enumerate()
            .map(|(index, step)| PlannedStep {
                id: id(index),
                name: step.label(),
                // A cue after the meeting's start is known once it has started.
                planned: step
                    .at
                    .as_ref()
                    .filter(|at| !matches!(at.value, Cue::Meeting(_)))
                    .and_then(|at| timeline.resolve(at, None).ok())
                    .map(|at| (at, timeline.show(at))),
            })
            .collect();
        let state_dir = crate::run::lock::state_dir(self.state_dir.as_deref());
        let started = Channel::start(Start {
            state_dir: &state_dir,
            run,
            steps,
            meeting_cues,
            scenes: doc.scenes.keys().cloned().collect(),
            panic_scene: doc.panic_scene().map(str::to_owned),
            secrets: Arc::clone(&self.secrets),
            clock: Arc::clone(&self.clock),
            timeline: timeline.clone(),
            feed,
            held: {
                let operator = Arc::clone(operator);
                Box::new(move || operator.held())
            },
            skipping: {
                let operator = Arc::clone(operator);
                Box::new(move || operator.skipping())
            },
            handle: {
                let operator = Arc::clone(operator);
                Arc::new(move |command: Command, who: Who| operator.submit(command, who))
            },
        });
        match started {
            Ok(listening) => Ok(Some(listening)),
            // Asked for, itself or by the console that needs it, it must work;
            // otherwise the show goes on without it.
            Err(error) if !self.control && !self.console => {
                tracing::warn!(
                    "not listening for operator commands: {}",
                    crate::printable::printable(&error.to_string())
                );
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::protocol::Reply;
    use crate::playbook::action::LogLevel;
    use crate::playbook::step_id::StepId;

    fn message(text: &str) -> Event {
        Event::Message {
            id: StepId::top_level(1),
            level: LogLevel::Info,
            text: text.into(),
        }
    }

    #[tokio::test]
    async fn events_are_published_once_the_run_awaits_not_on_its_way_to_a_call() {
        let dir = tempfile::tempdir().unwrap();
        let clock = crate::clock::SystemClock::shared();
        let (_feed, feed) = watch::channel(None);
        let (channel, mut listener) = Channel::start(Start {
            state_dir: dir.path(),
            run: RunInfo {
                run_id: "r1".into(),
                playbook: "P".into(),
                file: "p.yaml".into(),
                meeting: "914044873".into(),
                endpoint: "the built-in emulator".into(),
                pid: std::process::id(),
                user: server::current_user(),
                rehearsal: true,
            },
            steps: Vec::new(),
            meeting_cues: Vec::new(),
            scenes: Vec::new(),
            panic_scene: None,
            secrets: crate::secrets::Secrets::new(false),
            clock: Arc::clone(&clock),
            timeline: Timeline {
                start: clock.now(),
                clock,
                meeting_start: None,
                zone: jiff::tz::TimeZone::UTC,
            },
            feed,
            held: Box::new(|| false),
            skipping: Box::new(Vec::new),
            handle: Arc::new(|_, _| Reply {
                ok: true,
                message: String::new(),
                state: None,
            }),
        })
        .unwrap();
        let mut states = lock(&channel.book).states.as_ref().unwrap().subscribe();
        states.mark_unchanged();
        listener.on(&message("first"));
        listener.on(&message("second"));
        assert!(
            !states.has_changed().unwrap(),
            "nothing is built or sent while the run is busy"
        );
        tokio::time::timeout(Duration::from_secs(5), states.changed())
            .await
            .expect("published once the run awaits")
            .unwrap();
        let texts: Vec<String> = states
            .borrow_and_update()
            .log
            .iter()
            .map(|line| line.text.clone())
            .collect();
        assert!(
            texts.iter().any(|t| t.contains("first")) && texts.iter().any(|t| t.contains("second")),
            "both events in one publication: {texts:?}"
        );
        channel.finish("ok").await;
    }
}
