//! Fault injection: rules matched by method and path that answer with an error, a 429,
//! added latency or a dropped connection — with a probability drawn from a seeded
//! generator, or on chosen calls — plus a configured rate limit, a token lifetime and
//! token rotation on keep-alive. Everything is decided under the emulator's lock, in
//! the order calls arrive, so a fixed seed and call sequence give the same faults.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use jiff::Timestamp;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::feed::hub::FeedFaults;
use crate::duration::Duration;

/// The body of `PUT /_sim/faults`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// Seeds the generator behind `probability`; the emulator's `--rng-seed` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// Lifetime of control tokens issued or kept alive from now on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_ttl: Option<Duration>,
    /// Keep-alive returns a new token string (and retires the old one).
    #[serde(default)]
    pub rotate_on_keepalive: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Faults of the push feed, for connections opened from now on.
    #[serde(default, skip_serializing_if = "FeedFaults::is_none")]
    pub feed: FeedFaults,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// HTTP method to match; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// An exact path, a prefix ending in `*`, or `*` for every API call (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Fire on each matching call with this probability.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Fire on these matching calls only, counted from 1.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "one_or_many"
    )]
    pub nth: Option<Vec<u64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorFault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleFault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<DropPoint>,
    /// Answer 200 without applying the call: a lost update, for testing read-back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ignore: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFault {
    pub status: u16,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg: Option<String>,
}

/// A 429 answer, with `Retry-After: <seconds>` when `retry_after` is given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleFault {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
}

/// Where a connection is dropped: before the call takes effect, or after it took
/// effect but before the answer is sent (the case that tests idempotent retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DropPoint {
    Before,
    After,
}

/// At most `limit` calls per method and path within any window of `per`; more answer
/// the API gateway's 429 `APIG.0308`. The gateway's own policy is per minute
/// (`{"limit": 100, "per": "1m"}`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub limit: u32,
    pub per: Duration,
    /// Send `Retry-After` with the seconds until a call would be accepted.
    #[serde(default)]
    pub retry_after: bool,
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u64>>, D::Error> {
    struct NthVisitor;
    impl<'de> Visitor<'de> for NthVisitor {
        type Value = Vec<u64>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a call number from 1, or a list of them")
        }
        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Vec<u64>, E> {
            Ok(vec![value])
        }
        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Vec<u64>, E> {
            u64::try_from(value)
                .map(|v| vec![v])
                .map_err(|_| E::invalid_value(de::Unexpected::Signed(value), &self))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u64>, A::Error> {
            let mut out = Vec::new();
            while let Some(value) = seq.next_element()? {
                out.push(value);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(NthVisitor).map(Some)
}

impl FaultConfig {
    /// Checks what serde cannot: ranges and that each rule does exactly one thing.
    pub fn validate(&self) -> Result<(), String> {
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate()
                .map_err(|e| format!("rules[{index}]: {e}"))?;
        }
        if let Some(ttl) = self.token_ttl
            && ttl.is_zero()
        {
            return Err("token_ttl: must be longer than zero".into());
        }
        if let Some(limit) = &self.rate_limit
            && (limit.limit == 0 || limit.per.is_zero())
        {
            return Err("rate_limit: `limit` and `per` must be greater than zero".into());
        }
        Ok(())
    }
}

impl FaultRule {
    fn validate(&self) -> Result<(), String> {
        let actions = [
            self.error.is_some(),
            self.throttle.is_some(),
            self.latency.is_some(),
            self.drop.is_some(),
            self.ignore,
        ];
        if actions.iter().filter(|set| **set).count() != 1 {
            return Err(
                "give exactly one of `error`, `throttle`, `latency`, `drop`, `ignore`".into(),
            );
        }
        if let Some(p) = self.probability {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("probability must be between 0 and 1, got {p}"));
            }
            if self.nth.is_some() {
                return Err("give `probability` or `nth`, not both".into());
            }
        }
        if let Some(nth) = &self.nth
            && (nth.is_empty() || nth.contains(&0))
        {
            return Err("`nth` counts matching calls from 1".into());
        }
        if let Some(error) = &self.error {
            if !(400..=599).contains(&error.status) {
                return Err(format!(
                    "error.status must be 400 to 599, got {}",
                    error.status
                ));
            }
            if error.code.is_empty() {
                return Err("error.code must not be empty".into());
            }
        }
        if let Some(path) = &self.path
            && path != "*"
            && !path.starts_with('/')
        {
            return Err(format!("path `{path}` must start with `/`, or be `*`"));
        }
        Ok(())
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = match self.path.as_deref() {
            None | Some("*") => true,
            Some(pattern) => match pattern.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => pattern == path,
            },
        };
        method_ok && path_ok
    }
}

