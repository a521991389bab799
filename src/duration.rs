//! Durations as people write them in files and JSON bodies: `30m`, `1h 30m`, `500ms`.

use std::fmt;
use std::str::FromStr;

use jiff::SignedDuration;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration written with units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(SignedDuration);

impl Duration {
    /// The longest duration accepted anywhere: longer values are typing mistakes.
    pub const MAX: Duration = Duration(SignedDuration::from_hours(24 * 366));

    pub fn from_secs(secs: u32) -> Self {
        Duration(SignedDuration::from_secs(i64::from(secs)))
    }

    pub const fn from_secs_const(secs: i64) -> Self {
        Duration(SignedDuration::from_secs(secs))
    }

    pub fn from_millis(millis: u32) -> Self {
        Duration(SignedDuration::from_millis(i64::from(millis)))
    }

    pub fn signed(self) -> SignedDuration {
        self.0
    }

    pub fn std(self) -> std::time::Duration {
        // Never negative by construction.
        self.0.unsigned_abs()
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

/// A short human form of a std duration: `420ms`, `1.2s`, `3m 5s`.
pub(crate) fn human(duration: std::time::Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        format!("{millis}ms")
    } else if millis < 60_000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else if duration.as_secs() < 3600 {
        let secs = duration.as_secs();
        format!("{}m {}s", secs / 60, secs % 60)
    } else {
        let secs = duration.as_secs();
        match secs % 60 {
            0 => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
            s => format!("{}h {}m {s}s", secs / 3600, secs % 3600 / 60),
        }
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed: SignedDuration = text.trim().parse().map_err(|_| {
            format!("invalid duration `{text}`: write a number with a unit, like 500ms, 30s, 5m or 1h 30m")
        })?;
        if parsed.is_negative() {
            return Err(format!("invalid duration `{text}`: must not be negative"));
        }
        if parsed > Self::MAX.0 {
            return Err(format!("invalid duration `{text}`: longer than a year"));
        }
        Ok(Duration(parsed))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl schemars::JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration with units: 500ms, 30s, 5m, 1h 30m.",
            "pattern": "^\\s*([0-9]|\\{\\{)"
        })
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_forms() {
        let h = |secs: f64| human(std::time::Duration::from_secs_f64(secs));
        assert_eq!(h(0.42), "420ms");
        assert_eq!(h(1.25), "1.2s");
        assert_eq!(h(150.0), "2m 30s");
        assert_eq!(h(5400.0), "1h 30m");
        assert_eq!(h(5405.0), "1h 30m 5s");
    }

    #[test]
    fn parses_and_prints_friendly_units() {
        let d: Duration = "1h 30m".parse().unwrap();
        assert_eq!(d.std(), std::time::Duration::from_secs(5400));
        assert_eq!(d.to_string(), "1h 30m");
        assert_eq!("500ms".parse::<Duration>().unwrap().to_string(), "500ms");
        assert!("2".parse::<Duration>().unwrap_err().contains("with a unit"));
        assert!("-5s".parse::<Duration>().unwrap_err().contains("negative"));
        assert!("900000h".parse::<Duration>().unwrap_err().contains("year"));
    }
}
