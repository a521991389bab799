//! Waiting on the run's clock — for a cue or a `wait` — while keeping the token alive:
//! it is renewed whenever it falls due on the way, so a long wait never lets it lapse,
//! unless the meeting has ended.

use super::event::{Event, Listener, StepId};
use crate::clock::SharedClock;
use crate::mmc::Client;

/// Waits on `clock` until `at`, renewing `client`'s token when due; a renewal that
/// fails is reported to `listener` and tried again a while later.
pub(crate) async fn sleep_keeping_token(
    client: &Client,
    clock: &SharedClock,
    listener: &mut dyn Listener,
    at: jiff::Timestamp,
) {
    let mut quiet_until = None;
    loop {
        let now = clock.now();
        if now >= at {
            return;
        }
        let renew = client.renew_at().await.filter(|r| *r < at);
        let renew = renew
            .filter(|r| quiet_until.is_none_or(|q| *r >= q))
            .or(quiet_until.filter(|q| *q < at));
        let next = renew.map_or(at, |r| r.max(now));
        clock.sleep_until(next).await;
        if renew.is_some_and(|r| clock.now() >= r) && clock.now() < at {
            match client.connect().await {
                Ok(()) => quiet_until = None,
                // Asking again cannot help: the wait goes on quietly, and the next
                // step learns of the end from its own call.
                Err(failure) if failure.ends_meeting(client.connected()) => {
                    listener.on(&Event::Message {
                        id: StepId::run(),
                        level: crate::playbook::action::LogLevel::Warn,
                        text: format!(
                            "keeping the token alive: {failure}; the meeting has ended, so the token is not asked for again"
                        ),
                    });
                    clock.sleep_until(at).await;
                    return;
                }
                Err(failure) => {
                    // Try again in a while rather than at once.
                    quiet_until = clock
                        .now()
                        .checked_add(jiff::SignedDuration::from_secs(10))
                        .ok();
                    listener.on(&Event::Message {
                        id: StepId::run(),
                        level: crate::playbook::action::LogLevel::Warn,
                        text: format!("keeping the token alive failed, will try again: {failure}"),
                    });
                }
            }
        }
    }
}
