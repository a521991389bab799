//! Every action a step can take, with its arguments. These types are the single
//! source for parsing, for the JSON Schema and for `emcee actions`: doc comments
//! become descriptions, and [`ActionInfo`] adds the API calls and an example.

use std::fmt;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::selector::{RoleMatch, Selector};
use crate::duration::Duration;

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
    /// Raise a participant's hand.
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
    /// Make a participant the host.
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
    /// Call people into the meeting.
    Invite(Invite),
    /// Change a participant's display name.
    Rename(Rename),
    /// Extend the meeting.
    Extend(Extend),
    /// End the meeting for everyone.
    EndMeeting(Empty),
    /// Read the online list, filtered; with `register`, store it for later steps.
    Participants(ParticipantFilter),
    /// Pause for a duration (`wait: 5m`), or until a time (`wait: { until: "10:30" }`).
    Wait(Wait),
    /// Wait until someone joins, a headcount is reached, a hand is raised, or any
    /// expression over `participants` holds, reading the online list every `poll`.
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
                super::schema::allow_templates(variant);
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
#[schemars(transform = super::schema::allow_templates)]
pub struct MuteAll {
    /// Whether participants may unmute themselves afterwards.
    #[serde(default = "yes")]
    pub allow_self_unmute: bool,
}

fn yes() -> bool {
    true
}

/// One person to call in, or a list of them.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(with = "InviteSchema")]
pub struct Invite(pub Vec<Invitee>);

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum InviteSchema {
    One(Invitee),
    Many(Vec<Invitee>),
}

impl<'de> Deserialize<'de> for Invite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InviteVisitor;
        impl<'de> Visitor<'de> for InviteVisitor {
            type Value = Invite;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a person `{name, phone}` or a list of them")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Invite, A::Error> {
                Ok(Invite(vec![Invitee::deserialize(
                    de::value::MapAccessDeserializer::new(map),
                )?]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Invite, A::Error> {
                let people =
                    Vec::<Invitee>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                if people.is_empty() {
                    return Err(de::Error::custom("the list of people to invite is empty"));
                }
                Ok(Invite(people))
            }
        }
        deserializer.deserialize_any(InviteVisitor)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::allow_templates)]
pub struct Invitee {
    /// Display name (at most 96 characters).
    pub name: String,
    /// SIP number (calls the client) or mobile number (a phone call).
    pub phone: String,
    /// What is called.
    #[serde(default, rename = "type")]
    pub kind: DeviceType,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeviceType {
    #[default]
    Normal,
    Terminal,
    Outside,
    Mobile,
    Ideahub,
    Board,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::allow_templates)]
pub struct Rename {
    /// Who to rename.
    pub who: Selector,
    /// The new display name (at most 96 characters).
    pub to: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::allow_templates)]
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
#[schemars(transform = super::schema::allow_templates)]
pub struct ParticipantFilter {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<RoleMatch>,
    /// Only those whose hand is (true) or is not (false) raised.
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
#[schemars(transform = super::schema::allow_templates)]
pub struct Http {
    /// GET, PUT, POST or DELETE.
    #[serde(default = "put")]
    pub method: HttpMethod,
    /// The path after the endpoint, e.g. `/v1/mmc/control/conferences/lock`: an
    /// absolute path of the API, without scheme, host, `..` or query.
    pub path: crate::mmc::ApiPath,
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

/// A pause: a duration, or `{until}` a cue-like time.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(with = "WaitSchema")]
pub enum Wait {
    For(Duration),
    Until(crate::plan::Cue),
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum WaitSchema {
    For(Duration),
    Until {
        /// A time of day, a date and time in the playbook's time zone, or +15m after the start.
        until: crate::plan::Cue,
    },
}

impl<'de> Deserialize<'de> for Wait {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Until {
            until: crate::plan::Cue,
        }
        struct WaitVisitor;
        impl<'de> Visitor<'de> for WaitVisitor {
            type Value = Wait;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration like 5m, or `{until: \"10:30\"}`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Wait, E> {
                v.parse().map(Wait::For).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Wait, A::Error> {
                Until::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|u| Wait::Until(u.until))
            }
        }
        deserializer.deserialize_any(WaitVisitor)
    }
}

/// What to wait for; give exactly one of `joined`, `count`, `hand_raised`, `condition`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::allow_templates)]
pub struct WaitFor {
    /// Someone matching this selector is online.
    #[serde(default)]
    pub joined: Option<Selector>,
    /// A headcount: `">= 20"`, `"> 5"`, `"== 3"`, `"< 2"` or just `20` (at least).
    #[serde(default)]
    pub count: Option<Headcount>,
    /// Someone matching this selector raised a hand; `true` for anyone.
    #[serde(default)]
    pub hand_raised: Option<HandRaised>,
    /// An expression over `participants` (the online list), e.g.
    /// `participants | selectattr('video') | list | length >= 3`.
    #[serde(default)]
    pub condition: Option<String>,
    /// How often to read the online list.
    #[serde(default = "ten_seconds")]
    pub poll: Duration,
    /// How long to wait before the step fails.
    #[serde(default = "ten_minutes")]
    pub timeout: Duration,
}

fn ten_seconds() -> Duration {
    Duration::from_secs(10)
}

fn ten_minutes() -> Duration {
    Duration::from_secs(600)
}

/// A comparison with a number of people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(with = "String")]
pub struct Headcount {
    pub op: Comparison,
    pub n: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    AtLeast,
    MoreThan,
    AtMost,
    LessThan,
    Exactly,
}

impl Headcount {
    pub fn holds(self, count: usize) -> bool {
        match self.op {
            Comparison::AtLeast => count >= self.n,
            Comparison::MoreThan => count > self.n,
            Comparison::AtMost => count <= self.n,
            Comparison::LessThan => count < self.n,
            Comparison::Exactly => count == self.n,
        }
    }
}

impl fmt::Display for Headcount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            Comparison::AtLeast => ">=",
            Comparison::MoreThan => ">",
            Comparison::AtMost => "<=",
            Comparison::LessThan => "<",
            Comparison::Exactly => "==",
        };
        write!(f, "{op} {}", self.n)
    }
}

