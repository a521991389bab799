//! Every action a step can take, with its arguments. These types are the single
//! source for parsing, for the JSON Schema and for `emcee actions`: doc comments
//! become descriptions, and the catalogue ([`super::catalogue`]) adds the API calls
//! and an example. The waiting actions' arguments are in [`super::wait`].

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::selector::{RoleMatch, Selector};
use super::wait::{Wait, WaitFor};

mod invite;
mod waiting;

pub(crate) use invite::{DeviceType, Invite, InviteWait};
pub(crate) use waiting::Targets;

/// What a step does. Written as a single key of the step: `broadcast: Alice Zhang`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
#[schemars(transform = allow_templates_in_variants)]
pub enum Action {
    /// Show one participant's video to everyone (replaces any broadcast or roll call).
    Broadcast(Selector),
    /// Stop broadcasting, whether a participant, a multi-picture or a roll call.
    CancelBroadcast(Empty),
    /// Give one participant the floor: they and the host are unmuted, everyone else muted.
    RollCall(Selector),
    /// Raise a participant's hand. The service never raises the host's, and may let
    /// people raise only their own.
    RaiseHand(Selector),
    /// Lower a participant's hand.
    LowerHand(Selector),
    /// Lower every raised hand: read the online list, lower hands in batches of at most
    /// 100, read back and retry any still up.
    LowerAllHands(Empty),
    /// Mute a participant's microphone.
    Mute(Selector),
    /// Unmute a participant's microphone.
    Unmute(Selector),
    /// Mute everyone but the host, then read back and mute anyone still unmuted.
    MuteAll(MuteAll),
    /// Unmute everyone.
    UnmuteAll(Empty),
    /// Whether participants may unmute themselves.
    AllowSelfUnmute(bool),
    /// Make a participant the host; the host password is sent as `chairmanPwd`, so a
    /// playbook with a token instead cannot.
    SetHost(Selector),
    /// Make a participant co-host (guests only; at most 100).
    SetCohost(Selector),
    /// Take the co-host role from a participant.
    UnsetCohost(Selector),
    /// Lock the meeting: guests can no longer join by themselves.
    Lock(Empty),
    /// Unlock the meeting.
    Unlock(Empty),
    /// Start cloud recording.
    StartRecording(Empty),
    /// Stop cloud recording.
    StopRecording(Empty),
    /// Start the live stream.
    StartLive(Empty),
    /// Stop the live stream.
    StopLive(Empty),
    /// Remove participants from the meeting.
    HangUp(Selector),
    /// Call people into the meeting; with `wait: answered`, wait until they answer
    /// (looked at on every change the push feed tells of, else read every 2 s).
    Invite(Invite),
    /// Change a participant's display name.
    Rename(Rename),
    /// Extend the meeting.
    Extend(Extend),
    /// End the meeting for everyone.
    EndMeeting(Empty),
    /// Let people in from the waiting room. One person, a list, or `{all: true}` for
    /// everyone waiting (one call). People are picked by name, phone or id from the
    /// waiting list, which only the meeting's push feed gives: naming them needs the feed
    /// (`events` not `off`), and while it is down the step waits for it within its time
    /// limit.
    Admit(Targets),
    /// Send online participants to the waiting room. One person with the single call;
    /// several (a list, or `all: true`) with one batch call. The host cannot be moved.
    MoveToWaitingRoom(Targets),
    /// Read the online list, filtered; with `register`, store it for later steps: a
    /// list of `{pid, name, phone, role, hand, mute, video, state}`. It comes from the
    /// meeting's push feed while that is up (no API call), else from a read. With
    /// `hand: true` the raised hands come earliest first, each with `order_known`: a
    /// Q&A loop takes `raised[0]` for the first hand up.
    Participants(ParticipantFilter),
    /// Pause for a duration (`wait: 5m`), or until a time (`wait: { until: "10:30" }`).
    Wait(Wait),
    /// Wait until someone joins, a headcount is reached, a hand is raised, someone is in
    /// the waiting room, or any expression over `participants` holds: looked at again
    /// on every change the meeting's push feed tells of (returning at once when it
    /// holds), or, while the feed is down or off, by reading the online list every
    /// `poll` (`waiting` needs the feed: there is no list to read).
    WaitFor(WaitFor),
    /// Print a message.
    Log(Log),
    /// Fail the step unless every expression is true.
    Assert(Assert),
    /// Set variables for the following steps.
    Set(IndexMap<String, serde_json::Value>),
    /// Run the steps of another file (a list of steps, or a map with `steps` and default
    /// `vars`), with `vars`; the path is relative to this file.
    Include(Include),
    /// A raw control call with the meeting's token: the escape hatch.
    Http(Http),
}

