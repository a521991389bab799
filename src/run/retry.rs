//! The retry policy, explicit and logged: capped exponential backoff with full jitter
//! (a uniform wait between zero and the capped exponential delay), `Retry-After`
//! honoured when the server sends it, and only for transient failures.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::playbook::RetrySpec;

pub struct Backoff {
    delays: backon::ExponentialBackoff,
    pub attempts: u32,
    jitter: fastrand::Rng,
}

impl Backoff {
    pub fn new(spec: &RetrySpec) -> Backoff {
        let delays = ExponentialBuilder::default()
            .with_min_delay(spec.initial.std())
            .with_max_delay(spec.max.std().max(spec.initial.std()))
            .with_factor(2.0)
            .with_max_times(spec.attempts.saturating_sub(1) as usize)
            .build();
        Backoff {
            delays,
            attempts: spec.attempts,
            jitter: jitter(crate::determinism::deterministic()),
        }
    }

    /// The wait before the next attempt, or `None` when attempts are used up. The
    /// server's `Retry-After` wins over the computed delay.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        let capped = self.delays.next()?;
        Some(retry_after.unwrap_or_else(|| capped.mul_f64(self.jitter.f64())))
    }
}

/// The source of jitter: seeded under `EMCEE_DETERMINISTIC`, so that two rehearsals
/// wait alike.
fn jitter(deterministic: bool) -> fastrand::Rng {
    if deterministic {
        fastrand::Rng::with_seed(0x0065_6d63_6565)
    } else {
        fastrand::Rng::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Duration as D;

    #[test]
    fn waits_grow_to_the_cap_and_stop_after_the_attempts() {
        let spec = RetrySpec {
            attempts: 6,
            initial: D::from_millis(100),
            max: D::from_millis(400),
        };
        let mut backoff = Backoff::new(&spec);
        let waits: Vec<Duration> = std::iter::from_fn(|| backoff.next(None)).collect();
        assert_eq!(waits.len(), 5, "five retries after the first attempt");
        assert!(
            waits.iter().all(|w| *w <= Duration::from_millis(400)),
            "{waits:?}"
        );
        let mut backoff = Backoff::new(&spec);
        assert_eq!(
            backoff.next(Some(Duration::from_secs(2))),
            Some(Duration::from_secs(2))
        );
        // Seeded, two policies wait alike.
        let twice: Vec<Vec<Duration>> = (0..2)
            .map(|_| {
                let mut backoff = Backoff::new(&spec);
                backoff.jitter = jitter(true);
                std::iter::from_fn(|| backoff.next(None)).collect()
            })
            .collect();
        assert_eq!(twice[0], twice[1]);
        let mut none = Backoff::new(&RetrySpec {
            attempts: 1,
            ..spec
        });
        assert_eq!(none.next(None), None);
    }
}
