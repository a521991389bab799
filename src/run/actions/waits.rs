//! Waiting in a step: `wait` for a while or until a time, and `wait_for` someone to
//! join, a headcount, a hand, or an expression over the online list until the step's
//! own `timeout`; and an invitation's wait for its callees to answer. While the
//! meeting's push feed is up the waits look again at every change it tells of, and
//! return at once when what they wait for holds; while it is down they read the list
//! every `poll`.

use serde_json::json;

use super::{ActionResult, Performed, Room};
use crate::determinism::varying;
use crate::meeting::Roster;
use crate::meeting::roster::IN_MEETING;
use crate::playbook::action::Invite;
use crate::playbook::wait::{HandRaised, Wait, WaitFor};
use crate::run::event::Event;
use crate::run::sleep::sleep_keeping_token;
use crate::run::step::StepFailure;
use crate::yaml::Pos;

/// Waits on the run's clock until `at`, keeping the token alive; the push feed going
/// down or coming back meanwhile, and every operator command, are reported as they
/// happen. Ends early when the feed says the meeting has ended: nothing is left to
/// wait for; and, when `go` ends it, on an operator's `go`: `Some(user)`.
async fn sleep_until(room: &mut Room<'_>, at: jiff::Timestamp, go: bool) -> Option<String> {
    let clock = std::sync::Arc::clone(&room.timeline.clock);
    let ended = crate::run::feed::until_ended(room.sink.feed.subscribe());
    tokio::pin!(ended);
    let commands = room.sink.operator;
    let operator = commands.filter(|_| go);
    // A `go` given before the wait began is for it.
    let played = room.sink.played;
    if let Some(user) = operator.and_then(|o| o.take_go(played)) {
        return Some(user);
    }
    loop {
        // Made before the commands are looked at, so that none slips between.
        let mut heard = std::pin::pin!(commands.map(|o| o.changed()));
        if let Some(heard) = heard.as_mut().as_pin_mut() {
            heard.enable();
        }
        room.note_commands();
        tokio::select! {
            () = sleep_keeping_token(room.client, &clock, room.sink.listener, at) => return None,
            () = &mut ended => return None,
            user = async { operator.expect("guarded").go(played).await }, if operator.is_some() => {
                room.note_commands();
                return Some(user);
            }
            () = room.sink.feed.turned() => {}
            () = async { heard.as_mut().as_pin_mut().expect("guarded").await }, if commands.is_some() => {}
        }
        room.note_feed();
    }
}

/// A wait an operator's `go` ended: the step finishes ok, and its output says so.
fn cut_short(
    room: &Room<'_>,
    user: &str,
    started: jiff::Timestamp,
    output: Option<serde_json::Value>,
) -> ActionResult {
    let waited = crate::duration::human(varying(
        room.timeline
            .clock
            .now()
            .duration_since(started)
            .unsigned_abs(),
    ));
    let mut result = json!({"cut_short": true});
    if let Some(output) = output {
        result["participants"] = output;
    }
    Ok(Performed::said(
        result,
        format!("cut short by {user} after {waited}"),
    ))
}

pub(super) async fn wait(room: &mut Room<'_>, wait: &Wait, pos: Pos) -> ActionResult {
    let timeline = room.timeline;
    let now = timeline.clock.now();
    let what = match wait {
        Wait::For(duration) => format!("waited {duration}"),
        Wait::Until(_) => String::new(),
    };
    // Paused by a scene: it goes on until where the pause left it.
    let (until, started, what) = match (room.step.paused, wait) {
        (Some(paused), Wait::For(_)) => (paused.until, paused.started, what),
        (Some(paused), Wait::Until(_)) => (
            paused.until,
            paused.started,
            format!("waited until {}", timeline.show(paused.until)),
        ),
        (None, Wait::For(duration)) => (
            now.checked_add(duration.signed())
                .unwrap_or(jiff::Timestamp::MAX),
            now,
            what,
        ),
        (None, Wait::Until(cue)) => {
            let at = timeline
                .resolve(cue, room.client.first_token())
                .map_err(|e| StepFailure::new(format!("{}: {e}", room.position(pos))))?;
            if at <= now {
                return Ok(Performed::said(
                    json!({}),
                    format!("{cue} had already passed"),
                ));
            }
            (at, now, format!("waited until {}", timeline.show(at)))
        }
    };
    room.step.paused = Some(crate::run::step::Paused {
        until,
        started,
        extend: matches!(wait, Wait::For(_)),
    });
    if until > now {
        room.emit(Event::Waiting {
            id: room.step.id.clone(),
            name: room.step.name.clone(),
            until: timeline.show(until),
            left: varying(until.duration_since(now).unsigned_abs()),
        });
    }
    let cut = sleep_until(room, until, true).await;
    if room.sink.feed.ended() {
        return Err(crate::run::feed::ended_failure());
    }
    if let Some(user) = cut {
        return cut_short(room, &user, started, None);
    }
    Ok(Performed::said(json!({}), what))
}

