//! Pacing by the API gateway's own count: every answer may carry
//! `X-APIG-Ratelimit-Api: remain:N,limit:L,time:1 minute` (and an `-Allenv` twin), and
//! once nothing remains of a call's quota the next one waits until the window has
//! passed, instead of being answered 429. The header is read by a pure function that
//! takes anything a server may send without failing.

use std::collections::HashMap;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// The per-API header, and its twin counted over all environments.
pub(super) const HEADERS: [&str; 2] = ["x-apig-ratelimit-api", "x-apig-ratelimit-api-allenv"];

/// The longest window believed: a longer one in a header would stall the run.
const LONGEST_WINDOW: Duration = Duration::from_secs(3600);

/// What one header says: calls left in the window, of how many, and the window's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Quota {
    pub(super) remain: u64,
    pub(super) limit: u64,
    pub(super) window: Duration,
}

/// Reads `remain:99,limit:100,time:1 minute`; `None` for anything else (a missing part,
/// a number that is not one, an unknown unit, a zero window).
pub(super) fn parse(value: &str) -> Option<Quota> {
    let (mut remain, mut limit, mut window) = (None, None, None);
    for part in value.split(',') {
        let (key, value) = part.split_once(':')?;
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "remain" => remain = Some(value.parse::<u64>().ok()?),
            "limit" => limit = Some(value.parse::<u64>().ok()?),
            "time" => window = Some(parse_window(value)?),
            _ => {}
        }
    }
    Some(Quota {
        remain: remain?,
        limit: limit?,
        window: window?,
    })
}

/// `1 minute`, `10 seconds`, `500 milliseconds`, `1 hour`, `minute`; capped at an hour.
fn parse_window(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (count, unit) = text.split_at(split);
    let count: u64 = if count.is_empty() {
        1
    } else {
        count.parse().ok()?
    };
    let unit_millis: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "millisecond" | "milliseconds" | "ms" => 1,
        "second" | "seconds" | "sec" | "s" => 1000,
        "minute" | "minutes" | "min" | "m" => 60_000,
        "hour" | "hours" | "h" => 3_600_000,
        _ => return None,
    };
    let millis = count.checked_mul(unit_millis)?;
    (millis > 0).then(|| Duration::from_millis(millis).min(LONGEST_WINDOW))
}

/// What the gateway last said of one key's quota, counted down by the calls sent since.
#[derive(Debug)]
struct Window {
    remain: u64,
    /// By then every call the gateway had counted has left its window.
    until: Timestamp,
}

/// The quotas heard, per call (`METHOD /path`, and its `-Allenv` twin), with the
/// calls sent and not yet answered, which the gateway's count may not include yet.
#[derive(Debug, Default)]
pub(super) struct Pacer {
    windows: HashMap<String, Window>,
    in_flight: HashMap<String, u64>,
}

impl Pacer {
    /// Lets a call to `key` go at `now`, counting it; or says when it may go.
    pub(super) fn admit(&mut self, key: &str, now: Timestamp) -> Result<(), Timestamp> {
        for header in HEADERS {
            let slot = format!("{header} {key}");
            match self.windows.get_mut(&slot) {
                Some(window) if now >= window.until => {
                    self.windows.remove(&slot);
                }
                Some(window) if window.remain == 0 => return Err(window.until),
                _ => {}
            }
        }
        for header in HEADERS {
            if let Some(window) = self.windows.get_mut(&format!("{header} {key}")) {
                window.remain -= 1;
            }
        }
        *self.in_flight.entry(key.to_owned()).or_default() += 1;
        Ok(())
    }

    /// A call to `key` was answered at `now` (or failed), with what its headers said.
    pub(super) fn heard(&mut self, key: &str, quotas: [Option<Quota>; 2], now: Timestamp) {
        let in_flight = self.in_flight.entry(key.to_owned()).or_default();
        *in_flight = in_flight.saturating_sub(1);
        let others = *in_flight;
        for (header, quota) in HEADERS.into_iter().zip(quotas) {
            let Some(quota) = quota else { continue };
            let window = SignedDuration::try_from(quota.window).unwrap_or(SignedDuration::MAX);
            self.windows.insert(
                format!("{header} {key}"),
                Window {
                    remain: quota.remain.min(quota.limit).saturating_sub(others),
                    until: now.checked_add(window).unwrap_or(Timestamp::MAX),
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(remain: u64, limit: u64, secs: u64) -> Option<Quota> {
        Some(Quota {
            remain,
            limit,
            window: Duration::from_secs(secs),
        })
    }

    #[test]
    fn reads_the_gateways_header() {
        assert_eq!(
            parse("remain:99,limit:100,time:1 minute"),
            quota(99, 100, 60)
        );
        assert_eq!(
            parse(" remain: 199 , limit:200, time:1 second"),
            quota(199, 200, 1)
        );
        assert_eq!(parse("limit:5,time:10 seconds,remain:0"), quota(0, 5, 10));
        assert_eq!(parse("remain:1,limit:2,time:minute"), quota(1, 2, 60));
        assert_eq!(
            parse("remain:1,limit:2,time:500 milliseconds").map(|q| q.window),
            Some(Duration::from_millis(500))
        );
        // Longer windows are capped, not believed.
        assert_eq!(
            parse("remain:1,limit:2,time:99999 hours"),
            quota(1, 2, 3600)
        );
    }

    #[test]
    fn anything_else_is_ignored_without_failing() {
        for hostile in [
            "",
            "garbage",
            "remain:,limit:100,time:1 minute",
            "remain:-1,limit:100,time:1 minute",
            "remain:99999999999999999999999,limit:100,time:1 minute",
            "remain:1,limit:100",
            "limit:100,time:1 minute",
            "remain:1,limit:100,time:1 fortnight",
            "remain:1,limit:100,time:0 minutes",
            "remain:1,limit:100,time:18446744073709551615 hours",
            "remain:1,limit:100,time:",
            "remain:1;limit:100;time:1 minute",
            "remain:1,limit:100,time:1 minute,",
            "ünïcödé:1,remain:1",
        ] {
            assert_eq!(parse(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn the_last_call_of_a_window_waits_for_the_window() {
        let start: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let mut pacer = Pacer::default();
        let key = "PUT /lock";
        // Nothing heard yet: calls go.
        assert!(pacer.admit(key, start).is_ok());
        pacer.heard(key, [quota(2, 3, 60), None], start);
        for _ in 0..2 {
            assert!(pacer.admit(key, start).is_ok());
        }
        // Both sent, none answered: the quota is spent.
        let until = start.checked_add(SignedDuration::from_secs(60)).unwrap();
        assert_eq!(pacer.admit(key, start), Err(until));
        // An answer counted before the other call arrived leaves that one out.
        pacer.heard(key, [quota(1, 3, 60), None], start);
        assert_eq!(pacer.admit(key, start), Err(until));
        pacer.heard(key, [quota(0, 3, 60), None], start);
        assert_eq!(pacer.admit(key, start), Err(until));
        // Another call is paced on its own; this one goes once the window has passed.
        assert!(pacer.admit("PUT /record", start).is_ok());
        assert!(pacer.admit(key, until).is_ok());
    }

    #[test]
    fn the_all_environments_quota_paces_too() {
        let start: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        let mut pacer = Pacer::default();
        pacer.admit("GET /x", start).unwrap();
        pacer.heard("GET /x", [quota(50, 100, 60), quota(0, 200, 1)], start);
        let second = start.checked_add(SignedDuration::from_secs(1)).unwrap();
        assert_eq!(pacer.admit("GET /x", start), Err(second));
        assert!(pacer.admit("GET /x", second).is_ok());
    }
}
