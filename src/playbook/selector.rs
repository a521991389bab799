//! Who a participant action is aimed at: a display name, or a match on id, phone,
//! name or role, optionally covering everyone it matches.

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::meeting::{Participant, Roster};

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
#[schemars(transform = super::templated::allow_templates)]
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
/// given only when the emulator starts): for estimates before a run. Those seeded as
/// being called or joining fit none, as at run time they are not online.
pub(crate) fn seed_matches(wanted: &SelectorMatch, seed: &crate::meeting::ParticipantSeed) -> bool {
    use crate::meeting::{ParticipantState, Role};
    seed.state == ParticipantState::InMeeting
        && wanted
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

impl Selector {
    /// Everyone online the selector matches. Names are compared [folded](fold_name);
    /// when that finds nobody, without accents, if that finds exactly one person:
    /// `Jose` is `José` when no other Jose is online.
    pub fn select<'r>(&self, roster: &'r Roster) -> Vec<&'r Participant> {
        let found = self.select_by(roster, fold_name);
        if !found.is_empty() || self.name().is_none() {
            return found;
        }
        let plain = self.select_by(roster, plain_name);
        if plain.len() == 1 { plain } else { Vec::new() }
    }

    fn select_by<'r>(&self, roster: &'r Roster, form: fn(&str) -> String) -> Vec<&'r Participant> {
        let wanted = self.name().map(form);
        roster
            .participants
            .iter()
            .filter(|p| wanted.as_ref().is_none_or(|name| form(&p.name) == *name) && self.fits(p))
            .collect()
    }

    /// Why the selector matched nobody online, for its error: the people it matches
    /// without accents when they are several, else who is closest.
    pub fn nobody(&self, roster: &Roster) -> String {
        let online = roster.describe();
        let Some(name) = self.name() else {
            return online;
        };
        let plain = self.select_by(roster, plain_name);
        if plain.len() > 1 {
            let names: Vec<&str> = plain.iter().map(|p| p.name.as_str()).collect();
            return format!(
                "without accents it could be any of {}: write the name as shown; {online}",
                names.join(", ")
            );
        }
        // Similar enough to be a misspelling rather than somebody else.
        const CLOSE: f64 = 0.8;
        let wanted = plain_name(name);
        let closest = roster
            .participants
            .iter()
            .map(|p| (strsim::jaro_winkler(&wanted, &plain_name(&p.name)), p))
            .filter(|(score, _)| *score >= CLOSE)
            .max_by(|a, b| a.0.total_cmp(&b.0));
        match closest {
            Some((_, p)) => format!("closest: {}; {online}", p.name),
            None => online,
        }
    }

    /// Whether the participant has what the selector asks for besides the name, which
    /// [`Selector::select`] compares.
    fn fits(&self, participant: &Participant) -> bool {
        match self {
            Selector::Name(_) => true,
            Selector::Match(SelectorMatch {
                id, phone, role, ..
            }) => {
                id.as_ref().is_none_or(|i| &participant.pid == i)
                    && phone.as_ref().is_none_or(|p| &participant.phone == p)
                    && role.is_none_or(|r| participant.role == r.to_string())
            }
        }
    }
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

    fn roster(names: &[&str]) -> Roster {
        Roster {
            participants: names
                .iter()
                .enumerate()
                .map(|(i, name)| Participant {
                    pid: format!("p{i}"),
                    name: (*name).to_owned(),
                    phone: String::new(),
                    role: "guest",
                    hand: false,
                    mute: false,
                    video: false,
                    state: 0,
                })
                .collect(),
            arriving: Vec::new(),
        }
    }

    fn names<'a>(found: &[&'a Participant]) -> Vec<&'a str> {
        found.iter().map(|p| p.name.as_str()).collect()
    }

    fn name(text: &str) -> Selector {
        Selector::Name(text.to_owned())
    }

    #[test]
    fn names_match_as_people_type_them() {
        let roster = roster(&["Bob Li", "Dmitri Ørsted-Ñúñez", "José Ruiz", "Jose Ruiz"]);
        assert_eq!(names(&name("  Bob   Li ").select(&roster)), ["Bob Li"]);
        assert_eq!(
            names(&name("dmitri orsted-nunez").select(&roster)),
            ["Dmitri Ørsted-Ñúñez"]
        );
        // An exact match wins over one without accents.
        assert_eq!(names(&name("jose ruiz").select(&roster)), ["Jose Ruiz"]);
        assert_eq!(names(&name("JOSÉ RUIZ").select(&roster)), ["José Ruiz"]);
        let map = Selector::Match(SelectorMatch {
            name: Some("DMITRI ORSTED-NUNEZ".into()),
            ..Default::default()
        });
        assert_eq!(names(&map.select(&roster)), ["Dmitri Ørsted-Ñúñez"]);
    }

    #[test]
    fn without_accents_a_name_must_pick_one_person() {
        let roster = roster(&["José Ruiz", "Josè Ruiz"]);
        assert!(name("Jose Ruiz").select(&roster).is_empty());
        let why = name("Jose Ruiz").nobody(&roster);
        assert!(
            why.starts_with("without accents it could be any of José Ruiz, Josè Ruiz"),
            "{why}"
        );
    }

    #[test]
    fn nobody_names_who_is_closest() {
        let roster = roster(&["Bob Li", "Dmitri Ørsted-Ñúñez"]);
        assert!(name("Dmitri Orsted").select(&roster).is_empty());
        assert_eq!(
            name("Dmitri Orsted").nobody(&roster),
            "closest: Dmitri Ørsted-Ñúñez; online: Bob Li, Dmitri Ørsted-Ñúñez"
        );
        // Nobody near: just who is online.
        assert_eq!(
            name("Zed Nobody").nobody(&roster),
            "online: Bob Li, Dmitri Ørsted-Ñúñez"
        );
    }

    #[test]
    fn a_rehearsal_participant_being_called_fits_no_selector() {
        let seed = |state: &str| -> crate::meeting::ParticipantSeed {
            serde_json::from_value(serde_json::json!({"name": "Eve Sun", "state": state})).unwrap()
        };
        let wanted = SelectorMatch {
            name: Some("Eve Sun".into()),
            ..Default::default()
        };
        assert!(seed_matches(&wanted, &seed("in_meeting")));
        assert!(!seed_matches(&wanted, &seed("calling")));
        assert!(!seed_matches(&wanted, &seed("joining")));
    }
}
