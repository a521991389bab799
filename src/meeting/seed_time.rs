//! When a seeded meeting is scheduled to start or end, as seed files, `POST
//! /_sim/meetings` and a playbook's `rehearsal:` write it: a duration after the
//! emulator's start (`10m`), or an RFC 3339 instant (`2026-12-02T10:00:00Z`).

use std::fmt;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::duration::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedTime {
    /// This long after the emulator starts (or after the meeting is added).
    After(Duration),
    /// At this instant.
    At(Timestamp),
}

impl SeedTime {
    pub fn parse(text: &str) -> Result<SeedTime, String> {
        let text = text.trim();
        if let Ok(instant) = text.parse::<Timestamp>() {
            return Ok(SeedTime::At(instant));
        }
        // A duration's own message explains a negative or overlong one; anything else
        // could have been meant either way.
        match text.parse::<Duration>() {
            Ok(after) => Ok(SeedTime::After(after)),
            Err(message) if text.starts_with('-') || message.contains("longer than") => {
                Err(message)
            }
            Err(_) => Err(format!(
                "invalid time `{text}`: write a duration after the emulator's start, like 10m, \
                 or an RFC 3339 instant, like 2026-12-02T10:00:00Z"
            )),
        }
    }

    /// The instant this names, for an emulator (or meeting) that started at `origin`.
    pub fn resolve(self, origin: Timestamp) -> Timestamp {
        match self {
            SeedTime::After(after) => origin.checked_add(after.signed()).unwrap_or(Timestamp::MAX),
            SeedTime::At(instant) => instant,
        }
    }
}

impl fmt::Display for SeedTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedTime::After(after) => after.fmt(f),
            SeedTime::At(instant) => instant.fmt(f),
        }
    }
}

impl Serialize for SeedTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SeedTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = SeedTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like 10m or an RFC 3339 instant")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<SeedTime, E> {
                SeedTime::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(TimeVisitor)
    }
}

impl JsonSchema for SeedTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SeedTime".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration after the emulator's start, like `10m`, or an RFC 3339 instant, like `2026-12-02T10:00:00Z`.",
            "type": "string"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_instants_are_read_and_resolved() {
        let origin: Timestamp = "2026-12-02T09:00:00Z".parse().unwrap();
        let after = SeedTime::parse("10m").unwrap();
        assert_eq!(after, SeedTime::After("10m".parse().unwrap()));
        assert_eq!(
            after.resolve(origin),
            "2026-12-02T09:10:00Z".parse::<Timestamp>().unwrap()
        );
        let at = SeedTime::parse("2026-12-02T18:00:00+08:00").unwrap();
        assert_eq!(
            at.resolve(origin),
            "2026-12-02T10:00:00Z".parse::<Timestamp>().unwrap()
        );
        assert_eq!(at.to_string(), "2026-12-02T10:00:00Z");
    }

    #[test]
    fn bad_times_say_what_is_accepted() {
        let message = SeedTime::parse("tomorrow").unwrap_err();
        assert!(message.contains("like 10m"), "{message}");
        assert!(message.contains("RFC 3339"), "{message}");
        let message = SeedTime::parse("-5m").unwrap_err();
        assert!(message.contains("negative"), "{message}");
        let message: Result<SeedTime, _> = serde_json::from_value(serde_json::json!(5));
        assert!(message.is_err());
    }
}
