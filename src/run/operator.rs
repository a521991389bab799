//! The operator inside a run: the commands a person behind the show sends while it
//! runs (`hold`, `resume`, `go`, `skip`, `abort`, `scene`, `do`), taken by the control
//! channel's task and acted on by the executor at its check points (before a step
//! starts, and within its waits). [`Operator`] is the state both sides share: taking a
//! command never awaits the executor, and the executor never awaits a command, so a
//! busy run delays no reply and a silent console delays no step. Every command, taken
//! or refused, becomes an [`Event::Operator`] that the executor emits at its next check
//! point, so the display, the journal and the reports all see it.

use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;

use super::event::{Event, StepId};
use super::interrupt::Interrupt;
pub(crate) use crate::control::protocol::Who;
use crate::control::protocol::{Command, Reply, Via};
use crate::playbook::KnownVars;

mod known;
mod record;
#[cfg(test)]
mod tests;

pub(crate) use known::Known;
pub(crate) use record::{Record, typed};

/// Something queued to play out of order: a scene or a one-off action, under its own
/// operator id (`op1`, `op2`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queued {
    /// The how-manieth operator command of the run that plays steps, from 1.
    pub number: usize,
    pub what: Play,
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Play {
    Scene(String),
    Do {
        action: String,
        selector: Option<String>,
        /// Exactly this participant id, never templated (the console's).
        participant: Option<String>,
    },
}

/// What the run is doing, as the executor tells it: for replies like "held during
/// step 3 (Welcome)".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Place {
    /// The top-level step running (not counting down to its cue), if any.
    running: Option<StepId>,
    /// Top-level and nested steps that have started (or were skipped, or finished).
    started: HashSet<StepId>,
    finished: HashSet<StepId>,
    /// The run is over: commands are refused.
    over: bool,
}

#[derive(Debug, Default)]
struct State {
    held: bool,
    /// A `go` not yet used by a wait or a step start, and who gave it.
    go: Option<String>,
    /// While held: one step may start (a `go` that ended a wait while held).
    start_permit: bool,
    /// How many waits a `go` would end are waiting now (a wait, a `wait_for`, a cue's
    /// countdown), and how many of them are of what an operator played: for the reply
    /// to a `go`.
    waiting: usize,
    waiting_played: usize,
    /// Steps to skip when the run reaches them, with who asked.
    skips: Vec<(StepId, String)>,
    queue: VecDeque<Queued>,
    /// Operator commands that played steps so far.
    plays: usize,
    /// Commands taken or refused, not yet emitted by the executor (at most
    /// [`MAX_PENDING`]).
    events: Vec<Record>,
    /// Commands refused without a record since the last were taken: how many, and the
    /// last sender's user and client.
    unrecorded: Option<(usize, String, Via)>,
    place: Place,
    aborted: bool,
}

/// Scenes and `do`s waiting to play at most; more are refused until some have played.
const MAX_QUEUED: usize = 16;

/// Commands noted and not yet emitted at most. The run emits them between steps and
/// within waits, not while a step calls the API (and retries), so a flood meanwhile
/// would otherwise be kept without end; past this, commands are refused, changing
/// nothing, and counted in one record instead.
const MAX_PENDING: usize = 256;

/// The operator's side of a run; see the module's header.
pub(crate) struct Operator {
    state: Mutex<State>,
    /// Woken on every command taken, so that a waiting executor looks again.
    notify: Notify,
    interrupt: Mutex<Option<Arc<Interrupt>>>,
    known: Known,
    /// The run's clock, for the time each command is noted with (the system's until
    /// the executor gives its own).
    clock: OnceLock<crate::clock::SharedClock>,
    /// Checks a `do` as a playbook step would be; without it `do` is refused.
    check_do: OnceLock<CheckDo>,
    /// The names of the run's variables, as the executor last told them: what a `do`
    /// may use.
    vars: Mutex<KnownVars>,
}

