//! The meeting as data: its id, the roles, and the seed shapes a rehearsal starts from
//! (a meeting, its participants and invitees). The emulator loads and plays them; the
//! playbook's `rehearsal:` section and the plan read them.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use super::rules::{InviteeSeed, MeetingRules, validate_invitees};
use super::seed_time::SeedTime;
use crate::duration::Duration;

/// Longest display name the service accepts (the invite call's limit).
pub(crate) const MAX_NAME_CHARS: usize = 96;
/// Most co-hosts a meeting may have.
pub(crate) const MAX_COHOSTS: usize = 100;

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingSeed {
    /// Generated (9 digits) when absent.
    pub id: Option<MeetingId>,
    #[serde(default = "default_subject")]
    pub subject: String,
    /// Required in a seed file; a rehearsal takes it from the playbook's `meeting`.
    pub host_password: Option<String>,
    pub guest_password: Option<String>,
    #[serde(default)]
    pub participants: Vec<ParticipantSeed>,
    /// People invited but not (yet) in the meeting, as `realTimeInfo.attendees` lists them.
    #[serde(default)]
    pub attendees: Vec<AttendeeSeed>,
    /// People in the waiting room: not online until the host admits them, seen only
    /// through the push feed. Guests only; `joins_after` is when they arrive there.
    #[serde(default)]
    pub waiting_room: Vec<ParticipantSeed>,
    /// `scheduled` (held only once its host joins or someone starts it), `active` (the
    /// default: running from the emulator's start) or `ended`.
    #[serde(default)]
    pub status: MeetingStatus,
    /// The scheduled start; the emulator's start when absent. Nothing happens at it:
    /// a scheduled meeting waits for its host or a start.
    pub starts_at: Option<SeedTime>,
    /// The scheduled end; `duration` after the start when absent.
    pub ends_at: Option<SeedTime>,
    /// Whether a guest's join (or `StartMeeting` with the guest password) starts it.
    #[serde(default)]
    pub guests_may_start: bool,
    /// Whether the meeting extends itself by 15 minutes at its scheduled end while
    /// someone is online, as the service does by default.
    #[serde(default = "yes")]
    pub auto_prolong: bool,
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub recording: bool,
    #[serde(default)]
    pub live: bool,
    #[serde(default)]
    pub mute_all: bool,
    #[serde(default = "yes")]
    pub allow_self_unmute: bool,
    /// Scheduled length from the start; 2 hours when absent. Not with `ends_at`.
    pub duration: Option<Duration>,
    /// The service's rules where its documents leave room for doubt (`hands: strict`).
    #[serde(default)]
    pub rules: MeetingRules,
    /// How each called number answers an invitation, by number; a number not listed
    /// answers after 2 s.
    #[serde(default)]
    pub invitees: indexmap::IndexMap<String, InviteeSeed>,
}

fn default_subject() -> String {
    "Rehearsal".into()
}

fn yes() -> bool {
    true
}

impl MeetingSeed {
    /// Checks what a single meeting can get wrong on its own.
    pub fn validate(&self) -> Result<(), String> {
        match self.host_password.as_deref() {
            None => return Err("`host_password` is required".into()),
            Some("") => return Err("`host_password` must not be empty".into()),
            Some(_) => {}
        }
        if self.guest_password.as_deref() == Some("") {
            return Err("`guest_password` must not be empty; leave it out instead".into());
        }
        self.validate_schedule()?;
        for participant in &self.participants {
            participant.validate()?;
        }
        for waiting in &self.waiting_room {
            waiting.validate_waiting()?;
        }
        validate_invitees(self.invitees.keys())?;
        let hosts: Vec<&str> = self
            .participants
            .iter()
            .filter(|p| p.role == Role::Host)
            .map(|p| p.name.as_str())
            .collect();
        if hosts.len() > 1 {
            return Err(format!(
                "a meeting has at most one host, this one has {}: {}",
                hosts.len(),
                hosts.join(", ")
            ));
        }
        let cohosts = self
            .participants
            .iter()
            .filter(|p| p.role == Role::Cohost)
            .count();
        if cohosts > MAX_COHOSTS {
            return Err(format!(
                "a meeting has at most {MAX_COHOSTS} co-hosts, this one has {cohosts}"
            ));
        }
        Ok(())
    }
}

impl MeetingSeed {
    /// The scheduled start and end, where they can be compared without knowing when
    /// the emulator starts (a duration against an instant is checked on adding).
    fn validate_schedule(&self) -> Result<(), String> {
        if let (Some(ends_at), Some(duration)) = (self.ends_at, self.duration) {
            return Err(format!(
                "`ends_at` ({ends_at}) and `duration` ({duration}) both set the scheduled end; give one of them"
            ));
        }
        let starts_at = self
            .starts_at
            .unwrap_or(SeedTime::After(Duration::default()));
        let ends_before = match (starts_at, self.ends_at) {
            (SeedTime::After(start), Some(SeedTime::After(end))) => end <= start,
            (SeedTime::At(start), Some(SeedTime::At(end))) => end <= start,
            _ => false,
        };
        if ends_before || self.duration.is_some_and(Duration::is_zero) {
            return Err(format!(
                "the scheduled end ({}) must come after the start ({starts_at})",
                self.ends_at
                    .map_or_else(|| "duration 0s".to_owned(), |e| e.to_string())
            ));
        }
        Ok(())
    }
}

