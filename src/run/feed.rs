//! The run's use of the meeting's push feed (`meeting.events`, `run --events`). Before
//! the first top-level step that calls the API the feed is started in the background
//! ([`Live`]); from then on the online list is taken from its picture while it is up,
//! and read over the API while it is not. Its health is reported as run events once
//! per episode: the first opening says nothing, a feed that is down (or never opened)
//! says so with why, and its return is said too.
//!
//! The picture trails the run's own changes by the time a push takes to arrive. A
//! selector is still resolved against it (a name that matches nobody gets one read
//! first), but what looks at the meeting's state — `participants`, `wait_for`, the
//! first read of `lower_all_hands`, an invitation's wait — reads over the API instead
//! after one of the run's own change calls was answered, until the feed has pushed a
//! change since (the push of that call, pushes coming in order) or for at most
//! [`SETTLE`] on the run's clock (on virtual time a rehearsal's `wait: 10m` after a
//! change leaves it long settled, as the show's would); and the mass changes read their
//! results back over the API always.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};

use crate::clock::SharedClock;
use crate::meeting::Roster;
use crate::mmc::Client;
use crate::mmc::live::{Health, Live, LiveState};
use crate::mmc::picture::Picture;
use crate::playbook::Events;

/// The longest the picture is not trusted to show the run's own change: its push
/// arrives within milliseconds and ends the distrust then, so this bounds only a push
/// that never comes (a change that changed nothing, or one lost).
pub(crate) const SETTLE: Duration = Duration::from_secs(2);
/// How long the first opening may take under `events: required`.
const REQUIRED_WITHIN: Duration = Duration::from_secs(15);
/// How long the first step waits for the feed under `events: auto` before it reads
/// instead; the feed may still open later.
const AUTO_WITHIN: Duration = Duration::from_secs(3);

/// A change of the feed's health, as the run reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Turn {
    Down(String),
    Up,
}

impl Turn {
    /// The run event that says it, seen at `at` (as output shows instants).
    pub(crate) fn event(self, at: String) -> crate::run::Event {
        match self {
            Turn::Down(why) => crate::run::Event::FeedDown { at, why },
            Turn::Up => crate::run::Event::FeedUp { at },
        }
    }
}

/// The failure of a step that learns from the feed that the meeting has ended: as an
/// API answer saying so would (see `executor/ended.rs`).
pub(crate) fn ended_failure() -> crate::run::step::StepFailure {
    crate::run::step::StepFailure {
        meeting_ended: true,
        ..crate::run::step::StepFailure::new("the meeting has ended (its push feed said so)")
    }
}

/// Health as the watcher tells changes apart: a new episode of being down is a change.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Up,
    Down(u32),
}

/// The feed as the run uses it; without a [`Live`] until [`RunFeed::start`].
pub(crate) struct RunFeed {
    mode: Events,
    live: Option<Live>,
    /// Health changes the watcher saw and the run has not reported yet.
    turns: Option<mpsc::UnboundedReceiver<(Timestamp, Turn)>>,
    /// Changes taken from `turns` by [`RunFeed::turned`], not reported yet.
    pending: Vec<(Timestamp, Turn)>,
    watcher: Option<tokio::task::JoinHandle<()>>,
    /// The feed was said to be down, and not yet to be back.
    down: bool,
    /// When the run's own last change call was answered, on `clock`, and how many
    /// changes the picture had had by then.
    changed: Option<Timestamp>,
    changes_then: u64,
    /// The run's clock, once the feed is started.
    clock: Option<SharedClock>,
    /// Told of the feed once it is started, for what shows the show (the roster).
    tap: Option<watch::Sender<Option<watch::Receiver<LiveState>>>>,
}

impl Drop for RunFeed {
    fn drop(&mut self) {
        if let Some(watcher) = &self.watcher {
            watcher.abort();
        }
    }
}

impl RunFeed {
    pub(crate) fn new(mode: Events) -> RunFeed {
        RunFeed {
            mode,
            live: None,
            turns: None,
            pending: Vec::new(),
            watcher: None,
            down: false,
            changed: None,
            changes_then: 0,
            clock: None,
            tap: None,
        }
    }

    /// Whether and how the run uses the feed, now; `tap` is told of it when it starts.
    pub(crate) fn with_mode(&mut self, mode: Events) {
        let tap = self.tap.take();
        *self = RunFeed::new(mode);
        self.tap = tap;
    }

