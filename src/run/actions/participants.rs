//! Actions on people picked by a selector. A selector is resolved against the online
//! list (by id alone it goes straight to the call, the API answering for an unknown
//! id); an action for one person names them, and a change to several is made for each
//! in turn, a few calls at once, since the API has no batch call for it.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{ActionResult, Performed, Room};
use secrecy::ExposeSecret;

use crate::meeting::wire::{HangUpBody, RenameBody, SetRoleBody};
use crate::meeting::{Api, Participant};
use crate::mmc::Request;
use crate::playbook::action::{ParticipantFilter, Rename};
use crate::playbook::{Selector, SelectorMatch};
use crate::run::retry::{RetryNote, send_with_retry};
use crate::run::step::StepFailure;

/// Calls made at once when the API has no batch call for a change to many people.
pub(crate) const FANOUT: usize = 4;

/// Who a selector means. A selector by id alone goes straight to the call (the API
/// answers for an unknown id); anything else is matched against the online list.
pub(super) async fn resolve_selector(
    room: &mut Room<'_>,
    who: &Selector,
) -> Result<Vec<Participant>, StepFailure> {
    if let Selector::Match(SelectorMatch {
        id: Some(id),
        name: None,
        phone: None,
        role: None,
        ..
    }) = who
    {
        return Ok(vec![Participant::by_id(id)]);
    }
    let (mut roster, pictured) = match room.pictured() {
        Some(roster) => (roster, true),
        None => (room.read_roster().await?, false),
    };
    let mut found: Vec<Participant> = who.select(&roster).into_iter().cloned().collect();
    if found.is_empty() && pictured {
        // Someone may have joined, or been renamed, a moment before the feed said so:
        // one read before the step fails.
        roster = room.read_roster().await?;
        found = who.select(&roster).into_iter().cloned().collect();
    }
    match found.len() {
        0 => Err(StepFailure::new(format!(
            "no participant matches `{who}`; {}",
            who.nobody(&roster)
        ))),
        1 => Ok(found),
        _ if who.all() => Ok(found),
        n => {
            let listed: Vec<String> = found
                .iter()
                .map(|p| format!("{} ({}, pid {})", p.name, p.phone, p.pid))
                .collect();
            Err(StepFailure::new(format!(
                "`{who}` matches {n} participants: {}; select by id or phone, or add `all: true` to act on all of them",
                listed.join("; ")
            )))
        }
    }
}

/// A selector that must name exactly one person.
async fn resolve_one(room: &mut Room<'_>, who: &Selector) -> Result<Participant, StepFailure> {
    let mut found = resolve_selector(room, who).await?;
    if found.len() > 1 {
        return Err(StepFailure::new(format!(
            "this action takes one participant, but `{who}` matches {}",
            found.len()
        )));
    }
    Ok(found.remove(0))
}

/// A call aimed at one participant; an unknown id is reported with who is online.
pub(super) async fn call_on_participant(
    room: &mut Room<'_>,
    request: Request,
    target: &Participant,
) -> Result<(), StepFailure> {
    match room.call(request).await {
        Err(failure) if failure.participant_gone => {
            let online = room.who_is_online().await;
            // Named by id (`{id: …}`, the console), it was never looked up by name.
            let who = if target.name == target.pid {
                format!("no participant online has the id `{}`", target.pid)
            } else {
                format!("participant {} is not online", target.name)
            };
            Err(StepFailure::new(format!("{who}; {online}")))
        }
        other => other.map(|_| ()),
    }
}

/// `request` for the one person `who` names; the detail says `verb` and who.
pub(super) async fn act_on_one(
    room: &mut Room<'_>,
    who: &Selector,
    request: Request,
    verb: &str,
) -> ActionResult {
    let target = resolve_one(room, who).await?;
    let request = request.participant(&target.pid);
    call_on_participant(room, request, &target).await?;
    Ok(Performed::said(
        json!({"pid": target.pid, "name": target.name}),
        format!("{verb} {}", target.name),
    ))
}

