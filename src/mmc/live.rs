//! The meeting's push feed kept open in the background, and the [`Picture`] it keeps
//! current. A task opens the feed, applies every frame, and whenever the feed is lost —
//! closed, broken, refused (1008) or a message missing (a version gap) — opens a new
//! one after a pause (1 s, doubling to 30 s), with a new socket token each time, and
//! rebuilds the picture from the new connection's snapshot: what it knew is replaced,
//! never patched again, so no change is applied twice.
//!
//! Its pauses are passive waits on the run's clock ([`Clock::reached`]): on virtual
//! time they never move the clock themselves (a real-time cap of the same length
//! keeps them from waiting forever when nothing else moves it).
//!
//! The task says nothing itself but `tracing::debug!`: whoever holds the [`Live`]
//! tells people about [`Health`] changes, once per episode.
//!
//! [`Clock::reached`]: crate::clock::Clock::reached

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::SignedDuration;
use tokio::sync::watch;

use super::Client;
use super::feed::{Closed, Feed};
use super::picture::{Applied, Picture};
use crate::clock::SharedClock;

/// The first pause before opening the feed again.
const FIRST_PAUSE: Duration = Duration::from_secs(1);
/// The longest pause: a feed down for long is tried twice a minute.
const LONGEST_PAUSE: Duration = Duration::from_secs(30);

/// Whether the picture can be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Health {
    /// The first connection is being opened.
    Connecting,
    /// Open, its snapshot in: the picture is the meeting as it is.
    Up,
    /// Lost (or never opened): the picture is what was known before; a new connection
    /// is being tried. `episode` counts the times the feed went down, from 1; it stays
    /// the same through the failed attempts of one episode.
    Down { why: String, episode: u32 },
}

/// The state of a [`Live`] at one moment.
#[derive(Debug, Clone)]
pub(crate) struct LiveState {
    pub health: Health,
    pub picture: Arc<Picture>,
    /// Frames that changed the picture, across connections (a new snapshot counts one).
    pub changes: u64,
}

/// A feed kept open in the background. Dropping it stops the task and closes the
/// socket. Once the meeting has ended (the status said `Destroyed`) the task stops:
/// the health stays `Up` with the final picture, whose `ended()` is true. It stops too
/// when opening the feed again is refused because the meeting is over (its last word
/// lost with a dropped socket); the health then stays `Down`, and what reads learns
/// the end from the API.
pub(crate) struct Live {
    state: Arc<watch::Sender<LiveState>>,
    skipped: Arc<AtomicU64>,
    clock: SharedClock,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Live {
    /// Spawns the task that opens the feed through `client` and keeps it open.
    pub(crate) fn start(client: Arc<Client>, clock: SharedClock) -> Live {
        let state = Arc::new(watch::Sender::new(LiveState {
            health: Health::Connecting,
            picture: Arc::new(Picture::default()),
            changes: 0,
        }));
        let skipped = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(keep_open(
            client,
            Arc::clone(&clock),
            Arc::clone(&state),
            Arc::clone(&skipped),
        ));
        Live {
            state,
            skipped,
            clock,
            task,
        }
    }

    /// The state now.
    #[allow(dead_code, reason = "the runner's")]
    pub(crate) fn state(&self) -> LiveState {
        self.state.borrow().clone()
    }

    /// The picture if the feed is up (its snapshot complete); `None` while it is down
    /// or still connecting.
    #[allow(dead_code, reason = "the runner's")]
    pub(crate) fn picture(&self) -> Option<Arc<Picture>> {
        let state = self.state.borrow();
        (state.health == Health::Up && state.picture.is_complete())
            .then(|| Arc::clone(&state.picture))
    }

    /// A receiver that changes on every frame that changes the picture and every
    /// health change. It never closes while the `Live` exists.
    pub(crate) fn subscribe(&self) -> watch::Receiver<LiveState> {
        self.state.subscribe()
    }

    /// Waits until the feed is up with its snapshot in (or has been: it may be down
    /// again already), or the first attempt fails
    /// (`Err` with why), or `within` passes on the clock (or in real time, whichever
    /// comes first: a virtual clock nobody moves must not hang this).
    pub(crate) async fn opened(&self, within: Duration) -> Result<(), String> {
        let mut state = self.state.subscribe();
        let verdict = async {
            loop {
                let now = state.borrow_and_update();
                // Up once is opened, even if lost again since: every publication of a
                // snapshot counts as a change.
                if now.health == Health::Up || now.changes > 0 {
                    return Ok(());
                }
                if let Health::Down { why, .. } = &now.health {
                    return Err(why.clone());
                }
                drop(now);
                // The sender lives as long as `self`.
                if state.changed().await.is_err() {
                    return Err("the feed stopped".to_owned());
                }
            }
        };
        let deadline = self.clock.now() + signed(within);
        tokio::select! {
            verdict = verdict => verdict,
            () = self.clock.reached(deadline) => Err(not_open(within)),
            () = tokio::time::sleep(within) => Err(not_open(within)),
        }
    }

    /// Frames skipped so far (malformed, or of a type not modelled), across
    /// connections.
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }
}