    /// `tap` gets the feed's state once it is started.
    pub(crate) fn tap(&mut self, tap: watch::Sender<Option<watch::Receiver<LiveState>>>) {
        if let Some(live) = &self.live {
            tap.send_replace(Some(live.subscribe()));
        }
        self.tap = Some(tap);
    }

    /// Whether the feed is to be started and has not been.
    pub(crate) fn wanted(&self) -> bool {
        self.mode != Events::Off && self.live.is_none()
    }

    /// Starts the feed and waits a little for it to open. Under `events: required`, a
    /// feed that does not open is why the run cannot go on; otherwise the run goes on
    /// reading, and the failure is reported as the feed being down.
    pub(crate) async fn start(
        &mut self,
        client: &Arc<Client>,
        clock: &SharedClock,
    ) -> Result<(), String> {
        if !self.wanted() {
            return Ok(());
        }
        let live = Live::start(Arc::clone(client), Arc::clone(clock));
        let (tell, turns) = mpsc::unbounded_channel();
        self.watcher = Some(tokio::spawn(watch_health(
            live.subscribe(),
            Arc::clone(clock),
            tell,
        )));
        self.turns = Some(turns);
        self.clock = Some(Arc::clone(clock));
        let within = match self.mode {
            Events::Required => REQUIRED_WITHIN,
            Events::Auto | Events::Off => AUTO_WITHIN,
        };
        if let Some(tap) = &self.tap {
            tap.send_replace(Some(live.subscribe()));
        }
        let opened = live.opened(within).await;
        self.live = Some(live);
        match (opened, self.mode) {
            (Err(why), Events::Required) => Err(why),
            _ => Ok(()),
        }
    }

    /// The health changes to report now, each once per episode: a feed back up only
    /// after it was said to be down.
    pub(crate) fn heard(&mut self) -> Vec<(Timestamp, Turn)> {
        let mut said = Vec::new();
        let mut heard = std::mem::take(&mut self.pending);
        if let Some(turns) = &mut self.turns {
            while let Ok(turn) = turns.try_recv() {
                heard.push(turn);
            }
        }
        for (at, turn) in heard {
            match &turn {
                Turn::Up if !self.down => continue,
                Turn::Up => self.down = false,
                Turn::Down(_) => self.down = true,
            }
            said.push((at, turn));
        }
        said
    }

    /// The picture, while the feed is up with its snapshot in.
    pub(crate) fn picture(&self) -> Option<Arc<Picture>> {
        self.live.as_ref().and_then(Live::picture)
    }

    /// The online list from the picture, while the feed is up.
    pub(crate) fn roster(&self) -> Option<Roster> {
        self.picture().map(|picture| picture.roster())
    }

    /// The online list from the picture, unless the run's own change may not show in
    /// it yet.
    pub(crate) fn settled_roster(&self) -> Option<Roster> {
        self.settled_at().is_none().then(|| self.roster()).flatten()
    }

    /// While the run's own last change may not show in the picture: until when at the
    /// latest, on the run's clock. Over once the picture has changed since that change
    /// was answered.
    pub(crate) fn settled_at(&self) -> Option<Timestamp> {
        let (changed, clock) = (self.changed?, self.clock.as_ref()?);
        let pushed_since = self
            .live
            .as_ref()
            .is_some_and(|live| live.state().changes > self.changes_then);
        if pushed_since {
            return None;
        }
        let until = changed
            .checked_add(jiff::SignedDuration::try_from(SETTLE).unwrap_or_default())
            .unwrap_or(Timestamp::MAX);
        (until > clock.now()).then_some(until)
    }

    /// Waits until the feed's health changes (pending for ever without a feed), and
    /// keeps the change for [`RunFeed::heard`]: for waits to report it as it happens.
    pub(crate) async fn turned(&mut self) {
        let turn = match &mut self.turns {
            Some(turns) => turns.recv().await,
            None => None,
        };
        match turn {
            Some(turn) => self.pending.push(turn),
            None => std::future::pending().await,
        }
    }

    /// The run changed something in the meeting just now.
    pub(crate) fn note_change(&mut self) {
        if let (Some(live), Some(clock)) = (&self.live, &self.clock) {
            self.changed = Some(clock.now());
            self.changes_then = live.state().changes;
        }
    }

