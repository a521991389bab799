//! A cue: when a step should start. `+15m` counts from the run's start; `meeting+15m`
//! from the meeting's start (the instant the run first obtained its control token,
//! kept when resumed); `10:00` or
//! `10:00:30` is a wall-clock time on the run's first day in the playbook's time zone;
//! `2026-11-22T10:00` is a date and time there; an RFC 3339 instant with an offset
//! (`2026-11-22T10:00:00+08:00`) is absolute. Daylight-saving changes follow jiff: a
//! time that does not exist that day moves forward, one that happens twice is the first.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{DateTime, Time};
use jiff::tz::TimeZone;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::duration::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Cue {
    /// After the run's start.
    After(Duration),
    /// After the meeting's start.
    Meeting(Duration),
    /// A time of day on the run's first day, in the playbook's time zone.
    Wall(Time),
    /// A date and time in the playbook's time zone.
    Civil(DateTime),
    /// An absolute instant.
    Instant(Timestamp),
}

/// How a cue counting from the meeting's start begins: `meeting+10m`.
const MEETING_PREFIX: &str = "meeting+";

/// What a cue does when the run reaches it too late (beyond its `grace`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Late {
    /// Run the step anyway, recording how late it was.
    #[default]
    Run,
    /// Skip the step.
    Skip,
    /// Fail the step (and, unless `on_error: continue`, the run).
    Fail,
}

impl Cue {
    /// Whether the cue needs the playbook's `timezone` to mean anything.
    pub fn needs_zone(&self) -> bool {
        matches!(self, Cue::Wall(_) | Cue::Civil(_))
    }

    /// Whether the cue counts from the meeting's start.
    pub fn is_meeting(&self) -> bool {
        matches!(self, Cue::Meeting(_))
    }

    /// The instant the cue stands for, for a run that started at `start`; a cue that
    /// counts from the meeting's start cannot be resolved here (see [`Cue::resolve_in`]).
    pub fn resolve(&self, start: Timestamp, zone: &TimeZone) -> Result<Timestamp, String> {
        self.resolve_in(start, None, zone)
    }

    /// The instant the cue stands for, for a run that started at `start` in a meeting
    /// that started at `meeting`, when that is known.
    pub fn resolve_in(
        &self,
        start: Timestamp,
        meeting: Option<Timestamp>,
        zone: &TimeZone,
    ) -> Result<Timestamp, String> {
        match self {
            Cue::After(after) => start.checked_add(after.signed()).map_err(|e| e.to_string()),
            Cue::Meeting(after) => meeting
                .ok_or_else(|| {
                    "counts from the meeting's start, which is not known here".to_owned()
                })?
                .checked_add(after.signed())
                .map_err(|e| e.to_string()),
            Cue::Wall(time) => {
                let day = start.to_zoned(zone.clone()).date();
                day.to_datetime(*time)
                    .to_zoned(zone.clone())
                    .map(|z| z.timestamp())
                    .map_err(|e| e.to_string())
            }
            Cue::Civil(datetime) => datetime
                .to_zoned(zone.clone())
                .map(|z| z.timestamp())
                .map_err(|e| e.to_string()),
            Cue::Instant(at) => Ok(*at),
        }
    }
}

/// `run --sim --start TIME`: the instant a rehearsal's clock starts at, read like a cue
/// against the real time now. Only a rehearsal can pretend to start at another time.
pub(crate) fn start_option(
    text: Option<&str>,
    sim: bool,
    zone: &TimeZone,
) -> Result<Option<Timestamp>, crate::error::Error> {
    use crate::error::Error;
    let Some(text) = text else { return Ok(None) };
    if !sim {
        return Err(Error::Usage(
            "--start needs --sim: a real run starts when it is started".into(),
        ));
    }
    text.parse::<Cue>()
        .and_then(|cue| cue.resolve(Timestamp::now(), zone))
        .map(Some)
        .map_err(|e| Error::Usage(format!("--start {text}: {e}")))
}

impl FromStr for Cue {
    type Err = String;

    fn from_str(text: &str) -> Result<Cue, String> {
        let text = text.trim();
        if let Some(after) = text.strip_prefix(MEETING_PREFIX) {
            return after.parse().map(Cue::Meeting).map_err(|e| {
                format!("invalid cue `{text}`: {e}; write meeting+10m (after the meeting's start)")
            });
        }
        if let Some(after) = text.strip_prefix('+') {
            return after
                .parse()
                .map(Cue::After)
                .map_err(|e| format!("invalid cue `{text}`: {e}"));
        }
        if let Ok(at) = text.parse::<Timestamp>() {
            return Ok(Cue::Instant(at));
        }
        if text.len() <= 8 && text.contains(':') {
            return text.parse::<Time>().map(Cue::Wall).map_err(|_| {
                format!("invalid cue `{text}`: a time of day is HH:MM or HH:MM:SS, like 10:00")
            });
        }
        text.parse::<DateTime>().map(Cue::Civil).map_err(|_| {
            format!(
                "invalid cue `{text}`: write +15m (after the run's start), meeting+15m (after the meeting's start), 10:00 (a time of day), 2026-11-22T10:00 (in the playbook's time zone) or 2026-11-22T10:00:00+08:00"
            )
        })
    }
}

