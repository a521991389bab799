//! The clock shared by the runner and the emulator. Everything that reads the time or
//! waits for a moment goes through [`Clock`], so that a rehearsal can run on virtual
//! time (`--sim --fast-forward`): waits and cues take no real time while the runner,
//! the emulator's token expiry and rehearsal arrivals all see the same instants.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

pub(crate) type Wait = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;

    /// Moves this clock forward. Time never goes backwards: negative amounts are ignored.
    fn advance(&self, by: SignedDuration);

    /// Waits until the clock reads `at`; at once if it already does.
    fn sleep_until(&self, at: Timestamp) -> Wait;

    /// Whether waits take no real time.
    fn is_virtual(&self) -> bool {
        false
    }

    /// Resolves once the clock reads `at`, without moving it: for watching a deadline
    /// while others wait. On virtual time, waits that cross `at` stop there first, so
    /// the watcher sees the very instant.
    fn reached(&self, at: Timestamp) -> Wait {
        self.sleep_until(at)
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
                tokio::time::sleep(left.unsigned_abs()).await;
            }
        })
    }
}

/// Virtual time for rehearsals: it starts at the real time and moves only when someone
/// waits, jumping straight to the end of the wait.
#[derive(Debug)]
pub(crate) struct VirtualClock {
    inner: Arc<VirtualTime>,
}

#[derive(Debug)]
struct VirtualTime {
    /// The time, and a way for [`Clock::reached`] to hear it move.
    now: tokio::sync::watch::Sender<Timestamp>,
    /// Instants someone watches for: a wait that crosses one stops there first.
    stops: Mutex<Vec<Timestamp>>,
}

impl VirtualTime {
    fn now(&self) -> Timestamp {
        *self.now.borrow()
    }

    /// Moves the time to `at` if that is later.
    fn move_to(&self, at: Timestamp) {
        self.now.send_if_modified(|now| {
            let later = at > *now;
            if later {
                *now = at;
            }
            later
        });
    }

    /// The first watched instant after now and before `at`.
    fn next_stop(&self, at: Timestamp) -> Option<Timestamp> {
        let now = self.now();
        self.stops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .filter(|s| *s > now && *s < at)
            .min()
    }
}

impl VirtualClock {
    pub(crate) fn starting_at(at: Timestamp) -> Arc<VirtualClock> {
        Arc::new(VirtualClock {
            inner: Arc::new(VirtualTime {
                now: tokio::sync::watch::Sender::new(at),
                stops: Mutex::new(Vec::new()),
            }),
        })
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        self.inner.now()
    }

    fn advance(&self, by: SignedDuration) {
        if by.is_positive() {
            let now = self.inner.now();
            self.inner
                .move_to(now.checked_add(by).unwrap_or(Timestamp::MAX));
        }
    }

    fn sleep_until(&self, at: Timestamp) -> Wait {
        let time = Arc::clone(&self.inner);
        Box::pin(async move {
            // Stop at each watched instant on the way and let its watcher act first.
            while let Some(stop) = time.next_stop(at) {
                time.move_to(stop);
                tokio::task::yield_now().await;
            }
            time.move_to(at);
            // Let other tasks (the in-process emulator) run, as a real wait would.
            tokio::task::yield_now().await;
        })
    }

    fn is_virtual(&self) -> bool {
        true
    }

    fn reached(&self, at: Timestamp) -> Wait {
        let mut stops = self.inner.stops.lock().unwrap_or_else(|e| e.into_inner());
        if !stops.contains(&at) {
            stops.push(at);
        }
        drop(stops);
        let mut moved = self.inner.now.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock, which outlives the run.
            let _ = moved.wait_for(|now| *now >= at).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
