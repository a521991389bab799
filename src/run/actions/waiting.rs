//! The waiting room: `admit` lets people in, `move_to_waiting_room` sends online
//! participants there, `wait_for: { waiting }` waits for someone to be there. The
//! service has no read of the waiting room — only the meeting's push feed lists it —
//! so `admit` picks people from the feed's waiting list (everyone at once, and a
//! selector by id alone, need no list). While the feed is down, what needs the list
//! waits for it within the step's time limit; with the feed off it is refused. The
//! online list is looked at as for any other action aimed at participants.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::json;
use tokio::sync::watch;

use super::participants::{names, resolve_selector, targets_json};
use super::{ActionResult, Performed, Room};
use crate::determinism::varying;
use crate::duration::human;
use crate::meeting::feed::NotifyType;
use crate::meeting::wire::{AllowWaitingBody, BatchMoveToWaitingRoomBody, MoveToWaitingRoomBody};
use crate::meeting::{Api, Participant, Roster};
use crate::mmc::Request;
use crate::mmc::live::LiveState;
use crate::playbook::action::Targets;
use crate::playbook::wait::WaitFor;
use crate::playbook::{Selector, SelectorMatch};
use crate::run::event::Event;
use crate::run::sleep::sleep_keeping_token;
use crate::run::step::StepFailure;
use crate::yaml::Pos;

/// Most pids one batch move carries; more are moved in several calls.
const BATCH: usize = 100;

/// Lets in everyone waiting (one call), or each person the targets pick out of the
/// waiting list (one call each: the service has no batch admission).
pub(super) async fn admit(room: &mut Room<'_>, targets: &Targets) -> ActionResult {
    if targets.everyone() {
        let body = AllowWaitingBody {
            participant_id: None,
            allow_all: Some(true),
        };
        room.call(Request::call(Api::AllowWaiting, &body)).await?;
        return Ok(Performed::said(
            json!({"all": true}),
            "let everyone waiting in",
        ));
    }
    let chosen = pick_waiting(room, targets).await?;
    for person in &chosen {
        let body = AllowWaitingBody {
            participant_id: Some(person.pid.clone()),
            allow_all: None,
        };
        match room.call(Request::call(Api::AllowWaiting, &body)).await {
            Err(failure) if failure.participant_gone => {
                return Err(StepFailure::new(format!(
                    "{} is no longer in the waiting room (let in by someone else, or gone)",
                    person.name
                )));
            }
            other => other.map(|_| ())?,
        }
    }
    Ok(Performed::said(
        targets_json(&chosen),
        format!("let in {}", names(&chosen)),
    ))
}

/// Moves everyone the targets pick out of the online list: one person with the single
/// call, several with the batch call.
pub(super) async fn move_to_waiting_room(room: &mut Room<'_>, targets: &Targets) -> ActionResult {
    let mut chosen: Vec<Participant> = Vec::new();
    for who in targets.selectors() {
        for person in resolve_selector(room, who).await? {
            if !chosen.iter().any(|c| c.pid == person.pid) {
                chosen.push(person);
            }
        }
    }
    let requests: Vec<Request> = match &chosen[..] {
        [one] => vec![Request::call(
            Api::MoveToWaitingRoom,
            &MoveToWaitingRoomBody {
                participant_id: one.pid.clone(),
            },
        )],
        several => several
            .chunks(BATCH)
            .map(|chunk| {
                let body = BatchMoveToWaitingRoomBody {
                    batch_participants: chunk.iter().map(|p| p.pid.clone()).collect(),
                };
                Request::call(Api::BatchMoveToWaitingRoom, &body)
            })
            .collect(),
    };
    for request in requests {
        match room.call(request).await {
            Err(failure) if failure.participant_gone => {
                let online = room.who_is_online().await;
                return Err(StepFailure::new(format!(
                    "not everyone to move to the waiting room is online; {online}"
                )));
            }
            other => other.map(|_| ())?,
        }
    }
    Ok(Performed::said(
        targets_json(&chosen),
        format!("moved {} to the waiting room", names(&chosen)),
    ))
}

