//! Virtual time for rehearsals (`--sim --fast-forward`): it moves only when a driver
//! waits, from one waiter's deadline to the next in order, and at each it lets the
//! woken waiters act and the work they caused settle before it moves on. The rules are
//! on [`super::Clock`]; this is their bookkeeping.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::future::Future;
use std::ops::Bound;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use jiff::{SignedDuration, Timestamp};

use super::{Clock, Wait, WakeUp};

/// The longest real time a driver waits at one stop for the work in flight there: a
/// guard that is never let go costs this much per stop, never a hung rehearsal.
pub(super) const SETTLE_CAP: std::time::Duration = std::time::Duration::from_millis(200);
/// Scheduler rounds with nothing in flight and nothing new before a stop counts as
/// settled: enough for a frame written to a loopback socket to be read by a task of
/// the same runtime and handed on a few times. On the current-thread runtime a run
/// uses, each round lets every woken task run and polls the I/O driver.
const QUIET_ROUNDS: u32 = 8;

/// Work in flight on a virtual clock: while any is held, a driver's wait does not move
/// time on (up to [`SETTLE_CAP`] per stop). Nothing on the system clock.
#[must_use = "the work counts as in flight only while the guard is held"]
#[derive(Debug)]
pub struct Busy(Option<Arc<VirtualTime>>);

impl Busy {
    /// A guard that holds nothing: what the system clock hands out.
    pub(crate) fn none() -> Busy {
        Busy(None)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(time) = self.0.take() {
            time.release();
        }
    }
}

/// Virtual time: see the module's header.
#[derive(Debug)]
pub(crate) struct VirtualClock {
    time: Arc<VirtualTime>,
}

#[derive(Debug)]
pub(crate) struct VirtualTime {
    timeline: Mutex<Timeline>,
    /// Busy guards held, plus passive waiters reached but not yet seen to be.
    busy: AtomicUsize,
    /// Counts every guard taken, waiter woken and driver deadline reached, so that a
    /// driver can tell whether anything happened since the clock last settled.
    activity: AtomicU64,
    /// `activity` when the clock last settled.
    settled: AtomicU64,
    /// Told when `busy` drops to nothing.
    idle: tokio::sync::Notify,
}

#[derive(Debug)]
struct Timeline {
    now: Timestamp,
    next_id: u64,
    /// Passive waiters not reached yet, by deadline, with their task's waker.
    passive: BTreeMap<(Timestamp, u64), Option<Waker>>,
    /// Passive waiters reached whose task has not looked yet; each counts as busy.
    fired: HashSet<u64>,
    /// Drivers' deadlines.
    drivers: BTreeSet<(Timestamp, u64)>,
}

impl Timeline {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
}

impl VirtualTime {
    fn timeline(&self) -> MutexGuard<'_, Timeline> {
        // Nothing panics while holding it; a poisoned timeline is still the time.
        self.timeline.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        self.activity.fetch_add(1, Ordering::SeqCst);
        Busy(Some(Arc::clone(self)))
    }

    fn release(&self) {
        if self.busy.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.idle.notify_waiters();
        }
    }

    /// Moves the time to `at` if that is later, reaching the passive waiters on the
    /// way; their wakers, to wake once the timeline is let go.
    fn move_to(&self, timeline: &mut Timeline, at: Timestamp) -> Vec<Waker> {
        if at > timeline.now {
            timeline.now = at;
        }
        let mut wakers = Vec::new();
        while let Some(entry) = timeline.passive.first_entry() {
            if entry.key().0 > timeline.now {
                break;
            }
            let ((_, id), waker) = entry.remove_entry();
            timeline.fired.insert(id);
            self.busy.fetch_add(1, Ordering::SeqCst);
            self.activity.fetch_add(1, Ordering::SeqCst);
            wakers.extend(waker);
        }
        wakers
    }

    /// One move of driver `me` towards its `at`: to the earliest deadline of all
    /// waiters, no further than `at`. False once the time reads `at`.
    fn step(&self, me: u64, at: Timestamp) -> bool {
        let mut timeline = self.timeline();
        let now = timeline.now;
        if now >= at {
            return false;
        }
        let passive = timeline.passive.keys().next().map(|k| k.0);
        let driver = timeline
            .drivers
            .range((Bound::Excluded((now, u64::MAX)), Bound::Unbounded))
            .next()
            .map(|k| k.0);
        let stop = [passive, driver]
            .into_iter()
            .flatten()
            .fold(at, Timestamp::min);
        let wakers = self.move_to(&mut timeline, stop);
        // Another driver whose deadline this is goes on from here: let it act too.
        if timeline
            .drivers
            .range(..=(stop, u64::MAX))
            .any(|(_, id)| *id != me)
        {
            self.activity.fetch_add(1, Ordering::SeqCst);
        }
        drop(timeline);
        wakers.into_iter().for_each(Waker::wake);
        true
    }

    /// Whether another driver's deadline has come while it is still registered: a
    /// driver `me` that would move time on (its `at` not come) lets it return first.
    fn driver_due(&self, me: u64, at: Timestamp) -> bool {
        let timeline = self.timeline();
        let now = timeline.now;
        now < at
            && timeline
                .drivers
                .range(..=(now, u64::MAX))
                .any(|(_, id)| *id != me)
    }

    /// Waits, before driver `me` moves on towards `at`, until the work in flight is
    /// done, every other driver whose deadline has come has returned, and a few
    /// scheduler rounds pass with nothing new; at most [`SETTLE_CAP`] of real time. At
    /// once when nothing happened since the clock last settled.
    async fn settle(&self, me: u64, at: Timestamp) {
        let mut seen = self.activity.load(Ordering::SeqCst);
        if self.busy.load(Ordering::SeqCst) == 0
            && seen == self.settled.load(Ordering::SeqCst)
            && !self.driver_due(me, at)
        {
            return;
        }
        let started = std::time::Instant::now();
        let mut quiet = 0;
        loop {
            let left = SETTLE_CAP.saturating_sub(started.elapsed());
            if left.is_zero() {
                tracing::debug!(
                    "virtual time moves on with work still in flight after {} ms",
                    SETTLE_CAP.as_millis()
                );
                break;
            }
            if self.busy.load(Ordering::SeqCst) > 0 {
                quiet = 0;
                let idle = self.idle.notified();
                tokio::pin!(idle);
                idle.as_mut().enable();
                if self.busy.load(Ordering::SeqCst) > 0 {
                    let _ = tokio::time::timeout(left, idle).await;
                }
                continue;
            }
            let activity = self.activity.load(Ordering::SeqCst);
            if activity != seen || self.driver_due(me, at) {
                seen = activity;
                quiet = 0;
            } else if quiet == QUIET_ROUNDS {
                break;
            } else {
                quiet += 1;
            }
            tokio::task::yield_now().await;
        }
        self.settled.store(seen, Ordering::SeqCst);
    }
}

