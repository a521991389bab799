//! The clock shared by the runner and the emulator. Everything that reads the time or
//! waits for a moment goes through [`Clock`], so that a rehearsal can run on virtual
//! time (`--sim --fast-forward`): waits and cues take no real time while the runner,
//! the emulator's token expiry and rehearsal arrivals all see the same instants.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp};

pub type Wait = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

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
}

pub type SharedClock = Arc<dyn Clock>;

/// The system clock, plus an offset that [`Clock::advance`] moves forward.
#[derive(Debug, Default)]
pub struct SystemClock {
    offset_nanos: AtomicI64,
}

impl SystemClock {
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock::default())
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
pub struct VirtualClock {
    now: Mutex<Timestamp>,
}

impl VirtualClock {
    pub fn starting_now() -> Arc<VirtualClock> {
        Arc::new(VirtualClock {
            now: Mutex::new(Timestamp::now()),
        })
    }

    pub fn starting_at(at: Timestamp) -> Arc<VirtualClock> {
        Arc::new(VirtualClock {
            now: Mutex::new(at),
        })
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn advance(&self, by: SignedDuration) {
        if by.is_positive() {
            let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
            *now = now.checked_add(by).unwrap_or(Timestamp::MAX);
        }
    }

    fn sleep_until(&self, at: Timestamp) -> Wait {
        {
            let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
            if at > *now {
                *now = at;
            }
        }
        // Let other tasks (the in-process emulator) run, as a real wait would.
        Box::pin(tokio::task::yield_now())
    }

    fn is_virtual(&self) -> bool {
        true
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
}
