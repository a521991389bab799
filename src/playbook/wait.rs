//! The waiting actions' arguments: `wait` (a duration, or until a time) and `wait_for`
//! (someone joining, a headcount, a raised hand, someone in the waiting room, or any
//! condition), read by the executor and by the plan.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::selector::Selector;
use crate::duration::Duration;

/// A pause: a duration, or `{until}` a cue-like time.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(with = "WaitSchema")]
pub enum Wait {
    For(Duration),
    Until(crate::playbook::cue::Cue),
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum WaitSchema {
    For(Duration),
    Until {
        /// A time of day, a date and time in the playbook's time zone, or +15m after the start.
        until: crate::playbook::cue::Cue,
    },
}

impl<'de> Deserialize<'de> for Wait {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Until {
            until: crate::playbook::cue::Cue,
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

/// What to wait for; give exactly one of `joined`, `count`, `hand_raised`, `waiting`,
/// `condition`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::templated::allow_templates)]
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
    /// Someone matching this selector is in the waiting room (`{all: true}` for
    /// anyone), as the meeting's feed lists it: needs the feed (`events` not `off`).
    #[serde(default)]
    pub waiting: Option<Selector>,
    /// An expression over `participants` (the online list), e.g.
    /// `participants | selectattr('video') | list | length >= 3`.
    #[serde(default)]
    pub condition: Option<String>,
    /// How often to read the online list while the meeting's push feed is down or off;
    /// while it is up, every change is looked at as it comes.
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
            self.waiting.is_some(),
            self.condition.is_some(),
        ];
        match given.iter().filter(|g| **g).count() {
            1 => {}
            0 => return Err("say what to wait for: `joined`, `count`, `hand_raised`, `waiting` or `condition`".into()),
            _ => return Err("wait for one thing at a time: give only one of `joined`, `count`, `hand_raised`, `waiting`, `condition`".into()),
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
        } else if let Some(who) = &self.waiting {
            match who {
                Selector::Match(m)
                    if m.all
                        && m.name.is_none()
                        && m.id.is_none()
                        && m.phone.is_none()
                        && m.role.is_none() =>
                {
                    "someone in the waiting room".into()
                }
                who => format!("{who} in the waiting room"),
            }
        } else {
            format!("`{}`", self.condition.as_deref().unwrap_or(""))
        }
    }
}
