//! The waiting room: `admit` lets people in, `move_to_waiting_room` sends online
//! participants there. The service has no read of the waiting room — only the
//! meeting's feed lists it — so `admit` picks people from the feed's waiting list
//! (everyone at once, and a selector by id alone, need no list); the online list is
//! read as for any other action aimed at participants.

use serde_json::json;

use super::participants::{names, resolve_selector, targets_json};
use super::{ActionResult, Performed, Room};
use crate::meeting::wire::{AllowWaitingBody, BatchMoveToWaitingRoomBody, MoveToWaitingRoomBody};
use crate::meeting::{Api, Participant, Roster};
use crate::mmc::Request;
use crate::playbook::action::Targets;
use crate::playbook::wait::WaitFor;
use crate::playbook::{Selector, SelectorMatch};
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

/// `wait_for: { waiting: SELECTOR }`: until someone it matches is in the waiting room.
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
    let waiting = room.waiting_list().await?;
    let found: Vec<Participant> = who.select(&waiting).into_iter().cloned().collect();
    if found.is_empty() {
        return Err(StepFailure::new(format!(
            "{} did not come; {}",
            wait.describe(),
            describe_waiting(&waiting)
        )));
    }
    Ok(Performed::said(targets_json(&found), wait.describe()))
}

/// The people the targets pick out of the waiting list, each selector matching one
/// (or, with `all: true`, everyone it matches). A selector by id alone is taken as
/// given: the service answers for an unknown id.
async fn pick_waiting(
    room: &mut Room<'_>,
    targets: &Targets,
) -> Result<Vec<Participant>, StepFailure> {
    let mut list: Option<Roster> = None;
    let mut chosen: Vec<Participant> = Vec::new();
    for who in targets.selectors() {
        let found = match by_id_alone(who) {
            Some(id) => vec![Participant::by_id(id)],
            None => {
                let waiting = match list.take() {
                    Some(read) => read,
                    None => room.waiting_list().await?,
                };
                let found = choose(who, &waiting)?;
                list = Some(waiting);
                found
            }
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

impl Room<'_> {
    /// Who is in the waiting room now, as a list selectors can match (guests, in the
    /// meeting's sense of the word). Only the meeting's feed tells.
    pub(super) async fn waiting_list(&mut self) -> Result<Roster, StepFailure> {
        Err(StepFailure::new(
            "the waiting room is listed only by the meeting's feed, which this run does not open: name the person by `id`, or let everyone in with `{all: true}`",
        ))
    }
}
