//! The clock shared by the runner and the emulator. Everything that reads the time or
//! waits for a moment goes through [`Clock`], so that a rehearsal can run on virtual
//! time (`--sim --fast-forward`): waits and cues take no real time while the runner,
//! the emulator's token expiry and rehearsal arrivals all see the same instants, and
//! time passes through every waiter's deadline in order (the rules are on [`Clock`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

#[cfg(target_os = "linux")]
mod precise;
mod virtual_time;

pub(crate) use virtual_time::{Busy, VirtualClock};

pub(crate) type Wait = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
/// A passive wait that ends with the work its reaching started counted in flight.
pub(crate) type WakeUp = Pin<Box<dyn Future<Output = Busy> + Send + 'static>>;

/// The time, and two kinds of waiting on it.
///
/// - The **driver's** wait, [`Clock::sleep_until`]: the runner's own waits (cues,
///   `wait`, polls, retry backoff, pacing). On virtual time it is what moves time, and
///   only ever to the earliest pending deadline of all waiters, drivers and passive
///   ones alike, firing them in order. At each stop it lets the woken waiters act and
///   **settle** before it moves on: it waits until no [`Busy`] guard is held and a few
///   scheduler rounds pass with nothing new, at most a fifth of a second of real time
///   per stop, so that a guard never let go slows a rehearsal but never hangs it.
/// - **Passive** waits, [`Clock::reached`] and [`Clock::wake_at`]: background tasks
///   (the feed's heartbeat, reconnect backoff, the emulator's schedule, a run's
///   deadline) register a deadline and are woken when a driver's time reaches it; they
///   never move time themselves. One dropped before its deadline (a `select!` lost)
///   unregisters. One reached counts as busy until its task polls it (or drops it):
///   poll passive waits from a task that is waiting on them, never keep one aside.
///
/// Work a woken task does across awaits (a reconnect's calls, the emulator pushing a
/// frame until it is on the socket) holds a [`Clock::busy`] guard, or the guard
/// [`Clock::wake_at`] ends with, so the driver does not move on under it.
///
/// On the system clock all of this is the plain thing: waits end at their instant in
/// real time, and guards hold nothing.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;

    /// Moves this clock forward. Time never goes backwards: negative amounts are
    /// ignored. On virtual time, every passive waiter on the way is reached at once.
    fn advance(&self, by: SignedDuration);

    /// The driver's wait: until the clock reads `at`; at once if it already does.
    fn sleep_until(&self, at: Timestamp) -> Wait;

    /// Whether waits take no real time.
    fn is_virtual(&self) -> bool {
        false
    }

    /// A passive wait until the clock reads `at`, ending with a guard that keeps the
    /// driver at that instant while the woken task acts: hold it until the work the
    /// deadline started is done. The default, a real-time wait, is right only for a
    /// clock whose waits take real time; a virtual one overrides it.
    fn wake_at(&self, at: Timestamp) -> WakeUp {
        let wait = self.sleep_until(at);
        Box::pin(async move {
            wait.await;
            Busy::none()
        })
    }

    /// A passive wait until the clock reads `at`, for a watcher that acts at once (a
    /// deadline in a `select!`, a heartbeat sent before the next await).
    fn reached(&self, at: Timestamp) -> Wait {
        let wake = self.wake_at(at);
        Box::pin(async move {
            drop(wake.await);
        })
    }

    /// Counts work in flight until the guard is dropped (see the trait's header).
    fn busy(&self) -> Busy {
        Busy::none()
    }
}

pub(crate) type SharedClock = Arc<dyn Clock>;

/// The clock of a run: virtual time when `fast_forward`, else the system's; with
/// `start`, it reads that instant when the run begins (`run --sim --start`), and runs
/// on from there, virtually or in real time.
pub(crate) fn for_run(fast_forward: bool, start: Option<Timestamp>) -> SharedClock {
    match (fast_forward, start) {
        (true, start) => VirtualClock::starting_at(start.unwrap_or_else(Timestamp::now)),
        (false, Some(start)) => SystemClock::starting_at(start),
        (false, None) => SystemClock::shared(),
    }
}

/// The system clock, plus an offset that [`Clock::advance`] moves forward.
#[derive(Debug, Default)]
pub(crate) struct SystemClock {
    offset_nanos: AtomicI64,
}

impl SystemClock {
    pub(crate) fn shared() -> SharedClock {
        Arc::new(SystemClock::default())
    }

    /// The system clock moved so that it reads `at` now, and runs on in real time.
    pub(crate) fn starting_at(at: Timestamp) -> SharedClock {
        let offset = at.duration_since(Timestamp::now());
        Arc::new(SystemClock {
            offset_nanos: AtomicI64::new(i64::try_from(offset.as_nanos()).unwrap_or(i64::MAX)),
        })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let offset = SignedDuration::from_nanos(self.offset_nanos.load(Ordering::Relaxed));
        Timestamp::now()
            .checked_add(offset)
            .unwrap_or(Timestamp::MAX)
    }