/// `wait_for: { waiting: SELECTOR }`: until someone it matches is in the waiting room,
/// looking again at every change the feed tells of (there is nothing to poll), and
/// waiting for the feed while it is down; the step fails at `timeout`.
pub(super) async fn wait_for_waiting(
    room: &mut Room<'_>,
    wait: &WaitFor,
    pos: Pos,
) -> ActionResult {
    wait.validate()
        .map_err(|e| StepFailure::new(format!("{}: wait_for: {e}", room.position(pos))))?;
    let Some(who) = &wait.waiting else {
        return Err(StepFailure::new(
            "wait_for: nothing to wait for in the waiting room",
        ));
    };
    let mut changes = room.feed_changes()?;
    let clock = Arc::clone(&room.timeline.clock);
    let started = clock.now();
    let deadline = started
        .checked_add(wait.timeout.signed())
        .unwrap_or(Timestamp::MAX);
    let mut announced = false;
    loop {
        changes.borrow_and_update();
        let waiting = room.pictured_waiting();
        if room.sink.feed.ended() {
            return Err(crate::run::feed::ended_failure());
        }
        if let Some(waiting) = &waiting {
            let found: Vec<Participant> = who.select(waiting).into_iter().cloned().collect();
            if !found.is_empty() {
                let waited = human(varying(clock.now().duration_since(started).unsigned_abs()));
                return Ok(Performed::said(
                    targets_json(&found),
                    format!("{} after {waited}", wait.describe()),
                ));
            }
        }
        let now = clock.now();
        if now >= deadline {
            let seen = waiting.as_ref().map_or_else(
                || "the meeting's feed was down".to_owned(),
                describe_waiting,
            );
            return Err(StepFailure::new(format!(
                "waited {} for {}; {seen}",
                wait.timeout,
                wait.describe()
            )));
        }
        if !announced {
            announced = true;
            room.emit(Event::Waiting {
                id: room.step.id.clone(),
                name: room.step.name.clone(),
                until: format!(
                    "{} (at the latest {})",
                    wait.describe(),
                    room.timeline.show(deadline)
                ),
                left: varying(deadline.duration_since(now).unsigned_abs()),
            });
        }
        tokio::select! {
            changed = changes.changed() => if changed.is_err() {
                return Err(StepFailure::new("the meeting's feed stopped"));
            },
            () = sleep_keeping_token(room.client, &clock, room.sink.listener, deadline) => {}
        }
    }
}

/// The people the targets pick out of the waiting list, each selector matching one
/// (or, with `all: true`, everyone it matches). A selector by id alone is taken as
/// given: the service answers for an unknown id. A selector that matches nobody while
/// the run's own last change may not show in the feed yet (someone just moved there)
/// is looked at again as the feed tells of changes, until it should show.
async fn pick_waiting(
    room: &mut Room<'_>,
    targets: &Targets,
) -> Result<Vec<Participant>, StepFailure> {
    let mut chosen: Vec<Participant> = Vec::new();
    for who in targets.selectors() {
        let found = match by_id_alone(who) {
            Some(id) => vec![Participant::by_id(id)],
            None => loop {
                let waiting = room.waiting_list().await?;
                match (choose(who, &waiting), room.sink.feed.settled_at()) {
                    (Err(_), Some(settled)) => room.next_change_before(settled).await,
                    (found, _) => break found?,
                }
            },
        };
        for person in found {
            if !chosen.iter().any(|c| c.pid == person.pid) {
                chosen.push(person);
            }
        }
    }
    Ok(chosen)
}

fn by_id_alone(who: &Selector) -> Option<&str> {
    match who {
        Selector::Match(SelectorMatch {
            id: Some(id),
            name: None,
            phone: None,
            role: None,
            ..
        }) => Some(id),
        _ => None,
    }
}

