//! What each action does against the API, given a [`Room`]: the few things of the run
//! an action may use. The executor builds a room for each step and calls [`perform`];
//! this file turns an action into its handler, and the handlers live by concern:
//! people picked by a selector in `participants.rs`, mass changes that read the list
//! back in `mass.rs`, waits in `waits.rs`, calls about the meeting as a whole in
//! `meeting.rs`, and what never calls the API (`set`, `log`, `assert`) in `local.rs`.

use std::sync::Arc;

use serde_json::Value;

use super::event::{Event, Listener};
use super::feed::RunFeed;
use super::retry::send_with_retry;
use super::step::{StepCtx, StepFailure, Timeline};
use crate::meeting::wire::{CohostBody, MuteBody};
use crate::meeting::{Api, Roster};
use crate::mmc::{Client, Request, Response};
use crate::node::Node;
use crate::playbook::action::Action;
use crate::source::SourceFile;
use crate::template::{Context, Engine, TemplateError};
use crate::yaml::{Pos, Spanned};

mod local;
mod mass;
mod meeting;
mod participants;
mod waiting;
mod waits;

/// What an action gives back: its output (which `register` keeps) and the detail line
/// that says what it did.
#[derive(Debug)]
pub(crate) struct Performed {
    pub(crate) output: Value,
    pub(crate) detail: Option<String>,
}

impl Performed {
    fn said(output: Value, detail: impl Into<String>) -> Performed {
        Performed {
            output,
            detail: Some(detail.into()),
        }
    }
}

/// An action's result: what it did, or why its step failed.
pub(crate) type ActionResult = Result<Performed, StepFailure>;

/// Where an action's events go: the run's listener, its count of retries, which each
/// retry of the step adds to, and the meeting's push feed, whose health changes are
/// reported as the action looks at it.
pub(crate) struct Sink<'r> {
    listener: &'r mut dyn Listener,
    retries: &'r mut u32,
    feed: &'r mut RunFeed,
    /// The operator, whose `go` ends a wait.
    operator: Option<&'r super::operator::Operator>,
    /// The step is one an operator played: a `go` that ends its wait lets no step
    /// start while the run is held.
    played: bool,
}

impl<'r> Sink<'r> {
    pub(crate) fn new(
        listener: &'r mut dyn Listener,
        retries: &'r mut u32,
        feed: &'r mut RunFeed,
    ) -> Sink<'r> {
        Sink {
            listener,
            retries,
            feed,
            operator: None,
            played: false,
        }
    }

    /// Waits end early on this operator's `go`; `played`: the step is one the operator
    /// played.
    pub(crate) fn operator(
        self,
        operator: Option<&'r super::operator::Operator>,
        played: bool,
    ) -> Sink<'r> {
        Sink {
            operator,
            played,
            ..self
        }
    }
}

/// What an action may use of the run: the API client, the templates and variables,
/// the run's time, the file the step is written in (for messages), where its events
/// go, and the step itself (its id and name, retry policy and time limit).
pub(crate) struct Room<'r> {
    client: &'r Arc<Client>,
    engine: &'r Engine,
    vars: &'r mut Context,
    timeline: &'r Timeline,
    file: &'r SourceFile,
    sink: Sink<'r>,
    step: &'r mut StepCtx,
}

impl<'r> Room<'r> {
    pub(crate) fn new(
        client: &'r Arc<Client>,
        engine: &'r Engine,
        vars: &'r mut Context,
        timeline: &'r Timeline,
        file: &'r SourceFile,
        sink: Sink<'r>,
        step: &'r mut StepCtx,
    ) -> Room<'r> {
        Room {
            client,
            engine,
            vars,
            timeline,
            file,
            sink,
            step,
        }
    }

    fn emit(&mut self, event: Event) {
        self.sink.listener.on(&event);
    }

    /// Where `pos` is, as messages say it.
    fn position(&self, pos: Pos) -> String {
        format!("{}:{}:{}", self.file.name(), pos.line, pos.column)
    }

    /// A template error as a failure that says where it is.
    fn template_failure(&self, error: TemplateError) -> StepFailure {
        StepFailure::new(format!("{}: {}", self.position(error.pos), error.message))
    }

    /// One API call, retried on transient failures as the step's policy says; each
    /// retry is shown as it happens, before its wait. A call that may change the
    /// meeting (any but a GET) is noted: the feed's picture may not show it yet.
    async fn call(&mut self, request: Request) -> Result<Response, StepFailure> {
        let client = Arc::clone(self.client);
        let clock = Arc::clone(&self.timeline.clock);
        let spec = self.step.retry;
        let deadline = self.step.limit.at();
        let changes = request.method != reqwest::Method::GET;
        let result = send_with_retry(&client, &request, &spec, &clock, deadline, |note| {
            self.count_retry(note);
        })
        .await;
        if changes {
            self.sink.feed.note_change();
        }
        result
    }

    /// A retry of this step: counted for the step and the run, and reported.
    fn count_retry(&mut self, note: super::retry::RetryNote) {
        self.step.retries += 1;
        *self.sink.retries += 1;
        let event = note.event(self.step.id.clone(), self.step.name.clone());
        self.emit(event);
    }

    /// Who is online now, read over the API.
    async fn read_roster(&mut self) -> Result<Roster, StepFailure> {
        let response = self.call(Request::to(Api::RealTimeInfo)).await?;
        Roster::parse(&response.body).map_err(StepFailure::new)
    }

    /// Who is online: from the feed's picture while it is up, else read.
    async fn roster(&mut self) -> Result<Roster, StepFailure> {
        match self.pictured() {
            Some(roster) => Ok(roster),
            None => self.read_roster().await,
        }
    }

    /// Who is online, for what looks at the meeting's state: from the picture while
    /// the feed is up and the run's own last change has had time to show in it, else
    /// read (see `run::feed`).
    async fn current_roster(&mut self) -> Result<Roster, StepFailure> {
        self.note_feed();
        match self.sink.feed.settled_roster() {
            Some(roster) => Ok(roster),
            None => self.read_roster().await,
        }
    }

    /// The online list from the feed's picture, while it is up.
    fn pictured(&mut self) -> Option<Roster> {
        self.note_feed();
        self.sink.feed.roster()
    }

    /// Reports the feed's health changes heard since last time.
    /// Emits the operator's commands taken or refused since the last look: a long
    /// wait shows and journals them as they come, not when it ends.
    fn note_commands(&mut self) {
        let Some(operator) = self.sink.operator else {
            return;
        };
        for record in operator.take_records() {
            self.emit(record.event(self.timeline));
        }
    }

    fn note_feed(&mut self) {
        for (at, turn) in self.sink.feed.heard() {
            let at = self.timeline.show(at);
            self.emit(turn.event(at));
        }
    }

    /// Who is online, for the message of a call that failed because someone was not:
    /// empty when even the list cannot be read (the call's own failure is what matters).
    async fn who_is_online(&mut self) -> String {
        self.roster()
            .await
            .map(|r| r.describe())
            .unwrap_or_default()
    }

    /// How far a change to many people has got.
    fn progress(&mut self, what: &'static str, done: usize, total: usize) {
        let event = Event::Progress {
            id: self.step.id.clone(),
            name: self.step.name.clone(),
            what,
            done,
            total,
        };
        self.emit(event);
    }
}

