//! Retries, explicit and logged: an API call retried on transient failures only, with
//! capped exponential backoff and full jitter (a uniform wait between zero and the
//! capped exponential delay), `Retry-After` honoured when the server sends it, and the
//! call's final failure turned into the step's.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use super::event::{Event, StepId};
use super::step::StepFailure;
use crate::clock::SharedClock;
use crate::error::ExitCode;
use crate::mmc::{Client, Failure, Request, Response};
use crate::playbook::RetrySpec;

/// The wait after throttling without `Retry-After`, from and to.
const THROTTLED_MIN: Duration = Duration::from_secs(2);
const THROTTLED_MAX: Duration = Duration::from_secs(5);

pub(crate) struct Backoff {
    delays: backon::ExponentialBackoff,
    pub(crate) attempts: u32,
    jitter: fastrand::Rng,
}

impl Backoff {
    pub(crate) fn new(spec: &RetrySpec) -> Backoff {
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
    pub(crate) fn next(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        let capped = self.delays.next()?;
        Some(retry_after.unwrap_or_else(|| capped.mul_f64(self.jitter.f64())))
    }

    /// The wait after throttling: the server's `Retry-After`, or else 2 to 5 s as the
    /// gateway advises (a shorter wait would only be throttled again).
    pub(crate) fn next_throttled(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        self.delays.next()?;
        Some(retry_after.unwrap_or_else(|| {
            THROTTLED_MIN + (THROTTLED_MAX - THROTTLED_MIN).mul_f64(self.jitter.f64())
        }))
    }
}

/// One retry about to happen.
#[derive(Debug)]
pub(crate) struct RetryNote {
    attempt: u32,
    attempts: u32,
    delay: Duration,
    reason: String,
}

impl RetryNote {
    /// The event that shows this retry as it happens, for the step `id` named `name`.
    pub(crate) fn event(self, id: StepId, name: String) -> Event {
        Event::Retry {
            id,
            name,
            attempt: self.attempt,
            attempts: self.attempts,
            delay: self.delay,
            reason: self.reason,
        }
    }
}

/// One API call, retried on transient failures as `spec` says, waiting on the run's
/// clock (so a rehearsal on virtual time does not wait); `on_retry` hears of each
/// retry before its wait. A `Retry-After` that outlasts the step's `deadline` fails
/// the call at once rather than run the step out of time.
pub(crate) async fn send_with_retry(
    client: &Client,
    request: &Request,
    spec: &RetrySpec,
    clock: &SharedClock,
    deadline: Option<tokio::time::Instant>,
    mut on_retry: impl FnMut(RetryNote),
) -> Result<Response, StepFailure> {
    let mut backoff = Backoff::new(spec);
    let mut attempt = 1;
    loop {
        match client.send(request).await {
            Ok(response) => return Ok(response),
            Err(failure) if failure.retryable() => match if failure.throttled() {
                backoff.next_throttled(failure.retry_after())
            } else {
                backoff.next(failure.retry_after())
            } {
                Some(delay)
                    if failure.retry_after().is_some()
                        && !clock.is_virtual()
                        && deadline.is_some_and(|d| tokio::time::Instant::now() + delay > d) =>
                {
                    let mut step = api_failure(client, failure, attempt);
                    step.message = format!(
                        "{}: throttled, retry after {} s, beyond the step's time limit",
                        step.message,
                        delay.as_secs_f64().ceil()
                    );
                    return Err(step);
                }
                Some(delay) => {
                    attempt += 1;
                    on_retry(RetryNote {
                        attempt,
                        attempts: backoff.attempts,
                        delay,
                        reason: failure.brief(),
                    });
                    let until = clock
                        .now()
                        .checked_add(delay)
                        .unwrap_or(jiff::Timestamp::MAX);
                    clock.sleep_until(until).await;
                }
                None => return Err(api_failure(client, failure, attempt)),
            },
            Err(failure) => return Err(api_failure(client, failure, attempt)),
        }
    }
}

/// A call's final failure. Until the API has given (or accepted) a token, whatever
/// went wrong (refused, unreachable, no answer, not JSON) means it cannot be used:
/// exit 3. After that a failure is the step's own: exit 1.
fn api_failure(client: &Client, failure: Failure, attempts: u32) -> StepFailure {
    let tries = if attempts > 1 {
        format!(" (after {attempts} attempts)")
    } else {
        String::new()
    };
    let advice = failure
        .advice()
        .map(|advice| format!("; {advice}"))
        .unwrap_or_default();
    StepFailure {
        message: format!("{failure}{tries}{advice}"),
        exit: if client.connected() {
            ExitCode::Failed
        } else {
            ExitCode::Unreachable
        },
        participant_gone: failure.is_participant_not_found(),
        meeting_ended: failure.ends_meeting(client.connected()),
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
        // Throttled: 2 to 5 s unless the server says.
        let mut throttled = Backoff::new(&spec);
        for _ in 0..5 {
            let wait = throttled.next_throttled(None).unwrap();
            assert!((THROTTLED_MIN..=THROTTLED_MAX).contains(&wait), "{wait:?}");
        }
        assert_eq!(throttled.next_throttled(None), None, "attempts used up");
        let mut told = Backoff::new(&spec);
        assert_eq!(
            told.next_throttled(Some(Duration::from_secs(9))),
            Some(Duration::from_secs(9))
        );
    }
}