impl fmt::Display for Cue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cue::After(after) => write!(f, "+{after}"),
            Cue::Meeting(after) => write!(f, "{MEETING_PREFIX}{after}"),
            Cue::Wall(time) => write!(f, "{}", time.strftime("%H:%M:%S")),
            Cue::Civil(datetime) => write!(f, "{datetime}"),
            Cue::Instant(at) => write!(f, "{at}"),
        }
    }
}

impl Serialize for Cue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Cue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Cue".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "When the step starts: +15m after the run's start, meeting+15m after the meeting's start (when emcee first obtained its control token), a time of day (10:00, 10:00:30) or a date and time (2026-11-22T10:00) in the playbook's time zone, or an RFC 3339 instant.",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> TimeZone {
        TimeZone::get("Europe/Berlin").unwrap()
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            "+15m".parse::<Cue>().unwrap(),
            Cue::After("15m".parse().unwrap())
        );
        assert!(matches!("10:00".parse::<Cue>().unwrap(), Cue::Wall(_)));
        assert!(matches!("10:00:30".parse::<Cue>().unwrap(), Cue::Wall(_)));
        assert!(matches!(
            "2026-11-22T10:00".parse::<Cue>().unwrap(),
            Cue::Civil(_)
        ));
        assert!(matches!(
            "2026-11-22T10:00:00+08:00".parse::<Cue>().unwrap(),
            Cue::Instant(_)
        ));
        assert_eq!(
            "meeting+10m".parse::<Cue>().unwrap(),
            Cue::Meeting("10m".parse().unwrap())
        );
        assert_eq!(
            "meeting+10m".parse::<Cue>().unwrap().to_string(),
            "meeting+10m"
        );
        for bad in [
            "25:00",
            "+soon",
            "tomorrow",
            "10",
            "+-5m",
            "meeting+",
            "meeting-5m",
        ] {
            assert!(bad.parse::<Cue>().is_err(), "{bad}");
        }
    }

    #[test]
    fn meeting_cues_count_from_the_meetings_start_when_it_is_known() {
        let run: Timestamp = "2026-11-22T09:50:00Z".parse().unwrap();
        let meeting: Timestamp = "2026-11-22T10:02:00Z".parse().unwrap();
        let cue: Cue = "meeting+10m".parse().unwrap();
        assert!(cue.is_meeting() && !cue.needs_zone());
        assert_eq!(
            cue.resolve_in(run, Some(meeting), &zone()).unwrap(),
            "2026-11-22T10:12:00Z".parse::<Timestamp>().unwrap()
        );
        let unknown = cue.resolve(run, &zone()).unwrap_err();
        assert!(unknown.contains("meeting's start"), "{unknown}");
        // The other forms do not depend on it.
        let after: Cue = "+10m".parse().unwrap();
        assert_eq!(
            after.resolve_in(run, Some(meeting), &zone()).unwrap(),
            after.resolve(run, &zone()).unwrap()
        );
    }

    #[test]
    fn wall_clock_cues_follow_the_zone_and_its_daylight_saving() {
        // 2026-03-29: Berlin springs forward at 02:00 to 03:00.
        let start: Timestamp = "2026-03-29T00:30:00+01:00".parse().unwrap();
        let before = "01:30"
            .parse::<Cue>()
            .unwrap()
            .resolve(start, &zone())
            .unwrap();
        let after = "03:30"
            .parse::<Cue>()
            .unwrap()
            .resolve(start, &zone())
            .unwrap();
        assert_eq!(
            after.duration_since(before),
            jiff::SignedDuration::from_hours(1),
            "02:00-03:00 does not exist"
        );
        // 02:30 does not exist that day: it moves forward to 03:30.
        let gap = "02:30"
            .parse::<Cue>()
            .unwrap()
            .resolve(start, &zone())
            .unwrap();
        assert_eq!(gap, after);
        // 2026-10-25: 02:00-03:00 happens twice; a cue takes the first.
        let start: Timestamp = "2026-10-25T00:30:00+02:00".parse().unwrap();
        let twice = "02:30"
            .parse::<Cue>()
            .unwrap()
            .resolve(start, &zone())
            .unwrap();
        assert_eq!(
            twice,
            "2026-10-25T02:30:00+02:00".parse::<Timestamp>().unwrap()
        );
        let relative = "+3h"
            .parse::<Cue>()
            .unwrap()
            .resolve(start, &zone())
            .unwrap();
        assert_eq!(
            relative.duration_since(start),
            jiff::SignedDuration::from_hours(3),
            "relative cues count real time"
        );
    }
}