/// Performs the action `name` with the arguments `args`, rendered here (except those
/// of `assert`, which are expressions evaluated as it runs).
pub(crate) async fn perform(
    room: &mut Room<'_>,
    name: &'static str,
    args: &Spanned<Node>,
) -> ActionResult {
    let rendered = if name == "assert" {
        args.to_json()
    } else {
        room.engine
            .render_node(args, room.vars)
            .map_err(|e| room.template_failure(e))?
    };
    let action = Action::from_parts(name, rendered).map_err(|(path, message)| {
        let pos = Node::pos_at(args, &path);
        StepFailure::new(format!("{}: {name}: {message}", room.position(pos)))
    })?;
    match action {
        Action::Broadcast(who) => {
            participants::act_on_one(room, &who, Request::to(Api::Broadcast), "broadcasting").await
        }
        Action::RollCall(who) => {
            participants::act_on_one(room, &who, Request::to(Api::RollCall), "roll call for").await
        }
        Action::SetHost(who) => participants::set_host(room, &who).await,
        Action::SetCohost(who) => {
            let body = CohostBody {
                is_cohost: true.into(),
            };
            participants::act_on_one(room, &who, Request::call(Api::Cohost, &body), "co-host:")
                .await
        }
        Action::UnsetCohost(who) => {
            let body = CohostBody {
                is_cohost: false.into(),
            };
            let request = Request::call(Api::Cohost, &body);
            participants::act_on_one(room, &who, request, "no longer co-host:").await
        }
        Action::RaiseHand(who) => mass::hands(room, &who, true).await,
        Action::LowerHand(who) => mass::hands(room, &who, false).await,
        Action::Mute(who) => {
            let body = MuteBody {
                is_mute: true.into(),
            };
            participants::act_on_each(room, &who, Request::call(Api::Mute, &body), "muted").await
        }
        Action::Unmute(who) => {
            let body = MuteBody {
                is_mute: false.into(),
            };
            participants::act_on_each(room, &who, Request::call(Api::Mute, &body), "unmuted").await
        }
        Action::HangUp(who) => participants::hang_up(room, &who).await,
        Action::Rename(rename) => participants::rename(room, &rename).await,
        Action::Participants(filter) => participants::list(room, &filter).await,
        Action::LowerAllHands(_) => mass::lower_all_hands(room).await,
        Action::MuteAll(args) => mass::mute_all(room, args.allow_self_unmute).await,
        Action::UnmuteAll(_) => meeting::unmute_all(room).await,
        Action::AllowSelfUnmute(allow) => meeting::allow_self_unmute(room, allow).await,
        Action::CancelBroadcast(_) => meeting::cancel_broadcast(room).await,
        Action::Lock(_) => meeting::lock(room, true).await,
        Action::Unlock(_) => meeting::lock(room, false).await,
        Action::StartRecording(_) => meeting::record(room, true).await,
        Action::StopRecording(_) => meeting::record(room, false).await,
        Action::StartLive(_) => meeting::live(room, true).await,
        Action::StopLive(_) => meeting::live(room, false).await,
        Action::EndMeeting(_) => meeting::end(room).await,
        Action::Extend(extend) => meeting::extend(room, &extend).await,
        Action::Invite(invite) => meeting::invite(room, &invite).await,
        Action::Admit(targets) => waiting::admit(room, &targets).await,
        Action::MoveToWaitingRoom(targets) => waiting::move_to_waiting_room(room, &targets).await,
        Action::Http(http) => meeting::http(room, http).await,
        Action::Wait(wait) => waits::wait(room, &wait, args.pos).await,
        Action::WaitFor(wait_for) if wait_for.waiting.is_some() => {
            waiting::wait_for_waiting(room, &wait_for, args.pos).await
        }
        Action::WaitFor(wait_for) => waits::wait_for(room, &wait_for, args.pos).await,
        Action::Log(log) => local::log(room, &log),
        Action::Assert(assert) => local::assert(room, &assert, args.pos),
        Action::Set(values) => local::set(room, values),
        Action::Include(_) => Err(StepFailure::new(format!(
            "{}: include was not resolved when the playbook was loaded",
            room.position(args.pos)
        ))),
    }
}