impl std::str::FromStr for Headcount {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (op, rest) = [
            (">=", Comparison::AtLeast),
            ("<=", Comparison::AtMost),
            ("==", Comparison::Exactly),
            (">", Comparison::MoreThan),
            ("<", Comparison::LessThan),
            ("=", Comparison::Exactly),
        ]
        .iter()
        .find_map(|(prefix, op)| text.strip_prefix(prefix).map(|rest| (*op, rest)))
        .unwrap_or((Comparison::AtLeast, text));
        rest.trim()
            .parse()
            .map(|n| Headcount { op, n })
            .map_err(|_| {
                format!(
                    "invalid headcount `{text}`: write \">= 20\", \"> 5\", \"== 3\" or a number"
                )
            })
    }
}

impl<'de> Deserialize<'de> for Headcount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl Visitor<'_> for CountVisitor {
            type Value = Headcount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a headcount like \">= 20\" or 20")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Headcount, E> {
                Ok(Headcount {
                    op: Comparison::AtLeast,
                    n: v as usize,
                })
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Headcount, E> {
                usize::try_from(v)
                    .map(|n| Headcount {
                        op: Comparison::AtLeast,
                        n,
                    })
                    .map_err(|_| E::custom("a headcount cannot be negative"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Headcount, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(CountVisitor)
    }
}

/// `true` for anyone's hand, or a selector.
#[derive(Debug, Clone, PartialEq, JsonSchema)]
#[schemars(with = "HandRaisedSchema")]
pub enum HandRaised {
    Anyone,
    Who(Selector),
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum HandRaisedSchema {
    Anyone(bool),
    Who(Selector),
}

impl<'de> Deserialize<'de> for HandRaised {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Bool(true) => Ok(HandRaised::Anyone),
            serde_json::Value::Bool(false) => Err(de::Error::custom(
                "`hand_raised: false` waits for nothing; leave it out",
            )),
            other => Selector::deserialize(other)
                .map(HandRaised::Who)
                .map_err(de::Error::custom),
        }
    }
}

impl WaitFor {
    /// Checks that exactly one condition is given.
    pub fn validate(&self) -> Result<(), String> {
        let given = [
            self.joined.is_some(),
            self.count.is_some(),
            self.hand_raised.is_some(),
            self.condition.is_some(),
        ];
        match given.iter().filter(|g| **g).count() {
            1 => {}
            0 => return Err("say what to wait for: `joined`, `count`, `hand_raised` or `condition`".into()),
            _ => return Err("wait for one thing at a time: give only one of `joined`, `count`, `hand_raised`, `condition`".into()),
        }
        if self.poll.is_zero() {
            return Err("`poll` must be longer than zero".into());
        }
        Ok(())
    }

    /// What is awaited, for messages: `Bob Li to join`, `a headcount >= 20`.
    pub fn describe(&self) -> String {
        if let Some(who) = &self.joined {
            format!("{who} to join")
        } else if let Some(count) = &self.count {
            format!("a headcount {count}")
        } else if let Some(hand) = &self.hand_raised {
            match hand {
                HandRaised::Anyone => "a raised hand".into(),
                HandRaised::Who(who) => format!("{who} to raise a hand"),
            }
        } else {
            format!("`{}`", self.condition.as_deref().unwrap_or(""))
        }
    }
}

/// Reference information about one action, for `emcee actions`.
pub struct ActionInfo {
    pub name: &'static str,
    /// The API call(s) the action makes.
    pub calls: &'static [&'static str],
    pub example: &'static str,
}

