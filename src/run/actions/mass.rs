//! Changes to many people at once: hands by the batch call, and the mass changes
//! (`lower_all_hands`, `mute_all`) that read the online list back and finish the job,
//! so that success means the meeting is in the intended state.

use std::collections::HashSet;
use std::time::Instant;

use serde_json::json;

use super::participants::{call_on_participant, names, resolve_selector, targets_json};
use super::{ActionResult, Performed, Room};
use crate::meeting::wire::{BatchHandsBody, HandsBody, MuteBody, MuteMeetingBody};
use crate::meeting::{Api, Participant};
use crate::mmc::Request;
use crate::playbook::Selector;
use crate::run::step::StepFailure;

/// The service takes at most this many pids per batch call from emcee; its own limit is
/// higher, but smaller batches keep each call quick and its failure cheap.
pub(crate) const BATCH: usize = 100;
/// Rounds of read-back and retry before a mass change is called a failure.
const READ_BACK_ROUNDS: usize = 3;

/// Raises or lowers the hands of those `who` matches: one by its own call, several by
/// the batch call.
pub(super) async fn hands(room: &mut Room<'_>, who: &Selector, raise: bool) -> ActionResult {
    let targets = resolve_selector(room, who).await?;
    if let [target] = &targets[..] {
        let body = HandsBody {
            hands_state: raise.into(),
        };
        let request = Request::call(Api::Hands, &body).participant(&target.pid);
        call_on_participant(room, request, target).await?;
    } else {
        let pids: Vec<String> = targets.iter().map(|t| t.pid.clone()).collect();
        batch_hands(room, &pids, raise).await?;
    }
    let verb = if raise {
        "raised the hand of"
    } else {
        "lowered the hand of"
    };
    Ok(Performed::said(
        targets_json(&targets),
        format!("{verb} {}", names(&targets)),
    ))
}

/// Batch hand calls in chunks; a pid that left meanwhile is dropped, not an error.
async fn batch_hands(room: &mut Room<'_>, pids: &[String], raise: bool) -> Result<(), StepFailure> {
    let total = pids.len();
    let mut done = 0;
    for batch in pids.chunks(BATCH) {
        let mut chunk: Vec<String> = batch.to_vec();
        loop {
            let body = BatchHandsBody {
                hands_state: raise.into(),
                pids: chunk.clone(),
            };
            match room.call(Request::call(Api::BatchHands, &body)).await {
                Ok(_) => break,
                Err(failure) if failure.participant_gone => {
                    // Someone in the chunk left: keep those still online and try again.
                    let online: HashSet<String> = room
                        .read_roster()
                        .await?
                        .participants
                        .into_iter()
                        .map(|p| p.pid)
                        .collect();
                    let before = chunk.len();
                    chunk.retain(|pid| online.contains(pid));
                    if chunk.is_empty() {
                        break;
                    }
                    if chunk.len() == before {
                        return Err(failure);
                    }
                }
                Err(failure) => return Err(failure),
            }
        }
        // Those who left count as handled: the whole batch is done.
        done += batch.len();
        room.progress("hands", done, total);
    }
    Ok(())
}

/// Lowers every raised hand, reading the list back until none is up (or the rounds
/// run out).
pub(super) async fn lower_all_hands(room: &mut Room<'_>) -> ActionResult {
    let started = Instant::now();
    let roster = room.current_roster().await?;
    let mut raised: Vec<String> = roster
        .participants
        .iter()
        .filter(|p| p.hand)
        .map(|p| p.pid.clone())
        .collect();
    let first = raised.len();
    let mut rounds = 0;
    while !raised.is_empty() {
        if rounds == READ_BACK_ROUNDS {
            let roster = room.read_roster().await?;
            let still: Vec<&str> = roster
                .participants
                .iter()
                .filter(|p| raised.contains(&p.pid))
                .map(|p| p.name.as_str())
                .collect();
            return Err(StepFailure::new(format!(
                "hands still up after {READ_BACK_ROUNDS} rounds: {}",
                still.join(", ")
            )));
        }
        rounds += 1;
        batch_hands(room, &raised, false).await?;
        // Read back over the API, which shows the change at once (the feed's picture
        // may not yet): only those still online with a hand up are left to do.
        let roster = room.read_roster().await?;
        let lowered: HashSet<&String> = raised.iter().collect();
        raised = roster
            .participants
            .iter()
            .filter(|p| p.hand && lowered.contains(&p.pid))
            .map(|p| p.pid.clone())
            .collect();
    }
    let detail = match first {
        0 => "no hands up".to_owned(),
        n => format!(
            "lowered {n} hand{} in {}",
            if n == 1 { "" } else { "s" },
            crate::duration::human(crate::determinism::varying(started.elapsed()))
        ),
    };
    Ok(Performed::said(
        json!({"lowered": first, "rounds": rounds}),
        detail,
    ))
}

/// Mutes everyone but the host, then reads the list back and mutes whoever is still
/// open, one by one.
pub(super) async fn mute_all(room: &mut Room<'_>, allow_self_unmute: bool) -> ActionResult {
    let body = MuteMeetingBody {
        is_mute: true.into(),
        allow_unmute_by_oneself: Some(allow_self_unmute.into()),
    };
    room.call(Request::call(Api::MuteMeeting, &body)).await?;
    let mut fixed = 0;
    for _ in 0..READ_BACK_ROUNDS {
        // Read back over the API, as for hands.
        let roster = room.read_roster().await?;
        let open: Vec<Participant> = roster
            .participants
            .into_iter()
            .filter(|p| !p.mute && p.role != "host")
            .collect();
        if open.is_empty() {
            let detail = match fixed {
                0 => "everyone but the host muted".to_owned(),
                n => format!("everyone but the host muted ({n} muted again after read-back)"),
            };
            return Ok(Performed::said(json!({"muted_again": fixed}), detail));
        }
        for participant in &open {
            let body = MuteBody {
                is_mute: true.into(),
            };
            let request = Request::call(Api::Mute, &body).participant(&participant.pid);
            match room.call(request).await {
                Ok(_) => fixed += 1,
                // They left meanwhile: nothing to mute.
                Err(failure) if failure.participant_gone => {}
                Err(failure) => return Err(failure),
            }
        }
    }
    Err(StepFailure::new(
        "some participants are still unmuted after read-back",
    ))
}
