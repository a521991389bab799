//! The clock shared by the runner and the emulator. Everything that reads the time goes
//! through [`Clock`], so the emulator's token expiry can be moved forward in tests, and
//! a rehearsal can later run on virtual time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Timestamp;

    /// Moves this clock forward. Time never goes backwards: negative amounts are ignored.
    fn advance(&self, by: SignedDuration);
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
}
