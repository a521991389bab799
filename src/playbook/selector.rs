//! Who a participant action is aimed at: a display name, or a match on id, phone,
//! name or role, optionally covering everyone it matches.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A participant selector: a plain string is a display name (as people type it: case,
/// spacing and Unicode forms aside, and accents too when that picks one person out);
/// a map matches on any of `id`, `phone`, `name`, `role`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Selector {
    /// A display name, matched regardless of case, extra spaces and Unicode forms;
    /// regardless of accents too, when that finds exactly one person.
    Name(String),
    Match(SelectorMatch),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(transform = super::schema::allow_templates)]
pub struct SelectorMatch {
    /// Display name, regardless of case, extra spaces and Unicode forms; regardless of
    /// accents too, when that finds exactly one person.
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

    /// The display name the selector asks for, if it asks for one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Selector::Name(name) => Some(name),
            Selector::Match(m) => m.name.as_deref(),
        }
    }
}

/// A display name as two people typing it would agree on: compatibility-normalised
/// (NFKC, so full-width letters and ligatures are plain letters), runs of whitespace as
/// one space with none at the ends, and lower case.
pub fn fold_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let normalised: String = name.nfkc().collect();
    normalised
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A [folded](fold_name) name without its accents: `Dmitri Ørsted-Ñúñez` is
/// `dmitri orsted-nunez`. Combining marks go after decomposition; letters that do not
/// decompose are spelled as their languages' own keyboards-without-them spell them
/// ([`UNDECOMPOSED`]).
pub fn plain_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut plain = String::new();
    for c in fold_name(name).nfd().filter(|c| !is_combining_mark(*c)) {
        match UNDECOMPOSED.iter().find(|(letter, _)| *letter == c) {
            Some((_, spelled)) => plain.push_str(spelled),
            None => plain.push(c),
        }
    }
    plain
}

/// Lower-case letters with a stroke, a ligature or a letter of their own, which
/// Unicode does not decompose into a base letter and a mark, and their usual spelling
/// without them.
const UNDECOMPOSED: &[(char, &str)] = &[
    ('ø', "o"),  // Danish, Norwegian
    ('æ', "ae"), // Danish, Norwegian, Icelandic
    ('œ', "oe"), // French
    ('ß', "ss"), // German
    ('đ', "d"),  // Croatian, Vietnamese
    ('ð', "d"),  // Icelandic
    ('þ', "th"), // Icelandic
    ('ł', "l"),  // Polish
    ('ı', "i"),  // Turkish dotless i
    ('ħ', "h"),  // Maltese
    ('ŧ', "t"),  // Sami
    ('ŋ', "n"),  // Sami
];

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
        .is_none_or(|n| fold_name(n) == fold_name(&seed.name))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_ignores_case_spacing_and_unicode_forms() {
        assert_eq!(fold_name("  Bob   Li "), "bob li");
        assert_eq!(fold_name("Bob\tLi\u{a0}"), "bob li");
        // Full-width letters, and é written as e + combining acute.
        assert_eq!(fold_name("\u{ff22}ob"), "bob");
        assert_eq!(fold_name("Jose\u{301}"), fold_name("José"));
        // Accents are kept: they may tell two people apart.
        assert_ne!(fold_name("José"), fold_name("Jose"));
    }

    #[test]
    fn plain_names_have_no_accents() {
        assert_eq!(plain_name("Dmitri Ørsted-Ñúñez"), "dmitri orsted-nunez");
        assert_eq!(plain_name("dmitri orsted-nunez"), "dmitri orsted-nunez");
        assert_eq!(plain_name("Łukasz Straße"), "lukasz strasse");
        assert_eq!(plain_name("Æsa Þórsdóttir"), "aesa thorsdottir");
        assert_eq!(plain_name("Trần Đức"), "tran duc");
        // Letters outside the Latin alphabet stay as they are.
        assert_eq!(plain_name("张伟"), "张伟");
    }
}