impl VirtualClock {
    pub(crate) fn starting_at(at: Timestamp) -> Arc<VirtualClock> {
        Arc::new(VirtualClock {
            time: Arc::new(VirtualTime {
                timeline: Mutex::new(Timeline {
                    now: at,
                    next_id: 0,
                    passive: BTreeMap::new(),
                    fired: HashSet::new(),
                    drivers: BTreeSet::new(),
                }),
                busy: AtomicUsize::new(0),
                activity: AtomicU64::new(0),
                settled: AtomicU64::new(0),
                idle: tokio::sync::Notify::new(),
            }),
        })
    }

    /// Work in flight now (guards and reached waiters not yet seen to be): for tests.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.time.busy.load(Ordering::SeqCst)
    }

    /// Passive waiters registered and not reached: for tests.
    #[cfg(test)]
    pub(crate) fn passive_waiters(&self) -> usize {
        self.time.timeline().passive.len()
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        self.time.timeline().now
    }

    /// Jumps: every passive waiter on the way is reached at once, none in between.
    fn advance(&self, by: SignedDuration) {
        if by.is_positive() {
            let mut timeline = self.time.timeline();
            let at = timeline.now.checked_add(by).unwrap_or(Timestamp::MAX);
            let wakers = self.time.move_to(&mut timeline, at);
            drop(timeline);
            wakers.into_iter().for_each(Waker::wake);
        }
    }

    fn sleep_until(&self, at: Timestamp) -> Wait {
        let time = Arc::clone(&self.time);
        let driver = Driver::register(&time, at);
        Box::pin(async move {
            loop {
                time.settle(driver.id, at).await;
                if !time.step(driver.id, at) {
                    break;
                }
            }
            // Let other tasks run, as a real wait would; other drivers stay at this
            // instant until this one has returned.
            tokio::task::yield_now().await;
            drop(driver);
        })
    }

    fn is_virtual(&self) -> bool {
        true
    }

    fn wake_at(&self, at: Timestamp) -> WakeUp {
        let mut timeline = self.time.timeline();
        let id = timeline.id();
        let key = (at, id);
        let ready = at <= timeline.now;
        if !ready {
            timeline.passive.insert(key, None);
        }
        drop(timeline);
        Box::pin(Passive {
            time: Arc::clone(&self.time),
            key,
            ready,
            done: false,
        })
    }

    fn busy(&self) -> Busy {
        self.time.take()
    }
}

/// A driver's deadline, registered while its wait lives.
struct Driver {
    time: Arc<VirtualTime>,
    id: u64,
    at: Timestamp,
}

impl Driver {
    fn register(time: &Arc<VirtualTime>, at: Timestamp) -> Driver {
        let mut timeline = time.timeline();
        let id = timeline.id();
        timeline.drivers.insert((at, id));
        Driver {
            time: Arc::clone(time),
            id,
            at,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.time.timeline().drivers.remove(&(self.at, self.id));
    }
}

/// A passive wait: resolves, with the guard its reaching counted, once a driver (or
/// `advance`) has moved the time to its deadline. Dropped first, it unregisters.
struct Passive {
    time: Arc<VirtualTime>,
    key: (Timestamp, u64),
    /// Its deadline had already come when it was made.
    ready: bool,
    done: bool,
}

impl Future for Passive {
    type Output = Busy;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Busy> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(Busy::none());
        }
        if this.ready {
            this.done = true;
            return Poll::Ready(this.time.take());
        }
        let mut timeline = this.time.timeline();
        if timeline.fired.remove(&this.key.1) {
            this.done = true;
            // The count taken when it was reached passes to the guard.
            return Poll::Ready(Busy(Some(Arc::clone(&this.time))));
        }
        match timeline.passive.get_mut(&this.key) {
            Some(Some(waker)) if waker.will_wake(cx.waker()) => Poll::Pending,
            Some(waker) => {
                *waker = Some(cx.waker().clone());
                Poll::Pending
            }
            // Neither waiting nor reached cannot happen; never leave a task hanging.
            None => {
                this.done = true;
                drop(timeline);
                Poll::Ready(this.time.take())
            }
        }
    }
}

impl Drop for Passive {
    fn drop(&mut self) {
        if self.done || self.ready {
            return;
        }
        let mut timeline = self.time.timeline();
        if timeline.passive.remove(&self.key).is_none() && timeline.fired.remove(&self.key.1) {
            drop(timeline);
            // Reached, but nobody will act on it.
            self.time.release();
        }
    }
}