pub(super) async fn wait_for(room: &mut Room<'_>, wait: &WaitFor, pos: Pos) -> ActionResult {
    wait.validate()
        .map_err(|e| StepFailure::new(format!("{}: wait_for: {e}", room.position(pos))))?;
    let timeline = room.timeline;
    let clock = &timeline.clock;
    // Paused by a scene: it keeps its deadline.
    let (started, deadline) = match room.step.paused {
        Some(paused) => (paused.started, paused.until),
        None => {
            let started = clock.now();
            let deadline = started
                .checked_add(wait.timeout.signed())
                .unwrap_or(jiff::Timestamp::MAX);
            (started, deadline)
        }
    };
    room.step.paused = Some(crate::run::step::Paused {
        until: deadline,
        started,
        extend: false,
    });
    let mut announced = false;
    let mut changes = room.sink.feed.subscribe();
    loop {
        // Seen before looking, so a change from now on wakes the wait.
        if let Some(changes) = &mut changes {
            changes.borrow_and_update();
        }
        let roster = room.current_roster().await?;
        if room.sink.feed.ended() {
            return Err(crate::run::feed::ended_failure());
        }
        if satisfied(room, wait, &roster, pos)? {
            let waited =
                crate::duration::human(varying(clock.now().duration_since(started).unsigned_abs()));
            return Ok(Performed::said(
                roster.as_json(),
                format!("{} after {waited}", wait.describe()),
            ));
        }
        let now = clock.now();
        if now >= deadline {
            return Err(StepFailure::new(format!(
                "waited {} for {}; {} ({} online)",
                wait.timeout,
                wait.describe(),
                roster.describe(),
                roster.participants.len()
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
                    timeline.show(deadline)
                ),
                left: varying(deadline.duration_since(now).unsigned_abs()),
            });
        }
        let next = now
            .checked_add(wait.poll.signed())
            .unwrap_or(deadline)
            .min(deadline);
        if let Some(user) = wait_for_change(room, &mut changes, next, deadline, true).await {
            return cut_short(room, &user, started, Some(roster.as_json()));
        }
    }
}

/// Waits until the feed's picture or health changes, or until `deadline`, while the
/// feed is up; while it is down, until `next` (the next poll) or its return; while the
/// run's own last change may not show in the picture yet, until the next push (which
/// shows it) or the end of that distrust. The clock's wait is the run's own, which keeps
/// the token alive and moves virtual time. With `go`, an operator's `go` ends it:
/// `Some(user)`.
async fn wait_for_change(
    room: &mut Room<'_>,
    changes: &mut Option<tokio::sync::watch::Receiver<crate::mmc::live::LiveState>>,
    next: jiff::Timestamp,
    deadline: jiff::Timestamp,
    go: bool,
) -> Option<String> {
    let Some(changes) = changes.as_mut() else {
        return sleep_until(room, next, go).await;
    };
    let up = room.sink.feed.picture().is_some();
    let until = match room.sink.feed.settled_at() {
        // Down: the next poll, or the feed's return, whichever comes first.
        _ if !up => next,
        // The picture may not show the run's own change yet: look again at the next
        // push (which shows it), or when the distrust ends, reading.
        Some(settled) => settled.min(deadline),
        None => deadline,
    };
    tokio::select! {
        // A closed channel (the feed stopped) only ends this wait: the next look reads.
        _ = changes.changed() => None,
        cut = sleep_until(room, until, go) => cut,
    }
}

