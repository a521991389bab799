//! When to renew the control token, and how often at most. The service states each
//! token's lifetime; a lifetime already spent (a clock far off, or a broken answer)
//! must not make the client renew again at once, over and over: renewals are at
//! least [`FLOOR`] apart, and at most [`BUDGET`] are made in an hour.

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};

/// A token is never renewed sooner than this after it was obtained.
pub(super) const FLOOR: SignedDuration = SignedDuration::from_secs(1);
/// At most this many keep-alive renewals in [`WINDOW`]; tokens normally live for
/// hours, so a handful an hour is already unusual. Past it, the token is kept until
/// the API refuses it.
pub(super) const BUDGET: usize = 30;
pub(super) const WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// When to renew a token obtained `now` that lives `lifetime`: with a quarter of the
/// lifetime left, at most five minutes early, and never before [`FLOOR`].
pub(super) fn renew_at(now: Timestamp, lifetime: SignedDuration) -> Timestamp {
    let margin = (lifetime / 4).min(SignedDuration::from_mins(5));
    let wait = (lifetime - margin).max(FLOOR);
    now.checked_add(wait).unwrap_or(Timestamp::MAX)
}

/// The renewals made in the last [`WINDOW`].
#[derive(Debug, Default)]
pub(super) struct Budget {
    recent: VecDeque<Timestamp>,
}

impl Budget {
    /// Counts a renewal at `now`, or refuses it when [`BUDGET`] are already spent.
    pub(super) fn spend(&mut self, now: Timestamp) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|at| now.duration_since(*at) >= WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= BUDGET {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    #[test]
    fn renews_with_a_quarter_left_but_never_sooner_than_the_floor() {
        let now = at(0);
        assert_eq!(
            renew_at(now, SignedDuration::from_mins(8)),
            at(6 * 60),
            "a quarter early"
        );
        assert_eq!(
            renew_at(now, SignedDuration::from_hours(2)),
            at(115 * 60),
            "at most five minutes early"
        );
        assert_eq!(
            renew_at(now, SignedDuration::from_secs(2)),
            now.checked_add(SignedDuration::from_millis(1500)).unwrap()
        );
        // Expired already, or about to: the floor, not now.
        assert_eq!(renew_at(now, SignedDuration::from_secs(-3600)), at(1));
        assert_eq!(renew_at(now, SignedDuration::ZERO), at(1));
        assert_eq!(renew_at(now, SignedDuration::from_millis(900)), at(1));
        assert_eq!(
            renew_at(Timestamp::MAX, SignedDuration::from_mins(30)),
            Timestamp::MAX
        );
    }

    #[test]
    fn the_budget_refuses_past_its_size_and_recovers_after_the_window() {
        let mut budget = Budget::default();
        for i in 0..BUDGET as i64 {
            assert!(budget.spend(at(i * 30)), "renewal {i}");
        }
        let last = (BUDGET as i64 - 1) * 30;
        assert!(!budget.spend(at(last + 30)));
        assert!(!budget.spend(at(last + 60)));
        // The first renewal leaves the window an hour after it was made.
        assert!(budget.spend(at(3600)));
        assert!(!budget.spend(at(3601)));
    }
}