/// `request` for each person `who` matches: for several, a fan-out.
pub(super) async fn act_on_each(
    room: &mut Room<'_>,
    who: &Selector,
    request: Request,
    verb: &'static str,
) -> ActionResult {
    let targets = resolve_selector(room, who).await?;
    if let [target] = &targets[..] {
        let request = request.participant(&target.pid);
        call_on_participant(room, request, target).await?;
        return Ok(Performed::said(
            targets_json(&targets),
            format!("{verb} {}", target.name),
        ));
    }
    let done = fan_out(room, &targets, &request, verb).await;
    room.sink.feed.note_change();
    done?;
    Ok(Performed::said(
        targets_json(&targets),
        format!("{verb} {}", names(&targets)),
    ))
}

/// The same call for each of `targets`: several at once (at most [`FANOUT`]). The rate
/// limit and the retry policy apply to each; the first failure stops the rest.
async fn fan_out(
    room: &mut Room<'_>,
    targets: &[Participant],
    request: &Request,
    verb: &'static str,
) -> Result<(), StepFailure> {
    let total = targets.len();
    // One call each, at the rate limit: the step's inherited time limit grows by as
    // long as that takes, so that a fan-out over hundreds can finish.
    if let Some(paced) = crate::plan::timeline::crowd::fan_out_time(total, room.client.rate_limit())
    {
        room.step.limit.extend_default(paced.unsigned_abs());
    }
    let permits = Arc::new(tokio::sync::Semaphore::new(FANOUT));
    let (notes, mut heard) = tokio::sync::mpsc::unbounded_channel::<RetryNote>();
    let mut tasks = tokio::task::JoinSet::new();
    for target in targets {
        let (client, clock, permits, notes) = (
            Arc::clone(room.client),
            Arc::clone(&room.timeline.clock),
            Arc::clone(&permits),
            notes.clone(),
        );
        let (request, spec, deadline, name) = (
            request.clone().participant(&target.pid),
            room.step.retry,
            room.step.limit.at(),
            target.name.clone(),
        );
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let result = send_with_retry(&client, &request, &spec, &clock, deadline, |note| {
                let _ = notes.send(note);
            })
            .await;
            (name, result)
        });
    }
    drop(notes);
    let mut done = 0;
    loop {
        tokio::select! {
            Some(note) = heard.recv() => room.count_retry(note),
            finished = tasks.join_next() => match finished {
                None => return Ok(()),
                Some(Ok((_, Ok(_)))) => {
                    done += 1;
                    room.progress(verb, done, total);
                }
                Some(Ok((name, Err(failure)))) => {
                    tasks.abort_all();
                    return Err(StepFailure { message: format!("{name}: {}", failure.message), ..failure });
                }
                Some(Err(error)) => {
                    tasks.abort_all();
                    return Err(StepFailure::new(format!("a call was lost: {error}")));
                }
            },
        }
    }
}

/// Makes the one person `who` names the host. The service hands the role over only
/// with the host password as `chairmanPwd`, so a run with a given token cannot.
pub(super) async fn set_host(room: &mut Room<'_>, who: &Selector) -> ActionResult {
    let Some(password) = room.client.host_password() else {
        return Err(StepFailure::new(
            "set_host: the service takes the host role only with the host password (as chairmanPwd), and this run has a token instead; give `meeting.host_password`",
        ));
    };
    let body = SetRoleBody {
        apply_chair: true.into(),
        chairman_pwd: Some(password.expose_secret().to_owned()),
    };
    act_on_one(room, who, Request::call(Api::Role, &body), "host is now").await
}