/// Whether what `wait` waits for holds for `roster`.
fn satisfied(
    room: &Room<'_>,
    wait: &WaitFor,
    roster: &Roster,
    pos: Pos,
) -> Result<bool, StepFailure> {
    if let Some(who) = &wait.joined {
        return Ok(!who.select(roster).is_empty());
    }
    if let Some(count) = wait.count {
        return Ok(count.holds(roster.participants.len()));
    }
    if let Some(hand) = &wait.hand_raised {
        return Ok(match hand {
            HandRaised::Anyone => roster.participants.iter().any(|p| p.hand),
            HandRaised::Who(who) => who.select(roster).iter().any(|p| p.hand),
        });
    }
    let condition = wait.condition.as_deref().unwrap_or("false");
    let mut vars = room.vars.clone();
    vars.set("participants", roster.as_json());
    let value = room
        .engine
        .eval(condition, pos, &vars)
        .map_err(|e| room.template_failure(e))?;
    Ok(value.is_true())
}

/// How often an invitation's wait reads the list: callees answer within seconds.
const ANSWER_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// After the invite call: waits until every callee is in the meeting (`state` 0),
/// reading the list every [`ANSWER_POLL`] until the invite's `timeout` (or the step's
/// time limit). A callee who leaves the list without joining failed: the list does not
/// say why (busy, rejected or no answer).
pub(super) async fn answered(room: &mut Room<'_>, invite: &Invite) -> ActionResult {
    let clock = std::sync::Arc::clone(&room.timeline.clock);
    let started = clock.now();
    let timeout = invite
        .timeout
        .map(crate::duration::Duration::std)
        .or_else(|| room.step.limit.length())
        .unwrap_or(DEFAULT_ANSWER_TIMEOUT);
    let deadline = started
        .checked_add(jiff::SignedDuration::try_from(timeout).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(jiff::Timestamp::MAX);
    let mut announced = false;
    let mut changes = room.sink.feed.subscribe();
    loop {
        if let Some(changes) = &mut changes {
            changes.borrow_and_update();
        }
        let roster = room.current_roster().await?;
        if room.sink.feed.ended() {
            return Err(crate::run::feed::ended_failure());
        }
        let mut ringing = Vec::new();
        let mut gone = Vec::new();
        for person in &invite.people {
            match roster
                .everyone()
                .find(|p| p.phone == person.phone || (p.phone.is_empty() && p.name == person.name))
            {
                Some(p) if p.state == IN_MEETING => {}
                Some(_) => ringing.push(person.name.as_str()),
                None => gone.push(person.name.as_str()),
            }
        }
        if !gone.is_empty() {
            return Err(StepFailure::new(format!(
                "{} left without answering (busy, rejected or no answer)",
                gone.join(", ")
            )));
        }
        let names: Vec<&str> = invite.people.iter().map(|p| p.name.as_str()).collect();
        if ringing.is_empty() {
            let waited =
                crate::duration::human(varying(clock.now().duration_since(started).unsigned_abs()));
            return Ok(Performed::said(
                json!({"invited": names, "answered": names}),
                format!("{} answered after {waited}", names.join(", ")),
            ));
        }
        let now = clock.now();
        if now >= deadline {
            return Err(StepFailure::new(format!(
                "still ringing after {}: {}",
                invite
                    .timeout
                    .map_or_else(|| crate::duration::human(timeout), |own| own.to_string()),
                ringing.join(", ")
            )));
        }
        if !announced {
            announced = true;
            room.emit(Event::Waiting {
                id: room.step.id.clone(),
                name: room.step.name.clone(),
                until: format!(
                    "{} to answer (at the latest {})",
                    names.join(", "),
                    room.timeline.show(deadline)
                ),
                left: varying(deadline.duration_since(now).unsigned_abs()),
            });
        }
        let next = now
            .checked_add(ANSWER_POLL)
            .unwrap_or(deadline)
            .min(deadline);
        wait_for_change(room, &mut changes, next, deadline, false).await;
    }
}

/// How long an invitation waits for answers when neither it nor its step says.
const DEFAULT_ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