    fn advance(&self, by: SignedDuration) {
        let nanos = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        if nanos > 0 {
            // Saturating so that absurd advances pin the clock at the far future.
            let _ =
                self.offset_nanos
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |current| {
                        Some(current.saturating_add(nanos))
                    });
        }
    }

    fn sleep_until(&self, at: Timestamp) -> Wait {
        let left = at.duration_since(self.now());
        Box::pin(async move {
            if left.is_positive() {
                precise_sleep(left.unsigned_abs()).await;
            }
        })
    }
}

/// How early tokio's sleep ends: its timer fires on the millisecond tick after its
/// deadline, 1 to 2 ms late, which an operator watching cues second by second sees.
const FINISH: std::time::Duration = std::time::Duration::from_millis(3);

/// How early the kernel timer ends (see [`precise`]): it wakes the process tens of
/// microseconds after its instant, so the clock is watched for this last bit.
#[cfg(target_os = "linux")]
const SPIN: std::time::Duration = std::time::Duration::from_micros(150);

/// Sleeps `left` of real time: on tokio's timer until [`FINISH`] before the instant,
/// on a kernel timer until [`SPIN`] before it (where there is one), then yielding to
/// other tasks until the monotonic clock reaches it. Never ends early.
async fn precise_sleep(left: std::time::Duration) {
    let end = std::time::Instant::now() + left;
    if let Some(coarse) = left.checked_sub(FINISH) {
        tokio::time::sleep(coarse).await;
    }
    #[cfg(target_os = "linux")]
    if let Some(fine) = end
        .checked_duration_since(std::time::Instant::now())
        .and_then(|rest| rest.checked_sub(SPIN))
        .filter(|fine| !fine.is_zero())
    {
        // A timer the kernel refuses leaves the rest to the clock-watching below.
        if let Ok(timer) = precise::Timer::after(fine) {
            let _ = timer.expired().await;
        }
    }
    while std::time::Instant::now() < end {
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_real_wait_never_ends_before_its_instant() {
        for ms in [0, 1, 2, 3, 7, 25] {
            let left = std::time::Duration::from_millis(ms);
            let started = std::time::Instant::now();
            precise_sleep(left).await;
            assert!(started.elapsed() >= left, "{ms} ms");
        }
        let clock = SystemClock::default();
        let at = clock.now() + SignedDuration::from_millis(15);
        clock.sleep_until(at).await;
        assert!(clock.now() >= at);
    }

    #[test]
    fn advance_moves_forward_only() {
        let clock = SystemClock::default();
        let before = clock.now();
        clock.advance(SignedDuration::from_mins(31));
        assert!(clock.now() >= before + SignedDuration::from_mins(31));
        let later = clock.now();
        clock.advance(SignedDuration::from_mins(-60));
        assert!(clock.now() >= later);
    }

    #[tokio::test]
    async fn virtual_waits_take_no_real_time() {
        let start: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let clock = VirtualClock::starting_at(start);
        let real = std::time::Instant::now();
        clock
            .sleep_until(start + SignedDuration::from_hours(2))
            .await;
        assert_eq!(clock.now(), start + SignedDuration::from_hours(2));
        clock.sleep_until(start).await;
        assert_eq!(
            clock.now(),
            start + SignedDuration::from_hours(2),
            "never backwards"
        );
        assert!(real.elapsed() < std::time::Duration::from_millis(100));
    }

    #[tokio::test]
    async fn a_virtual_wait_stops_at_a_watched_instant() {
        let start: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let clock = VirtualClock::starting_at(start);
        let deadline = start + SignedDuration::from_hours(1);
        let reached = clock.reached(deadline);
        let seen = tokio::select! {
            biased;
            () = reached => clock.now(),
            () = clock.sleep_until(start + SignedDuration::from_hours(2)) => clock.now(),
        };
        assert_eq!(seen, deadline, "the watcher sees the instant itself");
    }

    fn start() -> Timestamp {
        "2026-11-22T10:00:00Z".parse().unwrap()
    }

    fn mins(n: i64) -> Timestamp {
        start() + SignedDuration::from_mins(n)
    }

    type Log = Arc<std::sync::Mutex<Vec<(&'static str, Timestamp)>>>;

    /// A task that waits passively until `at`, then notes the time under `name`.
    fn watcher(clock: &Arc<VirtualClock>, log: &Log, name: &'static str, at: Timestamp) {
        let reached = clock.reached(at);
        let (clock, log) = (Arc::clone(clock), Arc::clone(log));
        tokio::spawn(async move {
            reached.await;
            log.lock().unwrap().push((name, clock.now()));
        });
    }

    #[tokio::test]
    async fn passive_waiters_and_a_driver_are_reached_in_deadline_order() {
        let clock = VirtualClock::starting_at(start());
        let log: Log = Arc::default();
        watcher(&clock, &log, "late", mins(40));
        watcher(&clock, &log, "early", mins(10));
        clock.sleep_until(mins(60)).await;
        log.lock().unwrap().push(("driver", clock.now()));
        assert_eq!(
            *log.lock().unwrap(),
            [
                ("early", mins(10)),
                ("late", mins(40)),
                ("driver", mins(60))
            ],
            "each saw its own instant, in order"
        );
        assert_eq!(clock.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_drivers_wait_ends_exactly_at_its_instant() {
        let clock = VirtualClock::starting_at(start());
        let log: Log = Arc::default();
        watcher(&clock, &log, "after", mins(90));
        clock.sleep_until(mins(30)).await;
        assert_eq!(clock.now(), mins(30));
        assert!(
            log.lock().unwrap().is_empty(),
            "a later deadline is not reached"
        );
        assert_eq!(clock.passive_waiters(), 1);
        // Two drivers at once: the nearer deadline is a stop for the farther one.
        let near = clock.sleep_until(mins(45));
        let far = clock.sleep_until(mins(60));
        let (clock_near, clock_far) = (Arc::clone(&clock), Arc::clone(&clock));
        let near = tokio::spawn(async move {
            near.await;
            clock_near.now()
        });
        let far = tokio::spawn(async move {
            far.await;
            clock_far.now()
        });
        assert_eq!(near.await.unwrap(), mins(45));
        assert_eq!(far.await.unwrap(), mins(60));
    }

    #[tokio::test]
    async fn a_dropped_passive_waiter_unregisters() {
        let clock = VirtualClock::starting_at(start());
        // Lost in a `select!`: the driver's own wait ends first.
        tokio::select! {
            biased;
            () = clock.reached(mins(20)) => panic!("not reached yet"),
            () = clock.sleep_until(mins(10)) => {}
        }
        assert_eq!(clock.passive_waiters(), 0);
        // Reached, then dropped without being looked at: no longer in flight.
        let reached = clock.reached(mins(30));
        clock.advance(SignedDuration::from_mins(25));
        assert_eq!(clock.in_flight(), 1, "reached, its task not yet woken");
        drop(reached);
        assert_eq!(clock.in_flight(), 0);
        let real = std::time::Instant::now();
        clock.sleep_until(mins(60)).await;
        assert!(real.elapsed() < virtual_time::SETTLE_CAP, "nothing held it");
    }

    #[tokio::test]
    async fn a_driver_settles_while_a_woken_task_is_busy() {
        let clock = VirtualClock::starting_at(start());
        let wake = clock.wake_at(mins(10));
        let task_clock = Arc::clone(&clock);
        let task = tokio::spawn(async move {
            let busy = wake.await;
            // Work across real waits: the driver stays at this instant meanwhile.
            for _ in 0..3 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            let seen = task_clock.now();
            drop(busy);
            // Without a guard, work a few hops away is still let finish.
            let (send, receive) = tokio::sync::oneshot::channel();
            let clock = Arc::clone(&task_clock);
            tokio::spawn(async move {
                tokio::task::yield_now().await;
                let _ = send.send(clock.now());
            });
            (seen, receive.await.unwrap())
        });
        clock.sleep_until(mins(60)).await;
        assert_eq!(task.await.unwrap(), (mins(10), mins(10)));
    }

    #[tokio::test]
    async fn a_guard_never_let_go_costs_a_short_wait_per_stop_not_a_hang() {
        let clock = VirtualClock::starting_at(start());
        let stuck = clock.busy();
        let log: Log = Arc::default();
        watcher(&clock, &log, "stop", mins(10));
        let real = std::time::Instant::now();
        tokio::time::timeout(
            std::time::Duration::from_secs(10),
            clock.sleep_until(mins(20)),
        )
        .await
        .expect("no hang");
        assert_eq!(clock.now(), mins(20));
        assert!(real.elapsed() >= virtual_time::SETTLE_CAP, "it did wait");
        assert_eq!(*log.lock().unwrap(), [("stop", mins(10))]);
        drop(stuck);
        assert_eq!(clock.in_flight(), 0);
    }

    #[tokio::test]
    async fn the_system_clock_ignores_guards_and_waits_in_real_time() {
        let clock = SystemClock::shared();
        let busy = clock.busy();
        let real = std::time::Instant::now();
        let soon = clock.now() + SignedDuration::from_millis(30);
        let guard = clock.wake_at(soon).await;
        clock.reached(soon).await;
        clock.sleep_until(soon).await;
        let waited = real.elapsed();
        assert!(clock.now() >= soon);
        assert!(waited >= std::time::Duration::from_millis(25), "{waited:?}");
        assert!(waited < std::time::Duration::from_secs(2), "{waited:?}");
        drop((busy, guard));
        assert!(!clock.is_virtual());
    }

    #[tokio::test]
    async fn many_virtual_waits_with_nothing_registered_are_cheap() {
        let clock = VirtualClock::starting_at(start());
        let real = std::time::Instant::now();
        for n in 1..=10_000 {
            clock
                .sleep_until(start() + SignedDuration::from_secs(n))
                .await;
        }
        assert_eq!(clock.now(), start() + SignedDuration::from_secs(10_000));
        assert!(real.elapsed() < std::time::Duration::from_secs(2));
    }
}