/// Each variant of the externally tagged enum is an object with one property.
fn allow_templates_in_variants(schema: &mut schemars::Schema) {
    if let Some(variants) = schema
        .get_mut("oneOf")
        .and_then(serde_json::Value::as_array_mut)
    {
        for variant in variants {
            if let Ok(variant) = <&mut schemars::Schema>::try_from(variant) {
                super::templated::allow_templates(variant);
            }
        }
    }
}

/// An action without arguments: written `lock: {}` or `lock:`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[schemars(with = "Option<EmptyMap>")]
pub struct Empty;

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
struct EmptyMap {}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EmptyVisitor;
        impl<'de> Visitor<'de> for EmptyVisitor {
            type Value = Empty;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("nothing, or an empty map `{}`")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Empty, E> {
                Ok(Empty)
            }
            fn visit_none<E: de::Error>(self) -> Result<Empty, E> {
                Ok(Empty)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Empty, A::Error> {
                match map.next_key::<String>()? {
                    None => Ok(Empty),
                    Some(key) => Err(de::Error::custom(format!(
                        "this action takes no arguments, but `{key}` was given"
                    ))),
                }
            }
        }
        deserializer.deserialize_any(EmptyVisitor)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::templated::allow_templates)]
pub struct MuteAll {
    /// Whether participants may unmute themselves afterwards.
    #[serde(default = "yes")]
    pub allow_self_unmute: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::templated::allow_templates)]
pub struct Rename {
    /// Who to rename.
    pub who: Selector,
    /// The new display name (at most 96 characters).
    pub to: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::templated::allow_templates)]
pub struct Extend {
    /// Minutes to add (1 to 1440).
    #[serde(default = "fifteen")]
    pub minutes: u32,
    /// Extend automatically instead of by `minutes`.
    #[serde(default)]
    pub auto: bool,
}

fn fifteen() -> u32 {
    15
}

/// Which online participants to list; every given field must match.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::templated::allow_templates)]
pub struct ParticipantFilter {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<RoleMatch>,
    /// Only those whose hand is (true) or is not (false) raised. With `true`, in the
    /// order the hands went up as the push feed saw it, earliest first; each entry then
    /// has `order_known`, false for hands already up when the feed opened (listed
    /// first, in list order) and for all of them while the feed is down or off.
    #[serde(default)]
    pub hand: Option<bool>,
    #[serde(default)]
    pub mute: Option<bool>,
    #[serde(default)]
    pub video: Option<bool>,
}

/// A message, or `{msg, level}`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(with = "LogSchema")]
pub struct Log {
    pub msg: String,
    pub level: LogLevel,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum LogSchema {
    Text(String),
    Full {
        msg: String,
        #[serde(default)]
        level: LogLevel,
    },
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    #[default]
    Info,
    Warn,
}

impl<'de> Deserialize<'de> for Log {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            msg: String,
            #[serde(default)]
            level: LogLevel,
        }
        struct LogVisitor;
        impl<'de> Visitor<'de> for LogVisitor {
            type Value = Log;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message, or `{msg, level}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Log, E> {
                Ok(Log {
                    msg: v.to_owned(),
                    level: LogLevel::Info,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Log, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Log, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Log, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Log, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Log, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Log {
                    msg: full.msg,
                    level: full.level,
                })
            }
        }
        deserializer.deserialize_any(LogVisitor)
    }
}

/// Expressions that must all be true: one, a list, or `{that, msg}`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(with = "AssertSchema")]
pub struct Assert {
    pub that: Vec<String>,
    pub msg: Option<String>,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum AssertSchema {
    One(String),
    Many(Vec<String>),
    Full {
        that: ExpressionsSchema,
        msg: Option<String>,
    },
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ExpressionsSchema {
    One(String),
    Many(Vec<String>),
}

impl<'de> Deserialize<'de> for Assert {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Full {
            that: OneOrMany,
            msg: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        struct AssertVisitor;
        impl<'de> Visitor<'de> for AssertVisitor {
            type Value = Assert;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an expression, a list of them, or `{that, msg}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Assert, E> {
                Ok(Assert {
                    that: vec![v.to_owned()],
                    msg: None,
                })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Assert, A::Error> {
                let that = Vec::<String>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Assert { that, msg: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Assert, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let that = match full.that {
                    OneOrMany::One(one) => vec![one],
                    OneOrMany::Many(many) => many,
                };
                Ok(Assert {
                    that,
                    msg: full.msg,
                })
            }
        }
        deserializer.deserialize_any(AssertVisitor)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::templated::allow_templates)]
pub struct Http {
    /// GET, PUT, POST or DELETE.
    #[serde(default = "put")]
    pub method: HttpMethod,
    /// The path after the endpoint, e.g. `/v1/mmc/control/conferences/lock`: an
    /// absolute path of the API, without scheme, host, `..` or query.
    pub path: crate::meeting::ApiPath,
    /// Query parameters; `conferenceID` is added when absent.
    #[serde(default)]
    pub query: IndexMap<String, String>,
    /// A JSON body.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// The status that counts as success (any 2xx when absent).
    #[serde(default)]
    pub expect: Option<u16>,
}

fn put() -> HttpMethod {
    HttpMethod::Put
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Put,
    Post,
    Delete,
}

/// `include: other.yaml`, or `include: { file: other.yaml, vars: {...} }`.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(with = "IncludeSchema")]
pub struct Include;

#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(deny_unknown_fields)]
#[allow(dead_code)]
enum IncludeSchema {
    File(String),
    WithVars {
        /// The file, relative to this one.
        file: String,
        /// Variables for the included steps.
        #[serde(default)]
        vars: IndexMap<String, serde_json::Value>,
    },
}

impl<'de> Deserialize<'de> for Include {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Includes are resolved when the playbook is loaded; only the shape is checked here.
        IncludeSchema::deserialize(deserializer).map(|_| Include)
    }
}