/// Hangs up on everyone `who` matches, in one call.
pub(super) async fn hang_up(room: &mut Room<'_>, who: &Selector) -> ActionResult {
    let targets = resolve_selector(room, who).await?;
    let body = HangUpBody {
        bulk_hang_up_participants: targets.iter().map(|t| t.pid.clone()).collect(),
    };
    match room.call(Request::call(Api::HangUp, &body)).await {
        Err(failure) if failure.participant_gone => {
            let online = room.who_is_online().await;
            Err(StepFailure::new(format!(
                "not everyone to hang up is online; {online}"
            )))
        }
        other => other.map(|_| ()),
    }?;
    Ok(Performed::said(
        targets_json(&targets),
        format!("hung up {}", names(&targets)),
    ))
}

/// Gives the one person `rename.who` names a new display name.
pub(super) async fn rename(room: &mut Room<'_>, rename: &Rename) -> ActionResult {
    let target = resolve_one(room, &rename.who).await?;
    let body = RenameBody {
        participant_id: Some(target.pid.clone()),
        number: target.phone.clone(),
        new_name: rename.to.clone(),
    };
    room.call(Request::call(Api::Rename, &body)).await?;
    Ok(Performed::said(
        json!({"pid": target.pid, "name": rename.to}),
        format!("{} is now {}", target.name, rename.to),
    ))
}

/// The online list, filtered. With `hand: true`, those with a hand up come in the
/// order the hands went up, as far as the push feed knows it (`order_known`).
pub(super) async fn list(room: &mut Room<'_>, filter: &ParticipantFilter) -> ActionResult {
    let roster = room.current_roster().await?;
    let name = filter.name.as_deref().map(crate::playbook::fold_name);
    let selected: Vec<&Participant> = roster
        .participants
        .iter()
        .filter(|p| {
            name.as_ref()
                .is_none_or(|n| crate::playbook::fold_name(&p.name) == *n)
                && filter.role.is_none_or(|r| p.role == r.to_string())
                && filter.hand.is_none_or(|h| p.hand == h)
                && filter.mute.is_none_or(|m| p.mute == m)
                && filter.video.is_none_or(|v| p.video == v)
        })
        .collect();
    let count = selected.len();
    let output = if filter.hand == Some(true) {
        let hands = room
            .sink
            .feed
            .picture()
            .map(|p| p.hands())
            .unwrap_or_default();
        Value::Array(in_raise_order(selected, &hands))
    } else {
        serde_json::to_value(&selected).unwrap_or(Value::Null)
    };
    Ok(Performed::said(
        output,
        format!("{count} of {} online", roster.participants.len()),
    ))
}

/// Those listed with a hand up, in the order of `hands` (the feed's, earliest first),
/// each saying whether its place in that order is known; anyone the feed does not
/// know of comes last, in list order, its order not known.
fn in_raise_order(
    listed: Vec<&Participant>,
    hands: &[crate::mmc::picture::RaisedHand],
) -> Vec<Value> {
    let place = |p: &Participant| hands.iter().position(|h| h.pid == p.pid);
    let mut listed: Vec<(Option<usize>, &Participant)> =
        listed.into_iter().map(|p| (place(p), p)).collect();
    // Stable: those the feed does not know keep the list's order, after the rest.
    listed.sort_by_key(|(place, _)| place.unwrap_or(usize::MAX));
    listed
        .into_iter()
        .map(|(place, p)| {
            let mut value = serde_json::to_value(p).unwrap_or(Value::Null);
            let known = place.is_some_and(|i| hands[i].order_known);
            if let Value::Object(map) = &mut value {
                map.insert("order_known".into(), Value::Bool(known));
            }
            value
        })
        .collect()
}

/// Who was acted on, as the detail line names them.
pub(super) fn names(targets: &[Participant]) -> String {
    match targets {
        [] => "nobody".into(),
        [target] => target.name.clone(),
        many if many.len() <= 3 => many
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        many => format!("{} participants", many.len()),
    }
}

/// Who was acted on, as the output `register` keeps.
pub(super) fn targets_json(targets: &[Participant]) -> Value {
    Value::Array(
        targets
            .iter()
            .map(|t| json!({"pid": t.pid, "name": t.name}))
            .collect(),
    )
}