/// Who `who` matches in the waiting list: one person, or several with `all: true`.
pub(super) fn choose(who: &Selector, waiting: &Roster) -> Result<Vec<Participant>, StepFailure> {
    let found: Vec<Participant> = who.select(waiting).into_iter().cloned().collect();
    match found.len() {
        0 => Err(StepFailure::new(format!(
            "nobody in the waiting room matches `{who}`; {}",
            describe_waiting(waiting)
        ))),
        1 => Ok(found),
        _ if who.all() => Ok(found),
        n => Err(StepFailure::new(format!(
            "`{who}` matches {n} people in the waiting room: {}; select by id, or add `all: true` to let them all in",
            found
                .iter()
                .map(|p| format!("{} (pid {})", p.name, p.pid))
                .collect::<Vec<_>>()
                .join("; ")
        ))),
    }
}

/// Who is waiting, for messages: `waiting: Hana Xu, Ivan Ho`.
pub(super) fn describe_waiting(waiting: &Roster) -> String {
    if waiting.participants.is_empty() {
        return "nobody is waiting".to_owned();
    }
    let names: Vec<&str> = waiting
        .participants
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    format!("waiting: {}", names.join(", "))
}

/// The waiting list as selectors see it: everyone a guest in the meeting, known by
/// id, name and number (the feed gives no more of people waiting).
fn as_roster(waiting: Vec<crate::mmc::picture::Waiting>) -> Roster {
    Roster {
        participants: waiting
            .into_iter()
            .map(|person| Participant {
                name: person.name,
                phone: person.phone,
                ..Participant::by_id(&person.pid)
            })
            .collect(),
        arriving: Vec::new(),
    }
}

impl Room<'_> {
    /// Every change of the feed's picture and health; refused when the run does not
    /// use the feed.
    fn feed_changes(&mut self) -> Result<watch::Receiver<LiveState>, StepFailure> {
        match self.sink.feed.subscribe() {
            Some(changes) => Ok(changes),
            // Not started though wanted: the API has not given a token yet.
            None if self.sink.feed.wanted() => Err(StepFailure::new(
                "the waiting room is listed only by the meeting's push feed, which is not open yet",
            )),
            None => Err(StepFailure::new(
                "the waiting room is listed only by the meeting's push feed, and this run does not use it (`events: off`, `--events off`, or a `--fast-forward` rehearsal)",
            )),
        }
    }

    /// The waiting list from the feed's picture, while the feed is up and its waiting
    /// list has come.
    fn pictured_waiting(&mut self) -> Option<Roster> {
        self.note_feed();
        self.sink
            .feed
            .picture()
            .filter(|picture| picture.knows(NotifyType::WaitingList))
            .map(|picture| as_roster(picture.waiting()))
    }

    /// Until the feed tells of a change, or `until`.
    async fn next_change_before(&mut self, until: Timestamp) {
        let Ok(mut changes) = self.feed_changes() else {
            return;
        };
        let clock = Arc::clone(&self.timeline.clock);
        tokio::select! {
            _ = changes.changed() => {}
            () = clock.sleep_until(until) => {}
        }
    }

    /// Who is in the waiting room now. While the feed is down (or its waiting list has
    /// not come yet) this waits for it, saying so once: the step's time limit ends the
    /// wait.
    pub(super) async fn waiting_list(&mut self) -> Result<Roster, StepFailure> {
        let mut changes = self.feed_changes()?;
        let mut announced = false;
        loop {
            changes.borrow_and_update();
            if let Some(waiting) = self.pictured_waiting() {
                return Ok(waiting);
            }
            if !announced {
                announced = true;
                let left = self
                    .step
                    .limit
                    .at()
                    .map(|at| at.saturating_duration_since(tokio::time::Instant::now()))
                    .unwrap_or_default();
                let until = self
                    .timeline
                    .clock
                    .now()
                    .checked_add(left)
                    .unwrap_or(Timestamp::MAX);
                self.emit(Event::Waiting {
                    id: self.step.id.clone(),
                    name: self.step.name.clone(),
                    until: format!(
                        "the meeting's feed, which lists the waiting room (at the latest {})",
                        self.timeline.show(until)
                    ),
                    left: varying(left),
                });
            }
            if changes.changed().await.is_err() {
                return Err(StepFailure::new("the meeting's feed stopped"));
            }
        }
    }
}