const INFO: &str = "GET /v1/mmc/control/conferences/realTimeInfo";

/// Every action, in the order the reference lists them.
pub const ACTIONS: &[ActionInfo] = &[
    ActionInfo {
        name: "broadcast",
        calls: &[
            INFO,
            "PUT /v1/mmc/control/conferences/participants/broadcast",
        ],
        example: "broadcast: Alice Zhang",
    },
    ActionInfo {
        name: "cancel_broadcast",
        calls: &["PUT /v1/mmc/control/conferences/cancelBroadcast"],
        example: "cancel_broadcast: {}",
    },
    ActionInfo {
        name: "roll_call",
        calls: &[
            INFO,
            "PUT /v1/mmc/control/conferences/participants/rollCall",
        ],
        example: "roll_call: { phone: \"+8613800000002\" }",
    },
    ActionInfo {
        name: "raise_hand",
        calls: &[INFO, "PUT /v1/mmc/control/conferences/participants/hands"],
        example: "raise_hand: Bob Li",
    },
    ActionInfo {
        name: "lower_hand",
        calls: &[INFO, "PUT /v1/mmc/control/conferences/participants/hands"],
        example: "lower_hand: Bob Li",
    },
    ActionInfo {
        name: "lower_all_hands",
        calls: &[
            INFO,
            "PUT /v1/mmc/control/conferences/participants/batch/hands",
            INFO,
        ],
        example: "lower_all_hands: {}",
    },
    ActionInfo {
        name: "mute",
        calls: &[INFO, "PUT /v1/mmc/control/conferences/participants/mute"],
        example: "mute: { role: guest, all: true }",
    },
    ActionInfo {
        name: "unmute",
        calls: &[INFO, "PUT /v1/mmc/control/conferences/participants/mute"],
        example: "unmute: Carol Wu",
    },
    ActionInfo {
        name: "mute_all",
        calls: &[
            "PUT /v1/mmc/control/conferences/mute",
            INFO,
            "PUT /v1/mmc/control/conferences/participants/mute",
        ],
        example: "mute_all: { allow_self_unmute: false }",
    },
    ActionInfo {
        name: "unmute_all",
        calls: &["PUT /v1/mmc/control/conferences/mute"],
        example: "unmute_all: {}",
    },
    ActionInfo {
        name: "allow_self_unmute",
        calls: &["PUT /v1/mmc/control/conferences/mute/guestUnMute"],
        example: "allow_self_unmute: true",
    },
    ActionInfo {
        name: "set_host",
        calls: &[INFO, "PUT /v1/mmc/control/conferences/participants/role"],
        example: "set_host: Alice Zhang",
    },
    ActionInfo {
        name: "set_cohost",
        calls: &[INFO, "PUT /v1/mmc/control/conferences/participants/cohost"],
        example: "set_cohost: Carol Wu",
    },
    ActionInfo {
        name: "unset_cohost",
        calls: &[INFO, "PUT /v1/mmc/control/conferences/participants/cohost"],
        example: "unset_cohost: Carol Wu",
    },
    ActionInfo {
        name: "lock",
        calls: &["PUT /v1/mmc/control/conferences/lock"],
        example: "lock: {}",
    },
    ActionInfo {
        name: "unlock",
        calls: &["PUT /v1/mmc/control/conferences/lock"],
        example: "unlock: {}",
    },
    ActionInfo {
        name: "start_recording",
        calls: &["PUT /v1/mmc/control/conferences/record"],
        example: "start_recording: {}",
    },
    ActionInfo {
        name: "stop_recording",
        calls: &["PUT /v1/mmc/control/conferences/record"],
        example: "stop_recording: {}",
    },
    ActionInfo {
        name: "start_live",
        calls: &["PUT /v1/mmc/control/conferences/live"],
        example: "start_live: {}",
    },
    ActionInfo {
        name: "stop_live",
        calls: &["PUT /v1/mmc/control/conferences/live"],
        example: "stop_live: {}",
    },
    ActionInfo {
        name: "hang_up",
        calls: &[INFO, "POST /v1/mmc/control/conferences/participants/delete"],
        example: "hang_up: { name: Spam Caller, all: true }",
    },
    ActionInfo {
        name: "invite",
        calls: &["POST /v1/mmc/control/conferences/participants"],
        example: "invite: { name: Dan Zhou, phone: \"+8613800000004\" }",
    },
    ActionInfo {
        name: "rename",
        calls: &[INFO, "PUT /v1/mmc/control/conferences/participants/name"],
        example: "rename: { who: Bob Li, to: \"Bob Li (panel)\" }",
    },
    ActionInfo {
        name: "extend",
        calls: &["PUT /v1/mmc/control/conferences/duration"],
        example: "extend: { minutes: 30 }",
    },
    ActionInfo {
        name: "end_meeting",
        calls: &["PUT /v1/mmc/control/conferences/stop"],
        example: "end_meeting: {}",
    },
    ActionInfo {
        name: "participants",
        calls: &[INFO],
        example: "participants: { hand: true }\nregister: raised",
    },
    ActionInfo {
        name: "wait",
        calls: &[],
        example: "wait: 5m",
    },
    ActionInfo {
        name: "wait_for",
        calls: &[INFO],
        example: "wait_for: { count: \">= 20\", timeout: 15m }",
    },
    ActionInfo {
        name: "log",
        calls: &[],
        example: "log: \"{{ raised | length }} hands up\"",
    },
    ActionInfo {
        name: "assert",
        calls: &[],
        example: "assert: { that: \"raised | length < 10\", msg: too many hands }",
    },
    ActionInfo {
        name: "set",
        calls: &[],
        example: "set: { speaker: \"{{ panel[0] }}\" }",
    },
    ActionInfo {
        name: "include",
        calls: &[],
        example: "include: { file: common/open-doors.yaml, vars: { speaker: Bob Li } }",
    },
    ActionInfo {
        name: "http",
        calls: &["any control call"],
        example: "http: { method: PUT, path: /v1/mmc/control/conferences/lock, body: { isLock: 1 } }",
    },
];

