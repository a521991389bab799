//! The retry policy, explicit and logged: capped exponential backoff with full jitter
//! (a uniform wait between zero and the capped exponential delay), `Retry-After`
//! honoured when the server sends it, and only for transient failures.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::playbook::RetrySpec;

pub struct Backoff {
    delays: backon::ExponentialBackoff,
    pub attempts: u32,
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
        }
    }

    /// The wait before the next attempt, or `None` when attempts are used up. The
    /// server's `Retry-After` wins over the computed delay.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        let capped = self.delays.next()?;
        Some(retry_after.unwrap_or_else(|| full_jitter(capped)))
    }
}

fn full_jitter(cap: Duration) -> Duration {
    cap.mul_f64(fastrand::f64())
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
        let mut none = Backoff::new(&RetrySpec {
            attempts: 1,
            ..spec
        });
        assert_eq!(none.next(None), None);
    }
}
