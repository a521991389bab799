//! `invite`: the people to call in, and whether the step waits for them to answer.
//! Written as one person, as a list, or as `people:` with the wait beside them.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::duration::Duration;

/// One person to call in, or a list of them; with `wait: answered` the step waits
/// until every callee has answered.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(with = "InviteSchema")]
pub struct Invite {
    pub people: Vec<Invitee>,
    pub wait: Option<InviteWait>,
    /// How long to wait for the answers; the step's own time limit when absent.
    pub timeout: Option<Duration>,
}

/// What an invitation's step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum InviteWait {
    /// Every callee is in the meeting; one who stops ringing without joining (busy,
    /// rejected, no answer) fails the step.
    Answered,
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum InviteSchema {
    One(InviteOne),
    Many(Vec<Invitee>),
    People(InvitePeople),
}

/// One person, and the wait.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::playbook::templated::allow_templates)]
struct InviteOne {
    /// Display name (at most 96 characters).
    name: String,
    /// SIP number (calls the client) or mobile number (a phone call).
    phone: String,
    /// What is called.
    #[serde(default, rename = "type")]
    kind: DeviceType,
    /// `answered`: the step waits until the callee has answered.
    #[serde(default)]
    wait: Option<InviteWait>,
    /// How long to wait for the answer; the step's own time limit when absent.
    #[serde(default)]
    timeout: Option<Duration>,
}

/// Several people, and the wait.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::playbook::templated::allow_templates)]
struct InvitePeople {
    /// Those to call in.
    people: Vec<Invitee>,
    /// `answered`: the step waits until every callee has answered.
    #[serde(default)]
    wait: Option<InviteWait>,
    /// How long to wait for the answers; the step's own time limit when absent.
    #[serde(default)]
    timeout: Option<Duration>,
}

impl Invite {
    fn new(
        people: Vec<Invitee>,
        wait: Option<InviteWait>,
        timeout: Option<Duration>,
    ) -> Result<Invite, String> {
        if people.is_empty() {
            return Err("the list of people to invite is empty".into());
        }
        if timeout.is_some() && wait.is_none() {
            return Err(
                "`timeout` is how long `wait: answered` waits; add `wait: answered`".into(),
            );
        }
        Ok(Invite {
            people,
            wait,
            timeout,
        })
    }
}

impl<'de> Deserialize<'de> for Invite {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InviteVisitor;
        impl<'de> Visitor<'de> for InviteVisitor {
            type Value = Invite;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a person `{name, phone}`, a list of them, or `{people, wait}`")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Invite, A::Error> {
                let map =
                    Map::<String, Value>::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let invite = if map.contains_key("people") {
                    let many =
                        InvitePeople::deserialize(Value::Object(map)).map_err(de::Error::custom)?;
                    Invite::new(many.people, many.wait, many.timeout)
                } else {
                    let one =
                        InviteOne::deserialize(Value::Object(map)).map_err(de::Error::custom)?;
                    let person = Invitee {
                        name: one.name,
                        phone: one.phone,
                        kind: one.kind,
                    };
                    Invite::new(vec![person], one.wait, one.timeout)
                };
                invite.map_err(de::Error::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Invite, A::Error> {
                let people =
                    Vec::<Invitee>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Invite::new(people, None, None).map_err(de::Error::custom)
            }
        }
        deserializer.deserialize_any(InviteVisitor)
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = crate::playbook::templated::allow_templates)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn invite(value: Value) -> Result<Invite, String> {
        Invite::deserialize(value).map_err(|e| e.to_string())
    }

    #[test]
    fn every_form_reads() {
        let one = invite(json!({"name": "Eve", "phone": "1"})).unwrap();
        assert_eq!((one.people.len(), one.wait, one.timeout), (1, None, None));
        let waited =
            invite(json!({"name": "Eve", "phone": "1", "wait": "answered", "timeout": "60s"}))
                .unwrap();
        assert_eq!(waited.wait, Some(InviteWait::Answered));
        assert_eq!(waited.timeout, Some(Duration::from_secs(60)));
        let many =
            invite(json!([{"name": "A", "phone": "1"}, {"name": "B", "phone": "2"}])).unwrap();
        assert_eq!((many.people.len(), many.wait), (2, None));
        let people =
            invite(json!({"people": [{"name": "A", "phone": "1"}], "wait": "answered"})).unwrap();
        assert_eq!(
            (people.people.len(), people.wait),
            (1, Some(InviteWait::Answered))
        );
    }

    #[test]
    fn mistakes_are_named() {
        assert!(invite(json!([])).unwrap_err().contains("empty"));
        assert!(invite(json!({"people": []})).unwrap_err().contains("empty"));
        assert!(
            invite(json!({"name": "Eve", "phone": "1", "timeout": "1m"}))
                .unwrap_err()
                .contains("add `wait: answered`")
        );
        assert!(
            invite(json!({"name": "Eve", "phone": "1", "wait": "joined"}))
                .unwrap_err()
                .contains("answered")
        );
        assert!(
            invite(json!({"name": "Eve"}))
                .unwrap_err()
                .contains("phone")
        );
    }
}