impl<'de> Deserialize<'de> for IncludeSchema {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct WithVars {
            file: String,
            #[serde(default)]
            vars: IndexMap<String, serde_json::Value>,
        }
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(file) => Ok(IncludeSchema::File(file)),
            other => WithVars::deserialize(other)
                .map(|w| IncludeSchema::WithVars {
                    file: w.file,
                    vars: w.vars,
                })
                .map_err(de::Error::custom),
        }
    }
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Broadcast(_) => "broadcast",
            Action::CancelBroadcast(_) => "cancel_broadcast",
            Action::RollCall(_) => "roll_call",
            Action::RaiseHand(_) => "raise_hand",
            Action::LowerHand(_) => "lower_hand",
            Action::LowerAllHands(_) => "lower_all_hands",
            Action::Mute(_) => "mute",
            Action::Unmute(_) => "unmute",
            Action::MuteAll(_) => "mute_all",
            Action::UnmuteAll(_) => "unmute_all",
            Action::AllowSelfUnmute(_) => "allow_self_unmute",
            Action::SetHost(_) => "set_host",
            Action::SetCohost(_) => "set_cohost",
            Action::UnsetCohost(_) => "unset_cohost",
            Action::Lock(_) => "lock",
            Action::Unlock(_) => "unlock",
            Action::StartRecording(_) => "start_recording",
            Action::StopRecording(_) => "stop_recording",
            Action::StartLive(_) => "start_live",
            Action::StopLive(_) => "stop_live",
            Action::HangUp(_) => "hang_up",
            Action::Invite(_) => "invite",
            Action::Rename(_) => "rename",
            Action::Extend(_) => "extend",
            Action::EndMeeting(_) => "end_meeting",
            Action::Admit(_) => "admit",
            Action::MoveToWaitingRoom(_) => "move_to_waiting_room",
            Action::Participants(_) => "participants",
            Action::Wait(_) => "wait",
            Action::WaitFor(_) => "wait_for",
            Action::Log(_) => "log",
            Action::Assert(_) => "assert",
            Action::Set(_) => "set",
            Action::Include(_) => "include",
            Action::Http(_) => "http",
        }
    }

    /// Who the action is aimed at, for actions aimed at participants.
    pub fn selector(&self) -> Option<&Selector> {
        match self {
            Action::Broadcast(s)
            | Action::RollCall(s)
            | Action::RaiseHand(s)
            | Action::LowerHand(s)
            | Action::Mute(s)
            | Action::Unmute(s)
            | Action::SetHost(s)
            | Action::SetCohost(s)
            | Action::UnsetCohost(s)
            | Action::HangUp(s) => Some(s),
            Action::Rename(rename) => Some(&rename.who),
            // The waiting list is not the online list: `admit` has no selector here.
            Action::MoveToWaitingRoom(Targets::One(s)) => Some(s),
            _ => None,
        }
    }

    /// Builds an action from its name and rendered arguments.
    pub fn from_parts(name: &str, args: serde_json::Value) -> Result<Action, (String, String)> {
        let value = serde_json::json!({ name: args });
        serde_path_to_error::deserialize::<_, Action>(value).map_err(|error| {
            let path = error.path().to_string();
            // The path starts at the action name; the node's paths start below it.
            let path = path
                .strip_prefix(name)
                .unwrap_or(&path)
                .trim_start_matches('.')
                .to_owned();
            (path, error.into_inner().to_string())
        })
    }
}

#[cfg(test)]
mod tests;