/// The names of every action, in the order of [`ACTIONS`].
pub fn action_names() -> &'static [&'static str] {
    static NAMES: std::sync::LazyLock<Vec<&'static str>> =
        std::sync::LazyLock::new(|| ACTIONS.iter().map(|a| a.name).collect());
    &NAMES
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

pub fn info(name: &str) -> Option<&'static ActionInfo> {
    ACTIONS.iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_lists_agree_with_the_enum() {
        let schema = serde_json::to_value(schemars::schema_for!(Action)).unwrap();
        let variants: Vec<String> = schema["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| v["required"].as_array().cloned().unwrap_or_default())
            .map(|n| n.as_str().unwrap().to_owned())
            .collect();
        let mut sorted_variants = variants.clone();
        sorted_variants.sort();
        let mut sorted_names: Vec<String> = action_names().iter().map(|s| s.to_string()).collect();
        sorted_names.sort();
        assert_eq!(sorted_variants, sorted_names);
        for example in ACTIONS {
            let first_line = example.example.lines().next().unwrap();
            let (name, args) = first_line.split_once(':').unwrap();
            let args: serde_json::Value =
                serde_saphyr::from_str(args.trim()).unwrap_or(serde_json::Value::Null);
            let action = Action::from_parts(name, args)
                .unwrap_or_else(|e| panic!("{}: {e:?}", example.name));
            assert_eq!(action.name(), example.name);
        }
    }

    #[test]
    fn errors_name_the_field() {
        let (path, message) =
            Action::from_parts("mute_all", serde_json::json!({"allow_self_unmute": "no"}))
                .unwrap_err();
        assert_eq!(path, "allow_self_unmute");
        assert!(message.contains("boolean"), "{message}");
        let (_, message) = Action::from_parts("lock", serde_json::json!({"x": 1})).unwrap_err();
        assert!(message.contains("no arguments"), "{message}");
        assert!(Action::from_parts("wait", serde_json::json!("5x")).is_err());
    }
}