/// Checks a `do ACTION [SELECTOR | participant id]`: `Err(message)` when it would not
/// load.
pub(crate) type CheckDo =
    Box<dyn Fn(&str, Option<&str>, Option<&str>, &KnownVars) -> Result<(), String> + Send + Sync>;

impl Operator {
    /// `known`: the playbook's step ids (top-level and nested) and scene names.
    pub(crate) fn new(known: Known) -> Arc<Operator> {
        Arc::new(Operator {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            interrupt: Mutex::new(None),
            known,
            clock: OnceLock::new(),
            check_do: OnceLock::new(),
            vars: Mutex::new(KnownVars::default()),
        })
    }

    /// The operator of a run of `doc`.
    /// A `do` is checked as the playbook step `{ACTION: SELECTOR}` would be.
    pub(crate) fn for_playbook(doc: &crate::playbook::PlaybookDoc) -> Arc<Operator> {
        let operator = Operator::new(Known::of(doc));
        operator.check_do(Box::new(|action, selector, participant, vars| {
            crate::playbook::adhoc::one_off(action, selector, participant, Some(vars)).map(|_| ())
        }));
        operator
    }

    /// Operator ids go on after `n` (`op{n+1}` next): a resumed run's after its first's.
    pub(crate) fn numbered_after(&self, n: usize) {
        let mut state = self.state();
        state.plays = state.plays.max(n);
    }

    /// The names of the run's variables now, which a `do` may use.
    pub(crate) fn vars(&self, names: impl IntoIterator<Item = String>) {
        *self.vars.lock().unwrap_or_else(|e| e.into_inner()) =
            KnownVars(names.into_iter().collect());
    }

    /// The run's clock, which commands are timed by.
    pub(crate) fn clock(&self, clock: crate::clock::SharedClock) {
        let _ = self.clock.set(clock);
    }