/// A conference id: digits only. Generated ids have 9 digits, as the service's do;
/// longer and shorter ones are accepted so that any real meeting can be rehearsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MeetingId(pub String);

impl fmt::Display for MeetingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl MeetingId {
    pub fn parse(text: &str) -> Result<MeetingId, String> {
        if (6..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit()) {
            Ok(MeetingId(text.to_owned()))
        } else {
            Err(format!(
                "invalid meeting id `{text}`: a conference id is 6 to 20 digits, like 914044873"
            ))
        }
    }
}

impl JsonSchema for MeetingId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MeetingId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A conference id: 6 to 20 digits.",
            "anyOf": [
                {"type": "string", "pattern": "^[0-9]{6,20}$"},
                {"type": "integer", "minimum": 100000}
            ]
        })
    }
}

impl<'de> Deserialize<'de> for MeetingId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = MeetingId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a conference id of digits, like \"914044873\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<MeetingId, E> {
                MeetingId::parse(text).map_err(E::custom)
            }
            // An unquoted id in YAML is a number; accept it rather than make people quote.
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<MeetingId, E> {
                MeetingId::parse(&value.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<MeetingId, E> {
                MeetingId::parse(&value.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MeetingStatus {
    /// Not held yet: its host's join, or a start, opens it.
    Scheduled,
    #[default]
    Active,
    Ended,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Host,
    Cohost,
    #[default]
    Guest,
}

/// A participant's connection state, as `realTimeInfo` encodes it (0, 1, 2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParticipantState {
    #[default]
    InMeeting,
    Calling,
    Joining,
}

impl ParticipantState {
    pub fn code(self) -> u8 {
        match self {
            ParticipantState::InMeeting => 0,
            ParticipantState::Calling => 1,
            ParticipantState::Joining => 2,
        }
    }
}

/// A hand, written `raised`/`lowered` or as a boolean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hand(pub bool);

impl JsonSchema for Hand {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Hand".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A hand: `raised`, `lowered`, or a boolean.",
            "anyOf": [{"type": "boolean"}, {"enum": ["raised", "lowered"]}]
        })
    }
}

impl<'de> Deserialize<'de> for Hand {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HandVisitor;
        impl Visitor<'_> for HandVisitor {
            type Value = Hand;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`raised`, `lowered`, true or false")
            }
            fn visit_bool<E: de::Error>(self, raised: bool) -> Result<Hand, E> {
                Ok(Hand(raised))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Hand, E> {
                match text {
                    "raised" => Ok(Hand(true)),
                    "lowered" => Ok(Hand(false)),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
        }
        deserializer.deserialize_any(HandVisitor)
    }
}

/// A participant in the seed, or joining through `POST /_sim/meetings/{id}/participants`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParticipantSeed {
    pub name: String,
    /// A placeholder number is generated when absent.
    pub phone: Option<String>,
    #[serde(default)]
    pub role: Role,
    #[serde(default)]
    pub hand: Hand,
    #[serde(default)]
    pub mute: bool,
    #[serde(default)]
    pub video: bool,
    #[serde(default)]
    pub state: ParticipantState,
    /// Joins this long after the emulator starts (or after being added), instead of at
    /// once: the host's join starts a scheduled meeting, a guest's only if guests may
    /// start it. Without it, a participant of a scheduled meeting joins when it starts.
    #[serde(default)]
    pub joins_after: Option<Duration>,
    /// Leaves this long after the emulator starts.
    #[serde(default)]
    pub leaves_after: Option<Duration>,
    /// Raises their hand this long after the emulator starts.
    #[serde(default)]
    pub raises_hand_after: Option<Duration>,
}

impl ParticipantSeed {
    pub fn validate(&self) -> Result<(), String> {
        validate_name(&self.name)?;
        let joins = self.joins_after.unwrap_or_default();
        for (key, at) in [
            ("leaves_after", self.leaves_after),
            ("raises_hand_after", self.raises_hand_after),
        ] {
            if let Some(at) = at
                && at < joins
            {
                return Err(format!(
                    "participant {}: `{key}` ({at}) comes before `joins_after` ({joins})",
                    self.name
                ));
            }
        }
        if self.phone.as_deref() == Some("") {
            return Err(format!(
                "participant {}: `phone` must not be empty",
                self.name
            ));
        }
        Ok(())
    }
}

impl ParticipantSeed {
    /// Someone in the waiting room is a guest who has done nothing yet: what only an
    /// online participant has or does is refused rather than silently dropped.
    pub fn validate_waiting(&self) -> Result<(), String> {
        self.validate()?;
        let only_online = [
            ("role", self.role != Role::Guest),
            ("hand", self.hand.0),
            ("state", self.state != ParticipantState::InMeeting),
            ("leaves_after", self.leaves_after.is_some()),
            ("raises_hand_after", self.raises_hand_after.is_some()),
        ];
        match only_online.iter().find(|(_, given)| *given) {
            Some((key, _)) => Err(format!(
                "waiting room {}: `{key}` is for online participants; people wait as guests and join when admitted",
                self.name
            )),
            None => Ok(()),
        }
    }
}

pub(crate) fn validate_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("a participant's `name` must not be empty".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "name `{name}` is longer than {MAX_NAME_CHARS} characters"
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendeeSeed {
    pub name: String,
    pub phone: String,
}