fn not_open(within: Duration) -> String {
    format!(
        "the feed did not open within {}",
        crate::duration::human(within)
    )
}

fn signed(duration: Duration) -> SignedDuration {
    SignedDuration::try_from(duration).unwrap_or(SignedDuration::MAX)
}

/// The most people and numbers a picture may list (online, waiting, invited): far
/// beyond any meeting, so that a feed adding without end is cut off, and the picture
/// rebuilt from a snapshot, which a frame's size bounds.
const MAX_LISTED: usize = 100_000;

/// How one connection ended.
enum Outcome {
    /// The meeting is over: nothing more will come.
    Ended,
    /// Lost; whether it had been up (its snapshot in) first.
    Lost { why: String, was_up: bool },
}

/// The task: open, follow, and after a loss pause and open again, until the meeting
/// ends (or the `Live` is dropped, which aborts this).
async fn keep_open(
    client: Arc<Client>,
    clock: SharedClock,
    state: Arc<watch::Sender<LiveState>>,
    skipped: Arc<AtomicU64>,
) {
    let mut pause = FIRST_PAUSE;
    let mut episode: u32 = 0;
    loop {
        let why = match client.open_feed().await {
            // Ended while the feed was down (its last word lost): nothing will come.
            Err(unopened) if unopened.meeting_ended => {
                tracing::debug!("the meeting has ended ({unopened}): the feed is not opened again");
                return;
            }
            Err(unopened) => unopened.why,
            Ok(mut feed) => match follow(&mut feed, &state, &skipped).await {
                Outcome::Ended => {
                    tracing::debug!("the meeting has ended: the feed is not kept open");
                    return;
                }
                Outcome::Lost { why, was_up } => {
                    if was_up {
                        pause = FIRST_PAUSE;
                    }
                    why
                }
            },
        };
        tracing::debug!("the meeting's feed is down: {why}; opening it again in {pause:?}");
        state.send_if_modified(|now| {
            if matches!(now.health, Health::Down { .. }) {
                return false;
            }
            episode = episode.saturating_add(1);
            now.health = Health::Down { why, episode };
            true
        });
        let at = clock.now() + signed(pause);
        tokio::select! {
            () = clock.reached(at) => {}
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// Applies one connection's frames: privately until its snapshot of the online list
/// is in, then to the shared picture, which it replaces.
async fn follow(feed: &mut Feed, state: &watch::Sender<LiveState>, skipped: &AtomicU64) -> Outcome {
    let mut fresh = Some(state.borrow().picture.successor());
    let mut counted = 0;
    loop {
        let next = feed.next().await;
        skipped.fetch_add(feed.skipped - counted, Ordering::Relaxed);
        counted = feed.skipped;
        let frame = match next {
            Ok(frame) => frame,
            Err(closed) => {
                return Outcome::Lost {
                    why: describe(&closed),
                    was_up: fresh.is_none(),
                };
            }
        };
        let (applied, ended) = match fresh.as_mut() {
            Some(picture) => {
                let applied = picture.apply(&frame);
                if (picture.is_complete() || picture.ended())
                    && !matches!(applied, Applied::Gap { .. })
                    && let Some(picture) = fresh.take()
                {
                    let ended = picture.ended();
                    state.send_modify(|now| {
                        now.picture = Arc::new(picture);
                        now.health = Health::Up;
                        now.changes += 1;
                    });
                    (applied, ended)
                } else {
                    (applied, false)
                }
            }
            None => {
                let mut applied = Applied::Unchanged;
                let mut ended = false;
                state.send_if_modified(|now| {
                    // Cloned only if someone still holds the last picture.
                    let picture = Arc::make_mut(&mut now.picture);
                    applied = picture.apply(&frame);
                    ended = picture.ended();
                    let changed = applied == Applied::Changed;
                    if changed {
                        now.changes += 1;
                    }
                    changed
                });
                (applied, ended)
            }
        };
        if let Applied::Gap {
            kind,
            expected,
            got,
        } = applied
        {
            return Outcome::Lost {
                why: format!(
                    "a message was lost: {} number {got} came when {expected} was due",
                    kind.action()
                ),
                was_up: fresh.is_none(),
            };
        }
        let listed = match &fresh {
            Some(picture) => picture.listed(),
            None => state.borrow().picture.listed(),
        };
        if listed > MAX_LISTED {
            return Outcome::Lost {
                why: format!("the feed listed more than {MAX_LISTED} people or numbers"),
                was_up: fresh.is_none(),
            };
        }
        if ended {
            return Outcome::Ended;
        }
        if applied == Applied::Changed {
            // Let those watching see this change before the next is applied: frames
            // that came together would otherwise reach them as one.
            tokio::task::yield_now().await;
        }
    }
}

/// Why a connection ended, for people.
fn describe(closed: &Closed) -> String {
    match closed {
        Closed::ByServer(reason) if reason.is_empty() => "the service closed the feed".into(),
        Closed::ByServer(reason) => format!("the service closed the feed: {reason}"),
        Closed::Broken(why) => format!("the feed broke: {why}"),
    }
}

#[cfg(test)]
mod tests;
