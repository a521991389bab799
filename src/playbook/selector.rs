//! Who a participant action is aimed at: a display name, or a match on id, phone,
//! name or role, optionally covering everyone it matches.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A participant selector: a plain string is a display name (exact, case-insensitive);
/// a map matches on any of `id`, `phone`, `name`, `role`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Selector {
    /// A display name, matched exactly but case-insensitively.
    Name(String),
    Match(SelectorMatch),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::allow_templates)]
pub struct SelectorMatch {
    /// Display name, exact but case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The participant's id (`pid`) in the online list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Phone or SIP number, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleMatch>,
    /// Act on everyone matched instead of refusing when several match.
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleMatch {
    Host,
    Cohost,
    Guest,
}

impl fmt::Display for RoleMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RoleMatch::Host => "host",
            RoleMatch::Cohost => "cohost",
            RoleMatch::Guest => "guest",
        })
    }
}

impl Selector {
    pub fn all(&self) -> bool {
        matches!(self, Selector::Match(m) if m.all)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Name(name) => write!(f, "{name}"),
            Selector::Match(m) => {
                let mut parts = Vec::new();
                if let Some(name) = &m.name {
                    parts.push(format!("name {name}"));
                }
                if let Some(id) = &m.id {
                    parts.push(format!("id {id}"));
                }
                if let Some(phone) = &m.phone {
                    parts.push(format!("phone {phone}"));
                }
                if let Some(role) = &m.role {
                    parts.push(format!("role {role}"));
                }
                if m.all {
                    parts.push("all".into());
                }
                f.write_str(&parts.join(", "))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Selector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SelectorVisitor;
        impl<'de> Visitor<'de> for SelectorVisitor {
            type Value = Selector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a participant's name, or a map of id, phone, name, role, all")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Selector, E> {
                if v.trim().is_empty() {
                    return Err(E::custom("a participant's name must not be empty"));
                }
                Ok(Selector::Name(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Selector, A::Error> {
                let m = SelectorMatch::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if m.name.is_none()
                    && m.id.is_none()
                    && m.phone.is_none()
                    && m.role.is_none()
                    && !m.all
                {
                    return Err(de::Error::custom(
                        "a selector needs at least one of name, id, phone, role (or all: true)",
                    ));
                }
                Ok(Selector::Match(m))
            }
        }
        deserializer.deserialize_any(SelectorVisitor)
    }
}

/// Whether a rehearsal participant fits a selector, as far as a plan can tell (ids are
/// given only when the emulator starts): for estimates before a run.
pub fn seed_matches(wanted: &SelectorMatch, seed: &crate::sim::ParticipantSeed) -> bool {
    use crate::sim::Role;
    wanted
        .name
        .as_ref()
        .is_none_or(|n| n.to_lowercase() == seed.name.to_lowercase())
        && wanted
            .phone
            .as_ref()
            .is_none_or(|p| seed.phone.as_ref() == Some(p))
        && wanted.role.is_none_or(|r| {
            matches!(
                (r, seed.role),
                (RoleMatch::Host, Role::Host)
                    | (RoleMatch::Cohost, Role::Cohost)
                    | (RoleMatch::Guest, Role::Guest)
            )
        })
}