/// What happens to one call.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Decision {
    pub latency: std::time::Duration,
    pub action: Option<Action>,
    /// While a rate is set: the calls left in the window, for the gateway's header.
    pub rate: Option<RateHeader>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Action {
    Error(ErrorFault),
    Throttle(Option<u32>),
    /// Over the configured rate: the gateway's answer, with `Retry-After` seconds if
    /// configured.
    OverRate(RateHeader, Option<u32>),
    Drop(DropPoint),
    Ignore,
}

/// The gateway's `X-APIG-Ratelimit-Api: remain:N,limit:N,time:1 minute`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RateHeader {
    pub remain: u32,
    pub limit: u32,
    /// The policy's period as the gateway writes it: `1 minute`, `1 second`.
    pub window: String,
}

impl RateHeader {
    pub(super) const NAME: &'static str = "x-apig-ratelimit-api";

    pub(super) fn value(&self) -> String {
        format!(
            "remain:{},limit:{},time:{}",
            self.remain, self.limit, self.window
        )
    }
}

/// A window as the gateway words it: `1 minute`, `2 minutes`, `1 second`; a window
/// that is not whole seconds in milliseconds.
fn window_words(window: jiff::SignedDuration) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let secs = window.as_secs();
    if window.subsec_nanos() != 0 {
        plural(
            i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            "millisecond",
        )
    } else if secs % 3600 == 0 {
        plural(secs / 3600, "hour")
    } else if secs % 60 == 0 {
        plural(secs / 60, "minute")
    } else {
        plural(secs, "second")
    }
}

impl Action {
    /// The name the request log records.
    pub(super) fn label(&self) -> &'static str {
        match self {
            Action::Error(_) => "error",
            Action::Throttle(_) | Action::OverRate(..) => "throttle",
            Action::Drop(DropPoint::Before) => "drop",
            Action::Drop(DropPoint::After) => "drop_after",
            Action::Ignore => "ignore",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(super) struct RuleCounter {
    /// Calls that matched the rule's method and path.
    pub matched: u64,
    /// Calls the rule acted on.
    pub fired: u64,
}

/// The live fault state: the configuration, its generator and counters.
#[derive(Debug)]
pub(super) struct Faults {
    config: FaultConfig,
    rng: ChaCha8Rng,
    counters: Vec<RuleCounter>,
    windows: HashMap<String, VecDeque<Timestamp>>,
}

/// What `GET /_sim/faults` shows.
#[derive(Debug, Serialize)]
pub(super) struct FaultsView<'a> {
    #[serde(flatten)]
    pub config: &'a FaultConfig,
    pub counters: &'a [RuleCounter],
}

impl Faults {
    pub(super) fn new(config: FaultConfig, default_seed: u64) -> Faults {
        let rng = ChaCha8Rng::seed_from_u64(config.seed.unwrap_or(default_seed));
        let counters = vec![RuleCounter::default(); config.rules.len()];
        Faults {
            config,
            rng,
            counters,
            windows: HashMap::new(),
        }
    }