    /// How a `do` is checked; until this is given, `do` is refused.
    pub(crate) fn check_do(&self, check: CheckDo) {
        let _ = self.check_do.set(check);
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The interrupt `abort` raises (the run's own; the session passes it in).
    pub(crate) fn interrupt_with(&self, interrupt: Arc<Interrupt>) {
        *self.interrupt.lock().unwrap_or_else(|e| e.into_inner()) = Some(interrupt);
    }

    pub(crate) fn held(&self) -> bool {
        self.state().held
    }

    /// The top-level steps to be skipped when the run reaches them.
    pub(crate) fn skipping(&self) -> Vec<String> {
        self.state()
            .skips
            .iter()
            .filter(|(id, _)| id.is_top_level())
            .map(|(id, _)| id.to_string())
            .collect()
    }

    /// Takes a command; never blocks, never awaits the executor. Refusals change
    /// nothing. `Status` is answered by the channel, not here.
    pub(crate) fn submit(&self, command: Command, who: Who) -> Reply {
        let oversized = command.oversized();
        let text = match &oversized {
            Some(_) => format!("{} (too long to show)", command.word()),
            None => typed(&command),
        };
        let (ok, message) = {
            let mut state = self.state();
            if state.events.len() >= MAX_PENDING {
                let count = state.unrecorded.as_ref().map_or(0, |(n, ..)| *n);
                state.unrecorded = Some((count + 1, who.user.clone(), who.via));
                return Reply {
                    ok: false,
                    message: "too many commands at once; try again in a moment".to_owned(),
                    state: None,
                };
            }
            let outcome = if let Some(why) = oversized {
                Err(why)
            } else if state.place.over {
                Err("the run is over".to_owned())
            } else if state.aborted && !matches!(command, Command::Status) {
                Err("the run is being aborted".to_owned())
            } else if let Some(origin) = self.stopped_by() {
                // Stopping as a signal asked: nothing an operator asks starts now.
                Err(format!("the run is stopping: interrupted by {origin}"))
            } else {
                self.apply(&mut state, command, &who)
            };
            let (ok, message) = match outcome {
                Ok(message) => (true, message),
                Err(message) => (false, message),
            };
            state.events.push(Record {
                at: self.now(),
                user: who.user.clone(),
                via: who.via,
                command: text,
                ok,
                message: message.clone(),
            });
            (ok, message)
        };
        self.notify.notify_waiters();
        Reply {
            ok,
            message,
            state: None,
        }
    }

    /// What interrupted the run, if anything has.
    fn stopped_by(&self) -> Option<super::interrupt::Origin> {
        let interrupt = self
            .interrupt
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        interrupt.and_then(|interrupt| interrupt.received())
    }

    fn apply(&self, state: &mut State, command: Command, who: &Who) -> Result<String, String> {
        match command {
            Command::Hold => {
                if state.held {
                    return Err("already held".to_owned());
                }
                state.held = true;
                Ok(format!("held {}", self.where_now(state)))
            }
            Command::Resume => {
                if !state.held {
                    return Err("not held".to_owned());
                }
                state.held = false;
                state.go = None;
                state.start_permit = false;
                Ok("resumed".to_owned())
            }
            Command::Go => {
                if state.go.is_some() || state.start_permit {
                    return Err("a `go` is already waiting for the next wait or step".to_owned());
                }
                state.go = Some(who.user.clone());
                Ok(if state.waiting_played > 0 {
                    "go: the wait of what an operator played ends, and it goes on".to_owned()
                } else if state.held {
                    format!(
                        "go: one step starts, still held ({})",
                        self.where_now(state)
                    )
                } else if state.waiting > 0 {
                    "go: the current wait ends and the next step starts now".to_owned()
                } else {
                    "go: nothing waits now (a call is in flight): the next wait or cue \
                     countdown ends as it begins, unless another action starts first"
                        .to_owned()
                })
            }
            Command::Skip { step } => self.skip(state, step.as_deref(), who),
            Command::Abort => {
                let interrupt = self
                    .interrupt
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let Some(interrupt) = interrupt else {
                    return Err("this run cannot be aborted from here".to_owned());
                };
                state.aborted = true;
                state.held = false;
                interrupt.raise_by_operator(&who.user);
                Ok(
                    "aborting: the current step stops and `always` steps run; the run exits 5"
                        .to_owned(),
                )
            }
            Command::Scene { name } => {
                if state.queue.len() >= MAX_QUEUED {
                    return Err(full_queue());
                }
                if !self.known.scenes.contains(&name) {
                    let names: Vec<&str> = self.known.scenes.iter().map(String::as_str).collect();
                    let mut message = format!("no scene named `{name}`");
                    if let Some(close) = crate::error::did_you_mean(&name, &names) {
                        message.push_str(&format!("; did you mean `{close}`?"));
                    } else if names.is_empty() {
                        message.push_str(" (the playbook has no scenes)");
                    }
                    return Err(message);
                }
                Ok(Self::queue(state, Play::Scene(name), who))
            }
            Command::Do {
                action,
                selector,
                participant,
            } => {
                if state.queue.len() >= MAX_QUEUED {
                    return Err(full_queue());
                }
                let vars = self.vars.lock().unwrap_or_else(|e| e.into_inner()).clone();
                match self.check_do.get() {
                    Some(check) => {
                        check(&action, selector.as_deref(), participant.as_deref(), &vars)?;
                    }
                    None => return Err("`do` is not available in this run".to_owned()),
                }
                let play = Play::Do {
                    action,
                    selector,
                    participant,
                };
                Ok(Self::queue(state, play, who))
            }
            Command::Status => Err("`status` is answered by the control channel".to_owned()),
        }
    }

    fn queue(state: &mut State, what: Play, who: &Who) -> String {
        state.plays += 1;
        let number = state.plays;
        let said = match &what {
            Play::Scene(name) => format!("scene `{name}`"),
            Play::Do { action, .. } => format!("`{action}`"),
        };
        state.queue.push_back(Queued {
            number,
            what,
            user: who.user.clone(),
        });
        format!("{said} queued as op{number}; it plays as soon as no call is in flight")
    }

    fn skip(&self, state: &mut State, step: Option<&str>, who: &Who) -> Result<String, String> {
        let id = match step {
            None => self
                .known
                .steps
                .iter()
                .map(|(id, _)| id)
                .filter(|id| id.is_top_level())
                .find(|id| !state.place.started.contains(*id) && !skipping(state, id))
                .cloned()
                .ok_or_else(|| "no top-level step is left to skip".to_owned())?,
            Some(text) => {
                let parsed = text.trim().parse::<StepId>().ok();
                let found = parsed.filter(|id| self.known.label(id).is_some());
                match found {
                    Some(id) => id,
                    None => {
                        let ids: Vec<String> = self
                            .known
                            .steps
                            .iter()
                            .map(|(id, _)| id.to_string())
                            .collect();
                        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                        let mut message = format!("no step {text} in this playbook");
                        if let Some(close) = crate::error::did_you_mean(text, &ids) {
                            message.push_str(&format!("; did you mean {close}?"));
                        }
                        return Err(message);
                    }
                }
            }
        };
        let label = self.known.label(&id).unwrap_or_default().to_owned();
        if id.in_always() {
            return Err(format!(
                "step {id} ({label}) is an `always` step: it runs whatever happens"
            ));
        }
        if state.place.finished.contains(&id) {
            return Err(format!("step {id} ({label}) is already done"));
        }
        if state.place.started.contains(&id) {
            return Err(format!("step {id} ({label}) has already started"));
        }
        if skipping(state, &id) {
            return Err(format!("step {id} ({label}) is already to be skipped"));
        }
        state.skips.push((id.clone(), who.user.clone()));
        Ok(format!("step {id} ({label}) will be skipped"))
    }

    /// "before step 4 (Open Q&A)" or "during step 3 (Welcome)".
    fn where_now(&self, state: &State) -> String {
        if let Some(id) = &state.place.running {
            let label = self.known.label(id).unwrap_or_default();
            return format!("during step {id} ({label})");
        }
        let next = self
            .known
            .steps
            .iter()
            .filter(|(id, _)| id.is_top_level())
            .find(|(id, _)| !state.place.started.contains(id) && !skipping(state, id));
        match next {
            Some((id, label)) => format!("before step {id} ({label})"),
            None => "after the last step".to_owned(),
        }
    }

    /// The run's clock, for tests that move it while the run is held.
    #[cfg(test)]
    pub(crate) fn run_clock(&self) -> Option<crate::clock::SharedClock> {
        self.clock.get().cloned()
    }

    fn now(&self) -> jiff::Timestamp {
        self.clock
            .get()
            .map_or_else(jiff::Timestamp::now, |c| c.now())
    }

    // The executor's side.

    /// Resolves once a command has been taken after this was called; made before
    /// looking at the state, so that no command slips between the look and the wait.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }

    /// Notes what the run does, from its events: which steps started and finished.
    pub(crate) fn observe(&self, event: &Event) {
        let mut state = self.state();
        let place = &mut state.place;
        match event {
            Event::StepStarted { id, .. } => {
                let id = id.without_items();
                if id.is_top_level() {
                    place.running = Some(id.clone());
                }
                place.started.insert(id);
            }
            Event::StepSkipped { id, .. } => {
                let id = id.without_items();
                place.started.insert(id.clone());
                place.finished.insert(id);
            }
            Event::StepFinished { id, .. } => {
                let id = id.without_items();
                if place.running.as_ref() == Some(&id) {
                    place.running = None;
                }
                place.started.insert(id.clone());
                place.finished.insert(id);
            }
            Event::RunFinished { .. } => place.over = true,
            _ => {}
        }
    }

    /// The commands taken or refused since the last call, to emit.
    pub(crate) fn take_records(&self) -> Vec<Record> {
        let now = self.now();
        let mut state = self.state();
        let mut records = std::mem::take(&mut state.events);
        if let Some((count, user, via)) = state.unrecorded.take() {
            records.push(Record {
                at: now,
                user,
                via,
                command: format!("{count} more"),
                ok: false,
                message: format!(
                    "{count} more commands were refused unread: they came faster than the \
                     run could note them"
                ),
            });
        }
        records
    }

    /// Whoever asked for `id` to be skipped, once: the step is then skipped.
    /// A step of a loop item (`5#1.2`) is the step an operator names (`5.2`): the
    /// skip is for the next item to reach it.
    pub(crate) fn take_skip(&self, id: &StepId) -> Option<String> {
        let id = id.without_items();
        let mut state = self.state();
        let at = state.skips.iter().position(|(skip, _)| *skip == id)?;
        Some(state.skips.remove(at).1)
    }

    /// Uses a pending `go` at a wait point (a wait, `wait_for` or cue countdown, which
    /// it ends): who gave it. While held, it also lets the next step start, unless
    /// `played`: the wait of what an operator played, which no step start follows.
    pub(crate) fn take_go(&self, played: bool) -> Option<String> {
        let mut state = self.state();
        let user = state.go.take()?;
        state.start_permit = state.held && !played;
        Some(user)
    }

    /// Resolves with who gave it once a `go` is given (or at once if one is pending),
    /// using it: for the waits it ends (`played` as for [`Operator::take_go`]).
    pub(crate) async fn go(&self, played: bool) -> String {
        loop {
            let changed = self.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(user) = self.take_go(played) {
                return user;
            }
            changed.await;
        }
    }

    /// Resolves once a scene or `do` is queued (at once if one is).
    pub(crate) async fn queued(&self) {
        loop {
            let changed = self.changed();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.has_queued() {
                return;
            }
            changed.await;
        }
    }

    /// A step may start now: not held, or held with a `go` (which this uses). Not
    /// held, a `go` is left for the wait or countdown the step may begin with.
    pub(crate) fn may_start(&self) -> bool {
        let mut state = self.state();
        if !state.held {
            return true;
        }
        // A `go` given while nothing waited is used by this step start.
        state.go.take().is_some() || std::mem::take(&mut state.start_permit)
    }

    /// An action other than a wait starts: a `go` given while nothing waited is spent
    /// on it rather than kept for a wait much later, which the operator did not mean.
    pub(crate) fn spend_go(&self) {
        let mut state = self.state();
        if !state.held {
            state.go = None;
        }
    }

    /// Marks a wait that a `go` ends as waiting until the guard is dropped; `played`:
    /// the wait of what an operator played.
    pub(crate) fn wait_point(&self, played: bool) -> WaitPoint<'_> {
        let mut state = self.state();
        state.waiting += 1;
        state.waiting_played += usize::from(played);
        WaitPoint(self, played)
    }

    /// The next scene or `do` to play, if one is queued.
    pub(crate) fn take_queued(&self) -> Option<Queued> {
        self.state().queue.pop_front()
    }

    /// Whether a scene or `do` waits to be played.
    pub(crate) fn has_queued(&self) -> bool {
        !self.state().queue.is_empty()
    }

    /// The run is over: later commands are refused.
    pub(crate) fn close(&self) {
        self.state().place.over = true;
    }
}

/// A wait that a `go` ends, waiting while this lives (see [`Operator::wait_point`]).
pub(crate) struct WaitPoint<'a>(&'a Operator, bool);

impl Drop for WaitPoint<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.waiting = state.waiting.saturating_sub(1);
        if self.1 {
            state.waiting_played = state.waiting_played.saturating_sub(1);
        }
    }
}

fn full_queue() -> String {
    format!("{MAX_QUEUED} scenes or actions are already waiting to play; wait for them")
}

fn skipping(state: &State, id: &StepId) -> bool {
    state.skips.iter().any(|(skip, _)| skip == id)
}