    /// Every change of the picture and the feed's health, once it is started.
    pub(crate) fn subscribe(&self) -> Option<watch::Receiver<LiveState>> {
        self.live.as_ref().map(Live::subscribe)
    }

    /// Whether the feed said the meeting has ended.
    pub(crate) fn ended(&self) -> bool {
        self.live
            .as_ref()
            .is_some_and(|live| live.state().picture.ended())
    }
}

/// Until the picture behind `state` shows the meeting ended; pending for ever without
/// a feed, or once the feed is gone. For waits that would otherwise go on waiting for
/// a meeting that is over.
pub(crate) async fn until_ended(state: Option<watch::Receiver<LiveState>>) {
    if let Some(mut state) = state {
        loop {
            if state.borrow_and_update().picture.ended() {
                return;
            }
            if state.changed().await.is_err() {
                break;
            }
        }
    }
    std::future::pending::<()>().await;
}

/// Tells `tell` of every health change of the feed behind `state`, stamped on `clock`:
/// up, and each new episode of being down.
async fn watch_health(
    mut state: watch::Receiver<LiveState>,
    clock: SharedClock,
    tell: mpsc::UnboundedSender<(Timestamp, Turn)>,
) {
    let mut last = None;
    loop {
        let health = state.borrow_and_update().health.clone();
        let turn = match health {
            Health::Up => Some((Seen::Up, Turn::Up)),
            Health::Down { why, episode } => Some((Seen::Down(episode), Turn::Down(why))),
            Health::Connecting => None,
        };
        if let Some((seen, turn)) = turn
            && last.as_ref() != Some(&seen)
        {
            last = Some(seen);
            if tell.send((clock.now(), turn)).is_err() {
                return;
            }
        }
        if state.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The feed's health going through `steps`, each seen by the watcher before the next.
    async fn heard_through(steps: Vec<Health>) -> Vec<Turn> {
        let (state, seen) = watch::channel(LiveState {
            health: Health::Connecting,
            picture: Arc::new(Picture::default()),
            changes: 0,
        });
        let clock: SharedClock = crate::clock::SystemClock::shared();
        let (tell, turns) = mpsc::unbounded_channel();
        let watcher = tokio::spawn(watch_health(seen, clock, tell));
        let mut feed = RunFeed::new(Events::Auto);
        feed.turns = Some(turns);
        for health in steps {
            state.send_modify(|now| {
                now.health = health;
                now.changes += 1;
            });
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        drop(state);
        let _ = watcher.await;
        feed.heard().into_iter().map(|(_, turn)| turn).collect()
    }

    fn down(why: &str, episode: u32) -> Health {
        Health::Down {
            why: why.into(),
            episode,
        }
    }

    #[tokio::test]
    async fn health_is_said_once_per_episode_and_the_first_opening_not_at_all() {
        let heard = heard_through(vec![
            Health::Up,
            // A change of the picture while up is not a change of health.
            Health::Up,
            down("reset", 1),
            // The failed attempts of one episode.
            down("refused", 1),
            down("refused", 1),
            Health::Up,
            down("gap", 2),
        ])
        .await;
        assert_eq!(
            heard,
            [
                Turn::Down("reset".into()),
                Turn::Up,
                Turn::Down("gap".into())
            ]
        );
    }

    #[tokio::test]
    async fn a_feed_that_never_opens_is_said_down_once() {
        let heard = heard_through(vec![down("no wsURL", 1), down("no wsURL", 1)]).await;
        assert_eq!(heard, [Turn::Down("no wsURL".into())]);
    }

    #[test]
    fn the_picture_is_not_trusted_for_a_moment_on_the_runs_clock_after_its_own_change() {
        let start: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let clock = crate::clock::VirtualClock::starting_at(start);
        let mut feed = RunFeed::new(Events::Auto);
        // Without a feed there is nothing to distrust.
        feed.note_change();
        assert!(feed.settled_at().is_none());
        feed.clock = Some(clock.clone());
        feed.changed = Some(start);
        let until = start + jiff::SignedDuration::try_from(SETTLE).unwrap();
        assert_eq!(feed.settled_at(), Some(until));
        // Virtual time, not real time, settles it: no real time passes here.
        crate::clock::Clock::advance(&*clock, jiff::SignedDuration::try_from(SETTLE).unwrap());
        assert!(feed.settled_at().is_none());
    }
}