    pub(super) fn view(&self) -> FaultsView<'_> {
        FaultsView {
            config: &self.config,
            counters: &self.counters,
        }
    }

    fn draw(&mut self) -> f64 {
        // 53 random bits make a uniform float in [0, 1).
        (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Decides the fate of one call. Every matching rule counts the call and, when it
    /// has a probability, draws — whether or not an earlier rule already fired — so a
    /// rule's behaviour does not depend on the rules before it.
    pub(super) fn decide(&mut self, method: &str, path: &str, now: Timestamp) -> Decision {
        let mut decision = Decision::default();
        for index in 0..self.config.rules.len() {
            if !self.config.rules[index].matches(method, path) {
                continue;
            }
            self.counters[index].matched += 1;
            let call = self.counters[index].matched;
            let rule = &self.config.rules[index];
            let fires = match (&rule.nth, rule.probability) {
                (Some(nth), _) => nth.contains(&call),
                (None, Some(p)) => self.draw() < p,
                (None, None) => true,
            };
            if !fires {
                continue;
            }
            let rule = &self.config.rules[index];
            if let Some(latency) = rule.latency {
                decision.latency += latency.std();
                self.counters[index].fired += 1;
                continue;
            }
            if decision.action.is_some() {
                continue;
            }
            decision.action = if let Some(error) = &rule.error {
                Some(Action::Error(error.clone()))
            } else if let Some(throttle) = &rule.throttle {
                Some(Action::Throttle(throttle.retry_after))
            } else if rule.ignore {
                Some(Action::Ignore)
            } else {
                rule.drop.map(Action::Drop)
            };
            self.counters[index].fired += 1;
        }
        // A call a rule already answered does not count against the rate; its answer
        // still tells what is left.
        let counts = decision.action.is_none();
        if let Some((header, over)) = self.rate_limited(method, path, now, counts) {
            if let Some(retry_after) = over {
                decision.action = Some(Action::OverRate(header.clone(), retry_after));
            }
            decision.rate = Some(header);
        }
        decision
    }

    /// Applies the configured rate limit, counting the call when `counts`: the header
    /// to send, and `Some(retry_after)` when the call is over the rate.
    fn rate_limited(
        &mut self,
        method: &str,
        path: &str,
        now: Timestamp,
        counts: bool,
    ) -> Option<(RateHeader, Option<Option<u32>>)> {
        let limit = self.config.rate_limit.as_ref()?;
        let window = limit.per.signed();
        let calls = self.windows.entry(format!("{method} {path}")).or_default();
        while calls
            .front()
            .is_some_and(|at| now.duration_since(*at) >= window)
        {
            calls.pop_front();
        }
        let header = |used: usize| RateHeader {
            remain: limit
                .limit
                .saturating_sub(u32::try_from(used).unwrap_or(u32::MAX)),
            limit: limit.limit,
            window: window_words(window),
        };
        if calls.len() < limit.limit as usize {
            if counts {
                calls.push_back(now);
            }
            return Some((header(calls.len()), None));
        }
        if !counts {
            return Some((header(calls.len()), None));
        }
        let retry_after = limit.retry_after.then(|| {
            let oldest = calls.front().copied().unwrap_or(now);
            let wait = window - now.duration_since(oldest);
            let secs = wait.as_secs() + i64::from(wait.subsec_nanos() > 0);
            u32::try_from(secs.max(1)).unwrap_or(u32::MAX)
        });
        Some((header(calls.len()), Some(retry_after)))
    }

    pub(super) fn token_ttl(&self) -> Option<Duration> {
        self.config.token_ttl
    }

    pub(super) fn rotate_on_keepalive(&self) -> bool {
        self.config.rotate_on_keepalive
    }

    pub(super) fn feed(&self) -> &FeedFaults {
        &self.config.feed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn config(json: &str) -> FaultConfig {
        let config: FaultConfig = serde_json::from_str(json).unwrap();
        config.validate().unwrap();
        config
    }

    #[test]
    fn nth_fires_on_exactly_those_calls() {
        let mut faults = Faults::new(
            config(r#"{"rules":[{"path":"/a","nth":[2,4],"error":{"status":503,"code":"X"}}]}"#),
            0,
        );
        let now = Timestamp::UNIX_EPOCH;
        let fired: Vec<bool> = (0..5)
            .map(|_| faults.decide("PUT", "/a", now).action.is_some())
            .collect();
        assert_eq!(fired, [false, true, false, true, false]);
        assert!(faults.decide("PUT", "/b", now).action.is_none());
        assert_eq!(faults.counters[0].matched, 5);
        assert_eq!(faults.counters[0].fired, 2);
    }

    #[test]
    fn probability_is_reproducible_for_a_seed() {
        let json = r#"{"seed":9,"rules":[{"probability":0.3,"drop":"before"}]}"#;
        let run = || {
            let mut faults = Faults::new(config(json), 0);
            (0..200)
                .map(|_| {
                    faults
                        .decide("GET", "/x", Timestamp::UNIX_EPOCH)
                        .action
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        let count = first.iter().filter(|f| **f).count();
        assert!((30..=90).contains(&count), "{count} of 200 at p=0.3");
    }

    #[test]
    fn rate_limit_answers_429_with_retry_after() {
        let mut faults = Faults::new(
            config(r#"{"rate_limit":{"limit":2,"per":"1m","retry_after":true}}"#),
            0,
        );
        let t0 = Timestamp::UNIX_EPOCH;
        assert!(faults.decide("PUT", "/a", t0).action.is_none());
        assert!(
            faults
                .decide("PUT", "/a", t0 + SignedDuration::from_secs(10))
                .action
                .is_none()
        );
        let over = faults.decide("PUT", "/a", t0 + SignedDuration::from_secs(20));
        let header = RateHeader {
            remain: 0,
            limit: 2,
            window: "1 minute".into(),
        };
        assert_eq!(
            over.action,
            Some(Action::OverRate(header.clone(), Some(40)))
        );
        assert_eq!(over.rate, Some(header));
        let other = faults.decide("PUT", "/b", t0);
        assert!(other.action.is_none());
        assert_eq!(
            other.rate.map(|r| r.value()).as_deref(),
            Some("remain:1,limit:2,time:1 minute")
        );
        assert!(
            faults
                .decide("PUT", "/a", t0 + SignedDuration::from_secs(60))
                .action
                .is_none()
        );
    }

    #[test]
    fn windows_are_worded_as_the_gateway_does() {
        let words = |secs: i64| window_words(SignedDuration::from_secs(secs));
        assert_eq!(words(60), "1 minute");
        assert_eq!(words(1), "1 second");
        assert_eq!(words(30), "30 seconds");
        assert_eq!(words(120), "2 minutes");
        assert_eq!(words(3600), "1 hour");
        assert_eq!(
            window_words(SignedDuration::from_millis(1500)),
            "1500 milliseconds"
        );
    }

    #[test]
    fn rules_are_checked() {
        let bad = |json: &str| {
            serde_json::from_str::<FaultConfig>(json)
                .unwrap()
                .validate()
                .unwrap_err()
        };
        assert!(bad(r#"{"rules":[{"path":"/a"}]}"#).contains("exactly one"));
        assert!(bad(r#"{"rules":[{"probability":2,"drop":"after"}]}"#).contains("between 0 and 1"));
        assert!(bad(r#"{"rules":[{"nth":0,"drop":"after"}]}"#).contains("from 1"));
        assert!(bad(r#"{"rules":[{"error":{"status":200,"code":"X"}}]}"#).contains("400 to 599"));
        assert!(bad(r#"{"rules":[{"path":"v1","latency":"1s"}]}"#).contains("start with"));
    }
}
